"""Hostile input found by an outside trial: each case ends indexed or listed as a problem with a
reason, never as a crashed run, a hang or a silently skipped file."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import zlib
from pathlib import Path

import pytest

from helpers import draw_photo
from photoclip.core import images
from photoclip.core import indexer as indexer_mod
from photoclip.core.scanner import fingerprint


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def thin_png(path: Path, width: int = 100_000, height: int = 1) -> Path:
    """A few hundred bytes, a tenth of a megapixel, and an aspect ratio of 100000:1."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    rows = (b"\x00" + b"\x80" * width) * height
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows, 9))
                     + png_chunk(b"IEND", b""))
    return path


def test_extreme_aspect_image_is_cropped_for_the_model_not_a_memory_error(make_library, tmp_path):
    root = tmp_path / "photos"
    good = draw_photo(root / "good.jpg")
    thin = thin_png(root / "thin.png")
    tall = thin_png(root / "tall.png", 1, 100_000)
    assert thin.stat().st_size < 2000
    lib = make_library()
    report = lib.index([str(root)], tag=False)
    indexed = {r.path for r in lib.photos()}
    assert indexed == {str(good), str(thin), str(tall)}, lib.problems()
    assert report.added == 3 and report.problems == 0
    rec = lib.catalog.photo_by_path(str(thin))
    assert (rec.width, rec.height) == (100_000, 1)  # the photo's own size is kept


def test_open_image_bounds_the_aspect_ratio(tmp_path):
    loaded = images.open_image(str(thin_png(tmp_path / "t.png")), min_size=224)
    w, h = loaded.image.size
    assert max(w, h) <= images.MAX_ASPECT * min(w, h)
    assert (loaded.width, loaded.height) == (100_000, 1)


def test_any_failure_while_decoding_one_file_is_a_problem_not_a_failed_batch(make_library, tmp_path, monkeypatch):
    root = tmp_path / "photos"
    good = draw_photo(root / "good.jpg")
    bad = draw_photo(root / "bad.jpg", (40, 40, 200))
    real = indexer_mod.open_image

    def exploding(path, *args, **kwargs):
        if path == str(bad):
            raise MemoryError()
        return real(path, *args, **kwargs)

    monkeypatch.setattr(indexer_mod, "open_image", exploding)
    lib = make_library()
    report = lib.index([str(root)], tag=False)
    assert {r.path for r in lib.photos()} == {str(good)}
    assert report.problems == 1
    problems = {p.path: p.reason for p in lib.problems()}
    assert "not enough memory" in problems[str(bad)]
    # recorded, so the next run does not die on it (or open it) again
    opened = []
    monkeypatch.setattr(indexer_mod, "open_image", lambda p, *a, **k: opened.append(p) or real(p, *a, **k))
    lib.index(tag=False)
    assert opened == []


# --- non-regular files named like photos ---------------------------------------------------

def special_files(root: Path) -> dict[str, str]:
    """name -> the word its problem reason must contain."""
    root.mkdir(parents=True, exist_ok=True)
    os.mkfifo(root / "fifo.jpg")
    os.symlink(root / "fifo.jpg", root / "link-to-fifo.jpg")
    os.symlink("/dev/zero", root / "zero.jpg")
    os.symlink(root / "nowhere.jpg", root / "dangling.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock.png"))
    sock.close()
    return {"fifo.jpg": "FIFO", "link-to-fifo.jpg": "FIFO", "zero.jpg": "device", "dangling.jpg": "dangling",
            "sock.png": "socket"}


@pytest.mark.timeout(120)
def test_fifos_sockets_devices_and_dangling_links_are_listed_and_never_block(make_library, tmp_path):
    root = tmp_path / "photos"
    expected = special_files(root)
    good = draw_photo(root / "good.jpg")
    lib = make_library()
    report = lib.index([str(root)], tag=False)
    assert {r.path for r in lib.photos()} == {str(good)}
    problems = {os.path.basename(p.path): p.reason for p in lib.problems()}
    assert set(problems) == set(expected)
    for name, word in expected.items():
        assert word in problems[name], (name, problems[name])
    assert report.problems == len(expected)


def test_watcher_paths_to_a_fifo_do_not_block(make_library, tmp_path):
    root = tmp_path / "photos"
    good = draw_photo(root / "good.jpg")
    lib = make_library()
    lib.index([str(root)], tag=False)
    special_files(root / "later")
    report = lib.index_paths([str(p) for p in (root / "later").iterdir()], tag=False)
    assert report.problems == 5
    assert {os.path.basename(p.path) for p in lib.problems()} == {
        "fifo.jpg", "link-to-fifo.jpg", "zero.jpg", "dangling.jpg", "sock.png"}
    assert {r.path for r in lib.photos()} == {str(good)}


