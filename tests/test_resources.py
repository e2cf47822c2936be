"""The shipped resources: default tag sets, icons, stylesheet, and how photoclip finds them."""

from __future__ import annotations

import re
import struct
import sys
import tomllib
from pathlib import Path

import pytest

from photoclip import desktop, resources

REPO = Path(__file__).resolve().parent.parent
RESOURCES = REPO / "resources"


@pytest.fixture(autouse=True)
def _fresh_resource_dir(monkeypatch):
    """resource_dir() is cached; every test starts from a clean lookup without overrides."""
    monkeypatch.delenv("PHOTOCLIP_RESOURCES", raising=False)
    resources.resource_dir.cache_clear()
    yield
    resources.resource_dir.cache_clear()


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


# --- tag sets -----------------------------------------------------------------------------

TAGSET_FILES = sorted((RESOURCES / "tagsets").glob("*.toml"))


def test_default_tagset_files_are_the_shipped_ones():
    names = [p.name for p in resources.default_tagset_files()]
    assert names == [p.name for p in TAGSET_FILES]
    assert {"scenes.toml", "subjects.toml", "documents.toml", "events.toml", "sensitive.toml"} <= set(names)


@pytest.mark.parametrize("path", TAGSET_FILES, ids=lambda p: p.stem)
def test_tagset_file_is_well_formed(path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"tagset"}, "only [[tagset]] tables are allowed at the top level"
    (ts,) = data["tagset"]  # one set per file, named like the file
    assert ts["name"] == path.stem
    assert ts["mode"] in ("single", "multi")
    assert set(ts) <= {"name", "mode", "threshold", "enabled", "labels", "templates"}
    labels = ts["labels"]
    assert len(labels) >= 5
    assert all(isinstance(label, str) and label == label.strip() and label for label in labels)
    lowered = [label.lower() for label in labels]
    assert len(set(lowered)) == len(lowered), "duplicate labels split the probability between them"
    if ts["mode"] == "multi":
        assert 0.0 < ts["threshold"] < 1.0
        # softmax over the set: a threshold above 1/len(labels) is needed or everything passes
        assert ts["threshold"] > 1.0 / len(labels)
    for template in ts.get("templates", []):
        assert template.count("{}") == 1, template
    assert isinstance(ts.get("enabled", True), bool)


def test_only_the_sensitive_set_ships_disabled():
    enabled = {}
    for path in TAGSET_FILES:
        (ts,) = tomllib.loads(path.read_text(encoding="utf-8"))["tagset"]
        enabled[ts["name"]] = ts.get("enabled", True)
    assert enabled.pop("sensitive") is False
    assert all(enabled.values())


def test_tagset_names_are_unique_across_files():
    names = [tomllib.loads(p.read_text(encoding="utf-8"))["tagset"][0]["name"] for p in TAGSET_FILES]
    assert len(names) == len(set(names))


def test_sets_have_a_catch_all_label():
    """Softmax forces every photo into some label; each set needs a 'none of these' label."""
    catch_alls = {
        "scenes": "indoor room",
        "subjects": "scenery",
        "documents": "ordinary photo",
        "events": "everyday moment",
        "sensitive": "clothed person",
    }
    for path in TAGSET_FILES:
        (ts,) = tomllib.loads(path.read_text(encoding="utf-8"))["tagset"]
        if ts["name"] in catch_alls:
            assert catch_alls[ts["name"]] in ts["labels"]


def test_core_tagging_loads_every_default_file():
    tagging = pytest.importorskip("photoclip.core.tagging")
    for path in resources.default_tagset_files():
        (ts,) = tagging.load_tagsets_file(path)
        assert ts.name == path.stem
        assert ts.labels


# --- icons ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", resources.ICON_SIZES)
def test_png_icon_exists_at_its_size(size):
    path = resources.icon_path(size)
    assert path.name == f"photoclip-{size}.png"
    assert _png_size(path) == (size, size)


def test_icon_path_rounds_up_to_the_next_shipped_size():
    assert resources.icon_path(20).name == "photoclip-24.png"
    assert resources.icon_path(1).name == "photoclip-16.png"
    assert resources.icon_path(4096).name == "photoclip-512.png"
    assert resources.icon_path().name == "photoclip.svg"
    with pytest.raises(ValueError):
        resources.icon_path(0)


