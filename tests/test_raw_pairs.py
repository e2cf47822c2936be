"""A camera RAW beside its JPEG (IMG_0001.DNG and IMG_0001.JPG, any case) is one photo: one
entry in browsing and search, embedded once, both files known, tags exported for both."""

from __future__ import annotations

import csv
import os

from PIL import Image

from photoclip.core.filters import PhotoFilter

from helpers import draw_photo, write_dng


def _shoot(folder, name, colour, jpeg_ext=None):
    picture = Image.new("RGB", (96, 64), colour)
    raw = write_dng(folder / name, picture, preview=picture)
    if jpeg_ext:
        draw_photo(folder / (os.path.splitext(name)[0] + jpeg_ext), colour, size=(96, 64))
    return raw


def test_a_raw_beside_its_jpeg_is_one_photo_embedded_once(make_library, tmp_path):
    folder = tmp_path / "card"
    _shoot(folder, "IMG_0001.DNG", (200, 30, 30), ".JPG")
    _shoot(folder, "img_0003.dng", (30, 30, 200), ".jpeg")  # cases differ: still a pair
    _shoot(folder, "IMG_0002.DNG", (30, 200, 30))  # a RAW alone
    draw_photo(folder / "sub" / "IMG_0002.JPG", (90, 90, 90))  # same name, another folder: no pair
    lib = make_library()
    report = lib.index([str(folder)])
    assert report.added == 6 and report.embedded == 4 and report.problems == 0  # the paired RAWs need no model
    shown = sorted(os.path.basename(p.path) for p in lib.photos())
    assert shown == ["IMG_0001.JPG", "IMG_0002.DNG", "IMG_0002.JPG", "img_0003.jpeg"]
    assert lib.photo_count() == 4 and lib.folders()[0].photo_count == 4
    found = {os.path.basename(r.path) for r in lib.search("a photo", limit=50)}
    assert found == set(shown)  # search shows the pair once, as its JPEG
    jpeg = lib.photo_by_path(str(folder / "IMG_0001.JPG"))
    assert lib.pair_files(jpeg.id) == [str(folder / "IMG_0001.DNG")]
    raw = lib.photo_by_path(str(folder / "IMG_0001.DNG"))
    assert lib.pair_files(raw.id) == [str(folder / "IMG_0001.JPG")]
    # a pair is a RAW too
    raws = sorted(os.path.basename(p.path) for p in lib.photos(PhotoFilter(kind="raw")))
    assert raws == ["IMG_0001.JPG", "IMG_0002.DNG", "img_0003.jpeg"]
    # the export lists the pair's tags for both files
    lib.export_tags(str(tmp_path / "tags.csv"))
    with open(tmp_path / "tags.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    tags_of = {}
    for r in rows:
        tags_of.setdefault(os.path.basename(r["path"]), set()).add((r["tag_set"], r["tag"]))
    assert tags_of["IMG_0001.JPG"] and tags_of["IMG_0001.DNG"] == tags_of["IMG_0001.JPG"]

    # the JPEG goes: the RAW is a photo of its own again, with its own vector
    os.remove(folder / "IMG_0001.JPG")
    again = lib.index()
    assert again.removed == 1 and again.embedded == 1
    shown = sorted(os.path.basename(p.path) for p in lib.photos())
    assert shown == ["IMG_0001.DNG", "IMG_0002.DNG", "IMG_0002.JPG", "img_0003.jpeg"]
    assert str(folder / "IMG_0001.DNG") in {r.path for r in lib.search("a photo", limit=50)}
    # and a JPEG that arrives beside a RAW pairs them again
    draw_photo(folder / "IMG_0002.jpg", (30, 200, 30), size=(96, 64))
    lib.index()
    shown = sorted(os.path.basename(p.path) for p in lib.photos())
    assert shown == ["IMG_0001.DNG", "IMG_0002.JPG", "IMG_0002.jpg", "img_0003.jpeg"]
    assert lib.index().embedded == 0  # stable
