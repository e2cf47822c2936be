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
