"""The catalog's schema versions, its upgrades and how it names SQLite's failures."""

from __future__ import annotations

import sqlite3

import pytest

from photoclip.core import catalog as catalog_module
from photoclip.core.catalog import Catalog, SqliteFailure, classify
from photoclip.core.errors import StorageError

from helpers import draw_photo, write_exif


def _rows(conn) -> dict:
    return {
        "photos": conn.execute("SELECT path, fingerprint, size, mtime_ns FROM photos ORDER BY path").fetchall(),
        "vectors": conn.execute("SELECT id, fingerprint, vector FROM vectors ORDER BY id").fetchall(),
        "tags": conn.execute("SELECT vector_id, tag_set_id, label, score FROM tags ORDER BY 1, 2, 3").fetchall(),
        "problems": conn.execute("SELECT path, reason FROM problems ORDER BY path").fetchall(),
        "tag_sets": conn.execute("SELECT name, labels FROM tag_sets ORDER BY name").fetchall(),
    }


def _as_tuples(rows: dict) -> dict:
    return {k: [tuple(r) for r in v] for k, v in rows.items()}


def _downgrade_to_version_1(conn) -> None:
    """Turns a catalog back into what schema version 1 wrote: the tables, columns and indexes the
    later versions added go, and the version says 1."""
    conn.execute("DROP TABLE user_tags")
    conn.execute("DROP INDEX photos_taken")
    conn.execute("DROP INDEX photos_pair")
    conn.execute("DROP INDEX photos_dir")
    v1_columns = {"id", "path", "folder_id", "size", "mtime_ns", "fingerprint", "width", "height", "taken_at",
                  "offline", "added_at"}
    for column in [r[1] for r in conn.execute("PRAGMA table_info(photos)")]:
        if column not in v1_columns:
            conn.execute(f"ALTER TABLE photos DROP COLUMN {column}")
    conn.execute("ALTER TABLE tag_sets DROP COLUMN abstain")  # (version 8)
    conn.execute("PRAGMA user_version=1")
    conn.commit()


