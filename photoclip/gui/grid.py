"""The photo grid: a QListView in wrapping list mode with a painting delegate.

List mode + uniform item sizes keeps layout O(1) per item, so 100,000 rows scroll smoothly.
The delegate paints placeholders from the palette while thumbnails load; the view tells the
thumbnail loader which items are on screen so it can drop requests for the ones scrolled past.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPixmap, QStaticText
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .colours import mix
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


RADIUS = 4  # of a photo's (and a placeholder's) corners
_TEXT_CACHE = 4000  # captions and scores laid out once (QStaticText), then just drawn


class _Art:
    """What cells are painted with, made once per palette and screen: opaque colours, the four
    rounded corners for each background, laid-out captions.

    Everything a cell draws is opaque, or tiny: blending a semi-transparent 160-pixel fill (or
    clipping a photo to a rounded path) took the raster engine 70-90 µs per cell, an opaque
    photo 3 µs; so a photo is drawn square and its corners are covered by four r x r pieces of
    the background with an antialiased quarter-circle cut out of them. A caption drawn with
    drawText is laid out again each time (50 µs); a QStaticText once (6 µs to draw)."""

    def __init__(self, pal: QPalette, dpr: float) -> None:
        role = QPalette.ColorRole
        self.dpr = dpr
        self.base = pal.color(role.Base)
        self.highlight = pal.color(role.Highlight)
        self.hover = mix(self.base, self.highlight, 50 / 255)
        self._placeholders: dict[int, QColor] = {}
        self.placeholder_text = pal.color(role.PlaceholderText)
        self.badge = QColor(pal.color(role.ToolTipBase))
        self.badge.setAlpha(220)
        self.badge_text = pal.color(role.ToolTipText)
        self.text = pal.color(role.Text)
        self.selected_text = pal.color(role.HighlightedText)
        self._corners: dict[int, tuple[QPixmap, QPixmap, QPixmap, QPixmap]] = {}
        self.texts: dict[tuple[str, int], tuple[QStaticText, int]] = {}

    def placeholder(self, background: QColor) -> QColor:
        """The grey of a photo still loading, on ``background``."""
        found = self._placeholders.get(background.rgba())
        if found is None:
            found = self._placeholders[background.rgba()] = mix(background, self.text, 28 / 255)
        return found

    def corners(self, background: QColor) -> tuple[QPixmap, QPixmap, QPixmap, QPixmap]:
        """Top-left, top-right, bottom-left, bottom-right: ``background`` outside a rounded corner."""
        key = background.rgba()
        found = self._corners.get(key)
        if found is None:
            r, dpr = RADIUS, self.dpr
            side = max(1, round(2 * r * dpr))
            whole = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
            whole.setDevicePixelRatio(dpr)
            whole.fill(background)
            p = QPainter(whole)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOut)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0))
            p.drawRoundedRect(QRectF(0, 0, 2 * r, 2 * r), r, r)
            p.end()
            half = side // 2
            pieces = []
            for px, py in ((0, 0), (side - half, 0), (0, side - half), (side - half, side - half)):
                piece = QPixmap.fromImage(whole.copy(px, py, half, half))
                piece.setDevicePixelRatio(dpr)
                pieces.append(piece)
            found = self._corners[key] = tuple(pieces)
        return found

    def laid_out(self, text: str, width: int, fm) -> tuple[QStaticText, int]:
        """``text`` elided in the middle to ``width``, laid out once, and its offset to centre it."""
        key = (text, width)
        found = self.texts.get(key)
        if found is None:
            if len(self.texts) >= _TEXT_CACHE:
                self.texts.clear()
            elided = fm.elidedText(text, Qt.TextElideMode.ElideMiddle, width)
            static = QStaticText(elided)
            static.setTextFormat(Qt.TextFormat.PlainText)
            found = self.texts[key] = (static, (width - fm.horizontalAdvance(elided)) // 2)
        return found


class PhotoDelegate(QStyledItemDelegate):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.thumb_size = 160
        self._art: dict[tuple[int, int, float], _Art] = {}  # (palette, colour group, pixel ratio) -> art

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

    def forget_art(self) -> None:
        """Drop the cached colours and laid-out captions (the font or the style changed)."""
        self._art.clear()

    def _art_for(self, pal: QPalette, dpr: float) -> _Art:
        key = (pal.cacheKey(), pal.currentColorGroup().value, dpr)  # an inactive window's colours differ
        art = self._art.get(key)
        if art is None:
            if len(self._art) > 8:  # palettes come and go with style and theme changes
                self._art.clear()
            art = self._art[key] = _Art(pal, dpr)
        return art

    def paint_cell(self, painter: QPainter, option: QStyleOptionViewItem, name: str, score, pixmap, error) -> None:
        """Paint one cell from plain values.

        Only ints and cached objects: with PySide6, every call that returns a new Qt value (a
        QRect, QColor, QSize...) gives up the GIL, and while the indexer's threads run Python each
        took the GUI thread 0.1-0.3 ms or more to get it back (about 15 per cell: a cell took
        17-27 ms beside three busy Python threads, under 1 ms now). Drawing calls and int getters
        keep the GIL. What is drawn is opaque or tiny, see _Art."""
        cell = option.rect
        x, y, w, h = cell.x() + 3, cell.y() + 3, cell.width() - 6, cell.height() - 6
        state = option.state.value
        selected = bool(state & _SELECTED)
        art = self._art_for(option.palette, painter.device().devicePixelRatio())
        fm = option.fontMetrics
        painter.save()
        background = art.base
        if selected or state & _HOVER:
            background = art.highlight if selected else art.hover
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(background)
            painter.drawRoundedRect(x, y, w, h, 6, 6)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

        s = self.thumb_size
        box_x, box_end = x + (w - s) // 2, y + PADDING - 3 + s  # box_end: the row just below the photo box
        if pixmap is not None and not pixmap.isNull():
            pw, ph = pixmap.width(), pixmap.height()
            tw, th = s * pw // ph, s  # fit the box keeping the aspect ratio, as QSize.scale does
            if tw > s:
                tw, th = s, s * ph // pw
            # bottom-aligned, so every caption sits right under its photo and rows line up
            img_x, img_y, img_w, img_h = box_x + (s - tw) // 2, box_end - th, tw, th
            # smooth when scaled (another size while this one loads, or a high-DPI screen); an
            # unscaled pixmap is copied as it is either way
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawPixmap(img_x, img_y, img_w, img_h, pixmap)
        else:
            img_x, img_w, img_h = box_x, s, s * 3 // 4
            img_y = box_end - img_h
            painter.fillRect(img_x, img_y, img_w, img_h, art.placeholder(background))
            if error:
                painter.setPen(art.placeholder_text)
                painter.drawText(img_x + 6, img_y + 6, img_w - 12, img_h - 12, _CENTER_WRAP, "Cannot show this photo")
        if img_w >= 2 * RADIUS and img_h >= 2 * RADIUS:
            tl, tr, bl, br = art.corners(background)
            right, bottom = img_x + img_w - RADIUS, img_y + img_h - RADIUS
            painter.drawPixmap(img_x, img_y, tl)
            painter.drawPixmap(right, img_y, tr)
            painter.drawPixmap(img_x, bottom, bl)
            painter.drawPixmap(right, bottom, br)

        if score is not None:
            text = f"{score:.2f}"
            bw = fm.horizontalAdvance(text) + 10
            bh = fm.height() + 2
            bx, by = img_x + img_w - 1 - bw - 3, img_y + 4
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(art.badge)
            painter.drawRoundedRect(bx, by, bw, bh, bh / 2, bh / 2)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            static, dx = art.laid_out(text, bw, fm)
            painter.setPen(art.badge_text)
            painter.drawStaticText(bx + dx, by + 1, static)

        text_w = w - 8
        static, dx = art.laid_out(name, text_w, fm)
        painter.setPen(art.selected_text if selected else art.text)
        painter.drawStaticText(x + 4 + dx, box_end + 3, static)
        if state & _FOCUSED and not selected:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(art.highlight)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(x + 0.5, y + 0.5, w - 1.0, h - 1.0), 6, 6)  # one cell per paint
        painter.restore()


class PhotoGrid(QListView):
    """Wrapping grid of thumbnails."""

    thumbnailSizeChanged = Signal(int)
    previewRequested = Signal()  # Space: a quick look at the current photo
    typed = Signal(str)  # a letter typed in the grid: it starts a search
    #: how many photos are selected, after every change of the selection (and a model reset)
    selectionCountChanged = Signal(int)

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
        # many photos at once: Ctrl/Shift-click, a rubber band dragged from between photos, Ctrl+A
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
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
        QTimer.singleShot(0, self, self._warm_up)

    def _warm_up(self) -> None:
        """Paint a cell of each kind off screen once, as soon as the event loop runs (the grid may
        still be hidden behind the empty-library hint), so the first photos to arrive, usually
        while indexing keeps the CPU busy, do not also pay for laying out text and making the
        cell art: the first cell took 2.6-5 ms of the GUI thread's CPU, measured."""
        self.ensurePolished()  # the style's palette and font, as painting will use them
        option = QStyleOptionViewItem()
        option.initFrom(self.viewport())
        option.font = self.font()
        option.palette.setCurrentColorGroup(QPalette.ColorGroup.Normal)  # as QListView paints enabled items
        size = self.gridSize()
        dpr = self.viewport().devicePixelRatio()
        image = QImage(max(1, round(size.width() * dpr)), max(1, round(size.height() * dpr)),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(dpr)
        option.rect = QRect(0, 0, size.width(), size.height())
        thumb = QPixmap(self.delegate.thumb_size, self.delegate.thumb_size * 3 // 4)
        thumb.fill(option.palette.color(QPalette.ColorRole.Mid))
        painter = QPainter(image)
        painter.setFont(option.font)
        self.delegate.paint_cell(painter, option, "IMG_0123456789.jpg", 0.25, None, None)
        self.delegate.paint_cell(painter, option, "photo.jpeg", None, thumb, None)
        painter.end()

    def setModel(self, model) -> None:  # noqa: N802 - Qt API
        old = self.model()
        if old is not None and hasattr(old, "thumbnailArrived"):
            old.thumbnailArrived.disconnect(self._thumbnail_arrived)
        super().setModel(model)
        if model is not None and hasattr(model, "thumbnailArrived"):
            model.thumbnailArrived.connect(self._thumbnail_arrived)
        if model is not None:
            self.selectionModel().selectionChanged.connect(self._selection_changed)
            model.modelReset.connect(self._selection_changed)

    # ---- selection ---------------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        """The selected rows in grid order, from the selection's ranges (Ctrl+A over 100,000
        photos is one range: no index object per photo)."""
        rows: set[int] = set()
        for r in self.selectionModel().selection():
            rows.update(range(r.top(), r.bottom() + 1))
        return sorted(rows)

    def selected_count(self) -> int:
        ranges = self.selectionModel().selection()
        if len(ranges) == 1:
            return ranges[0].height()
        return len(self.selected_rows())

    def _selection_changed(self, *_args) -> None:
        self.selectionCountChanged.emit(self.selected_count())

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        model = self.model()
        if self._thumbs is None or model is None or not hasattr(model, "item"):
            super().paintEvent(event)
            return
        # cells ask for their thumbnails as they are painted; the loader takes the newest request
        # first, so the pass's requests are handed over at its end in reading order: top row first
        with self._thumbs.held():
            super().paintEvent(event)
            size = self.thumbnail_size()
            self._thumbs.prioritise([(model.item(r).path, size) for r in self.visible_rows()])

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
    def cell_width(self) -> int:
        """A cell's own width (the grid stretches the cells of a row to fill the width)."""
        return self.delegate.thumb_size + 2 * PADDING

    def columns(self) -> int:
        return max(0, self.viewport().width() - 2) // self.cell_width()

    def _update_grid(self) -> None:
        fm = self.fontMetrics()
        s = self.delegate.thumb_size
        cell_w = self.cell_width()
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
            self.delegate.forget_art()  # captions were elided and centred for the old font
            self._update_grid()
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Space previews, Enter opens (``activated``), a letter starts a search; the arrows, Home,
        End, PgUp and PgDn move (Shift extends the selection) as in any list."""
        key, mods = event.key(), event.modifiers()
        plain = not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                            | Qt.KeyboardModifier.MetaModifier)
        if key == Qt.Key.Key_Space and plain and not mods & Qt.KeyboardModifier.ShiftModifier:
            if self.currentIndex().isValid():
                self.previewRequested.emit()
            event.accept()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            if self.currentIndex().isValid():
                self.activated.emit(self.currentIndex())  # on every platform, not only where the style says so
            event.accept()
            return
        text = event.text()
        if plain and text and text.isprintable() and not text.isspace():
            self.typed.emit(text)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 - Qt API
        pass  # typing searches the library (``typed``), it does not jump to a file name

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
