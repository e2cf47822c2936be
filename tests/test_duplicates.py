"""Duplicates: exact copies and near-duplicates (resized, recompressed, cropped) group together
with the right keeper; different pictures stay apart. Near-duplicates are checked with the tests'
trained tiny CLIP through the library's real pipeline and search index."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import duplicate_variants  # noqa: E402
from tinyclip import ShapeSpec  # noqa: E402

from photoclip.cli import main  # noqa: E402
from photoclip.core.catalog import PhotoRecord  # noqa: E402
from photoclip.core.duplicates import group_duplicates, keeper_key  # noqa: E402
from photoclip.core.library import Library  # noqa: E402


def _rec(i: int, fp: str, w: int = 100, h: int = 100, taken: str | None = None, path: str | None = None,
         size: int = 1000) -> PhotoRecord:
    return PhotoRecord(i, path or f"/p/{i}.jpg", "/p", size, 0, fp, w, h, taken, False)


def _all_links(vectors: dict[str, np.ndarray]):
    """Every pair of different contents with its cosine similarity."""
    names = list(vectors)
    return [(a, b, float(vectors[a] @ vectors[b])) for a in names for b in names if a != b]


def test_keeper_is_largest_then_earliest_then_raw():
    small = _rec(1, "a", 100, 100, "2020-01-01")
    big = _rec(2, "b", 200, 200, "2021-01-01")
    assert sorted([small, big], key=keeper_key)[0] is big
    early = _rec(3, "c", 200, 200, "2019-05-05")
    assert sorted([big, early], key=keeper_key)[0] is early
    jpeg = _rec(4, "d", 200, 200, "2019-05-05", path="/p/IMG_1.JPG")
    raw = _rec(5, "e", 200, 200, "2019-05-05", path="/p/IMG_1.CR2")
    assert sorted([jpeg, raw], key=keeper_key)[0] is raw


def test_groups_are_transitive_but_capped():
    rng = np.random.default_rng(0)
    base = rng.normal(size=16)
    chain = {}
    v = base / np.linalg.norm(base)
    for i in range(10):  # each step is close to the previous one
        chain[f"f{i}"] = v
        step = v + 0.08 * rng.normal(size=16)
        v = step / np.linalg.norm(step)
    photos = [_rec(i, fp) for i, fp in enumerate(chain)]
    links = _all_links(chain)
    sims = [float(chain[f"f{i}"] @ chain[f"f{i + 1}"]) for i in range(9)]
    threshold = min(sims) - 1e-6
    assert float(chain["f0"] @ chain["f9"]) < threshold  # the ends are not alike themselves
    (whole,) = group_duplicates(photos, links, threshold=threshold)
    assert len(whole.photos) == 10  # linked through the chain
    capped = group_duplicates(photos, links, threshold=threshold, max_group=4)
    assert capped and max(len(g.photos) for g in capped) <= 4
    assert group_duplicates(photos) == []  # no vectors, no shared content: nothing to group


def test_same_content_always_groups_without_a_model():
    photos = [_rec(1, "same", path="/p/a.jpg", taken="2020-01-01"), _rec(2, "same", path="/q/a copy.jpg"),
              _rec(3, "other")]
    (g,) = group_duplicates(photos)
    assert g.exact and g.similarity == 1.0
    assert g.keeper.path == "/p/a.jpg" and [p.path for p in g.others] == ["/q/a copy.jpg"]
    with pytest.raises(ValueError):
        group_duplicates(photos, threshold=0)


SCENES = [
    [ShapeSpec("red", "circle", "white", 0.5, 0.5, 0.5)],
    [ShapeSpec("blue", "square", "noise", 0.45, 0.4, 0.55)],
    [ShapeSpec("yellow", "triangle", "black", 0.5, 0.5, 0.5)],
    [ShapeSpec("green", "square", "gradient", 0.4, 0.6, 0.4)],
]


def test_near_duplicates_group_and_different_pictures_do_not(tmp_path, trained_clip, capsys):
    config, weights = trained_clip
    photos = tmp_path / "photos"
    scenes = duplicate_variants(photos, SCENES)
    (photos / "copies").mkdir()
    shutil.copyfile(scenes[0][0], photos / "copies" / "original copy.png")  # byte-identical
    lib = Library(tmp_path / "lib", model=config, pretrained=weights, device="cpu")
    try:
        lib.index([str(photos)], tag=False)
        # what the model sees: similarity within a scene's variants and across scenes
        mid = lib.catalog.find_model(lib.model_key)[0]
        vec = {}
        for scene, files in scenes.items():
            for f in files:
                rec = lib.catalog.photo_by_path(str(f))
                vec[f] = lib.catalog.vector_for_fingerprint(mid, rec.fingerprint)[1]
        within = min(float(vec[f] @ vec[files[0]]) for files in scenes.values() for f in files)
        across = max(float(vec[a[0]] @ vec[b[0]]) for i, a in scenes.items() for j, b in scenes.items() if i < j)
        print(f"\n[duplicates] weakest variant similarity {within:.3f}, strongest between pictures {across:.3f}")
        assert within > across
        threshold = round((within + across) / 2, 3)

        t0 = time.perf_counter()
        groups = lib.duplicates(threshold)
        print(f"[duplicates] {len(groups)} groups at threshold {threshold} in {time.perf_counter() - t0:.3f}s")
        found = sorted(sorted(Path(p.path) for p in g.photos) for g in groups)
        expected = sorted(sorted(files + ([photos / "copies" / "original copy.png"] if i == 0 else []))
                          for i, files in scenes.items())
        assert found == expected
        for g in groups:
            assert g.keeper.width == 512 and g.keeper.height == 512  # the largest is kept
            assert not g.exact
        # threshold 1: identical content only
        (exact,) = lib.duplicates(1.0)
        assert exact.exact and {Path(p.path).name for p in exact.photos} == {"original.png", "original copy.png"}
    finally:
        lib.close()

    # the CLI prints the same groups, keeper first, as JSON
    capsys.readouterr()
    assert main(["duplicates", "--threshold", str(threshold), "--json", "--library", str(tmp_path / "lib"),
                 "--model", config, "--pretrained", weights]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert sorted(sorted(Path(p["path"]) for p in g["photos"]) for g in printed) == expected
    assert all(g["keeper"] == g["photos"][0]["path"] for g in printed)


def test_cli_duplicates_json(tmp_path, capsys, photo_folder, tiny_config):
    shutil.copyfile(photo_folder / "a" / "img0.jpg", photo_folder / "b" / "img0 copy.jpg")
    lib_dir = str(tmp_path / "lib")
    common = ["--library", lib_dir, "--model", tiny_config, "--pretrained", "random"]
    assert main(["index", str(photo_folder), "--no-tag", *common]) == 0
    capsys.readouterr()
    assert main(["duplicates", "--threshold", "1", "--json", *common]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert len(groups) == 1 and groups[0]["exact"] is True
    assert {Path(p["path"]).name for p in groups[0]["photos"]} == {"img0.jpg", "img0 copy.jpg"}
    assert groups[0]["keeper"] == groups[0]["photos"][0]["path"] and groups[0]["photos"][0]["keep"]
    assert main(["duplicates", "--threshold", "1.5", *common]) != 0
    assert "--threshold" in capsys.readouterr().err


def test_deleted_or_replaced_copies_are_not_listed(tmp_path, photo_folder, make_library):
    original = photo_folder / "a" / "img0.jpg"
    copies = [photo_folder / "b" / f"copy{i}.jpg" for i in range(3)]
    for c in copies:
        shutil.copyfile(original, c)
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    (group,) = lib.duplicates(1.0)
    assert len(group.photos) == 4
    copies[0].unlink()  # deleted since the last index
    st = os.stat(copies[1])
    with open(copies[1], "r+b") as f:  # replaced in place by other bytes: same size, same mtime
        data = bytearray(f.read())
        data[100:110] = bytes(10)
        f.seek(0)
        f.write(data)
    os.utime(copies[1], ns=(st.st_atime_ns, st.st_mtime_ns))
    os.utime(copies[2], ns=(0, os.stat(copies[2]).st_mtime_ns))  # only read: still a copy
    (group,) = lib.duplicates(1.0)
    assert {p.path for p in group.photos} == {str(original), str(copies[2])}
    original.unlink()
    assert lib.duplicates(1.0) == []
