"""The built-in viewer: a photo large inside the window, and the grid's Quick Look preview.

* ``ImageDecoder`` decodes photos off the GUI thread through ``core.images.open_for_viewing``:
  a screen-sized decode first (JPEG draft: a large JPEG shows at once), the full resolution
  when the user zooms in; RAWs from their embedded preview. The newest wish list wins (flicking
  through photos never builds a backlog) and a few decoded photos are kept for going back.
* ``ImageCanvas`` paints one photo: fit or any zoom (wheel around the cursor, 100 %), drag to
  pan; a message instead when the photo cannot be shown.
* ``PhotoViewer`` is the page the main window stacks over the grid: ←/→ step through the grid's
  rows in their order (search results included) by moving the grid's current photo, so going
  back (Esc) finds the grid at the same photo; F11 full screen, I the details panel, a slideshow.
* ``QuickLook`` is the Space preview over the grid.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from typing import NamedTuple, Optional

from PySide6.QtCore import QItemSelectionModel, QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.paths import display_path

from .flow_layout import FlowLayout
from .photo_model import PathRole

log = logging.getLogger("photoclip.gui.viewer")

#: a decode request: (path, box) with box the (width, height) to fit, or None for every pixel
Key = tuple[str, Optional[tuple[int, int]]]

MIN_ZOOM, MAX_ZOOM, ZOOM_STEP = 0.02, 16.0, 1.25
SLIDESHOW_DEFAULT_S = 4


class Decoded(NamedTuple):
    image: Optional[QImage]  # None when it could not be decoded
    width: int  # what 100 % shows
    height: int
    error: str = ""


class _Bridge(QObject):
    done = Signal(object, object)  # key, Decoded


class ImageDecoder(QObject):
    """Photos decoded on a background thread, newest wishes first, a few kept in memory."""

    ready = Signal(object)  # key: its result is available from result()

    def __init__(self, cache_bytes: int = 512 * 1024 * 1024, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: "OrderedDict[Key, Decoded]" = OrderedDict()
        self._cache_bytes = cache_bytes
        self._lock = threading.Condition()
        self._wanted: list[Key] = []
        self._busy: Optional[Key] = None
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._bridge = _Bridge()
        self._bridge.done.connect(self._on_done)

    # ---- GUI thread ------------------------------------------------------------------------------
    def result(self, key: Key) -> Optional[Decoded]:
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
        return found

    def want(self, keys: list[Key]) -> None:
        """Decode ``keys`` in this order, instead of whatever was wished for before."""
        with self._lock:
            if self._closed:
                return
            self._wanted = [k for k in keys if k not in self._cache and k != self._busy]
            if self._wanted and self._thread is None:
                # started at the first photo viewed, not with the window
                self._thread = threading.Thread(target=self._run, name="photoclip-viewer", daemon=True)
                self._thread.start()
            self._lock.notify()

    def close(self, timeout_s: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            self._wanted = []
            self._lock.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _on_done(self, key: Key, decoded: Decoded) -> None:
        self._cache[key] = decoded
        total = sum(d.image.sizeInBytes() for d in self._cache.values() if d.image is not None)
        while total > self._cache_bytes and len(self._cache) > 1:
            _old, gone = self._cache.popitem(last=False)
            if gone.image is not None:
                total -= gone.image.sizeInBytes()
        self.ready.emit(key)

    # ---- decoding thread ----------------------------------------------------------------------
    def _run(self) -> None:
        from photoclip.core import images

        from .thumbnails import pil_to_qimage

        while True:
            with self._lock:
                while not self._wanted and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                key = self._busy = self._wanted.pop(0)
            path, box = key
            try:
                view = images.open_for_viewing(path, box)
                image = pil_to_qimage(view.image).convertToFormat(QImage.Format.Format_RGB32)
                decoded = Decoded(image, view.width, view.height)
            except Exception as exc:  # noqa: BLE001 - ImageError, or anything a bad file raises
                if not isinstance(exc, images.ImageError):
                    log.exception("viewing %s failed", path)
                decoded = Decoded(None, 0, 0, str(exc) or type(exc).__name__)
            finally:
                with self._lock:
                    self._busy = None
            self._bridge.done.emit(key, decoded)


class ImageCanvas(QWidget):
    """One photo at fit or any zoom, dragged to pan; or a message."""

    zoomChanged = Signal()
    fullWanted = Signal()  # zoomed past what the screen-sized decode holds
    doubleClicked = Signal()

    def __init__(self, parent=None, *, dark: bool = True) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setMinimumSize(QSize(120, 90))
        self._dark = dark
        self._fit_image: Optional[QImage] = None
        self._full_image: Optional[QImage] = None
        self._size = (0, 0)  # what 100 % shows
        self._zoom: Optional[float] = None  # None: fit the window
        self._center = QPointF()  # the point of the photo (at 100 %) in the middle of the canvas
        self._drag: Optional[QPointF] = None
        self.message = ""
        self.placeholder = False  # showing a thumbnail while the photo decodes

    # ---- content ----------------------------------------------------------------------------
    def set_placeholder(self, thumb: QImage) -> None:
        """Show ``thumb`` enlarged to fit, blurred, until set_photo brings the photo."""
        w, h = max(1, thumb.width()), max(1, thumb.height())
        scale = min(max(1, self.width()) / w, max(1, self.height()) / h)
        self.set_photo(thumb, max(1, round(w * scale)), max(1, round(h * scale)))
        self.placeholder = True
        self.zoomChanged.emit()

    def clear(self, message: str = "") -> None:
        self.placeholder = False
        self._fit_image = self._full_image = None
        self._size = (0, 0)
        self.message = message
        self.update()

    def set_photo(self, fit: Optional[QImage], width: int, height: int, *, keep_view: bool = False) -> None:
        """Show ``fit`` (a screen-sized decode) of a photo that is ``width`` × ``height`` at 100 %."""
        same = keep_view and self._size == (width, height) and not self.placeholder
        self.placeholder = False
        self._fit_image, self._full_image = fit, None
        self._size = (width, height)
        self.message = ""
        if not same:
            self._zoom = None
            self._center = QPointF(width / 2, height / 2)
        self.update()
        self.zoomChanged.emit()

    def set_full(self, image: QImage) -> None:
        self._full_image = image
        self.update()

    def has_photo(self) -> bool:
        """Whether the photo itself is shown (not a thumbnail standing in)."""
        return (self._fit_image is not None or self._full_image is not None) and not self.placeholder

    def has_full(self) -> bool:
        return self._full_image is not None

    # ---- zoom ---------------------------------------------------------------------------------
    def fit_zoom(self) -> float:
        w, h = self._size
        if not w or not h:
            return 1.0
        return min(1.0, self.width() / w, self.height() / h)

    def zoom(self) -> float:
        return self.fit_zoom() if self._zoom is None else self._zoom

    def is_fit(self) -> bool:
        return self._zoom is None

    def zoom_to_fit(self) -> None:
        self._zoom = None
        self._center = QPointF(self._size[0] / 2, self._size[1] / 2)
        self._changed()

    def set_zoom(self, zoom: float, anchor: Optional[QPointF] = None) -> None:
        """Zoom to ``zoom`` (1.0: 100 %), keeping the photo's point under ``anchor`` (widget
        coordinates; default the middle) where it is."""
        if not self.has_photo():
            return
        zoom = max(min(MIN_ZOOM, self.fit_zoom()), min(MAX_ZOOM, zoom))
        if anchor is not None:
            old = self.zoom()
            mid = QPointF(self.width() / 2, self.height() / 2)
            at = self._center + (anchor - mid) / old  # the photo's point under the anchor
            self._center = at - (anchor - mid) / zoom
        self._zoom = zoom
        self._changed()

    def zoom_by(self, steps: float, anchor: Optional[QPointF] = None) -> None:
        self.set_zoom(self.zoom() * ZOOM_STEP ** steps, anchor)

    def _changed(self) -> None:
        self._clamp()
        self.update()
        self.zoomChanged.emit()
        if self._fit_image is not None and self._full_image is None and self._size[0] and not self.placeholder \
                and self.zoom() > self._fit_image.width() / self._size[0] * 1.01:
            self.fullWanted.emit()

    def _clamp(self) -> None:
        z = self.zoom()
        w, h = self._size
        x, y = self._center.x(), self._center.y()
        half_w, half_h = self.width() / 2 / z, self.height() / 2 / z
        x = w / 2 if w <= 2 * half_w else max(half_w, min(w - half_w, x))
        y = h / 2 if h <= 2 * half_h else max(half_h, min(h - half_h, y))
        self._center = QPointF(x, y)

    def photo_rect(self) -> QRectF:
        """Where the photo is drawn, in widget coordinates."""
        z = self.zoom()
        w, h = self._size
        left = self.width() / 2 - self._center.x() * z
        top = self.height() / 2 - self._center.y() * z
        return QRectF(left, top, w * z, h * z)

    # ---- events -------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._clamp()
        self.zoomChanged.emit()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        background = QColor(24, 24, 24) if self._dark else self.palette().color(QPalette.ColorRole.Window)
        p.fillRect(self.rect(), background)
        image = self._full_image
        if image is None or (self._fit_image is not None and self.zoom() * self._size[0] <= self._fit_image.width()):
            image = self._fit_image  # no finer than the screen-sized decode needed
        if image is not None and self._size[0]:
            target = self.photo_rect()
            visible = target.intersected(QRectF(self.rect()))
            sx, sy = image.width() / target.width(), image.height() / target.height()
            source = QRectF((visible.left() - target.left()) * sx, (visible.top() - target.top()) * sy,
                            visible.width() * sx, visible.height() * sy)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom() < 2.0)
            p.drawImage(visible, image, source)
        if self.message:
            p.setPen(QColor(230, 230, 230) if self._dark else self.palette().color(QPalette.ColorRole.Text))
            p.drawText(self.rect().adjusted(24, 24, -24, -24),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        p.end()

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(steps, event.position())
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            self._center -= delta / self.zoom()
            self._clamp()
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._drag = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.doubleClicked.emit()
        event.accept()


def screen_box(widget: QWidget) -> tuple[int, int]:
    """The size, in device pixels, of the screen ``widget`` is on: what a fitted photo needs."""
    screen = widget.screen()
    size = screen.size() if screen is not None else QSize(1920, 1080)
    dpr = screen.devicePixelRatio() if screen is not None else 1.0
    return max(320, round(size.width() * dpr)), max(240, round(size.height() * dpr))


class _GridPhotos:
    """The viewer's view of the grid: its rows in order, its current photo."""

    def __init__(self, grid) -> None:
        self.grid = grid

    def count(self) -> int:
        model = self.grid.model()
        return model.rowCount() if model is not None else 0

    def row(self) -> int:
        idx = self.grid.currentIndex()
        return idx.row() if idx.isValid() else -1

    def path(self, row: int) -> Optional[str]:
        if not 0 <= row < self.count():
            return None
        return self.grid.model().index(row, 0).data(PathRole)

    def go(self, row: int) -> None:
        idx = self.grid.model().index(row, 0)
        self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)


