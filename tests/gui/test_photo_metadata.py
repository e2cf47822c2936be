"""The photos' own dates, cameras and places in the window: the filter bar, the sidebar's Years
and Places, and the details panel."""

from __future__ import annotations

import os

from photoclip.core.filters import PhotoFilter

from gui_helpers import wait_idle
from helpers import make_trip


def _names(window) -> list[str]:
    m = window.model
    return [os.path.basename(m.item(r).path) for r in range(m.rowCount())]


def test_filters_years_places_and_details_follow_what_the_photos_say(open_window, qtbot, tmp_path):
    root = make_trip(tmp_path / "trip")
    w = open_window()
    w.jobs.add_folders([str(root)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: len(_names(w)) == 5, timeout=30_000)
    assert _names(w) == ["tram.jpg", "sea.jpg", "tower.jpg", "IMG_0002.DNG", "plain.png"]  # newest first

    # the sidebar offers the years and places the photos carry
    sidebar = w.sidebar
    qtbot.waitUntil(lambda: not sidebar._years.isHidden() and not sidebar._places.isHidden(), timeout=10_000)
    years = [sidebar._years.child(i).text(0) for i in range(sidebar._years.childCount())]
    assert years == ["2024", "2023", "2022", "2020"]
    portugal = sidebar.item_for(PhotoFilter(place="Portugal"))
    assert portugal.text(1) == "2" and portugal.child(0).text(0) == "Lisbon"
    sidebar.tree.setCurrentItem(sidebar.item_for(PhotoFilter(after="2023-01-01", before="2023-12-31")))
    qtbot.waitUntil(lambda: _names(w) == ["tower.jpg"], timeout=10_000)
    sidebar.tree.setCurrentItem(portugal)
    qtbot.waitUntil(lambda: _names(w) == ["tram.jpg", "sea.jpg"], timeout=10_000)
    sidebar.select(None)
    qtbot.waitUntil(lambda: len(_names(w)) == 5, timeout=10_000)

    # the filter bar narrows browsing, shows it is on, and clears in one click
    bar = w.filter_bar
    assert not bar.clear_button.isVisibleTo(bar)
    cameras = [bar.camera.itemData(i) for i in range(bar.camera.count())]
    assert cameras == [None, "Canon EOS R5", "NIKON D850", "Photoclip Test DNG"]
    bar.camera.setCurrentIndex(bar.camera.findData("NIKON D850"))
    qtbot.waitUntil(lambda: _names(w) == ["tower.jpg"], timeout=10_000)
    assert bar.clear_button.isVisibleTo(bar) and bar.camera.font().bold()
    bar.camera.setCurrentIndex(0)
    bar.kind.setCurrentIndex(bar.kind.findData("raw"))
    qtbot.waitUntil(lambda: _names(w) == ["IMG_0002.DNG"], timeout=10_000)
    bar.clear_button.click()
    qtbot.waitUntil(lambda: len(_names(w)) == 5, timeout=10_000)
    assert not bar.clear_button.isVisibleTo(bar)

    # ... and search alike: a text query among the photos taken in Lisbon only
    bar.set_value(PhotoFilter(place="Lisbon"))
    w.search_bar.edit.setText("a red circle")
    qtbot.waitUntil(lambda: w.model.is_search and sorted(_names(w)) == ["sea.jpg", "tram.jpg"], timeout=20_000)
    bar.set_value(PhotoFilter(place="Lisbon", camera="NIKON D850"))
    qtbot.waitUntil(lambda: w.model.rowCount() == 0, timeout=10_000)
    assert "filters" in w.empty_hint.text()
    w.search_bar.edit.clear()
    bar.clear()

    # the details panel shows the camera, lens, exposure, place and date taken
    qtbot.waitUntil(lambda: len(_names(w)) == 5, timeout=10_000)
    w.grid.setCurrentIndex(w.model.index(_names(w).index("sea.jpg")))
    d = w.details
    qtbot.waitUntil(lambda: d.place.text().startswith("Lisbon, Portugal"), timeout=10_000)
    assert d.camera.text() == "Canon EOS R5\nRF50mm F1.8 STM"
    assert d.exposure.text() == "50 mm · f/2.8 · 1/250 s · ISO 400"
    assert d.date.text() == "15 Jun 2024, 18:30"
    w.grid.setCurrentIndex(w.model.index(_names(w).index("plain.png")))
    qtbot.waitUntil(lambda: d.date.text().endswith("(file date)"), timeout=10_000)
    assert not d.camera.isVisibleTo(d) and not d.place.isVisibleTo(d)  # rows it has nothing for are hidden


def test_the_details_of_a_raw_jpeg_pair_list_both_files(qtbot):
    from photoclip.core.catalog import PhotoRecord
    from photoclip.gui.details import DetailsPanel

    panel = DetailsPanel()
    qtbot.addWidget(panel)
    panel.show()
    rec = PhotoRecord(7, "/card/IMG_0001.JPG", "/card", 1000, 0, "fp", 96, 64, "2024-06-15T18:30:12", False,
                      taken_source="exif", kind="jpeg")
    panel.show_photo(rec, [], {}, ("/card/IMG_0001.CR2",))
    assert panel.pair.text().replace("\u200b", "") == "IMG_0001.CR2" and panel.pair.isVisibleTo(panel)
    panel.show_photo(rec, [], {}, ())
    assert not panel.pair.isVisibleTo(panel)
