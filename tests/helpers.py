"""Helpers the tests import (a module of its own: tests/gui has a conftest too)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

# A tiny open_clip architecture: real towers and tokenizer, small widths, random weights (seed 0).
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def draw_photo(path: Path, colour=(200, 40, 40), size=(120, 90), shape="circle", bg=(240, 240, 240), **save) -> Path:
    """A small real image file: a coloured shape on a background."""
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)
    w, h = size
    box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
    if shape == "circle":
        d.ellipse(box, fill=colour)
    else:
        d.rectangle(box, fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **save)
    return path


def folder_pixels(embedder, folder: Path):
    """(paths, uint8 pixel batch) of every file under ``folder``, as the indexer hands them to
    ``embedder.encode_images`` (draft-decoded, the model's own resize and crop)."""
    import torch

    from photoclip.core.images import open_image

    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    return paths, torch.stack([embedder.image_tensor(open_image(str(p), min_size=embedder.image_size).image)
                               for p in paths])
