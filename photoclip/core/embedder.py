"""The open_clip model: which one, where its weights come from, on which device, batched encoding.

torch and open_clip are imported only when a model is actually loaded, so the CLI's quick commands
and the app's window never wait for them.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import threading
import time
import types
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import paths
from .config import DEFAULT_MODEL, DEFAULT_PRETRAINED, PRECISIONS
from .errors import Cancelled, ModelUnavailableError
from .jobs import JobControl, Progress, ProgressCallback, RateMeter, format_duration

log = logging.getLogger("photoclip.embedder")

WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
RANDOM = "random"
RANDOM_SEED = 0
TEXT_BATCH = 64  # texts per text-tower pass

# -- precision ---------------------------------------------------------------------------------
# fp32 everywhere; fp16 on a CUDA GPU (auto there, as before); bf16 on a CPU that computes it
# natively (AVX512_BF16, AMX): the weights converted (model.to(bfloat16), inputs in bf16), about
# twice the photos per second of fp32 (torch.autocast was slower than fp32). Without native
# support bf16 is emulated and many times slower, so auto never picks it there. At every load
# the bf16 model is checked against fp32 on a probe batch of both towers: vectors of the two are
# interchangeable in one index, or bf16 is not used.
BF16_MIN_COSINE = 0.999      # bf16 vs fp32 vectors on the probe batch, image and text towers
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 flags in /proc/cpuinfo ("bf16" on ARM)
PROBE_TEXTS = ("a photo", "a photo of a dog on the beach", "a red circle on a blue background",
               "kids building a sandcastle at sunset")
PROBE_IMAGES = 4


def _file_digest(path: Path) -> str:
    """A cheap identity for a local weights file: size + hash of its first and last MiB."""
    st = path.stat()
    h = hashlib.blake2b(digest_size=8)
    h.update(st.st_size.to_bytes(8, "little"))
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if st.st_size > 2 << 20:
            f.seek(st.st_size - (1 << 20))
            h.update(f.read())
    return h.hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    """Which model: an open_clip name or a config JSON path, and a tag, a weights file or 'random'."""
    model: str = DEFAULT_MODEL
    pretrained: str = DEFAULT_PRETRAINED

    @property
    def is_config_file(self) -> bool:
        return self.model.endswith(".json") or os.sep in self.model

    @property
    def is_weights_file(self) -> bool:
        return self.pretrained != RANDOM and (
            self.pretrained.lower().endswith(WEIGHT_SUFFIXES) or os.sep in self.pretrained)

    @property
    def is_random(self) -> bool:
        return self.pretrained == RANDOM

    def config(self) -> dict:
        try:
            return json.loads(Path(self.model).read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ModelUnavailableError(f"Model config file not found: {self.model}") from exc
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(f"Model config file {self.model} cannot be read: {exc}") from exc

    @property
    def arch_name(self) -> str:
        """The open_clip name (custom configs get a content-addressed name)."""
        if not self.is_config_file:
            return self.model
        raw = json.dumps(self.config(), sort_keys=True).encode()
        return f"custom-{Path(self.model).stem}-{hashlib.sha256(raw).hexdigest()[:10]}"

    @property
    def identity(self) -> str:
        """Stored with every vector: vectors of two identities never share an index."""
        if self.is_weights_file:
            path = Path(self.pretrained)
            try:
                weights = f"file:{path.name}:{_file_digest(path)}"
            except OSError as exc:
                raise ModelUnavailableError(f"Weights file not found or unreadable: {self.pretrained}") from exc
        else:
            weights = self.pretrained
        return f"{self.arch_name}/{weights}"

    @property
    def label(self) -> str:
        model = Path(self.model).name if self.is_config_file else self.model
        pre = Path(self.pretrained).name if self.is_weights_file else self.pretrained
        return f"{model} ({pre})"

    def cached_weights(self) -> Optional[Path]:
        """The downloaded weights file for a pretrained tag, if present."""
        if self.is_weights_file or self.is_random:
            return None
        for suffix in (".safetensors", ".bin"):
            candidate = paths.models_dir() / f"{self.model}--{self.pretrained}{suffix}"
            if candidate.is_file():
                return candidate
        return None

    def ready(self) -> bool:
        """True when loading needs no download."""
        if self.is_random:
            return True
        if self.is_weights_file:
            return Path(self.pretrained).is_file()
        return self.cached_weights() is not None


def pick_device(requested: str = "auto") -> str:
    import torch

    requested = (requested or "auto").lower()
    if requested == "gpu":
        requested = "auto"
    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailableError("CUDA was requested but no CUDA GPU is available; use --device cpu or auto.")
    if requested == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ModelUnavailableError("Apple MPS was requested but is not available; use --device cpu or auto.")
    if requested not in ("cpu", "cuda", "mps"):
        raise ModelUnavailableError(f"Unknown device {requested!r}: use auto, cpu, cuda or mps.")
    return requested


def cpu_flags() -> Optional[frozenset]:
    """The CPU's feature flags from /proc/cpuinfo (x86 "flags", ARM "Features"), None where there is none."""
    try:
        text = Path("/proc/cpuinfo").read_text("utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return None


def native_bf16(torch) -> tuple[bool, str]:
    """Whether this CPU computes bf16 natively, and how that is known: /proc/cpuinfo where there is
    one, else what torch says."""
    flags = cpu_flags()
    if flags is not None:
        found = [f for f in NATIVE_BF16_FLAGS + ("bf16",) if f in flags]
        if found:
            return True, f"this CPU has {' and '.join(found)}"
        return False, "this CPU has no native bf16 (neither avx512_bf16 nor amx_bf16)"
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    checks.append(getattr(getattr(torch.ops, "mkldnn", None), "_is_mkldnn_bf16_supported", None))  # ARM bf16
    for check in checks:
        try:
            if check is not None and check():
                return True, "torch reports native bf16 on this CPU"
        except Exception:  # noqa: BLE001 - a probe of an optional feature
            continue
    return False, "torch reports no native bf16 on this CPU"


def bf16_probe_ms(torch, width: int = 512, rows: int = 256) -> tuple[float, float]:
    """Milliseconds of a (rows x width) @ (width x width) product in fp32 and in bf16, the best of 5
    after a warm-up: whether bf16 is actually faster here (a few ms where it is)."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(rows, width, generator=g), torch.randn(width, width, generator=g)
    times = []
    for dtype in (torch.float32, torch.bfloat16):
        x, y = a.to(dtype), b.to(dtype)
        best = float("inf")
        with torch.inference_mode():
            for i in range(6):
                started = time.perf_counter()
                torch.matmul(x, y)
                if i:
                    best = min(best, time.perf_counter() - started)
        times.append(best * 1e3)
    return times[0], times[1]


# -- downloading -------------------------------------------------------------------------------

def weight_urls(spec: ModelSpec) -> list[str]:
    """Where the weights of a pretrained tag can be downloaded, best first."""
    import open_clip

    if not open_clip.is_pretrained_cfg(spec.model, spec.pretrained):
        tags = open_clip.list_pretrained_tags_by_model(spec.model)
        hint = f" Known tags for {spec.model}: {', '.join(tags)}." if tags else ""
        raise ModelUnavailableError(
            f"'{spec.pretrained}' is not a known pretrained tag for {spec.model}.{hint} "
            "You can also pass the path of a local weights file (.safetensors, .pt, .bin).")
    cfg = open_clip.get_pretrained_cfg(spec.model, spec.pretrained)
    urls = []
    hub = cfg.get("hf_hub", "")
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    if hub:
        repo, filename = os.path.split(hub.rstrip("/") if hub.endswith("/") else hub)
        if hub.endswith("/"):
            repo = hub.rstrip("/")
            names = ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        else:
            names = ([filename[:-4] + ".safetensors"] if filename.endswith((".bin", ".pth")) else []) + [filename]
        urls += [f"{endpoint}/{repo}/resolve/main/{name}" for name in names]
    if cfg.get("url"):
        urls.append(cfg["url"])
    return urls


def download(url: str, dest: Path, progress: Optional[ProgressCallback] = None,
             control: Optional[JobControl] = None, what: str = "model") -> Path:
    """Stream url to dest atomically (a .part file renamed at the end), reporting progress."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "photoclip"})
    with urllib.request.urlopen(request, timeout=10) as response:  # offline: fail within seconds
        total = int(response.headers.get("Content-Length") or 0) or None
        meter = RateMeter(total or 0)
        done = 0
        last_report = 0.0
        try:
            with open(part, "wb") as out:
                while True:
                    if control is not None:
                        control.checkpoint()
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
                    now = time.monotonic()
                    if progress and (now - last_report > 0.2):
                        last_report = now
                        rate, eta = meter.update(done)
                        progress(Progress("downloading", done, total or 0, rate, eta,
                                          _download_message(what, done, total, rate, eta)))
                out.flush()
                os.fsync(out.fileno())
            if total is not None and done != total:
                raise ModelUnavailableError(f"The download of {what} was cut short ({done} of {total} bytes).")
            os.replace(part, dest)
        except BaseException:
            try:
                part.unlink()
            except OSError:
                pass
            raise
    if progress:
        progress(Progress("downloading", done, total or done, None, 0, f"Downloaded {what} ({done / 1e6:,.0f} MB)"))
    return dest


def _download_message(what: str, done: int, total: Optional[int], rate, eta) -> str:
    text = f"Downloading {what} — {done / 1e6:,.0f}"
    text += f" / {total / 1e6:,.0f} MB" if total else " MB"
    if rate:
        text += f" · {rate / 1e6:.1f} MB/s"
    if eta is not None:
        text += f" · {format_duration(eta)} left"
    return text


def offline_help(spec: ModelSpec) -> str:
    return (f"To use photoclip offline, download the weights file on a machine with internet access "
            f"(open_clip model {spec.model}, pretrained '{spec.pretrained}', a .safetensors or .bin file from "
            f"huggingface.co) and point photoclip at it: photoclip --model {spec.model} --pretrained "
            f"/path/to/weights.safetensors index ... — or in the app choose 'Use a local weights file…'. "
            f"Downloaded weights are kept in {paths.models_dir()}.")


def ensure_weights(spec: ModelSpec, progress: Optional[ProgressCallback] = None,
                   control: Optional[JobControl] = None) -> Optional[Path]:
    """The local weights file for spec, downloading a pretrained tag on first use. None for 'random'."""
    if spec.is_random:
        return None
    if spec.is_weights_file:
        path = Path(spec.pretrained).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(f"Weights file not found: {spec.pretrained}")
        return path
    cached = spec.cached_weights()
    if cached:
        return cached
    errors = []
    for url in weight_urls(spec):
        suffix = ".safetensors" if url.endswith(".safetensors") else ".bin"
        dest = paths.models_dir() / f"{spec.model}--{spec.pretrained}{suffix}"
        try:
            log.info("downloading %s from %s", spec.label, url)
            return download(url, dest, progress, control, what=spec.label)
        except Cancelled:
            raise
        except urllib.error.HTTPError as exc:
            errors.append(f"{url}: HTTP {exc.code}")
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or exc
            log.warning("downloading %s from %s failed: %s", spec.label, url, reason)
            if isinstance(exc, urllib.error.URLError):
                # no connection at all: the other mirrors will not answer either (details in the log)
                raise ModelUnavailableError(
                    f"Could not download the weights of {spec.label}: no internet connection — "
                    f"use a local weights file. " + offline_help(spec)) from exc
            errors.append(f"{url}: {reason}")
        except ModelUnavailableError as exc:
            errors.append(str(exc))
    raise ModelUnavailableError(
        f"Could not download the weights of {spec.label} ({'; '.join(errors) or 'no download address'}). "
        + offline_help(spec))


# -- the model ---------------------------------------------------------------------------------

class Embedder:
    """A loaded open_clip model: encode batches of preprocessed images and texts into unit vectors."""

    def __init__(self, spec: ModelSpec, device: str = "auto", threads: int = 0,
                 progress: Optional[ProgressCallback] = None, control: Optional[JobControl] = None, *,
                 image_backend: str = "torch", precision: str = "auto", text_only: bool = False) -> None:
        """``text_only``: load the text tower alone (a text query needs no more): the image tower is
        neither built nor read from the weights file, and :meth:`encode_images` refuses. Its text
        vectors are those of the full model (same weights, same precision plan)."""
        requested = (precision or "auto").lower()
        if requested not in PRECISIONS:
            raise ModelUnavailableError(f"Unknown precision {precision!r}: use {', '.join(PRECISIONS)}.")
        self.spec = spec
        self.identity = spec.identity
        #: what was asked for (device, precision, image backend): the same on this machine, the same plan
        device = (device or "auto").lower()
        self.requested = ("auto" if device == "gpu" else device, requested, image_backend or "torch")
        weights = ensure_weights(spec, progress, control)
        import torch
        import open_clip

        if threads and threads > 0:
            torch.set_num_threads(threads)
        self.device = pick_device(device)
        self._torch = torch
        name = self._register(open_clip)
        kwargs = {}
        if not spec.is_weights_file and not spec.is_random and open_clip.is_pretrained_cfg(spec.model, spec.pretrained):
            pcfg = open_clip.get_pretrained_cfg(spec.model, spec.pretrained)
            kwargs = {k: pcfg[src] for k, src in (("image_mean", "mean"), ("image_std", "std"),
                                                 ("image_interpolation", "interpolation"),
                                                 ("image_resize_mode", "resize_mode")) if pcfg.get(src)}
        if spec.is_config_file:
            pre = spec.config().get("preprocess_cfg", {})
            kwargs.update({f"image_{k}": v for k, v in pre.items()
                           if k in ("mean", "std", "interpolation", "resize_mode")})
        if spec.is_random:
            log.warning("RANDOM WEIGHTS (seed %d): %s gives meaningless results; for tests and benchmarks only",
                        RANDOM_SEED, spec.model)
        # loaded in fp16 (open_clip's conversion) or fp32; bf16 is made from fp32 after the check below
        precision = "fp16" if self.device == "cuda" and requested in ("auto", "fp16") else "fp32"

        #: whether the image tower is in memory (False for a text-only load: for diagnostics and tests)
        self.has_image_tower = not text_only

        def create():
            if spec.is_random:
                torch.manual_seed(RANDOM_SEED)
            try:
                if text_only:
                    return _create_text_only(open_clip, torch, name, weights, precision, self.device), None
                if weights is not None and self.device == "cpu" and precision == "fp32":
                    made = _create_whole_on_meta(open_clip, torch, name, weights, kwargs)
                    if made is not None:
                        return made
                made = open_clip.create_model_and_transforms(
                    name, pretrained=str(weights) if weights else None, precision=precision, device=self.device,
                    pretrained_text=False, **kwargs)
            except ModelUnavailableError:
                raise
            except (RuntimeError, ValueError, KeyError, OSError) as exc:
                raise ModelUnavailableError(f"Could not load {spec.label}: {exc}") from exc
            made[0].eval()
            return made[0], made[2]

        self._create = create  # a second load: only if the ONNX Runtime image tower fails after all
        model, preprocess = create()
        self.model = model
        self.preprocess = preprocess
        if text_only:
            self._to_pixels, self._mean_std = None, None
            size = (open_clip.get_model_config(name) or {}).get("vision_cfg", {}).get("image_size", 224)
        else:
            self._to_pixels, self._mean_std = _split_preprocess(preprocess, torch)
            size = getattr(model.visual, "image_size", 224)
        self._mean_std_device = None  # (mean, std) on the GPU, made by the first batch there
        self.tokenizer = open_clip.get_tokenizer(name)
        self.image_size = int(max(size) if isinstance(size, (tuple, list)) else size)
        self.logit_scale = float(model.logit_scale.exp().item()) if hasattr(model, "logit_scale") else 100.0
        with torch.inference_mode():
            probe = self.tokenizer(["a photo"]).to(self.device)
            self.dim = int(model.encode_text(probe).shape[-1])
        self._trim_padding = _check_trimmed_text(model, self.tokenizer, self.device, torch)
        #: the precision the model runs in ("fp32", "bf16" or "fp16") and why, for the GUI and CLI
        target, self.precision_reason = self._precision_plan(requested, precision, image_backend)
        self.precision = precision
        if target == "bf16":
            self.precision, self.precision_reason = self._to_bf16(self.precision_reason)
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision, torch.float32)
        self.image_backend = "torch"
        self._onnx = None
        if image_backend == "onnxruntime" and not text_only:
            self._onnx = self._open_onnx(open_clip, threads or torch.get_num_threads())
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._text_lock = threading.Lock()
        self._model_lock = threading.Lock()
        log.info("loaded %s%s on %s in %s (%s; %d-d vectors, %d px input)", spec.label,
                 " (text tower only)" if text_only else "", self.device, self.precision,
                 self.precision_reason, self.dim, self.image_size)

    @property
    def precision_text(self) -> str:
        """The precision in use and why, as the GUI and the CLI show it."""
        return f"{self.precision} ({self.precision_reason})"

    def _precision_plan(self, requested: str, loaded: str, image_backend: str) -> tuple[str, str]:
        """(the precision to run in, why) for a model loaded in ``loaded`` precision."""
        device = self.device
        if device == "cuda":
            if requested in ("auto", "fp16"):
                return loaded, "half precision on the CUDA GPU" if requested == "fp16" else "auto: fp16 on a CUDA GPU"
            return requested, f"{requested} chosen"
        if requested == "fp16":
            return "fp32", f"fp16 runs on CUDA GPUs only; fp32 on {device}"
        if device != "cpu":
            if requested == "bf16":
                return "fp32", f"bf16 runs on the CPU or a CUDA GPU; fp32 on {device}"
            return "fp32", "fp32 chosen" if requested == "fp32" else f"auto: fp32 on {device}"
        if requested == "fp32":
            return "fp32", "fp32 chosen"
        if image_backend == "onnxruntime":
            return "fp32", "the ONNX Runtime image backend runs in fp32"
        native, how = native_bf16(self._torch)
        if requested == "bf16":
            return "bf16", "bf16 chosen" + ("" if native else f"; {how}: slower than fp32 here")
        if not native:
            return "fp32", f"auto: {how}"
        fp32_ms, bf16_ms = bf16_probe_ms(self._torch)
        if not bf16_ms < fp32_ms:
            return "fp32", f"auto: {how}, but bf16 measured slower than fp32 ({bf16_ms:.2f} vs {fp32_ms:.2f} ms)"
        return "bf16", f"auto: {how}, {fp32_ms / bf16_ms:.1f}x fp32's speed on a probe"

    def _probe_vectors(self, images, tokens):
        """Unit vectors of the probe batch through both towers, as encode_images/encode_texts make them."""
        torch = self._torch
        with torch.inference_mode():
            image = (self.model.encode_image(images.to(self.device, dtype=next(self.model.parameters()).dtype))
                     if self.has_image_tower else torch.ones((1, 1)))
            text = (_encode_text_trimmed(self.model, tokens) if self._trim_padding
                    else self.model.encode_text(tokens))
            norm = torch.nn.functional.normalize
            return norm(image.float(), dim=-1), norm(text.float(), dim=-1)

    def _to_bf16(self, why: str) -> tuple[str, str]:
        """Convert the fp32 model to bf16 if its vectors match fp32's on a probe batch of both towers
        (cosine >= BF16_MIN_COSINE); else load it again in fp32. Returns (precision, why)."""
        torch = self._torch
        g = torch.Generator().manual_seed(RANDOM_SEED)
        images = torch.randn((PROBE_IMAGES, 3, self.image_size, self.image_size), generator=g)
        tokens = self.tokenizer(list(PROBE_TEXTS)).to(self.device)
        ref_image, ref_text = self._probe_vectors(images, tokens)
        with torch.no_grad():  # parameter by parameter: the model is never held twice (peak memory)
            self.model.to(torch.bfloat16)
        cosine, problem = 0.0, ""
        try:
            image, text = self._probe_vectors(images, tokens)
            cosine = float(min((image * ref_image).sum(-1).min(), (text * ref_text).sum(-1).min()))
        except RuntimeError as exc:  # an operation without a bf16 kernel here
            problem = f"bf16 does not run here ({exc})"
        if not problem and not cosine >= BF16_MIN_COSINE:
            problem = f"bf16 vectors differ from fp32 (cosine {cosine:.5f} < {BF16_MIN_COSINE})"
        if problem:
            log.warning("%s; the model runs in fp32", problem)
            self.model, _ = self._create()  # a second load, only here
            return "fp32", f"{problem}; fp32 instead"
        return "bf16", f"{why}; cosine to fp32 {cosine:.5f}"

    def _register(self, open_clip) -> str:
        if not self.spec.is_config_file:
            if self.spec.model not in open_clip.list_models():
                raise ModelUnavailableError(
                    f"Unknown open_clip model '{self.spec.model}'. Pass a name from open_clip.list_models() "
                    "or the path of an open_clip model-config JSON.")
            return self.spec.model
        cfg = self.spec.config()
        cfg = cfg.get("model_cfg", cfg)
        if not all(k in cfg for k in ("embed_dim", "vision_cfg", "text_cfg")):
            raise ModelUnavailableError(f"{self.spec.model} is not an open_clip model config "
                                        "(it needs embed_dim, vision_cfg and text_cfg).")
        name = self.spec.arch_name
        target = paths.models_dir() / "configs" / f"{name}.json"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}")
            tmp.write_text(json.dumps(cfg), "utf-8")
            os.replace(tmp, target)
        open_clip.add_model_config(target)
        return name

    def _open_onnx(self, open_clip, threads: int):
        """The image tower in ONNX Runtime, if it can run here and gives torch's features (cosine
        >= 0.999 on a probe batch); else None, with the reason in the log, and torch is used."""
        from . import onnx_tower

        if self.device != "cpu":
            log.info("the ONNX Runtime image backend is for the CPU; using torch on %s", self.device)
            return None
        if not onnx_tower.available():
            log.warning("image_backend 'onnxruntime' needs onnxruntime and onnx (pip install photoclip[onnx]); "
                        "using torch")
            return None
        args = (self.identity, self.image_size, self._torch, open_clip)

        def start():
            tower = onnx_tower.OnnxImageTower(self.model, *args)  # exports the tower unless cached
            # torch's copy of the tower (~350 MB for ViT-B-32) goes before ONNX Runtime loads its own
            self.model.visual = None
            return tower, tower.start(threads)

        tower, cosine, problem = None, 0.0, ""
        try:
            try:
                tower, cosine = start()
            except Exception as exc:  # noqa: BLE001
                if self.model.visual is not None:  # the export itself failed: no second try
                    raise
                # e.g. a damaged cache file (a disk that filled up): export it again, once
                log.warning("the cached ONNX image tower cannot be used (%s); exporting it again", exc)
                onnx_tower.discard_cached(*args)
                self.model, _ = self._create()
                tower, cosine = start()
        except Exception as exc:  # noqa: BLE001 - an optional speed-up never stops the app
            problem = str(exc)
        if tower is not None and cosine >= 0.999:
            self.image_backend = "onnxruntime"
            log.info("image tower runs in ONNX Runtime (%s; cosine to torch %.6f)", tower.path.name, cosine)
            return tower
        log.warning("the ONNX Runtime image backend cannot be used (%s); using torch",
                    problem or f"its features differ from torch's: cosine {cosine:.5f}")
        if self.model.visual is None:
            self.model, _ = self._create()  # torch's image tower back (a second load, only here)
        return None

    @property
    def default_batch_size(self) -> int:
        return 64 if self.device == "cuda" else 16

    def image_tensor(self, image):
        """A PIL image -> what :meth:`encode_images` takes: the model's pixels as uint8 (a quarter of
        the memory of the float tensor, for the decoded photos queued ahead of the model) where
        open_clip's transform ends in ToTensor + Normalize, else the fully preprocessed tensor."""
        return self._to_pixels(image) if self._to_pixels else self.preprocess(image)

    def encode_images(self, batch) -> np.ndarray:
        """(n, 3, H, W) images from :meth:`image_tensor` (uint8 pixels) or open_clip's preprocess
        (normalized floats) -> (n, dim) float32 unit vectors."""
        if not self.has_image_tower:
            raise RuntimeError("this model was loaded for text only (Embedder(text_only=True))")
        torch = self._torch
        if batch.dtype == torch.uint8:
            if self._mean_std is None:
                raise ValueError("this model's preprocessing does not take uint8 pixels")
            if self.device == "cpu":  # (a GPU normalizes them itself, after the copy)
                batch = _normalize_pixels(batch, *self._mean_std)  # once per batch instead of once per photo
        with self._model_lock, torch.inference_mode():
            if self._onnx is not None:
                feats = torch.from_numpy(self._onnx(batch.float().numpy()))
                feats = torch.nn.functional.normalize(feats, dim=-1)
                return feats.numpy().astype(np.float32, copy=False)
            if batch.dtype == torch.uint8:
                batch = self._normalized_on_device(batch)
            x = batch.to(self.device, dtype=self.dtype, non_blocking=True)
            feats = self.model.encode_image(x).float()
            feats = torch.nn.functional.normalize(feats, dim=-1)
            return feats.cpu().numpy().astype(np.float32, copy=False)

    def _normalized_on_device(self, pixels):
        """On a GPU, uint8 pixels are copied as they are (a quarter of the bytes of floats, from
        pinned memory on CUDA so the copy is a DMA) and normalized there."""
        if self._mean_std_device is None:
            self._mean_std_device = tuple(t.to(self.device) for t in self._mean_std)
        if self.device == "cuda":
            pixels = pixels.pin_memory()
        return _normalize_pixels(pixels.to(self.device, non_blocking=True), *self._mean_std_device)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (n, dim) unit vectors; an LRU cache serves repeated texts."""
        out: list[Optional[np.ndarray]] = []
        missing = []
        with self._text_lock:
            for text in texts:
                vec = self._text_cache.get(text)
                if vec is not None:
                    self._text_cache.move_to_end(text)
                else:
                    missing.append(text)
                out.append(vec)
        if missing:
            unique = list(dict.fromkeys(missing))
            torch = self._torch
            # No model lock here: a search must not wait behind an image batch being indexed
            # (forward passes in inference mode do not mutate the model).
            chunks = []
            with torch.inference_mode():
                # in chunks: a tag set's hundreds of prompts never make one huge forward pass
                # (its activations would add hundreds of MB to the peak memory of an indexing run)
                for start in range(0, len(unique), TEXT_BATCH):
                    tokens = self.tokenizer(unique[start:start + TEXT_BATCH]).to(self.device)
                    raw = (_encode_text_trimmed(self.model, tokens) if self._trim_padding
                           else self.model.encode_text(tokens))
                    chunks.append(torch.nn.functional.normalize(raw.float(), dim=-1).cpu().numpy())
            feats = np.concatenate(chunks).astype(np.float32, copy=False)
            with self._text_lock:
                for text, vec in zip(unique, feats):
                    self._text_cache[text] = vec
                    while len(self._text_cache) > 4096:
                        self._text_cache.popitem(last=False)
            lookup = dict(zip(unique, feats))
            out = [lookup[t] if v is None else v for t, v in zip(texts, out)]
        return np.stack(out) if out else np.zeros((0, self.dim), np.float32)

    def encode_text(self, text: str) -> np.ndarray:
        return self.encode_texts([text])[0]


# -- the text tower alone ------------------------------------------------------------------------
# open_clip builds both towers and reads the whole weights file. For a text query the image tower
# (~88 M of ViT-B-32's 151 M parameters) is wasted time and memory, so while open_clip creates the
# model its image tower is an empty placeholder, and the weights it reads are the file's other
# tensors only (a .safetensors file is read tensor by tensor; another format whole, then filtered).
# Everything else -- the text tower, its conversions, its precision -- is open_clip's own code.

_PATCH_LOCK = threading.Lock()


def _no_image_tower_class(torch):
    class NoImageTower(torch.nn.Module):
        """Where open_clip expects the image tower: nothing, and its weights are not loaded."""

        def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
            for key in [k for k in state_dict if k.startswith(prefix)]:
                del state_dict[key]

        def forward(self, *args, **kwargs):
            raise RuntimeError("this model was loaded for text only")

    return NoImageTower


def _is_image_key(key: str) -> bool:
    return key.startswith(("visual.", "module.visual."))


def _create_text_only(open_clip, torch, name: str, weights: Optional[Path], precision: str, device: str):
    """open_clip's model ``name`` with ``weights`` (None: random, seeded by the caller) and no image tower."""
    import open_clip.factory as factory
    import open_clip.model as clip_model

    no_tower = _no_image_tower_class(torch)
    if weights is None:  # random weights: built whole so the seeded text tower is the full model's
        model = open_clip.create_model(name, pretrained=None, precision=precision, device=device,
                                       pretrained_text=False)
        model.visual = no_tower()
        return model.eval()
    original_load = factory.load_state_dict

    def text_state_dict(path, *args, **kwargs):
        if str(path).endswith(".safetensors"):
            from safetensors import safe_open

            with safe_open(str(path), framework="pt", device=kwargs.get("device", "cpu")) as f:
                return {k: f.get_tensor(k) for k in f.keys() if not _is_image_key(k)}
        state = original_load(path, *args, **kwargs)
        return {k: v for k, v in state.items() if not _is_image_key(k)}

    with _PATCH_LOCK:
        build_vision = clip_model._build_vision_tower
        clip_model._build_vision_tower = lambda *args, **kwargs: no_tower()
        factory.load_state_dict = text_state_dict
        try:
            model = None
            if device == "cpu" and precision == "fp32":
                model = _create_on_meta(open_clip, torch, name, weights)
            if model is None:
                model = open_clip.create_model(name, pretrained=str(weights), precision=precision, device=device,
                                               pretrained_text=False)
        finally:
            clip_model._build_vision_tower = build_vision
            factory.load_state_dict = original_load
    return model.eval()


