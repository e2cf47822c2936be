"""Approximate nearest-neighbour index over photo embeddings (hnswlib, cosine space).

The index is a cache: the catalog holds the vectors and the index can always be rebuilt from it.
Everything here is therefore strict about what it loads: any doubt about a file on disk
(missing or stale sidecar, wrong size, wrong checksum, wrong dimension, header that does not
describe this kind of index) raises :class:`IndexCorrupt`, and the caller rebuilds.
hnswlib itself trusts its file completely (garbage neighbour lists crash the process on the
first query), which is why the bytes are checked before hnswlib ever sees them.

File layout for ``save(path)``::

    path          hnswlib's own binary format
    path.json     {"format": 1, "dim", "count", "elements", "file_size", "crc32",
                   "deleted": [...], "ef_search", "meta": {...}}

Both files are written to temporary names in the same directory, fsynced and then moved into
place with ``os.replace``; a crash between the two moves leaves a pair whose checksum does not
match, which loads as ``IndexCorrupt`` (never as a silently wrong index).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import struct
import threading
import zlib
from typing import Iterable

import hnswlib
import numpy as np

log = logging.getLogger("photoclip.vector_index")

FORMAT = 1

# Defaults from benchmarks/bench_search.py on clustered 512-d vectors (2 shared cores): at 100k,
# ef_search 64 gave recall@10 0.990 (p50 0.45 ms) and 128 gave 1.000 (p50 0.9 ms), against
# 24-60 ms for exact numpy search. 128 leaves headroom for bigger libraries, where recall at a
# fixed ef drops; ef_construction 100 scored the same at 100k, 200 is kept for 1M-size graphs.
DEFAULT_M = 16
DEFAULT_EF_CONSTRUCTION = 200
DEFAULT_EF_SEARCH = 128

_INITIAL_CAPACITY = 1024
# Vectors per locked add_items call: a long add never blocks a concurrent query for long.
_ADD_CHUNK = 2048
# When fewer than a quarter of the graph's nodes are live and at most this many, exact search.
_EXACT_MAX = 50_000

# hnswlib 0.8 HierarchicalNSW::saveIndex header: offsetLevel0, max_elements, cur_element_count,
# size_data_per_element, label_offset, offsetData (size_t each), maxlevel (int),
# enterpoint_node (uint32), maxM, maxM0, M (size_t), mult (double), ef_construction (size_t).
_HEADER = struct.Struct("<QQQQQQiIQQQdQ")


class IndexCorrupt(Exception):
    """An index file cannot be used: missing, truncated, garbage, or made for another setup."""


class VectorIndex:
    """hnswlib index in cosine space over float32 unit vectors; labels are int ids (catalog vector ids).

    Thread-safe: queries may run while another thread adds, removes or saves.
    """

    def __init__(
        self,
        dim: int,
        *,
        M: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef_search: int = DEFAULT_EF_SEARCH,
        threads: int | None = None,
        capacity: int = _INITIAL_CAPACITY,
    ) -> None:
        self._setup(dim, M, ef_construction, ef_search, threads)
        self._index.init_index(
            max_elements=max(1, int(capacity)),
            ef_construction=self.ef_construction,
            M=self.M,
            random_seed=100,
            allow_replace_deleted=True,
        )
        self._index.set_num_threads(self.threads)

    def _setup(self, dim: int, M: int, ef_construction: int, ef_search: int,
               threads: int | None) -> None:
        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        if M < 2 or ef_construction < 1 or ef_search < 1:
            raise ValueError("M must be >= 2, ef_construction and ef_search >= 1")
        self.dim = int(dim)
        self.M = int(M)
        self.ef_construction = int(ef_construction)
        self.ef_search = int(ef_search)
        self.threads = max(1, int(threads or os.cpu_count() or 1))
        self.meta: dict = {}
        self._lock = threading.RLock()
        self._live: set[int] = set()
        # Labels that were removed and may still sit (marked deleted) in the hnswlib graph.
        # A superset: hnswlib may recycle a deleted slot for a new label without telling us.
        self._deleted: set[int] = set()
        self._index = hnswlib.Index(space="cosine", dim=self.dim)

    # ------------------------------------------------------------------ contents

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)

    def __contains__(self, id) -> bool:
        try:
            key = int(id)
        except (TypeError, ValueError):
            return False
        with self._lock:
            return key in self._live

    def ids(self) -> np.ndarray:
        """Live ids, ascending."""
        with self._lock:
            out = np.fromiter(self._live, dtype=np.int64, count=len(self._live))
        out.sort()
        return out

    @property
    def capacity(self) -> int:
        return self._index.get_max_elements()

    # ------------------------------------------------------------------ changes

    def add(self, ids, vectors) -> None:
        """Add vectors under ids; an id already present (live or removed) gets the new vector."""
        ids = np.asarray(ids).reshape(-1)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors.reshape(1, -1)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"vectors must have shape (n, {self.dim}), got {vectors.shape}")
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids) == 0:
            return
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be integers, got {ids.dtype}")
        ids = ids.astype(np.int64)
        if (ids < 0).any():
            raise ValueError("ids must be non-negative")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or infinity")
        # Duplicate ids in one call: the last vector wins, as if added one after the other.
        uniq, first_in_reversed = np.unique(ids[::-1], return_index=True)
        if len(uniq) != len(ids):
            keep = np.sort(len(ids) - 1 - first_in_reversed)
            ids, vectors = ids[keep], vectors[keep]
        vectors = np.ascontiguousarray(vectors)
        for start in range(0, len(ids), _ADD_CHUNK):
            with self._lock:
                self._add_locked(ids[start:start + _ADD_CHUNK], vectors[start:start + _ADD_CHUNK])

    def _add_locked(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        index = self._index
        existing = np.zeros(len(ids), dtype=bool)
        unmarked = 0
        for i, label in enumerate(ids.tolist()):
            if label in self._live:
                existing[i] = True
            elif label in self._deleted:
                self._deleted.discard(label)
                try:
                    index.unmark_deleted(label)
                except RuntimeError:
                    continue  # its slot was recycled for another label: a new label again
                existing[i] = True
                unmarked += 1
        # Slots of removed ids are recycled for new ids (replace_deleted) before the graph grows.
        free = index.element_count - len(self._live) - unmarked
        needed = index.element_count + max(0, int((~existing).sum()) - free)
        if needed > index.get_max_elements():
            new_capacity = max(1, index.get_max_elements())
            while new_capacity < needed:
                new_capacity *= 2
            log.debug("growing index capacity %d -> %d", index.get_max_elements(), new_capacity)
            index.resize_index(new_capacity)
        if existing.any():
            # The update path; never replace_deleted here, that would give one label two slots.
            index.add_items(vectors[existing], ids[existing], num_threads=self.threads)
        if not existing.all():
            index.add_items(vectors[~existing], ids[~existing], num_threads=self.threads,
                            replace_deleted=True)
        self._live.update(ids.tolist())

    def remove(self, ids) -> None:
        """Remove ids; unknown or already removed ids are ignored."""
        if np.isscalar(ids):
            ids = [ids]
        labels = [int(i) for i in np.asarray(ids).reshape(-1).tolist()]
        with self._lock:
            for label in labels:
                if label not in self._live:
                    continue
                self._index.mark_deleted(label)
                self._live.discard(label)
                self._deleted.add(label)

    # ------------------------------------------------------------------ search

    def query(self, vector, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest live ids and their cosine similarity, best first."""
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dim:
            raise ValueError(f"query must have {self.dim} values, got {vector.shape[0]}")
        with self._lock:
            k = min(int(k), len(self._live))
            if k <= 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            total = self._index.element_count
            if len(self._live) <= _EXACT_MAX and len(self._live) * 4 < total:
                # Mostly deleted graph: hnswlib would wade through dead nodes; exact is cheaper.
                return self._exact_query_locked(vector, k)
            ef = max(self.ef_search, k)
            while True:
                self._index.set_ef(ef)
                try:
                    labels, distances = self._index.knn_query(vector, k=k, num_threads=1)
                    return labels[0].astype(np.int64), np.clip(1.0 - distances[0], -1.0, 1.0).astype(np.float32)
                except RuntimeError:
                    # Too few live nodes reachable (many deletions): widen the search.
                    if ef >= total:
                        break
                    ef = min(total, ef * 4)
            log.info("approximate search found fewer than %d results; using exact search", k)
            return self._exact_query_locked(vector, k)

    def query_many(self, vectors, k: int, ef: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest live ids of each row and their cosine similarity, best first; rows
        with fewer reachable neighbours are padded with id -1 and similarity -1. ``ef`` trades
        recall for speed (default: the index's ef_search)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        with self._lock:
            k = min(int(k), len(self._live))
            n = vectors.shape[0]
            if k <= 0 or n == 0:
                return np.full((n, 0), -1, np.int64), np.full((n, 0), -1.0, np.float32)
            try:
                self._index.set_ef(max(ef or self.ef_search, k))
                labels, distances = self._index.knn_query(vectors, k=k, num_threads=self.threads)
                return labels.astype(np.int64), np.clip(1.0 - distances, -1.0, 1.0).astype(np.float32)
            except RuntimeError:
                pass  # some row reached fewer than k live nodes: answer row by row
            ids = np.full((n, k), -1, np.int64)
            sims = np.full((n, k), -1.0, np.float32)
            for row in range(n):
                got_ids, got_sims = self.query(vectors[row], k)
                ids[row, :len(got_ids)] = got_ids
                sims[row, :len(got_sims)] = got_sims
            return ids, sims

    def _exact_query_locked(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = vector / max(float(np.linalg.norm(vector)), 1e-30)
        live = np.fromiter(self._live, dtype=np.int64, count=len(self._live))
        scores = np.empty(len(live), dtype=np.float32)
        for start in range(0, len(live), 8192):
            chunk = live[start:start + 8192]
            # hnswlib stores cosine-space vectors normalised.
            scores[start:start + len(chunk)] = np.asarray(self._index.get_items(chunk), np.float32) @ q
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return live[top], scores[top]

    # ------------------------------------------------------------------ persistence

    def save(self, path: str) -> None:
        """Write the index to path and its sidecar to path + ".json", atomically."""
        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        tmp = f"{path}.tmp-{os.getpid()}"
        tmp_json = f"{path}.json.tmp-{os.getpid()}"
        try:
            with self._lock:
                self._index.save_index(tmp)
                expected = self._index.index_file_size()
                labels = self._index.get_ids_list()
                live = set(self._live)
                meta = json.loads(json.dumps(self.meta))  # a snapshot; fails early if not JSON
            # hnswlib writes with an unchecked ofstream: a full disk shows up only as a short file.
            size = os.path.getsize(tmp)
            if size != expected:
                raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}: index file {tmp} is {size} bytes, "
                                            f"expected {expected}")
            with open(tmp, "rb+") as f:
                crc = _crc32(f)
                os.fsync(f.fileno())
            deleted = sorted(set(labels) - live)
            sidecar = {
                "format": FORMAT,
                "dim": self.dim,
                "count": len(live),
                "elements": len(labels),
                "file_size": size,
                "crc32": crc,
                "ef_search": self.ef_search,
                "deleted": deleted,
                "meta": meta,
            }
            with open(tmp_json, "w", encoding="utf-8") as f:
                json.dump(sidecar, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            os.replace(tmp_json, path + ".json")
        except BaseException:
            for leftover in (tmp, tmp_json):
                try:
                    os.unlink(leftover)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    log.warning("could not remove %s: %s", leftover, e)
            raise
        _fsync_dir(directory)
        log.debug("saved index %s: %d live, %d elements, %d bytes", path, len(live), len(labels), size)

    @classmethod
    def load(cls, path: str, dim: int, *, ef_search: int | None = None,
             threads: int | None = None) -> "VectorIndex":
        """Load an index written by save(); raises IndexCorrupt if it cannot be trusted."""
        path = os.fspath(path)
        sidecar = _read_sidecar(path + ".json", dim)
        try:
            size = os.path.getsize(path)
        except OSError as e:
            raise IndexCorrupt(f"index file {path} cannot be read: {e}") from e
        if size != sidecar["file_size"]:
            raise IndexCorrupt(
                f"index file {path} is {size} bytes, its sidecar says {sidecar['file_size']}")
        try:
            with open(path, "rb") as f:
                header = _check_header(f.read(_HEADER.size), dim, sidecar)
                f.seek(0)
                crc = _crc32(f)
        except OSError as e:
            raise IndexCorrupt(f"index file {path} cannot be read: {e}") from e
        if crc != sidecar["crc32"]:
            raise IndexCorrupt(f"index file {path} does not match its sidecar (checksum)")

        self = cls.__new__(cls)
        self._setup(dim, header["M"], header["ef_construction"],
                    ef_search or sidecar.get("ef_search") or DEFAULT_EF_SEARCH, threads)
        try:
            self._index.load_index(path, max_elements=0, allow_replace_deleted=True)
        except (RuntimeError, MemoryError, ValueError) as e:
            raise IndexCorrupt(f"index file {path} cannot be loaded: {e}") from e
        self._index.set_num_threads(self.threads)
        labels = self._index.get_ids_list()
        deleted = set(sidecar["deleted"])
        live = set(labels) - deleted
        if (len(labels) != sidecar["elements"] or len(live) != sidecar["count"]
                or not deleted.issubset(labels)):
            raise IndexCorrupt(f"index file {path} does not match its sidecar (counts)")
        self._live = live
        self._deleted = deleted
        self.meta = sidecar["meta"]
        log.debug("loaded index %s: %d live of %d elements", path, len(live), len(labels))
        return self


def _crc32(f) -> int:
    crc = 0
    # 1 MiB at a time: making a buffer zeroes it with the GIL held (a 16 MiB one kept every other
    # thread, the GUI's included, waiting ~10 ms at each save); zlib.crc32 releases the GIL.
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    while True:
        n = f.readinto(buf)
        if not n:
            return crc
        crc = zlib.crc32(view[:n], crc)


def _fsync_dir(directory: str) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_sidecar(json_path: str, dim: int) -> dict:
    try:
        with open(json_path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise IndexCorrupt(f"index sidecar {json_path} cannot be read: {e}") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise IndexCorrupt(f"index sidecar {json_path} has an unknown format")

    def is_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if not all(is_int(data.get(key)) for key in ("dim", "count", "elements", "file_size", "crc32")):
        raise IndexCorrupt(f"index sidecar {json_path} is incomplete")
    if not isinstance(data.get("deleted"), list) or not all(is_int(v) for v in data["deleted"]):
        raise IndexCorrupt(f"index sidecar {json_path} is incomplete")
    if not isinstance(data.get("meta"), dict):
        raise IndexCorrupt(f"index sidecar {json_path} is incomplete")
    ef = data.get("ef_search")
    if ef is not None and not (is_int(ef) and ef > 0):
        raise IndexCorrupt(f"index sidecar {json_path} is incomplete")
    if data["dim"] != dim:
        raise IndexCorrupt(f"index has {data['dim']} dimensions, the model has {dim}")
    if data["count"] + len(data["deleted"]) != data["elements"]:
        raise IndexCorrupt(f"index sidecar {json_path} is inconsistent")
    return data


def _check_header(raw: bytes, dim: int, sidecar: dict) -> dict:
    """Check hnswlib's header describes a cosine index of this dim with sidecar's element count."""
    if len(raw) != _HEADER.size:
        raise IndexCorrupt("index file is truncated")
    (offset_level0, max_elements, count, size_per_element, label_offset, offset_data,
     max_level, enterpoint, max_m, max_m0, m, mult, ef_construction) = _HEADER.unpack(raw)
    links0 = max_m0 * 4 + 4
    ok = (
        offset_level0 == 0
        and 2 <= m <= 4096 and max_m == m and max_m0 == 2 * m
        and offset_data == links0
        and label_offset == links0 + dim * 4
        and size_per_element == label_offset + 8
        and count == sidecar["elements"] <= max_elements <= (1 << 32)
        and (enterpoint < count and 0 <= max_level < 64 if count else max_level == -1)
        and 0 < ef_construction < (1 << 20)
        and 0.0 < mult < 10.0
    )
    if not ok:
        raise IndexCorrupt("index file header does not describe this index")
    return {"M": int(m), "ef_construction": int(ef_construction)}
