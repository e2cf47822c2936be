"""The details panel never clips its buttons: a portrait photo's preview leaves room for the
details and the buttons, and a narrow panel wraps the buttons onto another row."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect

from photoclip.core.catalog import PhotoRecord
from photoclip.gui.details import DetailsPanel, _TagText
from photoclip.gui.thumbnails import ThumbnailLoader

from helpers import draw_photo


def inside(panel: DetailsPanel, widget) -> bool:
    rect = QRect(widget.mapTo(panel.viewport(), QPoint(0, 0)), widget.size())
    return panel.viewport().rect().contains(rect)


@pytest.mark.parametrize("size", [(220, 520), (300, 480), (420, 640)])
def test_a_portrait_photo_leaves_every_button_in_sight(qtbot, tmp_path, size):
    tall = draw_photo(tmp_path / "tall.jpg", (30, 40, 220), size=(600, 1800), bg=(30, 40, 220))
    loader = ThumbnailLoader(tmp_path / "cache", threads=1)
    panel = DetailsPanel(loader)
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    rec = PhotoRecord(1, str(tall), str(tmp_path), tall.stat().st_size, tall.stat().st_mtime_ns, "fp", 600, 1800,
                      "2024-06-15T18:30:12", False, taken_source="exif", kind="jpeg")
    panel.show_photo(rec, [], {}, ())
    qtbot.waitUntil(lambda: panel.preview.pixmap() is not None and not panel.preview.pixmap().isNull(),
                    timeout=20_000)
    qtbot.wait(50)  # the layout settles
    assert panel.preview.height() <= panel.viewport().height() * 0.5
    for button in (panel.open_button, panel.folder_button, panel.similar_button):
        assert button.isVisible() and inside(panel, button), (button.text(), size)
    loader.close()


@pytest.mark.parametrize("width", [230, 420])
def test_tag_rows_are_one_line_each_and_a_long_label_is_shortened_not_wrapped(qtbot, tmp_path, width):
    from photoclip.core.catalog import Tag

    photo = draw_photo(tmp_path / "p.jpg", (200, 100, 40))
    loader = ThumbnailLoader(tmp_path / "cache", threads=1)
    panel = DetailsPanel(loader)
    qtbot.addWidget(panel)
    panel.resize(width, 700)
    panel.show()
    qtbot.waitExposed(panel)
    rec = PhotoRecord(1, str(photo), str(tmp_path), photo.stat().st_size, photo.stat().st_mtime_ns, "fp", 96, 72,
                      "2024-06-15T18:30:12", False, taken_source="exif", kind="jpeg")
    long_label = "our cabin by the lake where grandma kept the boat"
    tags = [Tag("My tags", long_label, 1.0, "m", "user"), Tag("scenes", "beach", 0.42, "m"),
            Tag("events", "close-up of an object with a long name", 0.33, "m"), Tag("subjects", "dog", 0.2, "m")]
    panel.show_photo(rec, tags, {"scenes": [("beach", 0.42), ("forest", 0.31), ("city", 0.1)]}, ())
    qtbot.wait(50)
    rows = panel.tags._rows
    heights = {row.height() for row in rows}
    assert len(rows) == 4 and len(heights) == 1  # even rows, however long a label
    tops = [row.y() for row in rows[1:]]  # the three guesses, under their heading
    assert len({b - a for a, b in zip(tops, tops[1:])}) == 1, tops  # evenly spaced
    assert any(long_label in t.toolTip() for t in panel.tags.findChildren(_TagText))  # whole in its tooltip
    for row in rows:
        assert row.width() <= panel.viewport().width()  # never wider than the panel
    assert "scenes: beach 0.42, forest 0.31, city 0.10" in panel.labels.text()
    # a tag added by hand can be taken off; there is no confirmation to take back
    assert set(panel.tags.buttons[("yours", "My tags", long_label)]) == {"remove"}
    loader.close()