def _tool(text: str, tip: str, parent, checkable: bool = False) -> QToolButton:
    b = QToolButton(parent)
    b.setText(text)
    b.setToolTip(tip)
    b.setAccessibleName(tip.split(" (")[0])
    b.setCheckable(checkable)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys go to the photo
    b.setAutoRaise(True)
    return b


class _PhotoShower(QWidget):
    """What the viewer and Quick Look share: the grid's current photo on a canvas, decoded in the
    background (screen-sized first), the neighbours decoded ahead."""

    def __init__(self, decoder: ImageDecoder, grid, parent=None, thumbnails=None) -> None:
        super().__init__(parent)
        self.decoder = decoder
        self.thumbnails = thumbnails
        self.grid = grid
        self.photos = _GridPhotos(grid)
        self.canvas = ImageCanvas(self)
        self.path: Optional[str] = None
        self._ahead: list[Key] = []
        self._full_timer = QTimer(self)
        self._full_timer.setSingleShot(True)
        self._full_timer.setInterval(400)  # staying on a photo: get its every pixel for 100 %
        self._full_timer.timeout.connect(self._want_full)
        decoder.ready.connect(self._on_ready)
        self.canvas.fullWanted.connect(self._want_full)
        grid.selectionModel().currentChanged.connect(lambda *_: self.isVisible() and self.show_current())
        self.preload_full = True

    def _fit_key(self, path: str) -> Key:
        return (path, screen_box(self))

    def show_current(self) -> None:
        row = self.photos.row()
        path = self.photos.path(row)
        if path is None:
            if not self.photos.count():  # the photos went (their folder was removed)
                self.path = None
                self.canvas.clear("No photo to show")
                self.photo_changed()
            return
        changed = path != self.path
        self.path = path
        found = self.decoder.result(self._fit_key(path))
        if found is not None:
            self._show(found, keep_view=not changed)
        elif changed:
            thumb = self._thumbnail(path)
            if thumb is not None:  # the grid's thumbnail, enlarged, until the decode sharpens it
                self.canvas.set_placeholder(thumb)
            else:
                self.canvas.clear("Loading…")
        self.canvas.setToolTip(display_path(path))
        self._ahead = [self._fit_key(p) for p in (self.photos.path(row + 1), self.photos.path(row - 1)) if p]
        self.decoder.want([self._fit_key(path)] + self._ahead)
        if found is not None and found.image is not None and self.preload_full:
            self._full_timer.start()
        self.photo_changed()

    def photo_changed(self) -> None:
        """The photo shown changed (subclasses update their labels)."""

    def _thumbnail(self, path: str) -> Optional[QImage]:
        if self.thumbnails is None:
            return None
        pixmap = self.thumbnails.pixmap(path, self.grid.thumbnail_size())
        return pixmap.toImage() if pixmap is not None and not pixmap.isNull() else None

    def _show(self, decoded: Decoded, keep_view: bool = False) -> None:
        if decoded.image is None:
            self.canvas.clear(f"Cannot show this photo\n\n{decoded.error}")
            return
        self.canvas.set_photo(decoded.image, decoded.width, decoded.height, keep_view=keep_view)
        full = self.decoder.result((self.path, None)) if self.path else None
        if full is not None and full.image is not None:
            self.canvas.set_full(full.image)

    def _want_full(self) -> None:
        if self.path is None or self.canvas.has_full() or not self.canvas.has_photo():
            return
        full = self.decoder.result((self.path, None))
        if full is not None and full.image is not None:
            self.canvas.set_full(full.image)
        elif full is None:  # after the neighbours, which are quick and may be next
            self.decoder.want(self._ahead + [(self.path, None)])

    def _on_ready(self, key: Key) -> None:
        path, box = key
        if path != self.path or not self.isVisible():
            return
        decoded = self.decoder.result(key)
        if decoded is None:
            return
        if box is None:
            if decoded.image is not None and self.canvas.has_photo():
                self.canvas.set_full(decoded.image)
        elif box == screen_box(self):
            self._show(decoded)
            if decoded.image is not None and self.preload_full:
                self._full_timer.start()
            self.photo_changed()


