"""What the user narrowed the library to: one typed value from the sidebar, the filter bar and the
command line, through ``Library`` to the catalog's SQL (``Catalog._filter_sql``).

A new filter is a field here and its clause in ``Catalog._filter_sql``; the GUI and the CLI only
fill it in.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class PhotoFilter:
    """Empty (all photos), or any combination of the fields: a photo must match every one set."""
    folder: Optional[str] = None              # a library folder (absolute path)
    directory: Optional[str] = None           # any folder (absolute path): the photos in it ...
    deeper: bool = True                       # ... and, unless False, in every folder below it
    tag: Optional[tuple[str, str]] = None     # (tag set, label); a tag view is ordered by the tag's score
    # the photos' own metadata
    after: Optional[str] = None               # "YYYY-MM-DD": taken on or after that day
    before: Optional[str] = None              # "YYYY-MM-DD": taken on or before that day
    camera: Optional[str] = None              # part of the camera's make or model, any case
    lens: Optional[str] = None                # part of the lens's name, any case
    place: Optional[str] = None               # part of the place's name ("Lisbon", "Portugal"), any case
    kind: Optional[str] = None                # one of filters.KINDS: raw, jpeg, heic, png, other
    has_gps: Optional[bool] = None            # True: with a position; False: without

    def __post_init__(self) -> None:
        if self.folder is not None:
            object.__setattr__(self, "folder", os.path.abspath(self.folder))
        if self.directory is not None:
            object.__setattr__(self, "directory", os.path.abspath(self.directory))
        # ``deeper`` only qualifies a directory: without one it is always True, so equal filters compare equal
        object.__setattr__(self, "deeper", True if self.directory is None else bool(self.deeper))
        if self.tag is not None:
            tag_set, label = self.tag
            object.__setattr__(self, "tag", (str(tag_set), str(label)))
        for name in ("after", "before"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, parse_day(value).isoformat())
        for name in ("camera", "lens", "place"):
            value = getattr(self, name)
            if value is not None:
                value = str(value).strip()
                object.__setattr__(self, name, value or None)
        if self.kind is not None:
            kind = str(self.kind).strip().lower()
            if kind not in KINDS:
                raise ValueError(f"unknown kind of file {self.kind!r} (one of: {', '.join(KINDS)})")
            object.__setattr__(self, "kind", kind)
        if self.after and self.before and self.after > self.before:
            raise ValueError(f"the date range is empty: after {self.after} but before {self.before}")

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self) if f.name != "deeper")

    def but(self, **changes) -> "PhotoFilter":
        """A copy with some fields changed (``None`` clears one)."""
        return dataclasses.replace(self, **changes)


ALL_PHOTOS = PhotoFilter()

#: the kinds of file a filter can ask for (metadata.file_kind gives each photo one)
KINDS = ("raw", "jpeg", "heic", "png", "other")

#: the orders a search's results can come in (``Library.search(sort=)``)
SEARCH_ORDERS = ("relevance", "taken", "name", "size")


def parse_day(value) -> _dt.date:
    """"2024-06-15" (or a date) -> a date; anything else is a ValueError that says what is expected."""
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"not a date: {value!r} (expected YYYY-MM-DD, e.g. 2024-06-15)") from None


def next_day(day: str) -> str:
    return (parse_day(day) + _dt.timedelta(days=1)).isoformat()

