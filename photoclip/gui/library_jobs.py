"""The work the window asks of the library, each job with its own continuation and status text.

Every long thing the user starts (add a folder, rescan, a watcher's batch, save a tag set, export,
load or download the model, switch preferences) is one method here: it queues a core call on the
``Worker`` and says, in the same place, what the window does with the result, a failure or a
cancel. The status bar follows every job (title, progress, what happened).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject

from photoclip.core.paths import display_path, folder_name

from . import dialogs
from .watching import PathBatch
from .workers import Job, JobGroup, freeze_heap, plain_imports, thaw_heap

log = logging.getLogger("photoclip.gui.library_jobs")


def _load_model(library, progress, control) -> None:
    """The model job: the model, then its search index (both hold the GIL in long C calls at
    times; better while the app says it is loading than at a first search). Once loaded, the
    model also answers ``photoclip search`` on this library (core/warm.py, until it closes)."""
    with plain_imports():  # torch and open_clip are imported here, the first time
        library.embedder(progress, control)
    library.open_index()
    library.serve_warm()


def model_size_text(label: str) -> str:
    from photoclip.core.config import CURATED_MODELS

    for _name, model, _pre, size in CURATED_MODELS:
        if label.startswith(model):
            return f"about {size}"
    return ""


class LibraryJobs(QObject):
    """Starts the library's background jobs for one window and reports on them."""

    def __init__(self, window, library, worker, browser, watcher=None, *, freeze_heap: bool = False) -> None:
        super().__init__(window)
        #: after a job that may have loaded the model, freeze the heap (see workers.freeze_heap)
        self.freeze_heap = freeze_heap
        self.window = window
        self.library = library
        self.worker = worker
        self.browser = browser
        self.watcher = watcher
        self._watch_job: Optional[Job] = None
        self._watch_batch: Optional[PathBatch] = None
        #: an index was asked for while no model was there: run it once a model loads
        self._index_when_model_ready = False
        status = window.status
        worker.started.connect(lambda job: status.set_busy(job.title))
        worker.progress.connect(lambda _job, p: status.set_progress(p))
        worker.idle.connect(lambda: status.set_idle(worker.idle_text))
        status.pauseToggled.connect(lambda paused: worker.pause() if paused else worker.resume())
        status.cancelRequested.connect(self.cancel)
        window.banner.downloadRequested.connect(self.download_model)
        window.banner.cancelRequested.connect(lambda: worker.cancel({JobGroup.MODEL}))
        window.banner.localFileChosen.connect(self.use_local_model)
        if watcher is not None:
            watcher.batchReady.connect(self.index_changed_paths)
            watcher.folderBack.connect(self.folder_back)
            watcher.folderGone.connect(self.folder_gone)
            watcher.foldersChanged.connect(self._watching_changed)
            browser.sidebarUpdated.connect(self._sync_watched_folders)

    def submit(self, title: str, run: Callable, *, done: Optional[Callable[[Any], Optional[str]]] = None,
               photos_change: bool = True, live: bool = False, group: Optional[JobGroup] = None,
               failed: Optional[Callable[[str], Optional[str]]] = None,
               cancelled: Optional[Callable[[], Optional[str]]] = None,
               progress: Optional[Callable] = None) -> Job:
        """Queue ``run(progress, control)``; whatever the outcome, the window is refreshed after
        (the grid too when ``photos_change``; while ``live``, also as photos arrive). A failure
        not handled by ``failed`` is shown in a message box."""
        browser = self.browser

        def after(text: Optional[str]) -> Optional[str]:
            browser.after_job(photos_changed=photos_change)
            return text

        def on_progress(p) -> None:
            if progress is not None:
                progress(p)
            if live:
                browser.live_progress(p)

        def on_failed(message: str) -> Optional[str]:
            if failed is not None:
                return after(failed(message))
            dialogs.show_error(self.window, title.rstrip("…"), message)
            return after(None)

        return self.worker.submit(Job(
            title, run, group=group, on_progress=on_progress, on_failed=on_failed,
            on_done=lambda result: after(done(result) if done is not None else None),
            on_cancelled=lambda: after(cancelled() if cancelled is not None else None)))

    def _model_may_be_loaded(self) -> None:
        if self.freeze_heap:
            freeze_heap()

    def cancel(self) -> None:
        self.window.status.set_cancelling()
        self.worker.cancel()

    # ---- folders and indexing ------------------------------------------------------------------
    def add_folders(self, paths: list[str]) -> Optional[Job]:
        paths = [p for p in paths if p]
        if not paths:
            return None
        lib = self.library

        def run(progress, control):
            lib.add_folders(paths)
            return lib.index(paths, progress=progress, control=control, wait=True)

        return self._index(f"Indexing {', '.join(folder_name(p) for p in paths)}", run, adds=paths)

    def index(self, folders: Optional[list[str]] = None) -> Optional[Job]:
        lib = self.library
        what = "library" if not folders else ", ".join(folder_name(f) for f in folders)
        return self._index(f"Indexing {what}",
                           lambda progress, control: lib.index(folders, progress=progress, control=control, wait=True))

    def _index(self, title: str, run: Callable, adds: Optional[list[str]] = None) -> Optional[Job]:
        lib = self.library
        if not self.browser.model_ready:
            # Folders are listed now, to browse, and indexed as soon as a model is there.
            self._index_when_model_ready = True

            def listing(progress, control):
                if adds:
                    lib.add_folders(adds)
                return lib.index(adds or None, progress=progress, control=control, wait=True, embed=False)

            self.window.banner.show_needed(lib.spec.label, model_size_text(lib.spec.label))
            return self.submit(title.replace("Indexing", "Listing", 1), listing, live=True, group=JobGroup.PHOTOS,
                               done=lambda report: report.summary() + " — searchable once the image model is there")

        def done(report) -> str:
            self._model_may_be_loaded()
            return "Indexed: " + report.summary()

        return self.submit(title, run, done=done, live=True, group=JobGroup.PHOTOS)

    def remove_folder(self, path: str) -> Job:
        lib = self.library
        self.worker.cancel({JobGroup.PHOTOS})  # do not keep indexing what is being removed
        return self.submit(f"Removing {folder_name(path)}", lambda p, c: lib.remove_folder(path),
                           done=lambda _r: f"Removed {display_path(path)} from the library (files untouched)")

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
        job, batch = self._watch_job, self._watch_batch
        if job is not None and not job.control.cancelled and batch.add(paths):
            log.debug("%d changed path(s) joined the queued %r", len(paths), job)
            return job
        batch = PathBatch(set(paths))
        lib = self.library

        def run(progress, control):
            return lib.index_paths(batch.take(), progress=progress, control=control, wait=True)

        def done(report) -> str:
            changes = report.summary(changes_only=True)
            # A batch of photos an index run had already taken (the usual echo of adding a
            # folder) changes nothing: the status keeps saying what that run did.
            return ("Updated: " + changes) if changes else self.worker.idle_text

        self._watch_batch = batch
        self._watch_job = self.submit("Updating changed photos", run, done=done, live=True, group=JobGroup.PHOTOS)
        return self._watch_job

    def folder_back(self, folder: str) -> Optional[Job]:
        """A folder that was offline is back: reconcile it with the disk."""
        log.info("%s is back; reconciling it", folder)
        return self.index([folder])

    def folder_gone(self, folder: str) -> Job:
        """A watched folder became unreachable: its photos are kept, shown as offline."""
        lib = self.library
        return self.submit(f"{folder_name(folder)} is offline", lambda p, c: lib.mark_folder_offline(folder),
                           done=lambda _r: f"{display_path(folder)} is offline; its photos are kept until it "
                                           "comes back")

    # ---- tag sets and export ----------------------------------------------------------------------
    def save_tag_set(self, ts, old_name: Optional[str] = None) -> Job:
        lib = self.library
        ready = self.browser.model_ready

        def run(progress, control):
            saved = lib.save_tag_set(ts, old_name=old_name)
            if not ready or not saved.enabled:
                return 0
            return lib.tag([saved.name], retag=True, progress=progress, control=control)

        return self.submit(f"Tagging with {ts.name}", run, group=JobGroup.PHOTOS,
                           done=lambda n: f"Tag set “{ts.name}” saved" + (f"; tagged {n:,} photos" if n else ""))

    def delete_tag_set(self, name: str) -> Job:
        lib = self.library
        return self.submit(f"Deleting tag set {name}", lambda p, c: lib.delete_tag_set(name))

    def export_tags(self, path: str, photo_paths: Optional[list[str]] = None) -> Job:
        """Every photo's tags, or with ``photo_paths`` only those photos' (the selection's)."""
        lib = self.library
        of = "" if photo_paths is None else f" of {len(photo_paths):,} photo{'s' if len(photo_paths) != 1 else ''}"
        return self.submit(f"Exporting tags{of} to {display_path(os.path.basename(path))}",
                           lambda p, c: lib.export_tags(path, photo_paths), photos_change=False,
                           done=lambda rows: f"Exported {rows:,} rows{of} to {display_path(path)}")

    # ---- many photos at once (the grid's selection) ------------------------------------------------
    def add_tag(self, label: str, paths: list[str]) -> Job:
        lib = self.library
        return self.submit(f"Tagging {len(paths):,} photo{'s' if len(paths) != 1 else ''} “{label}”",
                           lambda p, c: lib.add_tag(label, paths),
                           done=lambda r: f"Tagged {r[1]:,} photo{'s' if r[1] != 1 else ''} “{label}” ({r[0]})")

    def remove_tag(self, label: str, paths: list[str], tag_set: Optional[str] = None) -> Job:
        """Take a tag off (a hand-added one is forgotten, an auto-tag or confirmed one rejected);
        ``tag_set``: the set it is in (else the set that has the label, or "My tags")."""
        lib = self.library
        return self.submit(f"Removing “{label}” from {len(paths):,} photo{'s' if len(paths) != 1 else ''}",
                           lambda p, c: lib.remove_tag(label, paths, tag_set),
                           done=lambda r: f"Removed “{label}” ({r[0]}) from {r[1]:,} photo{'s' if r[1] != 1 else ''}")

    def decide_tag(self, tag_set: str, label: str, paths: list[str], decision: Optional[str]) -> Job:
        """Confirm or reject an auto-tag (``decision``: "confirmed" | "rejected") on photos, or
        (None) forget the decision: a confirmed tag is a guess again."""
        lib = self.library
        n = len(paths)
        if decision is None:
            return self.submit(f"Undoing the decision on “{label}” ({tag_set})",
                               lambda p, c: lib.undo_decision(tag_set, label, paths),
                               done=lambda r: f"“{label}” ({tag_set}) is a guess again")
        verb = "Confirming" if decision == "confirmed" else "Rejecting"
        done_verb = "Confirmed" if decision == "confirmed" else "Rejected"
        return self.submit(f"{verb} “{label}” ({tag_set}) on {n:,} photo{'s' if n != 1 else ''}",
                           lambda p, c: lib.decide_tag(tag_set, label, paths, decision),
                           done=lambda r: f"{done_verb} “{label}” ({tag_set}) on {n:,} photo{'s' if n != 1 else ''}")

    def trash(self, paths: list[str], then: Optional[Callable[[Any], None]] = None) -> Job:
        """Move photos (a RAW+JPEG pair together) to the platform's trash; the grid and counts follow.
        Files that could not go are listed in a message; ``then(report)`` (the duplicates window)
        sees what went."""
        lib = self.library

        def done(report) -> str:
            if report.failed:
                dialogs.show_error(self.window, "Some photos were not moved to the trash",
                                   report.summary() + "\n\n" + "\n".join(report.failure_lines()))
            if then is not None:
                then(report)
            return report.summary()

        n = len(paths)
        return self.submit(f"Moving {n:,} photo{'s' if n != 1 else ''} to the trash",
                           lambda progress, control: lib.trash(paths, with_pairs=True, control=control), done=done)

    def find_duplicates(self, threshold: float, then: Callable[[Any], None]) -> Job:
        """Exact and near-duplicate groups at ``threshold``; ``then(groups)``, or ``then(None)``
        when it failed or was cancelled."""
        lib = self.library

        def done(groups) -> str:
            then(groups)
            return f"Found {len(groups):,} group{'s' if len(groups) != 1 else ''} of duplicates"

        def failed(message: str) -> str:
            then(None)
            return f"Looking for duplicates failed: {message}"

        def cancelled() -> None:
            then(None)

        return self.submit("Looking for duplicates", lambda p, c: lib.duplicates(threshold, control=c),
                           photos_change=False, done=done, failed=failed, cancelled=cancelled)

    def export_xmp(self) -> Job:
        """Every photo's tags into its XMP sidecar (the library's naming and minimum score)."""
        lib = self.library

        def done(report) -> str:
            text = f"XMP sidecars: {report.text}"
            if report.failed:
                path, why = sorted(report.failed.items())[0]
                text += f" (first: {display_path(os.path.basename(path))}: {why})"
            return text

        return self.submit("Writing tags to XMP sidecars",
                           lambda p, c: lib.export_xmp(progress=p, control=c), photos_change=False, done=done)

    # ---- the model and preferences ----------------------------------------------------------------
    def load_model(self, quiet: bool = True) -> Job:
        lib = self.library
        return self._model_job("Loading the image model…", lambda progress, control: _load_model(lib, progress, control),
                               asked=not quiet)

    def download_model(self) -> Job:
        self.window.banner.show_progress(0, None)
        lib = self.library
        return self._model_job(f"Downloading {lib.spec.label}…",
                               lambda progress, control: _load_model(lib, progress, control), asked=True)

    def use_local_model(self, model: str, weights: str) -> Job:
        self.window.banner.show_loading(weights)
        lib = self.library
        arch = model or lib.spec.model

        def run(progress, control):
            thaw_heap()
            lib.set_model(arch, weights)
            _load_model(lib, progress, control)

        return self._model_job("Loading the local model file…", run, asked=True)

    def _model_job(self, title: str, run: Callable, *, asked: bool) -> Job:
        """A model load; ``asked``: the user asked for it (download, local file), so once it is
        there the library's folders are indexed, and a cancel shows the banner's offer again."""
        banner = self.window.banner
        lib = self.library

        def progress(p) -> None:
            if p.phase == "downloading":
                banner.show_progress(p.done, p.total or None)

        def done(_result) -> str:
            self._model_may_be_loaded()
            self.browser.set_model_ready(True)
            banner.hide_banner()
            # Folders added while there was no model (or while it loaded) are indexed now; the
            # sidebar's folder count may not know of them yet, the flag does.
            if self._index_when_model_ready or (asked and self.browser.folder_count):
                self._index_when_model_ready = False
                self.index(None)
            return "Image model ready"

        def failed(message: str) -> None:
            self.browser.set_model_ready(False)
            banner.show_error(message)

        def cancelled() -> None:
            if asked:
                banner.show_needed(lib.spec.label, model_size_text(lib.spec.label))

        return self.submit(title, run, done=done, failed=failed, cancelled=cancelled, progress=progress,
                           photos_change=False, group=JobGroup.MODEL)

    def apply_settings(self, new) -> Job:
        """Save new preferences; a new model is loaded and the library embedded with it."""
        lib = self.library
        changed_model = (new.model, new.pretrained) != (lib.spec.model, lib.spec.pretrained)

        def run(progress, control):
            thaw_heap()  # the model may be dropped
            lib.save_settings(new)
            if changed_model:
                _load_model(lib, progress, control)
                return lib.index(progress=progress, control=control, wait=True)
            return None

        def done(_result) -> str:
            self._model_may_be_loaded()
            if self.watcher is not None:
                watch = bool(getattr(lib.settings, "watch", True))
                turned_on = watch and not self.watcher.enabled
                self.watcher.set_enabled(watch)
                self._sync_watched_folders()
                if turned_on and self.browser.folder_count and not changed_model:
                    self.index(None)  # what changed while watching was off
            return "Preferences saved"

        if changed_model:
            self.worker.cancel({JobGroup.PHOTOS})
        return self.submit("Switching the image model…" if changed_model else "Saving preferences", run,
                           done=done, group=JobGroup.PHOTOS if changed_model else None)