def _schema(conn) -> dict:
    """Every table's columns and every index, as SQLite describes them."""
    objects = [tuple(r) for r in conn.execute(
        "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {(kind, name): [tuple(r) for r in conn.execute(f"PRAGMA {'table' if kind == 'table' else 'index'}_xinfo({name})")]
            for kind, name, _ in objects}


def _build_version_1_library(make_library, photos, monkeypatch) -> dict:
    """A library as a photoclip with only schema version 1 wrote it: photos, vectors, tags, problems
    (the catalog of an index run, its later tables and columns removed again)."""
    lib = make_library()
    report = lib.index([str(photos)])
    root = lib.root
    lib.close()
    conn = sqlite3.connect(root / "catalog.sqlite3")
    _downgrade_to_version_1(conn)
    with monkeypatch.context() as m:  # the schema version 1 creates, to compare with
        m.setattr(catalog_module, "SCHEMA_VERSION", 1)
        m.setattr(catalog_module, "_MIGRATIONS", catalog_module._MIGRATIONS[:1])
        fresh = Catalog(root.parent / "fresh-v1")
        assert _schema(conn) == _schema(fresh.conn)
        fresh.close()
    conn.execute("UPDATE photos SET taken_at=NULL")  # version 1 kept only the EXIF date, if any
    conn.commit()
    before = _as_tuples(_rows(conn))
    conn.close()
    assert report.added == len(before["photos"]) and before["vectors"] and before["tags"] and before["problems"]
    return before


def test_a_version_1_library_upgrades_keeping_every_vector_tag_and_problem(make_library, photo_folder,
                                                                            monkeypatch):
    (photo_folder / "broken.jpg").write_bytes(b"not a picture")
    write_exif(draw_photo(photo_folder / "camera.jpg", (90, 10, 160)))
    before = _build_version_1_library(make_library, photo_folder, monkeypatch)

    lib = make_library()
    conn = lib.catalog.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == catalog_module.SCHEMA_VERSION == 8
    assert conn.execute("SELECT count(*) FROM user_tags").fetchone()[0] == 0  # version 3: empty, ready
    assert _as_tuples(_rows(conn)) == before
    # Every photo is marked for its metadata to be read on the next scan; nothing is re-embedded.
    assert {r["meta_read"] for r in conn.execute("SELECT meta_read FROM photos")} == {0}
    report = lib.index()
    assert (report.added, report.updated, report.embedded) == (0, 0, 0)
    assert report.metadata_read == len(before["photos"])
    assert _as_tuples(_rows(conn))["vectors"] == before["vectors"]
    assert _as_tuples(_rows(conn))["tags"] == before["tags"]
    assert len(lib.search("a red circle", limit=3)) == 3
    # ... and the photos now know their camera, date and place
    camera = lib.photo_by_path(str(photo_folder / "camera.jpg"))
    assert (camera.camera, camera.taken_at, camera.taken_source) == ("Canon EOS R5", "2024-06-15T18:30:12.45+01:00", "exif")
    assert camera.place == "Lisbon, Portugal" and camera.kind == "jpeg"
    other = lib.photo_by_path(str(photo_folder / "b" / "img0.png"))
    assert other.taken_source == "file" and other.kind == "png" and other.camera is None
    assert lib.index().metadata_read == 0  # read once


def test_an_upgrade_interrupted_midway_leaves_the_old_version_that_opens_again(tmp_path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(catalog_module, "SCHEMA_VERSION", 1)
        m.setattr(catalog_module, "_MIGRATIONS", catalog_module._MIGRATIONS[:1])
        Catalog(tmp_path / "lib").close()

    def crashing_step(c):
        c.execute("ALTER TABLE photos ADD COLUMN half_done TEXT")
        raise RuntimeError("power cut")

    with monkeypatch.context() as m:
        m.setattr(catalog_module, "_MIGRATIONS", (catalog_module._MIGRATIONS[0], crashing_step))
        with pytest.raises(RuntimeError):
            Catalog(tmp_path / "lib")
    conn = sqlite3.connect(tmp_path / "lib" / "catalog.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "half_done" not in {r[1] for r in conn.execute("PRAGMA table_info(photos)")}
    conn.close()
    upgraded = Catalog(tmp_path / "lib")
    assert upgraded.conn.execute("PRAGMA user_version").fetchone()[0] == catalog_module.SCHEMA_VERSION
    upgraded.close()


def test_a_full_disk_is_named_as_such_and_nothing_is_half_written(tmp_path):
    cat = Catalog(tmp_path / "lib")
    cat.set_meta("kept", "yes")
    cat.conn.execute("PRAGMA max_page_count=%d" % cat.conn.execute("PRAGMA page_count").fetchone()[0])
    with pytest.raises(StorageError, match="full") as caught:
        with cat.transaction() as c:
            c.execute("INSERT INTO meta(key, value) VALUES ('big', ?)", ("x" * 200_000,))
    assert caught.value.failure is SqliteFailure.DISK_FULL
    assert cat.get_meta("kept") == "yes" and cat.get_meta("big") is None
    cat.close()


@pytest.mark.parametrize("message, kind", [
    ("database or disk is full", SqliteFailure.DISK_FULL),
    ("disk I/O error", SqliteFailure.IO_ERROR),
    ("database is locked", SqliteFailure.BUSY),
    ("attempt to write a readonly database", SqliteFailure.READ_ONLY),
    ("database disk image is malformed", SqliteFailure.CORRUPT),
    ("no such table: nowhere", SqliteFailure.OTHER),
])
def test_errors_without_a_code_are_classified_by_sqlites_message(message, kind):
    exc = sqlite3.OperationalError(message)  # as Python 3.10 raises them: no sqlite_errorcode
    assert getattr(exc, "sqlite_errorcode", None) is None
    assert classify(exc) is kind


def test_errors_with_a_code_are_classified_by_it(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3")
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("SELECT * FROM nowhere")
    if getattr(caught.value, "sqlite_errorcode", None) is None:
        pytest.skip("this Python's sqlite3 gives no error codes")
    assert classify(caught.value) is SqliteFailure.OTHER
    caught.value.sqlite_errorcode = 266  # SQLITE_IOERR_READ: an extended code of SQLITE_IOERR
    assert classify(caught.value) is SqliteFailure.IO_ERROR
