"""A corpus of hostile and unusual files, generated (nothing binary is checked in): each kind of
file photoclip must either index or list as a problem with a reason, without hanging, crashing
or writing to it. Used by tests/test_corpus.py (index, watch) and the fuzz test's seeds."""

from __future__ import annotations

import io
import os
import socket
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from PIL import Image, features


@dataclass(frozen=True)
class Case:
    """One file of the corpus: ``word`` None means it must be indexed, else it must be listed as
    a problem whose reason contains ``word`` (case-insensitive)."""

    name: str
    word: Optional[str]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int, colour_type: int = 2, idat: bytes = b"\x00" * 64) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(idat))
            + png_chunk(b"IEND", b""))


def picture(size=(96, 72), seed: int = 0) -> Image.Image:
    """A small RGB picture with some structure (so codecs have something to compress)."""
    rng = np.random.default_rng(seed)
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[..., 0] = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :]
    a[..., 1] = np.linspace(255, 0, size[1], dtype=np.uint8)[:, None]
    a[..., 2] = rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8)
    return Image.fromarray(a, "RGB")


def noise(n: int, seed: int) -> bytes:
    """``n`` random bytes, the same every run."""
    return np.random.default_rng(seed).bytes(n)


def encoded(img: Image.Image, fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def _exif_with(tag: int, type_: int, count: int, value: int) -> bytes:
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", tag, type_, count, value) + struct.pack("<I", 0)
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd


def build(root: Path, *, as_root: Optional[bool] = None) -> dict[str, Case]:
    """Writes the corpus into ``root`` (created); returns path -> Case. Kinds that cannot be made
    here (an unreadable file when running as root, WebP without libwebp) are left out."""
    root.mkdir(parents=True, exist_ok=True)
    as_root = (hasattr(os, "geteuid") and os.geteuid() == 0) if as_root is None else as_root
    cases: dict[str, Case] = {}

    def put(name: str | bytes, data: bytes, word: Optional[str]) -> Path:
        path = Path(os.fsdecode(os.path.join(os.fsencode(root), os.fsencode(name))))
        path.write_bytes(data)
        cases[str(path)] = Case(os.fsdecode(name), word)
        return path

    def made(name: str, word: Optional[str], make: Callable[[Path], None]) -> None:
        path = root / name
        make(path)
        cases[str(path)] = Case(name, word)

    pic = picture()
    jpeg = encoded(pic, "JPEG", quality=90)
    png = encoded(pic, "PNG")
    gif = encoded(pic.convert("P"), "GIF")
    tiff = encoded(pic, "TIFF", compression="tiff_lzw")

    # --- good files, some of them odd: indexed --------------------------------------------
    put("plain.jpg", jpeg, None)
    put("plain.png", png, None)
    put("plain.gif", gif, None)
    put("plain.tif", tiff, None)
    put("plain.bmp", encoded(pic, "BMP"), None)
    put("progressive.jpg", encoded(pic, "JPEG", progressive=True, quality=80), None)
    put("UPPER CASE.JPG", encoded(picture(seed=1), "JPEG"), None)
    put("png named.jpg", encoded(picture(seed=2), "PNG"), None)  # the content decides, not the name
    put("trailing garbage.jpg", encoded(picture(seed=3), "JPEG") + noise(500, 1), None)
    put("cmyk.jpg", encoded(Image.new("CMYK", (64, 48), (0, 200, 200, 0)), "JPEG"), None)
    put("grey.jpg", encoded(pic.convert("L"), "JPEG"), None)
    put("sixteen bit.png", encoded(Image.fromarray((np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20)), "PNG"), None)
    put("I mode.tif", encoded(Image.fromarray(np.arange(64 * 48, dtype=np.int32).reshape(48, 64) * 1000), "TIFF"), None)
    put("float.tif", encoded(Image.fromarray(np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)), "TIFF"), None)
    palette = pic.convert("P")
    put("palette transparency.png", encoded(palette, "PNG", transparency=0), None)
    put("LA.png", encoded(pic.convert("LA"), "PNG"), None)
    put("RGBA.png", encoded(pic.convert("RGBA"), "PNG"), None)
    put("one bit.png", encoded(pic.convert("1"), "PNG"), None)
    frames = [picture(seed=i).convert("P") for i in range(3)]
    put("animated.gif", encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0), None)
    put("one pixel.png", encoded(Image.new("RGB", (1, 1), (9, 9, 9)), "PNG"), None)
    put("thin 100000x1.png", png_header_only(100_000, 1, 0, b"\x00" + b"\x80" * 100_000), None)
    put("tall 1x30000.png", png_header_only(1, 30_000, 0, b"\x00\x80" * 30_000), None)
    put("orientation 6.jpg", encoded(picture(seed=4), "JPEG", exif=_exif_with(0x0112, 3, 1, 6)), None)
    put("orientation garbage.jpg", encoded(picture(seed=5), "JPEG", exif=_exif_with(0x0112, 3, 1, 0xFFFF)), None)
    put("exif beyond the data.jpg", encoded(picture(seed=6), "JPEG", exif=_exif_with(0x010F, 2, 1000, 0x1000)), None)
    put("exif not exif.jpg", encoded(picture(seed=7), "JPEG", exif=b"Exif\x00\x00" + noise(64, 2)), None)
    put("new\nline.jpg", encoded(picture(seed=8), "JPEG"), None)
    put(b"latin-1 caf\xe9.jpg", encoded(picture(seed=9), "JPEG"), None)
    put("l" * 240 + ".jpg", encoded(picture(seed=10), "JPEG"), None)  # near NAME_MAX (255 bytes)
    put("ünïcödé フォト.png", encoded(picture(seed=11), "PNG"), None)
    if features.check("webp"):
        put("plain.webp", encoded(picture(seed=12), "WEBP", quality=80), None)
    os.symlink("plain.jpg", root / "link to plain.jpg")
    cases[str(root / "link to plain.jpg")] = Case("link to plain.jpg", None)

    # --- damaged, hostile or not images at all: problems ------------------------------------
    put("truncated.jpg", jpeg[: len(jpeg) // 2], "truncated")
    put("truncated.png", png[: len(png) // 2], "truncated")
    put("truncated.gif", gif[: len(gif) // 2], "truncated")
    put("truncated.tif", tiff[: len(tiff) // 3], "not an image")  # its directory is at the end
    if features.check("webp"):
        webp = encoded(picture(seed=13), "WEBP", quality=80)
        put("truncated.webp", webp[: len(webp) // 2], "truncated")
    put("header only.jpg", jpeg[:200], "truncated")
    put("empty.jpg", b"", "empty")
    put("empty.png", b"", "empty")
    put("notes.jpg", b"these are my holiday notes, not a photo\n" * 20, "not an image")
    put("random.png", noise(3000, 3), "not an image")
    put("html.gif", b"<!doctype html><html><body>404 Not Found</body></html>", "not an image")
    put("heic garbage.heic", b"\x00\x00\x00\x18ftypheic" + noise(200, 4), "")  # HEIC support or not
    put("huge dimensions.png", png_header_only(60_000, 60_000), "too large")
    put("bomb header.png", png_header_only(10_000, 10_000), "truncated")  # 100 MP claimed, nothing there
    put("zero width.png", png_header_only(0, 10), "not an image")
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xFF  # inside IHDR's CRC
    put("bad crc.png", bytes(bad_crc), "not an image")
    zbomb = zlib.compress(b"\x00" * (64 << 20), 9)  # a 64 MB text chunk in a few KB
    put("text chunk bomb.png", png[:33] + png_chunk(b"zTXt", b"k\x00\x00" + zbomb) + png[33:], "too large")
    put("corrupt middle.jpg", jpeg[: len(jpeg) // 3] + noise(len(jpeg) // 3, 5) + jpeg[-len(jpeg) // 3:], "corrupt")
    put("bmp huge.bmp", b"BM" + struct.pack("<IHHI", 1000, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 70000, 70000, 1, 24, 0, 0, 0, 0, 0, 0), "too large")
    os.mkfifo(root / "fifo.jpg")
    cases[str(root / "fifo.jpg")] = Case("fifo.jpg", "FIFO")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(root / "socket.png"))
        cases[str(root / "socket.png")] = Case("socket.png", "socket")
    finally:
        sock.close()
    os.symlink("/dev/zero", root / "device.jpg")
    cases[str(root / "device.jpg")] = Case("device.jpg", "device")
    os.symlink("nowhere.jpg", root / "dangling.jpg")
    cases[str(root / "dangling.jpg")] = Case("dangling.jpg", "dangling")
    os.symlink("loop b.jpg", root / "loop a.jpg")
    os.symlink("loop a.jpg", root / "loop b.jpg")
    cases[str(root / "loop a.jpg")] = Case("loop a.jpg", "symbolic links")
    cases[str(root / "loop b.jpg")] = Case("loop b.jpg", "symbolic links")
    if not as_root:  # root reads anything
        locked = put("unreadable.jpg", jpeg, "permission denied")
        os.chmod(locked, 0)
    return cases


def restore_permissions(root: Path) -> None:
    """Makes the corpus removable again (the unreadable file)."""
    locked = root / "unreadable.jpg"
    if locked.exists() and not locked.is_symlink():
        os.chmod(locked, 0o644)
