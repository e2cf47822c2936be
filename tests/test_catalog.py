"""The catalog's schema versions, its upgrades and how it names SQLite's failures."""

from __future__ import annotations

import sqlite3

import pytest

from photoclip.core import catalog as catalog_module
from photoclip.core.catalog import Catalog, SqliteFailure, classify
from photoclip.core.errors import StorageError


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


def _build_version_1_library(make_library, photos, monkeypatch) -> dict:
    """A library as a photoclip with only schema version 1 wrote it: photos, vectors, tags, problems."""
    with monkeypatch.context() as m:
        m.setattr(catalog_module, "SCHEMA_VERSION", 1)
        m.setattr(catalog_module, "_MIGRATIONS", catalog_module._MIGRATIONS[:1])
        lib = make_library()
        report = lib.index([str(photos)])
        assert lib.catalog.conn.execute("PRAGMA user_version").fetchone()[0] == 1
        before = _as_tuples(_rows(lib.catalog.conn))
        lib.close()
    assert report.added == 12 and before["vectors"] and before["tags"] and before["problems"]
    return before


def test_a_version_1_library_upgrades_keeping_every_vector_tag_and_problem(make_library, photo_folder,
                                                                            monkeypatch):
    (photo_folder / "broken.jpg").write_bytes(b"not a picture")
    before = _build_version_1_library(make_library, photo_folder, monkeypatch)

    lib = make_library()
    conn = lib.catalog.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == catalog_module.SCHEMA_VERSION == 3
    assert conn.execute("SELECT count(*) FROM user_tags").fetchone()[0] == 0  # version 3: empty, ready
    assert _as_tuples(_rows(conn)) == before
    # Every photo is marked for its metadata to be read on the next scan; nothing is re-embedded.
    assert {r["meta_read"] for r in conn.execute("SELECT meta_read FROM photos")} == {0}
    report = lib.index()
    assert (report.added, report.updated, report.embedded) == (0, 0, 0)
    assert _as_tuples(_rows(conn))["vectors"] == before["vectors"]
    assert len(lib.search("a red circle", limit=3)) == 3


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
