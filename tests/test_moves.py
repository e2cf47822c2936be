"""Identity that survives moves and renames: photos keep their vector and tags, nothing is
re-embedded; duplicates share one vector; an unplugged folder goes offline and comes back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers import draw_photo


def snapshot(lib) -> dict[str, tuple]:
    """path -> (photo id, vector id, tags) for every photo."""
    mid = lib._model_row()
    out = {}
    for rec in lib.photos():
        hit = lib.catalog.vector_for_fingerprint(mid, rec.fingerprint)
        tags = tuple((t.tag_set, t.label, round(t.score, 6)) for t in lib.photo_tags(rec.id))
        out[rec.path] = (rec.id, hit[0] if hit else None, tags)
    return out


def vector_rows(lib) -> int:
    return lib.catalog.conn.execute("SELECT count(*) FROM vectors").fetchone()[0]


@pytest.fixture
def indexed(make_library, photo_folder):
    lib = make_library()
    report = lib.index([str(photo_folder)])
    assert report.added == 12 and report.embedded == 12
    before = snapshot(lib)
    assert all(v[1] is not None and v[2] for v in before.values())  # embedded and tagged
    return lib, photo_folder, before


def moves(root: Path) -> dict[str, str]:
    """Rename one photo, move one to another subfolder, move one into a new subfolder."""
    (root / "b" / "new sub").mkdir()
    plan = {
        root / "a" / "img0.jpg": root / "a" / "renamed 0.jpg",
        root / "a" / "img1.jpg": root / "b" / "img1.jpg",
        root / "b" / "img2.png": root / "b" / "new sub" / "img2.png",
    }
    for old, new in plan.items():
        os.rename(old, new)
    return {str(o): str(n) for o, n in plan.items()}


def assert_kept(before, after, plan):
    for old, new in plan.items():
        assert old not in after
        assert after[new] == before[old]  # same photo id, same vector id, same tags and scores
    for path, value in before.items():
        if path not in plan:
            assert after[path] == value


def test_moves_while_closed_keep_vector_and_tags(indexed):
    lib, root, before = indexed
    plan = moves(root)
    report = lib.index()
    assert report.relinked == 3
    assert report.embedded == 0 and report.added == 0 and report.removed == 0
    assert_kept(before, snapshot(lib), plan)
    assert vector_rows(lib) == 12


def test_moves_while_closed_survive_reopening_the_library(indexed, make_library):
    lib, root, before = indexed
    lib.close()
    plan = moves(root)
    again = make_library(lib.root)
    report = again.index()
    assert (report.relinked, report.embedded) == (3, 0)
    assert_kept(before, snapshot(again), plan)


def test_live_moves_via_index_paths_keep_vector_and_tags(indexed):
    lib, root, before = indexed
    plan = moves(root)
    report = lib.index_paths([p for pair in plan.items() for p in pair])
    assert report.relinked == 3
    assert report.embedded == 0 and report.added == 0 and report.removed == 0
    after = snapshot(lib)
    assert_kept(before, after, plan)
    assert {r.path for r in lib.search("a photo", limit=50)} == set(after)


def test_rename_onto_an_existing_photo_reuses_the_vector(indexed):
    lib, root, before = indexed
    src, dest = root / "a" / "img3.jpg", root / "a" / "img4.jpg"
    os.replace(src, dest)  # img4's content is now img3's
    report = lib.index_paths([str(src), str(dest)])
    assert report.embedded == 0
    after = snapshot(lib)
    assert str(src) not in after
    assert after[str(dest)][1:] == before[str(src)][1:]  # img3's vector and tags
    assert vector_rows(lib) == 11  # img4's old content has no photo any more


@pytest.mark.parametrize("live", [False, True], ids=["closed", "live"])
def test_moving_a_folder_of_50_photos_embeds_nothing(make_library, tmp_path, live):
    root = tmp_path / "photos"
    for i in range(50):
        draw_photo(root / "Trip" / f"IMG_{i:04d}.jpg", ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256),
                   size=(48, 36), shape="square" if i % 2 else "circle")
    lib = make_library()
    assert lib.index([str(root)]).embedded == 50
    before = snapshot(lib)
    (root / "2024").mkdir()
    os.rename(root / "Trip", root / "2024" / "Trip to the sea")
    if live:
        report = lib.index_paths(list(before) + [str(p) for p in (root / "2024").rglob("*.jpg")])
    else:
        report = lib.index()
    assert report.relinked == 50
    assert report.embedded == 0 and report.removed == 0 and report.added == 0
    after = snapshot(lib)
    assert sorted(after.values()) == sorted(before.values())
    assert all("/2024/Trip to the sea/" in p for p in after)


def test_duplicates_are_both_listed_and_share_one_vector(make_library, tmp_path):
    root = tmp_path / "photos"
    original = draw_photo(root / "camera" / "IMG_1.jpg", (200, 30, 30))
    draw_photo(root / "camera" / "IMG_2.jpg", (30, 30, 200), shape="square")
    (root / "backup").mkdir()
    copy = Path(shutil.copy2(original, root / "backup" / "IMG_1 copy.jpg"))
    lib = make_library()
    report = lib.index([str(root)])
    assert report.added == 3
    assert report.embedded == 2  # the copy is not run through the model
    assert vector_rows(lib) == 2
    results = {r.path for r in lib.search("red", limit=10)}
    assert {str(original), str(copy)} <= results
    a, b = lib.catalog.photo_by_path(str(original)), lib.catalog.photo_by_path(str(copy))
    assert a.fingerprint == b.fingerprint and a.id != b.id
    assert lib.photo_tags(a.id) == lib.photo_tags(b.id)
    # A third copy arriving later is linked, not embedded; deleting one copy keeps the vector.
    third = str(shutil.copy2(original, root / "IMG_1 again.jpg"))
    report = lib.index_paths([third])
    assert (report.added, report.embedded) == (1, 0)
    os.remove(original)
    report = lib.index()
    assert report.removed == 1 and vector_rows(lib) == 2
    assert {str(copy), third} <= {r.path for r in lib.search("red", limit=10)}


def test_unplugged_folder_stays_offline_and_comes_back_without_reembedding(indexed, tmp_path):
    lib, root, before = indexed
    away = tmp_path / "unplugged"
    os.rename(root, away)
    report = lib.index()
    assert report.offline == [str(root)]
    assert report.removed == 0 and report.embedded == 0
    photos = lib.photos()
    assert len(photos) == 12 and all(p.offline for p in photos)
    assert lib.search("a photo", limit=50) == []  # not shown while the drive is away
    assert [f.online for f in lib.folders()] == [False]
    assert vector_rows(lib) == 12

    # The watcher reporting vanished files while the drive is away must not delete them either.
    report = lib.index_paths([str(root / "a" / "img0.jpg"), str(root / "b" / "img1.png")])
    assert report.removed == 0
    assert len(lib.photos()) == 12

    os.rename(away, root)
    report = lib.index()
    assert report.offline == [] and report.embedded == 0 and report.unchanged == 12
    assert [f.online for f in lib.folders()] == [True]
    after = snapshot(lib)
    assert after == before
    assert {r.path for r in lib.search("a photo", limit=50)} == set(before)
    assert not any(p.offline for p in lib.photos())
