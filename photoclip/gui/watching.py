"""Live library folders for the app: the core's FolderWatcher, handed over to the GUI thread.

:class:`LibraryWatcher` owns one :class:`photoclip.core.watcher.FolderWatcher`. The watcher calls
back on its own thread; those callbacks only emit this object's signals, and since the object
lives in the GUI thread Qt delivers them there as queued calls. Nothing here touches a widget or
the library from the watcher thread (apart from the catalog read the core watcher does itself
through ``known_paths_under``).

What the window does with the signals is in ``actions.py`` (one coalesced background job per
batch, a reconcile when a folder comes back, the sidebar when one goes offline).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Optional, Sequence

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("photoclip.gui.watching")


@dataclass
class WatchOptions:
    """Timings of the folder watcher (tests use small values)."""

    debounce_s: float = 1.0       # quiet time before a batch is handed over
    stable_s: float = 1.0         # a new file's size and mtime must hold this long (copy finished)
    max_delay_s: float = 10.0     # under a steady stream, a batch at least this often
    poll_interval_s: float = 30.0  # network / FUSE folders are polled this often
    check_interval_s: float = 2.0  # how often unplugged / returning folders are noticed


@dataclass
class PathBatch:
    """Changed paths waiting for one background job. The GUI thread adds paths until the worker
    takes them (``take``); after that a new batch (and job) is needed."""

    paths: set[str] = field(default_factory=set)
    taken: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, paths: Sequence[str]) -> bool:
        """Add paths unless the worker has already taken the batch; True when they were added."""
        with self.lock:
            if self.taken:
                return False
            self.paths.update(paths)
            return True

    def take(self) -> list[str]:
        with self.lock:
            self.taken = True
            return sorted(self.paths)

    def __len__(self) -> int:
        with self.lock:
            return len(self.paths)


class LibraryWatcher(QObject):
    """Watches the library's folders while the app runs; signals arrive on the GUI thread."""

    batchReady = Signal(list)   # changed photo paths (new, modified, moved, deleted)
    folderBack = Signal(str)    # a folder that was offline is reachable again
    folderGone = Signal(str)    # a folder became unreachable (unplugged drive, unmounted share)
    foldersChanged = Signal(int)  # number of folders now watched

    def __init__(self, known_paths_under, options: Optional[WatchOptions] = None, parent=None) -> None:
        super().__init__(parent)
        self.options = options or WatchOptions()
        self._known_paths_under = known_paths_under
        self._lock = threading.Lock()
        self._watcher = None  # the core FolderWatcher once started
        self._starting: Optional[threading.Event] = None  # set once the starter thread is done
        self._folders: list[str] = []
        self._active = False  # started (or starting) and not stopped
        self._closed = False  # the window closed: nothing starts again (late queued signals)
        self.enabled = True
        # A starter thread made now, idle until the first folder: importing watchdog and starting
        # its observers takes tens of milliseconds that the GUI thread should not wait for, and
        # threading.Thread.start() waits until the new thread runs (14 ms on the GUI thread while
        # the indexer's threads held the GIL, just as the first photos were shown).
        self._start_requests: "queue.Queue[Optional[threading.Event]]" = queue.Queue()
        self._starter = threading.Thread(target=self._starter_loop, name="photoclip-watch-starter", daemon=True)
        self._starter.start()

    # ---- GUI-thread API -------------------------------------------------------------------
    @property
    def folders(self) -> list[str]:
        """The folders being watched (empty when watching is off)."""
        return list(self._folders) if self._active else []

    def is_running(self) -> bool:
        return self._active or (self._starting is not None and not self._starting.is_set())

    def set_folders(self, folders: Sequence[str]) -> None:
        """Watch exactly these folders (starts the watcher on the first folder)."""
        folders = sorted(dict.fromkeys(folders))
        if folders == self._folders and (self._active or not folders or not self.enabled):
            return
        with self._lock:
            self._folders = folders
            watcher = self._watcher
        if not self.enabled:
            return
        if not self._active:
            if folders:
                self._start()
        elif watcher is not None:
            watcher.set_folders(folders)
        # (while the watcher is starting, it picks up self._folders when it is ready)
        self.foldersChanged.emit(len(self.folders))

    def set_enabled(self, enabled: bool) -> None:
        """Turn watching on or off (Settings.watch)."""
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if enabled and self._folders:
            self._start()
        elif not enabled:
            self.stop()
        self.foldersChanged.emit(len(self.folders))

    def close(self, timeout_s: float = 1.0) -> None:
        """Stop for good (the window is closing)."""
        self._closed = True
        self.stop(timeout_s)
        self._start_requests.put(None)
        self._starter.join(timeout_s)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the watcher thread and its observers (waits up to about ``timeout_s`` each)."""
        with self._lock:
            was_active, self._active = self._active, False
        starting = self._starting
        if starting is not None:
            starting.wait(timeout_s)
            self._starting = None
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop(timeout_s)
        if was_active:
            log.info("stopped watching %d folder(s)", len(self._folders))

    def modes(self) -> dict[str, str]:
        watcher = self._watcher
        return watcher.modes() if watcher is not None else {}

    def wait_ready(self, timeout_s: float = 10.0) -> bool:
        """True once every folder is watched (or known to be offline)."""
        starting = self._starting
        if starting is not None and not starting.wait(timeout_s):
            return False
        watcher = self._watcher
        return watcher is not None and watcher.wait_ready(timeout_s)

    # ---- the core watcher -----------------------------------------------------------------
    def _start(self) -> None:
        """Start the core watcher on the starter thread; returns at once."""
        if self._active or self._closed:
            return
        self._active = True
        self._starting = threading.Event()
        self._start_requests.put(self._starting)

    def _starter_loop(self) -> None:  # the starter thread
        while True:
            done = self._start_requests.get()
            if done is None:
                return
            try:
                self._start_core_watcher()
            except Exception:  # noqa: BLE001 - a thread of our own: the traceback goes to the log
                log.exception("the folder watcher could not start; new photos are found at the next start")
            finally:
                done.set()

    def _start_core_watcher(self) -> None:
        from photoclip.core.watcher import FolderWatcher

        o = self.options
        with self._lock:
            if not self._active:
                return
            folders = list(self._folders)
        # The callbacks run on the watcher's thread: emitting a signal of this GUI-thread object
        # queues the call to the GUI thread. Nothing else happens there.
        watcher = FolderWatcher(
            folders, self.batchReady.emit,
            debounce_s=o.debounce_s, stable_s=o.stable_s, max_delay_s=o.max_delay_s,
            poll_interval_s=o.poll_interval_s, check_interval_s=o.check_interval_s,
            known_paths_under=self._known_paths_under,
            on_folder_back=self.folderBack.emit,
            on_folder_gone=self.folderGone.emit,
        )
        watcher.start()
        with self._lock:
            if self._active:
                self._watcher = watcher
                if self._folders != folders:
                    watcher.set_folders(self._folders)
                watcher = None
        if watcher is not None:  # stopped while starting
            watcher.stop(1.0)
            return
        log.info("watching %d folder(s)", len(folders))