def _create_whole_on_meta(open_clip, torch, name: str, weights: Path, image_kwargs: dict):
    """Both towers the way of :func:`_create_on_meta` and open_clip's inference transform, as
    create_model_and_transforms makes them; None where that does not fit this model."""
    from open_clip.transform import PreprocessCfg, image_transform_v2, merge_preprocess_kwargs

    force = merge_preprocess_kwargs({}, **{k[len("image_"):]: v for k, v in image_kwargs.items()})
    with _PATCH_LOCK:
        model = _create_on_meta(open_clip, torch, name, weights, force_preprocess_cfg=force)
    if model is None:
        return None
    return model.eval(), image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)


def _create_on_meta(open_clip, torch, name: str, weights: Path, **create_kwargs):
    """The model built on the meta device (no memory, no random init) and given the file's tensors
    themselves (load_state_dict with assign): the weights are in memory once, not twice while they
    are copied. The causal mask (a buffer that is not in the file) is made again; None for a model
    with any other tensor that is not in the file (the caller builds it the ordinary way).
    The caller holds _PATCH_LOCK."""
    import functools

    import open_clip.factory as factory

    original_checkpoint = factory.load_checkpoint

    def load_assigning(model, *args, **kwargs):
        model.load_state_dict = functools.partial(torch.nn.Module.load_state_dict, model, assign=True)
        try:
            with torch.device("cpu"):
                return original_checkpoint(model, *args, **kwargs)
        finally:
            del model.load_state_dict

    factory.load_checkpoint = load_assigning
    try:
        with torch.device("meta"):
            model = open_clip.create_model(name, pretrained=str(weights), precision="fp32", device="meta",
                                           pretrained_text=False, **create_kwargs)
    except Exception as exc:  # noqa: BLE001 - an open_clip this does not fit: the ordinary way
        log.info("text tower built the ordinary way (%s)", exc)
        return None
    finally:
        factory.load_checkpoint = original_checkpoint
    for owner in [model, *model.modules()]:
        for key, buf in list(owner._buffers.items()):
            if buf is None or not buf.is_meta:
                continue
            if key != "attn_mask" or buf.dim() != 2 or buf.shape[0] != buf.shape[1]:
                log.info("text tower built the ordinary way (buffer %s is not in the weights file)", key)
                return None
            owner._buffers[key] = torch.full(tuple(buf.shape), float("-inf"), dtype=buf.dtype).triu_(1)
    if any(p.is_meta for p in model.parameters()):
        return None
    return model


