"""The thumbnail loader: thumbnails arrive in the background, a broken file says why, requests
never start threads while the grid paints, and closing leaves no thread behind."""

from __future__ import annotations

import threading

from photoclip.gui.thumbnails import ThumbnailLoader

from gui_helpers import make_images


def test_thumbnails_arrive_from_the_loaders_own_threads_and_close_joins_them(qtbot, tmp_path):
    photos = make_images(tmp_path / "photos", 6, size=(640, 480))
    broken = tmp_path / "photos" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    loader = ThumbnailLoader(tmp_path / "cache", threads=2)
    arrived: list[str] = []
    loader.ready.connect(lambda path, size: arrived.append(path))
    threads_before = set(threading.enumerate())

    wanted = [str(p) for p in photos] + [str(broken)]
    for path in wanted:  # what painting the grid does: ask, get None while it loads
        assert loader.pixmap(path, 160) is None
    assert set(threading.enumerate()) == threads_before  # asking started no thread
    qtbot.waitUntil(lambda: set(arrived) == set(wanted), timeout=20_000)

    for path in map(str, photos):
        pixmap = loader.pixmap(path, 160)
        assert pixmap is not None and max(pixmap.width(), pixmap.height()) == 160
    assert loader.pixmap(str(broken), 160) is None and loader.error(str(broken))
    assert len(list((tmp_path / "cache").rglob("*.jpg"))) == len(photos)  # cached on disk
    assert loader.pending_count() == 0

    loader.close()
    assert not loader.is_running()
    assert not [t for t in threading.enumerate() if t.name.startswith("photoclip-thumbnails")]


def test_a_raw_gets_a_thumbnail_and_the_details_preview_size(qtbot, tmp_path):
    """RAW files go through the core like any photo: the embedded preview when it is big enough,
    else LibRaw's development (the details panel asks for PREVIEW_SIZE)."""
    import pytest

    pytest.importorskip("rawpy")
    from PIL import Image

    from helpers import write_dng
    from photoclip.gui.details import PREVIEW_SIZE
    from photoclip.gui.thumbnails import load_thumbnail

    picture = Image.new("RGB", (640, 480), (200, 40, 40))
    with_preview = write_dng(tmp_path / "photos" / "IMG_0001.DNG", picture,
                             preview=Image.new("RGB", (320, 240), (30, 190, 30)), orientation=6)
    bare = write_dng(tmp_path / "photos" / "IMG_0002.dng", picture)
    small = load_thumbnail(str(with_preview), 256, tmp_path / "cache")
    assert (small.width(), small.height()) == (192, 256)  # the preview, turned by the RAW's flip
    assert small.pixelColor(96, 128).green() > 150
    large = load_thumbnail(str(with_preview), PREVIEW_SIZE, tmp_path / "cache")
    assert (large.width(), large.height()) == (384, 512)  # developed: the preview is smaller
    assert large.pixelColor(192, 256).red() > 150

    loader = ThumbnailLoader(tmp_path / "cache", threads=1)
    arrived: list[str] = []
    loader.ready.connect(lambda path, size: arrived.append(path))
    assert loader.pixmap(str(bare), 160) is None
    qtbot.waitUntil(lambda: str(bare) in arrived, timeout=20_000)
    pixmap = loader.pixmap(str(bare), 160)
    assert pixmap is not None and (pixmap.width(), pixmap.height()) == (160, 120), loader.error(str(bare))
    loader.close()
    assert not loader.is_running()