def test_opening_paths_refuse_special_files_without_blocking(tmp_path):
    special_files(tmp_path)
    for name in ("fifo.jpg", "link-to-fifo.jpg", "zero.jpg", "sock.png"):
        path = str(tmp_path / name)
        with pytest.raises(OSError):
            fingerprint(path)
        with pytest.raises(images.ImageError):
            images.open_image(path)
        with pytest.raises(images.ImageError):
            images.make_thumbnail(path, 64)


# --- a file that changes while it is indexed ------------------------------------------------

def _vector_of(lib, path: str) -> "np.ndarray":
    rec = lib.catalog.photo_by_path(path)
    model_id = lib.catalog.find_model(lib.model_key)[0]
    return lib.catalog.vector_for_fingerprint(model_id, rec.fingerprint)[1]


def _embed_file(lib, path: Path) -> "np.ndarray":
    import torch

    embedder = lib.embedder()
    tensor = embedder.image_tensor(images.open_image(str(path), min_size=embedder.image_size).image)
    return embedder.encode_images(torch.stack([tensor]))[0]


def test_a_copy_keeps_its_own_vector_when_its_twin_is_overwritten_during_the_run(make_library, tmp_path, monkeypatch):
    import numpy as np

    root = tmp_path / "photos"
    a = draw_photo(root / "1" / "a.jpg", (200, 40, 40), shape="circle")  # scanned (and decoded) first
    c = root / "2" / "c.jpg"
    c.parent.mkdir()
    shutil.copyfile(a, c)
    pristine = shutil.copyfile(a, tmp_path / "pristine.jpg")
    other = draw_photo(tmp_path / "other.jpg", (40, 40, 200), shape="square", bg=(10, 10, 10), size=(200, 150))
    real = indexer_mod.open_image
    overwritten = []

    def overwrite_then_decode(path, *args, **kwargs):
        if path == str(a) and not overwritten:  # after the fingerprint, before the decode
            overwritten.append(path)
            with open(a, "r+b") as f:  # in place, like cp over an existing file
                f.truncate(0)
                f.write(other.read_bytes())
        return real(path, *args, **kwargs)

    monkeypatch.setattr(indexer_mod, "open_image", overwrite_then_decode)
    lib = make_library()
    lib.index([str(root)], tag=False)
    assert overwritten
    own, new = _embed_file(lib, pristine), _embed_file(lib, other)
    assert not np.allclose(own, new, atol=1e-3)
    np.testing.assert_allclose(_vector_of(lib, str(c)), own, atol=1e-4)  # c.jpg: its own picture
    np.testing.assert_allclose(_vector_of(lib, str(a)), new, atol=1e-4)  # a.jpg: read again, the new one
    assert lib.catalog.photo_by_path(str(a)).fingerprint == fingerprint(str(a))
    report = lib.index(tag=False)
    assert report.unchanged == 2 and report.embedded == 0


def test_a_file_that_keeps_changing_while_read_is_left_to_the_next_scan(make_library, tmp_path, monkeypatch):
    root = tmp_path / "photos"
    a = draw_photo(root / "a.jpg", (200, 40, 40))
    b = draw_photo(root / "b.jpg", (40, 200, 40))
    real = indexer_mod.open_image
    colours = iter(range(10, 250, 20))

    def keeps_changing(path, *args, **kwargs):
        if path == str(a):
            draw_photo(a, (next(colours), 40, 40), size=(100 + next(colours), 90))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(indexer_mod, "open_image", keeps_changing)
    lib = make_library()
    report = lib.index([str(root)], tag=False)
    assert {r.path for r in lib.photos()} == {str(b)}
    assert {p.path: p.reason for p in lib.problems()} == {str(a): indexer_mod.CHANGED_WHILE_READ}
    assert report.problems == 1
    monkeypatch.undo()
    report = lib.index(tag=False)  # its size and mtime did not change since: read again all the same
    assert report.embedded == 1 and lib.problems() == []
    assert lib.catalog.photo_by_path(str(a)).fingerprint == fingerprint(str(a))


# --- transient read errors -----------------------------------------------------------------

