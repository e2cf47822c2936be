"""Can the desktop app open a window here? Checked before Qt is loaded, because Qt aborts the
process (SIGABRT, exit 134) with a hint that names the wrong package when it cannot.

Qt-free. ``display_problem()`` returns a message for the user, or None when a window can open.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from typing import Callable, Mapping, Optional

#: Libraries Qt's xcb platform plugin loads, with the Debian/Ubuntu and Fedora packages that hold them.
XCB_LIBRARIES: tuple[tuple[str, str, str], ...] = (
    ("xcb-cursor", "libxcb-cursor0", "xcb-util-cursor"),
    ("xcb-icccm", "libxcb-icccm4", "xcb-util-wm"),
    ("xcb-keysyms", "libxcb-keysyms1", "xcb-util-keysyms"),
    ("xcb-image", "libxcb-image0", "xcb-util-image"),
    ("xcb-render-util", "libxcb-render-util0", "xcb-util-renderutil"),
    ("xcb-shape", "libxcb-shape0", "libxcb"),
    ("xcb-xkb", "libxcb-xkb1", "libxcb"),
    ("xkbcommon-x11", "libxkbcommon-x11-0", "libxkbcommon-x11"),
)

NO_DISPLAY = ("photoclip: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the "
              "desktop app cannot open a window here.\n"
              "The command line works without one: photoclip --help")


def missing_xcb_libraries(find: Callable[[str], Optional[str]] = ctypes.util.find_library) -> list[tuple[str, str, str]]:
    return [entry for entry in XCB_LIBRARIES if not find(entry[0])]


def display_problem(env: Mapping[str, str] = os.environ, platform: str = sys.platform,
                    find: Callable[[str], Optional[str]] = ctypes.util.find_library) -> Optional[str]:
    """Why the app cannot open a window on this Linux desktop, or None (other systems: None)."""
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa and qpa not in ("xcb", "wayland"):
        return None  # offscreen, vnc, eglfs...: the user chose a platform that needs no desktop
    wants_xcb = qpa == "xcb" or (not qpa and not env.get("WAYLAND_DISPLAY"))
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return NO_DISPLAY
    if not wants_xcb:
        return None
    missing = missing_xcb_libraries(find)
    if not missing:
        return None
    debian = " ".join(dict.fromkeys(m[1] for m in missing))
    fedora = " ".join(dict.fromkeys(m[2] for m in missing))
    names = ", ".join(f"lib{m[0]}" for m in missing)
    return (f"photoclip: the desktop app needs system libraries that are not installed: {names}.\n"
            f"  Debian/Ubuntu:  sudo apt install {debian}\n"
            f"  Fedora:         sudo dnf install {fedora}\n"
            "The command line works without them: photoclip --help")
