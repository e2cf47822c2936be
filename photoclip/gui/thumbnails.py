"""Thumbnails: loaded in the background, cached on disk, newest request first.

* Disk cache: ``<library>/thumbnails/<bucket>/<ab>/<sha1>.jpg`` keyed by path, bucket size,
  file size and mtime, so an edited photo gets a new thumbnail. Files are written atomically
  (temporary name + ``os.replace``); a crash never leaves a half-written thumbnail.
* Memory: an LRU of pixmaps already scaled (on a loader thread) to the size shown.
* Requests are served newest first (the items just painted are the ones on screen), and the
  view prunes requests for items that scrolled away, so fast scrolling never builds a backlog.
* Its threads are plain Python threads, started with the loader and woken through a condition:
  a request made while a cell is painted is a few Python statements. (Starting a QThreadPool
  runnable or a thread there gave up the GIL, and while the indexer's threads run Python the
  GUI thread waited up to 17 ms to get it back.)

Images are decoded with the core's ``images.make_thumbnail`` (EXIF orientation, JPEG draft
mode); nothing here runs on the GUI thread except turning a ready QImage into a QPixmap.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Optional, Sequence

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

log = logging.getLogger("photoclip.gui.thumbnails")

#: thumbnail sizes stored on disk; a shown size uses the smallest bucket that is at least as big
BUCKETS = (256, 512)


def bucket_for(size: int) -> int:
    for b in BUCKETS:
        if size <= b:
            return b
    return BUCKETS[-1]


def cache_key(path: str, bucket: int, st: os.stat_result) -> str:
    raw = f"{os.fsencode(path).hex()}\0{bucket}\0{st.st_size}\0{st.st_mtime_ns}".encode()
    return hashlib.sha1(raw).hexdigest()


def pil_to_qimage(img) -> QImage:
    """An RGB PIL image as an independent QImage (safe to hand to another thread)."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    data = img.tobytes("raw", "RGB")
    qimg = QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888)
    return qimg.copy()  # own the pixels: `data` is freed when this function returns


class ThumbnailError(Exception):
    pass


