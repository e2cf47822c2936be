"""Shared fixtures: every test gets its own library and model cache; models are tiny open_clip configs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from helpers import TINY_CONFIG, draw_photo  # noqa: F401 (draw_photo re-exported)


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):
    """The tiny CLIP's training (minutes, once) reports its progress on the terminal, past the
    output capture, so a first run never sits silent."""
    import sys

    import tinyclip

    capture = config.pluginmanager.getplugin("capturemanager")

    def say(text: str) -> None:
        with capture.global_and_fixture_disabled() if capture is not None else open(os.devnull):
            sys.stderr.write(f"\n[tiny CLIP] {text}")
            sys.stderr.flush()

    tinyclip.SAY = say


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


@pytest.fixture(scope="session")
def trained_clip() -> tuple[str, str]:
    """(config, weights) of the tests' tiny CLIP trained on coloured shapes (tests/tinyclip.py:
    trained once per session, then cached): for tests that check meaning."""
    import tinyclip

    config, weights = tinyclip.get_trained_model()
    return str(config), str(weights)


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


@pytest.fixture
def tagged_library(make_library, photo_folder):
    """photo_folder indexed by a library with a single-mode "shapes" set (circle, square): every
    photo has one auto-tag to confirm, reject or write out."""
    from photoclip.core.tagging import TagSet

    lib = make_library()
    lib.save_tag_set(TagSet("shapes", ["circle", "square"], "single"))
    lib.index([str(photo_folder)])
    return lib, photo_folder


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    """A folder of 12 distinct small photos in two subfolders."""
    root = tmp_path / "photos"
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (220, 220, 40), (20, 20, 20), (250, 250, 250)]
    for i, colour in enumerate(colours):
        draw_photo(root / "a" / f"img{i}.jpg", colour, shape="circle")
        draw_photo(root / "b" / f"img{i}.png", colour, shape="square", bg=(30 * i, 100, 160))
    return root


@pytest.fixture
def trash_dir(monkeypatch) -> Path:
    """The platform trash, inside this test's XDG_DATA_HOME. send2trash's freedesktop trash reads
    XDG_DATA_HOME when it is imported, so its copy is pointed at this test's (a subprocess reads
    the environment itself)."""
    if sys.platform in ("darwin", "win32"):
        pytest.skip("the platform trash is not a freedesktop one")
    data = Path(os.environ["XDG_DATA_HOME"])
    data.mkdir(parents=True, exist_ok=True)
    try:
        import send2trash
        from send2trash import plat_other
    except ImportError:  # macOS / Windows: no freedesktop trash to redirect
        pytest.skip("the platform trash is not a freedesktop one")
    if os.stat(data).st_dev != os.stat(os.path.expanduser("~")).st_dev:
        pytest.skip("the test's trash is on another drive than home (send2trash would use that drive's trash)")
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(data))
    monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(data / "Trash"))
    monkeypatch.setattr(plat_other, "HOMETRASH", str(data / "Trash"))
    monkeypatch.setattr(send2trash, "send2trash", plat_other.send2trash)  # not GIO's, where it is there
    return data / "Trash"
