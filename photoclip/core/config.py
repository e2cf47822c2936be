"""Typed settings, each declared once with its default, stored as JSON in the library folder."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from . import paths

log = logging.getLogger("photoclip.config")

DEFAULT_MODEL = "ViT-B-32-256"
DEFAULT_PRETRAINED = "datacomp_s34b_b86k"

# The model's number format: auto (bf16 on a CPU with native bf16 where it is faster and checks out
# against fp32, fp16 on a CUDA GPU, else fp32), or one of them (core/embedder.py has the rules).
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

# The curated models offered in the app (label, model, pretrained, approximate download size).
CURATED_MODELS = (
    ("Fast", "ViT-B-32-256", "datacomp_s34b_b86k", "600 MB"),
    ("Balanced", "ViT-B-16", "datacomp_xl_s13b_b90k", "600 MB"),
    ("Best", "ViT-L-14", "datacomp_xl_s13b_b90k", "1.7 GB"),
)


#: the settings file's format; a file from a newer photoclip is read for what this one knows
SETTINGS_VERSION = 1

#: settings whose value must be one of these
CHOICES = {"device": ("auto", "cpu", "cuda", "mps"), "image_backend": ("torch", "onnxruntime"),
           "precision": PRECISIONS, "xmp_naming": ("darktable", "lightroom")}


@dataclass
class Settings:
    model: str = DEFAULT_MODEL           # open_clip model name or path of a model-config JSON
    pretrained: str = DEFAULT_PRETRAINED  # pretrained tag, local weights file, or "random"
    device: str = "auto"                 # auto | cpu | cuda | mps
    precision: str = "auto"              # one of PRECISIONS; used from the next model load
    threads: int = 0                     # torch intra-op threads; 0 = automatic
    image_backend: str = "torch"         # torch | onnxruntime (CPU; needs pip install photoclip[onnx])
    batch_size: int = 0                  # images per model call; 0 = automatic
    decode_workers: int = 0              # image decoding threads; 0 = automatic
    watch: bool = True                   # watch library folders for changes while the app runs
    abstain: float = 0.0                 # single-mode tag sets: no label when the best scores below this (0..1)
    xmp_naming: str = "darktable"        # XMP sidecars: darktable/digiKam photo.jpg.xmp | lightroom photo.xmp
    xmp_min_score: float = 0.5           # auto-tags written to sidecars from this score (0..1); confirmed
                                         # and user tags always, rejected ones never

    def __post_init__(self) -> None:
        # Keys this version does not know (a newer photoclip's), written back unchanged on save.
        self._unknown: dict = {}

    @classmethod
    def load(cls, path: Path) -> "Settings":
        """The settings in ``path``; each bad value is logged and only that one is the default."""
        settings, problems = cls.read(path)
        for problem in problems:
            log.warning("%s: %s", path, problem)
        return settings

    @classmethod
    def read(cls, path: Path) -> tuple["Settings", list[str]]:
        """(settings, what was wrong with the file): a wrong value costs that setting, not all."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except FileNotFoundError:
            return cls(), []
        except (OSError, ValueError) as exc:
            return cls(), [f"unreadable ({exc}); every setting is its default"]
        if not isinstance(data, dict):
            return cls(), ["not a settings file (expected a JSON object); every setting is its default"]
        problems = []
        version = data.pop("version", SETTINGS_VERSION)
        if not isinstance(version, int) or version > SETTINGS_VERSION:
            problems.append(f"written by a newer photoclip (settings version {version!r}); "
                            "the settings this version knows are used")
        values, fields = {}, {f.name: f for f in dataclasses.fields(cls)}
        for key, value in data.items():
            if key not in fields:
                continue
            why = _wrong_value(key, value, fields[key].default)
            if why:
                problems.append(f"{key}: {why}; using {fields[key].default!r}")
            else:
                values[key] = value
        settings = cls(**values)
        settings._unknown = {k: v for k, v in data.items() if k not in fields}
        return settings, problems

    def save(self, path: Path) -> None:
        data = {**self._unknown, "version": SETTINGS_VERSION, **dataclasses.asdict(self)}
        with paths.atomic_write(path, "save settings to", encoding="utf-8") as f:
            json.dump(data, f, indent=2)


def _wrong_value(key: str, value, default) -> str:
    """Why ``value`` cannot be setting ``key`` (typed by its default), or "" when it can."""
    kind = type(default)
    if kind is bool and not isinstance(value, bool):
        return f"{value!r} is not true or false"
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{value!r} is not a whole number"
    if kind is int and value < 0:
        return f"{value!r} is negative"
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{value!r} is not a number"
    if kind is float and not 0.0 <= value <= 1.0:
        return f"{value!r} is not between 0 and 1"
    if kind is str and not isinstance(value, str):
        return f"{value!r} is not text"
    if key in CHOICES and value not in CHOICES[key]:
        return f"{value!r} is not one of {', '.join(CHOICES[key])}"
    return ""
