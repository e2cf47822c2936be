"""The model's precision: auto / fp32 / bf16 / fp16, the bf16 check against fp32 at every load, the
setting in the library and on the command line. bf16 runs here whether or not this CPU has native
bf16 (without it, it is only slower): the tests force it where they need it."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import folder_pixels

torch = pytest.importorskip("torch")

from photoclip.core import embedder as emb  # noqa: E402
from photoclip.core.embedder import Embedder, ModelSpec  # noqa: E402
from photoclip.core.errors import ModelUnavailableError  # noqa: E402

TEXTS = ["a red circle", "a blue square on grey", "a photo of a dog", "sunset"]


def _no_timing(*args, **kwargs):
    raise AssertionError("the bf16 timing probe ran although the CPU has no native bf16")


def test_auto_is_fp32_where_the_cpu_has_no_native_bf16(tiny_config, monkeypatch):
    monkeypatch.setattr(emb, "cpu_flags", lambda: frozenset({"sse4_2", "avx2", "fma", "avx512f"}))
    monkeypatch.setattr(emb, "bf16_probe_ms", _no_timing)
    e = Embedder(ModelSpec(tiny_config, "random"), "cpu")
    assert e.precision == "fp32" and e.dtype == torch.float32
    assert "no native bf16" in e.precision_reason and e.precision_text.startswith("fp32 (auto: ")


def test_auto_is_bf16_where_native_and_faster_and_never_where_slower(tiny_config, monkeypatch, photo_folder):
    spec = ModelSpec(tiny_config, "random")
    monkeypatch.setattr(emb, "cpu_flags", lambda: frozenset({"avx2", "avx512_bf16"}))
    monkeypatch.setattr(emb, "bf16_probe_ms", lambda torch: (2.0, 1.0))
    fast = Embedder(spec, "cpu")
    assert fast.precision == "bf16" and fast.dtype == torch.bfloat16
    assert "avx512_bf16" in fast.precision_reason and "cosine to fp32" in fast.precision_reason
    assert {p.dtype for p in fast.model.parameters()} == {torch.bfloat16}

    monkeypatch.setattr(emb, "bf16_probe_ms", lambda torch: (1.0, 1.5))
    slow = Embedder(spec, "cpu")
    assert slow.precision == "fp32" and "slower than fp32" in slow.precision_reason

    # both towers in bf16 give float32 unit vectors, interchangeable with fp32's
    _, pixels = folder_pixels(slow, photo_folder)
    a, b = slow.encode_images(pixels), fast.encode_images(pixels)
    assert b.dtype == np.float32 and b.shape == a.shape and np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-4)
    assert (a * b).sum(axis=1).min() >= 0.999
    ta, tb = slow.encode_texts(TEXTS), fast.encode_texts(TEXTS)
    assert tb.dtype == np.float32 and (ta * tb).sum(axis=1).min() >= 0.999


def test_the_cpu_flags_are_read_from_proc_cpuinfo():
    flags = emb.cpu_flags()
    if not Path("/proc/cpuinfo").is_file():
        assert flags is None
        return
    assert flags and ("sse2" in flags or "fp" in flags)  # x86 or ARM
    native, why = emb.native_bf16(torch)
    assert native == any(f in flags for f in ("avx512_bf16", "amx_bf16", "bf16")) and why


def test_bf16_falls_back_to_fp32_with_a_reason_when_it_differs(tiny_config, monkeypatch, caplog, photo_folder):
    spec = ModelSpec(tiny_config, "random")
    fp32 = Embedder(spec, "cpu", precision="fp32")
    monkeypatch.setattr(emb, "BF16_MIN_COSINE", 1.01)  # no bf16 vector can pass
    with caplog.at_level(logging.WARNING, logger="photoclip.embedder"):
        e = Embedder(spec, "cpu", precision="bf16")
    assert e.precision == "fp32" and e.dtype == torch.float32
    assert "differ from fp32 (cosine 0.9" in e.precision_reason and "fp32 instead" in e.precision_reason
    assert "the model runs in fp32" in caplog.text
    # the model is loaded again in fp32: the same weights, the same vectors
    assert {p.dtype for p in e.model.parameters()} == {torch.float32}
    assert all(torch.equal(a, b) for a, b in zip(fp32.model.state_dict().values(), e.model.state_dict().values()))
    _, pixels = folder_pixels(e, photo_folder)
    assert np.array_equal(e.encode_images(pixels), fp32.encode_images(pixels))
    assert np.array_equal(e.encode_texts(TEXTS), fp32.encode_texts(TEXTS))


def test_fp16_on_the_cpu_is_fp32_with_a_reason_and_an_unknown_precision_is_refused(tiny_config):
    spec = ModelSpec(tiny_config, "random")
    e = Embedder(spec, "cpu", precision="fp16")
    assert e.precision == "fp32" and "CUDA" in e.precision_reason
    with pytest.raises(ModelUnavailableError, match="Unknown precision 'int4'"):
        Embedder(spec, "cpu", precision="int4")


def test_tiny_clip_in_bf16_gives_fp32s_vectors_and_tags(tmp_path):
    """The tests' trained tiny CLIP: bf16 vectors vs fp32 cosine >= 0.999 (both towers), zero-shot
    tagging accuracy through photoclip's tagging code within 0.01 of fp32's."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tinyclip

    from photoclip.core.tagging import LabelEmbeddings, TagSet, label_probabilities

    config, weights = tinyclip.get_trained_model()
    items = tinyclip.write_dataset(tmp_path / "photos", 150, 424_242, large_fraction=0.0)
    spec = ModelSpec(str(config), str(weights))
    models = {p: Embedder(spec, "cpu", precision=p) for p in ("fp32", "bf16")}
    assert models["bf16"].precision == "bf16", models["bf16"].precision_reason
    sets = [TagSet("colours", list(tinyclip.COLOURS)), TagSet("shapes", list(tinyclip.SHAPES))]
    vectors, accuracy = {}, {}
    for p, model in models.items():
        paths, pixels = folder_pixels(model, tmp_path / "photos")
        vectors[p] = model.encode_images(pixels)
        truth = {str(path): specs[0] for path, specs in items}
        labels = LabelEmbeddings(model)
        for ts, attr in zip(sets, ("colour", "shape")):
            mat = labels.for_set(ts)
            vectors[p, ts.name] = mat
            pred = label_probabilities(vectors[p], mat, model.logit_scale).argmax(axis=1)
            accuracy[p, attr] = np.mean([ts.labels[i] == getattr(truth[str(path)], attr)
                                         for i, path in zip(pred, paths)])
    image_cos = (vectors["fp32"] * vectors["bf16"]).sum(axis=1).min()
    text_cos = min((vectors["fp32", n] * vectors["bf16", n]).sum(axis=1).min() for n in ("colours", "shapes"))
    print(f"\ntiny CLIP bf16 vs fp32 on {len(items)} photos: image cosine min {image_cos:.5f}, label cosine "
          f"min {text_cos:.5f}; accuracy " + ", ".join(f"{a} {p} {v:.3f}" for (p, a), v in sorted(accuracy.items())))
    assert image_cos >= 0.999 and text_cos >= 0.999
    for attr in ("colour", "shape"):
        assert accuracy["fp32", attr] >= 0.9
        assert abs(accuracy["bf16", attr] - accuracy["fp32", attr]) <= 0.01


