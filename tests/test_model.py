"""Model weights: first-use download with progress (from a loopback server), local files, offline errors."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from photoclip.core import embedder as emb
from photoclip.core.embedder import ModelSpec, ensure_weights
from photoclip.core.errors import ModelUnavailableError
from photoclip.core.jobs import JobControl


@pytest.fixture
def weights_server(tmp_path):
    """A loopback HTTP server that serves files like a Hugging Face mirror (HF_ENDPOINT)."""
    root = tmp_path / "mirror"
    repo = root / "laion" / "CLIP-ViT-B-32-256x256-DataComp-s34B-b86K" / "resolve" / "main"
    repo.mkdir(parents=True)
    payload = os.urandom(3 * 1024 * 1024 + 123)
    (repo / "open_clip_model.safetensors").write_bytes(payload)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", payload
    server.shutdown()
    server.server_close()


def test_pretrained_tag_is_downloaded_once_with_progress(weights_server, monkeypatch):
    url, payload = weights_server
    monkeypatch.setenv("HF_ENDPOINT", url)
    spec = ModelSpec("ViT-B-32-256", "datacomp_s34b_b86k")
    assert not spec.ready()
    seen = []
    path = ensure_weights(spec, progress=seen.append)
    assert Path(path).read_bytes() == payload
    assert spec.ready() and spec.cached_weights() == Path(path)
    assert seen and seen[-1].done == len(payload)
    assert any("Downloading" in p.message and "MB" in p.message for p in seen)
    assert not list(Path(path).parent.glob("*.part")), "no partial file is left behind"
    # the second time nothing is downloaded
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert ensure_weights(spec) == path


def test_cancelled_download_leaves_nothing(weights_server, monkeypatch):
    url, _ = weights_server
    monkeypatch.setenv("HF_ENDPOINT", url)
    control = JobControl()
    control.cancel()
    spec = ModelSpec("ViT-B-32-256", "datacomp_s34b_b86k")
    with pytest.raises(Exception) as info:
        ensure_weights(spec, control=control)
    assert type(info.value).__name__ == "Cancelled"
    assert not spec.ready()
    assert not any(emb.paths.models_dir().glob("*"))


def test_no_network_gives_a_message_about_local_files(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ModelUnavailableError) as info:
        ensure_weights(ModelSpec("ViT-B-32-256", "datacomp_s34b_b86k"))
    message = str(info.value)
    assert "--pretrained" in message and "local weights file" in message


def test_unknown_tag_and_missing_file_are_clear():
    with pytest.raises(ModelUnavailableError, match="not a known pretrained tag"):
        ensure_weights(ModelSpec("ViT-B-32-256", "no_such_tag"))
    with pytest.raises(ModelUnavailableError, match="not found"):
        ensure_weights(ModelSpec("ViT-B-32-256", "/nowhere/weights.safetensors"))


def test_cli_offline_failure_is_a_message_not_a_traceback(tmp_path):
    env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:9", PHOTOCLIP_HOME=str(tmp_path / "lib"),
               PHOTOCLIP_MODELS=str(tmp_path / "models"))
    photos = tmp_path / "photos"
    photos.mkdir()
    from helpers import draw_photo

    draw_photo(photos / "a.jpg")
    proc = subprocess.run([sys.executable, "-m", "photoclip", "index", str(photos)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "photoclip: error: Could not download" in proc.stderr and "--pretrained" in proc.stderr


def test_local_weights_file_loads_and_identity_follows_the_file(tmp_path, tiny_config):
    """Save a tiny model's weights, load them through --model CONFIG --pretrained FILE."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    from photoclip.core.embedder import Embedder

    random_model = Embedder(ModelSpec(tiny_config, "random"), "cpu", precision="fp32")  # its weights as saved
    weights = tmp_path / "weights.safetensors"
    with torch.no_grad():
        state = {k: v.clone() + 0.01 for k, v in random_model.model.state_dict().items()}
    save_file(state, str(weights))
    loaded = Embedder(ModelSpec(tiny_config, str(weights)), "cpu", precision="fp32")
    got = loaded.model.state_dict()
    assert all(torch.allclose(got[k], state[k]) for k in state)
    assert loaded.identity != random_model.identity
    assert "weights.safetensors" in loaded.identity
    assert open_clip is not None


@pytest.mark.parametrize("custom_text", [False, True])
def test_text_vectors_are_the_models_own_whatever_the_prompt_lengths(tmp_path, custom_text):
    """Prompts are encoded without their padding (faster); the vectors must be exactly open_clip's."""
    import json

    import numpy as np
    import torch

    from helpers import TINY_CONFIG
    from photoclip.core.embedder import Embedder

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**TINY_CONFIG, "custom_text": custom_text}))
    embedder = Embedder(ModelSpec(str(config), "random"), "cpu", precision="fp32")  # exact: open_clip's fp32
    assert embedder._trim_padding  # the fast path is the one being checked
    texts = ["dog", "a photo of a red circle on a blue background",
             "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"]
    texts += [f"a photo of {i} small {word}" for i in range(70) for word in ("dogs", "cats")]  # several passes
    got = embedder.encode_texts(texts)
    with torch.inference_mode():
        ref = torch.nn.functional.normalize(embedder.model.encode_text(embedder.tokenizer(texts)).float(), dim=-1)
    assert np.abs(got - ref.numpy()).max() < 1e-5
    # each text alone (a different trimmed length) gives the vector it got in the batch
    for i, text in enumerate(texts[:5]):
        embedder._text_cache.clear()
        assert np.abs(embedder.encode_text(text) - got[i]).max() < 1e-5


