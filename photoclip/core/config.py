"""Typed settings, each declared once with its default, stored as JSON in the library folder."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from . import paths

log = logging.getLogger("photoclip.config")

DEFAULT_MODEL = "ViT-B-32-256"
DEFAULT_PRETRAINED = "datacomp_s34b_b86k"

# The curated models offered in the app (label, model, pretrained, approximate download size).
CURATED_MODELS = (
    ("Fast", "ViT-B-32-256", "datacomp_s34b_b86k", "600 MB"),
    ("Balanced", "ViT-B-16", "datacomp_xl_s13b_b90k", "600 MB"),
    ("Best", "ViT-L-14", "datacomp_xl_s13b_b90k", "1.7 GB"),
)


@dataclass
class Settings:
    model: str = DEFAULT_MODEL           # open_clip model name or path of a model-config JSON
    pretrained: str = DEFAULT_PRETRAINED  # pretrained tag, local weights file, or "random"
    device: str = "auto"                 # auto | cpu | cuda | mps
    threads: int = 0                     # torch intra-op threads; 0 = automatic
    image_backend: str = "torch"         # torch | onnxruntime (CPU; needs pip install photoclip[onnx])
    batch_size: int = 0                  # images per model call; 0 = automatic
    decode_workers: int = 0              # image decoding threads; 0 = automatic
    watch: bool = True                   # watch library folders for changes while the app runs
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "Settings":
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("settings file %s unreadable (%s); using defaults", path, exc)
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        try:
            return cls(**values)
        except TypeError:
            return cls()

    def save(self, path: Path) -> None:
        with paths.atomic_write(path, "save settings to", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(self), f, indent=2)
