"""The browse listing in date-taken order carries each photo's month, for the grid's month
headers; the other orders do not."""

from __future__ import annotations

import os

from photoclip.core.filters import PhotoFilter

from helpers import draw_photo, write_exif


def test_the_date_order_listing_knows_each_photos_month(make_library, tmp_path):
    root = tmp_path / "photos"
    dated = {"b.jpg": "2024:06:20 10:00:00", "a.jpg": "2024:06:02 09:00:00", "c.jpg": "2023:12:24 18:00:00"}
    for i, (name, taken) in enumerate(dated.items()):
        write_exif(draw_photo(root / name, (40 + 60 * i, 90, 200 - 50 * i)), {"Exif.Photo.DateTimeOriginal": taken})
    lib = make_library()
    lib.index([str(root)])
    shown = lib.photo_listing()
    assert [os.path.basename(p) for p in shown.paths] == ["b.jpg", "a.jpg", "c.jpg"]
    assert list(shown.months) == [202406, 202406, 202312]
    assert shown.month_runs() == ([0, 2], [202406, 202312])
    assert list(lib.photo_listing(sort="taken", limit=2).months) == [202406, 202406]
    assert lib.photo_listing(PhotoFilter(after="2024-01-01")).month_runs() == ([0], [202406])
    assert lib.photo_listing(sort="name").months is None  # no months to head in name order
    assert lib.photo_listing(sort="size").months is None
