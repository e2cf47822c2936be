"""What a photo knows about itself: date taken, camera, lens, exposure, GPS — read without pixels.

Read through exiv2 (``pyexiv2``) from JPEG, HEIC, PNG, TIFF, WebP and camera RAW, read-only. A photo
with broken metadata gives what could be read plus a list of what could not (its ``problems``);
it is never refused for it. Without a date in the file, the file's own modification time stands
in and ``taken_source`` says so.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Optional

from .images import RAW_EXTENSIONS

log = logging.getLogger("photoclip.metadata")

#: what a photo's date came from
TAKEN_FROM_EXIF = "exif"
TAKEN_FROM_XMP = "xmp"
TAKEN_FROM_FILE = "file"

_KIND_BY_EXTENSION = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".jfif": "jpeg",
                      ".heic": "heic", ".heif": "heic", ".png": "png"}


def file_kind(path: str) -> str:
    """One of filters.KINDS ("raw", "jpeg", "heic", "png", "other"), from the file's extension."""
    ext = os.path.splitext(path)[1].lower()
    return "raw" if ext in RAW_EXTENSIONS else _KIND_BY_EXTENSION.get(ext, "other")


@dataclass
class PhotoMeta:
    """Everything optional: a photo may carry any part of it."""
    taken_at: Optional[str] = None        # ISO 8601 local time as the camera saw it, with its offset when known
    taken_source: Optional[str] = None    # TAKEN_FROM_EXIF | TAKEN_FROM_XMP | TAKEN_FROM_FILE
    camera_make: Optional[str] = None
    camera_model: Optional[str] = None
    lens: Optional[str] = None
    focal_length: Optional[float] = None  # mm
    aperture: Optional[float] = None      # f-number
    exposure_time: Optional[float] = None  # seconds
    iso: Optional[int] = None
    gps_lat: Optional[float] = None
    gps_lon: Optional[float] = None
    gps_alt: Optional[float] = None       # metres above sea level
    kind: str = "other"
    # keywords and rating from the photo's XMP/IPTC and its XMP sidecars, as (set or None, label)
    # tags (xmp.keyword_tags): stored as the user's own tags
    keywords: list[tuple[Optional[str], str]] = field(default_factory=list)
    # the newest modification time of the photo's XMP sidecars when they were read (None: none)
    sidecar_mtime_ns: Optional[int] = None
    problems: list[str] = field(default_factory=list)

    @property
    def camera(self) -> Optional[str]:
        return camera_name(self.camera_make, self.camera_model)


def camera_name(make: Optional[str], model: Optional[str]) -> Optional[str]:
    """"Canon EOS R5" from ("Canon", "Canon EOS R5"); "NIKON D850" from ("NIKON CORPORATION",
    "NIKON D850"); "Apple iPhone 15" from ("Apple", "iPhone 15")."""
    make, model = (make or "").strip(), (model or "").strip()
    if not model:
        return make or None
    first = make.split(" ")[0].casefold() if make else ""
    if not first or model.casefold().startswith(first):
        return model
    return f"{make.split(' ')[0] if make.isupper() else make} {model}"


def format_exposure(meta_or_record) -> str:
    """"50 mm · f/2.8 · 1/250 s · ISO 400" (the parts known; "" when none is)."""
    parts = []
    focal = getattr(meta_or_record, "focal_length", None)
    aperture = getattr(meta_or_record, "aperture", None)
    exposure = getattr(meta_or_record, "exposure_time", None)
    iso = getattr(meta_or_record, "iso", None)
    if focal:
        parts.append(f"{focal:g} mm")
    if aperture:
        parts.append(f"f/{aperture:.1f}".replace(".0", ""))
    if exposure:
        if exposure >= 1:
            parts.append(f"{exposure:g} s")
        else:
            parts.append(f"1/{round(1 / exposure):d} s")
    if iso:
        parts.append(f"ISO {iso}")
    return " · ".join(parts)


# -- reading ------------------------------------------------------------------------------------

_lock = threading.Lock()  # exiv2's XMP parser keeps process-wide state: one reader at a time
_exiv2 = None


def _pyexiv2():
    global _exiv2
    if _exiv2 is None:
        import pyexiv2
        try:
            pyexiv2.set_log_level(4)  # mute: a broken tag becomes a problem of the photo, not a console line
        except Exception:  # noqa: BLE001
            pass
        _exiv2 = pyexiv2
    return _exiv2


def read_metadata(path: str, mtime_ns: Optional[int] = None) -> PhotoMeta:
    """The metadata of the photo at ``path`` (never raises: what fails is listed in ``problems``).
    ``mtime_ns`` (the file's, when the caller has it) is the date used when the file has none."""
    meta = PhotoMeta(kind=file_kind(path))
    exif: dict[str, str] = {}
    xmp: dict[str, object] = {}
    iptc: dict[str, object] = {}
    try:
        exif, xmp, iptc = _read_tags(path)
    except Exception as exc:  # noqa: BLE001 - metadata is never worth the photo
        meta.problems.append(f"metadata cannot be read ({_reason(exc)})")
    _fill(meta, exif, xmp)
    from .xmp import existing_sidecars

    sidecars = existing_sidecars(path)  # (looked for once: their time, then their keywords)
    meta.sidecar_mtime_ns = sidecar_time(sidecars)
    meta.keywords = _keywords(sidecars, xmp, iptc)
    if meta.taken_at is None:
        if mtime_ns is None:
            try:
                mtime_ns = os.stat(path).st_mtime_ns
            except OSError:
                mtime_ns = None
        if mtime_ns is not None:
            meta.taken_at = _dt.datetime.fromtimestamp(mtime_ns / 1e9).isoformat(timespec="seconds")
            meta.taken_source = TAKEN_FROM_FILE
    return meta


