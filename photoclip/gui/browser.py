"""What the grid shows, and keeping the panels in step with the library.

The Browser holds the view state (sidebar filter, search text, query image, "similar to" photo),
turns it into a read on the ``QueryRunner`` and puts the answer into the model - only if it is
the answer to the newest request, so fast typing never shows stale results. It also refreshes the
sidebar (folders, tag sets, counts, problems) and the details panel.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Optional

from PySide6.QtCore import QItemSelectionModel, QObject, Signal

from photoclip.core.catalog import PhotoListing
from photoclip.core.errors import PhotoclipError
from photoclip.core.filters import ALL_PHOTOS, PhotoFilter
from photoclip.core.search import sort_results, split_weak

from .photo_model import PhotoIdRole
from .workers import Slot

log = logging.getLogger("photoclip.gui.browser")

SEARCH_LIMIT = 200
#: the PhotoFilter fields the filter bar sets
BAR_FIELDS = ("after", "before", "camera", "place", "kind")
#: a new listing first shows this many photos, then the rest
FIRST_PAGE = 600
#: while indexing, the grid and sidebar are refreshed this often (seconds) so photos appear
LIVE_REFRESH_S = 2.0
#: ... or less often for a library so big that re-reading its listing and sidebar would take more
#: than this share of the time (100,000 photos: ~0.4 s a read, so every ~8 s)
LIVE_REFRESH_SHARE = 0.05
#: the details' summary of a selection names its folders up to this many photos
SUMMARY_FOLDERS_UP_TO = 20_000


class Browser(QObject):
    resultsShown = Signal(int)  # number of photos now in the grid
    detailsShown = Signal(int)  # photo id
    sidebarUpdated = Signal()
    searchFailed = Signal(str)
    modelReadyChanged = Signal(bool)

    def __init__(self, library, queries, window) -> None:
        super().__init__(window)
        self.library = library
        self.queries = queries
        self.window = window
        self.model = window.model
        self.chosen: PhotoFilter = ALL_PHOTOS  # the sidebar's entry
        self.refinement: PhotoFilter = ALL_PHOTOS  # the filter bar's dates, camera, place, kind
        self.text = ""
        self.image: Optional[str] = None
        self.similar: Optional[tuple[int, str]] = None  # (photo id, path) for "Find similar"
        self.like_tag: Optional[tuple[str, str]] = None  # (tag set, label) for "Find more like these"
        self.tag_sets: list = []
        self.labels: list[str] = []  # every label a tag can have (tag sets' and added by hand), to complete
        self.problems: list = []
        self.folder_count = 0
        self.folders: list = []  # Folder records from the last sidebar refresh
        self.total = 0
        self.model_ready = False
        self.last_error = ""
        self._reveal_id: Optional[int] = None  # a photo to select once the listing holds it
        self._last_live = 0.0
        # how long the last whole listing and sidebar took to read (on the query thread)
        self._listing_s = self._sidebar_s = 0.0
        self._requests: dict[int, tuple[bool, bool, Any]] = {}  # results token -> (search, first page, listing)
        self._listing: Optional[PhotoFilter] = None  # the filter of the listing in the grid
        queries.done.connect(self._on_done)
        queries.failed.connect(self._on_failed)
        window.sidebar.filterChanged.connect(self.set_filter)
        window.sidebar.subfoldersRequested.connect(self.refresh_subfolders)
        window.filter_bar.changed.connect(self.set_refinement)
        window.filter_bar.sortChanged.connect(self.set_sort)
        window.weak_button.clicked.connect(self.toggle_weak)
        self.show_weak = False  # the search's weak tail is shown too
        self.weak_count = 0  # how many matches the shown search's cut-off hides (or would hide)
        self._weak_query = None
        window.search_bar.searchRequested.connect(self.set_query)
        window.grid.selectionModel().currentChanged.connect(self._current_changed)
        window.grid.selectionCountChanged.connect(self._selection_count_changed)

    # ---- state changes ---------------------------------------------------------------------------
    @property
    def filter(self) -> PhotoFilter:
        """What the grid shows: the sidebar's entry narrowed by the filter bar."""
        bar = {name: getattr(self.refinement, name) for name in BAR_FIELDS
               if getattr(self.refinement, name) is not None}
        return self.chosen.but(**bar) if bar else self.chosen

    def set_filter(self, value: Optional[PhotoFilter]) -> None:
        """The sidebar's choice (all photos, a folder, a tag, a year, a place)."""
        self.chosen = value or ALL_PHOTOS
        self._end_like_tag()
        self.refresh_results()

    def set_refinement(self, value: Optional[PhotoFilter]) -> None:
        """The filter bar's choice, added to the sidebar's."""
        self.refinement = value or ALL_PHOTOS
        self.refresh_results()

    def set_query(self, text: str, image: Optional[str]) -> None:
        self.text = text
        self.image = image
        self.like_tag = None
        if self.similar and image != self.similar[1]:
            self.similar = None
        self.window.sidebar.set_searching(self.is_search())
        self.window.filter_bar.set_searching(self.is_search())
        self.refresh_results()

    def set_sort(self, _order: str) -> None:
        self.refresh_results()

    def toggle_weak(self) -> None:
        """Show the search's weak tail too (or hide it again)."""
        self.show_weak = not self.show_weak
        self.refresh_results()

    def find_similar(self, photo_id: int, path: str) -> None:
        self.similar = (photo_id, path)
        bar = self.window.search_bar
        bar.edit.blockSignals(True)
        bar.edit.clear()
        bar.edit.blockSignals(False)
        bar.set_image(path)  # emits searchRequested -> set_query

    def find_like_tag(self, tag_set: str, label: str) -> None:
        """"Find more like these": the photos not yet decided on that look most like a tag's
        examples (core Library.like_tag), in the grid as a search's results; the filter bar's
        choices apply."""
        self.window.search_bar.clear()  # a query or image in the bar is dropped (-> set_query)
        self.text, self.image, self.similar = "", None, None
        self.like_tag = (tag_set, label)
        self.window.filter_bar.set_searching(True)  # best match first, as a search's results
        self.refresh_results()

    def stop_like_tag(self) -> None:
        if self.like_tag is not None:
            self._end_like_tag()
            self.refresh_results()

    def _end_like_tag(self) -> None:
        if self.like_tag is not None:
            self.like_tag = None
            self.window.filter_bar.set_searching(self.is_search())

    def reveal(self, path: str) -> None:
        """Show one photo (``photoclip PHOTO``, "Open with photoclip"): selected among all photos
        when it is in the library, else as the query of a search for photos like it."""
        lib = self.library
        self.queries.submit(Slot.REVEAL, lambda: (path, lib.photo_by_path(path)))

    def _revealed(self, path: str, rec) -> None:
        if rec is None:
            self.window.search_bar.set_image(path)  # emits searchRequested -> set_query
            self.window.status.showMessage("This photo is not in your library: showing photos like it", 10_000)
            return
        self._reveal_id = rec.id
        self.window.sidebar.select(None, emit=False)
        self.set_filter(ALL_PHOTOS)

    def _select_revealed(self) -> None:
        row = self.model.row_for_photo(self._reveal_id)
        if row < 0:
            return
        self._reveal_id = None
        idx = self.model.index(row)
        grid = self.window.grid
        grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        grid.scrollTo(idx)

    def set_model_ready(self, ready: bool) -> None:
        if ready != self.model_ready:
            self.model_ready = ready
            self.modelReadyChanged.emit(ready)
            if ready and self.is_search():
                self.refresh_results()

    def is_search(self) -> bool:
        return bool(self.text or self.image or self.like_tag)

    def _tag_view(self) -> bool:
        return self.filter.tag is not None

    # ---- reads on the query thread ---------------------------------------------------------------
    def refresh_results(self) -> int:
        lib = self.library
        where = self.filter
        text, image, similar = self.text, self.image, self.similar
        sort = self.window.filter_bar.sort_order
        like, refinement = self.like_tag, self.refinement
        query = (text, image, similar, where, like)
        if query != self._weak_query:  # a new search hides its weak tail again
            self._weak_query, self.show_weak = query, False
        show_weak = self.show_weak
        if text or image or like:
            def run():
                if not lib.model_ready():
                    raise PhotoclipError("Searching needs the image model: download it or choose a local "
                                         "weights file in the banner above.")
                by_date = sort == "taken"  # (then the grid heads each month, as when browsing)
                if like:  # every result is shown: the ones to confirm or reject, best first
                    hits = sort_results(lib.like_tag(*like, limit=SEARCH_LIMIT, where=refinement), sort)
                    return PhotoListing.of_results(hits, by_date)
                if similar and image == similar[1] and not text and not where:
                    hits = sort_results(lib.similar(similar[0], limit=SEARCH_LIMIT), sort)
                else:
                    hits = lib.search(text or None, image, limit=SEARCH_LIMIT, where=where, sort=sort)
                strong, weak = split_weak(hits)
                listing = PhotoListing.of_results(hits if show_weak else strong, by_date)
                listing.weak = len(weak)  # how many the cut-off hides (or would hide)
                return listing
            is_search = True
            first_page = False
        else:
            # A new listing shows its first photos at once, then the whole list (100,000 records
            # take about a second to read); a refresh of the listing on screen reads it whole.
            first_page = not self._showing_listing(where)
            limit = FIRST_PAGE if first_page else None

            def run():
                t0 = time.perf_counter()
                # a tag view keeps its own order (the tag's score) unless another is chosen
                chosen = None if sort == "taken" and where.tag is not None else sort
                listing = lib.photo_listing(where, limit=limit, sort=chosen)
                listing.rows()  # here rather than on the GUI thread when the first thumbnail arrives
                if limit is None:
                    self._listing_s = time.perf_counter() - t0
                return listing
            is_search = False
        token = self.queries.submit(Slot.RESULTS, run)
        self._pending_search = is_search
        self._requests = {token: (is_search, first_page, where)}
        return token

    def _showing_listing(self, key) -> bool:
        return not self.model.is_search and self.model.rowCount() > 0 and self._listing == key

    def refresh_sidebar(self) -> int:
        lib = self.library
        opened = self.window.sidebar.wanted_subfolders()

        def run():
            t0 = time.perf_counter()
            folders = lib.folders()
            result = {
                "total": lib.photo_count(),
                "folders": folders,
                "subfolders": {path: lib.folder_level(path)
                               for path in sorted(set(opened) | {f.path for f in folders})},
                "tag_sets": lib.tag_sets(),
                "counts": lib.tag_counts(),
                "problems": lib.problems(),
                "years": lib.counts_by("year"),
                "places": lib.counts_by("place"),
                "cameras": lib.counts_by("camera"),
                "labels": lib.labels(),
            }
            self._sidebar_s = time.perf_counter() - t0
            return result

        return self.queries.submit(Slot.SIDEBAR, run)

    def refresh_subfolders(self) -> int:
        """Read the subfolders of every folder the sidebar shows opened (one just opened among them)."""
        lib = self.library
        wanted = self.window.sidebar.wanted_subfolders()
        return self.queries.submit(Slot.SUBFOLDERS, lambda: {path: lib.folder_level(path) for path in wanted})

    def refresh_details(self) -> None:
        grid = self.window.grid
        if grid.selected_count() > 1:
            self._show_selection_summary()
            return
        idx = grid.currentIndex()
        if not idx.isValid():
            self.window.details.clear()
            return
        item = self.model.item(idx.row())
        self.window.details.show_loading(item.photo_id, item.path)
        lib = self.library
        pid = item.photo_id

        def run():
            rec = lib.photo(pid)
            if rec is None:
                raise PhotoclipError("This photo is no longer in the library.")
            return pid, rec, lib.photo_tags(pid), tuple(lib.pair_files(pid))

        # What the catalog knows shows at once; the best labels, which need the model in memory,
        # follow in a read of their own (and again once a model load ends).
        self.queries.submit(Slot.DETAILS, run)
        if self.model_ready and lib.embedder_loaded():
            self.queries.submit(Slot.LABELS, lambda: (pid, lib.best_labels(pid)))

    def refresh_all(self) -> None:
        self.refresh_sidebar()
        self.refresh_results()
        if self.window.grid.currentIndex().isValid():
            self.refresh_details()

    def check_model(self) -> None:
        """Ask (off-thread) whether the model is available locally; answers in 'startup'."""
        lib = self.library
        self.queries.submit(Slot.STARTUP, lambda: (lib.model_ready(), len(lib.folders())))

    # ---- answers ---------------------------------------------------------------------------------
    def _on_done(self, slot: Slot, token: int, result) -> None:
        if token != self.queries.latest(slot):
            return  # an answer to a request that has been replaced: never shown
        if slot is Slot.RESULTS:
            is_search, first_page, listing = self._requests.get(token, (self._pending_search, False, None))
            previous, self._listing = self._listing, (None if is_search else listing)
            self._show_results(result, is_search, same_listing=previous == listing)
            self.weak_count = result.weak if is_search else 0
            self.window.show_weak_offer(self.weak_count, self.show_weak)
            if first_page and len(result) >= FIRST_PAGE:
                self.refresh_results()  # the rest of the listing (the grid keeps its place)
        elif slot is Slot.SIDEBAR:
            self.tag_sets = result["tag_sets"]
            self.labels = result["labels"]
            self.problems = result["problems"]
            self.folders = list(result["folders"])
            self.folder_count = len(self.folders)
            self.total = result["total"]
            self.window.sidebar.set_content(result["total"], result["folders"], result["tag_sets"],
                                            result["counts"], years=result["years"], places=result["places"],
                                            subfolders=result["subfolders"])
            self.window.filter_bar.set_choices(result["cameras"], result["places"])
            self.window.status.set_problems(len(self.problems))
            self._update_count()
            self.window.update_empty_hint(self.folder_count, self.is_search(), self._tag_view())
            self.sidebarUpdated.emit()
        elif slot is Slot.SUBFOLDERS:
            self.window.sidebar.set_subfolders(result)
        elif slot is Slot.DETAILS:
            pid, rec, tags, pair = result
            if self.window.details.photo_id == pid:
                self.window.details.show_photo(rec, tags, None if self.model_ready else {}, pair)
                self.detailsShown.emit(pid)
        elif slot is Slot.LABELS:
            pid, best = result
            if self.window.details.photo_id == pid:
                self.window.details.show_best(best)
        elif slot is Slot.REVEAL:
            self._revealed(*result)
        elif slot is Slot.STARTUP:
            ready, folders = result
            self.folder_count = folders
            self.set_model_ready(bool(ready))
            self.window.startup_checked(bool(ready))

    def _on_failed(self, slot: Slot, token: int, message: str) -> None:
        if token != self.queries.latest(slot):
            return
        if slot is Slot.RESULTS:
            self.last_error = message
            self.weak_count = 0
            self.window.show_weak_offer(0, False)
            self.model.set_items([], is_search=self._pending_search)
            self.window.show_message_over_grid(message)
            self._update_count()
            self.searchFailed.emit(message)
            self.resultsShown.emit(0)
        elif slot is Slot.DETAILS:
            self.window.details.show_error(message)
        elif slot is Slot.STARTUP:
            self.window.startup_checked(False)
        else:
            log.warning("%s failed: %s", slot.value, message)

    def _show_results(self, items: PhotoListing, is_search: bool, same_listing: bool = True) -> None:
        if same_listing and self.model.shows(items, is_search=is_search):
            # A live refresh that changed nothing (e.g. while photos are tagged): no model reset,
            # so the grid is not laid out again and keeps its place without a flicker.
            self.last_error = ""
            self._update_count()
            if self._reveal_id is not None and not is_search:
                self._select_revealed()
            self.resultsShown.emit(len(items))
            return
        grid = self.window.grid
        keep_id = None
        cur = grid.currentIndex()
        if cur.isValid():
            keep_id = cur.data(PhotoIdRole)
        same_view = not is_search and not self.model.is_search and same_listing
        scroll = grid.verticalScrollBar().value() if same_view else 0
        self.model.set_listing(items, is_search=is_search)
        self.last_error = ""
        if keep_id is not None:
            row = self.model.row_for_photo(keep_id)
            if row >= 0:
                idx = self.model.index(row)
                grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if same_view:
            grid.verticalScrollBar().setValue(scroll)
        else:
            grid.scrollToTop()
        if grid.currentIndex().isValid() is False:
            self.window.details.clear()
        self._update_count()
        self.window.update_empty_hint(self.folder_count, is_search, self._tag_view())
        if self._reveal_id is not None and not is_search:
            self._select_revealed()
        self.resultsShown.emit(len(items))

    def _update_count(self) -> None:
        shown = self.model.rowCount()
        self.window.status.set_photo_count(shown, None if self.filter or self.model.is_search else self.total,
                                           searching=self.model.is_search)

    def _show_selection_summary(self) -> None:
        rows = self.window.grid.selected_rows()
        # the folders of a selection of up to 20,000 photos (a few ms); of more, only the count
        folders = ({os.path.dirname(p) for p in self.model.paths_of(rows)}
                   if len(rows) <= SUMMARY_FOLDERS_UP_TO else None)
        self.window.details.show_many(len(rows), folders)

    def _selection_count_changed(self, count: int) -> None:
        self.window.status.set_selected(count)
        details = self.window.details
        if count > 1:
            self._show_selection_summary()
        elif count == 1 and details.photo_id is None and self.window.grid.currentIndex().isValid():
            self.refresh_details()  # back from the summary to one photo
        elif count == 0 and details.many.isVisible():
            details.clear()

    def _current_changed(self, current, _previous) -> None:
        if current.isValid():
            self.refresh_details()
        else:
            self.window.details.clear()

    # ---- after background work (called by the jobs' continuations) ------------------------------
    def live_progress(self, progress) -> None:
        """Photos are being added or tagged: show them as they arrive, not every report."""
        if progress.phase not in ("scanning", "listed", "embedding", "saving", "tagging"):
            return
        now = time.monotonic()
        if progress.phase == "listed":  # a folder's new photos are in the catalog: show them at once
            self._last_live = now
            self.refresh_sidebar()
            if not self.is_search():
                self.refresh_results()
            return
        if now - self._last_live >= max(LIVE_REFRESH_S, (self._listing_s + self._sidebar_s) / LIVE_REFRESH_SHARE):
            self._last_live = now
            self.refresh_sidebar()
            # photos are added while embedding; tagging changes only what a tag filter shows
            tag_filter = self._tag_view()
            if progress.phase == "scanning":
                return
            if not self.is_search() and (progress.phase == "embedding" or tag_filter):
                self.refresh_results()

    def after_job(self, photos_changed: bool = True) -> None:
        """A job ended (done, failed or cancelled). When it cannot have changed the photos shown
        (a model load, an export), only the sidebar and details are read again."""
        self._last_live = time.monotonic()
        if not photos_changed:
            self.refresh_sidebar()
            if self.window.grid.currentIndex().isValid():
                self.refresh_details()  # best labels need the model
        else:
            self.refresh_all()
