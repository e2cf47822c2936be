"""The photo grid: an item view of its own laying out rows of equal cells under month headers.

Browsing in date-taken order, each month starts under a header ("June 2024") spanning the grid,
its photos on a new row. The headers are not rows of the model: the model holds photos only, so
selection, Ctrl+A, the counts, the viewer's steps and drag never meet one. The layout is a few
numbers per month (``GridLayout``), made again in numpy on a resize or a new listing (1,000,000
photos: milliseconds), and every question the view answers (where is row r, which row is at this
point, which rows are on screen) is a bisect over the months plus arithmetic: nothing per photo.
A QListView needs uniform item sizes to lay out 100,000 rows fast, and then cannot have headers.

The delegate paints placeholders from the palette while thumbnails load; the view tells the
thumbnail loader which items are on screen so it can drop requests for the ones scrolled past.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QMimeData,
    QModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QCursor, QDrag, QFont, QImage, QPainter, QPalette, QPixmap, QRegion, QStaticText
from PySide6.QtWidgets import (
    QAbstractItemView,
    QRubberBand,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionRubberBand,
    QStyleOptionViewItem,
)

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


class GridLayout:
    """Where every photo of the grid is, as a few numbers per month: rows of ``columns`` cells of
    ``cell_w`` x ``cell_h``; with headers, each month (``starts``: its first row) begins with a
    ``header_h`` band and its photos on a new row. Content coordinates (y from the top of all)."""

    def __init__(self, rows: int, starts: list[int], columns: int, cell_w: int, cell_h: int, header_h: int) -> None:
        self.rows, self.columns, self.cell_w, self.cell_h = rows, max(1, columns), cell_w, cell_h
        self.headed = bool(rows and starts)
        first = np.asarray(starts if self.headed else ([0] if rows else []), dtype=np.int64)
        counts = np.diff(np.append(first, rows))
        self.header_h = header_h if self.headed else 0
        heights = self.header_h + -(-counts // self.columns) * cell_h
        ends = np.cumsum(heights)
        tops = ends - heights
        self.starts: list[int] = first.tolist()
        self.counts: list[int] = counts.tolist()
        self.tops: list[int] = tops.tolist()  # a month's header band
        self.cell_tops: list[int] = (tops + self.header_h).tolist()  # its first row of photos
        self.height = int(ends[-1]) if len(ends) else 0

    def section(self, row: int) -> int:
        return bisect_right(self.starts, row) - 1

    def rect(self, row: int) -> tuple[int, int]:
        """The top left corner of ``row``'s cell."""
        i = bisect_right(self.starts, row) - 1
        line, col = divmod(row - self.starts[i], self.columns)
        return col * self.cell_w, self.cell_tops[i] + line * self.cell_h

    def row_at(self, x: int, y: int) -> int:
        """The photo at a point, or -1 (a header, the gap after a month's last photo, outside)."""
        if not 0 <= y < self.height or x < 0 or x >= self.columns * self.cell_w:
            return -1
        i = bisect_right(self.tops, y) - 1
        dy = y - self.cell_tops[i]
        if dy < 0:
            return -1
        k = dy // self.cell_h * self.columns + x // self.cell_w
        return self.starts[i] + k if k < self.counts[i] else -1

    def row_near(self, x: int, y: int) -> int:
        """The photo nearest a point: in its month, on the row at ``y`` (its first on a header),
        in the column at ``x`` (the row's last photo past its end)."""
        if not self.rows:
            return -1
        y = min(max(0, y), self.height - 1)
        i = bisect_right(self.tops, y) - 1
        lines = -(-self.counts[i] // self.columns)
        line = min(max(0, (y - self.cell_tops[i]) // self.cell_h), lines - 1)
        col = min(max(0, x // self.cell_w), self.columns - 1)
        return self.starts[i] + min(line * self.columns + col, self.counts[i] - 1)

    def rows_between(self, y0: int, y1: int) -> range:
        """The photos whose cells reach into the band ``y0..y1`` (inclusive): one run of rows."""
        if not self.rows or y1 < 0 or y0 >= self.height or y1 < y0:
            return range(0)
        y0, y1 = max(0, y0), min(self.height - 1, y1)
        cols, h = self.columns, self.cell_h
        i = bisect_right(self.tops, y0) - 1
        dy = y0 - self.cell_tops[i]
        first = self.starts[i] + (min(self.counts[i], dy // h * cols) if dy >= 0 else 0)
        j = bisect_right(self.tops, y1) - 1
        dy = y1 - self.cell_tops[j]
        last = self.starts[j] + min(self.counts[j], (dy // h + 1) * cols) - 1 if dy >= 0 else self.starts[j] - 1
        return range(first, last + 1)

    def sections_between(self, y0: int, y1: int) -> range:
        if not self.rows:
            return range(0)
        return range(max(0, bisect_right(self.tops, y0) - 1), bisect_right(self.tops, y1))

    def up(self, row: int) -> int:
        i = self.section(row)
        line, col = divmod(row - self.starts[i], self.columns)
        if line > 0:
            return row - self.columns
        if i == 0:
            return row
        last = self.counts[i - 1] - 1  # the same column of the month above's last row
        return self.starts[i - 1] + min(last // self.columns * self.columns + col, last)

    def down(self, row: int) -> int:
        i = self.section(row)
        k = row - self.starts[i]
        if k + self.columns < self.counts[i]:
            return row + self.columns
        if k // self.columns < (self.counts[i] - 1) // self.columns:  # the month's last, shorter row
            return self.starts[i] + self.counts[i] - 1
        if i + 1 >= len(self.starts):
            return row
        return self.starts[i + 1] + min(k % self.columns, self.counts[i + 1] - 1)


_HEADER_CACHE = 256


class PhotoGrid(QAbstractItemView):
    """Wrapping grid of thumbnails, under month headers when the model's photos are in date order
    (``model.sections()``)."""

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
        self._grid = QSize(176, 200)
        self._layout = GridLayout(0, [], 1, 176, 200, 0)
        self._labels: list[str] = []
        self._header_font = QFont()
        self._header_texts: dict[str, QStaticText] = {}
        self._hover = -1
        self._press: QPoint | None = None  # where a press began, in content coordinates
        self._band: QRect | None = None  # the rubber band, in content coordinates
        # many photos at once: Ctrl/Shift-click, a rubber band dragged from between photos, Ctrl+A
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
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
        option.palette.setCurrentColorGroup(QPalette.ColorGroup.Normal)  # as enabled cells are painted
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
        if old is not None:
            if hasattr(old, "thumbnailArrived"):
                old.thumbnailArrived.disconnect(self._thumbnail_arrived)
            for signal in (old.modelReset, old.rowsInserted, old.rowsRemoved, old.layoutChanged):
                signal.disconnect(self._relayout)
        super().setModel(model)
        if model is not None:
            if hasattr(model, "thumbnailArrived"):
                model.thumbnailArrived.connect(self._thumbnail_arrived)
            for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.layoutChanged):
                signal.connect(self._relayout)
            self.selectionModel().selectionChanged.connect(self._selection_changed)
            model.modelReset.connect(self._selection_changed)
        self._relayout()

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

    def setSelection(self, rect: QRect, command) -> None:  # noqa: N802 - Qt API
        """A click or Shift+click/arrow (the photos from one corner's to the other's, in grid
        order), or a rubber band (the photos it touches); headers and gaps select nothing."""
        model, lay = self.model(), self._layout
        if model is None or not lay.rows:
            return
        off = self.verticalOffset()
        selection = QItemSelection()
        if self.state() == QAbstractItemView.State.DragSelectingState:
            band = rect.normalized()
            left = max(0, band.left() // lay.cell_w)
            right = min(lay.columns - 1, band.right() // lay.cell_w)
            if left <= right:
                for i in lay.sections_between(band.top() + off, band.bottom() + off):
                    start, count, top = lay.starts[i], lay.counts[i], lay.cell_tops[i]
                    lo = max(0, (band.top() + off - top) // lay.cell_h)
                    hi = min((count - 1) // lay.columns, (band.bottom() + off - top) // lay.cell_h)
                    if left == 0 and right == lay.columns - 1 and lo <= hi:  # whole rows: one range
                        a, b = start + lo * lay.columns, start + min(count, (hi + 1) * lay.columns) - 1
                        selection.select(model.index(a, 0), model.index(b, 0))
                        continue
                    for line in range(lo, hi + 1):
                        a = line * lay.columns + left
                        b = min(line * lay.columns + right, count - 1)
                        if a <= b:
                            selection.select(model.index(start + a, 0), model.index(start + b, 0))
        else:
            a = lay.row_at(rect.left(), rect.top() + off)
            b = a if rect.width() == 1 and rect.height() == 1 else lay.row_at(rect.right(), rect.bottom() + off)
            if a >= 0 and b >= 0:
                a, b = min(a, b), max(a, b)
                selection.select(model.index(a, 0), model.index(b, 0))
        self.selectionModel().select(selection, command)

    def visualRegionForSelection(self, selection) -> QRegion:  # noqa: N802 - Qt API
        region = QRegion()
        lay, vp = self._layout, self.viewport().rect()
        width = lay.columns * lay.cell_w
        for r in selection:
            top, bottom = r.top(), r.bottom()
            x0, y0 = lay.rect(top)
            x1, y1 = lay.rect(bottom)
            off = self.verticalOffset()
            if y0 == y1:
                rect = QRect(x0, y0 - off, x1 - x0 + lay.cell_w, lay.cell_h)
            else:
                rect = QRect(0, y0 - off, width, y1 - y0 + lay.cell_h)
            region += rect.intersected(vp)
        return region

    # ---- geometry (Qt's item view API) ---------------------------------------------------------
    def gridSize(self) -> QSize:  # noqa: N802 - the QListView name the callers know
        """A cell, as stretched to fill the row."""
        return QSize(self._grid)

    def horizontalOffset(self) -> int:  # noqa: N802 - Qt API
        return 0

    def verticalOffset(self) -> int:  # noqa: N802 - Qt API
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index) -> bool:  # noqa: N802 - Qt API
        return False

    def visualRect(self, index) -> QRect:  # noqa: N802 - Qt API
        lay = self._layout
        if not index.isValid() or not 0 <= index.row() < lay.rows:
            return QRect()
        x, y = lay.rect(index.row())
        return QRect(x, y - self.verticalOffset(), lay.cell_w, lay.cell_h)

    def indexAt(self, point: QPoint) -> QModelIndex:  # noqa: N802 - Qt API
        row = self._layout.row_at(point.x(), point.y() + self.verticalOffset())
        model = self.model()
        return model.index(row, 0) if row >= 0 and model is not None else QModelIndex()

    def header_rects(self, everywhere: bool = False) -> list[tuple[str, QRect]]:
        """The month headers on screen (``everywhere``: all of them): (title, where, in viewport
        coordinates)."""
        lay, off, vp = self._layout, self.verticalOffset(), self.viewport()
        if not lay.headed:
            return []
        width = max(lay.columns * lay.cell_w, vp.width())
        shown = range(len(lay.tops)) if everywhere else lay.sections_between(off, off + vp.height() - 1)
        return [(self._labels[i], QRect(0, lay.tops[i] - off, width, lay.header_h))
                for i in shown if (everywhere or lay.tops[i] + lay.header_h > off) and i < len(self._labels)]

    def scrollTo(self, index, hint=QAbstractItemView.ScrollHint.EnsureVisible) -> None:  # noqa: N802 - Qt API
        lay = self._layout
        if not index.isValid() or not 0 <= index.row() < lay.rows:
            return
        row = index.row()
        _x, top = lay.rect(row)
        bottom = top + lay.cell_h
        i = lay.section(row)
        if row - lay.starts[i] < lay.columns:
            top -= lay.header_h  # a month's first row: its header comes into view with it
        bar, height = self.verticalScrollBar(), self.viewport().height()
        value = bar.value()
        hints = QAbstractItemView.ScrollHint
        if hint == hints.PositionAtTop:
            value = top
        elif hint == hints.PositionAtBottom:
            value = bottom - height
        elif hint == hints.PositionAtCenter:
            value = (top + bottom - height) // 2
        elif top < value:
            value = top
        elif bottom > value + height:
            value = bottom - height
        bar.setValue(value)

    def moveCursor(self, action, modifiers) -> QModelIndex:  # noqa: N802 - Qt API
        """The arrows move along rows and columns (Up and Down cross into the month above or below),
        PgUp/PgDn by a screenful, Home/End to the first and last photo."""
        model, lay = self.model(), self._layout
        if model is None or not lay.rows:
            return QModelIndex()
        current = self.currentIndex()
        if not current.isValid():
            return model.index(0, 0)
        row, last = current.row(), lay.rows - 1
        act = QAbstractItemView.CursorAction
        if action in (act.MoveLeft, act.MovePrevious):
            row = max(0, row - 1)
        elif action in (act.MoveRight, act.MoveNext):
            row = min(last, row + 1)
        elif action == act.MoveUp:
            row = lay.up(row)
        elif action == act.MoveDown:
            row = lay.down(row)
        elif action == act.MoveHome:
            row = 0
        elif action == act.MoveEnd:
            row = last
        elif action in (act.MovePageUp, act.MovePageDown):
            x, y = lay.rect(row)
            page = max(lay.cell_h, self.viewport().height())
            row = lay.row_near(x + lay.cell_w // 2, y + lay.cell_h // 2 + (page if action == act.MovePageDown else -page))
        return model.index(row, 0)

    def updateGeometries(self) -> None:  # noqa: N802 - Qt API
        bar, lay = self.verticalScrollBar(), self._layout
        height = self.viewport().height()
        bar.setPageStep(max(1, height))
        bar.setSingleStep(max(1, lay.cell_h // 4))
        bar.setRange(0, max(0, lay.height - height))
        super().updateGeometries()

    def doItemsLayout(self) -> None:  # noqa: N802 - Qt API
        self._relayout()
        super().doItemsLayout()

    # ---- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        model = self.model()
        if model is None:
            return
        if self._thumbs is None or not hasattr(model, "item"):
            self._paint(event.rect())
            return
        # cells ask for their thumbnails as they are painted; the loader takes the newest request
        # first, so the pass's requests are handed over at its end in reading order: top row first
        with self._thumbs.held():
            self._paint(event.rect())
            size = self.thumbnail_size()
            self._thumbs.prioritise([(model.item(r).path, size) for r in self.visible_rows()])

    def _paint(self, area: QRect) -> None:
        model, lay = self.model(), self._layout
        off = self.verticalOffset()
        painter = QPainter(self.viewport())
        for title, rect in self.header_rects():
            if rect.intersects(area):
                self._paint_header(painter, title, rect)
        rows = lay.rows_between(area.top() + off, area.bottom() + off)
        if rows:
            option = QStyleOptionViewItem()
            self.initViewItemOption(option)
            enabled = self.isEnabled()
            option.palette.setCurrentColorGroup(QPalette.ColorGroup.Normal if enabled else QPalette.ColorGroup.Disabled)
            flag = QStyle.StateFlag
            base = option.state & ~(flag.State_Selected | flag.State_HasFocus | flag.State_MouseOver)
            states = {}
            for bits in range(8):
                state = base
                if bits & 1:
                    state |= flag.State_Selected
                if bits & 2:
                    state |= flag.State_HasFocus
                if bits & 4:
                    state |= flag.State_MouseOver
                states[bits] = state
            current = self.currentIndex()
            focus_row = current.row() if current.isValid() and (self.hasFocus() or self.viewport().hasFocus()) else -1
            selected = [(r.top(), r.bottom()) for r in self.selectionModel().selection()
                        if r.bottom() >= rows.start and r.top() < rows.stop]
            cell = hasattr(model, "cell")
            delegate = self.delegate
            w, h = lay.cell_w, lay.cell_h
            top, bottom, right = area.top() + off, area.bottom() + off, area.right()
            hover = self._hover
            for row in rows:
                x, y = lay.rect(row)
                if y > bottom or y + h <= top or x > right:
                    continue
                bits = ((1 if selected and any(a <= row <= b for a, b in selected) else 0)
                        | (2 if row == focus_row else 0) | (4 if row == hover else 0))
                option.rect = QRect(x, y - off, w, h)
                option.state = states[bits]
                if cell:
                    delegate.paint_cell(painter, option, *model.cell(row))
                else:
                    delegate.paint(painter, option, model.index(row, 0))
        if self._band is not None:
            band = QStyleOptionRubberBand()
            band.initFrom(self)
            band.shape = QRubberBand.Shape.Rectangle
            band.opaque = False
            band.rect = self._band.translated(0, -off)
            painter.save()
            self.style().drawControl(QStyle.ControlElement.CE_RubberBand, band, painter)
            painter.restore()
        painter.end()

    def _paint_header(self, painter: QPainter, title: str, rect: QRect) -> None:
        static = self._header_texts.get(title)
        if static is None:
            if len(self._header_texts) >= _HEADER_CACHE:
                self._header_texts.clear()
            static = self._header_texts[title] = QStaticText(title)
            static.setTextFormat(Qt.TextFormat.PlainText)
        fm = self.fontMetrics()
        painter.save()
        painter.setFont(self._header_font)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        hfm = painter.fontMetrics()
        painter.drawStaticText(rect.x() + PADDING + 3, rect.bottom() - hfm.height() - fm.height() // 3, static)
        painter.restore()

    def _thumbnail_arrived(self, row: int) -> None:
        rect = self.visualRect(self.model().index(row, 0))
        if rect.isValid() and rect.intersects(self.viewport().rect()):
            self.viewport().update(rect)

    # ---- mouse ---------------------------------------------------------------------------------
    def _set_hover(self, row: int) -> None:
        if row != self._hover:
            for r in (self._hover, row):
                if r >= 0 and r < self._layout.rows:
                    self.viewport().update(self.visualRect(self.model().index(r, 0)))
            self._hover = row

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        pos = event.position().toPoint()
        self._press = QPoint(pos.x(), pos.y() + self.verticalOffset())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        pos = event.position().toPoint()
        off = self.verticalOffset()
        self._set_hover(self._layout.row_at(pos.x(), pos.y() + off) if self.model() is not None else -1)
        super().mouseMoveEvent(event)
        if self.state() == QAbstractItemView.State.DragSelectingState and self._press is not None:
            band = QRect(self._press, QPoint(pos.x(), pos.y() + off)).normalized()
            old, self._band = self._band, band
            self.viewport().update((band if old is None else band.united(old)).translated(0, -off).adjusted(-2, -2, 2, 2))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().mouseReleaseEvent(event)
        self._press = None
        if self._band is not None:
            self._band = None
            self.viewport().update()

    def viewportEvent(self, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Leave:
            self._set_hover(-1)
        return super().viewportEvent(event)

    # ---- drag ----------------------------------------------------------------------------------
    def drag_mime(self) -> QMimeData | None:
        """The selected photos as file URLs, in grid order, for a drag out of the grid."""
        model = self.model()
        if model is None or not hasattr(model, "paths_of"):
            return None
        rows = self.selected_rows()
        if not rows:
            return None
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(p) for p in model.paths_of(rows)])
        return mime

    def startDrag(self, supported) -> None:  # noqa: N802 - Qt API
        """The selection's URLs from its ranges, the photo under the cursor as the picture: Qt's
        own drag asks for every selected index and its rectangle (100,000 Python calls for
        Ctrl+A over 100,000 photos, over 2 s)."""
        mime = self.drag_mime()
        if mime is None:
            super().startDrag(supported)
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        pos = self.viewport().mapFromGlobal(QCursor.pos())
        under = self.indexAt(pos)
        if not under.isValid():
            under = self.currentIndex()
        rect = self.visualRect(under).intersected(self.viewport().rect()) if under.isValid() else QRect()
        if rect.isValid() and not rect.isEmpty():
            drag.setPixmap(self.viewport().grab(rect))
            drag.setHotSpot(QPoint(min(max(0, pos.x() - rect.x()), rect.width() - 1),
                                   min(max(0, pos.y() - rect.y()), rect.height() - 1)))
        drag.exec(supported, Qt.DropAction.CopyAction)

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
        self._grid = QSize(avail // columns, cell_h)
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25 if font.pointSizeF() > 0 else 12)
        self._header_font = font
        self._relayout()

    def header_height(self) -> int:
        from PySide6.QtGui import QFontMetrics

        return QFontMetrics(self._header_font).height() + self.fontMetrics().height() + 4

    def _relayout(self, *_args) -> None:
        """Lay the rows out again (a new listing, a resize, a zoom): numpy over the months."""
        model = self.model()
        rows = model.rowCount() if model is not None else 0
        starts, labels = model.sections() if rows and hasattr(model, "sections") else ([], [])
        avail = max(self.cell_width(), self.viewport().width() - 2)
        columns = max(1, avail // self.cell_width())
        self._layout = GridLayout(rows, starts, columns, self._grid.width(), self._grid.height(), self.header_height())
        self._labels = labels
        if self._hover >= rows:
            self._hover = -1
        self.updateGeometries()
        self.viewport().update()
        self._visible_timer.start()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_grid()

    def event(self, event) -> bool:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.delegate.forget_art()  # captions were elided and centred for the old font
            self._header_texts.clear()
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
        off = self.verticalOffset()
        return self._layout.rows_between(off, off + self.viewport().height() - 1)

    def _prune_requests(self) -> None:
        model = self.model()
        if self._thumbs is None or model is None or not hasattr(model, "item"):
            return
        rows = self.visible_rows()
        if not rows:
            return
        per_row = self._layout.columns
        lo = max(0, rows.start - per_row)
        hi = min(model.rowCount(), rows.stop + 2 * per_row)  # a little look-ahead
        self._thumbs.retain(model.item(r).path for r in range(lo, hi))
