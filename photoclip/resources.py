"""Locate photoclip's bundled resource files (icons, default tag sets, stylesheet, .desktop).

Qt-free, so the CLI, the core and the tests can use it. The resources live in the top-level
``resources/`` folder of the source tree and are found, in this order, in:

1. a PyInstaller bundle: ``sys._MEIPASS/resources`` (``packaging/photoclip.spec`` puts them there);
2. a source checkout or editable install: ``<repo>/resources`` next to the ``photoclip`` package;
3. an installed wheel: ``photoclip/_resources`` inside the package (pyproject.toml maps the
   top-level ``resources/`` folder to the package ``photoclip._resources``).

``PHOTOCLIP_RESOURCES`` overrides all three (a directory laid out like ``resources/``).
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("photoclip.resources")

#: Reverse-DNS application id: names the .desktop file, the metainfo file and the themed icon.
APP_ID = "io.github.photoclip.Photoclip"
#: Pixel sizes of the rendered PNG icons in resources/icons/png/.
ICON_SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256, 512)

_MARKER = "tagsets"  # a directory only counts as the resources folder if it holds this


class ResourceNotFound(FileNotFoundError):
    """A resource file that should ship with photoclip is missing (a broken install)."""


def _is_resource_dir(path: Path) -> bool:
    return (path / _MARKER).is_dir()


def _candidates() -> list[Path]:
    found: list[Path] = []
    override = os.environ.get("PHOTOCLIP_RESOURCES")
    if override:
        found.append(Path(override))
    meipass = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and meipass:
        found.append(Path(meipass) / "resources")
    package_dir = Path(__file__).resolve().parent
    # Only a source tree (it has pyproject.toml) counts: an installed photoclip must not pick up
    # some other distribution's top-level "resources" folder in site-packages.
    if (package_dir.parent / "pyproject.toml").is_file():
        found.append(package_dir.parent / "resources")
    try:
        packaged = importlib.resources.files("photoclip") / "_resources"
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - photoclip not importable as package
        packaged = None
    if isinstance(packaged, Path):
        found.append(packaged)
    else:
        found.append(package_dir / "_resources")
    return found


@functools.cache
def resource_dir() -> Path:
    """The directory holding photoclip's resources (see the module docstring for the search order)."""
    candidates = _candidates()
    for candidate in candidates:
        if _is_resource_dir(candidate):
            log.debug("resources in %s", candidate)
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ResourceNotFound(f"photoclip's resource files are missing (looked in {tried}); reinstall photoclip")


def resource_path(*parts: str) -> Path:
    """Path of a file or folder under the resources directory, e.g. ``resource_path("style", "photoclip.qss")``.

    The path is returned whether or not it exists; the resources directory itself must exist.
    """
    return resource_dir().joinpath(*parts)


def icon_path(size: int | None = None) -> Path:
    """The app icon: the scalable SVG when ``size`` is None, else the PNG rendered at the
    smallest shipped size >= ``size`` (the largest one if ``size`` is bigger than all)."""
    if size is None:
        path = resource_path("icons", "photoclip.svg")
    else:
        if size <= 0:
            raise ValueError(f"icon size must be positive, got {size}")
        chosen = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
        path = resource_path("icons", "png", f"photoclip-{chosen}.png")
    if not path.is_file():
        raise ResourceNotFound(f"icon file is missing: {path}")
    return path


def icon_paths() -> dict[int, Path]:
    """All rendered PNG icons by pixel size (for building a multi-size QIcon)."""
    return {size: icon_path(size) for size in ICON_SIZES}


def default_tagset_files() -> list[Path]:
    """The default tag-set TOML files, sorted by file name."""
    return sorted(resource_path("tagsets").glob("*.toml"))


def stylesheet_path() -> Path:
    """The Qt stylesheet applied on top of the platform style."""
    path = resource_path("style", "photoclip.qss")
    if not path.is_file():
        raise ResourceNotFound(f"stylesheet is missing: {path}")
    return path


def desktop_file_path() -> Path:
    """The Linux .desktop entry template."""
    return resource_path("linux", f"{APP_ID}.desktop")


def metainfo_path() -> Path:
    """The AppStream metainfo file."""
    return resource_path("linux", f"{APP_ID}.metainfo.xml")