def sidecar_time(sidecars: list[str]) -> Optional[int]:
    """The newest modification time (ns) of a photo's XMP ``sidecars``, None when it has none."""
    times = []
    for sidecar in sidecars:
        try:
            times.append(os.stat(sidecar).st_mtime_ns)
        except OSError:
            pass
    return max(times) if times else None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _keywords(sidecars: list[str], xmp: dict, iptc: dict) -> list[tuple[Optional[str], str]]:
    """The photo's own keywords and rating, then its sidecars' (a sidecar's rating wins: it is
    where Lightroom and darktable keep the one the user gave)."""
    from . import xmp as xmp_sidecars

    sidecar = xmp_sidecars.read_sidecars(sidecars)
    own = {k: v for k, v in xmp.items() if k in (xmp_sidecars.SUBJECT, xmp_sidecars.HIERARCHY)}
    for key in (xmp_sidecars.SUBJECT, xmp_sidecars.HIERARCHY):
        have = xmp_sidecars.as_list(own.get(key))
        extra = [v for v in xmp_sidecars.as_list(sidecar.get(key)) if v not in have]
        if have or extra:
            own[key] = have + extra
    rating = sidecar.get(xmp_sidecars.RATING, xmp.get(xmp_sidecars.RATING))
    if rating is not None:
        own[xmp_sidecars.RATING] = rating
    return xmp_sidecars.keyword_tags(own, iptc)


def _read_tags(path: str) -> tuple[dict[str, str], dict[str, object], dict[str, object]]:
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device named like a photo would block exiv2
        raise OSError("not a regular file")
    if st.st_size == 0:
        raise OSError("the file is empty")
    pyexiv2 = _pyexiv2()
    with _lock:
        try:
            name = path.encode("utf-8").decode("utf-8")
        except UnicodeError:  # a name that is not UTF-8 (kept as surrogates): exiv2 gets the bytes
            name = None
        if name is not None:
            with pyexiv2.Image(name) as img:
                return _safe(img.read_exif), _safe(img.read_xmp), _safe(img.read_iptc)
        with open(path, "rb") as f:
            data = f.read()
        with pyexiv2.ImageData(data) as img:
            return _safe(img.read_exif), _safe(img.read_xmp), _safe(img.read_iptc)


def _safe(read: Callable[..., dict]) -> dict:
    """One block's tags; a block exiv2 cannot decode as text is read raw, else left out."""
    try:
        return read()
    except UnicodeDecodeError:
        try:
            return read(encoding="latin-1")
        except Exception:  # noqa: BLE001
            return {}


