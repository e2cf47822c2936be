"""The main window: layout only. Menus live in actions.py, background work in library_jobs.py, view state in browser.py."""

from __future__ import annotations

import os
from typing import Callable, Optional

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .details import DetailsPanel
from .filter_bar import FilterBar
from .grid import MAX_THUMB, MIN_THUMB, PhotoGrid
from .photo_model import PhotoModel
from .search_bar import SearchBar
from .sidebar import Sidebar
from .model_banner import ModelBanner
from .statusbar import JobStatusBar
from .viewer import ImageDecoder, PhotoViewer, QuickLook


#: the narrowest the side panels get to keep the grid at two columns; below that the details
#: panel folds away (and comes back when the window is wide enough again)
SIDEBAR_MIN, DETAILS_MIN, DETAILS_WIDTH = 150, 200, 300
GRID_MIN_COLUMNS = 2
BANNER_MARGINS = (8, 6, 8, 2)


def _dropped_folders(mime) -> list[str]:
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and os.path.isdir(u.toLocalFile())]


class MainWindow(QMainWindow):
    foldersDropped = Signal(list)
    resultsShown = Signal(int)  # the grid shows new results / listing (count)
    closing = Signal()

    def __init__(self, thumbnails, settings: QSettings, models_dir: Optional[str] = None, parent=None,
                 decoder: Optional[ImageDecoder] = None) -> None:
        super().__init__(parent)
        self._own_decoder = decoder is None
        self._thumbnails = thumbnails
        self.decoder = decoder if decoder is not None else ImageDecoder(parent=self)
        self.settings = settings
        self.thumbnails = thumbnails  # the shared loader (the duplicates window shows its thumbnails too)
        self.setWindowTitle("photoclip")
        self.setAcceptDrops(True)
        self.on_close: Optional[Callable[[], None]] = None
        self.on_startup_checked: Optional[Callable[[bool], None]] = None

        # search toolbar
        self.search_bar = SearchBar(self)
        self.search_bar.edit.setObjectName("searchBar")
        self.search_bar.set_thumbnails(thumbnails)
        self.size_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.size_slider.setRange(MIN_THUMB, MAX_THUMB)
        self.size_slider.setSingleStep(16)
        self.size_slider.setPageStep(32)
        self.size_slider.setFixedWidth(120)
        self.size_slider.setToolTip("Thumbnail size (Ctrl + mouse wheel)")
        self.size_slider.setAccessibleName("Thumbnail size")
        toolbar = QToolBar("Search", self)
        toolbar.setObjectName("searchToolbar")
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.toggleViewAction().setVisible(False)
        toolbar.addWidget(self.search_bar)
        toolbar.addSeparator()
        toolbar.addWidget(self.size_slider)
        toolbar.layout().setSpacing(6)
        toolbar.setContentsMargins(6, 4, 6, 4)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

        # the three panes
        self.sidebar = Sidebar(self)
        self.model = PhotoModel(thumbnails, self)
        self.grid = PhotoGrid(thumbnails, self)
        self.grid.setObjectName("photoGrid")
        self.grid.setModel(self.model)
        self.empty_hint = QLabel(self)
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setMargin(24)
        self.center = QStackedWidget(self)
        self.center.addWidget(self.grid)
        self.center.addWidget(self.empty_hint)
        self.filter_bar = FilterBar(self)
        middle = QWidget(self)
        middle_box = QVBoxLayout(middle)
        middle_box.setContentsMargins(0, 0, 0, 0)
        middle_box.setSpacing(0)
        middle_box.addWidget(self.filter_bar)
        middle_box.addWidget(self.center, 1)
        # a search's weak tail (scores far below the best) waits behind this button
        self.weak_button = QPushButton(middle)
        self.weak_button.setFlat(True)
        self.weak_button.setObjectName("weakMatches")
        self.weak_button.hide()
        middle_box.addWidget(self.weak_button)
        self.details = DetailsPanel(thumbnails, self)
        # the built-in viewer: a page stacked over the grid (and its filter bar)
        self.middle = middle
        self.viewer = PhotoViewer(self.decoder, self.grid, self, thumbnails=thumbnails)
        self.middle_stack = QStackedWidget(self)
        self.middle_stack.addWidget(middle)
        self.middle_stack.addWidget(self.viewer)
        self.viewer.closeRequested.connect(self.close_viewer)
        self.viewer.fullScreenToggled.connect(self._viewer_full_screen)
        self.viewer.detailsToggled.connect(self._viewer_details)
        self._before_viewer: Optional[tuple] = None
        self._hidden_for_full_screen: list[QWidget] = []
        self._was_maximized = False
        # while viewing, Esc and F11 work wherever the focus is (the details beside the photo, too)
        self._viewer_keys = [QShortcut(QKeySequence(key), self, slot) for key, slot in
                             (("Esc", self.viewer.escape), ("F11", self.viewer.fullscreen_button.toggle))]
        for shortcut in self._viewer_keys:
            shortcut.setEnabled(False)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.middle_stack)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([230, 700, DETAILS_WIDTH])
        # the side panels' widths the user wants (from their drags); _fit_panels gives them less
        # while the window is too narrow for those and the grid's two columns
        self._wanted = (230, DETAILS_WIDTH)
        self._fitting = False
        self.splitter.splitterMoved.connect(self._panels_dragged)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = ModelBanner(body, models_dir=models_dir)
        banner_box = QVBoxLayout()
        banner_box.setContentsMargins(*BANNER_MARGINS)
        banner_box.addWidget(self.banner)
        self._banner_box = banner_box
        layout.addLayout(banner_box)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(body)
        self.quick_look = QuickLook(self.decoder, self.grid, body, thumbnails=self._thumbnails)  # Space: a preview over the window
        self.quick_look.closed.connect(lambda: self.grid.setFocus(Qt.FocusReason.OtherFocusReason))
        self.quick_look.openRequested.connect(lambda: self.open_viewer())
        self.grid.previewRequested.connect(self.quick_look.open)
        self.grid.typed.connect(self._search_typed)

        self.status = JobStatusBar(self)
        self.status.photos.setObjectName("statusCount")
        self.setStatusBar(self.status)

        self.size_slider.setValue(self.grid.thumbnail_size())
        self.grid.thumbnailSizeChanged.connect(lambda _size: self._fit_soon())  # bigger cells need more room
        self.size_slider.valueChanged.connect(self.grid.set_thumbnail_size)
        self.grid.thumbnailSizeChanged.connect(self._thumb_size_changed)
        self.model.modelReset.connect(self._model_reset)
        self._hint_text = ""
        self.update_empty_hint(0, False)
        self.restore_state()

    # ---- empty states --------------------------------------------------------------------------
    def update_empty_hint(self, folder_count: int, is_search: bool, is_tag: bool = False) -> None:
        if self.filter_bar.is_active():
            text = "No photos match these filters.\n\nClear filters to see them all."
        elif is_search:
            text = "No photos match this search."
        elif is_tag:
            text = "No photos have this tag."
        elif folder_count == 0:
            text = ("Your library is empty.\n\nDrag folders of photos here,\nor press Ctrl+O to add one.")
        else:
            text = "No photos here yet.\n\nThey appear as soon as they are indexed."
        self._hint_text = text
        self._model_reset()

    def show_weak_offer(self, weak: int, showing: bool) -> None:
        """Offer the ``weak`` matches a search's cut-off hides (or, ``showing`` them, to hide them)."""
        if not weak:
            self.weak_button.hide()
            return
        s = "es" if weak != 1 else ""
        self.weak_button.setText(f"Hide the {weak:,} weaker match{s}" if showing
                                 else f"Show {weak:,} weaker match{s}")
        self.weak_button.setToolTip("Matches whose score is far below the best ones")
        self.weak_button.show()

    def show_message_over_grid(self, message: str) -> None:
        self.empty_hint.setText(message)
        self.center.setCurrentWidget(self.empty_hint)

    def _model_reset(self) -> None:
        if self.model.rowCount() == 0:
            self.empty_hint.setText(self._hint_text)
            self.center.setCurrentWidget(self.empty_hint)
        else:
            self.center.setCurrentWidget(self.grid)

    def startup_checked(self, model_ready: bool) -> None:
        if self.on_startup_checked is not None:
            self.on_startup_checked(model_ready)

    # ---- the viewer ------------------------------------------------------------------------------
    def is_viewing(self) -> bool:
        return self.middle_stack.currentWidget() is self.viewer

    def open_viewer(self, row: Optional[int] = None) -> bool:
        """Show the grid's current photo (or ``row``'s) large, over the grid; Esc comes back."""
        if row is not None and row != self.grid.currentIndex().row():
            self.viewer.go_to(row)
        if not self.grid.currentIndex().isValid():
            return False
        self.quick_look.close_preview()
        if not self.is_viewing():
            self._before_viewer = (self.splitter.sizes(), self.sidebar.isVisibleTo(self),
                                   self.toolbar.isVisibleTo(self), self.grid.verticalScrollBar().value())
            self.middle_stack.setCurrentWidget(self.viewer)
            for shortcut in self._viewer_keys:
                shortcut.setEnabled(True)
            self.sidebar.hide()
            self.toolbar.hide()
            self._viewer_details(self.viewer.details_button.isChecked())
        self.viewer.show_current()
        self.viewer.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def close_viewer(self) -> None:
        """Back to the grid, at the photo last viewed."""
        if not self.is_viewing():
            return
        self.viewer.fullscreen_button.setChecked(False)
        self.viewer.stop_slideshow()
        self.middle_stack.setCurrentWidget(self.middle)
        for shortcut in self._viewer_keys:
            shortcut.setEnabled(False)
        sizes, sidebar, toolbar, scroll = self._before_viewer or ([], True, True, None)
        self.sidebar.setVisible(sidebar)
        self.toolbar.setVisible(toolbar)
        self.details.show()
        if sizes:
            self.splitter.setSizes(sizes)
        self._before_viewer = None
        self.grid.setFocus(Qt.FocusReason.OtherFocusReason)
        self.grid.doItemsLayout()  # at its width again: the rows it had
        self._restore_grid(scroll)
        self._fit_soon()

    def _restore_grid(self, scroll: Optional[int], tries: int = 20) -> None:
        """The grid scrolled where it was before the viewer (the viewer is wider: the grid, laid out
        under it, had fewer rows), then to the photo viewed last if that is elsewhere."""
        bar = self.grid.verticalScrollBar()
        if scroll is not None and bar.maximum() < scroll and tries:  # a long grid lays out in batches
            QTimer.singleShot(50, self, lambda: self._restore_grid(scroll, tries - 1))
            return
        if scroll is not None:
            bar.setValue(scroll)
        current = self.grid.currentIndex()
        if current.isValid():
            self.grid.scrollTo(current)

    def _viewer_details(self, on: bool) -> None:
        if not self.is_viewing():
            return
        self.details.setVisible(on)
        total = sum(self.splitter.sizes())
        det = max(DETAILS_MIN, self._wanted[1] or DETAILS_WIDTH) if on else 0
        self.splitter.setSizes([0, max(0, total - det), det])

    def _viewer_full_screen(self, on: bool) -> None:
        if on:
            self._was_maximized = self.isMaximized()
            self._hidden_for_full_screen = [w for w in (self.menuBar(), self.status, self.banner, self.viewer.bar)
                                            if w.isVisibleTo(self)]
            for w in self._hidden_for_full_screen:
                w.hide()
            self._banner_box.setContentsMargins(0, 0, 0, 0)  # the photo to the screen's edges
            self.showFullScreen()
        else:
            for w in self._hidden_for_full_screen:
                w.show()
            self._hidden_for_full_screen = []
            self._banner_box.setContentsMargins(*BANNER_MARGINS)
            if self.isFullScreen():
                self.showMaximized() if self._was_maximized else self.showNormal()

    def _search_typed(self, text: str) -> None:
        """A letter typed in the grid starts a search with it."""
        edit = self.search_bar.edit
        edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        edit.deselect()
        edit.setText(text)
        edit.setCursorPosition(len(text))

    # ---- drag & drop of folders anywhere on the window -------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if _dropped_folders(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if _dropped_folders(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        folders = _dropped_folders(event.mimeData())
        if folders:
            event.acceptProposedAction()
            self.foldersDropped.emit(folders)
        else:
            event.ignore()

    # ---- fitting any screen ----------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.quick_look.isVisible():
            self.quick_look.setGeometry(self.quick_look.parentWidget().rect())
        self._fit_soon()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._fit_soon()

    def _fit_soon(self) -> None:
        # once the splitter has its new width (its layout runs after this event)
        QTimer.singleShot(0, self, self._fit_panels)

    def grid_columns(self) -> int:
        return self.grid.columns()

    def _panels_dragged(self, *_args) -> None:
        if not self._fitting:
            side, _mid, det = self.splitter.sizes()
            self._wanted = (side, det)

    def _fit_panels(self) -> None:
        """Keep the grid at GRID_MIN_COLUMNS whatever the window's size: the side panels get the
        widths the user wants where there is room; else the details panel narrows, then the
        sidebar, then the details fold away; they come back as the window grows."""
        sizes = self.splitter.sizes()
        if len(sizes) != 3 or not sum(sizes) or not self.isVisible() or self.is_viewing():
            return
        total = sum(sizes)
        side, det = self._wanted
        # the grid's viewport, its frame and scroll bar
        need = GRID_MIN_COLUMNS * self.grid.cell_width() + self.grid.verticalScrollBar().sizeHint().width() + 8
        short = need - (total - side - det)
        if short > 0 and det:
            take = min(short, max(0, det - DETAILS_MIN))
            det, short = det - take, short - take
        if short > 0:
            take = min(short, max(0, side - SIDEBAR_MIN))
            side, short = side - take, short - take
        if short > 0:
            det = 0
        wanted = [side, total - side - det, det]
        if wanted != sizes:
            self._fitting = True
            try:
                self.splitter.setSizes(wanted)
            finally:
                self._fitting = False

    # ---- persistence -----------------------------------------------------------------------------
    def _thumb_size_changed(self, size: int) -> None:
        if self.size_slider.value() != size:
            self.size_slider.blockSignals(True)
            self.size_slider.setValue(size)
            self.size_slider.blockSignals(False)

    def restore_state(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 780)
        wanted = s.value("window/panels")
        if isinstance(wanted, (list, tuple)) and len(wanted) == 2:
            try:
                self._wanted = (max(0, int(wanted[0])), max(0, int(wanted[1])))
            except (TypeError, ValueError):
                pass
        try:
            size = int(s.value("grid/thumbnailSize", self.grid.thumbnail_size()))
        except (TypeError, ValueError):
            size = self.grid.thumbnail_size()
        self.grid.set_thumbnail_size(size)
        deeper = s.value("sidebar/includeSubfolders", True)
        self.sidebar.set_include_subfolders(deeper not in (False, "false", "0", 0))

    def save_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/panels", list(self._wanted))  # the widths wanted, not those a small window left
        s.setValue("grid/thumbnailSize", self.grid.thumbnail_size())
        s.setValue("sidebar/includeSubfolders", self.sidebar.include_subfolders())
        s.sync()

    def closeEvent(self, event) -> None:
        self.close_viewer()  # the window's own geometry, not the full screen's, is saved
        self.save_state()
        self.closing.emit()
        self.hide()  # gone at once; stopping the threads and saving the index may take a moment
        if self.on_close is not None:
            callback, self.on_close = self.on_close, None
            callback()
        if self._own_decoder:
            self.decoder.close()
        super().closeEvent(event)
