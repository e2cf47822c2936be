"""The Library: one object that opens a library folder and does everything a user asks of it.

The CLI and the GUI both go through it. Every method blocks; the GUI calls them from worker
threads. Constructing a Library is cheap: torch and the model load only when first needed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Optional, Sequence

import numpy as np

from . import paths, warm, xmp
from .catalog import Catalog, Folder, PhotoListing, PhotoRecord, Problem, Subfolder, Tag
from .config import DEFAULT_MODEL, DEFAULT_PRETRAINED, Settings
from .duplicates import DEFAULT_THRESHOLD, MAX_GROUP, DuplicateGroup, group_duplicates, verified
from .embedder import Embedder, ModelSpec, pick_device
from .errors import PhotoclipError
from .filters import ALL_PHOTOS, SEARCH_ORDERS, PhotoFilter
from .export import write_csv
from .images import open_image
from .indexer import IndexReport, Indexer, default_workers
from .jobs import JobControl, Progress, ProgressCallback, RateMeter, describe
from .lock import IndexLock
from .search import SearchResult, Searcher, as_result, combine, name_term, sort_results, text_query_vector
from .index_cache import IndexCache
from .trash import TrashReport, move_to_trash
from .tagging import MY_TAGS, LabelEmbeddings, TagSet, assign, label_probabilities, load_tagsets_file, normalise_label
from .teaching import Taught, digest, examples_by_label, prototype, teach
from .xmp import XmpReport

log = logging.getLogger("photoclip.library")

SETTINGS_FILE = "settings.json"
LABELS_FOLDER = "label-embeddings"  # tag sets' label embeddings, a cache (tagging.LabelEmbeddings)


class Library:
    def __init__(self, root: Optional[str | os.PathLike] = None, *, model: Optional[str] = None,
                 pretrained: Optional[str] = None, device: Optional[str] = None, threads: Optional[int] = None,
                 precision: Optional[str] = None, remember_model: bool = False) -> None:
        self.root = paths.library_dir(root)
        self.catalog = Catalog(self.root)
        self.settings = Settings.load(self.root / SETTINGS_FILE)
        if model is not None or pretrained is not None:
            model = _absolute_if_file(model) if model is not None else None
            pretrained = _absolute_if_file(pretrained) if pretrained is not None else None
            if model is not None and pretrained is None:
                pretrained = DEFAULT_PRETRAINED if model == DEFAULT_MODEL else self.settings.pretrained
            new = (model or self.settings.model, pretrained or self.settings.pretrained)
            if remember_model and new != (self.settings.model, self.settings.pretrained):
                self.settings.model, self.settings.pretrained = new
                self.settings.save(self.root / SETTINGS_FILE)
            self.spec = ModelSpec(*new)
        else:
            self.spec = ModelSpec(self.settings.model, self.settings.pretrained)
        if device is not None:
            self.settings.device = device
        if threads is not None:
            self.settings.threads = threads
        if precision is not None:
            self.settings.precision = precision
        self.index_cache = IndexCache(self.catalog, self.root)
        self.index_lock = IndexLock(self.root)
        self.searcher = Searcher(self.catalog, self.index_cache)
        self._embedder: Optional[Embedder] = None
        self._text_embedder: Optional[Embedder] = None  # the text tower alone, for text queries
        self._previous_embedder: Optional[Embedder] = None
        self._identity: Optional[tuple[ModelSpec, str]] = None
        self._embedder_lock = threading.Lock()
        self._labels: Optional[LabelEmbeddings] = None
        self._text_labels: Optional[LabelEmbeddings] = None  # the text tower's, for tagging without images
        self._warm_server: Optional[warm.WarmServer] = None
        self._first_run_defaults()

    # -- model -------------------------------------------------------------------------------
    @property
    def model_key(self) -> str:
        """The identity of the model in use (computed once: it may hash a weights file)."""
        if self._identity is None or self._identity[0] != self.spec:
            self._identity = (self.spec, self.spec.identity)
        return self._identity[1]

    def model_ready(self) -> bool:
        return self.spec.ready()

    def embedder_loaded(self) -> bool:
        """Whether the model is in memory now (asking for it would not wait for a load)."""
        return self._embedder is not None

    def embedder(self, progress: Optional[ProgressCallback] = None, control: Optional[JobControl] = None) -> Embedder:
        with self._embedder_lock:
            if self._embedder is None:
                threads = self._torch_threads()
                self._embedder = Embedder(self.spec, self.settings.device, threads, progress, control,
                                          image_backend=self.settings.image_backend,
                                          precision=self.settings.precision)
                self._labels = LabelEmbeddings(self._embedder, self.root / LABELS_FOLDER)
                self._text_embedder = None  # the full model answers text queries from now on
            return self._embedder

    def text_embedder(self) -> Embedder:
        """What encodes a text query: the full model when it is loaded (or being loaded: this waits
        for it), else the text tower alone (a one-shot ``photoclip search`` never builds or reads
        the image tower: about half the memory and load time of ViT-B-32)."""
        with self._embedder_lock:
            if self._embedder is not None:
                return self._embedder
            if self._text_embedder is None or self._text_embedder.spec != self.spec:
                self._text_embedder = Embedder(self.spec, self.settings.device, self._torch_threads(),
                                               image_backend=self.settings.image_backend,
                                               precision=self.settings.precision, text_only=True)
            return self._text_embedder

    def _text_encoder(self):
        """What encodes a text query here: a model this process holds, else a warm model another
        process (the app, ``photoclip watch``) holds on this library, if it is the model and
        precision this one would load (no torch import, no load); else the text tower, loaded."""
        if self._embedder is None and self._text_embedder is None and warm.enabled():
            wanted = warm.model_request(self.model_key, self.settings.device, self.settings.precision,
                                        self.settings.image_backend)
            return warm.WarmTextEncoder(self.root, wanted, self.text_embedder)
        return self.text_embedder()

    def _tagging_model(self, progress: Optional[ProgressCallback] = None, control: Optional[JobControl] = None):
        """(model, its label embeddings) for tagging and "find more like these": the model loaded
        here; else a warm model another process holds on this library, if it is the model and
        precision this one would load (no torch import, no load); else the text tower alone,
        loaded (tagging compares stored photo vectors with label prompts: no image is encoded)."""
        if self._embedder is None and warm.enabled():
            wanted = warm.model_request(self.model_key, self.settings.device, self.settings.precision,
                                        self.settings.image_backend)
            try:
                model = warm.WarmTextModel.connect(self.root, wanted, self.text_embedder)
            except warm.WarmUnavailable as exc:
                log.debug("no warm model to tag with (%s); loading the model", exc)
            else:
                log.debug("tag-set prompts encoded by the warm model (%s, %s)", model.identity, model.precision)
                return model, LabelEmbeddings(model, self.root / LABELS_FOLDER)
        with self._embedder_lock:
            if self._embedder is not None:
                return self._embedder, self._labels
        text = self.text_embedder()
        if text is self._embedder:  # (the full model finished loading meanwhile)
            return text, self._labels
        if self._text_labels is None or self._text_labels.embedder is not text:
            self._text_labels = LabelEmbeddings(text, self.root / LABELS_FOLDER)
        return text, self._text_labels

    def warm_model(self) -> Optional[dict]:
        """The warm model another process (the app, ``photoclip watch``) serves on this library
        that this one's searches would use ({"pid", "device", "precision", ...}), else None."""
        if not warm.enabled():
            return None
        wanted = warm.model_request(self.model_key, self.settings.device, self.settings.precision,
                                    self.settings.image_backend)
        try:
            return warm.describe(self.root, wanted)
        except warm.WarmUnavailable as exc:
            log.debug("no warm model (%s)", exc)
            return None

    def serve_warm(self) -> bool:
        """Answer the text queries of one-shot commands on this library (``photoclip search``)
        with the model loaded here, on a local socket only this user can use, until close().
        False where nothing is served (no local sockets here, another process already serves)."""
        if self._warm_server is None:
            self._warm_server = warm.WarmServer(self.root, lambda: self._embedder or self._text_embedder)
        return self._warm_server.start()

    def stop_serving(self) -> None:
        if self._warm_server is not None:
            self._warm_server.stop()

    def precision_in_use(self) -> Optional[str]:
        """The loaded model's precision and why (e.g. "bf16 (this CPU has avx512_bf16; ...)"), None
        while no model is loaded (the setting applies from the next load)."""
        embedder = self._embedder
        return embedder.precision_text if embedder is not None else None

    def _torch_threads(self) -> int:
        """The thread setting, or what suits the device the model will run on."""
        return self.settings.threads or default_workers(pick_device(self.settings.device))[1]

    def set_model(self, model: str, pretrained: str) -> None:
        """Switch model: photos are re-embedded by the next index(); search keeps the old vectors meanwhile."""
        spec = ModelSpec(_absolute_if_file(model), _absolute_if_file(pretrained))
        if spec == self.spec:
            return
        self.catalog.set_meta("previous_model", json.dumps([self.spec.model, self.spec.pretrained]))
        self.settings.model, self.settings.pretrained = spec.model, spec.pretrained
        self.settings.save(self.root / SETTINGS_FILE)
        with self._embedder_lock:
            self.spec = spec
            self._embedder = None
            self._text_embedder = None
            self._labels = None
            self._text_labels = None

    def save_settings(self, settings: Settings) -> None:
        model_changed = (settings.model, settings.pretrained) != (self.spec.model, self.spec.pretrained)
        device_changed = (settings.device != self.settings.device or settings.threads != self.settings.threads
                          or settings.image_backend != self.settings.image_backend
                          or settings.precision != self.settings.precision)
        if model_changed:
            self.set_model(settings.model, settings.pretrained)
        self.settings = settings
        self.settings.save(self.root / SETTINGS_FILE)
        if device_changed:
            with self._embedder_lock:
                self._embedder = None
                self._text_embedder = None
                self._labels = None
                self._text_labels = None

    def _model_row(self) -> Optional[int]:
        found = self.catalog.find_model(self.model_key)
        return found.id if found else None

    def open_index(self) -> int:
        """Load the model's search index now (hnswlib holds the GIL while it reads a file: ~0.2 s
        for 100,000 vectors) rather than at the first search or the first photo indexed, which
        an app does while it loads the model anyway. Returns the number of vectors."""
        mid = self._model_row()
        return len(self.index_cache.index(mid)) if mid is not None else 0

    # -- folders and indexing ----------------------------------------------------------------
    def add_folders(self, folders: Sequence[str]) -> list[Folder]:
        added = []
        for folder in folders:
            path = os.path.abspath(os.path.expanduser(folder))
            if not os.path.isdir(path):
                raise PhotoclipError(f"Not a folder: {paths.display_path(path)}")
            fid = self.catalog.add_folder(path)
            added.extend(f for f in self.catalog.folders() if f.id == fid)
        return added

    def remove_folder(self, path: str) -> None:
        if not self.catalog.remove_folder(path):
            raise PhotoclipError(f"{paths.display_path(path)} is not a library folder.")
        if self.index_cache.collect_garbage():
            self.index_cache.save(force=True)

    def mark_folder_offline(self, path: str) -> bool:
        """A library folder went away (unplugged, unmounted): keep its photos, shown as offline."""
        found = self.catalog.folder_by_path(path)
        if found is not None:
            self.catalog.mark_folder_offline(found.id)
        return found is not None

    def paths_under(self, folder: str) -> list[str]:
        """Every photo and problem file the library knows below a folder."""
        return self.catalog.paths_under(folder)

    def photo_count(self) -> int:
        return self.catalog.photo_count()

    def hold_index_saves_above(self, vectors: int) -> None:
        """Save a search index this large only on close/idle, not every few seconds (the app's choice)."""
        self.index_cache.hold_saves_above = vectors

    def folders(self) -> list[Folder]:
        return self.catalog.folders()

    def subfolders(self, directory: str) -> list[Subfolder]:
        """The folders directly below ``directory`` that hold photos, by name, with their counts
        (``PhotoFilter(directory=..., deeper=...)`` shows their photos). A few ms at 100,000 photos."""
        return self.catalog.subfolders(os.path.abspath(os.path.expanduser(directory)))

    def folder_level(self, directory: str) -> tuple[Subfolder, list[Subfolder]]:
        """``directory_counts`` and ``subfolders`` in one read (what the sidebar shows of a folder)."""
        return self.catalog.folder_level(os.path.abspath(os.path.expanduser(directory)))

    def directory_counts(self, directory: str) -> Subfolder:
        """A folder's own counts: photos directly in it, in it and below, and its subfolders."""
        return self.catalog.directory_counts(os.path.abspath(os.path.expanduser(directory)))

    def _indexer(self) -> Indexer:
        return Indexer(self.catalog, self.index_cache, self.embedder, self.model_key,
                       batch_size=self.settings.batch_size, decode_workers=self.settings.decode_workers)

    def index(self, folders: Optional[Sequence[str]] = None, *, progress: Optional[ProgressCallback] = None,
              control: Optional[JobControl] = None, tag: bool = True, wait: bool = False,
              embed: bool = True) -> IndexReport:
        """Add ``folders`` (default: every library folder) and index what is new or changed.
        Another process indexing the library: LibraryBusy, or with ``wait`` wait for it. Without
        ``embed`` no model is needed: the photos are listed (with their metadata) to browse, and
        the next run that embeds makes them searchable."""
        if folders:
            wanted = {os.path.abspath(os.path.expanduser(f)) for f in folders}
            known = {f.path for f in self.catalog.folders()}
            # a known folder that is unreachable is kept (offline), not refused
            self.add_folders([f for f in wanted if f not in known])
            selected = [f for f in self.catalog.folders()
                        if any(w == f.path or w.startswith(f.path.rstrip(os.sep) + os.sep) for w in wanted)]
        else:
            selected = self.catalog.folders()
        with self._indexing(wait, progress, control):
            report = self._indexer().run(selected, progress, control, embed=embed)
            return self._tag_after(report, tag and embed, progress, control)

    def index_paths(self, paths_: Sequence[str], *, progress: Optional[ProgressCallback] = None,
                    control: Optional[JobControl] = None, tag: bool = True, wait: bool = False) -> IndexReport:
        with self._indexing(wait, progress, control):
            report = self._indexer().run_paths(paths_, progress, control)
            return self._tag_after(report, tag, progress, control)

    def _tag_after(self, report: IndexReport, tag: bool, progress: Optional[ProgressCallback],
                   control: Optional[JobControl]) -> IndexReport:
        """Auto-tag what was just indexed; the report's time covers the tagging too."""
        if tag:
            started = time.monotonic()
            self.tag(progress=progress, control=control)
            report.seconds += time.monotonic() - started
        return report

    def _indexing(self, wait: bool, progress: Optional[ProgressCallback], control: Optional[JobControl]):
        """The library's index lock (one indexing process at a time); raises LibraryBusy when
        another process holds it, or with ``wait`` says so and waits (cancellable)."""
        def waiting(who: str) -> None:
            if progress is not None:
                progress(Progress("waiting", 0, 0, message=f"Waiting for {who} to finish indexing this library"))
            if control is not None:
                control.checkpoint()
        return self.index_lock.held(wait=wait, on_wait=waiting)

    # -- browsing ----------------------------------------------------------------------------
    def photos(self, where: PhotoFilter = ALL_PHOTOS, *, offset: int = 0,
               limit: Optional[int] = None, sort: Optional[str] = None) -> list[PhotoRecord]:
        """The photos ``where`` allows, newest first (date taken), or by ``sort``: "taken", "name", "size"."""
        return self.catalog.photos(where, model_id=self._model_row() or -1, offset=offset, limit=limit, sort=sort)

    def photo_listing(self, where: PhotoFilter = ALL_PHOTOS, *, offset: int = 0,
                      limit: Optional[int] = None, sort: Optional[str] = None) -> PhotoListing:
        """``photos()`` as ids and paths only: what a grid of 100,000s of photos needs."""
        return self.catalog.photo_listing(where, model_id=self._model_row() or -1, offset=offset, limit=limit,
                                          sort=sort)

    def photo_by_path(self, path: str) -> Optional[PhotoRecord]:
        return self.catalog.photo_by_path(os.path.abspath(path))

    def photo(self, photo_id: int) -> Optional[PhotoRecord]:
        return self.catalog.photo(photo_id)

    def problems(self) -> list[Problem]:
        return self.catalog.problems()

    def pair_files(self, photo_id: int) -> list[str]:
        """The other files of a RAW+JPEG pair (shown as one photo): the RAW of a JPEG, or its JPEG."""
        return self.catalog.pair_files(photo_id)

    def counts_by(self, what: str) -> dict[str, int]:
        """Photos per "camera", "year", "place" or "kind" (what the sidebar and status list)."""
        return self.catalog.counts_by(what)

    # -- search ------------------------------------------------------------------------------
    def _search_model(self, text_only: bool = False) -> tuple[Optional[int], Embedder]:
        """The current model, or while it is still being embedded, the previous one if it covers more.
        ``text_only``: only text will be encoded (the text tower alone will do, see text_embedder)."""
        current = self._model_row()
        prev = self.catalog.get_meta("previous_model")
        if not prev:
            return current, self._text_encoder() if text_only else self.embedder()
        have, total = self.catalog.coverage(current) if current else (0, self.catalog.photo_count())
        if have >= total:
            self.catalog.set_meta("previous_model", "")  # the switch is complete: searches stay cheap
            return current, self._text_encoder() if text_only else self.embedder()
        prev_spec = ModelSpec(*json.loads(prev))
        try:
            found = self.catalog.find_model(prev_spec.identity)
        except PhotoclipError:
            found = None
        if found and self.catalog.coverage(found.id)[0] > have:
            with self._embedder_lock:
                old = self._previous_embedder
                if old is None or old.spec != prev_spec:
                    threads = self._torch_threads()
                    old = Embedder(prev_spec, self.settings.device, threads, precision=self.settings.precision)
                    self._previous_embedder = old
            return found.id, old
        return current, self.embedder()

    def search(self, text: Optional[str] = None, image: Optional[str] = None, *, weight: float = 0.5,
               limit: int = 50, where: PhotoFilter = ALL_PHOTOS, sort: str = "relevance") -> list[SearchResult]:
        """The ``limit`` best photos for a text and/or an image among those ``where`` allows, best first,
        or those same photos by ``sort`` ("taken": newest first, "name"). Without text and image: the
        photos ``where`` allows, newest first (or by ``sort``)."""
        if sort not in SEARCH_ORDERS:
            raise PhotoclipError(f"Unknown order {sort!r}: one of {', '.join(SEARCH_ORDERS)}.")
        if not (text or "").strip() and not image:
            browse = None if sort == "relevance" else sort
            return [as_result(rec) for rec in self.photos(where, limit=limit, sort=browse)]
        return sort_results(self._search(text, image, weight=weight, limit=limit, where=where), sort)

    def _search(self, text: Optional[str], image: Optional[str], *, weight: float, limit: int,
                where: PhotoFilter) -> list[SearchResult]:
        text = (text or "").strip() or None
        model_id, embedder = self._search_model(text_only=image is None)
        text_vec = text_query_vector(embedder, text) if text else None
        image_vec = self._image_vector(embedder, model_id, image) if image else None
        q = combine(text_vec, image_vec, weight if text_vec is not None else 1.0)
        if model_id is None:
            return []
        candidates = self.photos(where) if where else None
        results = self.searcher.query(model_id, q, limit, candidates)
        term = name_term(text) if image is None else None
        if term is None:
            return results
        return self.searcher.with_name_matches(model_id, q, term, results, limit, candidates)

    def _image_vector(self, embedder: Embedder, model_id: Optional[int], image: str) -> np.ndarray:
        rec = self.catalog.photo_by_path(os.path.abspath(image))
        if rec is not None and model_id is not None:
            hit = self.catalog.vector_for_fingerprint(model_id, rec.fingerprint)
            if hit is not None:
                return hit[1]
        import torch

        loaded = open_image(image, min_size=embedder.image_size)
        return embedder.encode_images(torch.stack([embedder.image_tensor(loaded.image)]))[0]

    def similar(self, photo_id: int, limit: int = 50) -> list[SearchResult]:
        rec = self.catalog.photo(photo_id)
        if rec is None:
            raise PhotoclipError("That photo is no longer in the library.")
        model_id, embedder = self._search_model()
        hit = self.catalog.vector_for_fingerprint(model_id, rec.fingerprint) if model_id else None
        if hit is None:
            raise PhotoclipError(f"{os.path.basename(rec.path)} has not been indexed yet.")
        return self.searcher.query(model_id, hit[1], limit, exclude_photo=photo_id)

    # -- tagging -----------------------------------------------------------------------------
    def _first_run_defaults(self) -> None:
        if self.catalog.get_meta("default_tagsets") is not None:
            return
        from photoclip.resources import default_tagset_files

        for file in default_tagset_files():
            try:
                for ts in load_tagsets_file(file):
                    if not any(row.name == ts.name for row in self.catalog.tag_set_rows()):
                        self.save_tag_set(ts)
            except PhotoclipError as exc:
                log.warning("default tag set %s skipped: %s", file, exc)
        self.catalog.set_meta("default_tagsets", "1")

    def tag_sets(self) -> list[TagSet]:
        return [TagSet(row.name, row.labels, row.mode, row.threshold, row.templates, row.enabled, id=row.id,
                       abstain=row.abstain)
                for row in self.catalog.tag_set_rows()]

    def save_tag_set(self, ts: TagSet, old_name: Optional[str] = None) -> TagSet:
        if old_name is None:  # saving under a name that exists (in any case) replaces that set
            old_name = next((t.name for t in self.tag_sets() if t.name.casefold() == ts.name.strip().casefold()), None)
        keeps = (old_name or ts.name).strip().casefold()
        ts = ts.validate(taken_names=[t.name for t in self.tag_sets() if t.name.casefold() != keeps])
        tid, _ = self.catalog.save_tag_set(ts.name, ts.mode, ts.threshold, ts.labels, ts.templates, ts.enabled,
                                           old_name=old_name, abstain=ts.abstain)
        ts.id = tid
        return ts

    # -- tags by hand ---------------------------------------------------------------------------
    def _contents(self, photo_paths: Sequence[str]) -> list[str]:
        """The content fingerprints of photos given by path; a path not in the library is an error."""
        fps, missing = [], []
        for path in photo_paths:
            rec = self.catalog.photo_by_path(os.path.abspath(path))
            (fps.append(rec.fingerprint) if rec else missing.append(path))
        if missing:
            raise PhotoclipError("Not in the library (index its folder first): "
                                 + ", ".join(paths.display_path(p) for p in missing[:5])
                                 + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        return fps

    def _tag_home(self, label: str, tag_set: Optional[str]) -> tuple[str, str]:
        """(set, label as that set spells it) for a tag given by hand: the set named, else the set
        that has the label, else "My tags" (spelled as it was added by hand before, if it was)."""
        label = normalise_label(label)
        if not label:
            raise PhotoclipError("A tag needs a label.")
        sets = self.tag_sets()
        if tag_set is not None and tag_set.casefold() != MY_TAGS.casefold():
            found = next((t for t in sets if t.name.casefold() == tag_set.casefold()), None)
            if found is None:
                raise PhotoclipError(f"There is no tag set called “{tag_set}”.")
            spelled = next((x for x in found.labels if x.casefold() == label.casefold()), None)
            if spelled is None:
                raise PhotoclipError(f"“{label}” is not a label of the tag set “{found.name}”; leave out --set "
                                     f"to keep it in “{MY_TAGS}”.")
            return found.name, spelled
        if tag_set is None:
            for t in sets:
                spelled = next((x for x in t.labels if x.casefold() == label.casefold()), None)
                if spelled is not None:
                    return t.name, spelled
        # a label already added by hand keeps the spelling it was first given ("boat trip" is "Boat trip")
        spelled = next((x for x in self.catalog.user_labels() if x.casefold() == label.casefold()), label)
        return MY_TAGS, spelled

    def add_tag(self, label: str, photo_paths: Sequence[str], tag_set: Optional[str] = None) -> tuple[str, int]:
        """Tag photos by hand; on a photo that already has it as an auto-tag, that tag is confirmed.
        Returns (the set it went to, photos changed). Never changed by re-tagging or a model change."""
        name, label = self._tag_home(label, tag_set)
        return name, self._decide_by_auto_tag(self._contents(photo_paths), name, label, ("confirmed", "user"))

    def remove_tag(self, label: str, photo_paths: Sequence[str], tag_set: Optional[str] = None) -> tuple[str, int]:
        """Take a tag off photos: one added by hand is forgotten, an auto-tag is rejected (it does
        not come back when the photos are tagged again)."""
        name, label = self._tag_home(label, tag_set)
        return name, self._decide_by_auto_tag(self._contents(photo_paths), name, label, ("rejected", None))

    def _decide_by_auto_tag(self, fingerprints: list[str], tag_set: str, label: str,
                            decisions: tuple[Optional[str], Optional[str]]) -> int:
        """Record decisions[0] on the contents that have this auto-tag and decisions[1] on the
        rest: one transaction for each, not one a photo."""
        has = {fp: self.catalog.has_auto_tag(fp, tag_set, label) for fp in fingerprints}
        tagged = [fp for fp, yes in has.items() if yes]
        rest = [fp for fp, yes in has.items() if not yes]
        return sum(self.catalog.decide(group, tag_set, label, decision)
                   for group, decision in ((tagged, decisions[0]), (rest, decisions[1])) if group)

    def decide_tag(self, tag_set: str, label: str, photo_paths: Sequence[str], decision: str) -> int:
        """Confirm or reject an auto-tag (SET:LABEL) on photos."""
        if decision not in ("confirmed", "rejected"):
            raise ValueError(decision)
        name, label = self._tag_home(label, tag_set)
        return self.catalog.decide(self._contents(photo_paths), name, label, decision)

    def undo_decision(self, tag_set: str, label: str, photo_paths: Sequence[str]) -> int:
        """Forget what the user decided about SET:LABEL on photos: a confirmed auto-tag is the
        model's guess again, a rejected one comes back as a guess (one added by hand goes)."""
        name, label = self._tag_home(label, tag_set)
        return self.catalog.decide(self._contents(photo_paths), name, label, None)

    def labels(self) -> list[str]:
        """Every label a tag can have now: the tag sets' and those added by hand, once each (any case)."""
        seen: dict[str, str] = {}
        for label in [x for ts in self.tag_sets() for x in ts.labels] + self.catalog.user_labels():
            seen.setdefault(label.casefold(), label)
        return sorted(seen.values(), key=str.casefold)

    def delete_tag_set(self, name: str) -> None:
        if not self.catalog.delete_tag_set(name):
            raise PhotoclipError(f"There is no tag set called '{name}'.")

    def import_tag_sets(self, file: str) -> list[TagSet]:
        return [self.save_tag_set(ts) for ts in load_tagsets_file(file)]

    def tag_counts(self) -> dict[str, dict[str, int]]:
        mid = self._model_row()  # without a model's vectors: the tags the user gave (or keywords gave)
        return self.catalog.tag_counts(mid if mid is not None else -1)

    def photo_tags(self, photo_id: int) -> list[Tag]:
        mid = self._model_row()
        return self.catalog.photo_tags(photo_id, mid if mid is not None else -1)

    def tag(self, names: Optional[Sequence[str]] = None, *, retag: bool = False,
            progress: Optional[ProgressCallback] = None, control: Optional[JobControl] = None) -> int:
        """Zero-shot tag every photo not yet tagged by each enabled set (or the named sets)."""
        control = control or JobControl()
        mid = self._model_row()
        if mid is None:
            return 0
        sets = [ts for ts in self.tag_sets() if (ts.name in names if names else ts.enabled)]
        if names:
            unknown = set(names) - {ts.name for ts in sets}
            if unknown:
                raise PhotoclipError(f"No tag set called {', '.join(sorted(unknown))}.")
        taught_keys = {}
        for ts in sets:
            # the examples the set was last tagged with: new ones (or another abstain) tag it again
            key, now = f"taught:{ts.id}", self._teaching_key(mid, ts)
            if retag or (self.catalog.get_meta(key) or "") != now:
                self.catalog.clear_tags(ts.id)
            taught_keys[ts.id] = (key, now)
        work = [(ts, self.catalog.count_untagged(mid, ts.id)) for ts in sets]
        total = sum(n for _, n in work)
        if total == 0:
            return 0
        embedder, labels = self._tagging_model(progress, control)
        if embedder.identity != self.model_key:
            return 0
        meter = RateMeter(total)
        done = 0
        todo = [(ts, n) for ts, n in work if n]
        for k, (ts, n) in enumerate(todo, 1):
            taught = self._teaching(mid, ts, embedder, labels)
            in_set = 0
            # the bar counts (photo, tag set) steps; the text counts this set's photos
            what = f"Tagging ({ts.name}" + (f", set {k} of {len(todo)})" if len(todo) > 1 else ")")
            for ids, mat in self.catalog.untagged_vectors(mid, ts.id, batch=2000):
                control.checkpoint()
                probs = label_probabilities(mat, taught.matrix, embedder.logit_scale)
                self.catalog.store_tags(ts.id, ids, assign(ts, probs, taught.thresholds, taught.abstain))
                done += len(ids)
                in_set += len(ids)
                if progress:
                    rate, eta = meter.update(done)
                    progress(Progress("tagging", done, total, rate, eta,
                                      describe(what, in_set, n, rate, eta)))
            self.catalog.set_meta(*taught_keys[ts.id])
        return done

    # -- teaching by example --------------------------------------------------------------------
    def _abstain(self, ts: TagSet) -> float:
        """The score a single-mode set's best label needs: the set's own, else the library's."""
        if ts.mode != "single":
            return 0.0
        return float(ts.abstain if ts.abstain is not None else self.settings.abstain)

    def _teaching_key(self, model_id: int, ts: TagSet) -> str:
        """What a set's tags were made from beyond its labels: its examples and abstain score."""
        return digest(self.catalog.example_rows(model_id, ts.name), self._abstain(ts))

    def _teaching(self, model_id: int, ts: TagSet, embedder: Embedder,
                  labels: Optional[LabelEmbeddings] = None) -> Taught:
        """A set's label matrix and thresholds, taught by the user's decisions on its tags."""
        text = (labels or self._labels).for_set(ts)
        examples = examples_by_label(self.catalog.example_rows(model_id, ts.name), ts.labels, text.shape[1])
        return teach(ts.labels, ts.mode, ts.threshold, text, examples, embedder.logit_scale, self._abstain(ts))

    def like_tag(self, tag_set: Optional[str], label: str, *, limit: int = 50,
                 where: PhotoFilter = ALL_PHOTOS) -> list[SearchResult]:
        """"Find more like these": the photos most likely to carry a tag (SET:LABEL, or a label of
        "My tags") that the user has not decided on yet, best first, scored by the label's taught
        embedding (its text moved towards the photos tagged or confirmed, away from the rejected
        ones; with no examples, its text alone)."""
        name, label = self._tag_home(label, tag_set)
        mid = self._model_row()
        if mid is None:
            return []
        embedder, embeddings = self._tagging_model()
        if embedder.identity != self.model_key:
            return []
        labels = next((t.labels for t in self.tag_sets() if t.name == name), [label])
        text = embeddings.for_set(TagSet(name, labels))[labels.index(label)]
        examples = examples_by_label(self.catalog.example_rows(mid, name), [label], text.shape[0])
        q = prototype(text, examples[label])
        decided = {rec.id for recs in self.catalog.photos_by_fingerprints(
            list(self.catalog.decided_fingerprints(name, label))).values() for rec in recs}
        candidates = self.photos(where) if where else None
        found = self.searcher.query(mid, q, limit + len(decided), candidates)
        return [r for r in found if r.photo_id not in decided][:limit]

    def best_labels(self, photo_id: int, per_set: int = 3) -> dict[str, list[tuple[str, float]]]:
        """The best-matching labels of every tag set for one photo, computed live."""
        rec = self.catalog.photo(photo_id)
        mid = self._model_row()
        if rec is None or mid is None:
            return {}
        hit = self.catalog.vector_for_fingerprint(mid, rec.fingerprint)
        if hit is None:
            return {}
        embedder = self.embedder()
        out = {}
        for ts in self.tag_sets():
            if not ts.enabled:
                continue
            matrix = self._teaching(mid, ts, embedder).matrix
            probs = label_probabilities(hit[1][None, :], matrix, embedder.logit_scale)[0]
            order = np.argsort(-probs)[:per_set]
            out[ts.name] = [(ts.labels[i], float(probs[i])) for i in order]
        return out

    # -- export and status -------------------------------------------------------------------
    def export_tags(self, dest: str, photo_paths: Optional[Sequence[str]] = None) -> int:
        """Every photo's tags as CSV; with ``photo_paths`` only those photos' (and their RAW+JPEG
        pair's other file). Returns the row count."""
        rows = self.catalog.iter_export_rows(self._model_row())
        if photo_paths is not None:
            wanted = set()
            for path in photo_paths:
                path = os.path.abspath(path)
                wanted.add(path)
                rec = self.catalog.photo_by_path(path)
                if rec is not None:
                    wanted.update(self.catalog.pair_files(rec.id))
            rows = (row for row in rows if row[0] in wanted)
        return write_csv(dest, rows)

    def export_xmp(self, naming: Optional[str] = None, min_score: Optional[float] = None, *,
                   progress: Optional[ProgressCallback] = None, control: Optional[JobControl] = None) -> XmpReport:
        """Write every tagged photo's tags into its XMP sidecar (merged into one that exists; the
        photo itself is never written): confirmed and user tags, auto-tags scoring ``min_score``
        or more (default: the setting). ``naming``: "darktable" (photo.jpg.xmp) or "lightroom"
        (photo.xmp), default the setting."""
        naming = naming or self.settings.xmp_naming
        min_score = self.settings.xmp_min_score if min_score is None else min_score
        if not 0.0 <= min_score <= 1.0:
            raise PhotoclipError(f"A minimum score is between 0 and 1, not {min_score:g}.")
        xmp.sidecar_path("", naming)  # an unknown naming is refused before any file is touched
        by_photo = xmp.tags_to_write(self.catalog.iter_export_rows(self._model_row()), min_score)
        return xmp.write_sidecars(by_photo, naming, progress=progress, control=control)

    def status(self) -> dict:
        mid = self._model_row()
        have, total = self.catalog.coverage(mid) if mid else (0, self.catalog.photo_count())
        problems = self.catalog.problems()
        return {
            "library": str(self.root),
            "model": self.spec.label,
            "model_id": self.model_key,
            "model_ready": self.model_ready(),
            "device": self.settings.device,
            "precision": self.settings.precision,
            "precision_in_use": self.precision_in_use(),
            "warm_model": self.warm_model(),
            "folders": [{"path": paths.display_path(f.path), "photos": f.photo_count, "online": f.online,
                         "subfolders": [{"name": s.name, "photos": s.photos, "total": s.total}
                                        for s in self.catalog.subfolders(f.path)]}
                        for f in self.catalog.folders()],
            "photos": self.catalog.photo_count(),
            "embedded": have,
            "distinct_photos": total,
            "tag_sets": [{"name": ts.name, "mode": ts.mode, "labels": len(ts.labels), "enabled": ts.enabled}
                         for ts in self.tag_sets()],
            "cameras": self.catalog.counts_by("camera"),
            "years": self.catalog.counts_by("year"),
            "places": self.catalog.counts_by("place"),
            "kinds": self.catalog.counts_by("kind"),
            "problems": len(problems),
            "problem_files": [{"path": paths.display_path(p.path), "reason": p.reason} for p in problems[:50]],
        }

    # -- trash -------------------------------------------------------------------------------
    def trash(self, photo_paths: Sequence[str], with_pairs: bool = False,
              control: Optional[JobControl] = None) -> TrashReport:
        """Move photos' files to the platform's trash (never a permanent delete) and forget them.

        With ``with_pairs`` the other file of a RAW+JPEG pair goes too; without it, a JPEG's RAW
        stays and becomes a photo of its own. A file that cannot be moved stays in the library
        and is reported with its reason; a photo not in the library (or in an offline folder) is
        reported and left alone. Vectors and search-index entries of contents no photo has any
        more go with them."""
        report = TrashReport()
        files: list[str] = []
        asked: list[str] = []
        for path in dict.fromkeys(os.path.abspath(p) for p in photo_paths):
            rec = self.catalog.photo_by_path(path)
            if rec is None:
                report.failed.append((path, "not in the library"))
            elif rec.offline:
                report.failed.append((path, "its folder is offline"))
            else:
                files.append(path)
                asked.append(path)
                if with_pairs:
                    files.extend(self.catalog.pair_files(rec.id))
        try:
            move_to_trash(files, control, report)
        finally:  # also after a cancel: what went to the trash leaves the catalog
            done = set(report.trashed) | set(report.gone)
            report.photos_removed = sum(path in done for path in asked)
            self._forget(report.trashed + report.gone)
        return report

    def _forget(self, files: list[str]) -> None:
        """Files that left: out of the catalog, with the vectors no other photo shares."""
        if not files:
            return
        self.catalog.remove_paths(files)
        self.index_cache.collect_garbage()
        self.index_cache.save(force=True)

    # -- duplicates --------------------------------------------------------------------------
    def duplicates(self, threshold: float = DEFAULT_THRESHOLD, *, max_group: int = MAX_GROUP,
                   neighbours: int = 8, control: Optional[JobControl] = None) -> list[DuplicateGroup]:
        """Exact and near-duplicate groups among the online photos, the proposed keeper first.
        Each photo's ``neighbours`` nearest are asked (8: a larger group is still joined through
        its members' links; 16 took 1.5x as long at 100,000 photos, benchmarks/bench_duplicates.py).

        Near-duplicates need the current model's vectors; exact duplicates (same content) are
        found without a model."""
        photos = self.catalog.photos(include_offline=False)
        mid = self._model_row()
        links = list(self._near_links(mid, threshold, neighbours, control)) if mid is not None and threshold < 1.0 else []
        groups = group_duplicates(photos, links, threshold=threshold, max_group=max_group)
        return verified(groups, links, threshold=threshold, max_group=max_group)

    def _near_links(self, model_id: int, threshold: float, k: int, control: Optional[JobControl]):
        """(fingerprint, fingerprint, similarity) of every vector's nearest neighbours at or above
        ``threshold``, from the model's search index."""
        fingerprint = self.catalog.vector_fingerprints(model_id)
        if not fingerprint:
            return
        index = self.index_cache.index(model_id)
        for ids, matrix in self.catalog.iter_vectors(model_id, batch=4096):
            if control is not None:
                control.checkpoint()
            found, sims = index.query_many(matrix, k + 1, ef=2 * (k + 1))
            rows, cols = np.nonzero((sims >= threshold) & (found != ids[:, None]) & (found >= 0))
            for row, col in zip(rows.tolist(), cols.tolist()):
                other = fingerprint.get(int(found[row, col]))
                if other is not None:
                    yield fingerprint[int(ids[row])], other, float(sims[row, col])

    def close(self) -> None:
        self.stop_serving()
        try:
            self.index_cache.save(final=True)
        except PhotoclipError as exc:
            log.warning("%s", exc)
        self.catalog.close()


def _absolute_if_file(value: Optional[str]) -> Optional[str]:
    """Paths of config or weights files are remembered absolute, so later commands find them."""
    if value and (os.sep in value or value.endswith((".json", ".safetensors", ".pt", ".pth", ".bin"))):
        expanded = os.path.expanduser(value)
        if os.path.exists(expanded):
            return os.path.abspath(expanded)
    return value
