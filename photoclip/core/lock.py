"""One indexing process per library: an advisory lock file in the library folder.

Two processes indexing one library would both embed every new photo. The first to index takes
``index.lock`` (``flock`` on POSIX, ``msvcrt.locking`` on Windows; the operating system drops it
when the process dies, so a crash never leaves a library locked) and writes who it is into the
file; another process either waits for it or is told who holds it. Within one process the lock
is shared: the app's worker and its folder watcher may index at the same time, as before.
Searching, browsing and ``status`` never take it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from .errors import PhotoclipError

log = logging.getLogger("photoclip.lock")

LOCK_FILE = "index.lock"


class LibraryBusy(PhotoclipError):
    """Another process is indexing this library."""


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


class IndexLock:
    def __init__(self, library_root: str | os.PathLike) -> None:
        self.path = os.path.join(os.fspath(library_root), LOCK_FILE)
        self._mutex = threading.Lock()
        self._users = 0
        self._fd: Optional[int] = None

    def holder(self) -> Optional[dict]:
        """Who holds (or last held) the lock: {"pid", "command", "since"}, if it says."""
        try:
            with open(self.path, encoding="utf-8") as f:
                info = json.loads(f.read() or "null")
            return info if isinstance(info, dict) else None
        except (OSError, ValueError):
            return None

    def describe_holder(self) -> str:
        info = self.holder() or {}
        since = info.get("since")
        when = time.strftime(" since %H:%M", time.localtime(since)) if isinstance(since, (int, float)) else ""
        who = f"'{info['command']}'" if info.get("command") else "another photoclip process"
        pid = f" (process {info['pid']}{when})" if info.get("pid") else ""
        return f"{who}{pid}"

    def _acquire_file(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            return False
        info = {"pid": os.getpid(), "command": " ".join(["photoclip", *sys.argv[1:2]]) if sys.argv else "photoclip",
                "since": time.time()}
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(info).encode())
        except OSError as exc:  # a full disk must not stop indexing: the lock itself is held
            log.warning("could not note the index lock's holder: %s", exc)
        self._fd = fd
        return True

    @contextmanager
    def held(self, wait: bool = False, on_wait: Optional[Callable[[str], None]] = None,
             poll_s: float = 0.5) -> Iterator[None]:
        """Hold the lock for the block. Busy elsewhere: raise LibraryBusy, or with ``wait`` poll
        until it is free, calling ``on_wait(who)`` each time (which may raise Cancelled)."""
        while True:
            with self._mutex:
                if self._users or self._acquire_file():
                    self._users += 1
                    break
            who = self.describe_holder()
            if not wait:
                raise LibraryBusy(f"{who[0].upper()}{who[1:]} is indexing this library. "
                                  "Wait for it to finish (or stop it), then run this again.")
            if on_wait is not None:
                on_wait(who)
            time.sleep(poll_s)
        try:
            yield
        finally:
            with self._mutex:
                self._users -= 1
                if self._users == 0 and self._fd is not None:
                    try:
                        _unlock(self._fd)
                    finally:
                        os.close(self._fd)
                        self._fd = None
