"""Watch library folders and hand the indexer debounced batches of changed photo paths.

watchdog reports every create/modify/move/delete as it happens; :class:`FolderWatcher` turns that
stream into a few calls of ``on_batch(paths)``:

* events are coalesced until the folders have been quiet for ``debounce_s`` (or, under a steady
  stream such as a long camera import, at most every ``max_delay_s``), so a burst of thousands of
  files is a handful of batches, not thousands of wake-ups;
* a new or modified file is handed over only once its size and mtime have not changed for
  ``stable_s`` (a copy in progress is not half-read and marked broken);
* a move hands over both the vanished source and the destination in the same batch, so the
  indexer re-links the photo instead of re-embedding it; a moved or deleted folder yields the
  paths inside it (the destination is walked, the catalog knows what was in the source);
* folders on network or FUSE file systems, where inotify does not see changes made elsewhere,
  are polled every ``poll_interval_s``;
* a watched folder that disappears (unplugged drive, unmounted share) is never reported as
  deleted photos: its pending deletions are dropped, ``on_folder_gone(folder)`` is called, and
  when it comes back ``on_folder_back(folder)`` asks the library to reconcile it.

Everything here is plain threads and callbacks (no Qt). Callbacks run on the watcher's own
thread; a GUI forwards them to its worker. :func:`watch_forever` is ``photoclip watch``.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence, TextIO

from .errors import PhotoclipError
from .images import is_image_path

log = logging.getLogger("photoclip.watcher")

#: File system types whose changes inotify does not (reliably) report: network shares, FUSE
#: (sshfs, rclone, gvfs, ...), VM shared folders. fuseblk (ntfs-3g, exfat on a local disk)
#: goes through the local kernel and is watched normally.
POLLED_FS_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "9p", "afs", "ncpfs", "ceph", "glusterfs",
    "lustre", "gpfs", "davfs", "sshfs", "fuse", "virtiofs", "vboxsf", "vmhgfs", "prl_fs", "coda",
})

BatchCallback = Callable[[list[str]], None]
FolderCallback = Callable[[str], None]


# -- file system type ------------------------------------------------------------------------
def _unescape_mount(field: str) -> str:
    """/proc/mounts escapes space, tab, newline and backslash as octal (\\040 ...)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and len(field[i + 1:i + 4]) == 3 and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def filesystem_type(path: str, mounts_file: str = "/proc/mounts") -> Optional[str]:
    """The type of the file system holding path (Linux), e.g. "ext4", "nfs4", "fuse.sshfs"; else None."""
    try:
        with open(mounts_file, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, best_type = "", None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point, fs_type = _unescape_mount(parts[1]), parts[2]
        inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fs_type
    return best_type


def needs_polling(path: str, mounts_file: str = "/proc/mounts") -> bool:
    """True for network and FUSE mounts, where inotify misses changes made by other machines."""
    fs_type = filesystem_type(path, mounts_file)
    if fs_type is None:
        return False
    return fs_type in POLLED_FS_TYPES or fs_type.startswith(("fuse.", "nfs", "smb"))


# -- the watcher -----------------------------------------------------------------------------
@dataclass
class _Candidate:
    """A new or modified file waiting until it stops changing."""
    size: int = -1
    mtime_ns: int = -1
    since: float = 0.0        # when (size, mtime) were last seen to change


@dataclass
class _Root:
    path: str
    watch: object = None       # watchdog ObservedWatch
    observer: object = None    # the observer holding the watch
    mode: str = "offline"      # "inotify" | "polling" | "offline"
    inode: Optional[tuple[int, int]] = None


class FolderWatcher:
    """Recursive watch over library folders, delivering debounced batches of photo paths.

    ``on_batch(paths)`` gets absolute paths of photos that appeared, changed (and are now stable)
    or vanished; the receiver (``Library.index_paths``) tells them apart by looking at the disk.
    ``known_paths_under(folder)`` (the catalog's paths below a folder) turns a deleted or
    moved-away folder into the paths of its photos. Callbacks run on the watcher's thread and
    must not raise (exceptions are logged).
    """

    def __init__(self, folders: Sequence[str], on_batch: BatchCallback, *, debounce_s: float = 1.0,
                 stable_s: float = 1.0, poll_interval_s: float = 30.0, max_delay_s: float = 10.0,
                 known_paths_under: Optional[Callable[[str], Iterable[str]]] = None,
                 on_folder_back: Optional[FolderCallback] = None,
                 on_folder_gone: Optional[FolderCallback] = None,
                 check_interval_s: float = 2.0,
                 use_polling: Optional[Callable[[str], bool]] = None) -> None:
        self.on_batch = on_batch
        self.debounce_s = debounce_s
        self.stable_s = stable_s
        self.poll_interval_s = poll_interval_s
        self.max_delay_s = max(max_delay_s, debounce_s)
        self.known_paths_under = known_paths_under
        self.on_folder_back = on_folder_back
        self.on_folder_gone = on_folder_gone
        self.check_interval_s = check_interval_s
        self.use_polling = use_polling or needs_polling
        self._wanted = [os.path.abspath(f) for f in folders]
        self._roots: dict[str, _Root] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: dict[str, _Candidate] = {}
        self._deleted: set[str] = set()
        self._dirs_appeared: set[str] = set()
        self._dirs_vanished: set[str] = set()
        self._roots_to_check = False
        self._first_event: Optional[float] = None
        self._last_event = 0.0
        self._folders_changed = True
        self._applied = False  # the first set of folders is being watched (later ones catch up)
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._inotify = None
        self._polling = None
        self.ready = threading.Event()   # set once every folder is watched (or found offline)
        self.batches = 0                 # on_batch calls so far

    # -- public --------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching in the background (returns at once; see :attr:`ready`)."""
        if self._thread is not None:
            return
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        self._inotify = Observer()
        self._polling = PollingObserver(timeout=self.poll_interval_s)
        self._inotify.start()
        self._polling.start()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="photoclip-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching. Changes not yet handed over are found by the next reconcile (index())."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for observer in (self._inotify, self._polling):
            if observer is not None:
                try:
                    observer.stop()
                    observer.join(timeout)
                except Exception:  # noqa: BLE001 - stopping must not fail
                    log.debug("observer stop failed", exc_info=True)
        self._inotify = self._polling = None
        self._roots.clear()
        self.ready.clear()

    def set_folders(self, folders: Sequence[str]) -> None:
        """Watch these folders from now on (added ones are watched, removed ones dropped)."""
        with self._wake:
            self._wanted = [os.path.abspath(f) for f in folders]
            self._folders_changed = True
            self.ready.clear()
            self._wake.notify_all()

    def modes(self) -> dict[str, str]:
        """folder -> "inotify" | "polling" | "offline" (for status displays and tests)."""
        with self._lock:
            return {path: root.mode for path, root in self._roots.items()}

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self.ready.wait(timeout)

    # -- events (observer threads) -------------------------------------------------------
    def _root_of(self, path: str) -> Optional[str]:
        for root in self._roots:
            if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
                return root
        return None

    def _wanted_file(self, path: str) -> bool:
        """An image the scanner would index, or an XMP sidecar (its keywords and rating are read
        again): right extension, no hidden folder on the way."""
        if not is_image_path(path) and not path.lower().endswith(".xmp"):
            return False
        root = self._root_of(path)
        if root is None:
            return False
        rel = path[len(root):].lstrip(os.sep)
        return not any(part.startswith(".") for part in rel.split(os.sep))

    def _dispatch(self, event) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return  # reading (by us or anyone) changes nothing
        src = os.fsdecode(event.src_path) if event.src_path else ""
        dest = os.fsdecode(event.dest_path) if getattr(event, "dest_path", "") else ""
        now = time.monotonic()
        with self._wake:
            if event.is_directory:
                if kind == "created":
                    self._dirs_appeared.add(src)
                elif kind == "deleted":
                    self._dir_vanished(src)
                elif kind == "moved":
                    if src:
                        self._dir_vanished(src)
                    if dest:
                        self._dirs_appeared.add(dest)
                else:
                    return  # a folder's own modified/attrib events say nothing about photos
            elif kind in ("created", "modified", "closed", "attrib"):
                self._touch(src, now)
            elif kind == "deleted":
                self._vanish(src)
            elif kind == "moved":
                if src:
                    self._vanish(src)
                if dest:
                    self._touch(dest, now)
            else:
                return
            self._last_event = now
            if self._first_event is None:
                self._first_event = now
            self._wake.notify_all()

    def _touch(self, path: str, now: float) -> None:
        if not self._wanted_file(path):
            return
        self._deleted.discard(path)
        cand = self._pending.get(path)
        if cand is None:
            cand = self._pending[path] = _Candidate(since=now)
        try:
            st = os.stat(path)
        except OSError:
            return  # gone already, or unreadable: the flush decides
        if (st.st_size, st.st_mtime_ns) != (cand.size, cand.mtime_ns):
            cand.size, cand.mtime_ns, cand.since = st.st_size, st.st_mtime_ns, now

    def _vanish(self, path: str) -> None:
        if not self._wanted_file(path):
            return
        self._pending.pop(path, None)
        self._deleted.add(path)

    def _dir_vanished(self, path: str) -> None:
        if path in self._roots:
            self._roots_to_check = True  # the watched folder itself: unplugged, or really gone
        elif self._root_of(path) is not None:
            self._dirs_vanished.add(path)

    # -- the watcher thread --------------------------------------------------------------
    def _run(self) -> None:
        last_check = 0.0
        while True:
            with self._wake:
                if self._stopping:
                    return
                folders_changed, self._folders_changed = self._folders_changed, False
                check_roots, self._roots_to_check = self._roots_to_check, False
            try:
                if folders_changed:
                    self._apply_folders()
                    self.ready.set()
                now = time.monotonic()
                if check_roots or now - last_check >= self.check_interval_s:
                    last_check = now
                    self._check_roots()
                timeout = self._flush_if_due()
            except Exception:  # noqa: BLE001 - the watcher must survive anything
                log.exception("folder watcher error")
                timeout = 1.0
            with self._wake:
                if not self._stopping and not self._folders_changed and not self._roots_to_check:
                    self._wake.wait(min(timeout, self.check_interval_s))

    def _apply_folders(self) -> None:
        with self._lock:
            wanted = list(dict.fromkeys(self._wanted))
        for path in [p for p in self._roots if p not in wanted]:
            with self._lock:
                root = self._roots.pop(path)
            self._unwatch(root)
            self._drop_under(path)
        for path in wanted:
            if path not in self._roots:
                root = _Root(path)
                with self._lock:
                    self._roots[path] = root
                if self._watch(root) and self._applied:
                    self._catch_up(path)
        self._applied = True

    def _catch_up(self, folder: str) -> None:
        """A folder added while watching: photos that arrived in it before its watch began (after
        its indexing read the folder, or while that still ran) would otherwise wait for the next
        start. Compare it with the catalog once and treat the photos it does not know as new.
        (The folders watched from the start are compared by the app's rescan at start.)"""
        if self.known_paths_under is None:
            return
        known = set(self.known_paths_under(folder))
        found = [path for path in _walk_files(folder) if path not in known]
        if not found:
            return
        now = time.monotonic()
        with self._wake:
            for path in found:
                self._touch(path, now)
            if self._first_event is None:
                self._first_event = now
            self._last_event = now

    def _watch(self, root: _Root) -> bool:
        """Schedule a watch on an online root; returns False if the folder is not there."""
        from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileClosedEvent,
                                     FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent)

        try:
            st = os.stat(root.path)
        except OSError:
            root.mode, root.inode = "offline", None
            return False
        if not os.path.isdir(root.path):
            root.mode = "offline"
            return False
        handler = _Handler(self)
        # Only what matters: no open/close-without-write events (our own reads would wake us).
        event_filter = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileDeletedEvent, FileClosedEvent,
                        DirCreatedEvent, DirMovedEvent, DirDeletedEvent]
        polling = self.use_polling(root.path)
        if not polling:
            try:
                root.watch = self._inotify.schedule(handler, root.path, recursive=True, event_filter=event_filter)
                root.observer, root.mode = self._inotify, "inotify"
            except OSError as exc:  # inotify watch limit, or a file system that refuses inotify
                log.warning("cannot watch %s with inotify (%s); polling it every %g s instead",
                            root.path, exc.strerror or exc, self.poll_interval_s)
                polling = True
        if polling:
            try:
                root.watch = self._polling.schedule(handler, root.path, recursive=True, event_filter=event_filter)
                root.observer, root.mode = self._polling, "polling"
            except OSError as exc:
                log.warning("cannot watch %s (%s)", root.path, exc.strerror or exc)
                root.mode = "offline"
                return False
            log.info("watching %s by polling every %g s", root.path, self.poll_interval_s)
        else:
            log.info("watching %s", root.path)
        root.inode = (st.st_dev, st.st_ino)
        return True

    def _unwatch(self, root: _Root) -> None:
        if root.watch is not None and root.observer is not None:
            try:
                root.observer.unschedule(root.watch)
            except Exception:  # noqa: BLE001 - an emitter that already stopped itself
                log.debug("unschedule %s failed", root.path, exc_info=True)
        root.watch = root.observer = None
        root.mode, root.inode = "offline", None

    def _check_roots(self) -> None:
        """Notice watched folders that disappeared, were replaced, or came back."""
        for root in list(self._roots.values()):
            try:
                st = os.stat(root.path)
                here = os.path.isdir(root.path)
                inode = (st.st_dev, st.st_ino)
            except OSError:
                here, inode = False, None
            if root.mode != "offline" and (not here or inode != root.inode):
                log.warning("watched folder %s is gone (unplugged or unmounted?); its photos are kept", root.path)
                self._unwatch(root)
                self._drop_under(root.path)
                self._call(self.on_folder_gone, root.path)
            if root.mode == "offline" and here and _has_entries(root.path):
                # An empty folder is most likely a mount point without its drive: wait for content.
                if self._watch(root):
                    log.info("watched folder %s is back; reconciling it", root.path)
                    self._drop_under(root.path)
                    self._call(self.on_folder_back, root.path)

    def _drop_under(self, folder: str) -> None:
        """Forget queued changes below a folder that went away (a reconcile covers them)."""
        prefix = folder.rstrip(os.sep) + os.sep
        with self._lock:
            for path in [p for p in self._pending if p.startswith(prefix)]:
                del self._pending[path]
            self._deleted = {p for p in self._deleted if not p.startswith(prefix)}
            self._dirs_appeared = {p for p in self._dirs_appeared if not p.startswith(prefix)}
            self._dirs_vanished = {p for p in self._dirs_vanished if not p.startswith(prefix)}

    def _call(self, callback: Optional[Callable], arg) -> None:
        if callback is None:
            return
        try:
            callback(arg)
        except Exception:  # noqa: BLE001 - a failing receiver must not stop the watcher
            log.exception("watcher callback %r failed", callback)

    def _flush_if_due(self) -> float:
        """Deliver a batch when things are quiet (or waited long enough); returns seconds to sleep."""
        now = time.monotonic()
        with self._lock:
            if self._first_event is None:
                return self.check_interval_s
            quiet = now - self._last_event
            waited = now - self._first_event
            if quiet < self.debounce_s and waited < self.max_delay_s:
                return max(0.02, min(self.debounce_s - quiet, self.max_delay_s - waited))
            dirs_appeared, self._dirs_appeared = self._dirs_appeared, set()
            dirs_vanished, self._dirs_vanished = self._dirs_vanished, set()

        # Folders: walk the ones that appeared, ask the catalog about the ones that left.
        for folder in sorted(dirs_vanished):
            known = list(self.known_paths_under(folder)) if self.known_paths_under else []
            with self._lock:
                for path in known:
                    self._vanish(path)
                prefix = folder.rstrip(os.sep) + os.sep
                for path in [p for p in self._pending if p.startswith(prefix)]:
                    self._pending.pop(path)
                    self._deleted.add(path)
        for folder in sorted(dirs_appeared):
            found = list(_walk_files(folder))
            t = time.monotonic()
            with self._lock:
                for path in found:
                    self._touch(path, t)

        now = time.monotonic()
        with self._lock:
            ready, unstable = [], []
            next_check = self.stable_s
            for path, cand in list(self._pending.items()):
                root = self._root_of(path)
                if root is None or self._roots[root].mode == "offline":
                    del self._pending[path]
                    continue
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    if os.path.islink(path):  # a dangling link: the indexer lists it
                        ready.append(path)
                        continue
                    del self._pending[path]
                    self._deleted.add(path)  # came and went (a temporary file) or moved on
                    continue
                except OSError:
                    ready.append(path)  # unreadable: the indexer records the problem
                    continue
                if (st.st_size, st.st_mtime_ns) != (cand.size, cand.mtime_ns):
                    cand.size, cand.mtime_ns, cand.since = st.st_size, st.st_mtime_ns, now
                left = self.stable_s - (now - cand.since)
                if left <= 0:
                    ready.append(path)
                else:
                    unstable.append(path)
                    next_check = min(next_check, left)
            deleted = []
            for path in list(self._deleted):
                root = self._root_of(path)
                if root is None or self._roots[root].mode == "offline":
                    self._deleted.discard(path)  # the folder's reconcile covers it
                    continue
                if not os.path.isdir(root):
                    self._roots_to_check = True  # never report a whole unplugged drive as deleted
                    unstable.append(path)
                    continue
                if os.path.lexists(path):
                    self._deleted.discard(path)
                    if path not in self._pending:  # deleted, then recreated: a new file
                        self._touch(path, now)
                        unstable.append(path)
                        next_check = min(next_check, self.stable_s)
                    continue
                deleted.append(path)
            if unstable and now - self._first_event < self.max_delay_s:
                # Hold everything (a move's source waits for its destination) until it settles.
                return max(0.02, next_check)
            batch = sorted(set(ready) | set(deleted))
            for path in ready:
                self._pending.pop(path, None)
            self._deleted.difference_update(deleted)
            self._first_event = now if (self._pending or self._deleted) else None
        if batch:
            self.batches += 1
            log.debug("batch of %d changed paths", len(batch))
            self._call(self.on_batch, batch)
        return max(0.02, next_check) if unstable else self.check_interval_s


