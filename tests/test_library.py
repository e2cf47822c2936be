"""The core library end to end with a tiny random open_clip model: index, rescan, search, tags, export."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import draw_photo
from photoclip.core import tagging
from photoclip.core.errors import LibraryVersionError, PhotoclipError
from photoclip.core.search import parse_query
from photoclip.core.tagging import TagSet


def test_index_then_search_lists_every_photo_best_first(make_library, photo_folder):
    lib = make_library()
    report = lib.index([str(photo_folder)], tag=False)
    assert (report.added, report.embedded, report.problems) == (12, 12, 0)
    results = lib.search("a red circle", limit=50)
    assert len(results) == 12
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    assert {os.path.basename(r.path) for r in results} == {f"img{i}.{e}" for i in range(6) for e in ("jpg", "png")}
    # the folder shows its photo count
    assert [f.photo_count for f in lib.folders()] == [12]


def test_unchanged_rescan_does_not_load_the_model(make_library, photo_folder, tmp_path):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    lib.close()
    again = make_library()
    report = again.index(tag=False)
    assert (report.unchanged, report.embedded, report.added) == (12, 0, 0)
    assert again._embedder is None, "an unchanged rescan must not load the model"


def test_changed_file_is_reembedded_and_deleted_file_leaves_search(make_library, photo_folder):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    changed = photo_folder / "a" / "img0.jpg"
    old_vec = lib.catalog.vector_for_fingerprint(lib._model_row(), lib.catalog.photo_by_path(str(changed)).fingerprint)
    draw_photo(changed, (10, 10, 240), size=(150, 100), shape="square")
    (photo_folder / "b" / "img3.png").unlink()
    report = lib.index(tag=False)
    assert (report.updated, report.removed, report.embedded, report.unchanged) == (1, 1, 1, 10)
    new_vec = lib.catalog.vector_for_fingerprint(lib._model_row(), lib.catalog.photo_by_path(str(changed)).fingerprint)
    assert not np.allclose(old_vec[1], new_vec[1])
    paths = {r.path for r in lib.search("anything", limit=50)}
    assert str(photo_folder / "b" / "img3.png") not in paths
    assert len(paths) == 11
    # the old content's vector is gone from the catalog and from the index
    assert lib.catalog.vector_count(lib._model_row()) == 11
    assert len(lib.index_cache.index(lib._model_row())) == 11


def test_image_query_finds_the_photo_itself_first(make_library, photo_folder):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    target = photo_folder / "b" / "img2.png"
    results = lib.search(image=str(target), limit=3)
    assert results[0].path == str(target)
    assert results[0].score == pytest.approx(1.0, abs=1e-4)
    # a file outside the library is embedded on the fly
    outside = draw_photo(photo_folder.parent / "outside.png", (40, 40, 200), shape="square", bg=(60, 100, 160))
    assert lib.search(image=str(outside), limit=1)
    # similar() excludes the photo itself
    rec = lib.catalog.photo_by_path(str(target))
    assert all(r.photo_id != rec.id for r in lib.similar(rec.id, limit=5))


def test_text_and_image_combine(make_library, photo_folder):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    target = str(photo_folder / "a" / "img1.jpg")
    paths = lambda results: [r.path for r in results]
    text_only = lib.search("a photo", limit=12)
    image_only = lib.search(image=target, limit=12)
    assert paths(lib.search("a photo", image=target, weight=0.0, limit=12)) == paths(text_only)
    assert paths(lib.search("a photo", image=target, weight=1.0, limit=12)) == paths(image_only)
    mixed = lib.search("a photo", image=target, weight=0.5, limit=12)
    # each score is the cosine with the normalised blend of both query vectors
    from photoclip.core.search import text_query_vector
    emb = lib.embedder()
    t = text_query_vector(emb, "a photo")
    i = lib.catalog.vector_for_fingerprint(lib._model_row(), lib.catalog.photo_by_path(target).fingerprint)[1]
    q = (t + i) / np.linalg.norm(t + i)
    for r in mixed:
        v = lib.catalog.vector_for_fingerprint(lib._model_row(), lib.catalog.photo(r.photo_id).fingerprint)[1]
        assert r.score == pytest.approx(float(v @ q), abs=2e-3)


def test_parse_query_negative_terms():
    assert parse_query("portrait -sunglasses") == ("portrait", ["sunglasses"])
    assert parse_query('beach -"night sky" -dog') == ("beach", ["night sky", "dog"])
    assert parse_query("black-and-white photo") == ("black-and-white photo", [])
    assert parse_query('"two dogs" - playing') == ("two dogs playing", [])


def test_negative_term_changes_the_ranking(make_library, photo_folder):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    plain = [r.path for r in lib.search("circle", limit=12)]
    pushed = [r.path for r in lib.search("circle -red", limit=12)]
    assert sorted(plain) == sorted(pushed)
    assert plain != pushed


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_oracle_embedding_matches_open_clip_reference(make_library, tmp_path, precision):
    """photoclip's stored vector == open_clip's own pipeline in fp32 (encode_image(preprocess(Image.open(p)))),
    whether photoclip ran the model in fp32 or in bf16."""
    import open_clip
    import torch

    from photoclip.core.embedder import Embedder

    config = tmp_path / "mid.json"
    config.write_text(json.dumps({
        "embed_dim": 64,
        "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}))
    photos = tmp_path / "oracle"
    photos.mkdir()
    rng = np.random.default_rng(1)
    # smooth, photo-like content: gradients, blobs and a little noise
    def scene(w, h):
        y, x = np.mgrid[0:h, 0:w] / max(w, h)
        img = np.stack([np.sin(6 * x + 1) * 0.5 + 0.5, np.cos(5 * y) * 0.5 + 0.5, (x + y) / 2], -1)
        img += rng.normal(0, 0.02, img.shape)
        return Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    scene(640, 480).save(photos / "small.png")
    scene(500, 375).save(photos / "small.jpg", quality=95)
    scene(4000, 3000).save(photos / "large.jpg", quality=92)
    lib = make_library(model=str(config), precision=precision)
    lib.index([str(photos)], tag=False)
    assert lib.embedder().precision == precision
    emb = Embedder(lib.spec, "cpu", precision="fp32")  # the reference: open_clip's model in fp32
    mid = lib._model_row()
    for name, floor in (("small.png", 0.999), ("small.jpg", 0.999), ("large.jpg", 0.99)):
        path = photos / name
        ours = lib.catalog.vector_for_fingerprint(mid, lib.catalog.photo_by_path(str(path)).fingerprint)[1]
        with torch.inference_mode():
            ref = emb.model.encode_image(emb.preprocess(Image.open(path)).unsqueeze(0))[0].numpy()
        ref = ref / np.linalg.norm(ref)
        cos = float(ours @ ref)
        print(f"oracle {name} ({precision}): cosine {cos:.5f}")
        assert cos >= floor, name
    assert open_clip is not None


def test_label_embeddings_are_kept_for_the_next_process(make_library, photo_folder, monkeypatch):
    """A tag set's label embeddings are encoded once per (model, prompts, precision) and read back
    from the library folder by a later process; only sets with photos to tag are encoded; a
    damaged file is encoded again."""
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    colours = lib.save_tag_set(TagSet("colours", ["red", "green", "blue"], "single"))
    enabled = [ts for ts in lib.tag_sets() if ts.enabled]
    assert lib.tag() == 12 * len(enabled)
    folder = lib.root / "label-embeddings"
    assert len(list(folder.glob("*.npy"))) == len(enabled) and not list(folder.glob(".*"))  # written whole
    path = lib._labels.file_for(colours)
    expected = np.load(path)

    def spied(library):
        embedder, calls = library.embedder(), []
        encode = embedder.encode_texts
        monkeypatch.setattr(embedder, "encode_texts", lambda texts: calls.append(list(texts)) or encode(texts))
        return calls

    later = make_library(lib.root)  # as a new process would
    assert later.tag() == 0 and later.precision_in_use() is None  # nothing to tag: no model, nothing encoded
    calls = spied(later)
    assert later.tag(["colours"], retag=True) == 12 and calls == []  # read, not encoded
    later.save_tag_set(TagSet("shapes", ["circle", "square"], "single"))
    assert later.tag() == 12 and len(calls) == 1 and "circle" in calls[0][0]  # only the set with work

    path.write_bytes(b"half a file")
    mended = make_library(lib.root)
    calls = spied(mended)
    assert mended.tag(["colours"], retag=True) == 12 and len(calls) == 1
    assert np.array_equal(np.load(path), expected)

    other = make_library(lib.root, precision="bf16")  # another precision: its own file
    other.tag(["colours"], retag=True)
    _, labels = other._tagging_model()  # (the text tower alone: tagging encodes no photo)
    assert labels.file_for(colours) != path and labels.file_for(colours).is_file()


def test_tag_sets_single_and_multi(make_library, photo_folder):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    lib.save_tag_set(TagSet("colours", ["red", "green", "blue"], "single"))
    lib.save_tag_set(TagSet("things", ["circle", "square", "dog"], "multi", threshold=0.2))
    n = lib.tag(["colours", "things"])
    assert n == 24
    counts = lib.tag_counts()
    assert sum(counts["colours"].values()) == 12  # single: exactly one label per photo
    rec = lib.photos()[0]
    tags = lib.photo_tags(rec.id)
    single = [t for t in tags if t.tag_set == "colours"]
    assert len(single) == 1 and 0 < single[0].score <= 1 and single[0].model == lib.model_key
    assert all(t.score >= 0.2 for t in tags if t.tag_set == "things")
    best = lib.best_labels(rec.id)
    assert set(best["colours"][0][0:1]) <= {"red", "green", "blue"}
    # already tagged: nothing to do; an edit re-tags that set only
    assert lib.tag(["colours", "things"]) == 0
    lib.save_tag_set(TagSet("colours", ["red", "green", "blue", "yellow"], "single"))
    assert lib.tag(["colours", "things"]) == 12


def test_assign_modes():
    ts = TagSet("x", ["a", "b", "c"], "multi", threshold=0.3)
    probs = np.array([[0.45, 0.45, 0.10], [0.9, 0.05, 0.05]])
    assert [[l for l, _ in row] for row in tagging.assign(ts, probs)] == [["a", "b"], ["a"]]
    ts.mode = "single"
    assert [[l for l, _ in row] for row in tagging.assign(ts, probs)] == [["a"], ["a"]]


def test_tag_set_validation_and_toml_roundtrip(tmp_path):
    with pytest.raises(PhotoclipError):
        TagSet("", ["a"]).validate()
    with pytest.raises(PhotoclipError):
        TagSet("x", [" ", ""]).validate()
    with pytest.raises(PhotoclipError):
        TagSet("x", ["a"], templates=["no placeholder"]).validate()
    with pytest.raises(PhotoclipError):
        TagSet("x", ["a"], templates=["a {x} {}"]).validate()
    sets = [TagSet("scenes", ["beach", 'say "cheese"', "night sky"], "single"),
            TagSet("multi \\ set", ["a", "b"], "multi", 0.25, ["a {} photo"], enabled=False)]
    text = tagging.dump_tagsets_toml(sets)
    back = tagging.parse_tagsets_toml(text)
    assert [(t.name, t.labels, t.mode, t.threshold, t.templates, t.enabled) for t in back] == \
           [(t.name, t.labels, t.mode, t.threshold, t.templates, t.enabled) for t in sets]
    with pytest.raises(PhotoclipError, match="not valid TOML"):
        tagging.parse_tagsets_toml("[[tagset]\nname=")


def test_default_tag_sets_ship_and_load_on_first_run(make_library):
    lib = make_library()
    names = {t.name for t in lib.tag_sets()}
    assert {"scenes", "subjects", "documents", "events", "sensitive"} <= names
    assert not next(t for t in lib.tag_sets() if t.name == "sensitive").enabled
    # a user who deletes a default set does not get it back on the next start
    lib.delete_tag_set("events")
    lib.close()
    assert "events" not in {t.name for t in make_library().tag_sets()}


HOSTILE_NAMES = ["comma, here.jpg", 'quote " mark.jpg', "new\nline.jpg", "café ü 日本.jpg", "=SUM(A1).jpg",
                 "tab\tname.jpg"]
HOSTILE_LABELS = ['=HYPERLINK("http://x")', "+1", "-2", "@cmd", "a, b", 'say "hi"', "plain"]


def test_csv_export_round_trips_hostile_names(make_library, tmp_path):
    folder = tmp_path / "hostile, =folder"
    for i, name in enumerate(HOSTILE_NAMES):
        draw_photo(folder / name, (30 * i, 200, 100))
    lib = make_library()
    lib.index([str(folder)], tag=False)
    lib.save_tag_set(TagSet("weird set", HOSTILE_LABELS, "multi", threshold=0.01))
    lib.tag(["weird set"])
    out = tmp_path / "tags.csv"
    n = lib.export_tags(str(out))
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["path", "folder", "tag_set", "tag", "score", "model", "source"]
    assert len(rows) - 1 == n > 0
    paths = {r[0] for r in rows[1:]}
    assert paths == {str(folder / name) for name in HOSTILE_NAMES}
    for r in rows[1:]:
        assert r[1] == str(folder)
        assert not r[3].startswith(("=", "+", "-", "@")), "a spreadsheet would run this cell"
        assert r[3].lstrip("'") in HOSTILE_LABELS
        assert 0 <= float(r[4]) <= 1
        assert r[5] == lib.model_key


def test_bad_files_are_skipped_with_a_reason(make_library, tmp_path):
    folder = tmp_path / "mixed"
    draw_photo(folder / "good1.jpg")
    draw_photo(folder / "good2.png", (10, 200, 10))
    full = draw_photo(tmp_path / "whole.jpg", size=(400, 300))
    (folder / "truncated.jpg").write_bytes(full.read_bytes()[:600])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not a picture")
    Image.new("1", (20000, 20000)).save(folder / "bomb.png")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    lib = make_library()
    report = lib.index([str(folder)], tag=False)
    assert report.added == 2 and report.problems == 4
    reasons = {os.path.basename(p.path): p.reason for p in lib.problems()}
    assert set(reasons) == {"truncated.jpg", "empty.jpg", "notes.jpg", "bomb.png"}
    assert "truncated" in reasons["truncated.jpg"] or "corrupt" in reasons["truncated.jpg"]
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert "too large" in reasons["bomb.png"]
    # not retried until the file changes
    again = lib.index(tag=False)
    assert again.problems == 0 and again.unchanged == 6
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_model_change_reembeds_and_never_mixes_vectors(make_library, photo_folder, tiny_config, tmp_path):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    old_model = lib.model_key
    other = tmp_path / "other.json"
    cfg = json.loads(open(tiny_config).read())
    cfg["embed_dim"] = 24
    other.write_text(json.dumps(cfg))
    lib.set_model(str(other), "random")
    assert lib.model_key != old_model
    # before re-embedding, search still works on the old model's vectors
    assert len(lib.search("a red circle", limit=20)) == 12
    report = lib.index(tag=False)
    assert report.embedded == 12
    models = {name: count for _, name, _, count in lib.catalog.models()}
    assert models[lib.model_key] == 12 and models[old_model] == 12
    results = lib.search("a red circle", limit=20)
    assert len(results) == 12
    assert len(lib.index_cache.index(lib._model_row())) == 12


def test_second_process_sees_new_photos_without_reopening(make_library, photo_folder, tmp_path):
    a = make_library(tmp_path / "shared")
    b = make_library(tmp_path / "shared")
    a.index([str(photo_folder / "a")], tag=False)
    assert len(b.search("x", limit=50)) == 6
    a.index([str(photo_folder / "b")], tag=False)
    assert len(b.search("x", limit=50)) == 12


def test_newer_catalog_is_refused(tmp_path):
    from photoclip.core.catalog import Catalog

    Catalog(tmp_path / "lib").close()
    conn = sqlite3.connect(tmp_path / "lib" / "catalog.sqlite3")
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(LibraryVersionError, match="newer version"):
        Catalog(tmp_path / "lib")


def test_core_never_imports_qt():
    code = ("import sys, photoclip.core.library, photoclip.core.watcher, photoclip.cli; "
            "import photoclip.core.export, photoclip.core.tagging; "
            "assert not [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))], 'core imported Qt'")
    subprocess.run([sys.executable, "-c", code], check=True)
    root = os.path.join(os.path.dirname(__file__), "..", "photoclip", "core")
    for name in os.listdir(root):
        if name.endswith(".py"):
            with open(os.path.join(root, name), encoding="utf-8") as f:
                assert "PySide6" not in f.read(), name


def test_empty_mount_point_keeps_photos_offline(make_library, photo_folder):
    """An unplugged drive often leaves its mount point as an empty folder: nothing is deleted."""
    import shutil

    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    shutil.move(str(photo_folder), str(photo_folder) + "-away")
    photo_folder.mkdir()
    report = lib.index([str(photo_folder)], tag=False)  # a known folder: no "Not a folder" refusal
    assert report.offline == [str(photo_folder)] and report.removed == 0
    assert len(lib.photos()) == 12 and all(p.offline for p in lib.photos())
    assert lib.search("x", limit=50) == []
    photo_folder.rmdir()
    shutil.move(str(photo_folder) + "-away", str(photo_folder))
    back = lib.index(tag=False)
    assert (back.unchanged, back.embedded, back.offline) == (12, 0, [])
    assert len(lib.search("x", limit=50)) == 12


def test_leftover_index_temp_files_of_dead_processes_are_removed(make_library, photo_folder):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    index_dir = lib.root / "index"
    dead = index_dir / "model-1.hnsw.tmp-999999999"
    dead.write_bytes(b"x" * 1000)
    mine = index_dir / f"model-1.hnsw.tmp-{os.getpid()}"
    mine.write_bytes(b"x")
    lib.close()
    make_library()
    assert not dead.exists() and mine.exists()
    mine.unlink()


def test_csv_is_valid_utf8_when_a_file_name_is_not(make_library, tmp_path):
    folder = tmp_path / "latin1"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), b"caf\xe9.jpg")  # an old camera's Latin-1 name
    os.rename(draw_photo(tmp_path / "tmp.jpg", (10, 200, 30)), raw)
    lib = make_library()
    lib.index([str(folder)], tag=False)
    lib.save_tag_set(TagSet("s", ["a", "b"], "single"))
    lib.tag(["s"])
    out = tmp_path / "tags.csv"
    assert lib.export_tags(str(out)) == 1
    text = out.read_bytes().decode("utf-8")  # strict: the whole file is UTF-8
    rows = list(csv.reader(text.splitlines()))
    assert rows[1][0] == str(folder) + os.sep + "caf\\xe9.jpg"  # the documented escape


def test_index_summary_time_includes_tagging(make_library, photo_folder, monkeypatch):
    import time as _time

    lib = make_library()
    real_tag = lib.tag

    def slow_tag(*a, **kw):
        _time.sleep(1.0)  # stands for tagging a large library
        return real_tag(*a, **kw)

    monkeypatch.setattr(lib, "tag", slow_tag)
    report = lib.index([str(photo_folder)])
    assert report.seconds >= 1.0 and report.summary().endswith(f"({report.seconds:.1f} s)")


def test_files_photoclip_cannot_read_are_counted_by_kind(make_library, photo_folder):
    for name in ("edit.psd", "layers.PSD", "clip.mov"):
        (photo_folder / "a" / name).write_bytes(b"\0" * 64)
    (photo_folder / "a" / "img0.jpg.xmp").write_text("<x:xmpmeta/>")  # a sidecar: not worth a mention
    report = make_library().index([str(photo_folder)], tag=False)
    assert report.added == 12
    assert report.unsupported == {".psd": 2, ".mov": 1}
    assert "3 files photoclip cannot read: .psd ×2, .mov ×1" in report.summary()
