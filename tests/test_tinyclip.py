"""The tiny CLIP used by photoclip's tests gives the right answers, through open_clip itself.

Held-out photos (a seed never used in training) are written to disk as JPEG / PNG files of
several sizes, some EXIF-rotated, some large, then encoded with open_clip's own preprocess
transform, the way photoclip encodes a library.  Each test prints what it measured.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")
from PIL import Image, ImageOps  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tinyclip  # noqa: E402
from tinyclip import COLOURS, DEFAULT_TEMPLATES, SHAPES, ShapeSpec  # noqa: E402

# The first run trains the model (minutes on a busy 2-core machine); later runs use the cache.
pytestmark = pytest.mark.timeout(1800)

HELD_OUT_SEED = 987_654
N_SINGLE = 360
N_TWO = 160
MULTI_THRESHOLD = 0.25


# ------------------------------------------------------------------------------------------
# helpers (plain open_clip, nothing of photoclip's)
# ------------------------------------------------------------------------------------------

def encode_files(model, preprocess, paths, *, bgr: bool = False) -> torch.Tensor:
    """Unit image embeddings of files, oriented by EXIF, through open_clip's preprocess."""
    batch, out = [], []
    for p in paths:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
        if bgr:
            r, g, b = im.split()
            im = Image.merge("RGB", (b, g, r))
        batch.append(preprocess(im))
        if len(batch) == 128:
            out.append(_encode_images(model, batch))
            batch = []
    if batch:
        out.append(_encode_images(model, batch))
    return torch.cat(out)


def _encode_images(model, batch):
    with torch.no_grad():
        return torch.nn.functional.normalize(model.encode_image(torch.stack(batch)), dim=-1)


def encode_texts(model, tokenizer, texts) -> torch.Tensor:
    with torch.no_grad():
        return torch.nn.functional.normalize(model.encode_text(tokenizer(list(texts))), dim=-1)


def label_embeddings(model, tokenizer, labels, templates=DEFAULT_TEMPLATES) -> torch.Tensor:
    """photoclip's zero-shot recipe: mean of the normalized template embeddings, renormalized."""
    rows = []
    for label in labels:
        e = encode_texts(model, tokenizer, [t.format(label) for t in templates])
        rows.append(torch.nn.functional.normalize(e.mean(0), dim=-1))
    return torch.stack(rows)


def zero_shot_probs(model, image_emb, label_emb) -> torch.Tensor:
    scale = model.logit_scale.exp().item()
    return (scale * image_emb @ label_emb.T).softmax(dim=-1)


# ------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    """(config_json, weights) from the shared cache (trained on first use)."""
    return tinyclip.get_trained_model()


@pytest.fixture(scope="module")
def loaded(trained):
    """The model loaded exactly as photoclip loads offline weights."""
    config_json, weights = trained
    open_clip.add_model_config(config_json)
    model, _, preprocess = open_clip.create_model_and_transforms(config_json.stem, pretrained=str(weights))
    model.eval()
    tokenizer = open_clip.get_tokenizer(config_json.stem)
    return model, preprocess, tokenizer


@pytest.fixture(scope="module")
def single_set(tmp_path_factory, loaded):
    model, preprocess, _ = loaded
    d = tmp_path_factory.mktemp("held_out_single")
    items = tinyclip.write_dataset(d, N_SINGLE, HELD_OUT_SEED)
    emb = encode_files(model, preprocess, [p for p, _ in items])
    return items, emb


@pytest.fixture(scope="module")
def two_set(tmp_path_factory, loaded):
    model, preprocess, _ = loaded
    d = tmp_path_factory.mktemp("held_out_two")
    items = tinyclip.write_dataset(d, N_TWO, HELD_OUT_SEED + 1, two_shape_fraction=1.0)
    emb = encode_files(model, preprocess, [p for p, _ in items])
    return items, emb


# ------------------------------------------------------------------------------------------
# the generator and the files it writes
# ------------------------------------------------------------------------------------------

def test_write_dataset_writes_real_varied_files(tmp_path):
    items = tinyclip.write_dataset(tmp_path, 60, 5, large_fraction=0.1, exif_fraction=0.3,
                                   two_shape_fraction=0.3)
    assert len(items) == 60
    formats, sizes, orientations, portrait, two = set(), set(), set(), 0, 0
    for path, specs in items:
        with Image.open(path) as im:
            formats.add(im.format)
            orientations.add(im.getexif().get(0x0112))
            upright = ImageOps.exif_transpose(im)
            sizes.add(upright.size)
            portrait += upright.height > upright.width
        two += len(specs) == 2
        assert all(s.colour in COLOURS and s.shape in SHAPES for s in specs)
    assert formats == {"JPEG", "PNG"}
    assert {6, 8} <= orientations
    assert (3000, 2000) in sizes or (2000, 3000) in sizes
    assert portrait > 0 and two > 0 and len(sizes) >= 5


