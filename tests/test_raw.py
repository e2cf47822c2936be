"""Camera RAW through rawpy (LibRaw): real DNGs generated with tifffile, no binary files checked in.

The DNGs hold an RGGB Bayer mosaic with the CFA tags LibRaw needs to develop it, and optionally
an embedded preview (a JPEG, or an uncompressed bitmap) that differs in colour from the mosaic,
so each test can tell which of the two a decode used.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import write_dng
from photoclip.core import images
from photoclip.core.errors import ImageError
from photoclip.core.images import IMAGE_EXTENSIONS, RAW_EXTENSIONS, is_raw_path, make_thumbnail, open_image

rawpy = pytest.importorskip("rawpy")

RED, BLUE, GREEN = (200, 40, 40), (40, 40, 200), (30, 190, 30)


def halves(size=(128, 96)) -> Image.Image:
    """Left half red, right half blue."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] // 2, size[1]))
    return im


def quadrants(size=(128, 96)) -> Image.Image:
    w, h = size
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, w // 2, h // 2))
    im.paste(GREEN, (w // 2, h // 2, w, h))
    return im


def reddish(px) -> bool:
    return px[0] > 150 and px[1] < 100 and px[2] < 100


def bluish(px) -> bool:
    return px[2] > 150 and px[0] < 100 and px[1] < 100


def greenish(px) -> bool:
    return px[1] > 150 and px[0] < 100 and px[2] < 100


def reason(path, **kw) -> str:
    with pytest.raises(ImageError) as info:
        open_image(str(path), **kw)
    return str(info.value)


# --- which files are RAW ---------------------------------------------------------------


def test_every_raw_extension_is_a_photo():
    expected = {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".rw2", ".orf", ".pef",
                ".srw", ".rwl", ".3fr", ".iiq", ".x3f"}
    assert RAW_EXTENSIONS == expected
    assert expected <= IMAGE_EXTENSIONS
    assert is_raw_path("/x/IMG_0001.CR2") and is_raw_path("a.Dng") and not is_raw_path("a.jpg")


# --- development (no preview, or one too small) -------------------------------------------


def test_dng_without_preview_is_developed_by_libraw(tmp_path):
    path = write_dng(tmp_path / "plain.dng", halves())
    with rawpy.imread(str(path)) as raw:  # a real DNG: LibRaw sees the Bayer pattern
        assert raw.raw_type == rawpy.RawType.Flat and raw.num_colors == 3
        assert raw.raw_image.shape == (96, 128)
    full = open_image(str(path))
    assert full.image.mode == "RGB" and full.image.size == (128, 96)
    assert (full.width, full.height) == (128, 96)
    assert reddish(full.image.getpixel((10, 48))) and bluish(full.image.getpixel((118, 48)))


def test_half_size_development_when_it_is_still_big_enough(tmp_path):
    path = write_dng(tmp_path / "plain.dng", halves())
    half = open_image(str(path), min_size=48)
    assert half.image.size == (64, 48), "half-size development: one pixel per 2×2 Bayer block"
    assert (half.width, half.height) == (128, 96), "the recorded size is the developed image's"
    assert reddish(half.image.getpixel((5, 24))) and bluish(half.image.getpixel((59, 24)))
    # a half-size image would be smaller than the model needs: full development
    assert open_image(str(path), min_size=49).image.size == (128, 96)


def test_a_preview_smaller_than_the_model_input_is_not_used(tmp_path):
    path = write_dng(tmp_path / "small.dng", halves(), preview=Image.new("RGB", (40, 30), GREEN))
    loaded = open_image(str(path), min_size=32)
    assert reddish(loaded.image.getpixel((5, 24))), "developed from the mosaic, not the green preview"
    assert loaded.image.size == (64, 48)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_the_raws_own_flip_as_libraw_applies_it(tmp_path, orientation):
    path = write_dng(tmp_path / f"o{orientation}.dng", quadrants(), orientation=orientation)
    with rawpy.imread(str(path)) as raw:
        reference = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)  # LibRaw's own flip
    loaded = open_image(str(path), min_size=32)
    assert np.array_equal(np.asarray(loaded.image), reference)
    assert (loaded.width, loaded.height) == ((96, 128) if orientation >= 5 else (128, 96))
    if orientation == 6:  # 90° clockwise: the red top-left quadrant ends up top-right
        assert reddish(loaded.image.getpixel((40, 5))) and greenish(loaded.image.getpixel((5, 60)))


def test_date_taken_from_the_raw(tmp_path):
    dated = write_dng(tmp_path / "dated.dng", halves(), taken="2024:06:01 12:34:56")
    assert open_image(str(dated), min_size=32).taken_at == "2024-06-01T12:34:56"
    assert open_image(str(write_dng(tmp_path / "undated.dng", halves())), min_size=32).taken_at is None


# --- the embedded preview (fast path) ------------------------------------------------------


@pytest.mark.parametrize("kind", ["jpeg", "bitmap"])
def test_a_preview_as_big_as_the_model_input_is_used(tmp_path, kind):
    path = write_dng(tmp_path / "fast.dng", halves(), preview=Image.new("RGB", (64, 48), GREEN), preview_format=kind,
                     taken="2023:12:24 18:00:00")
    with rawpy.imread(str(path)) as raw:
        assert raw.extract_thumb().format == (rawpy.ThumbFormat.JPEG if kind == "jpeg" else rawpy.ThumbFormat.BITMAP)
    loaded = open_image(str(path), min_size=48)
    assert greenish(loaded.image.getpixel((5, 5))), "the preview, not a development"
    assert loaded.image.size == (64, 48)
    assert (loaded.width, loaded.height) == (128, 96), "the recorded size is the developed image's"
    if kind == "jpeg":
        assert loaded.taken_at == "2023-12-24T18:00:00"  # LibRaw writes the RAW's date into the preview
    # without a model size, only a full-size preview stands in for the RAW
    assert reddish(open_image(str(path)).image.getpixel((5, 5)))


def test_a_full_size_preview_stands_in_without_a_model_size(tmp_path):
    path = write_dng(tmp_path / "full.dng", halves(), preview=Image.new("RGB", (128, 96), GREEN))
    loaded = open_image(str(path))
    assert greenish(loaded.image.getpixel((5, 5))) and loaded.image.size == (128, 96)


def test_preview_without_its_own_orientation_takes_the_raws(tmp_path):
    preview = Image.new("RGB", (64, 48), GREEN)
    preview.paste(RED, (0, 0, 32, 48))
    path = write_dng(tmp_path / "rot.dng", halves(), preview=preview, orientation=6)
    loaded = open_image(str(path), min_size=48)
    assert loaded.image.size == (48, 64) and (loaded.width, loaded.height) == (96, 128)
    assert reddish(loaded.image.getpixel((24, 5))) and greenish(loaded.image.getpixel((24, 58)))


def test_preview_with_its_own_exif_orientation_keeps_it(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 3  # the preview says: turn me 180°
    preview = Image.new("RGB", (64, 48), GREEN)
    preview.paste(RED, (0, 0, 32, 48))
    path = write_dng(tmp_path / "own.dng", halves(), preview=preview, preview_exif=exif.tobytes())
    loaded = open_image(str(path), min_size=48)
    assert loaded.image.size == (64, 48)
    assert greenish(loaded.image.getpixel((5, 24))) and reddish(loaded.image.getpixel((58, 24)))


def test_a_damaged_preview_falls_back_to_development(tmp_path, monkeypatch):
    path = write_dng(tmp_path / "bad-preview.dng", halves(), preview=Image.new("RGB", (64, 48), GREEN))
    real = images._LibRaw.preview
    monkeypatch.setattr(images._LibRaw, "preview", lambda self, ok: (real(self, ok) or b"")[:400])
    loaded = open_image(str(path), min_size=48)
    assert reddish(loaded.image.getpixel((5, 24)))


# --- thumbnails ---------------------------------------------------------------------------


def test_thumbnail_from_the_preview_when_it_is_big_enough(tmp_path):
    path = write_dng(tmp_path / "t.dng", halves(), preview=Image.new("RGB", (64, 48), GREEN), orientation=6)
    thumb = make_thumbnail(str(path), 50)
    assert thumb.size == (38, 50) and greenish(thumb.getpixel((5, 5)))
    # larger than the preview: developed (and turned by the RAW's flip)
    big = make_thumbnail(str(path), 256)
    assert big.size == (96, 128) and reddish(big.getpixel((48, 5))) and bluish(big.getpixel((48, 122)))


def test_thumbnail_without_preview_is_developed_at_half_size(tmp_path):
    path = write_dng(tmp_path / "t.dng", halves((256, 192)))
    thumb = make_thumbnail(str(path), 100)
    assert thumb.size == (100, 75)
    assert reddish(thumb.getpixel((10, 37))) and bluish(thumb.getpixel((90, 37)))


# --- damaged and hostile files -----------------------------------------------------------


@pytest.mark.parametrize("keep", [100, 1000, 8000, -200])
def test_a_truncated_dng_is_a_readable_error(tmp_path, keep):
    whole = write_dng(tmp_path / "whole.dng", halves()).read_bytes()
    path = tmp_path / "cut.dng"
    path.write_bytes(whole[:keep])
    text = reason(path, min_size=32)
    assert text.startswith(("truncated or corrupt RAW file", "not a RAW file LibRaw can read")), text
    with pytest.raises(ImageError):
        make_thumbnail(str(path), 128)


def test_truncated_sensor_data_behind_a_small_preview_is_an_error(tmp_path):
    whole = write_dng(tmp_path / "whole.dng", halves(), preview=Image.new("RGB", (16, 12), GREEN)).read_bytes()
    path = tmp_path / "cut.dng"
    path.write_bytes(whole[:-500])
    assert reason(path, min_size=32).startswith("truncated or corrupt RAW file")


def test_garbage_named_like_a_raw(tmp_path):
    path = tmp_path / "IMG_0001.CR2"
    path.write_bytes(os.urandom(5000))
    assert reason(path).startswith("not a RAW file LibRaw can read")
    (tmp_path / "empty.nef").write_bytes(b"")
    assert reason(tmp_path / "empty.nef") == "empty file (0 bytes)"
    (tmp_path / "notes.arw").write_text("hello")
    assert "RAW" in reason(tmp_path / "notes.arw")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_like_a_raw_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "wait.dng"
    os.mkfifo(fifo)
    assert reason(fifo) == "not a regular file (a FIFO)"
    with pytest.raises(ImageError):
        make_thumbnail(str(fifo), 64)


def test_pixel_and_file_size_limits(tmp_path, monkeypatch):
    path = write_dng(tmp_path / "big.dng", halves(), preview=Image.new("RGB", (128, 96), GREEN))
    monkeypatch.setattr(images, "MAX_PIXELS", 128 * 96 - 1)
    assert reason(path, min_size=32).startswith("image too large")
    monkeypatch.setattr(images, "MAX_PIXELS", 10**8)
    monkeypatch.setattr(images, "MAX_RAW_BYTES", 1000)
    assert reason(path).startswith("file too large")


def test_without_rawpy_the_reason_says_so(tmp_path, monkeypatch):
    path = write_dng(tmp_path / "x.dng", halves())
    monkeypatch.setattr(images, "_rawpy_module", None)
    monkeypatch.setitem(sys.modules, "rawpy", None)  # import rawpy -> ImportError
    assert reason(path) == "camera RAW files need the rawpy package, which is not installed"


def test_raws_are_opened_read_only_and_never_modified(tmp_path):
    path = write_dng(tmp_path / "keep.dng", halves(), preview=Image.new("RGB", (64, 48), GREEN))
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    os.chmod(path, 0o444)
    open_image(str(path), min_size=32)
    open_image(str(path))
    make_thumbnail(str(path), 64)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
    assert sorted(os.listdir(tmp_path)) == ["keep.dng"]


@pytest.mark.parametrize("fd_path", [images._FD_PATH, None], ids=["reopened-fd", "bytes"])
def test_libraw_reads_the_checked_descriptor_never_the_path(tmp_path, monkeypatch, fd_path):
    """LibRaw opens the descriptor photoclip checked (or gets the bytes): a FIFO swapped in under
    the photo's name after the check cannot block it."""
    if images._FD_PATH is None and fd_path is not None:
        pytest.skip("no /proc/self/fd here")
    monkeypatch.setattr(images, "_FD_PATH", fd_path)
    opened: list[str] = []

    class Spy(rawpy.RawPy):
        def open_file(self, name):
            opened.append(name)
            return super().open_file(name)

    monkeypatch.setattr(rawpy, "RawPy", Spy)
    fast = write_dng(tmp_path / "fast.dng", halves(), preview=Image.new("RGB", (64, 48), GREEN))
    assert greenish(open_image(str(fast), min_size=48).image.getpixel((5, 5)))
    assert reddish(open_image(str(write_dng(tmp_path / "dev.dng", halves())), min_size=48).image.getpixel((5, 24)))
    cut = tmp_path / "cut.dng"
    cut.write_bytes((tmp_path / "dev.dng").read_bytes()[:8000])
    assert reason(cut, min_size=32).startswith("truncated or corrupt RAW file")
    assert all(name.startswith("/proc/self/fd/") for name in opened) and str(tmp_path) not in "".join(opened)
    assert bool(opened) == (fd_path is not None)
