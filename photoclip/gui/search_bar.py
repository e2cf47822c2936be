"""The search bar: search as you type (debounced), search by a dropped image, Esc clears.

``searchRequested(text, image)`` is emitted once the user pauses typing (``DEBOUNCE_MS``), when an
image is dropped or chosen, or when the query is cleared (``("", None)``: back to browsing).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QSizePolicy, QToolButton, QWidget

from photoclip.core.paths import display_path

DEBOUNCE_MS = 200


def _local_image(mime) -> str | None:
    """The first local photo file among the dropped URLs (the core's extension list decides)."""
    if not mime.hasUrls():
        return None
    from photoclip.core.images import is_image_path  # deferred: keeps Pillow off the startup path

    for url in mime.urls():
        if url.isLocalFile():
            path = url.toLocalFile()
            if os.path.isfile(path) and is_image_path(path):
                return path
    return None


class _LineEdit(QLineEdit):
    escapePressed = Signal()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escapePressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class SearchBar(QWidget):
    searchRequested = Signal(str, object)  # text, image path or None

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._image: str | None = None
        self._thumbs = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        self.chip = QToolButton(self)
        self.chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.chip.setIconSize(QSize(20, 20))
        self.chip.setAutoRaise(False)
        self.chip.setToolTip("Searching by this image - click to remove it")
        self.chip.setAccessibleName("Query image")
        self.chip.clicked.connect(self.clear_image)
        self.chip.hide()
        layout.addWidget(self.chip)

        self.edit = _LineEdit(self)
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText("Search photos - e.g. dog on a beach -night   (drop an image to find similar)")
        self.edit.setAccessibleName("Search")
        self.edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.edit.setMinimumWidth(200)
        self.edit.textChanged.connect(self._schedule)
        self.edit.returnPressed.connect(self.search_now)
        self.edit.escapePressed.connect(self.clear)
        self.edit.setAcceptDrops(False)  # drops go to the bar so images are handled in one place
        layout.addWidget(self.edit, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.search_now)
        self._last: tuple[str, str | None] | None = ("", None)

    # ---- API ---------------------------------------------------------------------------------
    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming, used by tests and actions
        self.edit.setText(text)

    def image(self) -> str | None:
        return self._image

    def query(self) -> tuple[str, str | None]:
        return self.edit.text().strip(), self._image

    def set_image(self, path: str | None) -> None:
        self._image = path
        if path:
            self._update_chip_icon()
            name = display_path(os.path.basename(path))
            self.chip.setText(f"{name if len(name) < 28 else name[:25] + '…'}  ✕")
            self.chip.setToolTip(f"Searching by {display_path(path)}\nClick to remove")
            self.chip.show()
        else:
            self.chip.hide()
        self.search_now()

    def set_thumbnails(self, loader) -> None:
        """Use ``loader`` (a ThumbnailLoader) for the query image's chip; it loads off-thread."""
        self._thumbs = loader
        loader.ready.connect(lambda path, _b: path == self._image and self._update_chip_icon())

    def _update_chip_icon(self) -> None:
        pm = self._thumbs.pixmap(self._image, 96) if (self._thumbs is not None and self._image) else None
        self.chip.setIcon(QIcon(pm) if pm is not None else QIcon())

    def clear_image(self) -> None:
        self.set_image(None)

    def clear(self) -> None:
        self._image = None
        self.chip.hide()
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self.search_now()

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def search_now(self) -> None:
        self._timer.stop()
        q = self.query()
        if q == self._last:
            return
        self._last = q
        self.searchRequested.emit(q[0], q[1])

    def _schedule(self, _text: str) -> None:
        self._timer.start()

    # ---- drag & drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if _local_image(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if _local_image(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        path = _local_image(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.set_image(path)
        else:
            event.ignore()


SEARCH_SHORTCUT = QKeySequence.StandardKey.Find
