"""Packaging: desktop entry and AppStream metadata, the wheel's contents, the PyInstaller inputs,
and that the committed icon renders match their SVG source."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

import photoclip
from photoclip import resources

REPO = Path(__file__).resolve().parent.parent
LINUX = REPO / "resources" / "linux"
APP_ID = resources.APP_ID
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"


def _desktop_fields(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert lines[0] == "[Desktop Entry]"
    assert not any(line.startswith("[") for line in lines[1:]), "no extra groups (actions) expected"
    keys = [line.split("=", 1)[0] for line in lines[1:]]
    assert len(keys) == len(set(keys)), "duplicate keys"
    return dict(line.split("=", 1) for line in lines[1:])


# --- .desktop -------------------------------------------------------------------------------


def test_desktop_entry_fields():
    f = _desktop_fields(DESKTOP)
    assert f["Type"] == "Application"
    assert f["Name"] == "photoclip"
    # %F: "Open with photoclip" hands over photo files; photoclip PHOTO opens the app on them
    assert f["Exec"] == "photoclip %F"
    mimes = f["MimeType"].split(";")
    assert mimes[-1] == "" and {"image/jpeg", "image/png", "image/heic"} <= set(mimes)
    assert f["Icon"] == APP_ID  # themed icon name, installed by photoclip.desktop
    assert f["Terminal"] == "false"
    categories = f["Categories"].split(";")
    assert categories[-1] == "", "lists end with ';'"
    assert {"Graphics", "Photography"} <= set(categories)
    assert f["Keywords"].endswith(";") and "photo" in f["Keywords"].split(";")
    assert f["Comment"] and f["GenericName"]


def test_desktop_entry_matches_the_console_script():
    """The .desktop Exec runs the launcher pyproject.toml installs."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "photoclip" in project["scripts"]
    assert project["scripts"]["photoclip"] == "photoclip.__main__:main"
    assert "photoclip-gui" in project.get("gui-scripts", {}), "Windows needs a console-less launcher"


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-validate not installed")
def test_desktop_file_validate():
    res = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not res.stdout.strip(), res.stdout  # no warnings or hints either


# --- AppStream ------------------------------------------------------------------------------


def test_metainfo_content():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable[@type='desktop-id']").text == DESKTOP.name
    assert root.findtext("metadata_license") == "CC0-1.0"
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    license_ = project.get("license")
    if isinstance(license_, dict) and "text" in license_:
        assert root.findtext("project_license") == license_["text"]
    releases = [r.get("version") for r in root.iter("release")]
    assert photoclip.__version__ in releases, "add a <release> for the current version"
    assert root.find("icon").text == APP_ID
    assert root.find("provides/binary").text == "photoclip"
    assert root.findtext("summary") and len(root.findtext("summary")) <= 80


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstreamcli not installed")
def test_appstreamcli_validate():
    res = subprocess.run(["appstreamcli", "validate", "--no-net", "--explain", str(METAINFO)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    # Only "I:" (info) lines are tolerated, no warnings ("W:") or errors ("E:").
    assert not re.search(r"^[WE]:", res.stdout, flags=re.M), res.stdout


# --- icons are in sync with their source ----------------------------------------------------


@pytest.mark.parametrize("size", [16, 32, 256])
def test_committed_pngs_match_the_svg(tmp_path, monkeypatch, size):
    """A changed SVG needs `python packaging/render_icons.py`; a stale PNG fails here."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    pytest.importorskip("PySide6.QtSvg")
    from PIL import Image, ImageChops
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(REPO / "packaging"))
    try:
        import render_icons
    finally:
        sys.path.remove(str(REPO / "packaging"))
    # A QApplication (not QGuiApplication): the process's one Qt application must serve widget tests too.
    _app = QApplication.instance() or QApplication([])
    svg = REPO / "resources" / "icons" / "photoclip.svg"
    hinted = svg.with_name(f"photoclip-{size}.svg")
    out = tmp_path / "icon.png"
    render_icons.render_png(hinted if hinted.exists() else svg, size, out)
    with Image.open(out) as fresh, Image.open(resources.icon_path(size)) as committed:
        diff = ImageChops.difference(fresh.convert("RGBA"), committed.convert("RGBA"))
        assert max(hi for _lo, hi in diff.getextrema()) <= 8


# --- wheel ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    # Build from a copy so no build/ or egg-info lands in the shared checkout.
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "setup.py", "setup.cfg"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "photoclip", src / "photoclip", ignore=ignore)
    shutil.copytree(REPO / "resources", src / "resources", ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(src), "-w", str(out)],
        capture_output=True, text=True, env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    assert res.returncode == 0, res.stdout + res.stderr
    (whl,) = out.glob("photoclip-*.whl")
    with zipfile.ZipFile(whl) as zf:
        yield zf


def test_wheel_ships_the_resources_inside_the_package(wheel):
    names = set(wheel.namelist())
    shipped = sorted(
        p.relative_to(REPO / "resources").as_posix()
        for p in (REPO / "resources").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    missing = [f for f in shipped if f"photoclip/_resources/{f}" not in names]
    assert not missing, (
        "pyproject.toml must map resources/ into the wheel as photoclip/_resources "
        f"(see packaging/README.md); missing: {missing[:5]}"
    )


def test_wheel_ships_every_photoclip_module(wheel):
    names = set(wheel.namelist())
    modules = sorted(
        p.relative_to(REPO).as_posix() for p in (REPO / "photoclip").rglob("*.py") if "__pycache__" not in p.parts
    )
    missing = [m for m in modules if m not in names]
    assert not missing, f"modules missing from the wheel (a package without __init__.py, or not listed): {missing}"


def test_wheel_entry_points(wheel):
    (ep,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(ep).decode()
    assert re.search(r"^\[console_scripts\]\s*$", text, flags=re.M)
    assert re.search(r"^photoclip = photoclip.__main__:main$", text, flags=re.M)
    assert re.search(r"^\[gui_scripts\]\s*$", text, flags=re.M)
    assert re.search(r"^photoclip-gui = photoclip.__main__:gui_main$", text, flags=re.M)


# --- PyInstaller inputs ---------------------------------------------------------------------


def test_pyinstaller_spec_inputs_exist():
    spec = (REPO / "packaging" / "photoclip.spec").read_text(encoding="utf-8")
    compile(spec, "photoclip.spec", "exec")
    for script in re.findall(r'PACKAGING / "([^"]+\.py)"', spec):
        assert (REPO / "packaging" / script).is_file(), script
    for needed in ('collect_data_files("open_clip")', '"resources"', '"hnswlib"', "PySide6.QtSvg",
                   '"pillow_heif"', "photoclip.ico", "photoclip.icns"):
        assert needed in spec, needed
    for icon in ("photoclip.ico", "photoclip.icns"):
        assert (REPO / "resources" / "icons" / icon).is_file()


def test_launchers_call_the_real_entry_points():
    from photoclip import __main__ as entry

    console = (REPO / "packaging" / "launcher.py").read_text(encoding="utf-8")
    gui = (REPO / "packaging" / "launcher_gui.py").read_text(encoding="utf-8")
    assert "from photoclip.__main__ import main" in console and callable(entry.main)
    assert "from photoclip.__main__ import gui_main" in gui and callable(entry.gui_main)


@pytest.mark.skipif(not shutil.which("bash"), reason="bash not installed")
def test_build_script_is_valid_bash():
    script = REPO / "packaging" / "build.sh"
    assert os.access(script, os.X_OK)
    res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