class PhotoViewer(_PhotoShower):
    """The page over the grid that shows its current photo large."""

    closeRequested = Signal()
    fullScreenToggled = Signal(bool)
    detailsToggled = Signal(bool)

    def __init__(self, decoder: ImageDecoder, grid, parent=None, thumbnails=None) -> None:
        super().__init__(decoder, grid, parent, thumbnails)
        self.setObjectName("photoViewer")
        self.setAccessibleName("Photo viewer")
        self.setFocusProxy(self.canvas)
        bar = QWidget(self)
        bar.setObjectName("viewerBar")
        self.bar = bar
        row = FlowLayout(bar, spacing=4)  # wraps in a narrow window instead of widening it
        row.setContentsMargins(6, 3, 6, 3)
        self.back_button = _tool("← Back", "Back to the grid (Esc)", bar)
        self.back_button.clicked.connect(self.closeRequested.emit)
        self.prev_button = _tool("‹", "Previous photo (←)", bar)
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = _tool("›", "Next photo (→)", bar)
        self.next_button.clicked.connect(lambda: self.step(1))
        self.position = QLabel(bar)
        self.name = QLabel(bar)
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        self.name.setMinimumWidth(60)
        self.name.setMaximumWidth(320)
        self.fit_button = _tool("Fit", "Fit the window (F)", bar)
        self.fit_button.clicked.connect(self.canvas.zoom_to_fit)
        self.actual_button = _tool("100 %", "Every pixel (1)", bar)
        self.actual_button.clicked.connect(lambda: self.canvas.set_zoom(1.0))
        self.zoom_label = QLabel(bar)
        self.zoom_label.setMinimumWidth(80)
        self.details_button = _tool("Details", "Show the details beside the photo (I)", bar, checkable=True)
        self.details_button.toggled.connect(self.detailsToggled.emit)
        self.slideshow_button = _tool("▶ Slideshow", "Start or stop a slideshow (S)", bar, checkable=True)
        self.slideshow_button.toggled.connect(self._slideshow_toggled)
        self.interval = QSpinBox(bar)
        self.interval.setRange(1, 60)
        self.interval.setValue(SLIDESHOW_DEFAULT_S)
        self.interval.setSuffix(" s")
        self.interval.setToolTip("Seconds per photo in the slideshow")
        self.interval.setAccessibleName("Slideshow interval")
        self.interval.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.interval.valueChanged.connect(lambda s: self.slideshow.setInterval(s * 1000))
        self.fullscreen_button = _tool("Full screen", "Full screen (F11)", bar, checkable=True)
        self.fullscreen_button.toggled.connect(self.fullScreenToggled.emit)
        for w in (self.back_button, self.prev_button, self.next_button, self.position, self.name,
                  self.fit_button, self.actual_button, self.zoom_label, self.details_button,
                  self.slideshow_button, self.interval, self.fullscreen_button):
            row.addWidget(w)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(bar)
        box.addWidget(self.canvas, 1)
        self.slideshow = QTimer(self)
        self.slideshow.setInterval(SLIDESHOW_DEFAULT_S * 1000)
        self.slideshow.timeout.connect(self._slideshow_next)
        self.canvas.zoomChanged.connect(self._update_zoom_label)
        self.canvas.doubleClicked.connect(self._toggle_zoom)

    # ---- API ----------------------------------------------------------------------------------
    def step(self, delta: int) -> bool:
        """Go ``delta`` photos on in the grid's order; False at either end."""
        row, count = self.photos.row(), self.photos.count()
        target = max(0, min(count - 1, row + delta)) if row >= 0 else 0
        if not count or target == row:
            return False
        self.photos.go(target)
        return True

    def go_to(self, row: int) -> None:
        if 0 <= row < self.photos.count():
            self.photos.go(row)

    def start_slideshow(self, interval_ms: Optional[int] = None) -> None:
        if interval_ms is not None:
            self.slideshow.setInterval(interval_ms)
        self.slideshow_button.setChecked(True)

    def stop_slideshow(self) -> None:
        self.slideshow_button.setChecked(False)

    def _slideshow_toggled(self, on: bool) -> None:
        self.slideshow_button.setText("■ Stop" if on else "▶ Slideshow")
        if on:
            self.canvas.zoom_to_fit()
            self.slideshow.start()
        else:
            self.slideshow.stop()

    def _slideshow_next(self) -> None:
        if not self.step(1):  # at the end: round again
            self.go_to(0)

    def _toggle_zoom(self) -> None:
        if self.canvas.is_fit():
            self.canvas.set_zoom(1.0)
        else:
            self.canvas.zoom_to_fit()

    def photo_changed(self) -> None:
        row, count = self.photos.row(), self.photos.count()
        self.position.setText(f"{row + 1:,} / {count:,}" if row >= 0 else "")
        name = display_path(os.path.basename(self.path)) if self.path else ""
        self.name.setText(self.name.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, 310))
        self.name.setToolTip(display_path(self.path) if self.path else "")
        self.prev_button.setEnabled(row > 0)
        self.next_button.setEnabled(0 <= row < count - 1)

    def _update_zoom_label(self) -> None:
        z = self.canvas.zoom()
        self.zoom_label.setText(f"Zoom {z * 100:.0f} %" if self.canvas.has_photo() else "")

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.stop_slideshow()
        super().hideEvent(event)

    # ---- keys ---------------------------------------------------------------------------------
    def escape(self) -> None:
        """Esc: leave full screen, else stop the slideshow, else back to the grid."""
        if self.fullscreen_button.isChecked():
            self.fullscreen_button.setChecked(False)
        elif self.slideshow_button.isChecked():
            self.stop_slideshow()
        else:
            self.closeRequested.emit()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        key, mods = event.key(), event.modifiers()
        K = Qt.Key
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key == K.Key_Escape:
            self.escape()
        elif key in (K.Key_Right, K.Key_PageDown) and self.canvas.is_fit() or key == K.Key_Space:
            self.step(1)
        elif key in (K.Key_Left, K.Key_PageUp) and self.canvas.is_fit() or key == K.Key_Backspace:
            self.step(-1)
        elif key in (K.Key_Left, K.Key_Right, K.Key_Up, K.Key_Down):  # zoomed in: arrows pan
            dx = {K.Key_Left: -1, K.Key_Right: 1}.get(key, 0)
            dy = {K.Key_Up: -1, K.Key_Down: 1}.get(key, 0)
            self.canvas._center += QPointF(dx, dy) * (60 / self.canvas.zoom())
            self.canvas._changed()
        elif key == K.Key_Home:
            self.go_to(0)
        elif key == K.Key_End:
            self.go_to(self.photos.count() - 1)
        elif key == K.Key_F11:
            self.fullscreen_button.toggle()
        elif key in (K.Key_Plus, K.Key_Equal):
            self.canvas.zoom_by(1)
        elif key == K.Key_Minus:
            self.canvas.zoom_by(-1)
        elif key == K.Key_1 or (key == K.Key_0 and ctrl):
            self.canvas.set_zoom(1.0)
        elif key in (K.Key_F, K.Key_0):
            self.canvas.zoom_to_fit()
        elif key == K.Key_I:
            self.details_button.toggle()
        elif key == K.Key_S:
            self.slideshow_button.toggle()
        elif key in (K.Key_Return, K.Key_Enter):
            self._toggle_zoom()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


