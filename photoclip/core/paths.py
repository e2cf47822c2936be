"""Where photoclip keeps its data. Every path can be overridden by the environment."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

APP_NAME = "photoclip"
HOME_ENV = "PHOTOCLIP_HOME"
MODELS_ENV = "PHOTOCLIP_MODELS"


def library_dir(override: str | os.PathLike | None = None) -> Path:
    """The library folder: an explicit override, else $PHOTOCLIP_HOME, else the user data dir."""
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    """Where downloaded model weights are cached ($PHOTOCLIP_MODELS, or under $PHOTOCLIP_HOME, or the user cache dir)."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env).expanduser().resolve()
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser().resolve() / "models"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "models"


def display_path(path: str) -> str:
    """A path made printable: undecodable bytes shown as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def folder_name(path: str) -> str:
    """How a folder is named to the user: its last component, printable ("/media/cam/DCIM/" ->
    "DCIM"); a root ("/", "D:\\") keeps its whole path."""
    return display_path(os.path.basename(path.rstrip(os.sep)) or path)


@contextmanager
def atomic_write(path: str | os.PathLike, what: str, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Write a file all or nothing (text, or bytes with mode="wb"): a temporary file beside it,
    fsynced, then os.replace. A failure (a full disk, say) leaves the previous file as it was and
    raises StorageError. Two threads writing the same file each write their own temporary file."""
    import threading

    from .errors import StorageError

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise StorageError(f"Could not {what} {path}: {exc.strerror or exc}") from exc
