"""Without a display, or without the libraries Qt's xcb plugin needs, the app says so (not rc 134)."""

from __future__ import annotations

import os
import subprocess
import sys

from photoclip.display import NO_DISPLAY, display_problem


def test_no_display_is_a_message_and_a_clean_exit(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PHOTOCLIP_HOME"] = str(tmp_path / "lib")
    proc = subprocess.run([sys.executable, "-m", "photoclip"], env=env, capture_output=True, text=True, timeout=120)
    if sys.platform.startswith("linux"):
        assert proc.returncode == 2
        assert "no display" in proc.stderr and "photoclip --help" in proc.stderr


def test_missing_xcb_libraries_are_named_with_their_packages():
    present = {"xcb-cursor", "xcb-image", "xcb-render-util", "xcb-shape", "xcb-xkb", "xkbcommon-x11"}
    find = lambda name: f"lib{name}.so" if name in present else None  # noqa: E731
    msg = display_problem({"DISPLAY": ":0"}, "linux", find)
    assert "libxcb-icccm4 libxcb-keysyms1" in msg  # what stock Debian 12 lacks (Qt blames xcb-cursor)
    assert "xcb-util-wm xcb-util-keysyms" in msg and "photoclip --help" in msg
    assert "cursor" not in msg
    assert display_problem({"DISPLAY": ":0"}, "linux", lambda n: "lib.so") is None
    assert display_problem({}, "linux", find) == NO_DISPLAY
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", find) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", find) is None  # Qt picks wayland
    assert display_problem({}, "win32", find) is None and display_problem({}, "darwin", find) is None
