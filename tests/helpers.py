"""Helpers the tests import (a module of its own: tests/gui has a conftest too)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional

from PIL import Image, ImageDraw

# A tiny open_clip architecture: real towers and tokenizer, small widths, random weights (seed 0).
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def photoclip_cli(home: Path, models: Path) -> Callable[..., subprocess.CompletedProcess]:
    """``python -m photoclip ARGS`` in a fresh process, its library folder ``home`` and its model
    cache ``models``: ``run(*args, ok=True)`` asserts it exits 0 (``ok=False``: that it fails;
    ``ok=None``: either) and returns the finished process (stdout, stderr as text)."""
    env = dict(os.environ, PHOTOCLIP_HOME=str(home), PHOTOCLIP_MODELS=str(models))

    def run(*args: str, ok: Optional[bool] = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "photoclip", *args], env=env, capture_output=True, text=True,
                              timeout=300)
        if ok is not None:
            assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
        return proc

    return run


def draw_photo(path: Path, colour=(200, 40, 40), size=(120, 90), shape="circle", bg=(240, 240, 240), **save) -> Path:
    """A small real image file: a coloured shape on a background."""
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)
    w, h = size
    box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
    if shape == "circle":
        d.ellipse(box, fill=colour)
    else:
        d.rectangle(box, fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **save)
    return path


def folder_pixels(embedder, folder: Path):
    """(paths, uint8 pixel batch) of every file under ``folder``, as the indexer hands them to
    ``embedder.encode_images`` (draft-decoded, the model's own resize and crop)."""
    import torch

    from photoclip.core.images import open_image

    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    return paths, torch.stack([embedder.image_tensor(open_image(str(p), min_size=embedder.image_size).image)
                               for p in paths])


# --- camera RAW: real DNG files (a Bayer mosaic LibRaw demosaics), written with tifffile ---------

# XYZ (D65) -> linear sRGB, as the DNG ColorMatrix1: the "camera" sees linear sRGB, so LibRaw's
# development gives back about the colours the mosaic was made from.
_XYZ_TO_SRGB = (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570)


def _rationals(values, den=10000) -> tuple[int, ...]:
    return tuple(v for x in values for v in (int(round(x * den)), den))


def bayer_mosaic(rgb, white: int = 4095):
    """An RGGB CFA mosaic (uint16, 0..white) of an 8-bit sRGB picture, in linear light."""
    import numpy as np

    a = np.asarray(rgb.convert("RGB") if hasattr(rgb, "convert") else rgb, dtype=np.uint8)
    v = np.arange(256) / 255.0
    to_linear = np.round(np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4) * white).astype(np.uint16)
    h, w = a.shape[0] - a.shape[0] % 2, a.shape[1] - a.shape[1] % 2
    cfa = np.empty((h, w), np.uint8)
    cfa[0::2, 0::2] = a[0:h:2, 0:w:2, 0]  # R
    cfa[0::2, 1::2] = a[0:h:2, 1:w:2, 1]  # G
    cfa[1::2, 0::2] = a[1:h:2, 0:w:2, 1]  # G
    cfa[1::2, 1::2] = a[1:h:2, 1:w:2, 2]  # B
    return to_linear[cfa]


