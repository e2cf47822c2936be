"""Open a photo safely and fast: EXIF orientation, JPEG draft decoding, HEIC, camera RAW, size limits.

Everything here reads files read-only and never writes next to them. Every way a file can
fail to be a usable photo ends in :class:`ImageError` with a reason a user can read.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import logging
import os
import re
import stat
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError, features

from .errors import ImageError, ReadError
from .problems import is_transient

log = logging.getLogger("photoclip.images")

#: Decompression-bomb limit: Pillow's hard limit (twice its default warning limit).
#: Checked against the size in the file's header before any pixel is decoded.
MAX_PIXELS: int = 178_956_970

#: Longest side over shortest side of what :func:`open_image` hands on. The model sees a centred
#: square anyway (open_clip resizes the shorter side, then centre-crops); cropping a 100000 × 1
#: strip to 32 : 1 first keeps that resize from asking for a 25,600,000 × 256 image.
MAX_ASPECT: int = 32

#: Decoded bytes of full-size pixels that the threads sharing one :class:`DecodeBudget` hold at
#: once (a photo larger than this is decoded alone). One 169 MP RGB PNG is 507 MB.
DECODE_BUDGET_BYTES: int = 768 * 1024 * 1024

#: With a target size, an image is reduced (by an integer factor, a box filter) until its shorter
#: side is within this factor of the target; the model's own resize does the rest, as
#: Image.thumbnail(reducing_gap=2.0) does.
REDUCING_GAP: int = 2

_HEIF_EXTENSIONS = frozenset({".heic", ".heif"})

#: Camera RAW files, decoded through rawpy (LibRaw) rather than Pillow.
RAW_EXTENSIONS: frozenset[str] = frozenset({
    ".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".rw2", ".orf", ".pef",
    ".srw", ".rwl", ".3fr", ".iiq", ".x3f",
})

#: Modules that add a JPEG XL opener to Pillow when imported (Pillow itself has none so far).
_JXL_PLUGINS = ("pillow_jxl", "jxlpy")


def _jxl_plugin() -> str | None:
    """The installed JPEG XL plugin's module name (found, not imported), else None."""
    import importlib.util

    for name in _JXL_PLUGINS:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):  # a broken install: leave JPEG XL out
            continue
    return None


def _supported_extensions() -> frozenset[str]:
    """The still formats this machine's Pillow (and its plugins) decodes, HEIF and camera RAW."""
    exts = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
            ".pnm", ".pbm", ".pgm", ".ppm", ".tga"}
    exts |= _HEIF_EXTENSIONS | RAW_EXTENSIONS
    try:
        if features.check("avif"):
            exts.add(".avif")
        if features.check_codec("jpg_2000"):  # Pillow built with OpenJPEG
            exts |= {".jp2", ".j2k", ".jpf", ".jpx", ".j2c", ".jpc"}
    except Exception:  # an odd Pillow build: just leave those out
        pass
    if "jxl" in features.modules or _jxl_plugin() is not None:
        exts.add(".jxl")
    return frozenset(exts)


#: Lower-case extensions, with the dot, of the files photoclip treats as photos: every still
#: format decoded on this machine (checked once, at import). The one list; everything else
#: (scanner, watcher, search bar) asks :func:`is_image_path`.
IMAGE_EXTENSIONS: frozenset[str] = _supported_extensions()

# EXIF tags
_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 306
_TAG_DATETIME_ORIGINAL = 36867
_IFD_EXIF = 0x8769

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Exceptions Pillow raises for files whose data is damaged (or that a plugin cannot parse).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error, zlib.error)

#: Pillow allocates an image in blocks (16 MB by default). glibc serves blocks that small from a
#: per-thread heap and keeps them after they are freed, so four decode threads each kept a full
#: 169 MP photo's worth (2.2 GB for 4 threads instead of 0.7). Blocks over 32 MB are always
#: mapped and unmapped on their own (glibc's largest mmap threshold), so a freed photo is
#: returned at once; images smaller than a block are allocated as before.
_PILLOW_BLOCK_SIZE = 64 * 1024 * 1024


def _use_large_blocks() -> None:
    core = Image.core
    try:
        if core.get_block_size() < _PILLOW_BLOCK_SIZE:
            core.set_block_size(_PILLOW_BLOCK_SIZE)
    except (AttributeError, ValueError):  # another Pillow: keep its allocator as it is
        log.debug("could not set Pillow's block size", exc_info=True)


_use_large_blocks()

#: The file this thread is reading, named in the log with the warnings Pillow gives about it.
_reading = threading.local()
_PIL_DIR = os.path.dirname(os.path.abspath(Image.__file__)) + os.sep


