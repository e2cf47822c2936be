"""Every still format Pillow decodes here, indexed end to end (files generated in tmp_path)."""

from __future__ import annotations

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
