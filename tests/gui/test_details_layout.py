"""The details panel never clips its buttons: a portrait photo's preview leaves room for the
details and the buttons, and a narrow panel wraps the buttons onto another row."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect

from photoclip.core.catalog import PhotoRecord
from photoclip.gui.details import DetailsPanel
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
