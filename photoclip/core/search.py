"""Text, image and combined queries over a model's vectors, with '-term' to push a concept away."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np

from .catalog import Catalog, PhotoRecord
from .errors import PhotoclipError
from .index_cache import IndexCache

log = logging.getLogger("photoclip.search")

NEGATIVE_WEIGHT = 1.0
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')


@dataclass(frozen=True)
class SearchResult:
    path: str
    score: float
    photo_id: int
    folder: str
    width: Optional[int] = None
    height: Optional[int] = None
    taken_at: Optional[str] = None
    #: Why the photo ranks first regardless of its score: "name" (its file or folder name holds
    #: the query) or "tag" (it has a tag with that label); None for a plain CLIP match.
    match: Optional[str] = None
    camera: Optional[str] = None
    lens: Optional[str] = None
    place: Optional[str] = None
    kind: Optional[str] = None
    size: Optional[int] = None  # bytes


#: at least this many results are always shown, weak or not (about a screenful)
MIN_STRONG = 12
#: a result is weak when its score is further below the best than this share of the distance
#: from the best to the typical (median) result
WEAK_SHARE = 0.5


def split_weak(results: Sequence[SearchResult]) -> tuple[list[SearchResult], list[SearchResult]]:
    """(the strong results, the weak tail), each in the given order. Name and tag matches are
    always strong; of the rest, a score far below the best is weak (the "show N weaker matches"
    cut-off), but the MIN_STRONG best are kept whatever their scores."""
    ranked = sorted((r.score for r in results if r.match is None), reverse=True)
    if len(ranked) <= MIN_STRONG:
        return list(results), []
    best, median = ranked[0], ranked[len(ranked) // 2]
    cut = min(best - WEAK_SHARE * (best - median), ranked[MIN_STRONG - 1])
    strong = [r for r in results if r.match is not None or r.score >= cut]
    weak = [r for r in results if r.match is None and r.score < cut]
    return strong, weak


def sort_results(results: list[SearchResult], order: str) -> list[SearchResult]:
    """Results in one of filters.SEARCH_ORDERS: "relevance" as ranked, "taken" newest first,
    "name" by file name, "size" largest first."""
    if order == "taken":
        return sorted(results, key=lambda r: r.taken_at or "", reverse=True)
    if order == "name":
        return sorted(results, key=lambda r: (os.path.basename(r.path).casefold(), r.path))
    if order == "size":
        return sorted(results, key=lambda r: -(r.size or 0))
    return list(results)


#: A query shorter than this never matches names (every "a" would).
MIN_NAME_MATCH = 3


def name_term(text: Optional[str]) -> Optional[str]:
    """The part of a text query that is matched against file/folder names and tag labels."""
    positive, _ = parse_query(text or "")
    positive = positive.strip()
    return positive if len(positive) >= MIN_NAME_MATCH else None


def parse_query(text: str) -> tuple[str, list[str]]:
    """'portrait -sunglasses -"night sky"' -> ('portrait', ['sunglasses', 'night sky'])."""
    positive, negative = [], []
    for m in _TOKEN.finditer(text or ""):
        if m.group(2) is not None:
            (negative if m.group(1) else positive).append(m.group(2).strip())
            continue
        word = m.group(3)
        if word.startswith("-") and len(word) > 1:
            negative.append(word[1:])
        elif word != "-":
            positive.append(word)
    return " ".join(p for p in positive if p), [n for n in negative if n]


def normalize(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def text_query_vector(embedder, text: str) -> Optional[np.ndarray]:
    positive, negative = parse_query(text)
    texts = ([positive] if positive else []) + negative
    if not texts:
        return None
    vecs = embedder.encode_texts(texts)
    q = vecs[0].copy() if positive else np.zeros(vecs.shape[1], np.float32)
    for v in vecs[1 if positive else 0:]:
        q -= NEGATIVE_WEIGHT * v
    return normalize(q)


def combine(text_vec: Optional[np.ndarray], image_vec: Optional[np.ndarray], weight: float) -> np.ndarray:
    """weight is the image's share (0 = text only, 1 = image only)."""
    if text_vec is None and image_vec is None:
        raise PhotoclipError("Type something to search for, or give a photo to find similar ones.")
    if text_vec is None:
        return normalize(image_vec)
    if image_vec is None:
        return normalize(text_vec)
    weight = min(max(weight, 0.0), 1.0)
    return normalize((1 - weight) * text_vec + weight * image_vec)