def _route_pil_warnings() -> None:
    """Pillow's own warnings (Corrupt EXIF data, DecompressionBombWarning, ...) go to this
    module's log, with the file they are about, instead of raw to the terminal. Other warnings
    are shown as before. (A hook on ``warnings.showwarning``, not ``catch_warnings``, which is
    not safe with several decode threads.)"""
    previous = warnings.showwarning
    if getattr(previous, "photoclip_routes_pil", False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, Image.DecompressionBombWarning) or _is_pil_file(filename):
            path = getattr(_reading, "path", None)
            log.info("%s%s: %s", f"{path}: " if path else "", category.__name__, message)
            return
        previous(message, category, filename, lineno, file, line)

    showwarning.photoclip_routes_pil = True
    warnings.showwarning = showwarning


def _is_pil_file(filename: str) -> bool:
    try:
        path = os.path.abspath(filename)
    except (TypeError, ValueError):
        return False
    return path.startswith(_PIL_DIR) or path == os.path.abspath(__file__)  # Pillow's stacklevel=2 lands here


_route_pil_warnings()

_heif_lock = threading.Lock()
_heif_available: bool | None = None
_jxl_registered = False


@dataclass
class LoadedImage:
    """A decoded photo ready for the model."""

    image: Image.Image
    """RGB, oriented upright (possibly draft-reduced, see :func:`open_image`)."""
    width: int
    """Full-resolution width after orientation (not the draft's)."""
    height: int
    """Full-resolution height after orientation (not the draft's)."""
    taken_at: str | None
    """EXIF DateTimeOriginal (else DateTime) as ``YYYY-MM-DDTHH:MM:SS``, else None."""


