"""Which problems are worth trying again, and when.

A file that could not be read because of a passing condition (an I/O error, a busy file, a file
that vanished during a move) is tried again on a later scan, each time waiting twice as long
(a minute, two, four, ... at most a day). The number of tries so far is written in the problem's
reason, where a user sees it too; the problem's time is when it was last tried. Every other
problem (not an image, corrupt, too large) stays until the file's size or mtime changes.
"""

from __future__ import annotations

import errno
import re
from typing import Optional

#: errno values that say "not now" rather than "never".
TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name) for name in ("EIO", "EBUSY", "ENOENT", "EAGAIN", "EWOULDBLOCK", "EINTR", "ETIMEDOUT",
                                      "ESTALE", "ETXTBSY", "ENOLCK", "EDEADLK", "ENOMEDIUM", "ENXIO")
    if hasattr(errno, name))

FIRST_RETRY_S = 60.0
LONGEST_WAIT_S = 24 * 3600.0

_TRIES = re.compile(r" \(tried (\d+) times?; tried again on a later scan\)$")


def is_transient(exc: BaseException) -> bool:
    """Whether an OSError is of a kind that may well not happen next time."""
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


def transient_reason(reason: str, previous: Optional[str] = None) -> str:
    """``reason`` marked as worth trying again, counting the tries recorded in ``previous``."""
    tries = (tries_of(previous) or 0) + 1
    return f"{reason} (tried {tries} time{'s' if tries > 1 else ''}; tried again on a later scan)"


def tries_of(reason: Optional[str]) -> Optional[int]:
    """How often a transient problem was tried; None for a problem that is not tried again."""
    m = _TRIES.search(reason or "")
    return int(m.group(1)) if m else None


def retry_after(tries: int) -> float:
    """Seconds to wait after the ``tries``-th failure: a minute, then twice as long each time, at most a day."""
    return min(FIRST_RETRY_S * 2.0 ** min(max(tries, 1) - 1, 32), LONGEST_WAIT_S)


def retry_due(reason: str, at: float, now: float) -> bool:
    """Whether a problem recorded at ``at`` should be tried again at ``now``."""
    tries = tries_of(reason)
    return tries is not None and now - at >= retry_after(tries)