class _Handler:
    """watchdog event handler forwarding to the watcher (duck-typed: only dispatch() is used)."""

    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def dispatch(self, event) -> None:
        try:
            self.watcher._dispatch(event)
        except Exception:  # noqa: BLE001 - never kill the observer thread
            log.exception("cannot handle %r", event)


def _has_entries(folder: str) -> bool:
    try:
        with os.scandir(folder) as it:
            return next(it, None) is not None
    except OSError:
        return False


def _walk_files(folder: str) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith("."):
                yield os.path.join(dirpath, name)


# -- photoclip watch ---------------------------------------------------------------------------
SERVE_RETRY_S = 30.0  # while another process serves the library's warm model, how often to try again


def watch_forever(lib, progress=None, out: TextIO = sys.stdout, *, stop: Optional[threading.Event] = None,
                  debounce_s: float = 1.0, stable_s: float = 1.0, poll_interval_s: float = 30.0,
                  serve: bool = True) -> int:
    """``photoclip watch``: reconcile, then index changes as they happen until Ctrl+C (or ``stop``).
    With ``serve`` the model stays loaded and answers the text searches of one-shot commands on
    this library (``photoclip search``: no model load there, see core/warm.py)."""
    from .paths import display_path

    folders = [f.path for f in lib.folders()]
    if not folders:
        raise PhotoclipError("The library has no folders to watch: photoclip watch FOLDER [FOLDER...]")
    stop = stop or threading.Event()

    def say(text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')}  {text}", file=out, flush=True)

    report = lib.index(progress=progress, wait=True)
    if hasattr(progress, "close"):
        progress.close()
    say(f"Up to date: {report.summary()}")
    serving = False
    if serve:
        try:
            lib.embedder()  # already loaded if anything was embedded; kept for the searches
            serving = lib.serve_warm()
            if serving:
                say("Text searches of this library (photoclip search) use this process's loaded model.")
        except PhotoclipError as exc:
            serve = False
            say(f"The model is not served to searches: {exc}")
    next_serve_try = time.monotonic() + SERVE_RETRY_S

    work: queue.Queue = queue.Queue()
    watcher = FolderWatcher(
        folders, lambda paths: work.put(("paths", paths)),
        debounce_s=debounce_s, stable_s=stable_s, poll_interval_s=poll_interval_s,
        known_paths_under=lib.paths_under,
        on_folder_back=lambda folder: work.put(("back", folder)),
        on_folder_gone=lambda folder: work.put(("gone", folder)),
    )
    watcher.start()
    try:
        watcher.wait_ready(30.0)
        polled = [display_path(f) for f, mode in watcher.modes().items() if mode == "polling"]
        offline = [display_path(f) for f, mode in watcher.modes().items() if mode == "offline"]
        say(f"Watching {len(folders)} folder(s) for new, changed, moved and deleted photos. Press Ctrl+C to stop.")
        if polled:
            say(f"Checked every {poll_interval_s:g} s (network or FUSE mount): {', '.join(polled)}")
        if offline:
            say(f"Offline (waiting for it to come back): {', '.join(offline)}")
        while not stop.is_set():
            if serve and not serving and time.monotonic() >= next_serve_try:
                # another process (the app) served this library: once it is gone, this one does
                next_serve_try = time.monotonic() + SERVE_RETRY_S
                serving = lib.serve_warm()
            try:
                kind, payload = work.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                if kind == "paths":
                    report = lib.index_paths(payload, wait=True)
                    line = report.summary(changes_only=True)
                    if line:
                        say(line)
                elif kind == "back":
                    say(f"{display_path(payload)} is back; checking it")
                    report = lib.index([payload], wait=True)
                    say(f"{display_path(payload)}: {report.summary()}")
                elif kind == "gone":
                    lib.mark_folder_offline(payload)
                    say(f"{display_path(payload)} is offline; its photos are kept until it comes back")
            except PhotoclipError as exc:
                # Not lost: the next start (or the folder's next change) reconciles with the disk.
                say(f"error: {exc}")
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        lib.stop_serving()
    say("Stopped watching.")
    return 0