def _normalize_pixels(pixels, mean, std):
    """(n, 3, H, W) uint8 pixels -> exactly what open_clip's ToTensor + Normalize make of them."""
    return pixels.float().div_(255).sub_(mean).div_(std)


def _split_preprocess(preprocess, torch):
    """open_clip's image transform split into (PIL -> uint8 pixels, (mean, std) to normalize a batch),
    or (None, None) when it does not end in ToTensor + Normalize."""
    from torchvision import transforms as T
    from torchvision.transforms.functional import pil_to_tensor

    steps = list(getattr(preprocess, "transforms", []))
    if len(steps) < 2 or not isinstance(steps[-2], T.ToTensor) or type(steps[-1]) is not T.Normalize:
        return None, None
    head = T.Compose(steps[:-2])
    shape = (1, -1, 1, 1)
    mean = torch.as_tensor(steps[-1].mean, dtype=torch.float32).reshape(shape)
    std = torch.as_tensor(steps[-1].std, dtype=torch.float32).reshape(shape)

    def to_pixels(image):
        image = head(image)
        if image.mode != "RGB":
            image = image.convert("RGB")
        return pil_to_tensor(image).contiguous()  # the HWC -> CHW copy here, in the decode thread

    # checked, not assumed: on a probe image the split gives exactly open_clip's tensor
    from PIL import Image

    probe = Image.fromarray(np.random.default_rng(0).integers(0, 256, (301, 203, 3), dtype=np.uint8))
    try:
        split = _normalize_pixels(to_pixels(probe).unsqueeze(0), mean, std)[0]
        same = bool((split - preprocess(probe)).abs().max() < 1e-5)
    except Exception as exc:  # a transform this split does not fit
        log.info("image preprocessing kept whole (%s)", exc)
        return None, None
    return (to_pixels, (mean, std)) if same else (None, None)