def test_exif_rotated_files_show_the_scene_upright(tmp_path):
    """Applying the EXIF tag gives back the pixels draw() produced (up to JPEG loss)."""
    rng = random.Random(3)
    items = tinyclip.write_dataset(tmp_path, 40, 11, exif_fraction=1.0, png_fraction=0.0, large_fraction=0.0)
    checked = 0
    for path, specs in items:
        with Image.open(path) as im:
            if im.getexif().get(0x0112) not in (6, 8):
                continue
            upright = ImageOps.exif_transpose(im).convert("RGB")
        s = specs[0]
        # the pixel at the shape's centre has the shape's colour
        px = upright.getpixel((int(s.x * upright.width), int(s.y * upright.height)))
        assert sum(abs(a - b) for a, b in zip(px, COLOURS[s.colour])) < 90, (path, px, s)
        checked += 1
    assert checked >= 10
    del rng


def test_draw_is_deterministic_and_puts_colour_where_said():
    spec = ShapeSpec("blue", "square", "white", 0.5, 0.5, 0.5)
    a = tinyclip.draw([spec], 200, 100)
    b = tinyclip.draw([spec], 200, 100)
    assert a.tobytes() == b.tobytes()
    assert a.size == (200, 100)
    r, g, bl = a.getpixel((100, 50))
    assert bl > 150 and r < 100
    assert min(a.getpixel((3, 3))) > 200  # white background


def test_captions_name_the_shape_colour_not_the_background():
    rng = random.Random(0)
    spec = [ShapeSpec("red", "circle", "yellow", 0.4, 0.5, 0.5)]
    for _ in range(300):
        text = tinyclip.caption(spec, rng)
        if "yellow" in text:
            assert "yellow background" in text, text


# ------------------------------------------------------------------------------------------
# the model: config, tokenizer, loading
# ------------------------------------------------------------------------------------------

def test_config_and_weights_load_through_open_clip(trained, loaded):
    config_json, weights = trained
    cfg = json.loads(Path(config_json).read_text())
    assert set(cfg) == {"embed_dim", "vision_cfg", "text_cfg"}
    model, preprocess, tokenizer = loaded
    assert tokenizer.context_length == cfg["text_cfg"]["context_length"]
    # every caption and prompt the tests use fits in the context
    longest = "a close-up photo of a small orange triangle and a large purple square on a white background."
    toks = tokenizer([longest])
    assert toks[0, -1] in (0, 49407) and (toks[0] == 49407).sum() == 1
    # logit scale is the learned, capped one (the CLIP init is 14.3, the cap 10)
    assert model.logit_scale.exp().item() > 5
    info = json.loads((Path(weights).parent / "train_info.json").read_text())
    print(f"\ntraining: {info}")


def test_cli_writes_loadable_model(tmp_path, monkeypatch):
    out = tmp_path / "m"
    assert tinyclip.main(["--out", str(out), "--steps", "2", "--images", "40", "--quiet"]) == 0
    open_clip.add_model_config(out / "model.json")
    model = open_clip.create_model("model", pretrained=str(out / "weights.safetensors"))
    assert isinstance(model, open_clip.CLIP)


# ------------------------------------------------------------------------------------------
# quality on held-out photos
# ------------------------------------------------------------------------------------------

def test_text_to_image_retrieval_precision_at_10(loaded, single_set):
    model, _, tokenizer = loaded
    items, emb = single_set
    worst = 1.0
    report = []
    for c in COLOURS:
        for s in SHAPES:
            relevant = [i for i, (_, sp) in enumerate(items) if sp[0].colour == c and sp[0].shape == s]
            if len(relevant) < 10:
                continue
            q = encode_texts(model, tokenizer, [f"a {c} {s}"])[0]
            top = (emb @ q).topk(10).indices.tolist()
            p10 = sum(items[i][1][0].colour == c and items[i][1][0].shape == s for i in top) / 10
            report.append(f"{c} {s}: {p10:.1f}")
            worst = min(worst, p10)
    print(f"\nprecision@10 per query ({len(report)} queries): " + ", ".join(report) + f"; worst {worst:.2f}")
    assert len(report) >= 12
    assert worst >= 0.95


