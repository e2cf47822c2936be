"""photoclip's desktop app (PySide6). Qt only presents and delegates; the work is in photoclip.core.

Importing this package applies one safety fix to the Qt binding, see ``_guard_signal_emit_refcount``.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("photoclip.gui")


#: PySide6 releases measured to drop references to True/None on Python < 3.12 (6.12.0 on 3.11).
#: Others are probed the same way; a leak found in one not listed here is logged as news.
LEAKING_PYSIDE6 = ((6, 12),)


def _probe_leak() -> int:
    """References to True and None that a few emits and empty ``data()`` calls lose (0: none)."""
    from PySide6.QtCore import QModelIndex, QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    index = QModelIndex()
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(8):
        probe.ping.emit()
        index.data()
    return (true_before - sys.getrefcount(True)) + (none_before - sys.getrefcount(None))


def _guard_signal_emit_refcount() -> bool:
    """Work around PySide6 reference-count bugs on Python < 3.12: in PySide6 6.12,
    ``SignalInstance.emit()`` returns ``True`` without taking a reference, and an empty QVariant
    (e.g. ``QModelIndex().data()``, a model's ``data()`` answering None) is turned into ``None``
    without one; so is the result of every method returning void (``QPainter.setPen()``,
    ``QColor.setAlpha()``..., measured on Python 3.11). Every such call drops a reference to True
    or None; after a few thousand the interpreter aborts ("bool_dealloc: deallocating True or
    False", "none_dealloc"). Python 3.12 made True, False and None immortal (PEP 683), which is
    what this emulates.

    When (and only when) the probe finds the leak, give True, False and None a very large
    reference count so they can never reach zero. Returns True when the guard was applied.
    """
    if sys.version_info >= (3, 12):
        return False
    import PySide6

    version = tuple(PySide6.__version_info__[:2])
    leaked = _probe_leak()
    if leaked <= 0:
        return False
    if version not in LEAKING_PYSIDE6:
        log.warning("PySide6 %s drops references to True/None too (not known before); guarding", PySide6.__version__)
    import ctypes

    for obj in (True, False, None):
        # ob_refcnt is the first field of every PyObject in release builds of CPython < 3.12.
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40
    log.debug("PySide6 drops references to True/None (%d in the probe); True, False, None pinned", leaked)
    return True


SIGNAL_EMIT_GUARD = _guard_signal_emit_refcount()
