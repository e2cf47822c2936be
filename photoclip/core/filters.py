"""What the user narrowed the library to: one typed value from the sidebar, the filter bar and the
command line, through ``Library`` to the catalog's SQL (``Catalog._filter_sql``).

A new filter is a field here and its clause in ``Catalog._filter_sql``; the GUI and the CLI only
fill it in.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class PhotoFilter:
    """Empty (all photos), or any combination of the fields: a photo must match every one set."""
    folder: Optional[str] = None              # a library folder (absolute path)
    tag: Optional[tuple[str, str]] = None     # (tag set, label); a tag view is ordered by the tag's score
    # The photos' own metadata (camera, date, place, kind) is the next to land here.

    def __post_init__(self) -> None:
        if self.folder is not None:
            object.__setattr__(self, "folder", os.path.abspath(self.folder))
        if self.tag is not None:
            tag_set, label = self.tag
            object.__setattr__(self, "tag", (str(tag_set), str(label)))

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))

    def but(self, **changes) -> "PhotoFilter":
        """A copy with some fields changed (``None`` clears one)."""
        return dataclasses.replace(self, **changes)


ALL_PHOTOS = PhotoFilter()

