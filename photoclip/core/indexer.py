"""The indexing pipeline: scan -> fingerprint -> decode (threads) -> embed (batches) -> store.

Unchanged files cost one stat each and never load the model. Moved or renamed files are
recognised by their content fingerprint and keep their vector and tags; duplicates share one
vector. Every batch is committed in one transaction together with its photos, so a crash at any
moment loses at most the batch in flight, and the next run simply picks up what is missing.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from .catalog import Catalog, Folder, NewPhoto, PhotoRecord
from .errors import Cancelled, ImageError, ReadError
from .images import DecodeBudget, NotARegularFile, is_image_path, is_raw_path, open_image, special_file_kind
from .metadata import PhotoMeta, read_metadata
from .places import place_names
from .paths import folder_name
from .problems import is_transient, retry_due, transient_reason
from .jobs import JobControl, Progress, ProgressCallback, RateMeter, describe
from .scanner import DANGLING_LINK, FileState, ScanResult, diff, fingerprint, sidecar_changes, walk_images
from .index_cache import IndexCache

log = logging.getLogger("photoclip.indexer")


@dataclass
class IndexReport:
    added: int = 0          # new photos stored
    updated: int = 0        # changed files re-embedded
    removed: int = 0        # files gone from disk
    relinked: int = 0       # moved/renamed files that kept their vector
    unchanged: int = 0
    problems: int = 0       # files (and folders) newly found unreadable this run
    embedded: int = 0       # images that went through the model
    offline: list[str] = field(default_factory=list)   # library folders not reachable (unplugged drive)
    unsupported: dict[str, int] = field(default_factory=dict)  # extension -> files photoclip cannot read
    metadata_read: int = 0  # photos whose own metadata (date, camera, GPS) was read this run
    metadata_problems: dict[str, str] = field(default_factory=dict)  # path -> what of its metadata is unreadable
    places: int = 0         # photos whose GPS position got a place name
    waiting: int = 0        # photos listed without their vector yet (a run that lists only)
    seconds: float = 0.0

    def unsupported_text(self) -> str:
        """"5 files photoclip cannot read: .psd ×3, .mov ×2" ("" when there are none)."""
        n = sum(self.unsupported.values())
        if not n:
            return ""
        kinds = sorted(self.unsupported.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{ext} ×{count:,}" for ext, count in kinds[:5]) + (", …" if len(kinds) > 5 else "")
        return f"{n:,} file{'s' if n != 1 else ''} photoclip cannot read: {shown}"

    def summary(self, changes_only: bool = False) -> str:
        """The one wording of a run: "3 new, 0 changed, ... (1.2 s)"; with ``changes_only``, what
        happened and nothing else ("+3 new, 1 moved"; "" when nothing did), for a watcher's log."""
        counts = [("new", self.added), ("changed", self.updated), ("removed", self.removed),
                  ("moved", self.relinked), ("unchanged", self.unchanged), ("could not be read", self.problems)]
        if changes_only:
            parts = [f"{'+' if word == 'new' else ''}{n:,} {word}" for word, n in counts if n and word != "unchanged"]
            if self.offline:
                parts.append("offline: " + ", ".join(self.offline))
            return ", ".join(parts)
        if self.waiting:  # a run without the model: its new photos are listed, not indexed
            counts[0] = ("listed", self.waiting)
        parts = [f"{n:,} {word}" for word, n in counts if n or word != "could not be read"]
        text = ", ".join(parts) + f" ({self.seconds:.1f} s)"
        if self.metadata_problems:
            n = len(self.metadata_problems)
            text += f"; {n:,} photo{'s' if n != 1 else ''} with partly unreadable metadata (indexed all the same)"
        if self.unsupported:
            text += "; " + self.unsupported_text()
        if self.offline:
            text += "; offline: " + ", ".join(self.offline)
        return text


@dataclass
class _Pending:
    state: FileState
    folder_id: int
    fingerprint: str
    changed: bool
    meta: Optional[PhotoMeta] = None


#: the JPEG of a RAW+JPEG pair (IMG_0001.CR2 beside IMG_0001.JPG, any case)
JPEG_EXTENSIONS = (".jpg", ".jpeg")

#: How often a file that changed while it was read is read again in the same run.
REREADS = 2
CHANGED_WHILE_READ = "changed while it was being read; it is read again on the next scan"
#: The mtime recorded for a problem that the next scan must look at again whatever the file's state.
UNSEEN_MTIME = -1


