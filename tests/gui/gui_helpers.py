"""Helpers shared by the GUI tests (images to index, thread listing)."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import QApplication

from PIL import Image, ImageDraw


def make_images(folder: Path, n: int, size=(96, 72), start: int = 0) -> list[Path]:
    """``n`` distinct small JPEGs: a coloured shape whose colour, place and size vary."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        img = Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
        d = ImageDraw.Draw(img)
        x = (i * 7) % (size[0] // 2)
        y = (i * 5) % (size[1] // 2)
        d.rectangle((x, y, x + size[0] // 3, y + size[1] // 3), fill=((i * 11) % 256, 255 - (i * 13) % 256, 128))
        d.text((4, size[1] - 14), str(i), fill=(0, 0, 0))
        path = folder / f"photo_{i:04d}.jpg"
        img.save(path, quality=85)
        out.append(path)
    return out


def photoclip_threads() -> list[str]:
    """Threads that belong to the app (worker, queries, thumbnail and decode pools)."""
    return [t.name for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.daemon]


def wait_idle(qtbot, window, timeout: int = 120_000) -> None:
    """Wait until the worker and the query thread are idle AND their last signals (queued to the
    GUI thread) have been handled: a job's ``finished`` is posted before ``is_busy()`` turns
    False, and its handler may start more reads, so idleness must hold across event processing."""
    services = window.services

    def settled() -> bool:
        QApplication.processEvents()
        if services.worker.is_busy() or services.queries.is_busy():
            return False
        QApplication.processEvents()
        return not services.worker.is_busy() and not services.queries.is_busy()

    qtbot.waitUntil(settled, timeout=timeout)


def watcher_threads() -> list[str]:
    """Live threads of the folder watcher: its own thread and watchdog's observers/emitters."""
    try:
        from watchdog.utils import BaseThread
    except ImportError:  # pragma: no cover
        BaseThread = ()
    return [t.name for t in threading.enumerate()
            if t.is_alive() and (t.name == "photoclip-watcher" or isinstance(t, BaseThread))]


def drop_urls(window, widget, paths) -> bool:
    """Drag ``paths`` (as file URLs) onto the middle of ``widget`` the way a file manager does: a
    drag-enter then a drop, delivered to the window's QWindow so Qt picks the target widget under
    the cursor. True when both were accepted."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.mapTo(window, widget.rect().center()))
    target = window.windowHandle()
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return drop.isAccepted()
