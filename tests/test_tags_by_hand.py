"""Tags by hand: added, removed, confirmed, rejected; kept through re-tagging, model changes and
moves; in the CSV with their source."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from photoclip.core.errors import PhotoclipError
from photoclip.core.library import MY_TAGS

from helpers import photoclip_cli


def _tags(lib, path):
    return {(t.tag_set, t.label, t.source) for t in lib.photo_tags(lib.photo_by_path(str(path)).id)}


def test_add_remove_confirm_reject(tagged_library):
    lib, folder = tagged_library
    a, b = folder / "a" / "img0.jpg", folder / "b" / "img0.png"
    auto = next(t for t in lib.photo_tags(lib.photo_by_path(str(a)).id) if t.tag_set == "shapes")
    assert auto.source == "auto"
    # a label no set has goes to "My tags"
    assert lib.add_tag("our cabin", [str(a), str(b)]) == (MY_TAGS, 2)
    assert (MY_TAGS, "our cabin", "user") in _tags(lib, a)
    # a label of a set goes to that set; on the photo that has it as an auto-tag it is confirmed
    name, _ = lib.add_tag(auto.label.upper(), [str(a)])
    assert name == "shapes" and ("shapes", auto.label, "confirmed") in _tags(lib, a)
    # rejecting an auto-tag hides it; it does not come back when photos are tagged again
    other = "square" if auto.label == "circle" else "circle"
    lib.decide_tag("shapes", auto.label, [str(a)], "rejected")
    assert not {t for t in _tags(lib, a) if t[1] == auto.label}
    lib.tag(["shapes"], retag=True)
    assert not {t for t in _tags(lib, a) if t[1] == auto.label}
    # removing a tag added by hand forgets it
    lib.remove_tag("our cabin", [str(b)])
    assert (MY_TAGS, "our cabin", "user") not in _tags(lib, b)
    with pytest.raises(PhotoclipError, match="not a label"):
        lib.add_tag("triangle", [str(a)], tag_set="shapes")
    with pytest.raises(PhotoclipError, match="Not in the library"):
        lib.add_tag("x", [str(folder / "nowhere.jpg")])
    assert other  # (the set's other label was never touched)


def test_a_rejected_tag_leaves_the_counts_and_the_tag_filter(tagged_library):
    from photoclip.core.filters import PhotoFilter

    lib, folder = tagged_library
    a = folder / "a" / "img0.jpg"
    label = next(t.label for t in lib.photo_tags(lib.photo_by_path(str(a)).id) if t.tag_set == "shapes")
    before = lib.tag_counts()["shapes"][label]
    assert str(a) in {r.path for r in lib.photos(PhotoFilter(tag=("shapes", label)))}
    lib.decide_tag("shapes", label, [str(a)], "rejected")
    assert lib.tag_counts()["shapes"].get(label, 0) == before - 1
    assert str(a) not in {r.path for r in lib.photos(PhotoFilter(tag=("shapes", label)))}
    # confirmed, it counts and is found once, as the user's
    lib.decide_tag("shapes", label, [str(a)], "confirmed")
    assert lib.tag_counts()["shapes"][label] == before
    assert [r.path for r in lib.photos(PhotoFilter(tag=("shapes", label)))].count(str(a)) == 1


def test_decisions_survive_a_move_and_a_model_change(tagged_library, make_library, tiny_config, tmp_path):
    lib, folder = tagged_library
    a = folder / "a" / "img1.jpg"
    lib.add_tag("grandma's quilt", [str(a)])
    moved = folder / "b" / "renamed.jpg"
    shutil.move(a, moved)
    lib.index()
    assert (MY_TAGS, "grandma's quilt", "user") in _tags(lib, moved)
    other = dict(json.load(open(tiny_config)))
    other["embed_dim"] = 24
    config = tmp_path / "other.json"
    config.write_text(json.dumps(other))
    lib.set_model(str(config), "random")
    lib.index()
    assert (MY_TAGS, "grandma's quilt", "user") in _tags(lib, moved)


def test_the_csv_says_where_each_tag_comes_from(tagged_library, tmp_path):
    lib, folder = tagged_library
    a = folder / "a" / "img2.jpg"
    auto = next(t for t in lib.photo_tags(lib.photo_by_path(str(a)).id) if t.tag_set == "shapes")
    lib.add_tag("holiday", [str(a)])
    lib.decide_tag("shapes", auto.label, [str(a)], "rejected")
    out = tmp_path / "tags.csv"
    lib.export_tags(str(out))
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    mine = [(r["tag_set"], r["tag"], r["source"]) for r in rows if r["path"] == str(a)]
    assert (MY_TAGS, "holiday", "user") in mine
    assert ("shapes", auto.label, "auto") not in mine and all(r[2] != "rejected" for r in mine)
    assert {r["source"] for r in rows} <= {"auto", "confirmed", "user"}


def test_the_command_line(tmp_path, photo_folder, tiny_config):
    cli = photoclip_cli(tmp_path / "lib", tmp_path / "models")

    cli("index", str(photo_folder), "--model", tiny_config, "--pretrained", "random", "--no-tag")
    photo = str(photo_folder / "a" / "img3.jpg")
    assert "Tagged 1 photo(s) “our cabin” (My tags)" in cli("tag", "add", "our cabin", photo).stdout
    cli("tag", "remove", "our cabin", photo, "--model", tiny_config)  # model options after it too
    bad = cli("tag", "confirm", "no-colon", photo, ok=None)
    assert bad.returncode != 0 and "SET:LABEL" in bad.stderr
    out = tmp_path / "t.csv"
    cli("tag", "add", "our cabin", photo)
    cli("export-tags", str(out))
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [(r["tag"], r["source"]) for r in rows if r["path"] == photo] == [("our cabin", "user")]
