"""Crash safety: SIGKILL a real `photoclip index` at random moments (model load, embedding,
tagging) and check the library after each kill; stale and corrupt index files are rebuilt;
a full disk is a StorageError that leaves the previous consistent state."""

from __future__ import annotations

import errno
import json
import os
import queue
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import draw_photo
from photoclip.core import catalog as catalog_mod
from photoclip.core.errors import StorageError
from photoclip.core.library import Library
from photoclip.core.scanner import fingerprint
from photoclip.core.vector_index import VectorIndex

REPO = Path(__file__).resolve().parent.parent


def make_photos(root: Path, n: int, start: int = 0) -> list[Path]:
    out = []
    for i in range(start, start + n):
        colour = ((i * 53) % 256, (i * 97) % 256, (i * 29) % 256)
        out.append(draw_photo(root / f"set{i % 3}" / f"IMG_{i:04d}.jpg", colour, size=(40, 30),
                              shape="square" if i % 2 else "circle", bg=((i * 7) % 256, 120, 200)))
    return out


class Proc:
    """`photoclip index` in a subprocess, its output lines readable as they come."""

    def __init__(self, args: list[str]) -> None:
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.output: list[str] = []
        self.p = subprocess.Popen([sys.executable, "-m", "photoclip", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, cwd=str(REPO),
                                  env={**os.environ, "PYTHONPATH": str(REPO)})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            self.lines.put(line)

    def wait_for(self, marker: str, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.02)
            except queue.Empty:
                if self.p.poll() is not None and self.lines.empty():
                    return False
                continue
            self.output.append(line)
            if marker in line:
                return True
        return False

    def kill(self) -> bool:
        """SIGKILL; True if the process was still running (the kill landed)."""
        landed = self.p.poll() is None
        if landed:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait(30)
        return landed and self.p.returncode == -signal.SIGKILL


def check_invariants(lib_root: Path, config: str, photos: Path, complete: bool = False) -> int:
    """The library a crash left behind opens and is consistent. Returns its photo count. New photos
    are listed before they are embedded, so a crash may leave photos without a vector (the next run
    embeds them: they are what ``missing_vectors`` lists); ``complete``: none may be left."""
    lib = Library(lib_root, model=config, pretrained="random", device="cpu")
    try:
        c = lib.catalog.conn
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        paths = [catalog_mod.dec(r[0]) for r in c.execute("SELECT path FROM photos")]
        assert len(paths) == len(set(paths)), "duplicate photo paths"
        assert all(os.path.isfile(p) and p.startswith(str(photos)) for p in paths)
        mid = lib._model_row()
        if mid is None:
            assert not complete
            return len(paths)
        waiting = {catalog_mod.dec(r[0]): r[1] for r in c.execute(
            "SELECT path, fingerprint FROM photos p WHERE NOT EXISTS (SELECT 1 FROM vectors v "
            "WHERE v.model_id=? AND v.fingerprint=p.fingerprint)", (mid,))}
        assert not (complete and waiting), "photos without a vector"
        # each of them is what the next run embeds
        assert set(waiting.values()) == {r.fingerprint for r in lib.catalog.missing_vectors(mid)}
        for rec in lib.photos():  # a stored fingerprint is the file's content
            assert rec.fingerprint == fingerprint(rec.path)
        catalog_ids = set(lib.catalog.vector_ids(mid).tolist())
        index = lib.index_cache.index(mid)
        assert set(index.ids().tolist()) == catalog_ids
        if paths:
            q = np.random.default_rng(0).standard_normal(32).astype(np.float32)
            results = lib.searcher.query(mid, q / np.linalg.norm(q), limit=10_000)
            assert sorted(r.path for r in results) == sorted(set(paths) - set(waiting))
        return len(paths)
    finally:
        lib.catalog.close()  # leave the index file as the killed process left it


def test_sigkill_at_random_moments_leaves_a_consistent_library_that_resumes(tmp_path, tiny_config):
    photos = tmp_path / "photos"
    files = make_photos(photos, 150)
    shutil.copy2(files[0], photos / "set0" / "duplicate of IMG_0000.jpg")
    lib_root = tmp_path / "lib"
    lib_root.mkdir()
    # Small batches: many commits, so kills land between and inside them.
    (lib_root / "settings.json").write_text(json.dumps({"batch_size": 4, "decode_workers": 1}))
    args = ["index", str(photos), "--model", tiny_config, "--pretrained", "random", "--library", str(lib_root),
            "--device", "cpu", "--threads", "1"]
    rng = random.Random(4)
    plan = [
        ("Loading the model", rng.uniform(0.0, 1.0)),    # while torch and the model load
        ("Indexing", rng.uniform(0.0, 0.2)),              # while batches are embedded and committed
        ("Indexing", rng.uniform(0.0, 0.4)),
        ("Tagging", rng.uniform(0.0, 0.1)),               # while tags are stored
        ("Tagging", rng.uniform(0.0, 0.3)),
    ]
    landed, counts = [], []
    for marker, delay in plan:
        proc = Proc(args)
        if proc.wait_for(marker):
            time.sleep(delay)
        killed = proc.kill()
        landed.append((marker, killed))
        counts.append(check_invariants(lib_root, tiny_config, photos))
    print("kills:", landed, "photos after each:", counts)
    assert sum(k for _, k in landed) >= 3, landed
    assert landed[0] == ("Loading the model", True), landed  # the first run cannot have finished

    # Resume: only what is missing goes through the model, and everything is there exactly once.
    lib = Library(lib_root, model=tiny_config, pretrained="random", device="cpu")
    mid = lib._model_row()
    have = set(lib.catalog.has_vectors(mid, [fingerprint(str(p)) for p in files])) if mid else set()
    missing = {fingerprint(str(p)) for p in files} - have
    report = lib.index()
    assert report.embedded == len(missing), (report, len(missing), counts, landed)
    lib.close()
    assert check_invariants(lib_root, tiny_config, photos, complete=True) == 151
    lib = Library(lib_root, model=tiny_config, pretrained="random", device="cpu")
    assert lib.index().embedded == 0
    assert lib.tag() == 0  # tagging resumed too
    assert lib.catalog.vector_count(lib._model_row()) == 150
    lib.close()


@pytest.fixture
def small_library(make_library, tmp_path):
    photos = tmp_path / "photos"
    make_photos(photos, 30)
    lib = make_library()
    lib.index([str(photos)], tag=False)
    return lib, photos


def test_corrupt_index_file_is_rebuilt_on_open(small_library, make_library):
    lib, _ = small_library
    mid = lib._model_row()
    index_file = lib.index_cache.path_for(mid)
    lib.close()
    assert index_file.exists()
    index_file.write_bytes(os.urandom(index_file.stat().st_size))  # same size, garbage
    again = make_library(lib.root)
    index = again.index_cache.index(mid)
    assert set(index.ids().tolist()) == set(again.catalog.vector_ids(mid).tolist())
    assert len(again.search("a photo", limit=100)) == 30
    again.close()
    VectorIndex.load(str(index_file), 32)  # the rebuilt file is valid again


def test_stale_index_file_from_an_older_state_is_brought_up_to_date(small_library, make_library, tmp_path):
    lib, photos = small_library
    mid = lib._model_row()
    index_file = lib.index_cache.path_for(mid)
    lib.close()
    old = tmp_path / "old-index"
    old.mkdir()
    for f in index_file.parent.iterdir():
        shutil.copy2(f, old / f.name)
    lib = make_library(lib.root)
    make_photos(photos, 10, start=100)
    for p in sorted(photos.rglob("IMG_000*.jpg"))[:5]:
        p.unlink()
    report = lib.index(tag=False)
    assert (report.added, report.removed) == (10, 5)
    lib.close()
    for f in old.iterdir():  # put back the index of 30 photos, 5 of which are gone now
        shutil.copy2(f, index_file.parent / f.name)
    again = make_library(lib.root)
    catalog_ids = set(again.catalog.vector_ids(mid).tolist())
    assert len(catalog_ids) == 35
    assert set(again.index_cache.index(mid).ids().tolist()) == catalog_ids
    assert {r.path for r in again.search("a photo", limit=100)} == {r.path for r in again.photos()}


def test_disk_full_inside_a_catalog_transaction_keeps_the_previous_state(small_library, make_library,
                                                                           monkeypatch):
    lib, photos = small_library
    before = {r.path for r in lib.photos()}
    make_photos(photos, 20, start=200)
    real = catalog_mod.vector_to_blob
    calls = {"n": 0}

    def full_after_a_few(vec):
        calls["n"] += 1
        if calls["n"] > 3:
            raise sqlite3.OperationalError("database or disk is full")
        return real(vec)

    monkeypatch.setattr(catalog_mod, "vector_to_blob", full_after_a_few)
    with pytest.raises(StorageError) as info:
        lib.index(tag=False)
    assert "full" in str(info.value) and "free some space" in str(info.value)
    monkeypatch.setattr(catalog_mod, "vector_to_blob", real)
    lib.close()
    again = make_library(lib.root)
    assert again.catalog.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = {r.path for r in again.photos()}
    assert before <= kept  # the new photos were listed before the disk filled; they wait for a vector
    mid = again._model_row()
    have, total = again.catalog.coverage(mid)
    assert total == 50 and len(before) <= have < 50
    assert len(again.catalog.missing_vectors(mid)) == 50 - have  # ... and the next run embeds them
    assert set(again.index_cache.index(mid).ids().tolist()) == set(again.catalog.vector_ids(mid).tolist())
    report = again.index(tag=False)  # with space again, the rest is indexed
    assert len(again.photos()) == 50 and report.embedded == 50 - have
    assert again.catalog.coverage(mid) == (50, 50)


def test_disk_full_while_saving_the_index_is_reported_and_the_library_still_opens(small_library, make_library,
                                                                                    monkeypatch):
    lib, photos = small_library
    make_photos(photos, 5, start=300)

    def no_space(self, path):
        Path(f"{path}.tmp-{os.getpid()}").write_bytes(b"partial")
        Path(f"{path}.tmp-{os.getpid()}").unlink()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(VectorIndex, "save", no_space)
    with pytest.raises(StorageError) as info:
        lib.index(tag=False)
    message = str(info.value)  # as clear as the catalog's: the disk is full, where, nothing was lost
    assert "search index" in message and "disk" in message and "is full" in message
    assert str(lib.root / "index") in message and "nothing was lost" in message and "free some space" in message
    monkeypatch.undo()
    lib.catalog.close()
    again = make_library(lib.root)
    mid = again._model_row()
    assert len(again.photos()) == 35  # the catalog committed them before the index save failed
    assert set(again.index_cache.index(mid).ids().tolist()) == set(again.catalog.vector_ids(mid).tolist())
    assert len(again.search("a photo", limit=100)) == 35


def test_stale_index_is_caught_up_before_new_vectors_are_added(small_library, make_library, tmp_path):
    """What a run killed before its throttled index save leaves: the next run adds first, queries later."""
    lib, photos = small_library
    mid = lib._model_row()
    index_file = lib.index_cache.path_for(mid)
    lib.close()
    old = tmp_path / "old-index"
    shutil.copytree(index_file.parent, old)
    lib = make_library(lib.root)
    make_photos(photos, 10, start=100)
    lib.index(tag=False)
    lib.close()
    shutil.rmtree(index_file.parent)
    shutil.copytree(old, index_file.parent)  # the index of the first 30 only
    again = make_library(lib.root)
    new = make_photos(photos, 4, start=200)
    assert again.index_paths([str(p) for p in new], tag=False).embedded == 4
    again.close()
    third = make_library(lib.root)
    assert len(third.catalog.vector_ids(mid)) == 44
    assert set(third.index_cache.index(mid).ids().tolist()) == set(third.catalog.vector_ids(mid).tolist())
    assert len(third.search("a photo", limit=100)) == 44


def test_held_index_saves_are_written_at_close_and_caught_up_after_a_crash(make_library, photo_folder):
    """The app holds back saves of a big index while its window is open (hnswlib holds the GIL
    while writing). Nothing is lost: the catalog has every vector, a process that starts after a
    crash finds every photo, and closing writes the index."""
    lib = make_library()
    lib.index_cache.hold_saves_above = 5
    lib.index([str(photo_folder)])
    path = lib.index_cache.path_for(lib._model_row())
    sidecar = Path(str(path) + ".json")
    written = json.loads(sidecar.read_text())["count"] if sidecar.exists() else 0
    assert written < 12  # held back: the file on disk is behind
    # the process dies here (no close): the next one catches up from the catalog
    again = make_library(lib.root)
    assert {r.path for r in again.search("a photo", limit=100)} == {r.path for r in again.photos()}
    assert len(again.photos()) == 12
    again.close()
    lib.close()  # the held save is written when the library closes
    assert json.loads(sidecar.read_text())["count"] == 12
    third = make_library(lib.root)
    assert third.open_index() == 12
