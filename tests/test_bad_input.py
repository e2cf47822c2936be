"""Bad input through Library.index on a real folder: every good file is indexed, every bad one is
recorded with a reason and not retried until it changes, odd names and folder trouble do not stop
the run, and nothing in the photo folders is written or touched."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import draw_photo
from photoclip.core.filters import PhotoFilter
from photoclip.core import indexer as indexer_mod
from photoclip.core import scanner as scanner_mod

REPO = Path(__file__).resolve().parent.parent
CAFE = os.fsdecode(b"caf\xe9.jpg")  # a Latin-1 name: not valid UTF-8


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, side: int = 40_000) -> None:
    """A tiny PNG that claims side x side pixels (1.6 gigapixels): must be refused from the header."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
                     + png_chunk(b"IEND", b""))


def jpeg_bytes(colour=(200, 60, 60), size=(120, 90)) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, colour)
    img.paste((20, 20, 20), (10, 10, 60, 40))
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def build_folder(root: Path) -> tuple[set[str], set[str]]:
    """Returns (good paths, bad paths)."""
    good, bad = set(), set()

    def add_good(path: Path) -> None:
        good.add(str(path))

    add_good(draw_photo(root / "good.jpg", (200, 40, 40)))
    add_good(draw_photo(root / "with spaces in name.jpg", (40, 200, 40)))
    add_good(draw_photo(root / "quotes 'single' \"double\".jpg", (40, 40, 200)))
    add_good(draw_photo(root / "new\nline.jpg", (220, 220, 40)))
    add_good(draw_photo(root / CAFE, (20, 160, 160)))
    add_good(draw_photo(root / "ünïcödé フォト.png", (160, 20, 160), shape="square"))

    cmyk = root / "formats" / "cmyk.jpg"
    cmyk.parent.mkdir(parents=True)
    Image.new("CMYK", (64, 48), (0, 200, 200, 0)).save(cmyk, quality=90)
    add_good(cmyk)
    sixteen = root / "formats" / "sixteen bit.png"
    Image.fromarray((np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20).astype(np.uint16)).save(sixteen)
    with Image.open(sixteen) as im:
        assert im.mode.startswith("I")
    add_good(sixteen)
    frames = [Image.new("P", (50, 40), i * 60) for i in range(3)]
    frames[0].save(root / "formats" / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    add_good(root / "formats" / "animated.gif")
    rotated = root / "formats" / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    Image.new("RGB", (120, 90), (90, 90, 250)).save(rotated, exif=exif, quality=90)
    add_good(rotated)

    broken = root / "broken"
    broken.mkdir()
    data = jpeg_bytes()
    (broken / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (broken / "corrupt.jpg").write_bytes(data[:200] + os.urandom(len(data) - 200))
    (broken / "empty.jpg").write_bytes(b"")
    (broken / "notes.jpg").write_text("these are my holiday notes, not a photo\n")
    png_bomb(broken / "bomb.png")
    bad |= {str(broken / n) for n in ("truncated.jpg", "corrupt.jpg", "empty.jpg", "notes.jpg", "bomb.png")}

    loop = root / "loops"
    loop.mkdir()
    add_good(draw_photo(loop / "inside.jpg", (120, 120, 120)))
    os.symlink("..", loop / "parent")      # a symlink loop
    os.symlink("self", loop / "self")      # a symlink to itself
    os.symlink(loop / "gone.jpg", loop / "dangling.jpg")
    return good, bad


def listing(root: Path) -> dict[str, tuple]:
    """Every entry below root (not following links): kind, bytes hash, mtime, mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out[path] = (st.st_mode, st.st_size, st.st_mtime_ns, digest,
                         os.readlink(path) if os.path.islink(path) else None)
    return out


@pytest.fixture
def bad_library(make_library, tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    good, bad = build_folder(root)
    return make_library(), root, good, bad


def test_good_files_indexed_bad_ones_recorded_and_the_folder_untouched(bad_library, monkeypatch):
    lib, root, good, bad = bad_library
    before = listing(root)
    report = lib.index([str(root)])
    assert {r.path for r in lib.photos()} == good
    assert report.added == len(good)
    # the grid's listing (ids and paths only, decoded in one pass) names the same photos in the
    # same order, odd names included (a newline, quotes, a name that is not UTF-8)
    for kwargs in ({}, {"limit": 3}, {"offset": 2, "limit": 4}, {"where": PhotoFilter(folder=str(root))},
                   {"where": PhotoFilter(folder="/nowhere")}):
        records, shown = lib.photos(**kwargs), lib.photo_listing(**kwargs)
        assert list(shown.ids) == [r.id for r in records], kwargs
        assert shown.paths == [r.path for r in records], kwargs
    assert CAFE in {os.path.basename(p) for p in lib.photo_listing().paths}
    problems = {p.path: p.reason for p in lib.problems()}
    self_link = str(root / "loops" / "self")  # a symlink to itself is reported, not followed forever
    dangling = str(root / "loops" / "dangling.jpg")  # named like a photo, pointing nowhere: listed
    assert set(problems) == bad | {self_link, dangling}
    assert report.problems == len(problems)  # the summary counts what is listed, scan-time ones too
    assert "symbolic links" in problems[self_link]
    assert "dangling" in problems[dangling]
    assert all(reason.strip() for reason in problems.values())
    assert "empty" in problems[str(root / "broken" / "empty.jpg")]
    assert "too large" in problems[str(root / "broken" / "bomb.png")]
    assert "not an image" in problems[str(root / "broken" / "notes.jpg")]
    assert "truncated" in problems[str(root / "broken" / "truncated.jpg")]

    rotated = lib.catalog.photo_by_path(str(root / "formats" / "rotated.jpg"))
    assert (rotated.width, rotated.height) == (90, 120)  # after EXIF orientation
    cafe = lib.catalog.photo_by_path(str(root / CAFE))
    assert cafe is not None and os.fsencode(cafe.path).endswith(b"caf\xe9.jpg")
    assert {r.path for r in lib.search("a photo", limit=100)} == good

    assert listing(root) == before  # nothing written, moved or touched in the photo folders
    assert not list(root.rglob("*.tmp*")) and not list(root.rglob(".*"))

    # Second run: the bad files are not opened again (they have not changed).
    opened = []
    real_open = indexer_mod.open_image

    def counting_open(path, *args, **kwargs):
        opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(indexer_mod, "open_image", counting_open)
    report = lib.index()
    assert opened == [] and report.problems == 0 and report.unchanged == len(good) + len(bad)
    assert {p.path for p in lib.problems()} == bad | {self_link, dangling}

    # A bad file that is replaced by a good photo is tried again and indexed.
    fixed = root / "broken" / "empty.jpg"
    fixed.write_bytes(jpeg_bytes((10, 200, 10)))
    report = lib.index()
    assert opened == [str(fixed)]
    assert report.embedded == 1 and report.added + report.updated == 1 and report.problems == 0
    assert str(fixed) not in {p.path for p in lib.problems()}
    assert lib.catalog.photo_by_path(str(fixed)) is not None


def test_status_shows_the_problem_files(bad_library, capsys):
    lib, root, good, bad = bad_library
    lib.index([str(root)], tag=False)
    lib.close()
    from photoclip.cli import main

    assert main(["status", "--library", str(lib.root)]) == 0
    out = capsys.readouterr().out
    assert f"Problems: {len(bad) + 2}" in out  # + the symlink to itself and the dangling one
    for path in bad:
        assert os.path.basename(path) in out
    assert "empty file" in out and "too large" in out


def test_folder_removed_during_the_scan_is_recorded_and_the_run_goes_on(make_library, tmp_path, monkeypatch):
    root = tmp_path / "photos"
    keep = draw_photo(root / "a_keep" / "one.jpg", (200, 40, 40))
    draw_photo(root / "z_vanish" / "two.jpg", (40, 40, 200))
    other = draw_photo(root / "top.jpg", (40, 200, 40))
    real_scandir = scanner_mod.os.scandir

    def scandir_then_remove(path="."):
        entries = real_scandir(path)
        if isinstance(path, (str, os.PathLike)) and os.fspath(path) == str(root):
            entries = list(entries)
            shutil.rmtree(root / "z_vanish")  # someone deletes a folder while we walk
        return entries

    monkeypatch.setattr(scanner_mod.os, "scandir", scandir_then_remove)
    lib = make_library()
    report = lib.index([str(root)], tag=False)
    monkeypatch.undo()
    assert {r.path for r in lib.photos()} == {str(keep), str(other)}
    assert report.added == 2
    problems = {p.path: p.reason for p in lib.problems()}
    assert problems == {str(root / "z_vanish"): "folder disappeared during the scan"}
    # The next scan forgets the folder problem (the folder is simply gone).
    lib.index(tag=False)
    assert lib.problems() == []


def test_file_removed_between_scan_and_decode_is_a_problem_not_a_crash(make_library, tmp_path, monkeypatch):
    root = tmp_path / "photos"
    a = draw_photo(root / "a.jpg", (200, 40, 40))
    b = draw_photo(root / "b.jpg", (40, 40, 200))
    real_fingerprint = indexer_mod.fingerprint

    def fingerprint_then_delete(path, size=None):
        if path == str(b):
            os.remove(b)
        return real_fingerprint(path, size)

    monkeypatch.setattr(indexer_mod, "fingerprint", fingerprint_then_delete)
    lib = make_library()
    report = lib.index([str(root)], tag=False)
    assert {r.path for r in lib.photos()} == {str(a)}
    assert report.problems == 1
    assert [p.reason for p in lib.problems()] == ["file disappeared (tried 1 time; tried again on a later scan)"]


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_unreadable_folder_and_file_are_recorded(make_library, tmp_path, tiny_config):
    root = tmp_path / "photos"
    good = draw_photo(root / "ok.jpg", (200, 40, 40))
    draw_photo(root / "private" / "secret.jpg", (40, 40, 200))
    locked_file = draw_photo(root / "locked.jpg", (40, 200, 40))
    os.chmod(root / "private", 0)
    os.chmod(locked_file, 0)
    lib_root = tmp_path / "lib"
    try:
        args = [sys.executable, "-m", "photoclip", "index", str(root), "--library", str(lib_root),
                "--model", tiny_config, "--pretrained", "random", "--device", "cpu", "--no-tag"]
        if os.geteuid() == 0:
            # Root reads anything; a child without the capabilities that bypass permissions cannot.
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root and setpriv is not available")
            args = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *args]
        done = subprocess.run(args, capture_output=True, text=True, cwd=str(REPO), timeout=180,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        if done.returncode != 0 and "setpriv" in done.stderr:
            pytest.skip(f"setpriv cannot drop capabilities here: {done.stderr.strip()}")
        assert done.returncode == 0, done.stderr
        assert "could not be read" in done.stdout
    finally:
        os.chmod(root / "private", 0o755)
        os.chmod(locked_file, 0o644)
    lib = make_library(lib_root)
    assert {r.path for r in lib.photos()} == {str(good)}
    problems = {p.path: p.reason.lower() for p in lib.problems()}
    assert set(problems) == {str(root / "private"), str(locked_file)}
    assert problems[str(root / "private")] == "folder cannot be read (permission denied)"
    assert "permission denied" in problems[str(locked_file)]
