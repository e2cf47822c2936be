"""The window's menus, shortcuts and context menus, and what they ask the user.

Everything a user can do from a menu, a shortcut, the sidebar or the grid's context menu starts
here; what runs in the background is handed to ``LibraryJobs``. File and message dialogs go
through ``dialogs`` so tests can replace them.
"""

from __future__ import annotations

import copy
import html
import logging
import os
from typing import Optional

from PySide6.QtCore import QObject, QStandardPaths, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from photoclip.core.paths import display_path

from . import dialogs
from .details import REMOVE, UNDO
from .photo_model import PathRole, PhotoIdRole
from .preferences import PreferencesDialog
from .problems_dialog import ProblemsDialog
from .tagset_editor import TagSetEditor

log = logging.getLogger("photoclip.gui.actions")


#: "Open" on many photos opens this many in the system viewer; "Show in folder" this many folders
OPEN_AT_MOST = 10
SHOW_FOLDERS_AT_MOST = 5


def _photos(n: int) -> str:
    return "this photo" if n == 1 else f"these {n:,} photos"


def _precision_paragraph(in_use: Optional[str]) -> str:
    return f"<p>Precision: {html.escape(in_use)}</p>" if in_use else ""


class Actions(QObject):
    """Creates the actions and menus of one MainWindow; background work goes to ``jobs``."""

    def __init__(self, window, library, jobs, browser) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.jobs = jobs
        self.browser = browser
        self.last_export: Optional[str] = None
        self._make_actions()
        self._wire()

    # ---- actions -------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, self.window)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(a)  # shortcuts work wherever focus is
        return a

    def _make_actions(self) -> None:
        w, jobs = self.window, self.jobs
        self.add_folder = self._action("&Add folder…", self.add_folder_dialog, QKeySequence.StandardKey.Open,
                                       "Add a folder of photos to the library")
        self.remove_folder = self._action("&Remove folder from library", self.remove_selected_folder,
                                          tip="Forget the selected folder's photos; the files are not touched")
        self.rescan = self._action("Re&scan library", lambda: jobs.index(None), "F5",
                                   "Look for new, changed and deleted photos")
        self.export = self._action("&Export tags as CSV…", self.export_csv, "Ctrl+E",
                                   "Save every photo's tags to a CSV file")
        self.export_xmp = self._action("&Write tags to XMP sidecars…", self.write_xmp_sidecars,
                                       tip="Write the tags into each photo's XMP sidecar, where Lightroom, "
                                           "digiKam and darktable read keywords; the photos are not touched")
        self.preferences = self._action("&Preferences…", self.show_preferences, QKeySequence.StandardKey.Preferences)
        if self.preferences.shortcut().isEmpty():
            self.preferences.setShortcut(QKeySequence("Ctrl+,"))
        self.quit = self._action("&Quit", w.close, QKeySequence.StandardKey.Quit)
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.preferences.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.find = self._action("&Find", self.find_photos, QKeySequence.StandardKey.Find, "Search photos")
        self.clear_search = self._action("Clear search", lambda: (w.search_bar.clear(), self.browser.stop_like_tag()))
        self.new_tag_set = self._action("&New tag set…", lambda: self.edit_tag_set(None), "Ctrl+T")
        self.edit_tag_set_action = self._action("&Edit tag set…", self.edit_current_tag_set)
        self.find_like_tag = self._action("Find &more like these", self.find_like_current_tag,
                                          tip="The photos that look most like the tag chosen in the sidebar, "
                                              "best first, to confirm or reject")
        self.problems = self._action("Show &problems…", self.show_problems)
        self.view = self._action("&View", lambda: w.open_viewer(), tip="Show the photo large in photoclip (Enter)")
        self.open = self._action("&Open", self.open_selected, tip="Open in the system viewer")
        self.show_folder = self._action("Show in &folder", self.show_selected_in_folder)
        self.copy_path = self._action("&Copy path", self.copy_selected_path, QKeySequence.StandardKey.Copy)
        self.copy_path.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        w.grid.addAction(self.copy_path)
        w.viewer.addAction(self.copy_path)  # Ctrl+C copies the photo being viewed, too
        self.find_similar = self._action("Find &similar", self.find_similar_selected, "Ctrl+Shift+F")
        # many photos at once: these act on the grid's selection
        self.select_all = self._grid_action("Select &all", w.grid.selectAll, QKeySequence.StandardKey.SelectAll)
        self.select_none = self._grid_action("Select &none", w.grid.clearSelection, "Ctrl+Shift+A")
        self.tag_as = self._action("&Tag as…", self.tag_selected, "Ctrl+Shift+T",
                                   "Add a tag to the selected photos (where the model guessed it, the guess "
                                   "is confirmed)")
        self.untag = self._action("&Remove tag…", self.untag_selected, "Ctrl+Shift+R",
                                  "Take a tag off the selected photos (where the model guessed it, the guess "
                                  "is rejected)")
        self.export_selection = self._action("E&xport their tags as CSV…", self.export_selected_csv,
                                             tip="Save the selected photos' tags to a CSV file")
        self.trash = self._grid_action("Move to &trash…", self.trash_selected, QKeySequence.StandardKey.Delete,
                                       "Move the selected photos to the system's trash")
        self.find_duplicates = self._action("Find &duplicates…", self.show_duplicates,
                                            tip="Exact copies and near-duplicates, side by side, the rest to the trash")
        self.zoom_in = self._action("&Larger thumbnails", w.grid.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self.zoom_out = self._action("&Smaller thumbnails", w.grid.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.about = self._action("&About photoclip", self.show_about)
        self.include_subfolders = QAction("Include &subfolders", w)
        self.include_subfolders.setCheckable(True)
        self.include_subfolders.setChecked(w.sidebar.include_subfolders())
        self.include_subfolders.setStatusTip("A folder in the sidebar shows (and counts) the photos of its subfolders too")
        self.include_subfolders.toggled.connect(w.sidebar.set_include_subfolders)
        w.sidebar.includeSubfoldersChanged.connect(self.include_subfolders.setChecked)

        mb = w.menuBar()
        file_menu = mb.addMenu("&File")
        for a in (self.add_folder, self.remove_folder, self.rescan, None, self.export, self.export_xmp, None,
                  self.preferences, None, self.quit):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)
        edit_menu = mb.addMenu("&Edit")
        for a in (self.find, self.clear_search, None, self.select_all, self.select_none, None, self.copy_path,
                  None, self.find_duplicates):
            edit_menu.addSeparator() if a is None else edit_menu.addAction(a)
        view_menu = mb.addMenu("&View")
        for a in (self.zoom_in, self.zoom_out, None, self.include_subfolders, None, self.problems):
            view_menu.addSeparator() if a is None else view_menu.addAction(a)
        photo_menu = mb.addMenu("&Photo")
        for a in self._menu_photo_actions():
            photo_menu.addSeparator() if a is None else photo_menu.addAction(a)
        tags_menu = mb.addMenu("&Tags")
        for a in (self.new_tag_set, self.edit_tag_set_action, None, self.find_like_tag):
            tags_menu.addSeparator() if a is None else tags_menu.addAction(a)
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.about)
        self._photo_actions = (self.view, self.open, self.show_folder, self.copy_path, self.find_similar,
                               self.tag_as, self.untag, self.export_selection, self.trash)
        self._update_photo_actions()

    def _grid_action(self, text: str, slot, shortcut, tip: str = "") -> QAction:
        """An action whose shortcut works while the grid has focus (Ctrl+A and Delete keep their
        meaning in the search field)."""
        a = self._action(text, slot, shortcut, tip)
        a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.window.removeAction(a)  # else the whole window is its widget: Delete in the sidebar would trash
        self.window.grid.addAction(a)
        return a

    def _menu_photo_actions(self) -> tuple:
        return (self.view, self.open, self.show_folder, self.copy_path, self.find_similar, None,
                self.tag_as, self.untag, self.export_selection, None, self.trash)

    def _wire(self) -> None:
        w = self.window
        w.grid.customContextMenuRequested.connect(self._grid_menu)
        w.grid.activated.connect(lambda index: w.open_viewer(index.row()))  # double-click, Enter
        w.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_photo_actions())
        w.grid.model().modelReset.connect(self._update_photo_actions)
        w.foldersDropped.connect(self.jobs.add_folders)
        sb = w.sidebar
        sb.addFolderRequested.connect(self.add_folder_dialog)
        sb.removeFolderRequested.connect(self.remove_folder_path)
        sb.rescanFolderRequested.connect(lambda path: self.jobs.index([path]))
        sb.newTagSetRequested.connect(lambda: self.edit_tag_set(None))
        sb.editTagSetRequested.connect(self.edit_tag_set)
        sb.deleteTagSetRequested.connect(self.delete_tag_set)
        sb.showFolderRequested.connect(self.reveal_path)
        sb.findLikeTagRequested.connect(self.find_like)
        d = w.details
        d.openRequested.connect(self.open_photo)
        d.showInFolderRequested.connect(self.reveal_path)
        d.findSimilarRequested.connect(self.find_similar_to)
        d.tagSelectionRequested.connect(self.tag_selected)
        d.trashSelectionRequested.connect(self.trash_selected)
        d.tagDecisionRequested.connect(self.decide_photo_tag)
        w.status.problemsRequested.connect(self.show_problems)

    def find_photos(self) -> None:
        self.window.close_viewer()  # the search bar is over the grid
        self.window.search_bar.focus()

    # ---- selection helpers ---------------------------------------------------------------------
    def _selected(self):
        grid = self.window.grid
        idx = grid.currentIndex()
        if idx.isValid() and grid.selectionModel().isSelected(idx):
            return idx
        rows = grid.selectionModel().selectedIndexes()
        return rows[0] if rows else None

    def _selected_paths(self) -> list[str]:
        """The selected photos' paths, in grid order."""
        grid = self.window.grid
        return grid.model().paths_of(grid.selected_rows())

    def _update_photo_actions(self) -> None:
        count = self.window.grid.selected_count()
        for a in self._photo_actions:
            a.setEnabled(count > 0)
        self.find_similar.setEnabled(count == 1)

    def _grid_menu(self, pos) -> None:
        grid = self.window.grid
        idx = grid.indexAt(pos)
        if idx.isValid() and not grid.selectionModel().isSelected(idx):
            grid.setCurrentIndex(idx)
        menu = QMenu(grid)
        if idx.isValid():
            for a in self._menu_photo_actions():
                menu.addSeparator() if a is None else menu.addAction(a)
            menu.addSeparator()
            menu.addAction(self.select_all)
        menu.addAction(self.zoom_in)
        menu.addAction(self.zoom_out)
        menu.exec(grid.viewport().mapToGlobal(pos))

    # ---- photo actions -------------------------------------------------------------------------
    def open_selected(self) -> None:
        paths = self._selected_paths()
        for path in paths[:OPEN_AT_MOST]:
            if not self.open_photo(path):
                return  # one message is enough
        if len(paths) > OPEN_AT_MOST:
            self.window.status.showMessage(f"Opened the first {OPEN_AT_MOST} of {len(paths):,} selected photos", 5000)

    def show_selected_in_folder(self) -> None:
        """The folder of each selected photo (a few at most), the photo selected where the platform can."""
        first_of_folder: dict[str, str] = {}
        for path in self._selected_paths():
            first_of_folder.setdefault(os.path.dirname(path), path)
        for path in list(first_of_folder.values())[:SHOW_FOLDERS_AT_MOST]:
            if not self.reveal_path(path):
                return

    # ---- tags and trash for the selection ---------------------------------------------------------
    def tag_selected(self) -> None:
        paths = self._selected_paths()
        if not paths:
            return
        label = dialogs.ask_label(self.window, "Tag as", f"Tag {_photos(len(paths))} as:", self.browser.labels,
                                  "Tag")
        if label:
            self.jobs.add_tag(label, paths)

    def untag_selected(self) -> None:
        paths = self._selected_paths()
        if not paths:
            return
        label = dialogs.ask_label(self.window, "Remove tag", f"Take this tag off {_photos(len(paths))}:",
                                  self.browser.labels, "Remove")
        if label:
            self.jobs.remove_tag(label, paths)

    def decide_photo_tag(self, path: str, tag_set: str, label: str, what: str):
        """A button beside a tag in the details panel: confirm or reject a guess, or take off a
        tag that is the user's."""
        if what == REMOVE:
            return self.jobs.remove_tag(label, [path], tag_set)
        if what == UNDO:
            return self.jobs.decide_tag(tag_set, label, [path], None)
        return self.jobs.decide_tag(tag_set, label, [path], what)

    def export_selected_csv(self):
        paths = self._selected_paths()
        if not paths:
            return None
        path = self._ask_csv_path("Export the selected photos' tags as CSV", "photoclip-selection-tags.csv")
        return self.jobs.export_tags(path, paths) if path else None

    def trash_selected(self):
        paths = self._selected_paths()
        if not paths or not dialogs.confirm_trash(self.window, len(paths)):
            return None
        return self.jobs.trash(paths)

    def open_photo(self, path: str) -> bool:
        """Open ``path`` in the desktop's viewer; without one, say so and offer its path."""
        if dialogs.open_path(path):
            return True
        self._no_launcher(path, "open this photo")
        return False

    def reveal_path(self, path: str) -> bool:
        if dialogs.show_in_folder(path):
            return True
        self._no_launcher(path, "show this folder")
        return False

    def _no_launcher(self, path: str, what: str) -> None:
        """Say in the window that the desktop cannot open ``path``; offer photoclip's own viewer
        (for a photo in the grid) and its path."""
        self.window.status.showMessage(f"No application on this desktop can {what}", 10_000)
        box = QMessageBox(QMessageBox.Icon.Information, "No application to open it",
                          f"This desktop has no application set up to {what}:\n{display_path(path)}\n\n"
                          "View it in photoclip, or copy its path to open it in a program of your choice.",
                          parent=self.window)
        box.setObjectName("noLauncherBox")
        row = self.window.model.row_for_path(path)
        view_button = box.addButton("View in photoclip", QMessageBox.ButtonRole.AcceptRole) if row >= 0 else None
        copy_button = box.addButton("Copy path", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setDefaultButton(view_button or copy_button)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def done(_button=None) -> None:
            clicked = box.clickedButton()
            if clicked is copy_button:
                QGuiApplication.clipboard().setText(path)
                self.window.status.showMessage("Copied the path", 3000)
            elif view_button is not None and clicked is view_button:
                found = self.window.model.row_for_path(path)  # the grid may have changed meanwhile
                if found >= 0:
                    self.window.open_viewer(found)
        box.finished.connect(done)
        box.open()  # window-modal, never blocks the event loop

    def copy_selected_path(self) -> None:
        paths = self._selected_paths()
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))
            self.window.status.showMessage(f"Copied {len(paths)} path{'s' if len(paths) > 1 else ''}", 3000)

    def find_similar_selected(self) -> None:
        idx = self._selected()
        if idx is not None:
            self.find_similar_to(idx.data(PhotoIdRole), idx.data(PathRole))

    def find_similar_to(self, photo_id: int, path: Optional[str] = None) -> None:
        path = path or self.window.details.path
        if path:
            self.browser.find_similar(photo_id, path)

    def find_like_current_tag(self) -> None:
        tag = self.window.sidebar.current_filter().tag
        if tag is None:
            self.window.status.showMessage("Choose a tag in the sidebar first", 5000)
        else:
            self.find_like(*tag)

    def find_like(self, tag_set: str, label: str) -> None:
        self.browser.find_like_tag(tag_set, label)
        self.window.status.showMessage(f"Photos most like “{label}” ({tag_set}) that you have not tagged, "
                                       "confirmed or rejected yet, best first", 10_000)

    # ---- folders ------------------------------------------------------------------------------
    def add_folder_dialog(self) -> None:
        path = dialogs.ask_folder(self.window)
        if path:
            self.jobs.add_folders([path])

    def remove_selected_folder(self) -> None:
        folder = self.window.sidebar.selected_library_folder() or self.window.sidebar.current_filter().folder
        if folder is not None:
            self.remove_folder_path(folder)

    def remove_folder_path(self, path: str) -> None:
        if not dialogs.confirm_remove(self.window, path):
            return
        self.jobs.remove_folder(path)
        current = self.window.sidebar.current_filter()
        shown = current.folder or current.directory  # the folder in view, or a folder inside it
        gone = os.path.abspath(path)
        if shown is not None and (shown == gone or shown.startswith(gone.rstrip(os.sep) + os.sep)):
            self.window.sidebar.select(None)

    # ---- tag sets -------------------------------------------------------------------------------
    def edit_current_tag_set(self) -> None:
        """Edit the set of the tag in view; with none in view, ask which set (none yet: a new one)."""
        tag = self.window.sidebar.current_filter().tag
        if tag is not None:
            self.edit_tag_set(tag[0])
        elif not self.browser.tag_sets:
            self.edit_tag_set(None)
        else:
            name = dialogs.ask_choice(self.window, "Edit tag set", "Which tag set?",
                                      [ts.name for ts in self.browser.tag_sets])
            if name:
                self.edit_tag_set(name)

    def edit_tag_set(self, name: Optional[str]) -> None:
        existing = {ts.name for ts in self.browser.tag_sets}
        current = next((ts for ts in self.browser.tag_sets if ts.name == name), None) if name else None
        dialog = TagSetEditor(current, existing - ({name} if name else set()), self.window)
        deleted: list[str] = []
        dialog.deleteRequested.connect(lambda n: (deleted.append(n), dialog.reject()))
        accepted = dialogs.run_dialog(dialog)
        if deleted:
            self.delete_tag_set(deleted[0], ask=False)
            return
        if not accepted:
            return
        self.jobs.save_tag_set(dialog.result_tag_set(), old_name=name)

    def delete_tag_set(self, name: str, ask: bool = True) -> None:
        if ask and not dialogs.confirm(self.window, "Delete tag set",
                                       f"Delete the tag set “{name}” and its tags? Photos are not touched.", "Delete"):
            return
        self.jobs.delete_tag_set(name)
        tag = self.window.sidebar.current_filter().tag
        if tag is not None and tag[0] == name:
            self.window.sidebar.select(None)

    # ---- export ---------------------------------------------------------------------------------
    def export_csv(self):
        path = self._ask_csv_path("Export tags as CSV", "photoclip-tags.csv")
        return self.jobs.export_tags(path) if path else None

    def _ask_csv_path(self, caption: str, name: str) -> str:
        folder = (os.path.dirname(self.last_export) if self.last_export else
                  QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
                  or os.path.expanduser("~"))
        default = self.last_export if self.last_export and name == "photoclip-tags.csv" else os.path.join(folder, name)
        path = dialogs.ask_save_path(self.window, caption, default, "CSV files (*.csv);;All files (*)")
        if not path:
            return ""
        if not os.path.splitext(path)[1]:
            path += ".csv"
        self.last_export = path
        return path

    def write_xmp_sidecars(self, ask: bool = True):
        settings = self.library.settings
        name = "photo.jpg.xmp (darktable, digiKam)" if settings.xmp_naming == "darktable" else "photo.xmp (Lightroom)"
        if ask and not dialogs.confirm(
                self.window, "Write tags to XMP sidecars",
                f"Write every photo's tags into an XMP sidecar beside it, named {name}?\n\n"
                f"Confirmed tags and tags you added are written, auto-tags scoring at least "
                f"{settings.xmp_min_score:g}; rejected tags never. A sidecar already there is merged: its "
                f"ratings, labels, develop settings and keywords are kept. The photos themselves are not touched.",
                "Write sidecars"):
            return None
        return self.jobs.export_xmp()

    # ---- preferences, problems and about -------------------------------------------------------
    def show_preferences(self) -> None:
        lib = self.library
        current = copy.deepcopy(lib.settings)
        # The model in use (it may come from the command line rather than the settings file).
        current.model, current.pretrained = lib.spec.model, lib.spec.pretrained
        dialog = PreferencesDialog(current, self.window, precision_in_use=lib.precision_in_use())
        if dialogs.run_dialog(dialog):
            self.jobs.apply_settings(dialog.result_settings())

    def show_problems(self) -> None:
        dialog = ProblemsDialog(list(self.browser.problems), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_duplicates(self):
        """The Duplicates window (one at a time; asking again brings it to the front)."""
        from .duplicates_view import DuplicatesDialog

        dialog = next((d for d in self.window.findChildren(DuplicatesDialog) if d.isVisible()), None)
        if dialog is not None:
            dialog.setWindowState(dialog.windowState() & ~Qt.WindowState.WindowMinimized)
            dialog.activateWindow()
            return dialog
        dialog = DuplicatesDialog(self.jobs, self.window.thumbnails, self.window, near=self.browser.model_ready)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_about(self) -> None:
        from photoclip import __version__

        QMessageBox.about(self.window, "About photoclip",
                          f"<b>photoclip {__version__}</b><p>Search and tag your photos by what is in them, "
                          "on your own machine.</p><p>Model: " + display_path(self.library.spec.label) + "</p>"
                          + _precision_paragraph(self.library.precision_in_use()))