def load_thumbnail(path: str, bucket: int, cache_dir: Optional[Path]) -> QImage:
    """Read a thumbnail from the disk cache, or make it (and cache it). Runs on a loader thread."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ThumbnailError(exc.strerror or str(exc)) from exc
    target = None
    if cache_dir is not None:
        key = cache_key(path, bucket, st)
        target = cache_dir / str(bucket) / key[:2] / f"{key}.jpg"
        if target.exists():
            qimg = QImage(str(target))
            if not qimg.isNull():
                return qimg
    from photoclip.core import images  # deferred: keeps Pillow plugins off the startup path

    try:
        pil = images.make_thumbnail(path, bucket)
    except Exception as exc:  # ImageError and anything Pillow raises for a bad file
        raise ThumbnailError(str(exc) or exc.__class__.__name__) from exc
    if target is not None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".jpg", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    pil.convert("RGB").save(fh, "JPEG", quality=85)
                os.replace(tmp, target)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError as exc:  # a full disk must not break browsing
            log.warning("cannot write thumbnail cache %s: %s", target, exc)
    return pil_to_qimage(pil)


class _Bridge(QObject):
    loaded = Signal(str, int, QImage)
    broken = Signal(str, int, str)


class ThumbnailLoader(QObject):
    """Asynchronous thumbnails with a memory LRU and an on-disk cache."""

    ready = Signal(str, int)  # path, size - a thumbnail (or its failure) is now available

    def __init__(
        self,
        cache_dir: str | os.PathLike | None,
        *,
        threads: int = 2,
        memory_pixmaps: int = 800,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._threads = max(1, threads)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: "OrderedDict[tuple[str, int], None]" = OrderedDict()
        self._inflight: set[tuple[str, int]] = set()
        self._workers: list[threading.Thread] = []
        self._idle = 0  # threads waiting for a request
        self._holding = 0  # paint passes whose requests wait for their end (held())
        self._closed = False
        self._pixmaps: "OrderedDict[tuple[str, int], QPixmap]" = OrderedDict()
        self._sizes: dict[str, int] = {}  # path -> a size of it held in _pixmaps
        self._broken: dict[str, str] = {}
        self._max_pixmaps = memory_pixmaps
        self.max_pending = 400
        self._bridge = _Bridge()
        self._bridge.loaded.connect(self._on_loaded)
        self._bridge.broken.connect(self._on_broken)
        self.loaded_count = 0
        # Started now, not at the first request: Thread.start() waits for the new thread to run,
        # which under load took the GUI thread 17 ms in the middle of painting the grid.
        # Daemon threads: a loader nobody closed must not keep the process alive; close() joins them.
        for n in range(self._threads):
            worker = threading.Thread(target=self._drain, name=f"photoclip-thumbnails-{n}", daemon=True)
            self._workers.append(worker)
            worker.start()

    # ---- GUI thread -------------------------------------------------------------------------
    def pixmap(self, path: str, size: int) -> Optional[QPixmap]:
        """The thumbnail scaled to fit ``size``, or None (and a request) while it loads.

        While the exact size loads (after a zoom), another size already in memory is returned;
        the painter scales it until the right one arrives."""
        key = (path, size)
        pm = self._pixmaps.get(key)
        if pm is not None:
            self._pixmaps.move_to_end(key)
            return pm
        if path in self._broken:
            return None
        self.request(path, size)
        other = self._sizes.get(path)
        return self._pixmaps.get((path, other)) if other is not None else None

    def error(self, path: str) -> Optional[str]:
        """Why a thumbnail could not be made, if it could not."""
        return self._broken.get(path)

    def request(self, path: str, size: int) -> None:
        key = (path, size)
        with self._lock:
            if self._closed or key in self._inflight:
                return
            if key in self._pending:
                self._pending.move_to_end(key)
            else:
                self._pending[key] = None
                while len(self._pending) > self.max_pending:
                    self._pending.popitem(last=False)  # the oldest requests scrolled away long ago
            if self._idle and not self._holding:
                self._wake.notify()  # else all are busy, and the next one free takes it

    @contextlib.contextmanager
    def held(self):
        """Requests made inside (a paint pass) wait for its end, so the loaders see them all at
        once and in the order ``prioritise`` gives, not the first few as they come."""
        with self._lock:
            self._holding += 1
        try:
            yield
        finally:
            with self._lock:
                self._holding -= 1
                if not self._holding and self._pending and self._idle:
                    self._wake.notify_all()

    def prioritise(self, keys: Sequence[tuple[str, int]]) -> None:
        """Load the queued ``(path, size)`` among ``keys`` first, in their order (the grid's cells
        in reading order: the top row first), before anything asked for earlier."""
        with self._lock:
            for key in reversed(keys):
                if key in self._pending:
                    self._pending.move_to_end(key)  # the loaders take from the end

    def retain(self, paths: Iterable[str]) -> int:
        """Forget queued requests for paths not in ``paths`` (items no longer visible)."""
        keep = set(paths)
        with self._lock:
            stale = [k for k in self._pending if k[0] not in keep]
            for k in stale:
                del self._pending[k]
        return len(stale)

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._inflight)

    def close(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._wake.notify_all()
            workers = list(self._workers)
        deadline = time.monotonic() + timeout_s
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def is_running(self) -> bool:
        """Whether a thread of the loader is alive (after close(): still finishing a thumbnail)."""
        with self._lock:
            return any(w.is_alive() for w in self._workers)

    def _on_loaded(self, path: str, size: int, img: QImage) -> None:
        self._pixmaps[(path, size)] = QPixmap.fromImage(img)  # cheap: the image is already small
        self._sizes[path] = size
        while len(self._pixmaps) > self._max_pixmaps:
            (old_path, old_size), _ = self._pixmaps.popitem(last=False)
            if self._sizes.get(old_path) == old_size:
                del self._sizes[old_path]
        self.loaded_count += 1
        self.ready.emit(path, size)

    def _on_broken(self, path: str, size: int, reason: str) -> None:
        self._broken[path] = reason
        self.ready.emit(path, size)

    # ---- loader threads -----------------------------------------------------------------------
    def _drain(self) -> None:
        from .workers import lower_thread_priority

        lower_thread_priority()
        while True:
            with self._lock:
                while (not self._pending or self._holding) and not self._closed:
                    self._idle += 1
                    try:
                        self._wake.wait()
                    finally:
                        self._idle -= 1
                if self._closed:
                    return
                key, _ = self._pending.popitem(last=True)  # newest first: what is on screen now
                self._inflight.add(key)
            path, size = key
            img, failure = None, None  # failure: the reason, when there is no thumbnail
            try:
                img = load_thumbnail(path, bucket_for(size), self.cache_dir)
                if img.width() > size or img.height() > size:  # scaled here, not on the GUI thread
                    img = img.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
            except ThumbnailError as exc:
                failure = str(exc)
            except Exception as exc:  # noqa: BLE001 - a bug must not kill the loader thread
                log.exception("thumbnail for %s failed", path)
                failure = str(exc)
            finally:
                # no longer in flight before the GUI thread hears of it: whoever counts what is
                # pending on its arrival (pending_count) must not still see it
                with self._lock:
                    self._inflight.discard(key)
            if failure is None:
                self._bridge.loaded.emit(path, size, img)
            else:
                self._bridge.broken.emit(path, size, failure)
