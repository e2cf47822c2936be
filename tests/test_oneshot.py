"""One-shot text search: the text tower alone is loaded, and its vectors are the full model's."""

from __future__ import annotations

import json

import numpy as np
import pytest

from photoclip.core.embedder import Embedder, ModelSpec

from helpers import photoclip_cli

TEXTS = ["a red circle", "a photo of a blue square on a white background", "green", "-circle"]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_text_only_embedder_gives_the_full_models_text_vectors(trained_clip, precision):
    spec = ModelSpec(*trained_clip)
    full = Embedder(spec, "cpu", 1, precision=precision)
    text = Embedder(spec, "cpu", 1, precision=precision, text_only=True)
    assert full.has_image_tower and not text.has_image_tower
    assert text.precision == full.precision and text.dim == full.dim and text.logit_scale == full.logit_scale
    a, b = full.encode_texts(TEXTS), text.encode_texts(TEXTS)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert float((a * b).sum(axis=1).min()) > 0.99999
    # no image tower in memory: fewer parameters, and images are refused rather than encoded wrongly
    assert sum(p.numel() for p in text.model.parameters()) < sum(p.numel() for p in full.model.parameters())
    assert not any(name.startswith("visual.") for name, _ in text.model.named_parameters())
    with pytest.raises(RuntimeError, match="text only"):
        text.encode_images(np.zeros((1, 3, text.image_size, text.image_size), np.uint8))


def test_text_only_with_random_weights_matches_too(tiny_config):
    spec = ModelSpec(tiny_config, "random")
    full = Embedder(spec, "cpu", 1, precision="fp32")
    text = Embedder(spec, "cpu", 1, precision="fp32", text_only=True)
    np.testing.assert_allclose(full.encode_texts(TEXTS), text.encode_texts(TEXTS), rtol=0, atol=1e-6)
    assert not text.has_image_tower


def test_library_text_search_loads_the_text_tower_then_the_image_tower_when_needed(
        make_library, photo_folder, trained_clip):
    config, weights = trained_clip
    lib = make_library(model=config, pretrained=weights, remember_model=True)
    lib.index([str(photo_folder)], tag=False)
    before = [(r.path, round(r.score, 5)) for r in lib.search("a red circle", limit=5)]
    fresh = make_library(lib.root, model=None, pretrained=None)  # another process on the same library: nothing loaded yet
    got = fresh.search("a red circle", limit=5)
    assert [(r.path, round(r.score, 5)) for r in got] == before
    assert not fresh.embedder_loaded() and not fresh.text_embedder().has_image_tower
    # a search by photo needs the image tower: the full model loads and takes over text queries
    similar = fresh.search(image=got[0].path, limit=1)
    assert similar[0].path == got[0].path and fresh.embedder_loaded()
    assert fresh.text_embedder() is fresh.embedder() and fresh.text_embedder().has_image_tower
    assert [(r.path, round(r.score, 5)) for r in fresh.search("a red circle", limit=5)] == before


def test_cli_search_in_a_fresh_process_does_not_build_the_image_tower(tmp_path, photo_folder, trained_clip):
    config, weights = trained_clip
    cli = photoclip_cli(tmp_path / "lib", tmp_path / "models")

    index = cli("-v", "index", str(photo_folder), "--model", config, "--pretrained", weights, "--no-tag")
    loads = [line for line in index.stderr.splitlines() if "photoclip.embedder" in line and "loaded" in line]
    assert len(loads) == 1 and "(text tower only)" not in loads[0], index.stderr  # indexing: the whole model
    search = cli("-v", "search", "a red circle", "--json", "--limit", "3")
    assert len(json.loads(search.stdout)) == 3
    loads = [line for line in search.stderr.splitlines() if "photoclip.embedder" in line and "loaded" in line]
    assert len(loads) == 1 and "(text tower only)" in loads[0], search.stderr


def test_a_weights_file_loads_into_the_same_model_as_open_clips_own_loader(trained_clip):
    """The whole model is built without random init and given the file's tensors themselves (less
    memory, a faster load): its image and text vectors are those of open_clip's own pipeline."""
    import open_clip
    import torch
    from PIL import Image

    config, weights = trained_clip
    emb = Embedder(ModelSpec(config, weights), "cpu", 1, precision="fp32")
    open_clip.add_model_config(config)
    ref, _, preprocess = open_clip.create_model_and_transforms(ModelSpec(config, weights).arch_name,
                                                               pretrained=weights)
    ref.eval()
    images = [Image.new("RGB", (90, 60), (200, 40, 40)), Image.new("RGB", (50, 80), (40, 40, 200))]
    tokens = open_clip.get_tokenizer(ModelSpec(config, weights).arch_name)(TEXTS)
    with torch.inference_mode():
        want_img = torch.nn.functional.normalize(ref.encode_image(torch.stack([preprocess(i) for i in images])), dim=-1)
        want_txt = torch.nn.functional.normalize(ref.encode_text(tokens), dim=-1)
    got_img = emb.encode_images(torch.stack([emb.image_tensor(i) for i in images]))
    np.testing.assert_allclose(got_img, want_img.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(emb.encode_texts(TEXTS), want_txt.numpy(), rtol=0, atol=1e-5)
    assert not any(p.is_meta for p in emb.model.parameters())
    assert not any(b.is_meta for b in emb.model.buffers())


def test_tagging_in_a_fresh_process_loads_the_text_tower_only(make_library, photo_folder, trained_clip, monkeypatch):
    """`photoclip tag` compares the stored photo vectors with the label prompts: no photo is
    encoded, so the image tower is never built; the tags are the same as with the full model."""
    from photoclip.core.tagging import TagSet

    monkeypatch.setenv("PHOTOCLIP_WARM", "0")  # (no warm model here anyway: the cold path)
    config, weights = trained_clip
    lib = make_library(model=config, pretrained=weights, remember_model=True)
    lib.index([str(photo_folder)], tag=False)
    colours = TagSet("colours", ["red", "green", "blue"], "single")
    lib.save_tag_set(colours)
    lib.tag(["colours"])
    with_full = {(p.path, t.label, round(t.score, 4)) for p in lib.photos()
                 for t in lib.photo_tags(p.id) if t.tag_set == "colours"}
    lib.close()
    fresh = make_library(lib.root, model=None, pretrained=None)
    fresh.tag(["colours"], retag=True)
    assert not fresh.embedder_loaded() and not fresh.text_embedder().has_image_tower
    assert {(p.path, t.label, round(t.score, 4)) for p in fresh.photos()
            for t in fresh.photo_tags(p.id) if t.tag_set == "colours"} == with_full
    assert len(with_full) == 12