def test_the_library_setting_applies_from_the_next_load_and_keeps_the_model_key(make_library, photo_folder):
    lib = make_library(precision="fp32")
    lib.index([str(photo_folder)], tag=False)
    key, vectors = lib.model_key, lib.catalog.photo_count()
    assert lib.precision_in_use().startswith("fp32") and lib.status()["precision"] == "fp32"
    # as the Preferences dialog saves it (the model in use may come from the command line)
    lib.save_settings(dataclasses.replace(lib.settings, model=lib.spec.model, pretrained=lib.spec.pretrained,
                                          precision="bf16"))
    assert lib.precision_in_use() is None  # dropped: the next load uses the new precision
    assert lib.embedder().precision == "bf16" and lib.status()["precision_in_use"].startswith("bf16 (")
    # one model, one index: vectors made in fp32 and bf16 live side by side
    assert lib.model_key == key
    probe = sorted(p for p in photo_folder.rglob("*") if p.is_file())[0]
    assert lib.search(image=str(probe), limit=1)[0].path == str(probe)
    assert lib.index(tag=False).embedded == 0 and lib.catalog.photo_count() == vectors
    reopened = make_library(lib.root)
    assert reopened.settings.precision == "bf16"  # saved in the library's settings


@pytest.mark.parametrize("where", ["before", "after"])
def test_the_precision_option_before_or_after_the_subcommand(where, tiny_config, tmp_path):
    from photoclip.cli import build_parser

    option = ["--precision", "bf16"]
    head = ["--library", str(tmp_path / "lib"), "--model", tiny_config, "--pretrained", "random"]
    argv = (option + head + ["download-model"]) if where == "before" else (head + ["download-model"] + option)
    args = build_parser().parse_args(argv)
    assert args.precision == "bf16"
    assert build_parser().parse_args(head + ["status"]).precision is None  # the library's setting
    with pytest.raises(SystemExit):
        build_parser().parse_args(head + ["status", "--precision", "fp8"])
    proc = subprocess.run([sys.executable, "-m", "photoclip", *argv], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Precision: bf16 (bf16 chosen" in proc.stdout