# -- text without its padding -------------------------------------------------------------------
# open_clip pads every prompt to the model's context (77 tokens) although a query or a tag prompt
# is usually under 15. In a causal text tower pooled at the end-of-text token, the padding after
# the longest prompt of a batch cannot change any output, so it is cut off: the same vectors,
# several times faster. open_clip's own forward code runs on a view of the model whose positional
# embedding and causal mask are cut to that length; each model is checked once at load against
# the full-length path, and one that does not match (another tower, another open_clip) keeps it.

class _TrimmedView:
    """``module`` with its positional embedding and causal mask cut to the first ``n`` positions;
    the class's methods run with this view as ``self``, everything else comes from ``module``."""

    def __init__(self, module, n: int) -> None:
        self._module = module
        self.positional_embedding = module.positional_embedding[:n]
        self.attn_mask = module.attn_mask[:n, :n]

    def __getattr__(self, name: str):
        attr = inspect.getattr_static(type(self._module), name, None)
        if inspect.isfunction(attr):
            return types.MethodType(attr, self)
        return getattr(self._module, name)


def _text_tower(model):
    """The module holding the text transformer's positional embedding and mask, and its pooling."""
    text = getattr(model, "text", None)
    if text is not None:  # CustomTextCLIP: a TextTransformer submodule
        return text, getattr(text, "pool_type", None), getattr(text, "cls_emb", None) is None
    return model, getattr(model, "text_pool_type", None), True


