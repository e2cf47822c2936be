"""The PySide6 reference-count guard: where the binding leaks, True and None can never be freed."""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QModelIndex, QObject, Signal

import photoclip.gui as gui


class _Emitter(QObject):
    ping = Signal()


def test_many_emits_and_empty_data_calls_never_bring_true_or_none_near_zero():
    emitter, index = _Emitter(), QModelIndex()
    before = min(sys.getrefcount(True), sys.getrefcount(None))
    for _ in range(20_000):  # without the guard a leaking binding aborts the interpreter near here
        emitter.ping.emit()
        index.data()
    after = min(sys.getrefcount(True), sys.getrefcount(None))
    if gui.SIGNAL_EMIT_GUARD:
        assert after > 1 << 39
    else:
        assert after >= before - 100, "PySide6 leaks references but the guard was not applied"


def test_the_guard_is_applied_exactly_where_the_binding_leaks():
    version = tuple(PySide6.__version_info__[:2])
    if sys.version_info >= (3, 12):
        assert gui.SIGNAL_EMIT_GUARD is False  # immortal objects: nothing to guard
    else:  # the probe still sees the leak after the guard (it counts, the guard only pads)
        assert (gui._probe_leak() > 0) == gui.SIGNAL_EMIT_GUARD
    if gui.SIGNAL_EMIT_GUARD and version in gui.LEAKING_PYSIDE6:
        assert sys.version_info < (3, 12)
