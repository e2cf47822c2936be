"""A library folder's subfolders: listed with their counts, and each one's photos shown alone or
with the folders below it; an older library gains this without re-embedding."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

from photoclip.core import catalog as catalog_module
from photoclip.core.filters import PhotoFilter

from helpers import draw_photo, photoclip_cli

# where each photo lies below the library folder
TREE = ["top.jpg", "2023/a.jpg", "2023/b.jpg", "2023/summer/c.jpg", "2023/summer/beach/d.jpg",
        "2024/06/e.jpg", "2024/06/f.jpg", "Zoo/g.png"]


def _make_tree(root):
    for i, rel in enumerate(TREE):
        draw_photo(root / rel, (20 + 28 * i, 200 - 20 * i, 60 + 15 * i), shape="circle" if i % 2 else "square")
    (root / "empty" / "nothing").mkdir(parents=True)  # a folder without photos is not listed
    return root


def _names(photos, root) -> set[str]:
    return {os.path.relpath(p.path, root) for p in photos}


def _counts(subs) -> list[tuple]:
    return [(s.name, s.photos, s.total, s.subfolders) for s in subs]


def test_subfolders_are_listed_by_name_with_direct_and_total_counts(make_library, tmp_path):
    root = _make_tree(tmp_path / "photos")
    lib = make_library()
    lib.index([str(root)])
    assert _counts(lib.subfolders(str(root))) == [("2023", 2, 4, 1), ("2024", 0, 2, 1), ("Zoo", 1, 1, 0)]
    assert _counts(lib.subfolders(str(root / "2023"))) == [("summer", 1, 2, 1)]
    assert _counts(lib.subfolders(str(root / "2023" / "summer"))) == [("beach", 1, 1, 0)]
    assert lib.subfolders(str(root / "Zoo")) == []
    own = lib.directory_counts(str(root))
    assert (own.photos, own.total, own.subfolders) == (1, len(TREE), 3)
    assert lib.directory_counts(str(root / "empty")).total == 0
    # a folder whose name starts like another's is not counted as below it
    draw_photo(root / "2023-extra" / "h.jpg", (1, 2, 3))
    lib.index()
    assert [s.name for s in lib.subfolders(str(root))] == ["2023", "2023-extra", "2024", "Zoo"]
    assert lib.directory_counts(str(root / "2023")).total == 4


def test_a_subfolder_shows_its_own_photos_or_also_the_deeper_ones(make_library, tmp_path):
    root = _make_tree(tmp_path / "photos")
    lib = make_library()
    lib.index([str(root)])
    direct = PhotoFilter(directory=str(root / "2023"), deeper=False)
    deeper = PhotoFilter(directory=str(root / "2023"))
    assert _names(lib.photos(direct), root) == {"2023/a.jpg", "2023/b.jpg"}
    assert _names(lib.photos(deeper), root) == {"2023/a.jpg", "2023/b.jpg", "2023/summer/c.jpg",
                                                 "2023/summer/beach/d.jpg"}
    assert len(lib.photo_listing(deeper)) == 4
    assert _names(lib.photos(PhotoFilter(directory=str(root / "2024"), deeper=False)), root) == set()
    # the library folder itself: only the photo at its top, or everything (as the folder filter)
    assert _names(lib.photos(PhotoFilter(directory=str(root), deeper=False)), root) == {"top.jpg"}
    assert _names(lib.photos(PhotoFilter(directory=str(root))), root) == _names(lib.photos(PhotoFilter(folder=str(root))), root)
    # a search stays inside the subfolder, combined with other filters
    found = lib.search("a red circle", limit=10, where=deeper)
    assert found and {os.path.relpath(r.path, root) for r in found} <= _names(lib.photos(deeper), root)
    assert _names(lib.photos(deeper.but(kind="png")), root) == set()
    assert _names(lib.photos(PhotoFilter(directory=str(root / "Zoo"), kind="png")), root) == {"Zoo/g.png"}


def test_deeper_only_qualifies_a_directory():
    assert not PhotoFilter(deeper=False)
    assert PhotoFilter(deeper=False) == PhotoFilter()
    assert PhotoFilter(directory="/x", deeper=False) != PhotoFilter(directory="/x")
    assert PhotoFilter(directory="/x/../y/").directory == "/y"


def test_a_moved_photo_is_counted_in_its_new_subfolder(make_library, tmp_path):
    root = _make_tree(tmp_path / "photos")
    lib = make_library()
    lib.index([str(root)])
    shutil.move(str(root / "2023" / "summer" / "c.jpg"), str(root / "Zoo" / "c.jpg"))
    report = lib.index()
    assert report.embedded == 0
    assert _counts(lib.subfolders(str(root))) == [("2023", 2, 3, 1), ("2024", 0, 2, 1), ("Zoo", 2, 2, 0)]
    assert _names(lib.photos(PhotoFilter(directory=str(root / "Zoo"), deeper=False)), root) == {"Zoo/g.png", "Zoo/c.jpg"}


def test_a_version_4_library_gains_subfolders_keeping_its_vectors(make_library, tmp_path):
    root = _make_tree(tmp_path / "photos")
    lib = make_library()
    lib.index([str(root)])
    lib_root = lib.root
    lib.close()
    conn = sqlite3.connect(lib_root / "catalog.sqlite3")
    conn.execute("DROP INDEX photos_dir")  # what version 4 had
    conn.execute("ALTER TABLE photos DROP COLUMN dir")
    conn.execute("ALTER TABLE photos DROP COLUMN sidecar_mtime_ns")  # (version 7)
    conn.execute("ALTER TABLE tag_sets DROP COLUMN abstain")  # (version 8)
    conn.execute("PRAGMA user_version=4")
    conn.commit()
    vectors = conn.execute("SELECT id, fingerprint, vector FROM vectors ORDER BY id").fetchall()
    photos = conn.execute("SELECT id, path, fingerprint FROM photos ORDER BY id").fetchall()
    conn.close()
    assert vectors and len(photos) == len(TREE)

    lib = make_library(lib_root)
    conn = lib.catalog.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == catalog_module.SCHEMA_VERSION
    assert [tuple(r) for r in conn.execute("SELECT id, fingerprint, vector FROM vectors ORDER BY id")] == vectors
    assert [tuple(r) for r in conn.execute("SELECT id, path, fingerprint FROM photos ORDER BY id")] == photos
    assert {os.fsdecode(r[0]) for r in conn.execute("SELECT dir FROM photos")} == {
        os.path.dirname(str(root / rel)) for rel in TREE}
    assert _counts(lib.subfolders(str(root))) == [("2023", 2, 4, 1), ("2024", 0, 2, 1), ("Zoo", 1, 1, 0)]
    assert lib.index().embedded == 0
    assert len(lib.photos(PhotoFilter(directory=str(root / "2024" / "06"), deeper=False))) == 2


def test_the_command_line_lists_subfolders_and_searches_one(tmp_path, tiny_config):
    root = _make_tree(tmp_path / "photos")
    cli = photoclip_cli(tmp_path / "lib", tmp_path / "models")

    cli("index", str(root), "--model", tiny_config, "--pretrained", "random", "--no-tag")
    listing = cli("folders", "list", str(root)).stdout.splitlines()
    assert [line.split() for line in listing[1:]] == [
        ["4", "2023/", "(2", "directly", "in", "it)"], ["2", "2024/", "(0", "directly", "in", "it)"], ["1", "Zoo/"]]
    assert listing[0].split()[0] == str(len(TREE))

    def found(*args):
        return {os.path.relpath(r["path"], root) for r in json.loads(cli("search", *args, "--json", "-n", "50").stdout)}

    assert found("--folder", str(root / "2023")) == {"2023/a.jpg", "2023/b.jpg", "2023/summer/c.jpg",
                                                    "2023/summer/beach/d.jpg"}
    assert found("--folder", str(root / "2023"), "--no-subfolders") == {"2023/a.jpg", "2023/b.jpg"}
    assert found("a red circle", "--folder", str(root / "2023"), "--no-subfolders") == {"2023/a.jpg", "2023/b.jpg"}
    assert len(found("--folder", str(root))) == len(TREE)
    assert "--folder" in cli("search", "x", "--no-subfolders", ok=False).stderr
    status = json.loads(cli("status", "--json").stdout)
    assert [(s["name"], s["photos"], s["total"]) for s in status["folders"][0]["subfolders"]] == [
        ("2023", 2, 4), ("2024", 0, 2), ("Zoo", 1, 1)]