def _still_the_same(item: _Pending) -> bool:
    """Whether the file still has the size, mtime and fingerprint it had before it was decoded, so
    the pixels just decoded are those of ``item.fingerprint``'s content."""
    path = item.state.path
    try:
        st = os.stat(path)
        if (st.st_size, st.st_mtime_ns) != (item.state.size, item.state.mtime_ns):
            return False
        return fingerprint(path, st.st_size) == item.fingerprint
    except OSError:
        return False


def _is_empty(folder: str) -> bool:
    try:
        with os.scandir(folder) as it:
            return next(it, None) is None
    except OSError:
        return False


def default_workers(device: str = "cpu") -> tuple[int, int]:
    """(decode threads, torch threads) that do not oversubscribe the cores. On the CPU the model and
    the decoding share the cores; with the model on a GPU the CPU's only real work is decoding, so
    it gets all cores but one (torch keeps a couple for batching and copies)."""
    cores = os.cpu_count() or 2
    if device in ("cuda", "mps"):
        return max(1, min(32, cores - 1)), max(1, min(2, cores))
    return max(1, min(4, cores // 2 or 1)), max(1, cores)


class Indexer:
    def __init__(self, catalog: Catalog, index_cache: IndexCache, get_embedder: Callable[[], object],
                 model_name: str, *, batch_size: int = 0, decode_workers: int = 0) -> None:
        self.catalog = catalog
        self.index_cache = index_cache
        self.get_embedder = get_embedder
        self.model_name = model_name
        self.batch_size = batch_size
        self.decode_workers = decode_workers  # 0: automatic, for the device the model runs on
        self._listed_early: set[str] = set()  # new photos of this run listed before their vector
        self._embedding = True  # False: a run that lists photos (and their metadata) without the model
        self._scanned: set[int] = set()  # folders whose unchanged files this run's scan counted

    # -- public ------------------------------------------------------------------------------
    def run(self, folders: Optional[Sequence[Folder]] = None, progress: Optional[ProgressCallback] = None,
            control: Optional[JobControl] = None, *, embed: bool = True) -> IndexReport:
        """Scans ``folders`` (default: all) and brings the catalog up to date. Without ``embed`` the
        model is not needed: new photos are listed with their metadata, to browse, and wait for
        their vector (``missing_vectors``) until a run that embeds."""
        started = time.monotonic()
        self._embedding = embed
        control = control or JobControl()
        report = IndexReport()
        folders = list(folders) if folders is not None else self.catalog.folders()
        self._scanned = {f.id for f in folders}  # their unchanged files were counted by the scan
        to_check: list[_Pending] = []
        gone: dict[str, PhotoRecord] = {}
        for folder in folders:
            control.checkpoint()
            if not os.path.isdir(folder.path) or (folder.photo_count and _is_empty(folder.path)):
                # Missing, or an empty mount point whose drive is unplugged: keep the photos as offline.
                self.catalog.mark_folder_offline(folder.id)
                report.offline.append(folder.path)
                continue
            if not folder.online:
                self.catalog.set_folder_online(folder.id, True)
            scan = self._scan(folder, report, progress, control)
            report.unchanged += scan.unchanged
            to_check += [_Pending(state, folder.id, "", False) for state in scan.new]
            to_check += [_Pending(state, folder.id, "", True) for state in scan.changed]
            for path in scan.gone:
                rec = self.catalog.photo_by_path(path)
                if rec is not None:
                    gone[path] = rec
                else:
                    self.catalog.remove_paths([path])  # a problem file that is gone
        self._process(to_check, gone, report, progress, control)
        self._complete_metadata([f.id for f in folders if f.path not in report.offline], report, progress, control)
        report.seconds = time.monotonic() - started
        return report

    def run_paths(self, paths: Iterable[str], progress: Optional[ProgressCallback] = None,
                  control: Optional[JobControl] = None) -> IndexReport:
        """Index specific files (from the watcher): new/changed are checked, vanished ones removed."""
        started = time.monotonic()
        self._embedding = True
        self._scanned = set()
        control = control or JobControl()
        report = IndexReport()
        to_check: list[_Pending] = []
        gone: dict[str, PhotoRecord] = {}
        unreachable: dict[int, Folder] = {}
        sidecar_folders: list[int] = []
        for path in dict.fromkeys(os.path.abspath(p) for p in paths):
            folder = self.catalog.folder_for(path)
            if folder is not None and path.lower().endswith(".xmp"):
                # a sidecar written, edited or removed: its photos' keywords and rating are read again
                owners = self.catalog.sidecar_owners(path)
                if owners:
                    self.catalog.forget_metadata(owners)
                    sidecar_folders.append(folder.id)
                continue
            if folder is None or not is_image_path(path):
                continue
            try:
                st = os.stat(path)
                kind = special_file_kind(st.st_mode)
                if kind is not None:  # a FIFO, socket or device named like a photo: never opened
                    self.catalog.record_problem(path, folder.id, -1, 0, str(NotARegularFile(kind)))
                    report.problems += 1
                    continue
            except FileNotFoundError:
                if os.path.islink(path) and os.path.isdir(folder.path):
                    self.catalog.record_problem(path, folder.id, -1, 0, DANGLING_LINK)
                    report.problems += 1
                    continue
                if not os.path.isdir(folder.path):
                    unreachable[folder.id] = folder  # the whole drive is away, not the photo: keep it
                    continue
                rec = self.catalog.photo_by_path(path)
                if rec is not None:
                    gone[path] = rec
                else:
                    self.catalog.remove_paths([path])
                continue
            except OSError as exc:
                self.catalog.record_problem(path, folder.id, -1, 0, f"cannot be read ({exc.strerror or exc})")
                report.problems += 1
                continue
            state = FileState(path, st.st_size, st.st_mtime_ns)
            known = self.catalog.photo_by_path(path)
            if known is not None and (known.size, known.mtime_ns) == (state.size, state.mtime_ns):
                report.unchanged += 1
                continue
            to_check.append(_Pending(state, folder.id, "", known is not None))
        for folder in unreachable.values():
            self.catalog.mark_folder_offline(folder.id)
            report.offline.append(folder.path)
        self._process(to_check, gone, report, progress, control)
        self._complete_metadata(list(dict.fromkeys(sidecar_folders)), report, progress, control)
        report.seconds = time.monotonic() - started
        return report

    # -- steps -------------------------------------------------------------------------------
    def _scan(self, folder: Folder, report: IndexReport, progress: Optional[ProgressCallback],
              control: JobControl) -> ScanResult:
        # Scan-time problems (unreadable folders, FIFOs, dangling links) are found again on every
        # scan; the report counts the ones this scan found that were not listed before.
        problems = self.catalog.problems()
        listed = {p.path for p in problems}
        self.catalog.clear_folder_problems(folder.id)
        name = folder_name(folder.path)
        seen = 0
        last = 0.0

        def on_problem(path: str, reason: str) -> None:
            self.catalog.record_problem(path, folder.id, -1, 0, reason)
            if path not in listed:
                report.problems += 1

        def on_unsupported(ext: str) -> None:
            report.unsupported[ext] = report.unsupported.get(ext, 0) + 1

        sidecars: dict[str, int] = {}

        def walked():
            nonlocal seen, last
            for state in walk_images(folder.path, on_problem, lambda: control.cancelled, on_unsupported,
                                     sidecars.__setitem__):
                seen += 1
                now = time.monotonic()
                if progress and now - last > 0.25:
                    last = now
                    progress(Progress("scanning", seen, 0, None, None,
                                      f"Scanning {name} — {seen:,} photo{'s' if seen != 1 else ''} found", state.path))
                yield state

        known = self.catalog.file_states(folder.id)
        now = time.time()
        for p in problems:  # passing read errors whose wait is over: tried again as if changed
            if p.path in known and retry_due(p.reason, p.when, now):
                known[p.path] = (-1, UNSEEN_MTIME)
        result = diff(walked(), known)
        control.checkpoint()
        # a sidecar edited since its photo's metadata was read (keywords or a rating given in
        # Lightroom or darktable): that photo's metadata is read again, nothing is re-embedded
        gone = set(result.gone)
        stale = sidecar_changes(sidecars, self.catalog.sidecar_times(folder.id),
                                (p for p in known if p not in gone))
        if stale:
            self.catalog.forget_metadata(stale)
        return result

    def _process(self, pending: list[_Pending], gone: dict[str, PhotoRecord], report: IndexReport,
                 progress: Optional[ProgressCallback], control: JobControl) -> None:
        found = self.catalog.find_model(self.model_name)
        model_id = found.id if found else None
        gone_by_fp: dict[str, list[PhotoRecord]] = {}
        for rec in gone.values():
            gone_by_fp.setdefault(rec.fingerprint, []).append(rec)

        # 1. fingerprints: cheap content identity, so moves and duplicates skip the model.
        meter = RateMeter(len(pending))
        to_embed: list[_Pending] = []
        for n, item in enumerate(pending, 1):
            control.checkpoint()
            try:
                item.fingerprint = fingerprint(item.state.path, item.state.size)
            except OSError as exc:
                self._read_failure(item, exc, report)
                continue
            if progress and n % 200 == 0:
                rate, eta = meter.update(n)
                progress(Progress("fingerprinting", n, len(pending), rate, eta,
                                  describe("Checking new files", n, len(pending), rate, eta, "files")))
            moved_from = gone_by_fp.get(item.fingerprint)
            if moved_from and not item.changed:
                old = moved_from.pop()
                if not moved_from:
                    del gone_by_fp[item.fingerprint]
                del gone[old.path]
                self.catalog.relink(old.path, item.state.path, item.folder_id, item.state.size, item.state.mtime_ns)
                report.relinked += 1
            else:
                item.meta = self._read_metadata(item.state.path, item.state.mtime_ns, report)
                to_embed.append(item)

        # 2. files whose content already has a vector (duplicates, touched files, returning files).
        to_embed = self._link_known(to_embed, model_id, report)
        # ... and a RAW beside its JPEG: one photo, the JPEG's vector
        to_embed, beside_jpeg = self._store_raw_beside_jpeg(to_embed, report)
        # New photos are listed now, with their metadata, so they can be browsed while the model works.
        listed_early = self._list_early(to_embed, control)
        if progress and listed_early:
            n = len(listed_early)
            progress(Progress("listed", n, n, None, None,
                              f"{n:,} new photo{'s' if n != 1 else ''} listed — "
                              + ("indexing them" if self._embedding else "searchable once the model is there")))

        # 3. files that left: gone from the catalog (their vectors go with the garbage below).
        if gone:
            report.removed += self.catalog.remove_paths(list(gone))

        if self._embedding:
            self._embed_pending(to_embed, beside_jpeg, listed_early, model_id, report, progress, control)
        else:
            report.waiting = len(listed_early)
        self._pair(pending, gone, report, progress, control)
        self.index_cache.collect_garbage()
        self.index_cache.save(force=True)

    def _embed_pending(self, to_embed: list[_Pending], beside_jpeg: set[str], listed_early: set[str],
                       model_id: Optional[int], report: IndexReport, progress: Optional[ProgressCallback],
                       control: JobControl) -> None:
        # 4. photos already in the catalog without a vector of this model (after a model change,
        # listed by a run without the model, or left by a crash).
        missing = self.catalog.missing_vectors(model_id if model_id is not None else -1)
        queued = {p.fingerprint for p in to_embed} | beside_jpeg  # those are paired below
        missing = [rec for rec in missing if rec.fingerprint not in queued]
        # a photo no model has seen yet was listed without its vector: it counts as new
        seen = self.catalog.has_vectors(None, [rec.fingerprint for rec in missing])
        for rec in missing:
            if rec.fingerprint not in queued:
                folder_id = self._folder_id_of(rec)
                to_embed.append(_Pending(FileState(rec.path, rec.size, rec.mtime_ns),
                                         folder_id, rec.fingerprint, rec.fingerprint in seen))
                queued.add(rec.fingerprint)
                if (rec.fingerprint not in seen and folder_id in self._scanned and rec.path not in listed_early
                        and report.unchanged):
                    report.unchanged -= 1  # counted as new below, not as unchanged too

        changed = self._embed_unique(to_embed, report, progress, control)
        # Files that changed while they were read: their vector would belong to neither content.
        # Read them again (a copy of the old content kept its own fingerprint and waits for its
        # own vector); a file that keeps changing is left to the next scan.
        for _ in range(REREADS):
            if not changed:
                break
            changed = self._embed_unique(self._refresh(changed, report), report, progress, control)
        for item in changed:
            log.info("%r kept changing while it was read; it is read again on the next scan", item.state.path)
            if item.state.path in listed_early:
                self.catalog.remove_paths([item.state.path])
            self.catalog.record_problem(item.state.path, item.folder_id, item.state.size, UNSEEN_MTIME, CHANGED_WHILE_READ)
            report.problems += 1

    def _list_early(self, items: list[_Pending], control: JobControl) -> set[str]:
        """Stores the new photos (not yet the changed ones: they keep their vector until the new one is
        made) without a vector, in chunks; a file that then cannot be decoded is taken out again."""
        new = [p for p in items if not p.changed]
        for start in range(0, len(new), 1000):
            control.checkpoint()
            self.catalog.store_photos([self._new_photo(p) for p in new[start:start + 1000]])
        self._listed_early = {p.state.path for p in new}
        return self._listed_early

    def _store_raw_beside_jpeg(self, items: list[_Pending], report: IndexReport) -> tuple[list[_Pending], set[str]]:
        """Stores (without a vector) each RAW whose JPEG of the same name is beside it; returns the
        rest, and the fingerprints of the RAWs stored."""
        listings: dict[str, set[str]] = {}
        paired, rest = [], []
        for item in items:
            if is_raw_path(item.state.path) and self._jpeg_beside(item.state.path, listings):
                paired.append(item)
            else:
                rest.append(item)
        if paired:
            self.catalog.store_photos([self._new_photo(p) for p in paired])
            for p in paired:
                if p.changed:
                    report.updated += 1
                else:
                    report.added += 1
        return rest, {p.fingerprint for p in paired}

    @staticmethod
    def _jpeg_beside(path: str, listings: dict[str, set[str]]) -> bool:
        folder, name = os.path.split(path)
        if folder not in listings:
            try:
                listings[folder] = {n.casefold() for n in os.listdir(folder)}
            except OSError:
                listings[folder] = set()
        stem = os.path.splitext(name)[0].casefold()
        return any(stem + ext in listings[folder] for ext in JPEG_EXTENSIONS)

    def _pair(self, pending: list[_Pending], gone: dict[str, PhotoRecord], report: IndexReport,
              progress: Optional[ProgressCallback], control: JobControl) -> None:
        """Pairs the RAWs and JPEGs in the folders that changed (every folder, once, after an
        upgrade from a library without pairs); a RAW left without its JPEG is embedded on its own."""
        if self.catalog.get_meta("pairs_checked") != "1":
            directories = {os.path.dirname(path) for path in self.catalog.all_paths()}
        else:
            directories = {os.path.dirname(p.state.path) for p in pending} | {os.path.dirname(p) for p in gone}
        if self.catalog.get_meta("pairs_checked") != "1":
            self.catalog.set_meta("pairs_checked", "1")
        if not directories:
            return
        self.catalog.pair_photos({d: self.catalog.photos_in_directory(d) for d in directories})
        found = self.catalog.find_model(self.model_name)
        alone = [rec for rec in self.catalog.missing_vectors(found.id if found else -1)
                 if is_raw_path(rec.path) and os.path.dirname(rec.path) in directories]
        if alone and self._embedding:  # counted already as new or changed photos
            counted = (report.added, report.updated)
            self._embed_unique([_Pending(FileState(rec.path, rec.size, rec.mtime_ns), self._folder_id_of(rec),
                                         rec.fingerprint, True) for rec in alone], report, progress, control)
            report.added, report.updated = counted

    def _embed_unique(self, items: list[_Pending], report: IndexReport, progress: Optional[ProgressCallback],
                      control: JobControl) -> list[_Pending]:
        """Embeds ``items``; duplicates (the same content at several paths) go through the model once
        and the others get that vector. Returns the files that changed while they were read."""
        changed: list[_Pending] = []
        while items:
            unique: dict[str, _Pending] = {}
            copies: list[_Pending] = []
            for p in items:
                if p.fingerprint in unique:
                    copies.append(p)
                else:
                    unique[p.fingerprint] = p
            self._embed(list(unique.values()), report, progress, control, changed)
            if not copies:
                break
            # the vector just made for their first copy (or, where that copy failed, try the next)
            found = self.catalog.find_model(self.model_name)
            items = self._link_known(copies, found.id if found else None, report)
        return changed

    def _refresh(self, items: list[_Pending], report: IndexReport) -> list[_Pending]:
        """The files that changed while they were read, with their state and fingerprint as they are now."""
        fresh: list[_Pending] = []
        for item in items:
            try:
                st = os.stat(item.state.path)
                state = FileState(item.state.path, st.st_size, st.st_mtime_ns)
                fresh.append(_Pending(state, item.folder_id, fingerprint(state.path, state.size), item.changed))
            except OSError as exc:
                self._read_failure(item, exc, report)
        found = self.catalog.find_model(self.model_name)
        return self._link_known(fresh, found.id if found else None, report)

    def _link_known(self, items: list[_Pending], model_id: Optional[int], report: IndexReport) -> list[_Pending]:
        """Store the files whose content already has a vector of this model (duplicates, touched or
        returning files) without the model; returns the ones that still need embedding."""
        known = self.catalog.has_vectors(model_id, [p.fingerprint for p in items]) if model_id else set()
        linked = [p for p in items if p.fingerprint in known]
        if linked:
            meta = self._known_metadata([p.fingerprint for p in linked])
            self.catalog.store_photos([self._new_photo(p, meta.get(p.fingerprint)) for p in linked])
            for p in linked:
                if p.changed:
                    report.updated += 1
                else:
                    report.added += 1
        return [p for p in items if p.fingerprint not in known]

    def _folder_id_of(self, rec: PhotoRecord) -> int:
        folder = self.catalog.folder_by_path(rec.folder)
        return folder.id if folder else 0

    def _known_metadata(self, fingerprints: Sequence[str]) -> dict[str, PhotoRecord]:
        if not fingerprints:
            return {}
        found = self.catalog.photos_by_fingerprints(fingerprints, include_offline=True)
        return {fp: recs[0] for fp, recs in found.items()}

    @staticmethod
    def _new_photo(p: _Pending, like: Optional[PhotoRecord] = None, width=None, height=None, taken_at=None) -> NewPhoto:
        if like is not None:
            width, height, taken_at = like.width, like.height, like.taken_at
        if p.meta is not None and p.meta.taken_at:
            taken_at = p.meta.taken_at
        return NewPhoto(p.state.path, p.folder_id, p.state.size, p.state.mtime_ns, p.fingerprint, width, height,
                        taken_at, p.meta)

    @staticmethod
    def _read_metadata(path: str, mtime_ns: int, report: IndexReport) -> PhotoMeta:
        meta = read_metadata(path, mtime_ns)
        report.metadata_read += 1
        if meta.problems:
            reason = "; ".join(meta.problems)
            report.metadata_problems[path] = reason
            log.info("%r: %s (indexed with the rest)", path, reason)
        return meta

    def _complete_metadata(self, folder_ids: Sequence[int], report: IndexReport,
                           progress: Optional[ProgressCallback], control: JobControl) -> None:
        """Reads the metadata of the photos stored without it (a library from before photoclip read
        it: no photo is embedded again for it), then names the places of new GPS positions."""
        todo = [item for fid in folder_ids for item in self.catalog.photos_without_metadata(fid)]
        meter = RateMeter(len(todo))
        for start in range(0, len(todo), 200):
            control.checkpoint()
            chunk = todo[start:start + 200]
            self.catalog.store_metadata([(pid, self._read_metadata(path, mtime_ns, report))
                                         for pid, path, mtime_ns in chunk])
            if progress:
                done = start + len(chunk)
                rate, eta = meter.update(done)
                progress(Progress("metadata", done, len(todo), rate, eta,
                                  describe("Reading dates, cameras and places", done, len(todo), rate, eta, "photos")))
        self._name_places(report, progress, control)

    def _name_places(self, report: IndexReport, progress: Optional[ProgressCallback], control: JobControl) -> None:
        while True:
            control.checkpoint()
            todo = self.catalog.photos_without_place()
            if not todo:
                return
            if progress:
                progress(Progress("places", 0, len(todo), None, None, "Looking up places…"))
            try:
                names = place_names([(lat, lon) for _, lat, lon in todo])
            except Exception:  # noqa: BLE001 - no place is worth an index run
                log.warning("looking up places failed", exc_info=True)
                return
            self.catalog.store_places([(pid, name) for (pid, _, _), name in zip(todo, names)])
            report.places += sum(1 for name in names if name)

    def _embed(self, items: list[_Pending], report: IndexReport, progress: Optional[ProgressCallback],
               control: JobControl, changed: list[_Pending]) -> None:
        """Decodes, embeds and stores ``items``; the ones whose file changed while it was read are
        appended to ``changed`` instead (their vector is not stored)."""
        if progress:
            progress(Progress("loading", 0, len(items), None, None, "Loading the model…"))
        embedder = self.get_embedder()
        control.checkpoint()
        model_id = self.catalog.model_row(embedder.identity, embedder.dim)
        batch_size = self.batch_size or embedder.default_batch_size
        min_size = embedder.image_size
        image_tensor = embedder.image_tensor
        total = len(items)
        meter = RateMeter(total)
        done = 0
        folder_names = {f.id: folder_name(f.path) for f in self.catalog.folders()}

        budget = DecodeBudget()  # the full-size pixels all decode threads hold at once

        def decode(item: _Pending):
            loaded = open_image(item.state.path, min_size=min_size, budget=budget)
            return loaded, image_tensor(loaded.image), _still_the_same(item)

        import torch

        workers = self.decode_workers or default_workers(embedder.device)[0]
        # the next batch decoded while this one is encoded, and each decode thread a few photos beyond
        lookahead = batch_size + 4 * workers
        with ThreadPoolExecutor(workers, thread_name_prefix="photoclip-decode") as pool:
            queue: deque[tuple[_Pending, Future]] = deque()
            it = iter(items)

            def refill():
                while len(queue) < lookahead:
                    nxt = next(it, None)
                    if nxt is None:
                        return
                    queue.append((nxt, pool.submit(decode, nxt)))

            try:
                refill()
                while queue:
                    batch_items, tensors, photos = [], [], []
                    while queue and len(batch_items) < batch_size:
                        control.checkpoint()
                        item, fut = queue.popleft()
                        refill()
                        try:
                            loaded, tensor, same = fut.result()
                        except ImageError as exc:
                            self._problem(item, str(exc), report, transient=isinstance(exc, ReadError))
                            continue
                        except MemoryError:
                            self._problem(item, "image too large: not enough memory to decode it", report)
                            continue
                        except Exception as exc:  # any failure of one file is its problem, not the batch's
                            log.warning("decoding %r failed", item.state.path, exc_info=True)
                            self._problem(item, f"cannot be decoded ({type(exc).__name__}: {exc})", report)
                            continue
                        if not same:  # the pixels may be the new content's, or a mix of both
                            changed.append(item)
                            continue
                        batch_items.append(item)
                        tensors.append(tensor)
                        photos.append(self._new_photo(item, None, loaded.width, loaded.height, loaded.taken_at))
                    if not batch_items:
                        continue
                    vectors = embedder.encode_images(torch.stack(tensors))
                    control.checkpoint()
                    ids = self.catalog.store_photos(photos, model_id, vectors)
                    self.index_cache.add(model_id, np.asarray(ids, dtype=np.int64), vectors)
                    self.index_cache.save()
                    for item in batch_items:
                        if item.changed:
                            report.updated += 1
                        else:
                            report.added += 1
                    report.embedded += len(batch_items)
                    done += len(batch_items)
                    if progress:
                        rate, eta = meter.update(done + report.problems)
                        name = folder_names.get(batch_items[-1].folder_id, "")
                        verb = f"Indexing {name}" if name else "Indexing"
                        progress(Progress("embedding", done, total, rate, eta,
                                          describe(verb, done, total, rate, eta), batch_items[-1].state.path))
            except Cancelled:
                for _, fut in queue:
                    fut.cancel()
                self.index_cache.save(force=True)
                raise

    def _read_failure(self, item: _Pending, exc: OSError, report: IndexReport) -> None:
        reason = "file disappeared" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror or exc})"
        self._problem(item, reason, report, transient=is_transient(exc))

    def _problem(self, item: _Pending, reason: str, report: IndexReport, transient: bool = False) -> None:
        if transient:  # tried again on a later scan, waiting longer each time
            reason = transient_reason(reason, self.catalog.problem_reason(item.state.path))
        log.info("skipping %r: %s", item.state.path, reason)
        if item.state.path in self._listed_early:  # listed before it was decoded: not a photo after all
            self.catalog.remove_paths([item.state.path])
            self._listed_early.discard(item.state.path)
        self.catalog.record_problem(item.state.path, item.folder_id, item.state.size, item.state.mtime_ns, reason)
        report.problems += 1
