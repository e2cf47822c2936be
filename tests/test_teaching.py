"""Teaching a tag by example, proved with the tests' trained tiny CLIP: a concept its text tower
cannot name (a made-up word for red triangles) is found from five examples; per-label thresholds
calibrated from a few reviewed photos raise a multi-label set's F1; shuffled examples do not help.
The figures are printed (pytest -s)."""

from __future__ import annotations

import csv
import dataclasses
import json
import random
import shutil

import numpy as np
import pytest

import tinyclip
from photoclip.cli import main
from photoclip.core.library import MY_TAGS
from photoclip.core.tagging import TagSet, assign, label_probabilities
from photoclip.core.teaching import Examples, teach

WORD = "zorblat"  # no caption of the training data has it: the text tower cannot know it
N_CONCEPT = 24  # red triangles among the photos
SIZE = 128


def _is_concept(specs) -> bool:
    return any(s.colour == "red" and s.shape == "triangle" for s in specs)


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory):
    """180 photos of one or two coloured shapes: N_CONCEPT red triangles alone, the rest any other
    scene (red things and triangles among them); returns (folder, {path: specs})."""
    root = tmp_path_factory.mktemp("shapes")
    rng = random.Random(7)
    truth: dict[str, list] = {}
    i = 0
    while len(truth) < 180:
        if i < N_CONCEPT:
            specs = [tinyclip.ShapeSpec("red", "triangle", rng.choice(["white", "grey", "black", "noise", "gradient"]),
                                        round(rng.uniform(0.3, 0.6), 3), 0.5, 0.5)]
        else:
            specs = tinyclip.random_specs(rng, 2 if rng.random() < 0.5 else 1, SIZE, SIZE)
            if _is_concept(specs):
                continue
        path = root / f"p{i:03d}.jpg"
        tinyclip.draw(specs, SIZE, SIZE, rng=rng).save(path, quality=92)
        truth[str(path)] = specs
        i += 1
    return root, truth


@pytest.fixture(scope="module")
def indexed_library(shapes_folder, tmp_path_factory):
    """A library of the shapes folder indexed with the trained tiny CLIP, once for the module (each
    test gets a copy): (root, model, weights)."""
    from photoclip.core.library import Library

    config, weights = tinyclip.get_trained_model()
    root = tmp_path_factory.mktemp("indexed") / "lib"
    lib = Library(root, model=str(config), pretrained=str(weights), device="cpu", precision="fp32")
    try:
        lib.index([str(shapes_folder[0])], tag=False)
    finally:
        lib.close()
    return root, str(config), str(weights)


@pytest.fixture
def trained_library(make_library, indexed_library, shapes_folder, tmp_path):
    root, config, weights = indexed_library
    shutil.copytree(root, tmp_path / "lib")
    return make_library(tmp_path / "lib", model=config, pretrained=weights, precision="fp32"), shapes_folder[1]


def _precision_at_10(results, truth) -> float:
    assert len(results) == 10
    return sum(_is_concept(truth[r.path]) for r in results) / 10