def test_onnx_runtime_image_backend_gives_torchs_vectors(tmp_path, tiny_config, make_library, photo_folder,
                                                         monkeypatch, caplog):
    """The optional ONNX Runtime image tower (photoclip[onnx]) is the model's own tower exported
    once: its vectors equal torch's within 1e-3 cosine, the export is cached, a damaged cache file
    is exported again, and without onnxruntime photoclip says why and uses torch."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import logging

    import numpy as np
    import torch
    from PIL import Image

    from helpers import draw_photo
    from photoclip.core import onnx_tower
    from photoclip.core.embedder import Embedder

    spec = ModelSpec(tiny_config, "random")
    with_torch = Embedder(spec, "cpu", precision="fp32")  # what the (fp32) ONNX tower must match
    with_onnx = Embedder(spec, "cpu", image_backend="onnxruntime")
    assert (with_torch.image_backend, with_onnx.image_backend) == ("torch", "onnxruntime")
    files = [draw_photo(tmp_path / f"p{i}.jpg", (40 * i, 200 - 30 * i, 90), shape=shape)
             for i, shape in enumerate(["circle", "square", "triangle", "circle", "square"])]
    batch = torch.stack([with_onnx.image_tensor(Image.open(f).convert("RGB")) for f in files])
    a, b = with_torch.encode_images(batch), with_onnx.encode_images(batch)
    cosines = np.sum(a * b, axis=1)
    print(f"\nONNX Runtime vs torch image vectors: min cosine {cosines.min():.7f}")
    assert cosines.min() >= 0.999 and np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-5)

    path = with_onnx._onnx.path
    exported = path.stat().st_mtime_ns
    again = Embedder(spec, "cpu", image_backend="onnxruntime")
    assert again.image_backend == "onnxruntime" and path.stat().st_mtime_ns == exported  # not exported twice
    path.write_bytes(b"half a file")  # e.g. a disk that filled up
    mended = Embedder(spec, "cpu", image_backend="onnxruntime")
    assert mended.image_backend == "onnxruntime" and np.sum(mended.encode_images(batch) * a, axis=1).min() >= 0.999

    # through a library: the setting is honoured and an image query finds the photo itself first
    lib = make_library()
    lib.settings.image_backend = "onnxruntime"
    lib.index([str(photo_folder)])
    assert lib.embedder().image_backend == "onnxruntime"
    probe = next(photo_folder.rglob("*.png"))
    assert lib.search(image=str(probe), limit=3)[0].path == str(probe)

    # features that disagree with torch's: torch is used (its image tower loaded back)
    monkeypatch.setattr(onnx_tower.OnnxImageTower, "start", lambda self, threads: 0.5)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        disagrees = Embedder(spec, "cpu", image_backend="onnxruntime")
    assert disagrees.image_backend == "torch" and "cosine 0.50000" in caplog.text
    assert np.abs(disagrees.encode_images(batch) - a).max() < 1e-5

    monkeypatch.setattr(onnx_tower, "available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="photoclip"):
        fallback = Embedder(spec, "cpu", image_backend="onnxruntime")
    assert fallback.image_backend == "torch" and "pip install photoclip[onnx]" in caplog.text


def test_pixels_normalized_after_the_copy_to_a_gpu_give_the_same_vectors(tiny_config, photo_folder):
    """On a GPU the indexer's uint8 pixels are copied as they are and normalized there; the same
    steps run here on the CPU (tests/test_gpu.py checks the real GPU where there is one)."""
    import numpy as np
    import torch

    from helpers import folder_pixels

    embedder = emb.Embedder(ModelSpec(tiny_config, "random"), "cpu")
    _, pixels = folder_pixels(embedder, photo_folder)
    assert pixels.dtype == torch.uint8
    usual = embedder.encode_images(pixels)
    normalized = embedder._normalized_on_device(pixels)  # what a GPU does after the copy
    assert normalized.dtype == torch.float32 and normalized.shape == pixels.shape
    after_copy = embedder.encode_images(normalized)
    assert after_copy.dtype == np.float32 and after_copy.shape == usual.shape
    assert np.allclose(after_copy, usual, atol=1e-5)


def test_offline_download_fails_fast_with_a_plain_message(tmp_path, monkeypatch):
    import time

    from photoclip.core.embedder import ModelSpec, ensure_weights
    from photoclip.core.errors import ModelUnavailableError

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: like no network
    t0 = time.monotonic()
    with pytest.raises(ModelUnavailableError) as info:
        ensure_weights(ModelSpec("ViT-B-32-256", "datacomp_s34b_b86k"))
    assert time.monotonic() - t0 < 10
    message = str(info.value)
    assert "no internet connection — use a local weights file" in message
    assert "127.0.0.1" not in message and "Errno" not in message  # the details go to the log
    pytest.importorskip("PySide6")
    from photoclip.gui.model_banner import readable_error

    assert readable_error(message) == ("Could not download the weights of ViT-B-32-256 (datacomp_s34b_b86k): "
                                       "no internet connection — use a local weights file.")
