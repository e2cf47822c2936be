"""Move files to the platform's trash (send2trash): never a permanent delete.

Each file is tried on its own, so one that cannot go (permissions, a trash that cannot be made on
its drive) is reported with its reason and the others still go. A file that is no longer there
is reported as gone: nothing was done to it, and the catalog can forget it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .jobs import JobControl
from .paths import display_path

log = logging.getLogger("photoclip.trash")


@dataclass
class TrashReport:
    """What happened to the files asked for."""

    trashed: list[str] = field(default_factory=list)  # files now in the trash
    gone: list[str] = field(default_factory=list)  # files that were no longer there
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why it stayed)
    #: photos the catalog forgot (a RAW+JPEG pair is one photo; both files count in ``trashed``)
    photos_removed: int = 0

    def summary(self) -> str:
        parts = [f"Moved {len(self.trashed):,} file{'s' if len(self.trashed) != 1 else ''} to the trash"]
        if self.gone:
            parts.append(f"{len(self.gone):,} already gone")
        if self.failed:
            parts.append(f"{len(self.failed):,} could not be moved")
        return ", ".join(parts) + "."

    def failure_lines(self, limit: int = 20) -> list[str]:
        lines = [f"{display_path(path)}: {why}" for path, why in self.failed[:limit]]
        if len(self.failed) > limit:
            lines.append(f"… and {len(self.failed) - limit:,} more")
        return lines


def move_to_trash(files: Iterable[str], control: Optional[JobControl] = None,
                  report: Optional[TrashReport] = None) -> TrashReport:
    """Send each file to the trash, one at a time; failures are recorded, not raised."""
    from send2trash import send2trash

    report = report if report is not None else TrashReport()
    for path in dict.fromkeys(os.path.abspath(f) for f in files):
        if control is not None:
            control.checkpoint()
        if not os.path.lexists(path):
            report.gone.append(path)
            continue
        if os.path.isdir(path):
            report.failed.append((path, "is a folder, not a photo"))
            continue
        try:
            send2trash(path)
        except OSError as exc:
            why = exc.strerror or str(exc) or type(exc).__name__
            log.warning("could not move %s to the trash: %s", path, why)
            report.failed.append((path, why))
        except Exception as exc:  # send2trash's platform backends raise their own types
            log.warning("could not move %s to the trash: %s", path, exc)
            report.failed.append((path, str(exc) or type(exc).__name__))
        else:
            if os.path.lexists(path):  # a backend that said yes and did nothing
                report.failed.append((path, "still there after moving it to the trash"))
            else:
                report.trashed.append(path)
    return report