def test_colour_and_shape_only_queries(loaded, single_set):
    model, _, tokenizer = loaded
    items, emb = single_set
    worst = 1.0
    for word, attr in [(c, "colour") for c in COLOURS] + [(s, "shape") for s in SHAPES]:
        q = encode_texts(model, tokenizer, [word])[0]
        top = (emb @ q).topk(10).indices.tolist()
        p10 = sum(getattr(items[i][1][0], attr) == word for i in top) / 10
        worst = min(worst, p10)
    print(f"\nsingle-word queries: worst precision@10 {worst:.2f}")
    assert worst >= 0.9


def _accuracy(model, tokenizer, items, emb, attr, labels):
    probs = zero_shot_probs(model, emb, label_embeddings(model, tokenizer, labels))
    pred = probs.argmax(-1).tolist()
    return sum(labels[p] == getattr(sp[0], attr) for p, (_, sp) in zip(pred, items)) / len(items)


def test_zero_shot_single_label_accuracy(loaded, single_set):
    model, _, tokenizer = loaded
    items, emb = single_set
    colours, shapes = list(COLOURS), list(SHAPES)
    acc_c = _accuracy(model, tokenizer, items, emb, "colour", colours)
    acc_s = _accuracy(model, tokenizer, items, emb, "shape", shapes)
    print(f"\nzero-shot accuracy on {len(items)} held-out photos: colours {acc_c:.3f}, shapes {acc_s:.3f}")
    assert acc_c >= 0.93
    assert acc_s >= 0.93


def test_two_shape_multi_label(loaded, two_set):
    model, _, tokenizer = loaded
    items, emb = two_set
    shapes = list(SHAPES)
    probs = zero_shot_probs(model, emb, label_embeddings(model, tokenizer, shapes))
    both, absent_low, n_absent = 0, 0, 0
    for row, (_, specs) in zip(probs.tolist(), items):
        present = {s.shape for s in specs}
        both += all(row[shapes.index(s)] >= MULTI_THRESHOLD for s in present)
        for i, s in enumerate(shapes):
            if s not in present:
                n_absent += 1
                absent_low += row[i] < MULTI_THRESHOLD
    frac_both, frac_absent = both / len(items), absent_low / n_absent
    print(f"\ntwo-shape photos ({len(items)}): both present shapes >= {MULTI_THRESHOLD} in {frac_both:.3f}, "
          f"absent shapes < {MULTI_THRESHOLD} in {frac_absent:.3f}")
    assert frac_both >= 0.85
    assert frac_absent >= 0.8


def test_negative_query_pushes_the_unwanted_colour_away(loaded, single_set):
    model, _, tokenizer = loaded
    items, emb = single_set
    t = encode_texts(model, tokenizer, ["circle", "red"])
    q = torch.nn.functional.normalize(t[0] - t[1], dim=-1)
    top = (emb @ q).topk(10).indices.tolist()
    got = [(items[i][1][0].colour, items[i][1][0].shape) for i in top]
    circles = sum(s == "circle" for _, s in got)
    print(f"\n'circle -red' top 10: {got}")
    assert not any(c == "red" and s == "circle" for c, s in got)
    assert circles >= 8
    # and without the minus, red circles do come up
    plain = (emb @ encode_texts(model, tokenizer, ["red circle"])[0]).topk(10).indices.tolist()
    assert sum(items[i][1][0].colour == "red" for i in plain) >= 9


def test_wrong_preprocessing_is_caught(loaded, single_set):
    """Feeding BGR instead of RGB wrecks colour accuracy: the checks above can fail."""
    model, preprocess, tokenizer = loaded
    items, _ = single_set
    emb_bgr = encode_files(model, preprocess, [p for p, _ in items], bgr=True)
    acc = _accuracy(model, tokenizer, items, emb_bgr, "colour", list(COLOURS))
    print(f"\ncolour accuracy with channels swapped: {acc:.3f}")
    assert acc < 0.6


def test_a_failed_training_is_tried_once_per_session_and_says_so(tmp_path, monkeypatch):
    calls, said = [], []
    monkeypatch.setattr(tinyclip, "SAY", said.append)

    def broken_train(out_dir, **kwargs):
        calls.append(out_dir)
        raise RuntimeError("out of memory while rendering")

    monkeypatch.setattr(tinyclip, "train", broken_train)
    monkeypatch.setattr(tinyclip, "_SESSION", {})
    for _ in range(3):  # three test modules asking for the model
        with pytest.raises(RuntimeError, match="out of memory"):
            tinyclip.get_trained_model(tmp_path / "cache")
    assert len(calls) == 1
    assert [line for line in said if "training failed" in line] == ["training failed: RuntimeError: out of memory "
                                                                     "while rendering"]
