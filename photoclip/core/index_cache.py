"""Keeps each model's hnswlib index (a cache) in step with the catalog (the source of truth).

On first use an index file is loaded and checked against the catalog; a missing, corrupt or
foreign file is rebuilt from the catalog's vectors. Before every query the catalog's
``data_version`` tells whether anyone (this process or another) committed since; if so, the
vectors added since are added and, if vectors were deleted, the index's ids are reconciled.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .catalog import Catalog
from .errors import StorageError
from .vector_index import IndexCorrupt, VectorIndex

log = logging.getLogger("photoclip.index_cache")

SAVE_INTERVAL_S = 30.0


class _Entry:
    def __init__(self, index: VectorIndex, model_id: int, name: str) -> None:
        self.index = index
        self.model_id = model_id
        self.name = name
        self.max_id = int(index.meta.get("max_id", 0))
        self.deleted_seq = int(index.meta.get("deleted_seq", 0))
        # PRAGMA data_version is per connection, and the catalog has one connection per thread.
        self.data_versions: dict[int, int] = {}
        self.dirty = False
        self.saved_at = time.monotonic()


class IndexCache:
    def __init__(self, catalog: Catalog, root: str | os.PathLike) -> None:
        self.catalog = catalog
        self.dir = Path(root) / "index"
        #: Indexes with more vectors than this are written only by a final save (``close``).
        #: hnswlib holds the GIL while it writes a file (~5 us a vector: 0.5 s for 100,000), so
        #: an app keeping a window responsive defers those saves; the file is a cache, and after a
        #: crash the vectors it misses are added back from the catalog (GIL released) on next use.
        self.hold_saves_above: Optional[int] = None
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.RLock()
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Temporary files of saves that a killed process never finished (they can be large)."""
        try:
            leftovers = list(self.dir.glob("*.tmp-*"))
        except OSError:
            return
        for path in leftovers:
            pid = path.name.rsplit(".tmp-", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                try:
                    path.unlink()
                except OSError:
                    pass

    def path_for(self, model_id: int) -> Path:
        return self.dir / f"model-{model_id}.hnsw"

    def index(self, model_id: int) -> VectorIndex:
        """The synced index of a model (loading or rebuilding it on first use)."""
        with self._lock:
            return self._synced_entry(model_id).index

    def _synced_entry(self, model_id: int) -> _Entry:
        """The model's entry (opened on first use), caught up with the catalog. Call with the lock held."""
        entry = self._entries.get(model_id)
        if entry is None:
            entry = self._open(model_id)
            self._entries[model_id] = entry
        # Catch up first: max_id only advances over ids the index really holds (a stale file from a
        # killed run, or vectors another process committed before ours, would otherwise be skipped).
        self._sync(entry)
        return entry

    def _open(self, model_id: int) -> _Entry:
        row = next((m for m in self.catalog.models() if m.id == model_id), None)
        if row is None:
            raise KeyError(model_id)
        name, dim = row.name, row.dim
        path = self.path_for(model_id)
        if path.exists():
            try:
                index = VectorIndex.load(str(path), dim)
                if index.meta.get("model") != name:
                    raise IndexCorrupt(f"index file belongs to {index.meta.get('model')!r}")
                entry = _Entry(index, model_id, name)
                if entry.max_id > self.catalog.max_vector_id(model_id):
                    raise IndexCorrupt("index is ahead of the catalog")
                return entry
            except IndexCorrupt as exc:
                log.warning("index %s is stale or corrupt (%s); rebuilding it from the catalog", path, exc)
        return self._rebuild(model_id, name, dim)

    def _rebuild(self, model_id: int, name: str, dim: int) -> _Entry:
        started = time.monotonic()
        index = VectorIndex(dim)
        entry = _Entry(index, model_id, name)
        entry.deleted_seq = self.catalog.vectors_deleted()
        for ids, mat in self.catalog.iter_vectors(model_id):
            index.add(ids, mat)
            entry.max_id = int(ids[-1])
        entry.dirty = True
        entry.data_versions[threading.get_ident()] = self.catalog.data_version()
        log.info("built index of %d vectors for %s in %.1f s", len(index), name, time.monotonic() - started)
        if not self._held(entry):
            self._save(entry)
        return entry

    def _sync(self, entry: _Entry) -> None:
        version = self.catalog.data_version()
        thread = threading.get_ident()
        if entry.data_versions.get(thread) == version:
            return
        entry.data_versions[thread] = version
        for ids, mat in self.catalog.iter_vectors(entry.model_id, after_id=entry.max_id):
            entry.index.add(ids, mat)
            entry.max_id = int(ids[-1])
            entry.dirty = True
        deleted_seq = self.catalog.vectors_deleted()
        if deleted_seq != entry.deleted_seq:
            live = set(self.catalog.vector_ids(entry.model_id).tolist())
            stale = [i for i in entry.index.ids().tolist() if i not in live]
            if stale:
                entry.index.remove(np.asarray(stale, dtype=np.int64))
                entry.dirty = True
            entry.deleted_seq = deleted_seq

    def add(self, model_id: int, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Vectors just committed to the catalog."""
        with self._lock:
            entry = self._synced_entry(model_id)
            missing = [k for k, i in enumerate(ids) if int(i) > entry.max_id or int(i) not in entry.index]
            if missing:
                entry.index.add(np.asarray(ids, dtype=np.int64)[missing], np.asarray(vectors)[missing])
                entry.max_id = max(entry.max_id, int(max(ids)))
                entry.dirty = True

    def remove(self, ids) -> None:
        with self._lock:
            for entry in self._entries.values():
                entry.index.remove(np.asarray(list(ids), dtype=np.int64))
                entry.deleted_seq = self.catalog.vectors_deleted()
                entry.dirty = True

    def collect_garbage(self) -> int:
        """Delete the vectors no photo has any more (Catalog.collect_garbage) and take them out of
        the indexes; returns how many went (the caller saves)."""
        ids = self.catalog.collect_garbage()
        if ids:
            self.remove(ids)
        return len(ids)

    def save(self, force: bool = False, *, final: bool = False) -> None:
        """Write dirty indexes (at most every SAVE_INTERVAL_S unless forced); ``final`` (closing)
        writes the ones ``hold_saves_above`` holds back too."""
        with self._lock:
            for entry in self._entries.values():
                if not entry.dirty or (self._held(entry) and not final):
                    continue
                if force or final or time.monotonic() - entry.saved_at > SAVE_INTERVAL_S:
                    self._save(entry)

    def _held(self, entry: _Entry) -> bool:
        return self.hold_saves_above is not None and len(entry.index) > self.hold_saves_above

    def _save(self, entry: _Entry) -> None:
        entry.index.meta = {"model": entry.name, "max_id": entry.max_id, "deleted_seq": entry.deleted_seq}
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            entry.index.save(str(self.path_for(entry.model_id)))
        except OSError as exc:
            # The index is only a cache: the catalog holds everything, the next start rebuilds it.
            log.warning("could not save the search index (%s); it will be rebuilt from the catalog", exc)
            kept = "nothing was lost (every photo and vector is in the catalog, and the index is rebuilt from it)"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                message = f"The disk holding the library's search index is full ({self.dir}); {kept}; free some space and retry."
            else:
                message = f"Could not save the search index in {self.dir} ({exc.strerror or exc}); {kept}."
            raise StorageError(message) from exc
        entry.dirty = False
        entry.saved_at = time.monotonic()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True
