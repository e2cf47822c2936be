"""The photo grid's model: a thin list adapter over plain records, with named roles.

Rows are a core ``PhotoListing`` (ids, paths and, for search results, scores as flat columns)
read on the query thread; the model only holds it, so 100,000 rows cost an int array and a list
of str, nothing the garbage collector has to visit. ``item(row)`` gives a ``PhotoItem``. ``data()`` never
touches the disk: thumbnails come from the ``ThumbnailLoader`` memory cache or are requested
and arrive later through ``thumbnailArrived(row)``.

Not ``dataChanged``: the grid repaints the row's cell instead (when the grid was a QListView in
batched layout mode, Qt 6 laid out ALL its rows again after any dataChanged: measured with
100,000 rows, the scroll range collapsed to the first batch at every arriving thumbnail).

In date-taken order the listing also holds each photo's month; ``sections()`` gives the grid
where each month starts and its title, for the month headers (the rows stay photos only).
"""

from __future__ import annotations

import array
import os
from typing import NamedTuple, Optional, Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from photoclip.core.catalog import PhotoListing
from photoclip.core.paths import display_path

PathRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
PhotoIdRole = Qt.ItemDataRole.UserRole + 3
ThumbnailRole = Qt.ItemDataRole.UserRole + 4  # QPixmap or None while loading
ThumbnailErrorRole = Qt.ItemDataRole.UserRole + 5  # why no thumbnail could be made, or None
NameRole = Qt.ItemDataRole.UserRole + 6

Index = QModelIndex | QPersistentModelIndex


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def month_label(month: int) -> str:
    """``202406`` -> "June 2024" (English, whatever the locale); 0 -> "No date"."""
    year, m = divmod(month, 100)
    if not month or year < 1:
        return "No date"
    return f"{MONTHS[m - 1]} {year}" if 1 <= m <= 12 else str(year)


class PhotoItem(NamedTuple):
    photo_id: int
    path: str
    score: Optional[float] = None


class PhotoModel(QAbstractListModel):
    """Photos shown in the grid: a browse listing (no scores) or search results (best first)."""

    thumbnailArrived = Signal(int)  # row whose thumbnail is now in memory (repaint its cell)

    def __init__(self, thumbnails=None, parent=None) -> None:
        super().__init__(parent)
        self._listing = PhotoListing(array.array("q"), [])
        self._thumbs = thumbnails
        self.thumbnail_size = 160
        self.is_search = False
        self._sections: tuple[list[int], list[str]] = ([], [])
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnail_ready)

    # ---- content ------------------------------------------------------------------------------
    def set_listing(self, listing: PhotoListing, *, is_search: bool = False) -> None:
        self.beginResetModel()
        self._listing = listing
        self.is_search = is_search
        starts, months = listing.month_runs()  # (search results have months when sorted by date)
        self._sections = (starts, [month_label(m) for m in months])
        self.endResetModel()

    def sections(self) -> tuple[list[int], list[str]]:
        """The grid's month headers: the row each month starts at and its title ("June 2024"),
        when the photos are in date-taken order; ``([], [])`` otherwise (search results, name order)."""
        return self._sections

    def set_items(self, items: Sequence[PhotoItem], *, is_search: bool = False) -> None:
        self.set_listing(PhotoListing.of(items), is_search=is_search)

    def shows(self, listing: PhotoListing, *, is_search: bool = False) -> bool:
        """Whether the grid already shows exactly ``listing`` (compared in C: about 1 ms for 100,000)."""
        shown = self._listing
        return (is_search == self.is_search and listing.ids == shown.ids and listing.scores == shown.scores
                and listing.months == shown.months and listing.paths == shown.paths)

    def items(self) -> list[PhotoItem]:
        return [self.item(row) for row in range(len(self._listing))]

    def item(self, row: int) -> PhotoItem:
        listing = self._listing
        return PhotoItem(listing.ids[row], listing.paths[row], None if listing.scores is None else listing.scores[row])

    def cell(self, row: int) -> tuple[str, Optional[float], Optional[object], Optional[str]]:
        """What the grid paints for a row, in one Python call: (name, score, thumbnail QPixmap or
        None while it loads, why it cannot be made or None). The delegate calls this instead of
        ``index.data()`` four times: each of those goes out to Qt and back, giving up the GIL and
        waiting to get it back while the indexer's threads run Python."""
        listing = self._listing
        if not 0 <= row < len(listing.paths):
            return "", None, None, None
        path = listing.paths[row]
        score = None if listing.scores is None else listing.scores[row]
        thumbs = self._thumbs
        pixmap = error = None
        if thumbs is not None:
            pixmap = thumbs.pixmap(path, self.thumbnail_size)
            if pixmap is None:
                error = thumbs.error(path)
        return display_path(os.path.basename(path)), score, pixmap, error

    def paths_of(self, rows) -> list[str]:
        """The paths of ``rows`` (e.g. the grid's selection), in that order."""
        paths = self._listing.paths
        return [paths[r] for r in rows if 0 <= r < len(paths)]

    def row_for_path(self, path: str) -> int:
        """The row showing ``path``, or -1."""
        return self._listing.rows().get(path, -1)

    def row_for_photo(self, photo_id: int) -> int:
        try:
            return self._listing.ids.index(photo_id)
        except ValueError:
            return -1

    def set_thumbnail_size(self, size: int) -> None:
        if size != self.thumbnail_size:
            self.thumbnail_size = size  # the grid lays itself out again for the new size

    # ---- Qt model API ---------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._listing)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        row = index.row()
        if not index.isValid() or row >= len(self._listing):
            return None
        item = self.item(row)
        if role == Qt.ItemDataRole.DisplayRole or role == NameRole:
            return display_path(os.path.basename(item.path))
        if role == PathRole:
            return item.path
        if role == ScoreRole:
            return item.score
        if role == PhotoIdRole:
            return item.photo_id
        if role == ThumbnailRole or role == Qt.ItemDataRole.DecorationRole:
            if self._thumbs is None:
                return None
            return self._thumbs.pixmap(item.path, self.thumbnail_size)
        if role == ThumbnailErrorRole:
            return None if self._thumbs is None else self._thumbs.error(item.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = display_path(item.path)
            if item.score is not None:
                text += f"\nmatch {item.score:.3f}"
            if self._thumbs is not None and self._thumbs.error(item.path):
                text += f"\n{self._thumbs.error(item.path)}"
            return text
        return None

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names.update({PathRole: b"path", ScoreRole: b"score", PhotoIdRole: b"photoId",
                      ThumbnailRole: b"thumbnail", NameRole: b"name"})
        return names

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes):
        from PySide6.QtCore import QMimeData, QUrl

        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(self._listing.paths[i.row()]) for i in indexes if i.isValid()])
        return mime

    def _on_thumbnail_ready(self, path: str, bucket: int) -> None:
        row = self.row_for_path(path)
        if row >= 0:
            self.thumbnailArrived.emit(row)