class Searcher:
    def __init__(self, catalog: Catalog, index_cache: IndexCache) -> None:
        self.catalog = catalog
        self.index_cache = index_cache

    def query(self, model_id: int, q: np.ndarray, limit: int = 50,
              candidates: Optional[Sequence[PhotoRecord]] = None,
              exclude_photo: Optional[int] = None) -> list[SearchResult]:
        """Best photos for a query vector: hnswlib over everything, or exact over a candidate subset."""
        q = np.asarray(q, dtype=np.float32)
        if candidates is not None:
            return self._exact(model_id, q, limit, candidates, exclude_photo)
        index = self.index_cache.index(model_id)
        want = limit + 8
        while True:
            ids, scores = index.query(q, min(want, len(index)))
            results = self._resolve(ids, scores, exclude_photo)
            if len(results) >= limit or len(ids) >= len(index):
                return results[:limit]
            want *= 4  # vectors of offline or deleted photos took places: ask for more

    def _resolve(self, ids: np.ndarray, scores: np.ndarray, exclude_photo: Optional[int]) -> list[SearchResult]:
        found = self.catalog.vectors_for_ids(ids)
        by_fp = self.catalog.photos_by_fingerprints([found[int(i)][0] for i in ids if int(i) in found])
        results = []
        for vid, score in zip(ids, scores):
            hit = found.get(int(vid))
            if hit is None:
                continue
            for rec in by_fp.get(hit[0], ()):
                if rec.id != exclude_photo:
                    results.append(_result(rec, float(score)))
        return results

    def _exact(self, model_id: int, q: np.ndarray, limit: int, candidates: Sequence[PhotoRecord],
               exclude_photo: Optional[int]) -> list[SearchResult]:
        recs = [r for r in candidates if not r.offline and r.id != exclude_photo]
        vectors = self.catalog.vectors_for_fingerprints(model_id, [r.fingerprint for r in recs])
        recs = [r for r in recs if r.fingerprint in vectors]
        if not recs:
            return []
        scores = np.stack([vectors[r.fingerprint] for r in recs]) @ q
        scored = list(zip(scores.tolist(), recs))
        scored.sort(key=lambda t: (-t[0], t[1].path))
        return [_result(rec, s) for s, rec in scored[:limit]]


    def with_name_matches(self, model_id: int, q: np.ndarray, term: str, ranked: list[SearchResult],
                          limit: int, candidates: Optional[Sequence[PhotoRecord]] = None) -> list[SearchResult]:
        """``ranked`` with the photos whose name or tag label matches ``term`` moved first
        (each group in CLIP order), cut to ``limit``."""
        named = self.catalog.photos_named(term)
        labelled = self.catalog.photos_labelled(term, model_id)
        if candidates is not None:
            allowed = {r.id for r in candidates}
            named = [r for r in named if r.id in allowed]
            labelled = [r for r in labelled if r.id in allowed]
        first: list[SearchResult] = []
        seen: set[int] = set()
        for kind, recs in (("name", named), ("tag", labelled)):
            recs = [r for r in recs if r.id not in seen]
            scored = {r.photo_id: r.score for r in self._exact(model_id, q, len(recs), recs, None)}
            for rec in sorted(recs, key=lambda r: (-scored.get(r.id, -2.0), r.path)):
                first.append(replace(_result(rec, scored.get(rec.id, 0.0)), match=kind))
                seen.add(rec.id)
        rest = [r for r in ranked if r.photo_id not in seen]
        return (first + rest)[:limit]


def _result(rec: PhotoRecord, score: float) -> SearchResult:
    return SearchResult(rec.path, score, rec.id, rec.folder, rec.width, rec.height, rec.taken_at,
                        camera=rec.camera, lens=rec.lens, place=rec.place, kind=rec.kind, size=rec.size)


def as_result(rec: PhotoRecord) -> SearchResult:
    """A browsed photo in a result's shape (no score: a query-less, filtered listing)."""
    return _result(rec, 0.0)