class QuickLook(_PhotoShower):
    """Space over the grid: the selected photo large over the window until Space or Esc."""

    closed = Signal()
    openRequested = Signal()

    def __init__(self, decoder: ImageDecoder, grid, parent, thumbnails=None) -> None:
        super().__init__(decoder, grid, parent, thumbnails)
        self.setObjectName("quickLook")
        self.setAccessibleName("Preview")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAutoFillBackground(True)
        self.preload_full = False
        self.setFocusProxy(self.canvas)
        self.name = QLabel(self)
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name.setStyleSheet("color: #eee; background: #181818; padding: 4px;")
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.canvas, 1)
        box.addWidget(self.name)
        self.canvas.doubleClicked.connect(self.openRequested.emit)
        self.hide()

    def open(self) -> bool:
        if self.photos.row() < 0:
            return False
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()
        self.canvas.setFocus(Qt.FocusReason.OtherFocusReason)
        self.show_current()
        return True

    def close_preview(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()

    def photo_changed(self) -> None:
        self.name.setText(display_path(self.path) + "   —   Space or Esc to close, Enter to view"
                          if self.path else "")

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        key = event.key()
        K = Qt.Key
        if key in (K.Key_Space, K.Key_Escape):
            self.close_preview()
        elif key in (K.Key_Right, K.Key_Down):
            self._step(1)
        elif key in (K.Key_Left, K.Key_Up):
            self._step(-1)
        elif key in (K.Key_Return, K.Key_Enter):
            self.openRequested.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _step(self, delta: int) -> None:
        row = self.photos.row() + delta
        if 0 <= row < self.photos.count():
            self.photos.go(row)
