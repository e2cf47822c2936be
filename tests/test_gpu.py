"""The model on an NVIDIA GPU (CUDA, half precision) gives what it gives on the CPU: the same
vectors within fp16 rounding, the same search results, the same best tags.

Skipped where torch sees no CUDA GPU (CI has none); run them on a machine that has one:
``python -m pytest tests/test_gpu.py``."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import folder_pixels

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (CUDA)")


def test_the_gpu_gives_the_cpus_vectors_in_half_precision(tiny_config, photo_folder):
    from photoclip.core.embedder import Embedder, ModelSpec

    spec = ModelSpec(tiny_config, "random")
    cpu, gpu = Embedder(spec, "cpu", precision="fp32"), Embedder(spec, "cuda", precision="fp16")
    assert gpu.device == "cuda" and gpu.dtype == torch.float16
    paths, pixels = folder_pixels(cpu, photo_folder)
    assert pixels.dtype == torch.uint8  # what the indexer hands over; normalized on the GPU

    on_cpu, on_gpu = cpu.encode_images(pixels), gpu.encode_images(pixels)
    assert on_gpu.dtype == np.float32 and on_gpu.shape == on_cpu.shape == (len(paths), cpu.dim)
    assert np.allclose(np.linalg.norm(on_gpu, axis=1), 1.0, atol=1e-3)
    assert (on_cpu * on_gpu).sum(axis=1).min() > 0.995
    # open_clip's own preprocessing (floats) gives the same vectors as the uint8 path
    from PIL import Image

    floats = torch.stack([gpu.preprocess(Image.open(p).convert("RGB")) for p in paths])
    assert (gpu.encode_images(floats) * on_gpu).sum(axis=1).min() > 0.995

    texts = ["a red circle", "a blue square on grey", "a photo of a dog"]
    assert (cpu.encode_texts(texts) * gpu.encode_texts(texts)).sum(axis=1).min() > 0.995


def test_a_library_on_the_gpu_finds_and_tags_what_the_cpu_does(make_library, photo_folder, tmp_path):
    libraries = {device: make_library(tmp_path / device, device=device,
                                         precision="fp32" if device == "cpu" else "fp16") for device in ("cpu", "cuda")}
    for device, lib in libraries.items():
        report = lib.index([str(photo_folder)])
        assert report.embedded == 12 and report.problems == 0, device
        assert lib.embedder().device == device

    for query in (photo_folder / "a" / "img2.jpg", photo_folder / "b" / "img4.png"):
        found = {d: lib.search(image=str(query), limit=12) for d, lib in libraries.items()}
        assert found["cuda"][0].path == str(query)  # a photo is most like itself
        scores = {d: {r.path: r.score for r in rs} for d, rs in found.items()}
        assert scores["cuda"].keys() == scores["cpu"].keys()
        assert max(abs(scores["cuda"][p] - scores["cpu"][p]) for p in scores["cpu"]) < 0.01

    def best_tags(lib):
        best = {}
        for rec in lib.photos():
            labels = lib.best_labels(rec.id, per_set=1)
            best[rec.path] = {name: top[0][0] for name, top in labels.items() if top}
        return best

    on_cpu, on_gpu = best_tags(libraries["cpu"]), best_tags(libraries["cuda"])
    assert on_cpu and on_cpu.keys() == on_gpu.keys()
    same = sum(on_cpu[p] == on_gpu[p] for p in on_cpu)
    assert same >= len(on_cpu) - 1  # fp16 may swap one near-tie, no more
