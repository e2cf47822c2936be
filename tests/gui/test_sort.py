"""The sort control: newest first, by name or largest first while browsing, and "Best match" too
while searching; each keeps its own choice, and the grid follows at once."""

from __future__ import annotations

import os

from photoclip.gui.photo_model import PathRole

from gui_helpers import wait_idle
from helpers import draw_photo


def names(w) -> list[str]:
    return [os.path.basename(w.model.index(r).data(PathRole)) for r in range(w.model.rowCount())]


def choose(qtbot, w, name: str) -> None:
    box = w.filter_bar.sort
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        box.setCurrentIndex(box.findText(name))


def test_the_grid_follows_the_chosen_order_browsing_and_searching(open_window, qtbot, tmp_path):
    w = open_window()
    folder = tmp_path / "Trip"
    # modified: b newest, then c, then a
    draw_photo(folder / "c.jpg", (200, 30, 30), size=(300, 200))
    draw_photo(folder / "b.png", (30, 200, 30), size=(500, 400))
    draw_photo(folder / "a.jpg", (30, 30, 200), size=(120, 90))
    for i, name in enumerate(["a.jpg", "c.jpg", "b.png"]):
        os.utime(folder / name, (1_700_000_000 + i * 1000, 1_700_000_000 + i * 1000))
    w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=30_000)
    box = w.filter_bar.sort
    assert [box.itemText(i) for i in range(box.count())] == ["Newest first", "By name", "Largest first"]
    assert names(w) == ["b.png", "c.jpg", "a.jpg"]  # newest first (file time: no date taken)
    choose(qtbot, w, "By name")
    assert names(w) == ["a.jpg", "b.png", "c.jpg"]
    choose(qtbot, w, "Largest first")
    largest = sorted(["a.jpg", "b.png", "c.jpg"], key=lambda n: -(folder / n).stat().st_size)
    assert names(w) == largest

    # a search offers (and starts with) the best match; its order is its own choice
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_query("a red photo", None)
    assert box.currentText() == "Best match" and w.model.is_search and w.model.rowCount() == 3
    choose(qtbot, w, "By name")
    assert names(w) == ["a.jpg", "b.png", "c.jpg"] and w.model.is_search
    # back to browsing: the browsing order chosen before
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_query("", None)
    assert box.currentText() == "Largest first" and names(w) == largest
