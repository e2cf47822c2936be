"""Move to trash: files go to the platform trash (here a temporary one, via XDG_DATA_HOME), never
deleted; the catalog, vectors and search index follow; a RAW+JPEG pair goes together when asked;
what cannot go is reported and stays."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from photoclip.cli import main

from helpers import draw_photo, write_dng
from PIL import Image


def _in_trash(trash_dir, name: str) -> bool:
    return (trash_dir / "files" / name).is_file() and (trash_dir / "info" / f"{name}.trashinfo").is_file()


def _shown(lib) -> set[str]:
    return {os.path.basename(p.path) + "@" + os.path.basename(os.path.dirname(p.path)) for p in lib.photos()}


def test_trash_moves_files_and_the_catalog_follows(make_library, photo_folder, trash_dir):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    a, b = photo_folder / "a" / "img1.jpg", photo_folder / "b" / "img2.png"
    model_id = lib.catalog.find_model(lib.model_key).id
    vectors = lib.catalog.vector_count(model_id)
    assert len(lib.index_cache.index(model_id)) == vectors == 12
    report = lib.trash([str(a), str(b)])
    assert report.trashed == [str(a), str(b)] and not report.failed and report.photos_removed == 2
    assert not a.exists() and not b.exists()
    assert _in_trash(trash_dir, "img1.jpg") and _in_trash(trash_dir, "img2.png")
    info = (trash_dir / "info" / "img1.jpg.trashinfo").read_text()
    assert f"Path={a}" in info  # restorable to where it was
    assert lib.photo_count() == 10 and "img1.jpg@a" not in _shown(lib)
    assert lib.catalog.vector_count(model_id) == 10 and len(lib.index_cache.index(model_id)) == 10
    found = {r.path for r in lib.search("a photo", limit=50)}
    assert str(a) not in found and str(b) not in found and len(found) == 10
    assert lib.index(tag=False).removed == 0  # nothing left behind for the next scan to clean up
    assert "Moved 2 files to the trash" in report.summary()


def test_a_copy_goes_and_the_original_keeps_its_vector(make_library, photo_folder, trash_dir):
    copy = photo_folder / "a" / "copy of img0.jpg"
    shutil.copy(photo_folder / "a" / "img0.jpg", copy)
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    model_id = lib.catalog.find_model(lib.model_key).id
    before = lib.catalog.vector_count(model_id)
    lib.trash([str(copy)])
    assert lib.catalog.vector_count(model_id) == before  # the same content is still in the library
    assert str(photo_folder / "a" / "img0.jpg") in {r.path for r in lib.search("a photo", limit=50)}
    assert _in_trash(trash_dir, "copy of img0.jpg")


def test_a_raw_and_its_jpeg_go_together_when_asked(make_library, tmp_path, trash_dir):
    card = tmp_path / "card"
    for name, colour in (("IMG_0001", (200, 30, 30)), ("IMG_0002", (30, 30, 200))):
        picture = Image.new("RGB", (96, 64), colour)
        write_dng(card / f"{name}.DNG", picture, preview=picture)
        draw_photo(card / f"{name}.JPG", colour, size=(96, 64))
    lib = make_library()
    lib.index([str(card)], tag=False)
    assert lib.photo_count() == 2
    both = lib.trash([str(card / "IMG_0001.JPG")], with_pairs=True)
    assert sorted(os.path.basename(p) for p in both.trashed) == ["IMG_0001.DNG", "IMG_0001.JPG"]
    assert both.photos_removed == 1 and _in_trash(trash_dir, "IMG_0001.DNG")
    # without the pair the RAW stays, a photo of its own; the next index makes it searchable
    alone = lib.trash([str(card / "IMG_0002.JPG")])
    assert [os.path.basename(p) for p in alone.trashed] == ["IMG_0002.JPG"]
    assert (card / "IMG_0002.DNG").exists()
    assert [os.path.basename(p.path) for p in lib.photos()] == ["IMG_0002.DNG"]
    assert lib.index(tag=False).embedded == 1
    assert [os.path.basename(r.path) for r in lib.search("a photo", limit=5)] == ["IMG_0002.DNG"]


def test_what_cannot_go_is_reported_and_stays(make_library, photo_folder, trash_dir, tmp_path):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    gone = photo_folder / "a" / "img3.jpg"
    os.remove(gone)  # removed behind the library's back: forgotten, nothing to move
    stranger = tmp_path / "not-in-library.jpg"
    draw_photo(stranger)
    report = lib.trash([str(gone), str(stranger)])
    assert report.gone == [str(gone)] and report.trashed == []
    assert report.failed == [(str(stranger), "not in the library")] and stranger.exists()
    assert lib.photo_by_path(str(gone)) is None
    # a trash that cannot be made: each file is reported, stays, and stays in the library
    trash_dir.parent.mkdir(parents=True, exist_ok=True)
    trash_dir.write_text("not a folder")
    keep = [photo_folder / "b" / "img4.png", photo_folder / "b" / "img5.png"]
    report = lib.trash([str(p) for p in keep])
    assert [p for p, _ in report.failed] == [str(p) for p in keep] and not report.trashed
    assert all(p.exists() and lib.photo_by_path(str(p)) for p in keep)
    assert "2 could not be moved" in report.summary() and len(report.failure_lines()) == 2


def test_the_command_line_asks_once_with_the_count(make_library, photo_folder, trash_dir, tmp_path, monkeypatch,
                                                   capsys):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    lib.close()
    photos = [str(photo_folder / "a" / f"img{i}.jpg") for i in (0, 1, 2)]
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "n")
    assert main(["trash", *photos, "--library", str(tmp_path / "lib")]) == 1
    assert asked == ["Move 3 photos to the trash? [y/N] "]
    assert all(os.path.exists(p) for p in photos) and "Nothing was moved" in capsys.readouterr().out
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "y")
    assert main(["trash", *photos[:2], "--library", str(tmp_path / "lib")]) == 0
    assert len(asked) == 2 and not os.path.exists(photos[0]) and _in_trash(trash_dir, "img1.jpg")
    assert "Moved 2 files to the trash." in capsys.readouterr().out


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="a freedesktop trash")
def test_the_command_line_honours_xdg_data_home_in_a_process(make_library, photo_folder, tmp_path):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    lib.close()
    data = tmp_path / "elsewhere"
    env = dict(os.environ, XDG_DATA_HOME=str(data))
    photo = photo_folder / "b" / "img0.png"
    proc = subprocess.run([sys.executable, "-m", "photoclip", "trash", str(photo), "--yes",
                           "--library", str(tmp_path / "lib")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not photo.exists() and (data / "Trash" / "files" / "img0.png").is_file()
