"""Every still format Pillow decodes here, indexed end to end (files generated in tmp_path)."""

from __future__ import annotations

import os

import pytest
from PIL import Image, ImageDraw, features

from photoclip.core.images import IMAGE_EXTENSIONS


def scene(i: int, size=(96, 72)) -> Image.Image:
    img = Image.new("RGB", size, ((i * 53) % 256, 120, (i * 97) % 256))
    ImageDraw.Draw(img).ellipse((10 + i, 10, 60 + i, 50), fill=(250, (i * 41) % 256, 20))
    return img


PILLOW_FORMATS = [("pic.ppm", "RGB", {}), ("pic.pnm", "RGB", {}), ("grey.pgm", "L", {}), ("ink.pbm", "1", {}),
                  ("pic.tga", "RGB", {}), ("rle.tga", "RGB", {"compression": "tga_rle"})]
if features.check_codec("jpg_2000"):
    PILLOW_FORMATS += [("pic.jp2", "RGB", {}), ("pic.jpf", "RGB", {}), ("pic.j2k", "RGB", {"no_jp2": True})]


def test_jpeg2000_pnm_and_tga_are_indexed_and_searchable(make_library, tmp_path):
    folder = tmp_path / "formats"
    folder.mkdir()
    for i, (name, mode, params) in enumerate(PILLOW_FORMATS):
        assert "." + name.rsplit(".", 1)[1] in IMAGE_EXTENSIONS
        scene(i).convert(mode).save(folder / name, **params)
    lib = make_library()
    report = lib.index([str(folder)], tag=False)
    assert (report.added, report.problems) == (len(PILLOW_FORMATS), 0), lib.problems()
    found = {r.path for r in lib.search("a photo", limit=50)}
    assert found == {str(folder / name) for name, _, _ in PILLOW_FORMATS}
    rec = lib.catalog.photo_by_path(str(folder / "pic.tga"))
    assert (rec.width, rec.height) == (96, 72)


@pytest.mark.skipif(not features.check_codec("jpg_2000"), reason="this Pillow has no OpenJPEG")
def test_a_truncated_jpeg2000_is_a_problem(make_library, tmp_path):
    folder = tmp_path / "cut"
    folder.mkdir()
    scene(1, (300, 200)).save(folder / "whole.jp2")
    data = (folder / "whole.jp2").read_bytes()
    (folder / "cut.jp2").write_bytes(data[: len(data) // 3])
    lib = make_library()
    report = lib.index([str(folder)], tag=False)
    assert (report.added, report.problems) == (1, 1)
    [problem] = lib.problems()
    assert problem.path.endswith("cut.jp2") and ("truncated" in problem.reason or "corrupt" in problem.reason)


# --- camera RAW -------------------------------------------------------------------------


def _raw_folder(tmp_path):
    from helpers import write_dng

    folder = tmp_path / "raw"
    picture = scene(3, (128, 96))
    write_dng(folder / "IMG_0001.DNG", picture)  # developed at half size for the 32 px test model
    write_dng(folder / "IMG_0002.dng", scene(5, (128, 96)), preview=scene(5, (64, 48)),
              taken="2024:06:01 12:34:56")  # the fast path: its preview is big enough
    write_dng(folder / "IMG_0003.dng", scene(7, (96, 128)), orientation=6)
    whole = write_dng(tmp_path / "whole.dng", scene(9, (128, 96))).read_bytes()
    (folder / "cut.dng").write_bytes(whole[: len(whole) // 2])
    return folder


def test_dngs_are_indexed_searchable_and_a_truncated_one_is_a_problem(make_library, tmp_path):
    pytest.importorskip("rawpy")
    pytest.importorskip("tifffile")
    folder = _raw_folder(tmp_path)
    lib = make_library()
    report = lib.index([str(folder)], tag=False)
    assert (report.added, report.embedded, report.problems) == (3, 3, 1)
    [problem] = lib.problems()
    assert problem.path == str(folder / "cut.dng")
    assert problem.reason.startswith("truncated or corrupt RAW file"), problem.reason
    good = [str(folder / n) for n in ("IMG_0001.DNG", "IMG_0002.dng", "IMG_0003.dng")]
    assert {r.path for r in lib.search("a photo", limit=50)} == set(good)
    model = lib._model_row()
    for path in good:
        rec = lib.catalog.photo_by_path(path)
        assert lib.catalog.vector_for_fingerprint(model, rec.fingerprint) is not None
    dims = {os.path.basename(p): (r.width, r.height, r.taken_at if r.taken_source == "exif" else r.taken_source)
            for p in good for r in [lib.catalog.photo_by_path(p)]}
    assert dims == {"IMG_0001.DNG": (128, 96, "file"), "IMG_0002.dng": (128, 96, "2024-06-01T12:34:56"),
                    "IMG_0003.dng": (128, 96, "file")}  # 96 × 128 stored, turned by its flip
    # a RAW as the query image finds itself first
    first = lib.search(image=good[1], limit=1)[0]
    assert first.path == good[1] and first.score == pytest.approx(1.0, abs=1e-4)
    # rescanning does not retry the broken file or re-embed the good ones
    again = lib.index(tag=False)
    assert (again.embedded, again.problems) == (0, 0)
