"""Walk library folders and diff what is on disk against the catalog (stat only, no decoding)."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional

from .images import NotARegularFile, is_image_path, open_regular, special_file_kind

log = logging.getLogger("photoclip.scanner")

FINGERPRINT_BLOCK = 64 * 1024
DANGLING_LINK = "dangling symbolic link (its target does not exist)"


@dataclass(frozen=True)
class FileState:
    path: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    new: list[FileState] = field(default_factory=list)
    changed: list[FileState] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    unchanged: int = 0
    folder_problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def fingerprint(path: str, size: Optional[int] = None) -> str:
    """Content identity that survives renames: size + BLAKE2b of the first and last 64 KiB."""
    with open_regular(path) as f:  # never blocks on a FIFO or a device
        if size is None:
            size = os.fstat(f.fileno()).st_size
        h = hashlib.blake2b(digest_size=16)
        h.update(size.to_bytes(8, "little"))
        h.update(f.read(FINGERPRINT_BLOCK))
        if size > 2 * FINGERPRINT_BLOCK:
            f.seek(size - FINGERPRINT_BLOCK)
            h.update(f.read(FINGERPRINT_BLOCK))
        elif size > FINGERPRINT_BLOCK:
            h.update(f.read())
    return f"{size:x}-{h.hexdigest()}"


#: files beside photos that are not photos and need no mention (sidecars, camera and app metadata)
NOT_PHOTOS = frozenset({".xmp", ".json", ".txt", ".ini", ".db", ".thm", ".aae", ".pp3", ".dop", ".xml",
                        ".md5", ".log", ".nfo", ".url", ".lnk", ".ds_store", ".pdf", ".html", ".htm"})


def walk_images(root: str, on_problem: Callable[[str, str], None],
                cancelled: Callable[[], bool] = lambda: False,
                on_unsupported: Optional[Callable[[str], None]] = None,
                on_sidecar: Optional[Callable[[str, int], None]] = None) -> Iterator[FileState]:
    """Every image file below root (symlinked folders followed once; loops and unreadable folders
    reported). ``on_unsupported(extension)`` hears of every other file that photoclip cannot show
    (a .psd, a video), sidecars and metadata files aside; ``on_sidecar(path, mtime_ns)`` of every
    XMP sidecar."""
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        if cancelled():
            return
        folder = stack.pop()
        try:
            st = os.stat(folder)
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                continue  # a symlink loop or a folder reached twice
            seen_dirs.add(key)
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            if folder != root:
                on_problem(folder, "folder disappeared during the scan")
            continue
        except PermissionError:
            on_problem(folder, "folder cannot be read (permission denied)")
            continue
        except OSError as exc:
            on_problem(folder, f"folder cannot be read ({exc.strerror or exc})")
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue  # hidden files and folders (.thumbnails, .Trash, ...)
            try:
                if entry.is_dir(follow_symlinks=True):
                    subdirs.append(entry.path)
                    continue
                if not is_image_path(name):
                    ext = os.path.splitext(name)[1].lower()
                    if ext == ".xmp":
                        if on_sidecar is not None:
                            on_sidecar(entry.path, entry.stat(follow_symlinks=True).st_mtime_ns)
                    elif on_unsupported is not None and ext not in NOT_PHOTOS:
                        on_unsupported(ext or "(no extension)")
                    continue
                st = entry.stat(follow_symlinks=True)
                kind = special_file_kind(st.st_mode)
                if kind is not None:
                    on_problem(entry.path, str(NotARegularFile(kind)))
                    continue
            except FileNotFoundError:
                if entry.is_symlink() and not os.path.lexists(os.path.realpath(entry.path)):
                    on_problem(entry.path, DANGLING_LINK)
                continue  # else removed while we looked
            except OSError as exc:
                on_problem(entry.path, f"cannot be read ({exc.strerror or exc})")
                continue
            yield FileState(entry.path, st.st_size, st.st_mtime_ns)
        stack.extend(sorted(subdirs, reverse=True))


def sidecar_changes(sidecars: dict[str, int], read_with: dict[str, int], photos: Iterable[str]) -> list[str]:
    """The photos among ``photos`` whose XMP sidecars are not what their metadata was read with:
    ``sidecars`` (path -> mtime_ns, found by the walk) against ``read_with`` (photo -> the newest
    sidecar time when it was read; photos that had none are not in it). A sidecar added, edited
    or removed since counts. ``photo.jpg.xmp`` (darktable) belongs to ``photo.jpg``,
    ``photo.xmp`` (Lightroom) to every photo named ``photo.*`` beside it."""
    if not sidecars and not read_with:
        return []
    photos = list(photos)
    by_stem: dict[str, list[str]] = {}
    for path in photos:
        by_stem.setdefault(os.path.splitext(path)[0], []).append(path)
    present = set(photos)
    expected: dict[str, int] = {}
    for sidecar, mtime in sidecars.items():
        base = sidecar[:-4]  # less ".xmp"
        owners = ([base] if base in present else []) + by_stem.get(base, [])
        for photo in owners:
            if mtime > expected.get(photo, -1):
                expected[photo] = mtime
    changed = [p for p, m in expected.items() if read_with.get(p) != m]
    changed += [p for p in read_with if p not in expected and p in present]
    return changed


def diff(on_disk: Iterator[FileState], known: dict[str, tuple[int, int]]) -> ScanResult:
    """Compare a walk with the catalog's (size, mtime) for the same folder."""
    result = ScanResult()
    seen: set[str] = set()
    for state in on_disk:
        seen.add(state.path)
        old = known.get(state.path)
        if old is None:
            result.new.append(state)
        elif old != (state.size, state.mtime_ns):
            result.changed.append(state)
        else:
            result.unchanged += 1
    result.gone = [p for p in known if p not in seen]
    return result