def _fill(meta: PhotoMeta, exif: dict[str, str], xmp: dict[str, object]) -> None:
    def text(*keys: str) -> Optional[str]:
        for key in keys:
            value = exif.get(key) if key.startswith("Exif.") else xmp.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, dict):  # lang alternatives
                value = next(iter(value.values()), None)
            if isinstance(value, str):
                value = value.replace("\x00", "").strip()
                if value:
                    return value
        return None

    def number(label: str, *keys: str) -> Optional[float]:
        raw = text(*keys)
        if raw is None:
            return None
        value = _rational(raw)
        if value is None or not math.isfinite(value) or value < 0:
            meta.problems.append(f"unreadable {label} ({raw[:40]!r})")
            return None
        return value

    # date taken
    for source, keys in ((TAKEN_FROM_EXIF, ("Exif.Photo.DateTimeOriginal", "Exif.Image.DateTimeOriginal",
                                            "Exif.Photo.DateTimeDigitized")),
                         (TAKEN_FROM_XMP, ("Xmp.exif.DateTimeOriginal", "Xmp.photoshop.DateCreated",
                                           "Xmp.xmp.CreateDate")),
                         (TAKEN_FROM_EXIF, ("Exif.Image.DateTime",))):
        raw = text(*keys)
        if raw is None:
            continue
        when = _parse_date(raw, text("Exif.Photo.SubSecTimeOriginal") if source == TAKEN_FROM_EXIF else None,
                           text("Exif.Photo.OffsetTimeOriginal", "Exif.Photo.OffsetTime") if source == TAKEN_FROM_EXIF else None)
        if when is None:
            meta.problems.append(f"unreadable date taken ({raw[:40]!r})")
            continue
        meta.taken_at, meta.taken_source = when, source
        break

    meta.camera_make = text("Exif.Image.Make", "Xmp.tiff.Make")
    meta.camera_model = text("Exif.Image.Model", "Xmp.tiff.Model", "Exif.Image.UniqueCameraModel")
    meta.lens = text("Exif.Photo.LensModel", "Xmp.aux.Lens", "Xmp.exifEX.LensModel", "Exif.Canon.LensModel")
    meta.focal_length = number("focal length", "Exif.Photo.FocalLength", "Xmp.exif.FocalLength")
    meta.aperture = number("aperture", "Exif.Photo.FNumber", "Xmp.exif.FNumber")
    if meta.aperture is None:
        apex = number("aperture", "Exif.Photo.ApertureValue")
        if apex is not None and apex < 64:
            meta.aperture = round(2 ** (apex / 2), 1)
    meta.exposure_time = number("exposure time", "Exif.Photo.ExposureTime", "Xmp.exif.ExposureTime")
    iso = number("ISO", "Exif.Photo.ISOSpeedRatings", "Exif.Photo.PhotographicSensitivity",
                 "Xmp.exifEX.PhotographicSensitivity")
    meta.iso = int(iso) if iso else None

    # GPS (EXIF rationals, else XMP's "38,43.2057N")
    lat = _gps_coordinate(text("Exif.GPSInfo.GPSLatitude"), text("Exif.GPSInfo.GPSLatitudeRef"), "SN")
    lon = _gps_coordinate(text("Exif.GPSInfo.GPSLongitude"), text("Exif.GPSInfo.GPSLongitudeRef"), "WE")
    if lat is None or lon is None:
        lat, lon = _xmp_coordinate(text("Xmp.exif.GPSLatitude")), _xmp_coordinate(text("Xmp.exif.GPSLongitude"))
    if lat is not None and lon is not None:
        if abs(lat) <= 90 and abs(lon) <= 180 and not (lat == 0 and lon == 0):  # 0,0: a receiver without a fix
            meta.gps_lat, meta.gps_lon = round(lat, 6), round(lon, 6)
            alt = number("altitude", "Exif.GPSInfo.GPSAltitude")
            if alt is not None:
                below = text("Exif.GPSInfo.GPSAltitudeRef") == "1"
                meta.gps_alt = round(-alt if below else alt, 1)
        else:
            meta.problems.append("unreadable GPS position (out of range)")
    elif text("Exif.GPSInfo.GPSLatitude", "Xmp.exif.GPSLatitude") is not None:
        meta.problems.append("unreadable GPS position")


def _rational(raw: str) -> Optional[float]:
    """"1/250", "28/10", "400", "2.8" -> a float; "0/0" and junk -> None."""
    raw = raw.strip().split(" ")[0]
    try:
        if "/" in raw:
            num, den = raw.split("/", 1)
            if int(den) == 0:
                return None
            return float(Fraction(int(num), int(den)))
        return float(raw)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


_DATE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?)?"
                   r"\s*(Z|[+-]\d{2}:?\d{2})?")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


def _parse_date(raw: str, subsec: Optional[str] = None, offset: Optional[str] = None) -> Optional[str]:
    """"2024:06:15 18:30:12" (+ SubSec "45", Offset "+01:00") -> "2024-06-15T18:30:12.45+01:00"."""
    m = _DATE.match(raw)
    if not m:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        when = _dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:  # "0000:00:00 00:00:00", month 13, ...
        return None
    if when.year < 1826:  # older than photography: a default value, not a date
        return None
    text = when.isoformat(timespec="seconds")
    digits = fraction or (subsec.strip() if subsec and subsec.strip().isdigit() else None)
    if digits:
        text += "." + digits[:6]
    zone = zone or offset
    if zone:
        if zone == "Z":
            text += "+00:00"
        else:
            z = _OFFSET.match(zone)
            if z and int(z.group(2)) <= 14 and int(z.group(3)) < 60:
                text += f"{z.group(1)}{z.group(2)}:{z.group(3)}"
    return text


def _gps_coordinate(value: Optional[str], ref: Optional[str], signs: str) -> Optional[float]:
    """EXIF's "38/1 43/1 1234/100" with ref "N"/"S" (or "E"/"W") -> signed degrees."""
    if not value:
        return None
    parts = [_rational(p) for p in value.split()]
    if not parts or any(p is None for p in parts):
        return None
    degrees = parts[0] + (parts[1] / 60 if len(parts) > 1 else 0) + (parts[2] / 3600 if len(parts) > 2 else 0)
    if ref and ref.strip()[:1].upper() == signs[0]:
        degrees = -degrees
    return degrees


def _xmp_coordinate(value: Optional[str]) -> Optional[float]:
    """XMP's "38,43.2057N" or "38,43,12N" -> signed degrees."""
    if not value:
        return None
    value = value.strip()
    hemisphere, body = value[-1:].upper(), value[:-1]
    if hemisphere not in "NSEW" or not body:
        return None
    try:
        parts = [float(p) for p in body.split(",")]
    except ValueError:
        return None
    degrees = parts[0] + (parts[1] / 60 if len(parts) > 1 else 0) + (parts[2] / 3600 if len(parts) > 2 else 0)
    return -degrees if hemisphere in "SW" else degrees
