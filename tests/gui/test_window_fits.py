"""A window that fits: at 800x600 and 640x480 the grid keeps two columns (the details panel
narrows or folds away, the sidebar narrows) and nothing in the details panel is clipped; the
details come back when the window is wide again."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect

from gui_helpers import make_images, wait_idle


def inside(panel, widget) -> bool:
    rect = QRect(widget.mapTo(panel.viewport(), QPoint(0, 0)), widget.size())
    return panel.viewport().rect().adjusted(0, 0, 1, 1).contains(rect)


def test_the_grid_keeps_two_columns_on_small_screens(open_window, qtbot, tmp_path):
    w = open_window()
    folder = tmp_path / "a_folder_with_a_rather_long_name_and_no_spaces_at_all_in_it"
    make_images(folder, 12)
    long_name = folder / ("IMG_20240615_183012_some-camera-app-export_" + "x" * 40 + ".jpg")
    (folder / "photo_0000.jpg").rename(long_name)
    w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12, timeout=30_000)
    w.grid.setCurrentIndex(w.model.index(w.model.row_for_photo(w.library.photo_by_path(str(long_name)).id)))
    qtbot.waitUntil(lambda: w.details.path == str(long_name), timeout=10_000)

    for width, height in ((1400, 900), (800, 600), (640, 480)):
        w.resize(width, height)
        qtbot.wait(200)
        assert w.grid_columns() >= 2, (width, height, w.splitter.sizes())
        if w.details.isVisible() and w.details.width() > 0:
            for button in (w.details.open_button, w.details.folder_button, w.details.similar_button):
                assert inside(w.details, button), (width, button.text(), button.geometry(), w.details.viewport().rect(),
                                                   w.details.widget().geometry())
            assert w.details.widget().width() <= w.details.viewport().width()  # nothing wider than it
    assert w.splitter.sizes()[2] == 0  # at 640x480 the details folded away
    w.resize(1400, 900)
    qtbot.wait(200)
    assert w.splitter.sizes()[2] >= 200 and w.grid_columns() >= 2  # and came back
