"""Progress reporting and cancel/pause control shared by every long job."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import Cancelled


@dataclass(frozen=True)
class Progress:
    phase: str
    done: int
    total: int
    rate: Optional[float] = None
    eta_s: Optional[float] = None
    message: str = ""
    current: Optional[str] = None


ProgressCallback = Callable[[Progress], None]


class JobControl:
    """Thread-safe cancel and pause flags that a job checks between steps."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def checkpoint(self) -> None:
        """Block while paused; raise Cancelled once cancelled."""
        while not self._running.wait(0.1):
            pass
        if self._cancel.is_set():
            raise Cancelled()


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class RateMeter:
    """Items per second over a sliding window, and the time left."""

    def __init__(self, total: int, window_s: float = 20.0) -> None:
        self.total = total
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, done: int) -> tuple[Optional[float], Optional[float]]:
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()
        t0, d0 = self._samples[0]
        if now - t0 < 0.5 or done <= d0:
            return None, None
        rate = (done - d0) / (now - t0)
        return rate, (self.total - done) / rate if rate > 0 else None


def describe(verb: str, done: int, total: int, rate: Optional[float], eta_s: Optional[float], unit: str = "photos") -> str:
    text = f"{verb} — {done:,} / {total:,}"
    if rate:
        text += f" · {rate:.1f} {unit}/s"
    if eta_s is not None and done < total:
        text += f" · {format_duration(eta_s)} left"
    return text
