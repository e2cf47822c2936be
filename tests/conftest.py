"""Shared fixtures: every test gets its own library and model cache; models are tiny open_clip configs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# A tiny open_clip architecture: real towers and tokenizer, small widths, random weights (seed 0).
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Never touch the user's real library, model cache or Qt settings."""
    home = tmp_path_factory.mktemp("photoclip-home")
    monkeypatch.setenv("PHOTOCLIP_HOME", str(home / "library"))
    monkeypatch.setenv("PHOTOCLIP_MODELS", str(home / "models"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    yield home


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("model") / "tiny.json"
    path.write_text(json.dumps(TINY_CONFIG))
    return str(path)


@pytest.fixture
def make_library(tmp_path, tiny_config):
    """Library factory with the tiny random model; libraries are closed at the end."""
    from photoclip.core.library import Library

    opened = []

    def make(root=None, **kwargs):
        kwargs.setdefault("model", tiny_config)
        kwargs.setdefault("pretrained", "random")
        kwargs.setdefault("device", "cpu")
        lib = Library(root or tmp_path / "lib", **kwargs)
        opened.append(lib)
        return lib

    yield make
    for lib in opened:
        lib.close()


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


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    """A folder of 12 distinct small photos in two subfolders."""
    root = tmp_path / "photos"
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (220, 220, 40), (20, 20, 20), (250, 250, 250)]
    for i, colour in enumerate(colours):
        draw_photo(root / "a" / f"img{i}.jpg", colour, shape="circle")
        draw_photo(root / "b" / f"img{i}.png", colour, shape="square", bg=(30 * i, 100, 160))
    return root