def test_five_examples_teach_a_word_the_model_does_not_know(trained_library, capsys):
    lib, truth = trained_library
    concept = [p for p, specs in truth.items() if _is_concept(specs)]
    chance = len(concept) / len(truth)
    zero_shot = _precision_at_10(lib.like_tag(MY_TAGS, WORD, limit=10), truth)
    lib.add_tag(WORD, concept[:5])
    taught_results = lib.like_tag(MY_TAGS, WORD, limit=10)
    taught = _precision_at_10(taught_results, truth)
    assert not {r.path for r in taught_results} & set(concept[:5])  # the examples are not offered again
    # control: five photos drawn at random (shuffled examples) teach another made-up word
    shuffled = random.Random(1).sample(sorted(truth), 5)
    lib.add_tag("flimflam", shuffled)
    control = _precision_at_10(lib.like_tag(MY_TAGS, "flimflam", limit=10), truth)
    with capsys.disabled():  # (capsys takes the command line's output below)
        print(f"\nteaching '{WORD}' (red triangles, {len(concept)} of {len(truth)} photos, chance {chance:.2f}): "
              f"precision@10 zero-shot {zero_shot:.2f}, after 5 examples {taught:.2f}, "
              f"5 shuffled examples {control:.2f}")
    assert zero_shot <= 0.3
    assert taught >= 0.9
    assert control <= 0.3
    # a rejection is an example too: the rejected photo leaves the results and stays out
    first = taught_results[0].path
    lib.decide_tag(MY_TAGS, WORD, [first], "rejected")
    assert first not in {r.path for r in lib.like_tag(MY_TAGS, WORD, limit=20)}

    # the command line: the same results, in search's JSON shape
    model = ["--model", lib.spec.model, "--pretrained", lib.spec.pretrained]
    capsys.readouterr()
    assert main(["--library", str(lib.root), *model, "search", "--like-tag", f"{MY_TAGS}:{WORD}", "--json",
                 "-n", "10"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["path"] for i in items] == [r.path for r in lib.like_tag(MY_TAGS, WORD, limit=10)]
    assert set(items[0]) == {"path", "score", "taken", "camera", "lens", "place", "width", "height", "kind"}
    assert main(["--library", str(lib.root), *model, "search", "--like-tag", WORD]) != 0
    assert "SET:LABEL" in capsys.readouterr().err


def test_tag_gives_a_taught_label_to_the_photos_it_now_fits(trained_library, tmp_path):
    lib, truth = trained_library
    lib.save_tag_set(TagSet("finds", [WORD, "blorp"], "single"))
    lib.tag()
    concept = [p for p, specs in truth.items() if _is_concept(specs)]

    def given():
        """photo -> the label of "finds" it has as an auto-tag (None: neither)"""
        out = {}
        for p in truth:
            out[p] = next((t.label for t in lib.photo_tags(lib.photo_by_path(p).id)
                           if t.tag_set == "finds"), None)
        return out

    def scores(label):
        """(precision, recall) of the label's auto-tags on the photos that are not examples, and how
        many photos get no label of the set"""
        now = given()
        found = {p for p, x in now.items() if x == label} - set(concept[:5])
        hits = len(found & set(concept))
        return hits / max(1, len(found)), hits / (len(concept) - 5), sum(x is None for x in now.values())

    before = scores(WORD)
    lib.add_tag(WORD, concept[:5], tag_set="finds")
    blue_circles = [p for p, specs in truth.items() if any(s.colour == "blue" and s.shape == "circle" for s in specs)]
    lib.add_tag("blorp", blue_circles[:5], tag_set="finds")
    lib.tag()  # no arguments: the taught set is tagged again
    after = scores(WORD)
    # a single-mode set may answer none: with an abstain score only the confident photos get a label
    lib.save_settings(dataclasses.replace(lib.settings, model=lib.spec.model, pretrained=lib.spec.pretrained,
                                          abstain=0.9))
    lib.tag()
    abstaining = scores(WORD)
    print(f"\n'tag' with the set ({WORD}, blorp), precision/recall of {WORD} auto-tags on the other photos: "
          f"zero-shot {before[0]:.2f}/{before[1]:.2f}, after 5+5 examples {after[0]:.2f}/{after[1]:.2f}, "
          f"with abstain 0.9 {abstaining[0]:.2f}/{abstaining[1]:.2f} ({abstaining[2]} of {len(truth)} "
          "photos get neither label)")
    assert before[1] <= 0.3 and after[1] >= 0.9 and after[0] > before[0]
    assert before[2] == after[2] == 0  # single mode without an abstain score: a label for every photo
    assert abstaining[0] > after[0] + 0.1 and abstaining[1] >= 0.9 and abstaining[2] > len(truth) // 3
    # a set's own abstain score wins over the library's: 0 here, a label for every photo again
    finds = next(t for t in lib.tag_sets() if t.name == "finds")
    lib.save_tag_set(dataclasses.replace(finds, abstain=0.0))
    assert next(t for t in lib.tag_sets() if t.name == "finds").abstain == 0.0
    lib.tag()
    assert scores(WORD) == after
    lib.save_tag_set(dataclasses.replace(finds, abstain=None))  # back to the library's 0.9
    lib.tag()
    assert scores(WORD) == abstaining
    # decisions are never overwritten by re-tagging, and are exported once, as the user's
    tags = lib.photo_tags(lib.photo_by_path(concept[0]).id)
    assert any(t.tag_set == "finds" and t.label == WORD and t.source in ("user", "confirmed") for t in tags)
    lib.export_tags(str(tmp_path / "tags.csv"))
    rows = list(csv.DictReader(open(tmp_path / "tags.csv", encoding="utf-8")))
    for p in concept[:5]:
        assert [(r["tag"], r["source"]) for r in rows if r["path"] == p and r["tag_set"] == "finds"] == [(WORD, "user")]


def test_without_examples_a_set_scores_as_zero_shot_tagging_does():
    rng = np.random.default_rng(0)
    text = rng.normal(size=(3, 8)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    empty = np.zeros((0, 8), np.float32)
    for mode in ("single", "multi"):
        taught = teach(["a", "b", "c"], mode, 0.3, text, {"a": Examples(empty, empty, empty)}, 7.0)
        assert taught.matrix is text and taught.thresholds is None and taught.abstain == 0.0
    photos = rng.normal(size=(20, 8)).astype(np.float32)
    ts = TagSet("s", ["a", "b", "c"], "multi", 0.3)
    probs = label_probabilities(photos, text, 7.0)
    assert assign(ts, probs, None) == assign(ts, probs, np.full(3, 0.3))


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = (pred & truth).sum()
    return float(2 * tp / max(1, pred.sum() + truth.sum()))


def test_calibrated_thresholds_raise_multi_label_f1(trained_library, make_library, indexed_library, tmp_path):
    lib, truth = trained_library
    labels = list(tinyclip.COLOURS) + list(tinyclip.SHAPES)
    ts = lib.save_tag_set(TagSet("looks", labels, "multi", threshold=0.3))
    paths = sorted(truth)
    reviewed, rest = paths[N_CONCEPT:N_CONCEPT + 40], [p for p in paths if p not in paths[N_CONCEPT:N_CONCEPT + 40]]
    has = np.array([[any(s.colour == x or s.shape == x for s in truth[p]) for x in labels] for p in paths])
    row = {p: i for i, p in enumerate(paths)}

    def predicted():
        out = np.zeros_like(has)
        for p, _, tag_set, label, _, _, source in lib.catalog.iter_export_rows(lib.catalog.find_model(
                lib.model_key).id):
            if tag_set == ts.name and source == "auto":
                out[row[p], labels.index(label)] = True
        return out

    def f1_on_rest():
        idx = [row[p] for p in rest]
        return _f1(predicted()[idx], has[idx])

    def review(answers):
        """The user goes through ``reviewed``: adds each label a photo has, rejects each auto-tag it
        has not (``answers``: the truth of each reviewed photo, or someone else's for the control)."""
        auto = predicted()
        for p, answer in zip(reviewed, answers):
            for j, label in enumerate(labels):
                if answer[j]:
                    lib.add_tag(label, [p], tag_set=ts.name)
                elif auto[row[p], j]:
                    lib.decide_tag(ts.name, label, [p], "rejected")

    lib.tag()
    fixed = f1_on_rest()
    review([has[row[p]] for p in reviewed])
    lib.tag()
    calibrated = f1_on_rest()

    # control: the same reviews, given to the wrong photos
    root, config, weights = indexed_library
    shutil.copytree(root, tmp_path / "control")
    lib = make_library(tmp_path / "control", model=config, pretrained=weights, precision="fp32")
    ts = lib.save_tag_set(TagSet("looks", labels, "multi", threshold=0.3))
    lib.tag()
    answers = [has[row[p]] for p in reviewed]
    random.Random(3).shuffle(answers)
    review(answers)
    lib.tag()
    shuffled = f1_on_rest()
    print(f"\nmulti-label F1 of the set colours+shapes on {len(rest)} photos: fixed threshold 0.3 {fixed:.3f}, "
          f"thresholds calibrated from 40 reviewed photos {calibrated:.3f}, from the same reviews shuffled "
          f"{shuffled:.3f}")
    assert calibrated >= fixed + 0.1
    assert shuffled <= fixed + 0.02
