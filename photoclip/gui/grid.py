"""The photo grid: a QListView in wrapping list mode with a painting delegate.

List mode + uniform item sizes keeps layout O(1) per item, so 100,000 rows scroll smoothly.
The delegate paints placeholders from the palette while thumbnails load; the view tells the
thumbnail loader which items are on screen so it can drop requests for the ones scrolled past.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .photo_model import NameRole, ScoreRole, ThumbnailErrorRole, ThumbnailRole

MIN_THUMB = 96
MAX_THUMB = 384
THUMB_STEP = 32
PADDING = 8


class PhotoDelegate(QStyledItemDelegate):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.thumb_size = 160

    def text_height(self, option: QStyleOptionViewItem) -> int:
        return option.fontMetrics.height() + 4

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        s = self.thumb_size
        return QSize(s + 2 * PADDING, s + 2 * PADDING + self.text_height(option))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        model = index.model()
        if hasattr(model, "cell"):  # the photo model: one Python call, the GIL kept (see PhotoModel.cell)
            name, score, pixmap, error = model.cell(index.row())
        else:
            name, score = index.data(NameRole) or "", index.data(ScoreRole)
            pixmap, error = index.data(ThumbnailRole), index.data(ThumbnailErrorRole)
        self.paint_cell(painter, option, name, score, pixmap, error)

    def paint_cell(self, painter: QPainter, option: QStyleOptionViewItem, name: str, score, pixmap, error) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pal: QPalette = option.palette
        rect: QRect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
        if selected:
            fill = pal.color(QPalette.ColorRole.Highlight)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(rect), 6, 6)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            hover = pal.color(QPalette.ColorRole.Highlight)
            hover.setAlpha(50)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(hover)
            painter.drawRoundedRect(QRectF(rect), 6, 6)

        s = self.thumb_size
        th = self.text_height(option)
        box = QRect(rect.x() + (rect.width() - s) // 2, rect.y() + PADDING - 3, s, s)
        if pixmap is not None and not pixmap.isNull():
            size = pixmap.size()
            size.scale(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            # bottom-aligned, so every caption sits right under its photo and rows line up
            target = QRect(box.x() + (s - size.width()) // 2, box.bottom() + 1 - size.height(),
                           size.width(), size.height())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            clip = QPainterPath()
            clip.addRoundedRect(QRectF(target), 4, 4)
            painter.setClipPath(clip)
            painter.drawPixmap(target, pixmap)
            painter.setClipping(False)
            image_rect = target
        else:
            placeholder = QRect(box.x(), box.bottom() + 1 - s * 3 // 4, s, s * 3 // 4)
            color = pal.color(QPalette.ColorRole.Text)
            color.setAlpha(28)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(QRectF(placeholder), 4, 4)
            image_rect = placeholder
            if error:
                painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(placeholder.adjusted(6, 6, -6, -6),
                                 Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                                 "Cannot show this photo")

        if score is not None:
            text = f"{score:.2f}"
            fm = option.fontMetrics
            w = fm.horizontalAdvance(text) + 10
            h = fm.height() + 2
            badge = QRect(image_rect.right() - w - 3, image_rect.top() + 4, w, h)
            bg = pal.color(QPalette.ColorRole.ToolTipBase)
            bg.setAlpha(220)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(bg)
            painter.drawRoundedRect(QRectF(badge), h / 2, h / 2)
            painter.setPen(pal.color(QPalette.ColorRole.ToolTipText))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)

        text_rect = QRect(rect.x() + 4, box.bottom() + 4, rect.width() - 8, th)
        painter.setPen(pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        elided = option.fontMetrics.elidedText(name, Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, elided)
        if focused and not selected:
            pen_color = pal.color(QPalette.ColorRole.Highlight)
            painter.setPen(pen_color)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.restore()


class PhotoGrid(QListView):
    """Wrapping grid of thumbnails."""

    thumbnailSizeChanged = Signal(int)

    def __init__(self, thumbnails=None, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self.delegate = PhotoDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setSpacing(0)
        self.setAccessibleName("Photos")
        self._visible_timer = QTimer(self)
        self._visible_timer.setSingleShot(True)
        self._visible_timer.setInterval(60)
        self._visible_timer.timeout.connect(self._prune_requests)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self._visible_timer.start())
        self._update_grid()

    def setModel(self, model) -> None:  # noqa: N802 - Qt API
        old = self.model()
        if old is not None and hasattr(old, "thumbnailArrived"):
            old.thumbnailArrived.disconnect(self._thumbnail_arrived)
        super().setModel(model)
        if model is not None and hasattr(model, "thumbnailArrived"):
            model.thumbnailArrived.connect(self._thumbnail_arrived)

    def _thumbnail_arrived(self, row: int) -> None:
        rect = self.visualRect(self.model().index(row, 0))
        if rect.isValid() and rect.intersects(self.viewport().rect()):
            self.viewport().update(rect)

    # ---- thumbnail size -------------------------------------------------------------------
    def thumbnail_size(self) -> int:
        return self.delegate.thumb_size

    def set_thumbnail_size(self, size: int) -> None:
        size = max(MIN_THUMB, min(MAX_THUMB, int(size)))
        if size == self.delegate.thumb_size:
            return
        current = self.currentIndex()
        self.delegate.thumb_size = size
        model = self.model()
        if model is not None and hasattr(model, "set_thumbnail_size"):
            model.set_thumbnail_size(size)
        self._update_grid()
        self.viewport().update()
        if current.isValid():
            self.scrollTo(current, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.thumbnailSizeChanged.emit(size)

    def zoom_in(self) -> None:
        self.set_thumbnail_size(self.thumbnail_size() + THUMB_STEP)

    def zoom_out(self) -> None:
        self.set_thumbnail_size(self.thumbnail_size() - THUMB_STEP)

    # ---- layout ------------------------------------------------------------------------------
    def _update_grid(self) -> None:
        fm = self.fontMetrics()
        s = self.delegate.thumb_size
        cell_w = s + 2 * PADDING
        cell_h = s + 2 * PADDING + fm.height() + 4
        avail = max(cell_w, self.viewport().width() - 2)
        columns = max(1, avail // cell_w)
        self.setGridSize(QSize(avail // columns, cell_h))
        self._visible_timer.start()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_grid()

    def event(self, event) -> bool:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._update_grid()
        return super().event(event)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            (self.zoom_in if event.angleDelta().y() > 0 else self.zoom_out)()
            event.accept()
            return
        super().wheelEvent(event)

    def visible_rows(self) -> range:
        model = self.model()
        if model is None or model.rowCount() == 0:
            return range(0)
        vp = self.viewport().rect()
        first = self.indexAt(QPoint(vp.left() + 4, vp.top() + 4))
        last = self.indexAt(QPoint(vp.right() - 4, vp.bottom() - 4))
        start = first.row() if first.isValid() else 0
        if last.isValid():
            end = last.row()
        else:  # bottom right may be past the last item or in the gap between cells
            per_row = max(1, vp.width() // max(1, self.gridSize().width()))
            rows = vp.height() // max(1, self.gridSize().height()) + 2
            end = min(model.rowCount() - 1, start + per_row * rows)
        return range(start, end + 1)

    def _prune_requests(self) -> None:
        model = self.model()
        if self._thumbs is None or model is None or not hasattr(model, "item"):
            return
        rows = self.visible_rows()
        if not rows:
            return
        per_row = max(1, self.viewport().width() // max(1, self.gridSize().width()))
        lo = max(0, rows.start - per_row)
        hi = min(model.rowCount(), rows.stop + 2 * per_row)  # a little look-ahead
        self._thumbs.retain(model.item(r).path for r in range(lo, hi))