def test_transient_read_errors_are_retried_with_a_backoff_and_permanent_ones_are_not(make_library, tmp_path, monkeypatch):
    import errno

    from photoclip.core import problems as problems_mod

    root = tmp_path / "photos"
    good = draw_photo(root / "good.jpg")
    flaky = draw_photo(root / "flaky.jpg", (40, 40, 200))
    busy = draw_photo(root / "busy.png", (40, 200, 40))
    notes = root / "notes.jpg"
    notes.write_text("not a photo")
    failing = {str(flaky): errno.EIO, str(busy): errno.EBUSY}
    real_open_regular = images.open_regular

    def flaky_open(path):
        if path in failing:
            raise OSError(failing[path], os.strerror(failing[path]))
        return real_open_regular(path)

    monkeypatch.setattr(images, "open_regular", flaky_open)  # the decode's open, not the fingerprint's
    opened = []
    real_open_image = indexer_mod.open_image
    monkeypatch.setattr(indexer_mod, "open_image", lambda p, *a, **k: opened.append(p) or real_open_image(p, *a, **k))
    lib = make_library()
    report = lib.index([str(root)], tag=False)
    assert report.problems == 3
    reasons = {p.path: p.reason for p in lib.problems()}
    assert "Input/output error" in reasons[str(flaky)] and "tried 1 time;" in reasons[str(flaky)]
    assert "busy" in reasons[str(busy)].lower()
    assert "tried" not in reasons[str(notes)]

    def age(seconds: float) -> None:
        with lib.catalog.transaction() as c:
            c.execute("UPDATE problems SET at = at - ?", (seconds,))

    opened.clear()
    lib.index(tag=False)  # at once: not yet
    assert opened == []
    age(61)
    del failing[str(busy)]  # the file is not busy any more; flaky.jpg still fails
    report = lib.index(tag=False)
    assert sorted(opened) == sorted([str(flaky), str(busy)])  # notes.jpg is not read again
    reasons = {p.path: p.reason for p in lib.problems()}
    assert set(reasons) == {str(flaky), str(notes)}  # the retried success left no stale problem
    assert lib.catalog.photo_by_path(str(busy)) is not None
    assert "tried 2 times;" in reasons[str(flaky)]
    opened.clear()
    age(61)  # the second wait is two minutes
    lib.index(tag=False)
    assert opened == []
    failing.clear()
    age(24 * 3600)
    lib.index(tag=False)
    assert opened == [str(flaky)]
    assert {p.path for p in lib.problems()} == {str(notes)}
    assert {r.path for r in lib.photos()} == {str(good), str(flaky), str(busy)}
    assert problems_mod.retry_after(1) == 60 and problems_mod.retry_after(40) == 24 * 3600


def test_a_file_gone_during_a_move_is_tried_again(make_library, tmp_path, monkeypatch):
    root = tmp_path / "photos"
    a = draw_photo(root / "a.jpg")
    real_fingerprint = indexer_mod.fingerprint
    away = tmp_path / "away.jpg"
    moves = []

    def moved_away(path, size=None):
        if path == str(a) and not moves:
            moves.append(path)
            os.rename(a, away)  # moved out and back (same size and mtime), as a sync tool does
        return real_fingerprint(path, size)

    monkeypatch.setattr(indexer_mod, "fingerprint", moved_away)
    lib = make_library()
    lib.index([str(root)], tag=False)
    assert [p.reason for p in lib.problems()][0].startswith("file disappeared")
    os.rename(away, a)
    with lib.catalog.transaction() as c:
        c.execute("UPDATE problems SET at = at - 61")
    lib.index(tag=False)
    assert lib.problems() == [] and lib.catalog.photo_by_path(str(a)) is not None


# --- Pillow's own warnings -----------------------------------------------------------------

def exif_garbage_jpeg(path: Path) -> Path:
    """A good JPEG whose EXIF names a tag with data beyond its end (Pillow warns while reading it)."""
    from PIL import Image

    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x010F, 2, 1000, 0x1000) + struct.pack("<I", 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (10, 200, 10)).save(path, exif=b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd)
    return path


def bomb_header_png(path: Path, side: int = 10_000) -> Path:
    """Claims 100 MP (over Pillow's warning limit, under ours) and holds almost nothing."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + png_chunk(b"IEND", b""))
    return path


def test_pillow_warnings_go_to_the_log_not_raw_to_the_terminal(tmp_path, caplog, capsys, recwarn):
    import logging
    import warnings

    exif = exif_garbage_jpeg(tmp_path / "exif.jpg")
    bomb = bomb_header_png(tmp_path / "bomb.png")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        images._route_pil_warnings()  # pytest records warnings in its own way during a test: route them again
        with caplog.at_level(logging.INFO, logger="photoclip.images"):
            images.open_image(str(exif), min_size=32)
            with pytest.raises(images.ImageError, match="truncated"):
                images.open_image(str(bomb), min_size=32)
            warnings.warn("not Pillow's", UserWarning)
    err = capsys.readouterr().err
    assert "Skipping tag" not in err and "DecompressionBomb" not in err
    assert [str(w.message) for w in recwarn] == ["not Pillow's"]  # other warnings are shown as before
    logged = [r.getMessage() for r in caplog.records if r.name == "photoclip.images"]
    assert any(m.startswith(f"{bomb}: DecompressionBombWarning") for m in logged), logged
    assert any(m.startswith(f"{exif}: UserWarning") and "Skipping tag" in m for m in logged), logged
