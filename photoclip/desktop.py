"""Linux desktop integration for pip installs: install the .desktop entry, icons and metainfo
into the user's XDG data directory, so photoclip shows up in the application menu.

Qt-free. Used by ``photoclip --install-desktop-entry`` / ``--uninstall-desktop-entry``.
Writes only below the data directory (``$XDG_DATA_HOME``, default ``~/.local/share``)::

    applications/io.github.photoclip.Photoclip.desktop
    icons/hicolor/<N>x<N>/apps/io.github.photoclip.Photoclip.png   (every shipped size)
    icons/hicolor/scalable/apps/io.github.photoclip.Photoclip.svg
    metainfo/io.github.photoclip.Photoclip.metainfo.xml
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from photoclip import resources
from photoclip.core.errors import PhotoclipError

log = logging.getLogger("photoclip.desktop")

APP_ID = resources.APP_ID
LAUNCHER = "photoclip"

# Characters that force an Exec argument into double quotes (Desktop Entry spec, "The Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
# Inside double quotes these must be backslash-escaped.
_ESCAPE_IN_QUOTES = set('"`$\\')


def data_home(prefix: str | os.PathLike[str] | None = None) -> Path:
    """The XDG data directory to install into: ``prefix``, else ``$XDG_DATA_HOME``, else ``~/.local/share``."""
    if prefix is not None:
        return Path(prefix)
    env = os.environ.get("XDG_DATA_HOME", "")
    # The basedir spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    if env and os.path.isabs(env):
        return Path(env)
    return Path.home() / ".local" / "share"


def quote_exec_arg(arg: str) -> str:
    """Quote one argument for a .desktop ``Exec=`` value (quoting rules, then string escaping)."""
    if arg and not any(c in _RESERVED for c in arg):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + c if c in _ESCAPE_IN_QUOTES else c for c in arg) + '"'
    # '%' starts a field code; a literal one is written '%%'. Then the general string escape
    # (applied before unquoting by readers) doubles every backslash.
    return quoted.replace("%", "%%").replace("\\", "\\\\")


def launch_command() -> list[str]:
    """argv that starts the desktop app from a menu, where PATH may not contain a virtualenv.

    A PyInstaller bundle starts itself; otherwise the ``photoclip`` launcher installed with this
    interpreter (the virtualenv's bin/), then one on PATH, then ``python -m photoclip``.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable]
    scripts = sysconfig.get_path("scripts")
    candidates = []
    if scripts:
        candidates.append(shutil.which(LAUNCHER, path=scripts))
    candidates.append(shutil.which(LAUNCHER))
    for found in candidates:
        if found:
            return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "photoclip"]


def desktop_entry_text(command: list[str] | None = None) -> str:
    """The shipped .desktop entry with ``Exec``/``TryExec`` pointing at ``command``."""
    command = command if command is not None else launch_command()
    template = resources.desktop_file_path().read_text(encoding="utf-8")
    exec_value = " ".join(quote_exec_arg(a) for a in command)
    lines: list[str] = []
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip()
        if key == "TryExec":
            continue
        if key == "Exec":
            # %F: the photos a file manager's "Open with photoclip" hands over (photoclip PHOTO...)
            lines.append(f"Exec={exec_value} %F")
            # TryExec hides the menu entry once the launcher is uninstalled (e.g. venv deleted).
            lines.append(f"TryExec={command[0]}")
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def _targets(data: Path) -> list[tuple[Path, Path | None]]:
    """(destination, source) pairs; source None means the generated .desktop entry."""
    icons = data / "icons" / "hicolor"
    pairs: list[tuple[Path, Path | None]] = [(data / "applications" / f"{APP_ID}.desktop", None)]
    for size, png in resources.icon_paths().items():
        pairs.append((icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png", png))
    pairs.append((icons / "scalable" / "apps" / f"{APP_ID}.svg", resources.icon_path()))
    pairs.append((data / "metainfo" / f"{APP_ID}.metainfo.xml", resources.metainfo_path()))
    return pairs


def _write_atomic(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _refresh_caches(data: Path) -> None:
    """Best effort: tell the desktop about the new entry/icons. Both tools are optional."""
    jobs = [
        ("update-desktop-database", [str(data / "applications")]),
        ("gtk-update-icon-cache", ["--force", "--ignore-theme-index", "--quiet", str(data / "icons" / "hicolor")]),
    ]
    for tool, args in jobs:
        exe = shutil.which(tool)
        if not exe:
            continue
        try:
            subprocess.run([exe, *args], check=False, timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as exc:
            log.debug("%s failed: %s", tool, exc)


def _require_freedesktop() -> None:
    if sys.platform == "win32" or sys.platform == "darwin":
        raise PhotoclipError(
            "Desktop entries are for Linux and other freedesktop.org desktops. On Windows, start "
            "photoclip with 'photoclip-gui' (or pin it from the Scripts folder); on macOS use the "
            "app bundle built by packaging/build.sh."
        )


def install_desktop_entry(prefix: str | os.PathLike[str] | None = None) -> list[str]:
    """Install the menu entry, icons and metainfo below ``prefix`` (default: the XDG data home).

    Returns the written paths. Re-running replaces the files (e.g. after moving the virtualenv).
    Raises PhotoclipError on Windows/macOS or when the files cannot be written.
    """
    _require_freedesktop()
    data = data_home(prefix)
    written: list[str] = []
    try:
        for dest, source in _targets(data):
            payload = desktop_entry_text().encode("utf-8") if source is None else source.read_bytes()
            _write_atomic(dest, payload)
            written.append(str(dest))
    except OSError as exc:
        raise PhotoclipError(f"Cannot install the desktop entry into {data}: {exc.strerror or exc}") from exc
    log.info("installed desktop entry into %s (%d files)", data, len(written))
    _refresh_caches(data)
    return written


def uninstall_desktop_entry(prefix: str | os.PathLike[str] | None = None) -> list[str]:
    """Remove what install_desktop_entry wrote; returns the removed paths."""
    _require_freedesktop()
    data = data_home(prefix)
    removed: list[str] = []
    for dest, _source in _targets(data):
        try:
            dest.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise PhotoclipError(f"Cannot remove {dest}: {exc.strerror or exc}") from exc
        removed.append(str(dest))
    if removed:
        _refresh_caches(data)
    return removed
