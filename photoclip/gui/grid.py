"""The photo grid: a QListView in wrapping list mode with a painting delegate.

List mode + uniform item sizes keeps layout O(1) per item, so 100,000 rows scroll smoothly.
The delegate paints placeholders from the palette while thumbnails load; the view tells the
thumbnail loader which items are on screen so it can drop requests for the ones scrolled past.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .photo_model import NameRole, ScoreRole, ThumbnailErrorRole, ThumbnailRole

MIN_THUMB = 96
MAX_THUMB = 384
THUMB_STEP = 32
PADDING = 8


# Flag values as plain ints, computed once: combining PySide6's enum flags runs Python enum code.
_SELECTED = QStyle.StateFlag.State_Selected.value
_FOCUSED = QStyle.StateFlag.State_HasFocus.value
_HOVER = QStyle.StateFlag.State_MouseOver.value
_CENTER_WRAP = Qt.AlignmentFlag.AlignCenter.value | Qt.TextFlag.TextWordWrap.value
_CENTER = Qt.AlignmentFlag.AlignCenter.value
_CAPTION = Qt.AlignmentFlag.AlignHCenter.value | Qt.AlignmentFlag.AlignTop.value


class _Colors:
    """The colours a cell is painted with, made once per palette (see PhotoDelegate.paint_cell)."""

    def __init__(self, pal: QPalette) -> None:
        role = QPalette.ColorRole
        self.highlight = pal.color(role.Highlight)
        self.hover = QColor(self.highlight)
        self.hover.setAlpha(50)
        self.placeholder = QColor(pal.color(role.Text))
        self.placeholder.setAlpha(28)
        self.placeholder_text = pal.color(role.PlaceholderText)
        self.badge = QColor(pal.color(role.ToolTipBase))
        self.badge.setAlpha(220)
        self.badge_text = pal.color(role.ToolTipText)
        self.text = pal.color(role.Text)
        self.selected_text = pal.color(role.HighlightedText)


class PhotoDelegate(QStyledItemDelegate):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.thumb_size = 160
        self._colors: dict[int, _Colors] = {}  # palette cache key -> colours
        self._clips: dict[tuple[int, int], QPainterPath] = {}  # photo size -> its rounded clip at (0, 0)

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

    def _colors_for(self, pal: QPalette) -> _Colors:
        key = pal.cacheKey()
        colors = self._colors.get(key)
        if colors is None:
            if len(self._colors) > 8:  # palettes come and go with style and theme changes
                self._colors.clear()
            colors = self._colors[key] = _Colors(pal)
        return colors

    def _clip(self, w: int, h: int) -> QPainterPath:
        path = self._clips.get((w, h))
        if path is None:
            if len(self._clips) > 64:
                self._clips.clear()
            path = self._clips[(w, h)] = QPainterPath()
            path.addRoundedRect(0.0, 0.0, w, h, 4.0, 4.0)
        return path

    def paint_cell(self, painter: QPainter, option: QStyleOptionViewItem, name: str, score, pixmap, error) -> None:
        """Paint one cell from plain values.

        Only ints, cached colours and cached clip paths: with PySide6, every call that returns a
        new Qt value (a QRect, QColor, QSize...) gives up the GIL, and while the indexer's threads
        run Python each took the GUI thread 0.1-0.3 ms or more to get it back (about 15 per
        cell: a cell took 27 ms beside three busy Python threads, 0.7 ms now). Drawing calls and
        int getters keep the GIL."""
        cell = option.rect
        x, y, w, h = cell.x() + 3, cell.y() + 3, cell.width() - 6, cell.height() - 6
        state = option.state.value
        selected = bool(state & _SELECTED)
        colors = self._colors_for(option.palette)
        fm = option.fontMetrics
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if selected or state & _HOVER:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colors.highlight if selected else colors.hover)
            painter.drawRoundedRect(x, y, w, h, 6, 6)

        s = self.thumb_size
        box_x, box_end = x + (w - s) // 2, y + PADDING - 3 + s  # box_end: the row just below the photo box
        if pixmap is not None and not pixmap.isNull():
            pw, ph = pixmap.width(), pixmap.height()
            tw, th = s * pw // ph, s  # fit the box keeping the aspect ratio, as QSize.scale does
            if tw > s:
                tw, th = s, s * ph // pw
            # bottom-aligned, so every caption sits right under its photo and rows line up
            img_x, img_y, img_w, img_h = box_x + (s - tw) // 2, box_end - th, tw, th
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.translate(img_x, img_y)
            painter.setClipPath(self._clip(tw, th))
            painter.drawPixmap(0, 0, tw, th, pixmap)
            painter.setClipping(False)
            painter.translate(-img_x, -img_y)
        else:
            img_x, img_w, img_h = box_x, s, s * 3 // 4
            img_y = box_end - img_h
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colors.placeholder)
            painter.drawRoundedRect(img_x, img_y, img_w, img_h, 4, 4)
            if error:
                painter.setPen(colors.placeholder_text)
                painter.drawText(img_x + 6, img_y + 6, img_w - 12, img_h - 12, _CENTER_WRAP, "Cannot show this photo")

        if score is not None:
            text = f"{score:.2f}"
            bw = fm.horizontalAdvance(text) + 10
            bh = fm.height() + 2
            bx, by = img_x + img_w - 1 - bw - 3, img_y + 4
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colors.badge)
            painter.drawRoundedRect(bx, by, bw, bh, bh / 2, bh / 2)
            painter.setPen(colors.badge_text)
            painter.drawText(bx, by, bw, bh, _CENTER, text)

        text_w = w - 8
        painter.setPen(colors.selected_text if selected else colors.text)
        elided = fm.elidedText(name, Qt.TextElideMode.ElideMiddle, text_w)
        painter.drawText(x + 4, box_end + 3, text_w, self.text_height(option), _CAPTION, elided)
        if state & _FOCUSED and not selected:
            painter.setPen(colors.highlight)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(x + 0.5, y + 0.5, w - 1.0, h - 1.0), 6, 6)  # one cell per paint
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