def _encode_text_trimmed(model, tokens):
    tower, _, _ = _text_tower(model)
    length = int((tokens != 0).sum(dim=1).max()) if tokens.numel() else tokens.shape[1]
    if length >= tokens.shape[1]:
        return model.encode_text(tokens)
    view = _TrimmedView(tower, length)
    return view.encode_text(tokens[:, :length]) if tower is model else view.forward(tokens[:, :length])


def _check_trimmed_text(model, tokenizer, device: str, torch) -> bool:
    """Whether this model's text vectors can be computed without the padding (checked, not assumed)."""
    import open_clip

    tower, pool, no_cls = _text_tower(model)
    if (pool != "argmax" or not no_cls or not isinstance(tokenizer, open_clip.tokenizer.SimpleTokenizer)
            or getattr(tower, "attn_mask", None) is None or getattr(tower, "positional_embedding", None) is None):
        return False
    probe = ["a photo", "kids building a sandcastle on the beach at sunset"]
    try:
        with torch.inference_mode():
            tokens = tokenizer(probe).to(device)
            full = torch.nn.functional.normalize(model.encode_text(tokens).float(), dim=-1)
            short = torch.nn.functional.normalize(_encode_text_trimmed(model, tokens).float(), dim=-1)
    except Exception as exc:  # an open_clip whose code this view does not fit: use the full path
        log.info("text padding kept for this model (%s)", exc)
        return False
    ok = bool(full.shape == short.shape and (full - short).abs().max() < 1e-3)
    if not ok:
        log.info("text padding kept for this model (trimmed vectors differ)")
    return ok
