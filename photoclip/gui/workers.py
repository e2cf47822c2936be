"""Background work for the GUI.

Two threads, never more:

* ``Worker`` - ONE QThread that runs the long core jobs (indexing, tagging, export, loading or
  downloading the model) one after the other from a queue. A job carries its own continuation
  (``on_done``, ``on_failed``, ``on_progress``, ``on_cancelled``), which the worker calls on the
  GUI thread: the code that asked for the work says what happens with its result. Every job gets
  a ``JobControl`` so the status bar can pause, resume and cancel it, and quitting cancels it
  between two steps.
* ``QueryRunner`` - a lightweight QThread for the short reads the window needs while a long job
  runs: searches, browsing a folder or tag, the details of one photo, the sidebar counts. Each
  request has a *slot* ("results", "details", ...); a newer request in a slot replaces one that
  has not started yet, so typing fast never stacks up searches. Results carry the request's
  token so the receiver can drop anything that is no longer the latest.

Both threads call the same core ``Library``; the loaded embedder is shared, so a search does not
wait behind an indexing job.
"""

from __future__ import annotations

import builtins
import gc
import enum
import itertools
import logging
import os
import queue
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from PySide6.QtCore import QObject, QThread, Signal

from photoclip.core.errors import Cancelled, PhotoclipError
from photoclip.core.jobs import JobControl, Progress

log = logging.getLogger("photoclip.gui.workers")

JobFunction = Callable[[Callable[[Progress], None], JobControl], Any]

_job_ids = itertools.count(1)


class JobGroup(enum.Enum):
    """Jobs that are cancelled together: removing a folder or switching the model cancels the
    work on the photos; the banner's Cancel cancels a model download."""
    PHOTOS = "photos"   # indexing, watching, tagging: reads or changes the photos
    MODEL = "model"     # loading or downloading the model


@dataclass
class Job:
    """A unit of long background work and what to do when it ends.

    ``run(progress, control)`` does the work on the worker thread and returns its result. The
    continuations run on the GUI thread: ``on_done(result)``, ``on_failed(message)`` and
    ``on_cancelled()`` may return the status text to show once the worker is idle (else a plain
    "Ready", "… failed: message", "… — cancelled"); ``on_progress(progress)`` sees every
    (throttled) progress report.
    """

    title: str
    run: JobFunction
    on_done: Optional[Callable[[Any], Optional[str]]] = None
    on_failed: Optional[Callable[[str], Optional[str]]] = None
    on_progress: Optional[Callable[[Progress], None]] = None
    on_cancelled: Optional[Callable[[], Optional[str]]] = None
    group: Optional[JobGroup] = None
    control: JobControl = field(default_factory=JobControl)
    id: int = field(default_factory=lambda: next(_job_ids))

    def __repr__(self) -> str:  # keeps log lines short
        return f"Job#{self.id}({self.title})"


def describe_error(exc: BaseException) -> str:
    """The message to show a user for an exception raised by a job."""
    if isinstance(exc, PhotoclipError):
        return str(exc) or exc.__class__.__name__
    if isinstance(exc, MemoryError):
        return "Not enough memory for this job."
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"Unexpected error ({exc.__class__.__name__}: {exc}). Details are in the log."


def freeze_heap() -> None:
    """Leave everything alive now out of the garbage collector's full passes.

    With torch, open_clip and a loaded model the interpreter holds ~400,000 objects, and a full
    collection visits them all: ~200 ms holding the GIL (measured with ViT-B-32), a stall of the
    GUI thread whichever thread it runs on. Frozen, a full pass visits only what was made since.
    O(1); done on the GUI thread when a model has been loaded."""
    gc.freeze()


@contextmanager
def plain_imports() -> Iterator[None]:
    """Imports straight through Python's own ``__import__`` while the model loads.

    PySide6 wraps ``builtins.__import__`` and reads back the source of every module imported after
    it (``inspect.getsource``, to see whether it uses PySide6's ``__feature__`` switches, which
    photoclip does not). torch and open_clip, imported by the model job, are thousands of modules:
    the wrapper made their import ~40% slower (measured 5.9-6.9 s against 4.3-4.7 s). A module any
    thread imports meanwhile is only left out of PySide6's registry of such modules."""
    wrapped = builtins.__import__
    plain = getattr(builtins, "__orig_import__", None)
    if plain is None or getattr(wrapped, "__name__", "") != "__feature_import__":
        yield  # not PySide6's wrapper (another version, or none): leave imports alone
        return
    builtins.__import__ = plain
    try:
        yield
    finally:
        if builtins.__import__ is plain:
            builtins.__import__ = wrapped


