"""Exact and near-duplicate photos, grouped, each group with the photo to keep.

Exact duplicates share a content fingerprint (the catalog already knows them: one vector, several
paths). Near-duplicates are different files whose CLIP vectors are closer than a cosine threshold:
the same picture resized, recompressed, lightly cropped or edited. Neighbours come from the
library's hnswlib index (no new index is built), links are merged transitively with a union-find,
and a group never grows past ``max_group`` photos, so a chain of slightly similar photos
(a burst, a slow pan) cannot swallow a whole library.

The keeper is the photo a user would most likely keep: the largest resolution, then the earliest
date taken, then a camera RAW over its JPEG, then the larger file, then the shorter path.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterable, Sequence

from .catalog import PhotoRecord
from .images import is_raw_path
from .scanner import fingerprint

log = logging.getLogger("photoclip.duplicates")

#: Default cosine similarity above which two different files count as near-duplicates.
DEFAULT_THRESHOLD = 0.95
#: No group grows past this many photos.
MAX_GROUP = 50


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos that show the same picture; ``photos[0]`` is the proposed keeper."""

    photos: tuple[PhotoRecord, ...]
    #: The lowest similarity of a link that joined the group (1.0 when every file has the same content).
    similarity: float

    @property
    def keeper(self) -> PhotoRecord:
        return self.photos[0]

    @property
    def others(self) -> tuple[PhotoRecord, ...]:
        return self.photos[1:]

    @property
    def exact(self) -> bool:
        return len({p.fingerprint for p in self.photos}) == 1


def keeper_key(photo: PhotoRecord) -> tuple:
    """Sort key: the best photo to keep sorts first."""
    pixels = (photo.width or 0) * (photo.height or 0)
    taken = photo.taken_at or "9999"
    is_raw = is_raw_path(photo.path)  # a RAW is preferred over the JPEG made from it
    return (-pixels, taken, not is_raw, -photo.size, len(photo.path), photo.path)


class _Groups:
    """Union-find over content units with a cap on the merged size (in photos)."""

    def __init__(self, sizes: Sequence[int], cap: int) -> None:
        self.parent = list(range(len(sizes)))
        self.size = list(sizes)
        self.weakest = [1.0] * len(sizes)
        self.cap = cap

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int, similarity: float) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or self.size[ra] + self.size[rb] > self.cap:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        self.weakest[ra] = min(self.weakest[ra], self.weakest[rb], similarity)


def group_duplicates(photos: Sequence[PhotoRecord], links: Iterable[tuple[str, str, float]] = (), *,
                     threshold: float = DEFAULT_THRESHOLD, max_group: int = MAX_GROUP) -> list[DuplicateGroup]:
    """Group ``photos`` (online photos) into duplicate groups of two or more, biggest first.

    Photos with the same fingerprint always group; ``links`` are (fingerprint, fingerprint,
    similarity) pairs of different contents, those at or above ``threshold`` join.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("the similarity threshold must be between 0 and 1")
    by_fp: dict[str, list[PhotoRecord]] = {}
    for p in photos:
        by_fp.setdefault(p.fingerprint, []).append(p)
    unit = {fp: i for i, fp in enumerate(by_fp)}
    groups = _Groups([len(m) for m in by_fp.values()], max(2, max_group))
    for a, b, sim in links:
        if sim >= threshold and a != b and a in unit and b in unit:
            groups.join(unit[a], unit[b], sim)

    members: dict[int, list[PhotoRecord]] = {}
    for fp, i in unit.items():
        members.setdefault(groups.find(i), []).extend(by_fp[fp])
    out = [DuplicateGroup(tuple(sorted(m, key=keeper_key)), groups.weakest[root])
           for root, m in members.items() if len(m) > 1]
    out.sort(key=lambda g: (-len(g.photos), g.keeper.path))
    return out


def still_there(photo: PhotoRecord) -> bool:
    """Whether the file at ``photo.path`` still has the content the catalog knows it by: the same
    size and mtime, and (it is opened) the same fingerprint. A copy deleted or replaced since the
    last index must not be offered as a duplicate."""
    try:
        st = os.stat(photo.path)
        if (st.st_size, st.st_mtime_ns) != (photo.size, photo.mtime_ns):
            return False
        return fingerprint(photo.path, st.st_size) == photo.fingerprint
    except OSError:  # gone, unreadable, or not a regular file any more
        return False


def verified(groups: Sequence[DuplicateGroup], links: Sequence[tuple[str, str, float]] = (), *,
             threshold: float = DEFAULT_THRESHOLD, max_group: int = MAX_GROUP) -> list[DuplicateGroup]:
    """``groups`` regrouped without the photos that are not :func:`still_there` (each is opened)."""
    photos = [p for g in groups for p in g.photos]
    kept = [p for p in photos if still_there(p)]
    if len(kept) == len(photos):
        return list(groups)
    log.info("%d photo(s) changed or went away since the last index; not listed as duplicates",
             len(photos) - len(kept))
    return group_duplicates(kept, links, threshold=threshold, max_group=max_group)