def is_image_path(path: str) -> bool:
    """Whether ``path`` has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def is_raw_path(path: str) -> bool:
    """Whether ``path`` has one of :data:`RAW_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(path)[1].lower() in RAW_EXTENSIONS


def _ensure_heif() -> bool:
    """Registers pillow_heif's opener once; False if pillow_heif is not installed."""
    global _heif_available
    if _heif_available is None:
        with _heif_lock:
            if _heif_available is None:
                try:
                    import pillow_heif

                    pillow_heif.register_heif_opener()
                    _heif_available = True
                except ImportError:
                    log.info("pillow_heif is not installed: HEIC/HEIF photos cannot be read")
                    _heif_available = False
                except Exception:  # a broken install must not stop other formats
                    log.warning("pillow_heif could not be registered", exc_info=True)
                    _heif_available = False
    return _heif_available


class DecodeBudget:
    """The decoded bytes of full-size pixels that threads may hold at once, shared by the threads
    decoding for one job. Reservations are served in the order they were asked for, so a large
    photo waiting for the whole budget is not starved by a stream of small ones."""

    def __init__(self, capacity: int = DECODE_BUDGET_BYTES) -> None:
        self.capacity = max(1, int(capacity))
        self._free = self.capacity
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    @contextlib.contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Holds ``nbytes`` (at most the whole budget) for the duration of the ``with`` block."""
        n = max(0, min(int(nbytes), self.capacity))
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._serving or self._free < n:
                self._cond.wait()
            self._serving += 1
            self._free -= n
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._free += n
                self._cond.notify_all()


def open_image(path: str, min_size: int | None = None, budget: DecodeBudget | None = None) -> LoadedImage:
    """Opens the photo at ``path`` read-only, as an upright RGB image.

    ``min_size``: for JPEGs and JPEG 2000, decode at a reduced scale (libjpeg's DCT scaling,
    a JPEG 2000 resolution level), and reduce other formats right after decoding, keeping the
    shorter side >= ``min_size`` (the full-size pixels are never copied); camera RAWs use their
    embedded preview when it is that big, else LibRaw's half-size development when that is (see
    :func:`_open_raw`). Images longer than :data:`MAX_ASPECT` : 1 are centre-cropped to it
    (width and height stay the file's). ``budget``: the full-size pixels are decoded only within
    a reservation of their size, so threads sharing it bound the memory they take together.
    Raises :class:`ImageError` when the file cannot be used.
    """
    if is_raw_path(path):
        return _open_raw(path, min_size)
    with _open_file(path) as f:
        return _open_pillow(f, path, min_size, budget=budget)


def make_thumbnail(path: str, size: int) -> Image.Image:
    """An upright RGB thumbnail whose longest side is <= ``size``; JPEGs are draft-decoded.

    Raises :class:`ImageError` like :func:`open_image`.
    """
    if size < 1:
        raise ValueError(f"thumbnail size must be positive, not {size}")
    if is_raw_path(path):
        return _raw_thumbnail(path, size)
    with _open_file(path) as f:
        return _thumbnail_pillow(f, path, size)


def _open_pillow(f: BinaryIO, path: str, min_size: int | None, default_orientation: int = 1,
                 budget: DecodeBudget | None = None) -> LoadedImage:
    """:func:`open_image` of a file Pillow reads; ``default_orientation`` when it has no EXIF one."""
    draft = (min_size, min_size) if min_size else None
    im = _identify(f, path)
    try:
        width, height = im.size
        _check_pixels(width, height)
        if draft:
            _draft(im, draft)
        with budget.reserve(_decoded_bytes(im)) if budget else contextlib.nullcontext():
            im = _load_drafted(im, f, path)
            orientation = _orientation(im, default_orientation)
            taken_at = _taken_at(im)
            small = _reduce(im, min_size) if min_size else im
            rgb = _crop_aspect(_orient(_to_rgb(small, im.mode), orientation))
            if rgb is im:  # an upright RGB file: detach the pixels from the file
                rgb = im.copy()
            im.close()  # the full-size pixels go before the reservation does
    finally:
        im.close()
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return LoadedImage(image=rgb, width=width, height=height, taken_at=taken_at)


def _thumbnail_pillow(f: BinaryIO, path: str, size: int, default_orientation: int = 1) -> Image.Image:
    """:func:`make_thumbnail` of a file Pillow reads."""
    im = _identify(f, path)
    try:
        _check_pixels(*im.size)
        # Like Image.thumbnail(): reduce in the decoder to about twice the target,
        # then resample the rest of the way (reducing_gap=2.0).
        _draft(im, (size * 2, size * 2))
        im = _load_drafted(im, f, path)
        orientation = _orientation(im, default_orientation)
        thumb = _fit(_to_rgb(im), size)
        if thumb is im:
            thumb = im.copy()
    finally:
        im.close()
    return _orient(thumb, orientation)


@dataclass
class ViewImage:
    """A photo decoded for a viewer."""

    image: Image.Image
    """Upright RGB: fitted into the box asked for, or every pixel of what 100 % shows."""
    width: int
    """Width of what 100 % shows, upright: the file's (a camera RAW: its embedded preview's)."""
    height: int


def _fitted(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """``width`` × ``height`` scaled down (never up) to fit ``box``, keeping the aspect ratio."""
    scale = min(1.0, box[0] / max(1, width), box[1] / max(1, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def open_for_viewing(path: str, box: tuple[int, int] | None = None) -> ViewImage:
    """Opens ``path`` read-only for looking at it: upright RGB, fitted into ``box`` (a screen's
    pixels; JPEGs decoded at a reduced scale that still covers it, so a large photo shows at
    once), or at full resolution without a box (for 100 %). A camera RAW shows its embedded
    preview (the largest it has), else LibRaw's half-size development. Raises :class:`ImageError`.
    """
    if is_raw_path(path):
        with _LibRaw(path) as raw:
            info = raw.info()
            preview = raw.preview(lambda w, h: True)
            if isinstance(preview, bytes):
                try:
                    return _view_pillow(io.BytesIO(preview), path, box, info.orientation)
                except ImageError as e:
                    log.debug("%s: embedded preview unusable (%s); developing the RAW", path, e)
                    preview = None
            if preview is None:
                preview = raw.develop(half_size=True)
        image = _orient(preview, info.orientation)
        width, height = image.size
        if box is not None:
            image = _fit_box(image, _fitted(width, height, box))
        return ViewImage(image, width, height)
    with _open_file(path) as f:
        return _view_pillow(f, path, box)


def _fit_box(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    if im.size == size:
        return im
    try:
        return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    except MemoryError:
        raise ImageError("image too large: not enough memory to scale it") from None


def _view_pillow(f: BinaryIO, path: str, box: tuple[int, int] | None, default_orientation: int = 1) -> ViewImage:
    im = _identify(f, path)
    try:
        width, height = im.size
        _check_pixels(width, height)
        orientation = _orientation(im, default_orientation)  # JPEG and TIFF know it before decoding
        turned = orientation in (5, 6, 7, 8)
        if turned:
            width, height = height, width
        target = None
        if box is not None:
            target = _fitted(width, height, box)
            _draft(im, target[::-1] if turned else target)
        im = _load_drafted(im, f, path)
        orientation = _orientation(im, default_orientation)
        rgb = _orient(_to_rgb(im), orientation)
        if target is not None:
            rgb = _fit_box(rgb, target)
        if rgb is im:
            rgb = im.copy()  # detach the pixels from the file
    finally:
        im.close()
    return ViewImage(rgb, width, height)


# --- camera RAW ------------------------------------------------------------------------

#: RAW files larger than this are refused (where LibRaw is handed the file's bytes, they are
#: read whole into memory). The biggest medium-format RAWs (150 MP IIQ) are about 300 MB.
MAX_RAW_BYTES: int = 1 << 30

# LibRaw's "flip" (dcraw's: bit 4 swaps the axes, 2 flips rows, 1 flips columns) as EXIF orientation.
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}

_rawpy_module = None

#: Where the open file descriptor N can be opened again by name (Linux), else None: then LibRaw
#: gets the file's bytes instead. Never the photo's own path: a FIFO swapped in would block.
_FD_PATH: str | None = "/proc/self/fd/{}" if os.path.isdir("/proc/self/fd") else None


def _rawpy():
    """The rawpy module, imported on the first RAW (it loads LibRaw); ImageError if missing."""
    global _rawpy_module
    if _rawpy_module is None:
        try:
            import rawpy
        except ImportError:
            raise ImageError("camera RAW files need the rawpy package, which is not installed") from None
        _rawpy_module = rawpy
    return _rawpy_module


@dataclass
class _RawInfo:
    width: int
    """Width of the developed image, after orientation."""
    height: int
    orientation: int
    """The RAW's own orientation (from LibRaw's flip), as an EXIF value."""


class _Bytes:
    """``data`` as the file object rawpy's open_buffer reads once (a BytesIO would copy it again)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, *_args) -> bytes:
        return self._data


class _LibRaw:
    """A RAW file opened by LibRaw from its bytes; LibRaw's errors come out as ImageError."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.rawpy = _rawpy()

    def __enter__(self) -> "_LibRaw":
        with _open_file(self.path) as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_RAW_BYTES:
                raise ImageError(f"file too large: {size / 2**20:,.0f} MB; the limit for a RAW file is "
                                 f"{MAX_RAW_BYTES / 2**20:,.0f} MB")
            self.raw = self.rawpy.RawPy()
            try:
                if _FD_PATH is not None:
                    # LibRaw reopens the file we hold, checked regular, so it reads only what it
                    # needs (for a preview: the headers and the preview, not the sensor data)
                    self.raw.open_file(_FD_PATH.format(f.fileno()))
                else:
                    self.raw.open_buffer(_Bytes(f.read()))
            except BaseException as e:
                self.raw.close()
                if isinstance(e, OSError) and not isinstance(e, self.rawpy.LibRawError):
                    raise ImageError(f"cannot read file: {e.strerror or e}") from None
                raise self.error(e) from None
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        self.raw.close()
        if exc is not None and not isinstance(exc, ImageError):
            converted = self.error(exc)
            if converted is not exc:
                raise converted from None
        return False

    def error(self, e: BaseException) -> BaseException:
        """``e`` as an ImageError with a readable reason, if it is LibRaw's (else ``e``)."""
        rp = self.rawpy
        if isinstance(e, (MemoryError, rp.LibRawUnsufficientMemoryError, rp.LibRawTooBigError)):
            return ImageError("image too large: not enough memory to decode it")
        if not isinstance(e, rp.LibRawError):
            return e
        detail = e.args[0] if e.args else ""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        detail = str(detail).strip() or type(e).__name__
        if isinstance(e, rp.LibRawFileUnsupportedError):
            return ImageError(f"not a RAW file LibRaw can read (an unsupported camera, or a damaged file): {detail}")
        if isinstance(e, (rp.LibRawIOError, rp.LibRawDataError)):
            return ImageError(f"truncated or corrupt RAW file: {detail}")
        return ImageError(f"cannot decode the RAW file: {detail}")

    def info(self) -> _RawInfo:
        """Size and orientation of the developed image, checked against MAX_PIXELS; nothing decoded."""
        sizes = self.raw.sizes
        _check_pixels(sizes.raw_width, sizes.raw_height)
        width, height = sizes.width, sizes.height
        aspect = sizes.pixel_aspect or 1.0
        if aspect < 1.0:  # LibRaw stretches non-square pixels the way dcraw does
            height = int(height / aspect + 0.5)
        elif aspect > 1.0:
            width = int(width * aspect + 0.5)
        _check_pixels(width, height)
        if sizes.flip & 4:
            width, height = height, width
        return _RawInfo(width, height, _FLIP_TO_ORIENTATION.get(sizes.flip & 7, 1))

    def preview(self, big_enough) -> "bytes | Image.Image | None":
        """The embedded preview if ``big_enough(width, height)`` says so: JPEG bytes (to decode
        through Pillow) or an RGB bitmap (not yet oriented); None when there is none or it is small."""
        rp = self.rawpy
        try:
            thumb = self.raw.extract_thumb()
        except rp.LibRawError as e:  # none, an unsupported kind, or a damaged one: develop instead
            log.debug("%s: no usable embedded preview (%s)", self.path, e)
            return None
        if thumb.format == rp.ThumbFormat.JPEG:
            try:
                with Image.open(io.BytesIO(thumb.data)) as im:
                    size = im.size
            except Exception as e:  # noqa: BLE001 - a damaged preview: develop the RAW instead
                log.debug("%s: unreadable embedded preview (%s)", self.path, e)
                return None
            return thumb.data if big_enough(*size) else None
        if thumb.format == rp.ThumbFormat.BITMAP:
            data = np.ascontiguousarray(thumb.data)
            if data.ndim != 3 or data.shape[2] != 3 or data.dtype != np.uint8:
                return None
            h, w = data.shape[:2]
            return Image.fromarray(data, "RGB") if big_enough(w, h) else None
        return None

    def develop(self, half_size: bool) -> Image.Image:
        """LibRaw's development (camera white balance, 8 bits; ``half_size``: a 2×2 block per
        pixel, no demosaicing), not yet oriented."""
        try:
            rgb = self.raw.postprocess(half_size=half_size, use_camera_wb=True, output_bps=8, user_flip=0)
        except MemoryError:
            raise ImageError("image too large: not enough memory to develop it") from None
        if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
            raise ImageError(f"cannot decode the RAW file: LibRaw developed a {rgb.shape} image")
        return Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")

    def taken_at(self) -> str | None:
        """The date taken as LibRaw parsed it (EXIF DateTimeOriginal, else the camera's own tags)."""
        try:
            when = self.raw.other.timestamp
        except Exception:  # noqa: BLE001 - a date is never worth the photo
            log.debug("no RAW timestamp", exc_info=True)
            return None
        if when is None or when.year <= 1970:  # 0 (the epoch, in local time): no date in the file
            return None
        return when.replace(microsecond=0).isoformat(timespec="seconds")


def _open_raw(path: str, min_size: int | None) -> LoadedImage:
    """A camera RAW for the model: the embedded JPEG preview when its shorter side is at least
    ``min_size`` (without ``min_size``: when it is as big as the developed image), else LibRaw's
    half-size development when that is big enough, else the full development.

    The recorded width and height are the developed image's. A preview JPEG is turned upright
    by its own EXIF orientation (LibRaw puts an EXIF block with the RAW's orientation and date
    in front of a preview that does not start with one); a developed image or a bitmap preview
    by the RAW's own flip. The preview path never reads
    the sensor data, so a RAW truncated only there is indexed from its intact preview.
    """
    with _LibRaw(path) as raw:
        info = raw.info()
        need = min_size or min(info.width, info.height)
        preview = raw.preview(lambda w, h: min(w, h) >= need)
        if isinstance(preview, bytes):
            try:
                loaded = _open_pillow(io.BytesIO(preview), path, min_size, default_orientation=info.orientation)
            except ImageError as e:  # a damaged preview: the sensor data may still be whole
                log.debug("%s: embedded preview unusable (%s); developing the RAW", path, e)
                preview = None
            else:
                loaded.width, loaded.height = info.width, info.height
                if loaded.taken_at and loaded.taken_at < "1971":  # LibRaw's stand-in for no date
                    loaded.taken_at = None
                return loaded
        if preview is not None:
            image = _orient(preview, info.orientation)
            taken_at = None
        else:
            half = bool(min_size) and min(info.width, info.height) // 2 >= min_size
            image = _orient(raw.develop(half_size=half), info.orientation)
            taken_at = raw.taken_at()
    return LoadedImage(image=_crop_aspect(image), width=info.width, height=info.height, taken_at=taken_at)


def _raw_thumbnail(path: str, size: int) -> Image.Image:
    """:func:`make_thumbnail` of a camera RAW: its preview when that is at least ``size`` on the
    longer side (or as big as the developed image), else a half-size or full development."""
    with _LibRaw(path) as raw:
        info = raw.info()
        need = min(size, max(info.width, info.height))
        preview = raw.preview(lambda w, h: max(w, h) >= need)
        if isinstance(preview, bytes):
            try:
                return _thumbnail_pillow(io.BytesIO(preview), path, size, default_orientation=info.orientation)
            except ImageError as e:
                log.debug("%s: embedded preview unusable (%s); developing the RAW", path, e)
                preview = None
        if preview is None:
            preview = raw.develop(half_size=max(info.width, info.height) // 2 >= size)
    return _orient(_fit(preview, size), info.orientation)


# --- steps ---------------------------------------------------------------------------


def special_file_kind(mode: int) -> str | None:
    """None for a regular file, else what it is ("a FIFO", "a socket", "a device", "a folder")."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"


def open_regular(path: str) -> BinaryIO:
    """``path`` opened "rb" if it is a regular file (through symlinks), without ever blocking.

    FIFOs, sockets and devices are refused from ``stat`` before any open; the open itself uses
    ``O_NONBLOCK`` and ``fstat`` checks again, so a FIFO swapped in between cannot wait for a
    writer. Raises :class:`NotARegularFile` (an ``OSError``) or the ``OSError`` of stat/open.
    """
    kind = special_file_kind(os.stat(path).st_mode)
    if kind is not None:
        raise NotARegularFile(kind)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                 | getattr(os, "O_BINARY", 0))
    try:
        kind = special_file_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotARegularFile(kind)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NotARegularFile(OSError):
    """A photo-named path that is a FIFO, socket, device or folder; ``strerror`` says which."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"not a file ({kind})" if kind == "a folder" else f"not a regular file ({kind})")
        self.strerror = str(self)


def _open_file(path: str) -> BinaryIO:
    """The file opened "rb", or ImageError for a missing / unreadable / empty / special file."""
    _reading.path = path
    try:
        f = open_regular(path)
        if os.fstat(f.fileno()).st_size == 0:
            f.close()
            raise ImageError("empty file (0 bytes)")
        return f
    except NotARegularFile as e:
        raise ImageError(str(e)) from None
    except FileNotFoundError:  # from stat, or from open when the file vanished in between
        raise ReadError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except OSError as e:
        raise _unreadable(e) from None


def _ensure_jxl() -> None:
    """Imports the JPEG XL plugin (which registers its opener) once, if one is installed."""
    global _jxl_registered
    if _jxl_registered:
        return
    with _heif_lock:
        if not _jxl_registered:
            name = _jxl_plugin() if "jxl" not in features.modules else None
            if name is not None:
                try:
                    import importlib

                    # importing the plugin registers its opener with Pillow
                    importlib.import_module("jxlpy.JXLImagePlugin" if name == "jxlpy" else name)
                except Exception:  # a broken install must not stop other formats
                    log.warning("the JPEG XL plugin %s could not be loaded", name, exc_info=True)
            _jxl_registered = True


def _identify(f: BinaryIO, path: str) -> ImageFile.ImageFile:
    """Reads the header; no pixels are decoded yet."""
    _ensure_heif()
    if path.lower().endswith(".jxl"):
        _ensure_jxl()
    try:
        return Image.open(f)
    except UnidentifiedImageError:
        ext = os.path.splitext(path)[1].lower()
        if ext in _HEIF_EXTENSIONS and not _ensure_heif():
            raise ImageError("HEIC/HEIF photos need the pillow-heif package, which is not installed") from None
        raise ImageError("not an image (or an unsupported format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # Pillow's own limit (a global others may lower, or a warning turned into an error)
        # refused it in open(); MAX_PIXELS decides, so identify it without that check.
        im = _open_without_bomb_check(f)
        if im is None:
            raise ImageError(f"image too large ({e})") from None
        return im
    except PermissionError:
        raise ImageError("permission denied") from None
    except _DECODE_ERRORS as e:
        raise _corrupt(e) from None


def _open_without_bomb_check(f: BinaryIO) -> ImageFile.ImageFile | None:
    """Image.open() minus Pillow's decompression-bomb check (the caller checks MAX_PIXELS)."""
    try:
        f.seek(0)
        prefix = f.read(16)
        for fmt in list(Image.ID):
            factory, accept = Image.OPEN[fmt]
            accepted = accept(prefix) if accept else True
            if isinstance(accepted, str) or not accepted:
                continue
            f.seek(0)
            try:
                return factory(f, "")
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue
    except Exception:  # fall back to Pillow's refusal
        log.debug("could not identify an oversized image", exc_info=True)
    return None


def _check_pixels(width: int, height: int) -> None:
    pixels = width * height
    if pixels > MAX_PIXELS:
        raise ImageError(
            f"image too large: {width} × {height} pixels ({pixels / 1e6:.0f} MP); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} MP"
        )
    if width < 1 or height < 1:
        raise ImageError(f"truncated or corrupt image: it claims to be {width} × {height} pixels")


def _draft(im: ImageFile.ImageFile, size: tuple[int, int]) -> None:
    """Decode at a reduced scale, each side staying >= size: JPEG at 1/2, 1/4 or 1/8 (libjpeg's
    DCT scaling), JPEG 2000 at one of its codestream's own resolution levels; a no-op otherwise.

    The bound holds for both sides, so it also holds after a 90° EXIF rotation.
    """
    try:
        if im.format == "JPEG2000":
            _reduce_jpeg2000(im, size)
        else:
            im.draft("RGB", size)
    except _DECODE_ERRORS as e:
        raise _corrupt(e) from None


def _reduce_jpeg2000(im: ImageFile.ImageFile, size: tuple[int, int]) -> None:
    """Sets Pillow's ``reduce`` (decode at 1/2**k) to the deepest level the codestream has that
    keeps both sides >= size."""
    fp = im.fp
    at = fp.tell()
    try:
        fp.seek(0)
        head = fp.read(1 << 16)
    finally:
        fp.seek(at)
    levels = _jpeg2000_levels(head)
    w, h = im.size
    k = 0
    while k < levels:
        p = 1 << (k + 1)
        if (w + (p >> 1)) // p < size[0] or (h + (p >> 1)) // p < size[1]:  # Pillow's rounding
            break
        k += 1
    if k:
        im.reduce = k


def _jpeg2000_levels(head: bytes) -> int:
    """Decomposition levels in the main header's COD segment of a JPEG 2000 codestream (bare or
    in a JP2 box), found by walking the marker segments; 0 when it cannot be read."""
    pos = head.find(b"\xff\x4f\xff\x51")  # SOC, then SIZ
    if pos < 0:
        return 0
    pos += 2
    while pos + 4 <= len(head):
        marker, length = struct.unpack(">HH", head[pos:pos + 4])
        if marker == 0xFF52:  # COD: Lcod, Scod, progression, layers (2), MCT, then the levels
            return head[pos + 9] if pos + 9 < len(head) else 0
        if marker >> 8 != 0xFF or marker in (0xFF90, 0xFF93, 0xFFD9) or length < 2:  # SOT, SOD, EOC
            return 0
        pos += 2 + length
    return 0


def _load_drafted(im: ImageFile.ImageFile, f: BinaryIO, path: str) -> ImageFile.ImageFile:
    """:func:`_load`; a JPEG 2000 whose tiles lack the reduced level asked for (their own COD
    segments can say fewer levels than the main header) is decoded again at full size."""
    try:
        _load(im)
        return im
    except ImageError:
        if not getattr(im, "_reduce", 0):
            raise
        log.debug("%s: JPEG 2000 reduced decoding failed; decoding at full size", path)
    im.close()
    f.seek(0)
    im = _identify(f, path)
    _load(im)
    return im


def _load(im: ImageFile.ImageFile) -> None:
    """Decodes every pixel of the first frame, so truncation is noticed here and not later."""
    try:
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"image too large ({e})") from None
    except MemoryError:
        raise ImageError("image too large: not enough memory to decode it") from None
    except _DECODE_ERRORS as e:
        raise _corrupt(e) from None


# Bytes a pixel takes in Pillow's memory (RGB is stored in 4), and the modes Image.reduce cannot
# average (palette indices, bits; 16-bit greys are converted too).
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_REDUCE_AFTER_CONVERTING = frozenset({"1", "P", "PA"})


def _decoded_bytes(im: Image.Image) -> int:
    """What decoding ``im`` at its (draft) size takes: its pixels, plus one full-size copy where
    it must be converted before it can be reduced."""
    w, h = im.size
    per_pixel = _BYTES_PER_PIXEL.get(im.mode, 4)
    if im.mode in _REDUCE_AFTER_CONVERTING or im.mode.startswith("I;16"):
        per_pixel += 4
    return w * h * per_pixel


def _reduce(im: Image.Image, min_size: int) -> Image.Image:
    """``im`` reduced by an integer factor while its shorter side stays >= REDUCING_GAP * min_size
    (``im`` itself when it is not that large). The result no longer shares pixels with ``im``."""
    factor = min(im.size) // max(1, REDUCING_GAP * min_size)
    if factor < 2:
        return im
    try:
        if im.mode in _REDUCE_AFTER_CONVERTING:
            im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
        elif im.mode.startswith("I;16"):
            im = im.convert("I")  # exact; scaled to 8 bits as 16-bit data afterwards
        return im.reduce(factor)
    except MemoryError:
        raise ImageError("image too large: not enough memory to reduce it") from None
    except (ValueError, OSError) as e:
        raise ImageError(f"unsupported colour mode {im.mode}: {_reason(e)}") from None


def _fit(im: Image.Image, size: int) -> Image.Image:
    """Scaled down (never up) so the longest side is ``size``, keeping the aspect ratio."""
    w, h = im.size
    if w <= size and h <= size:
        return im
    if w >= h:
        target = (size, max(1, round(h * size / w)))
    else:
        target = (max(1, round(w * size / h)), size)
    return im.resize(target, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _crop_aspect(im: Image.Image) -> Image.Image:
    """Centre-cropped so the long side is at most MAX_ASPECT times the short one (``im`` if it is)."""
    w, h = im.size
    if w > MAX_ASPECT * h:
        keep = MAX_ASPECT * h
        left = (w - keep) // 2
        return im.crop((left, 0, left + keep, h))
    if h > MAX_ASPECT * w:
        keep = MAX_ASPECT * w
        top = (h - keep) // 2
        return im.crop((0, top, w, top + keep))
    return im


def _unreadable(e: OSError) -> ImageError:
    """An error reading the file itself: a ReadError (tried again later) if it may pass."""
    error = ReadError if is_transient(e) else ImageError
    return error(f"cannot read file: {e.strerror or e}")


def _corrupt(e: BaseException) -> ImageError:
    """Pillow gave up on the data; an OSError with an errno is the file's reading that failed."""
    if isinstance(e, OSError) and e.errno is not None:
        return _unreadable(e)
    return ImageError(f"truncated or corrupt image: {_reason(e)}")


def _reason(e: BaseException) -> str:
    text = str(e).strip()
    return text or type(e).__name__


def _exif(im: Image.Image) -> Image.Exif | None:
    try:
        return im.getexif()
    except Exception:  # damaged EXIF must not cost the photo
        log.debug("unreadable EXIF", exc_info=True)
        return None


def _orientation(im: Image.Image, default: int = 1) -> int:
    """The EXIF orientation; ``default`` when the image has no orientation tag."""
    exif = _exif(im)
    if exif is None or _TAG_ORIENTATION not in exif:
        return default
    value = exif.get(_TAG_ORIENTATION, 1)
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 1
    return value if value in _TRANSPOSE else 1


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def parse_exif_datetime(value: object) -> str | None:
    """``"YYYY:MM:DD HH:MM:SS"`` -> ``"YYYY-MM-DDTHH:MM:SS"``; anything unusable -> None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    m = _EXIF_DATE.match(value.replace("\x00", ""))
    if not m:
        return None
    try:
        when = _dt.datetime(*(int(g) for g in m.groups()))
    except ValueError:  # "0000:00:00 00:00:00", month 13, ...
        return None
    return when.isoformat(timespec="seconds")


def _taken_at(im: Image.Image) -> str | None:
    exif = _exif(im)
    if exif is None:
        return None
    try:
        original = exif.get_ifd(_IFD_EXIF).get(_TAG_DATETIME_ORIGINAL)
    except Exception:
        log.debug("unreadable EXIF sub-IFD", exc_info=True)
        original = None
    return parse_exif_datetime(original) or parse_exif_datetime(exif.get(_TAG_DATETIME))


def _to_rgb(im: Image.Image, source_mode: str | None = None) -> Image.Image:
    """8-bit RGB (``im`` itself if it already is); high-bit-depth greys are scaled, not clipped.
    ``source_mode``: the file's mode, where ``im`` was reduced from it (16-bit data reduced as "I")."""
    mode = im.mode
    if mode == "RGB":
        return im
    try:
        if mode.startswith("I;16") or mode in ("I", "F"):
            scale = source_mode if source_mode and source_mode.startswith("I;16") else mode
            return Image.fromarray(_scale_to_uint8(np.asarray(im), scale), "L").convert("RGB")
        # CMYK, P, L, LA, PA, RGBA, 1, YCbCr, ...: exactly what open_clip's reference pipeline does.
        return im.convert("RGB")
    except MemoryError:
        raise ImageError("image too large: not enough memory to convert it") from None
    except (ValueError, OSError, TypeError) as e:
        raise ImageError(f"unsupported colour mode {mode}: {_reason(e)}") from None


def _scale_to_uint8(a: np.ndarray, mode: str) -> np.ndarray:
    if a.size == 0:
        return a.astype(np.uint8)
    if mode.startswith("I;16"):
        lo, hi = 0.0, 65535.0
    elif mode == "F":
        finite = a[np.isfinite(a)]
        amin = float(finite.min()) if finite.size else 0.0
        amax = float(finite.max()) if finite.size else 1.0
        if amin >= 0.0 and amax <= 1.0:
            lo, hi = 0.0, 1.0
        else:
            lo, hi = amin, amax
    else:  # "I": 32-bit signed; usually 16-bit data (older Pillow's 16-bit PNGs) or 8-bit data
        amin, amax = int(a.min()), int(a.max())
        if amin >= 0 and amax <= 255:
            lo, hi = 0.0, 255.0
        elif amin >= 0 and amax <= 65535:
            lo, hi = 0.0, 65535.0
        else:
            lo, hi = float(amin), float(amax)
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    out = (np.nan_to_num(a.astype(np.float32), nan=lo) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
