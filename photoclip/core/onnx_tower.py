"""Optional ONNX Runtime backend for the image tower on the CPU (``pip install photoclip[onnx]``).

The open_clip model's own image tower, with its own weights, is exported once to an ONNX file
(cached in the models folder, keyed by the model's identity and the torch / open_clip versions)
and run by ONNX Runtime. On the 2-core development machine it encoded ViT-B-32-256 batches of 16
1.18-1.33x faster than torch (fp32 both, 2 threads). At every load its features of a fixed probe
batch are checked against torch's (recorded at export from the same weights); the Embedder keeps
torch if they differ by more than 1e-3 cosine (see embedder.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from pathlib import Path

import numpy as np

from . import paths

log = logging.getLogger("photoclip.onnx")

OPSET = 17


def available() -> bool:
    """Whether ONNX Runtime and the exporter's ``onnx`` package are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def cache_files(identity: str, image_size: int, torch, open_clip) -> tuple[Path, Path]:
    """The exported tower and torch's features of the probe batch beside it."""
    key = f"{identity}|{image_size}|torch {torch.__version__}|open_clip {open_clip.__version__}|opset {OPSET}"
    path = paths.models_dir() / "onnx" / f"image-tower-{hashlib.sha256(key.encode()).hexdigest()[:20]}.onnx"
    return path, path.with_suffix(".probe.npy")


def discard_cached(identity: str, image_size: int, torch, open_clip) -> None:
    """Remove the cached files (damaged: the next load exports again)."""
    for file in cache_files(identity, image_size, torch, open_clip):
        try:
            file.unlink()
        except FileNotFoundError:
            pass


def probe_pixels(image_size: int, torch):
    """The fixed batch both backends encode at load to check they agree."""
    generator = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, image_size, image_size, generator=generator) * 4 - 2


class OnnxImageTower:
    """``model.encode_image`` (unnormalized features) run by ONNX Runtime on the CPU.

    Made in two steps so torch's copy of the tower can be dropped in between: ``__init__`` exports
    the tower if it is not cached (with torch's features of the probe batch beside it, the
    reference every later load is checked against), ``start()`` opens the ONNX Runtime session."""

    def __init__(self, model, identity: str, image_size: int, torch, open_clip) -> None:
        self.path, self.reference_path = cache_files(identity, image_size, torch, open_clip)
        self.image_size = image_size
        self._model, self._torch = model, torch
        self.session = None
        if not self.path.is_file() or not self.reference_path.is_file():
            self._export()

    def _export(self) -> None:
        import warnings

        torch = self._torch

        class _ImageTower(torch.nn.Module):
            def __init__(self, clip) -> None:
                super().__init__()
                self.clip = clip

            def forward(self, pixels):
                return self.clip.encode_image(pixels)

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        example = torch.zeros(2, 3, self.image_size, self.image_size)
        log.info("exporting the image tower to ONNX (once): %s", self.path)
        try:
            # Traced with autograd on: under no_grad, torch's attention takes a fused fast path
            # (aten::_native_multi_head_attention) that the exporter cannot write.
            with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(_ImageTower(self._model).eval(), (example,), str(tmp), input_names=["pixels"],
                                  output_names=["features"], opset_version=OPSET, dynamo=False,
                                  dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}})
            with torch.inference_mode():
                reference = self._model.encode_image(probe_pixels(self.image_size, torch)).float().numpy()
            os.replace(tmp, self.path)
            ref_tmp = self.reference_path.with_name(f".{self.reference_path.name}.{os.getpid()}.npy")
            np.save(ref_tmp, reference)
            os.replace(ref_tmp, self.reference_path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def start(self, threads: int) -> float:
        """Open the session; returns the lowest cosine between its features of the probe batch and
        torch's (recorded at export)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Pre-packed weights are a second copy of the matrices: ~170 MB more for ViT-B-32, for ~3 %.
        options.add_session_config_entry("session.disable_prepacking", "1")
        self.session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        reference = np.load(self.reference_path)
        self._input = self.session.get_inputs()[0].name
        self._model = None
        got = self(probe_pixels(self.image_size, self._torch).numpy())
        norms = np.linalg.norm(reference, axis=1) * np.linalg.norm(got, axis=1)
        return float(np.min(np.sum(reference * got, axis=1) / norms))

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        """(n, 3, H, W) float32 normalized pixels -> (n, dim) float32 features (not unit length)."""
        return self.session.run(None, {self._input: np.ascontiguousarray(pixels, dtype=np.float32)})[0]
