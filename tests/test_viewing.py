"""core.images.open_for_viewing, what the built-in viewer shows: a screen-sized decode of a large
JPEG (drafted) and its every pixel for 100 %, upright; a camera RAW from its embedded preview."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from helpers import write_dng
from photoclip.core import images
from photoclip.core.errors import ImageError

RED, GREEN = (200, 40, 40), (30, 190, 30)


def test_a_large_jpeg_shows_from_a_screen_sized_decode_upright(tmp_path):
    path = tmp_path / "big.jpg"
    im = Image.new("RGB", (4000, 3000), GREEN)
    im.paste(RED, (0, 0, 2000, 3000))  # the left half red: after turning, the top half
    exif = im.getexif()
    exif[0x0112] = 6  # taken with the camera turned: shown 3000 wide, 4000 high
    im.save(path, exif=exif.tobytes(), quality=85)

    t0 = time.perf_counter()
    fitted = images.open_for_viewing(str(path), (1280, 800))
    t_fit = time.perf_counter() - t0
    assert (fitted.width, fitted.height) == (3000, 4000)  # what 100 % shows
    assert fitted.image.size == (600, 800)  # fitted into the screen, upright
    assert fitted.image.getpixel((300, 100))[0] > 150 and fitted.image.getpixel((300, 700))[1] > 150
    t0 = time.perf_counter()
    full = images.open_for_viewing(str(path))
    t_full = time.perf_counter() - t0
    assert full.image.size == (3000, 4000)
    assert full.image.getpixel((1500, 100))[0] > 150 and full.image.getpixel((1500, 3900))[1] > 150
    assert t_fit < t_full  # the draft decode is the quick one


def test_a_small_photo_is_never_enlarged(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (120, 90), RED).save(path)
    view = images.open_for_viewing(str(path), (1920, 1080))
    assert view.image.size == (120, 90) and (view.width, view.height) == (120, 90)


def test_a_raw_shows_its_embedded_preview_turned_by_the_raws_orientation(tmp_path):
    pytest.importorskip("rawpy")
    preview = Image.new("RGB", (64, 48), GREEN)
    preview.paste(RED, (0, 0, 32, 48))
    mosaic = Image.new("RGB", (128, 96), (40, 40, 200))
    path = write_dng(tmp_path / "rot.dng", mosaic, preview=preview, orientation=6)
    view = images.open_for_viewing(str(path))
    assert view.image.size == (48, 64) and (view.width, view.height) == (48, 64)
    px = view.image.getpixel((24, 5))
    assert px[0] > 150 and px[1] < 100  # red on top: the preview, turned upright
    fitted = images.open_for_viewing(str(path), (24, 32))
    assert fitted.image.size == (24, 32)


def test_a_corrupt_file_is_an_image_error(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    with pytest.raises(ImageError):
        images.open_for_viewing(str(path), (800, 600))