def write_dng(path: Path, picture, *, preview=None, preview_format: str = "jpeg", preview_exif: bytes | None = None,
              orientation: int = 1, taken: str | None = None, truncate: int | None = None) -> Path:
    """A real DNG of ``picture`` (a PIL image): an uncompressed 12-bit RGGB mosaic with the CFA tags
    LibRaw needs, optionally with an embedded ``preview`` (a PIL image) in IFD0, stored as a JPEG
    (``preview_format="jpeg"``, with ``preview_exif`` in it if given) or uncompressed RGB (``"bitmap"``). ``orientation`` is the TIFF
    Orientation tag, ``taken`` ("YYYY:MM:DD HH:MM:SS") the DateTime tag; ``truncate`` keeps only
    that many bytes. The raw mosaic follows the preview in the file, as in a camera's."""
    import io

    import numpy as np
    import tifffile

    white = 4095
    mosaic = bayer_mosaic(picture, white)
    ifd0 = [
        (50706, 1, 4, bytes([1, 4, 0, 0]), True),  # DNGVersion 1.4
        (50708, 2, 0, "photoclip test camera", True),  # UniqueCameraModel
        (271, 2, 0, "Photoclip", True),  # Make
        (272, 2, 0, "Test DNG", True),  # Model
        (274, 3, 1, (orientation,), True),  # Orientation
        (50721, 10, 9, _rationals(_XYZ_TO_SRGB), True),  # ColorMatrix1
        (50778, 3, 1, (21,), True),  # CalibrationIlluminant1: D65
        (50728, 5, 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
    ]
    cfa = [
        (33421, 3, 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, 1, 4, bytes([0, 1, 1, 2]), True),  # CFAPattern: R G / G B
        (50714, 4, 1, (0,), True),  # BlackLevel
        (50717, 4, 1, (white,), True),  # WhiteLevel
    ]
    opts = {"metadata": None, "software": False, "datetime": taken}
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        if preview is None:
            tw.write(mosaic, photometric=32803, subfiletype=0, extratags=ifd0 + cfa, **opts)
        else:
            preview = preview.convert("RGB")
            if preview_format == "jpeg":
                jpeg = io.BytesIO()
                preview.save(jpeg, "JPEG", quality=90, **({"exif": preview_exif} if preview_exif else {}))
                strip = jpeg.getvalue()
                if preview_exif and strip[2:4] == b"\xff\xe0":
                    # as cameras write it: the Exif segment right after SOI, no JFIF segment first
                    # (LibRaw puts the RAW's own EXIF in front of a preview that does not start so)
                    strip = strip[:2] + strip[4 + int.from_bytes(strip[4:6], "big"):]
                # tifffile writes the strip as given but asks for a JPEG encoder first, which only the
                # imagecodecs package has; the strip is a JPEG already, so an identity "encoder" does.
                encoders = tifffile.TIFF.COMPRESSORS._codecs
                had = 7 in encoders
                encoders.setdefault(7, lambda data, *args, **kwargs: data)
                try:
                    tw.write(iter([strip]), shape=(preview.height, preview.width, 3), dtype=np.uint8,
                             compression=7, photometric="ycbcr", subsampling=(1, 1), rowsperstrip=preview.height,
                             subfiletype=1, subifds=1, extratags=ifd0, **opts)
                finally:
                    if not had:
                        del encoders[7]
            else:
                tw.write(np.asarray(preview), photometric="rgb", subfiletype=1, subifds=1, extratags=ifd0, **opts)
            tw.write(mosaic, photometric=32803, subfiletype=0, extratags=cfa, metadata=None, software=False)
    data = buf.getvalue()
    if truncate is not None:
        data = data[:truncate]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


#: the EXIF a camera writes, as exiv2 keys (strings as exiv2 takes them)
CAMERA_EXIF = {
    "Exif.Image.Make": "Canon", "Exif.Image.Model": "Canon EOS R5",
    "Exif.Photo.DateTimeOriginal": "2024:06:15 18:30:12", "Exif.Photo.OffsetTimeOriginal": "+01:00",
    "Exif.Photo.SubSecTimeOriginal": "45",
    "Exif.Photo.ExposureTime": "1/250", "Exif.Photo.FNumber": "28/10", "Exif.Photo.ISOSpeedRatings": "400",
    "Exif.Photo.FocalLength": "50/1", "Exif.Photo.LensModel": "RF50mm F1.8 STM",
    # Lisbon: 38°43'12.34" N, 9°8'0" W, 100 m
    "Exif.GPSInfo.GPSLatitudeRef": "N", "Exif.GPSInfo.GPSLatitude": "38/1 43/1 1234/100",
    "Exif.GPSInfo.GPSLongitudeRef": "W", "Exif.GPSInfo.GPSLongitude": "9/1 8/1 0/1",
    "Exif.GPSInfo.GPSAltitudeRef": "0", "Exif.GPSInfo.GPSAltitude": "100/1",
}


def write_exif(path: Path, tags: dict | None = None, **more) -> Path:
    """Writes EXIF into a test photo (a copy the test made, never a user's) through exiv2.
    ``more`` are extra exiv2 keys with "__" for "." (Exif__Image__Model="X")."""
    import pyexiv2

    values = dict(CAMERA_EXIF if tags is None else tags)
    values.update({k.replace("__", "."): v for k, v in more.items()})
    with pyexiv2.Image(str(path)) as img:
        img.modify_exif(values)
    return path


def make_trip(root: Path) -> Path:
    """Photos that know about themselves: two from a Canon in Lisbon (June 2024), one from a Nikon
    in Paris (May 2023), a RAW from Christmas 2022 and a PNG without any metadata (file time 2020)."""
    import os

    from PIL import Image

    shots = [
        ("lisbon/sea.jpg", (40, 40, 200), {"Exif.Photo.DateTimeOriginal": "2024:06:15 18:30:12"}),
        ("lisbon/tram.jpg", (200, 200, 40), {"Exif.Photo.DateTimeOriginal": "2024:06:16 09:00:00"}),
        ("paris/tower.jpg", (200, 40, 40), {"Exif.Photo.DateTimeOriginal": "2023:05:01 12:00:00",
                                            "Exif.Image.Make": "NIKON CORPORATION", "Exif.Image.Model": "NIKON D850",
                                            "Exif.Photo.LensModel": "AF-S 24-70mm f/2.8E",
                                            "Exif.GPSInfo.GPSLatitude": "48/1 51/1 24/1",
                                            "Exif.GPSInfo.GPSLongitudeRef": "E",
                                            "Exif.GPSInfo.GPSLongitude": "2/1 21/1 8/1"}),
    ]
    for rel, colour, tags in shots:
        write_exif(draw_photo(root / rel, colour), {**CAMERA_EXIF, **tags})
    plain = draw_photo(root / "home" / "plain.png", (40, 200, 40), shape="square")
    os.utime(plain, ns=(1_600_000_000 * 10**9,) * 2)  # no date inside: its file time, 2020, stands in
    picture = Image.new("RGB", (96, 64), (200, 40, 200))
    write_dng(root / "home" / "IMG_0002.DNG", picture, preview=picture, taken="2022:12:24 20:00:00")
    return root


def duplicate_variants(folder: Path, scenes) -> dict[int, list[Path]]:
    """Per scene (a list of tinyclip ShapeSpecs): the original (512x512 PNG) and a resized, a
    recompressed and a cropped copy, in folder/scene<i>/."""
    import random

    import tinyclip

    out: dict[int, list[Path]] = {}
    for i, specs in enumerate(scenes):
        img = tinyclip.draw(specs, 512, 512, rng=random.Random(i))
        d = folder / f"scene{i}"
        d.mkdir(parents=True)
        original = d / "original.png"
        img.save(original)
        img.resize((256, 256), Image.Resampling.LANCZOS).save(d / "resized.png")
        img.save(d / "recompressed.jpg", quality=35)
        img.crop((20, 20, 492, 492)).save(d / "cropped.png")
        out[i] = [original, d / "resized.png", d / "recompressed.jpg", d / "cropped.png"]
    return out