def test_icon_corners_are_transparent_and_centre_is_opaque():
    """The icon is a rounded tile: it must not be a full opaque square at any size."""
    from PIL import Image

    for size in resources.ICON_SIZES:
        with Image.open(resources.icon_path(size)) as im:
            rgba = im.convert("RGBA")
            assert rgba.getpixel((0, 0))[3] == 0, size
            assert rgba.getpixel((size - 1, size - 1))[3] == 0, size
            assert rgba.getpixel((size // 2, size // 2))[3] == 255, size


def test_ico_and_icns_hold_the_small_and_large_sizes():
    from PIL import Image

    with Image.open(RESOURCES / "icons" / "photoclip.ico") as ico:
        sizes = ico.info["sizes"]
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(sizes)
    with Image.open(RESOURCES / "icons" / "photoclip.icns") as icns:
        assert icns.size == (1024, 1024)  # 512@2x for retina displays


def test_svg_icon_is_svg_tiny_friendly():
    """QtSvg renders SVG Tiny 1.2: clip paths, masks and filters would silently be ignored."""
    for svg in (RESOURCES / "icons").glob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        assert "<svg" in text
        for unsupported in ("clipPath", "clip-path", "<mask", "<filter", "<text"):
            assert unsupported not in text, f"{svg.name} uses {unsupported}"


# --- stylesheet -----------------------------------------------------------------------------

# QPalette roles Qt's stylesheet parser knows; an unknown palette(role) silently becomes black.
_PALETTE_ROLES = {
    "alternate-base", "base", "bright-text", "button", "button-text", "dark", "highlight",
    "highlighted-text", "light", "link", "link-visited", "mid", "midlight", "shadow", "text",
    "window", "window-text", "placeholder-text", "accent",
}


def test_stylesheet_uses_palette_colours_only():
    qss = resources.stylesheet_path().read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", qss, flags=re.S)
    assert css.count("{") == css.count("}")
    roles = set(re.findall(r"palette\(([^)]*)\)", css))
    assert roles, "expected palette() colours"
    assert roles <= _PALETTE_ROLES, roles - _PALETTE_ROLES
    hard_coded = re.findall(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(", css)
    assert not hard_coded, f"hard-coded colours break one of the light/dark palettes: {hard_coded}"


def test_stylesheet_parses_in_qt(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    qtcore = pytest.importorskip("PySide6.QtCore")
    qtwidgets = pytest.importorskip("PySide6.QtWidgets")
    messages: list[str] = []
    previous = qtcore.qInstallMessageHandler(lambda _type, _ctx, msg: messages.append(msg))
    try:
        app = qtwidgets.QApplication.instance() or qtwidgets.QApplication([])
        old = app.styleSheet()
        app.setStyleSheet(resources.stylesheet_path().read_text(encoding="utf-8"))
        try:
            widgets = []
            for cls, name in ((qtwidgets.QListView, "photoGrid"), (qtwidgets.QFrame, "banner"),
                              (qtwidgets.QLabel, "bannerText"), (qtwidgets.QLineEdit, "searchBar"),
                              (qtwidgets.QLabel, "emptyHint"), (qtwidgets.QLabel, "statusCount")):
                w = cls()
                w.setObjectName(name)
                w.resize(120, 40)
                w.grab()  # polishes and paints with the stylesheet
                widgets.append(w)
        finally:
            app.setStyleSheet(old)
            for w in widgets:
                w.deleteLater()
    finally:
        qtcore.qInstallMessageHandler(previous)
    bad = [m for m in messages if "stylesheet" in m.lower() or "unknown property" in m.lower()]
    assert not bad, bad


# --- resource lookup ------------------------------------------------------------------------


def test_resource_path_finds_the_checkout_resources():
    assert resources.resource_dir() == RESOURCES
    assert resources.resource_path("tagsets", "scenes.toml").is_file()
    assert resources.stylesheet_path() == RESOURCES / "style" / "photoclip.qss"
    assert resources.desktop_file_path().is_file()
    assert resources.metainfo_path().is_file()


def test_frozen_bundle_resources_come_first(tmp_path, monkeypatch):
    bundle = tmp_path / "bundle"
    (bundle / "resources" / "tagsets").mkdir(parents=True)
    (bundle / "resources" / "tagsets" / "mine.toml").write_text('[[tagset]]\nname="mine"\nmode="single"\nlabels=["a"]\n')
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert resources.resource_dir() == bundle / "resources"
    assert [p.name for p in resources.default_tagset_files()] == ["mine.toml"]


def test_environment_override(tmp_path, monkeypatch):
    (tmp_path / "tagsets").mkdir()
    monkeypatch.setenv("PHOTOCLIP_RESOURCES", str(tmp_path))
    assert resources.resource_path("x") == tmp_path / "x"


def test_installed_wheel_layout(tmp_path, monkeypatch):
    """A wheel install has no checkout around it: resources come from photoclip/_resources."""
    import shutil

    site = tmp_path / "site-packages"
    pkg = site / "photoclip"
    pkg.mkdir(parents=True)
    shutil.copy(REPO / "photoclip" / "resources.py", pkg / "resources.py")
    (pkg / "__init__.py").write_text("")
    shutil.copytree(RESOURCES, pkg / "_resources")
    # A stray top-level "resources" folder from some other distribution must not be picked up.
    (site / "resources" / "tagsets").mkdir(parents=True)
    script = (
        "import photoclip.resources as r;"
        "print(r.resource_dir());"
        "print(len(r.default_tagset_files()))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(site)},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(pkg / "_resources"), str(len(TAGSET_FILES))]


def test_missing_resources_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_candidates", lambda: [tmp_path / "nope"])
    with pytest.raises(resources.ResourceNotFound, match="reinstall"):
        resources.resource_dir()


# --- desktop entry for pip installs ---------------------------------------------------------


def _read_desktop(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="freedesktop only")
def test_install_desktop_entry_under_xdg_data_home(tmp_path, monkeypatch):
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setattr(desktop, "launch_command", lambda: ["/opt/my apps/bin/photoclip"])
    written = desktop.install_desktop_entry()
    app_id = resources.APP_ID
    entry = data / "applications" / f"{app_id}.desktop"
    assert str(entry) in written
    assert all(Path(p).is_file() and Path(p).is_relative_to(data) for p in written)
    fields = _read_desktop(entry)
    assert fields["Exec"] == '"/opt/my apps/bin/photoclip" %F'  # quoted: the path has a space
    assert fields["TryExec"] == "/opt/my apps/bin/photoclip"
    assert fields["Icon"] == app_id
    for size in resources.ICON_SIZES:
        png = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{app_id}.png"
        assert _png_size(png) == (size, size)
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{app_id}.svg").is_file()
    assert (data / "metainfo" / f"{app_id}.metainfo.xml").is_file()

    import shutil
    import subprocess

    if shutil.which("desktop-file-validate"):
        res = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert res.returncode == 0 and not res.stdout.strip(), res.stdout

    removed = desktop.uninstall_desktop_entry()
    assert sorted(removed) == sorted(written)
    assert not entry.exists()


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="freedesktop only")
def test_install_desktop_entry_explicit_prefix_and_default_launcher(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "not-this-one"))
    written = desktop.install_desktop_entry(tmp_path / "prefix")
    assert written and all(p.startswith(str(tmp_path / "prefix")) for p in written)
    assert not (tmp_path / "not-this-one").exists()
    fields = _read_desktop(tmp_path / "prefix" / "applications" / f"{resources.APP_ID}.desktop")
    # Either the installed launcher or "python -m photoclip", always by absolute path: menus
    # do not run with the virtualenv on PATH.
    first = fields["Exec"].split(" ")[0].strip('"')
    assert Path(first).is_absolute()
    assert fields["Exec"].endswith("photoclip %F")


def test_relative_xdg_data_home_is_ignored(monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    assert desktop.data_home() == Path.home() / ".local" / "share"


@pytest.mark.parametrize(
    "arg, expected",
    [
        ("/usr/bin/photoclip", "/usr/bin/photoclip"),
        ("/home/a b/photoclip", '"/home/a b/photoclip"'),
        ("/x/$HOME", '"/x/\\\\$HOME"'),  # $ escaped inside quotes, then the backslash doubled
        ("50%", "50%%"),
        ("", '""'),
    ],
)
def test_exec_arguments_are_quoted_per_the_spec(arg, expected):
    assert desktop.quote_exec_arg(arg) == expected


def test_desktop_entry_refused_outside_freedesktop(monkeypatch, tmp_path):
    from photoclip.core.errors import PhotoclipError

    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(PhotoclipError, match="Linux"):
        desktop.install_desktop_entry(tmp_path)
