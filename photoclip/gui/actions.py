"""The window's QActions and what they do.

Everything a user can do from a menu, a shortcut, the sidebar, the grid's context menu or the
model banner ends up here; the work itself is queued on the ``Worker`` as a core job. File and
message dialogs go through the small module-level functions (``ask_folder``, ``ask_save_path``,
``run_dialog``, ``show_error``) so tests can replace them.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional

from PySide6.QtCore import QObject, QProcess, QStandardPaths, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QMessageBox, QWidget

from photoclip.core.paths import display_path, folder_name

from .photo_model import PathRole, PhotoIdRole
from .watching import PathBatch
from .workers import Job, freeze_heap, plain_imports, thaw_heap

log = logging.getLogger("photoclip.gui.actions")


# ---- replaceable dialogs (tests monkeypatch these) -----------------------------------------------
def ask_folder(parent: QWidget, caption: str = "Add a folder to the library") -> str:
    start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return QFileDialog.getExistingDirectory(parent, caption, start)


def ask_save_path(parent: QWidget, caption: str, default: str, name_filter: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, caption, default, name_filter)
    return path


def run_dialog(dialog: QDialog) -> bool:
    """Run a modal dialog; True when accepted."""
    return dialog.exec() == QDialog.DialogCode.Accepted


def show_error(parent: QWidget, title: str, message: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()  # window-modal, does not block the event loop


def confirm(parent: QWidget, title: str, message: str, ok_text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, message, QMessageBox.StandardButton.Cancel, parent)
    ok = box.addButton(ok_text, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(ok)
    box.exec()
    return box.clickedButton() is ok


def open_path(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> bool:
    """Reveal ``path`` in the system file manager (selects it where the platform allows)."""
    if sys.platform == "darwin":
        return QProcess.startDetached("open", ["-R", path])[0]
    if sys.platform == "win32":
        return QProcess.startDetached("explorer", ["/select,", os.path.normpath(path)])[0]
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


def _load_model(library, progress, control) -> None:
    """The model job: the model, then its search index (both hold the GIL in long C calls at
    times; better while the app says it is loading than at a first search)."""
    with plain_imports():  # torch and open_clip are imported here, the first time
        library.embedder(progress, control)
    library.open_index()


def _model_size_text(label: str) -> str:
    from photoclip.core.config import CURATED_MODELS

    for _name, model, _pre, size in CURATED_MODELS:
        if label.startswith(model):
            return f"about {size}"
    return ""


class Actions(QObject):
    """Creates the actions, menus and job wiring for one MainWindow."""

    def __init__(self, window, library, worker, browser, watcher=None, *, freeze_heap: bool = False) -> None:
        super().__init__(window)
        #: after a job that may have loaded the model, freeze the heap (see workers.freeze_heap)
        self.freeze_heap = freeze_heap
        self.window = window
        self.library = library
        self.worker = worker
        self.browser = browser
        self.watcher = watcher
        self.last_export: Optional[str] = None
        self._watch_job: Optional[Job] = None
        #: an index was asked for while no model was there: run it once a model loads
        self._index_when_model_ready = False
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
        w = self.window
        self.add_folder = self._action("&Add folder…", self.add_folder_dialog, QKeySequence.StandardKey.Open,
                                       "Add a folder of photos to the library")
        self.remove_folder = self._action("&Remove folder from library", self.remove_selected_folder,
                                          tip="Forget the selected folder's photos; the files are not touched")
        self.rescan = self._action("Re&scan library", lambda: self.index(None), "F5",
                                   "Look for new, changed and deleted photos")
        self.export = self._action("&Export tags as CSV…", self.export_csv, "Ctrl+E",
                                   "Save every photo's tags to a CSV file")
        self.preferences = self._action("&Preferences…", self.show_preferences, QKeySequence.StandardKey.Preferences)
        if self.preferences.shortcut().isEmpty():
            self.preferences.setShortcut(QKeySequence("Ctrl+,"))
        self.quit = self._action("&Quit", w.close, QKeySequence.StandardKey.Quit)
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.preferences.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.find = self._action("&Find", w.search_bar.focus, QKeySequence.StandardKey.Find, "Search photos")
        self.clear_search = self._action("Clear search", w.search_bar.clear)
        self.new_tag_set = self._action("&New tag set…", lambda: self.edit_tag_set(None), "Ctrl+T")
        self.edit_tag_set_action = self._action("&Edit tag set…", self.edit_current_tag_set)
        self.problems = self._action("Show &problems…", self.show_problems)
        self.open = self._action("&Open", self.open_selected, tip="Open in the system viewer")
        self.show_folder = self._action("Show in &folder", self.show_selected_in_folder)
        self.copy_path = self._action("&Copy path", self.copy_selected_path, QKeySequence.StandardKey.Copy)
        self.copy_path.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        w.grid.addAction(self.copy_path)
        self.find_similar = self._action("Find &similar", self.find_similar_selected, "Ctrl+Shift+F")
        self.zoom_in = self._action("&Larger thumbnails", w.grid.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self.zoom_out = self._action("&Smaller thumbnails", w.grid.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.about = self._action("&About photoclip", self.show_about)

        mb = w.menuBar()
        file_menu = mb.addMenu("&File")
        for a in (self.add_folder, self.remove_folder, self.rescan, None, self.export, None,
                  self.preferences, None, self.quit):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)
        edit_menu = mb.addMenu("&Edit")
        for a in (self.find, self.clear_search, None, self.copy_path):
            edit_menu.addSeparator() if a is None else edit_menu.addAction(a)
        view_menu = mb.addMenu("&View")
        for a in (self.zoom_in, self.zoom_out, None, self.problems):
            view_menu.addSeparator() if a is None else view_menu.addAction(a)
        photo_menu = mb.addMenu("&Photo")
        for a in (self.open, self.show_folder, self.copy_path, self.find_similar):
            photo_menu.addAction(a)
        tags_menu = mb.addMenu("&Tags")
        for a in (self.new_tag_set, self.edit_tag_set_action):
            tags_menu.addAction(a)
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.about)
        self._photo_actions = (self.open, self.show_folder, self.copy_path, self.find_similar)
        self._update_photo_actions()

    def _wire(self) -> None:
        w = self.window
        w.grid.customContextMenuRequested.connect(self._grid_menu)
        w.grid.activated.connect(lambda index: self.open_photo(index.data(PathRole)))
        w.grid.selectionModel().selectionChanged.connect(lambda *_: self._update_photo_actions())
        w.grid.model().modelReset.connect(self._update_photo_actions)
        w.foldersDropped.connect(self.add_folders)
        sb = w.sidebar
        sb.addFolderRequested.connect(self.add_folder_dialog)
        sb.removeFolderRequested.connect(self.remove_folder_path)
        sb.rescanFolderRequested.connect(lambda path: self.index([path]))
        sb.newTagSetRequested.connect(lambda: self.edit_tag_set(None))
        sb.editTagSetRequested.connect(self.edit_tag_set)
        sb.deleteTagSetRequested.connect(self.delete_tag_set)
        sb.showFolderRequested.connect(self.reveal_path)
        d = w.details
        d.openRequested.connect(self.open_photo)
        d.showInFolderRequested.connect(self.reveal_path)
        d.findSimilarRequested.connect(self.find_similar_to)
        st = w.status
        st.pauseToggled.connect(lambda paused: self.worker.pause() if paused else self.worker.resume())
        st.cancelRequested.connect(self.cancel_job)
        st.problemsRequested.connect(self.show_problems)
        if w.banner is not None:
            w.banner.downloadRequested.connect(self.download_model)
            w.banner.cancelRequested.connect(lambda: self.worker.cancel({"model"}))
            w.banner.localFileChosen.connect(self.use_local_model)
        self.worker.started.connect(self._job_started)
        self.worker.progress.connect(self._job_progress)
        self.worker.finished.connect(self._job_finished)
        self.worker.failed.connect(self._job_failed)
        self.worker.cancelled.connect(self._job_cancelled)
        self.worker.idle.connect(self._worker_idle)
        self._idle_message = "Ready"
        if self.watcher is not None:
            self.watcher.batchReady.connect(self.index_changed_paths)
            self.watcher.folderBack.connect(self.folder_back)
            self.watcher.folderGone.connect(self.folder_gone)
            self.watcher.foldersChanged.connect(self._watching_changed)
            self.browser.sidebarUpdated.connect(self._sync_watched_folders)

    # ---- selection helpers ---------------------------------------------------------------------
    def _selected(self):
        grid = self.window.grid
        idx = grid.currentIndex()
        if idx.isValid() and grid.selectionModel().isSelected(idx):
            return idx
        rows = grid.selectionModel().selectedIndexes()
        return rows[0] if rows else None

    def _selected_paths(self) -> list[str]:
        return [i.data(PathRole) for i in sorted(self.window.grid.selectionModel().selectedIndexes(),
                                                 key=lambda i: i.row())]

    def _update_photo_actions(self) -> None:
        has = bool(self.window.grid.selectionModel().selectedIndexes())
        for a in self._photo_actions:
            a.setEnabled(has)

    def _grid_menu(self, pos) -> None:
        grid = self.window.grid
        idx = grid.indexAt(pos)
        if idx.isValid() and not grid.selectionModel().isSelected(idx):
            grid.setCurrentIndex(idx)
        menu = QMenu(grid)
        if idx.isValid():
            for a in self._photo_actions:
                menu.addAction(a)
            menu.addSeparator()
        menu.addAction(self.zoom_in)
        menu.addAction(self.zoom_out)
        menu.exec(grid.viewport().mapToGlobal(pos))

    # ---- photo actions -------------------------------------------------------------------------
    def open_selected(self) -> None:
        for path in self._selected_paths()[:10]:
            if not self.open_photo(path):
                break  # one message is enough

    def show_selected_in_folder(self) -> None:
        idx = self._selected()
        if idx is not None:
            self.reveal_path(idx.data(PathRole))

    def open_photo(self, path: str) -> bool:
        """Open ``path`` in the desktop's viewer; without one, say so and offer its path."""
        if open_path(path):
            return True
        self._no_launcher(path, "open this photo")
        return False

    def reveal_path(self, path: str) -> bool:
        if show_in_folder(path):
            return True
        self._no_launcher(path, "show this folder")
        return False

    def _no_launcher(self, path: str, what: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "No application to open it",
                          f"This desktop has no application set up to {what}:\n{display_path(path)}\n\n"
                          "Copy its path to open it in a program of your choice.", parent=self.window)
        box.setObjectName("noLauncherBox")
        copy = box.addButton("Copy path", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def done(_button=None) -> None:
            if box.clickedButton() is copy:
                QGuiApplication.clipboard().setText(path)
                self.window.status.showMessage("Copied the path", 3000)
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

    # ---- folders and indexing ------------------------------------------------------------------
    def add_folder_dialog(self) -> None:
        path = ask_folder(self.window)
        if path:
            self.add_folders([path])

    def add_folders(self, paths: list[str]) -> Optional[Job]:
        paths = [p for p in paths if p]
        if not paths:
            return None
        lib = self.library
        names = ", ".join(folder_name(p) for p in paths)

        def run(progress, control):
            lib.add_folders(paths)
            return lib.index(paths, progress=progress, control=control, wait=True)

        return self._submit_index(Job("index", f"Indexing {names}", run, data=paths))

    def index(self, folders: Optional[list[str]] = None) -> Optional[Job]:
        lib = self.library
        what = "library" if not folders else ", ".join(folder_name(f) for f in folders)
        return self._submit_index(Job("index", f"Indexing {what}",
                                      lambda progress, control: lib.index(folders, progress=progress, control=control, wait=True),
                                      data=folders))

    def _submit_index(self, job: Job) -> Optional[Job]:
        if not self.browser.model_ready:
            # Folders are remembered now and indexed as soon as a model is there.
            self._index_when_model_ready = True
            if job.data:
                lib, paths = self.library, job.data
                self.worker.submit(Job("folders", "Adding folders", lambda p, c: lib.add_folders(paths)))
            self.window.status.showMessage("Download the image model (see the banner) to index these photos.", 8000)
            if self.window.banner is not None:
                self.window.banner.show_needed(self.library.spec.label, _model_size_text(self.library.spec.label))
            return None
        return self.worker.submit(job)

    def remove_selected_folder(self) -> None:
        value = self.window.sidebar.current_filter()
        if value and value[0] == "folder":
            self.remove_folder_path(value[1])

    def remove_folder_path(self, path: str) -> None:
        if not confirm_remove(self.window, path):
            return
        lib = self.library
        self.worker.cancel({"index", "watch"})  # do not keep indexing what is being removed
        self.worker.submit(Job("remove", f"Removing {folder_name(path)}",
                               lambda p, c: lib.remove_folder(path), data=path))
        if self.window.sidebar.current_filter() == ("folder", path):
            self.window.sidebar.select(None)

    # ---- watched folders (signals from the LibraryWatcher, delivered on the GUI thread) ----------
    def _sync_watched_folders(self) -> None:
        self.watcher.set_folders([f.path for f in self.browser.folders])
        self._watching_changed()

    def _watching_changed(self, *_args) -> None:
        folders = self.watcher.folders
        offline = [f.path for f in self.browser.folders if not f.online and f.path in folders]
        self.window.status.set_watching(len(folders), [display_path(p) for p in offline])

    def index_changed_paths(self, paths: list[str]) -> Optional[Job]:
        """A batch of changed paths from the watcher: ONE background job; while that job waits in
        the queue, later batches join it instead of queueing more jobs."""
        paths = [p for p in paths if p]
        if not paths:
            return None
        if not self.browser.model_ready:
            # Without the model nothing can be embedded; the reconcile that runs once the model
            # is there (download / local file) finds these changes.
            log.info("model not ready; %d changed path(s) left for the rescan once it loads", len(paths))
            self._index_when_model_ready = True
            return None
        job = self._watch_job
        if job is not None and not job.control.cancelled and job.data.add(paths):
            log.debug("%d changed path(s) joined the queued %r", len(paths), job)
            return job
        batch = PathBatch(set(paths))
        lib = self.library

        def run(progress, control):
            return lib.index_paths(batch.take(), progress=progress, control=control, wait=True)

        self._watch_job = self.worker.submit(Job("watch", "Updating changed photos", run, data=batch))
        return self._watch_job

    def folder_back(self, folder: str) -> Optional[Job]:
        """A folder that was offline is back: reconcile it with the disk."""
        log.info("%s is back; reconciling it", folder)
        return self.index([folder])

    def folder_gone(self, folder: str) -> Job:
        """A watched folder became unreachable: its photos are kept, shown as offline."""
        lib = self.library

        def run(progress, control):
            lib.mark_folder_offline(folder)
            return folder

        return self.worker.submit(Job("offline", f"{folder_name(folder)} "
                                      "is offline", run, data=folder))

    def cancel_job(self) -> None:
        self.window.status.set_cancelling()
        self.worker.cancel()

    # ---- tag sets -------------------------------------------------------------------------------
    def edit_current_tag_set(self) -> None:
        value = self.window.sidebar.current_filter()
        if value and value[0] == "tag":
            self.edit_tag_set(value[1][0])
        elif self.browser.tag_sets:
            self.edit_tag_set(self.browser.tag_sets[0].name)

    def edit_tag_set(self, name: Optional[str]) -> None:
        try:
            from .tagset_editor import TagSetEditor
        except ImportError as exc:  # pragma: no cover - ships with the app
            show_error(self.window, "Tag sets", f"The tag set editor is not available: {exc}")
            return
        existing = {ts.name for ts in self.browser.tag_sets}
        current = next((ts for ts in self.browser.tag_sets if ts.name == name), None) if name else None
        dialog = TagSetEditor(current, existing - ({name} if name else set()), self.window)
        deleted: list[str] = []
        dialog.deleteRequested.connect(lambda n: (deleted.append(n), dialog.reject()))
        accepted = run_dialog(dialog)
        if deleted:
            self.delete_tag_set(deleted[0], ask=False)
            return
        if not accepted:
            return
        ts = dialog.result_tag_set()
        self.save_tag_set(ts, old_name=name)

    def save_tag_set(self, ts, old_name: Optional[str] = None) -> Job:
        lib = self.library
        ready = self.browser.model_ready

        def run(progress, control):
            saved = lib.save_tag_set(ts, old_name=old_name)
            if not ready or not saved.enabled:
                return 0
            return lib.tag([saved.name], retag=True, progress=progress, control=control)

        return self.worker.submit(Job("tag", f"Tagging with {ts.name}", run, data=ts.name))

    def delete_tag_set(self, name: str, ask: bool = True) -> None:
        if ask and not confirm(self.window, "Delete tag set",
                               f"Delete the tag set “{name}” and its tags? Photos are not touched.", "Delete"):
            return
        lib = self.library
        self.worker.submit(Job("tagset-delete", f"Deleting tag set {name}", lambda p, c: lib.delete_tag_set(name)))
        value = self.window.sidebar.current_filter()
        if value and value[0] == "tag" and value[1][0] == name:
            self.window.sidebar.select(None)

    # ---- export ---------------------------------------------------------------------------------
    def export_csv(self) -> Optional[Job]:
        default = self.last_export or os.path.join(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or os.path.expanduser("~"),
            "photoclip-tags.csv")
        path = ask_save_path(self.window, "Export tags as CSV", default, "CSV files (*.csv);;All files (*)")
        if not path:
            return None
        if not os.path.splitext(path)[1]:
            path += ".csv"
        self.last_export = path
        lib = self.library
        return self.worker.submit(Job("export", f"Exporting tags to {display_path(os.path.basename(path))}",
                                      lambda p, c: lib.export_tags(path), data=path))

    # ---- model and preferences ------------------------------------------------------------------
    def load_model(self, quiet: bool = True) -> Job:
        lib = self.library
        return self.worker.submit(Job("model", "Loading the image model…",
                                      lambda progress, control: _load_model(lib, progress, control),
                                      data="load" if quiet else "download"))

    def download_model(self) -> None:
        self.window.banner.show_progress(0, None)
        lib = self.library
        self.worker.submit(Job("model", f"Downloading {lib.spec.label}…",
                               lambda progress, control: _load_model(lib, progress, control), data="download"))

    def use_local_model(self, model: str, weights: str) -> None:
        lib = self.library
        arch = model or lib.spec.model

        def run(progress, control):
            thaw_heap()
            lib.set_model(arch, weights)
            _load_model(lib, progress, control)

        self.worker.submit(Job("model", "Loading the local model file…", run, data="download"))

    def show_preferences(self) -> None:
        try:
            from .preferences import PreferencesDialog
        except ImportError as exc:  # pragma: no cover
            show_error(self.window, "Preferences", f"Preferences are not available: {exc}")
            return
        import copy

        lib = self.library
        current = copy.deepcopy(lib.settings)
        # The model in use (it may come from the command line rather than the settings file).
        current.model, current.pretrained = lib.spec.model, lib.spec.pretrained
        dialog = PreferencesDialog(current, self.window)
        if not run_dialog(dialog):
            return
        new = dialog.result_settings()
        old = (lib.spec.model, lib.spec.pretrained)
        changed_model = (new.model, new.pretrained) != old

        def run(progress, control):
            thaw_heap()  # the model may be dropped
            lib.save_settings(new)
            if changed_model:
                _load_model(lib, progress, control)
                return lib.index(progress=progress, control=control, wait=True)
            return None

        if changed_model:
            self.worker.cancel({"index", "tag", "watch"})
        self.worker.submit(Job("settings", "Switching the image model…" if changed_model else "Saving preferences",
                               run, data=changed_model))

    # ---- problems and about ---------------------------------------------------------------------
    def show_problems(self) -> None:
        try:
            from .problems_dialog import ProblemsDialog
        except ImportError as exc:  # pragma: no cover
            show_error(self.window, "Problems", f"Cannot show problems: {exc}")
            return
        dialog = ProblemsDialog(list(self.browser.problems), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_about(self) -> None:
        from photoclip import __version__

        QMessageBox.about(self.window, "About photoclip",
                          f"<b>photoclip {__version__}</b><p>Search and tag your photos by what is in them, "
                          "on your own machine.</p><p>Model: " + display_path(self.library.spec.label) + "</p>")

    # ---- job reporting --------------------------------------------------------------------------
    def _job_started(self, job: Job) -> None:
        self.window.status.set_busy(job.title)

    def _job_progress(self, job: Job, p) -> None:
        self.window.status.set_progress(p)
        if job.kind == "model" and p.phase == "downloading" and self.window.banner is not None:
            self.window.banner.show_progress(p.done, p.total or None)
        self.browser.job_progress(job, p)

    #: jobs that may load the model
    LOADS_MODEL = frozenset({"model", "settings", "index"})

    def _job_finished(self, job: Job, result) -> None:
        if self.freeze_heap and job.kind in self.LOADS_MODEL:
            freeze_heap()
        msg = "Ready"
        if job.kind == "index" and result is not None and hasattr(result, "summary"):
            msg = "Indexed: " + result.summary()
        elif job.kind == "watch" and result is not None:

            msg = "Updated: " + (result.summary(changes_only=True) or "no changes")
        elif job.kind == "offline":
            msg = f"{display_path(job.data)} is offline; its photos are kept until it comes back"
        elif job.kind == "export":
            msg = f"Exported {result:,} rows to {display_path(job.data)}"
        elif job.kind == "tag":
            msg = f"Tag set “{job.data}” saved" + (f"; tagged {result:,} photos" if result else "")
        elif job.kind == "remove":
            msg = f"Removed {display_path(job.data)} from the library (files untouched)"
        elif job.kind == "model":
            self.browser.set_model_ready(True)
            if self.window.banner is not None:
                self.window.banner.hide_banner()
            msg = "Image model ready"
            # Folders added while there was no model (or while it loaded) are indexed now; the
            # sidebar's folder count may not know of them yet, the flag does.
            if self._index_when_model_ready or (job.data == "download" and self.browser.folder_count):
                self._index_when_model_ready = False
                self.index(None)
        elif job.kind == "settings":
            msg = "Preferences saved"
            if self.watcher is not None:
                watch = bool(getattr(self.library.settings, "watch", True))
                turned_on = watch and not self.watcher.enabled
                self.watcher.set_enabled(watch)
                self._sync_watched_folders()
                if turned_on and self.browser.folder_count and not job.data:
                    self.index(None)  # what changed while watching was off
        self._idle_message = msg
        self.browser.job_finished(job, result)

    def _job_failed(self, job: Job, message: str) -> None:
        self._idle_message = f"{job.title.rstrip('…')} failed: {message}"
        if job.kind == "model" and self.window.banner is not None:
            self.browser.set_model_ready(False)
            self.window.banner.show_error(message)
        else:
            show_error(self.window, job.title.rstrip("…"), message)
        self.browser.job_finished(job, None)

    def _job_cancelled(self, job: Job) -> None:
        self._idle_message = f"{job.title.rstrip('…')} — cancelled"
        if job.kind == "model" and self.window.banner is not None and job.data == "download":
            self.window.banner.show_needed(self.library.spec.label, _model_size_text(self.library.spec.label))
        self.browser.job_finished(job, None)

    def _worker_idle(self) -> None:
        self.window.status.set_idle(self._idle_message)


def confirm_remove(parent: QWidget, path: str) -> bool:
    return confirm(parent, "Remove folder",
                   f"Remove {display_path(path)} from the library?\n\nIts photos disappear from photoclip; "
                   "the files on disk are not touched.", "Remove")