def thaw_heap() -> None:
    """Before the model is replaced: the old one has reference cycles and must be collectable."""
    gc.unfreeze()


_niced = threading.local()


def lower_thread_priority(nice: int = 10) -> None:
    """Make the calling thread (and the threads it starts later: decode pools, torch's intra-op
    threads) yield the CPU to the GUI thread. Linux niceness is per thread; elsewhere Qt's
    thread priority is used by the callers that are QThreads."""
    if getattr(_niced, "done", False):
        return
    _niced.done = True
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, max(current, nice)))
    except (AttributeError, OSError):  # not Linux, or not allowed: the OS keeps its default
        pass


class _WorkerThread(QThread):
    def __init__(self, worker: "Worker") -> None:
        super().__init__()
        self.setObjectName("photoclip-worker")
        self._worker = worker

    def run(self) -> None:
        lower_thread_priority()
        self._worker._loop()


class Worker(QObject):
    """Runs queued jobs on one background thread."""

    started = Signal(object)  # Job
    progress = Signal(object, object)  # Job, Progress (throttled)
    finished = Signal(object, object)  # Job, result
    failed = Signal(object, str)  # Job, message
    cancelled = Signal(object)  # Job
    idle = Signal()  # queue drained

    #: progress signals are sent at most this often (seconds), except phase changes and the end
    PROGRESS_INTERVAL = 0.1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        #: what the status bar says once the queue is drained (set by the last job's continuation)
        self.idle_text = "Ready"
        # The continuations: connected first, so they run before any other receiver of a signal,
        # on this object's (the GUI) thread.
        self.progress.connect(self._continue_progress)
        self.finished.connect(self._continue_done)
        self.failed.connect(self._continue_failed)
        self.cancelled.connect(self._continue_cancelled)
        self._queue: "queue.Queue[Job | None]" = queue.Queue()
        self._pending: list[Job] = []
        self._lock = threading.Lock()
        self._current: Optional[Job] = None
        self._stopping = False
        self._thread = _WorkerThread(self)
        self._thread.start(QThread.Priority.LowPriority)

    # ---- GUI-thread API -------------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        if self._stopping:  # the window is closing: nothing new starts
            log.debug("not queued, worker stopped: %r", job)
            job.control.cancel()
            return job
        with self._lock:
            self._pending.append(job)
        self._queue.put(job)
        log.debug("queued %r", job)
        return job

    @property
    def current(self) -> Optional[Job]:
        return self._current

    def pending(self) -> list[Job]:
        with self._lock:
            return list(self._pending)

    def is_busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._pending)

    def pause(self) -> None:
        job = self._current
        if job is not None:
            job.control.pause()

    def resume(self) -> None:
        job = self._current
        if job is not None:
            job.control.resume()

    def cancel(self, groups: set[JobGroup] | None = None) -> None:
        """Cancel the running job and drop the queued ones (only those of ``groups`` if given)."""
        with self._lock:
            for job in list(self._pending):
                if groups is None or job.group in groups:
                    job.control.cancel()
            job = self._current
        if job is not None and (groups is None or job.group in groups):
            job.control.cancel()

    # ---- continuations (GUI thread) -------------------------------------------------------
    def _continue_progress(self, job: Job, progress: Progress) -> None:
        if job.on_progress is not None:
            job.on_progress(progress)

    def _continue_done(self, job: Job, result: Any) -> None:
        text = job.on_done(result) if job.on_done is not None else None
        self.idle_text = text or "Ready"

    def _continue_failed(self, job: Job, message: str) -> None:
        text = job.on_failed(message) if job.on_failed is not None else None
        self.idle_text = text or f"{job.title.rstrip('…')} failed: {message}"

    def _continue_cancelled(self, job: Job) -> None:
        text = job.on_cancelled() if job.on_cancelled is not None else None
        self.idle_text = text or f"{job.title.rstrip('…')} — cancelled"

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Cancel everything and end the thread. Returns True when the thread has ended."""
        if not self._stopping:
            self._stopping = True
            self.cancel()
            self._queue.put(None)
        ended = self._thread.wait(int(timeout_s * 1000))
        if not ended:
            log.warning("worker did not stop within %.1f s (current job %r)", timeout_s, self._current)
        return ended

    def is_running(self) -> bool:
        return self._thread.isRunning()

    # ---- worker thread -------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if job in self._pending:
                    self._pending.remove(job)
                self._current = job
            try:
                if job.control.cancelled:
                    self.cancelled.emit(job)
                    continue
                self._run(job)
            finally:
                with self._lock:
                    self._current = None
                    drained = not self._pending
                if drained and not self._stopping:
                    self.idle.emit()

    def _run(self, job: Job) -> None:
        last = [0.0, None]

        def report(p: Progress) -> None:
            now = time.monotonic()
            if p.phase != last[1] or p.done >= p.total or now - last[0] >= self.PROGRESS_INTERVAL:
                last[0], last[1] = now, p.phase
                self.progress.emit(job, p)

        self.started.emit(job)
        t0 = time.monotonic()
        try:
            result = job.run(report, job.control)
        except Cancelled:
            log.info("%r cancelled after %.1f s", job, time.monotonic() - t0)
            self.cancelled.emit(job)
        except BaseException as exc:  # noqa: BLE001 - everything a job raises is reported
            if not isinstance(exc, PhotoclipError):
                log.error("%r failed:\n%s", job, traceback.format_exc())
            else:
                log.warning("%r failed: %s", job, exc)
            self.failed.emit(job, describe_error(exc))
        else:
            log.info("%r finished in %.2f s", job, time.monotonic() - t0)
            self.finished.emit(job, result)


class _QueryThread(QThread):
    def __init__(self, runner: "QueryRunner") -> None:
        super().__init__()
        self.setObjectName("photoclip-queries")
        self._runner = runner

    def run(self) -> None:
        self._runner._loop()


class Slot(enum.Enum):
    """What a short read is for; only the newest answer in each slot is shown. When several wait,
    they are served in this order (what the user looks at first)."""
    RESULTS = "results"
    DETAILS = "details"
    SIDEBAR = "sidebar"
    SUBFOLDERS = "subfolders"  # the subfolders of the folders opened in the sidebar
    STARTUP = "startup"
    REVEAL = "reveal"
    LABELS = "labels"  # a photo's best labels: needs the model, so after everything else


class QueryRunner(QObject):
    """Short reads off the GUI thread; the newest request per slot wins."""

    done = Signal(object, int, object)  # Slot, token, result
    failed = Signal(object, int, str)  # Slot, token, message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._pending: dict[Slot, tuple[int, Callable[[], Any]]] = {}
        self._tokens = itertools.count(1)
        self._latest: dict[Slot, int] = {}
        self._stopping = False
        self._busy = False
        self._thread = _QueryThread(self)
        self._thread.start()

    def submit(self, slot: Slot, fn: Callable[[], Any]) -> int:
        """Queue ``fn`` for ``slot``, replacing a queued request of the same slot; returns its token."""
        token = next(self._tokens)
        with self._cond:
            self._pending[slot] = (token, fn)
            self._latest[slot] = token
            self._cond.notify()
        return token

    def latest(self, slot: Slot) -> int:
        return self._latest.get(slot, 0)

    def is_busy(self) -> bool:
        with self._cond:
            return self._busy or bool(self._pending)

    def stop(self, timeout_s: float = 10.0) -> bool:
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify()
        ended = self._thread.wait(int(timeout_s * 1000))
        if not ended:
            log.warning("query thread did not stop within %.1f s", timeout_s)
        return ended

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def _next(self) -> Optional[tuple[Slot, int, Callable[[], Any]]]:
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            slot = next(s for s in Slot if s in self._pending)
            token, fn = self._pending.pop(slot)
            self._busy = True
            return slot, token, fn

    def _loop(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            slot, token, fn = item
            try:
                result = fn()
            except Cancelled:
                pass
            except BaseException as exc:  # noqa: BLE001
                if not isinstance(exc, PhotoclipError):
                    log.error("query %s failed:\n%s", slot, traceback.format_exc())
                self.failed.emit(slot, token, describe_error(exc))
            else:
                self.done.emit(slot, token, result)
            finally:
                with self._cond:
                    self._busy = False
