"""Browsing in date-taken order, the grid heads each month ("June 2024") and starts its photos on
a new row; the headers are not photos: the keyboard, Ctrl+A, the counts, clicks and the viewer
skip them. Search results (best match first) and the name order have no headers; a resize
lays them out again for the new number of columns."""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest

from photoclip.gui.grid import GridLayout
from photoclip.gui.photo_model import PathRole

from gui_helpers import wait_idle
from helpers import draw_photo, write_exif

#: (file, date taken): newest first is June 2024 (2 photos), May 2024 (3), December 2023 (1)
PHOTOS = [("jun-b.jpg", "2024:06:20 10:00:00"), ("jun-a.jpg", "2024:06:02 09:00:00"),
          ("may-c.jpg", "2024:05:30 08:00:00"), ("may-b.jpg", "2024:05:12 12:00:00"),
          ("may-a.jpg", "2024:05:01 07:00:00"), ("dec.jpg", "2023:12:24 18:00:00")]
COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (220, 220, 40), (20, 20, 20), (250, 150, 50)]
MONTHS = ["June 2024", "May 2024", "December 2023"]
FIRSTS = [0, 2, 5]  # each month's first photo


def _window(open_window, qtbot, tmp_path):
    w = open_window()
    w.resize(1200, 800)
    folder = tmp_path / "Months"
    for (name, taken), colour in zip(PHOTOS, COLOURS):
        write_exif(draw_photo(folder / name, colour), {"Exif.Photo.DateTimeOriginal": taken})
    w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == len(PHOTOS), timeout=30_000)
    w.grid.set_thumbnail_size(96)
    qtbot.waitUntil(lambda: w.grid.columns() >= 4, timeout=10_000)
    w.grid.setFocus()
    return w


def names(w) -> list[str]:
    return [os.path.basename(w.model.index(r).data(PathRole)) for r in range(w.model.rowCount())]


def cell(w, row: int):
    return w.grid.visualRect(w.model.index(row))


def titles(w) -> list[str]:
    return [title for title, _rect in w.grid.header_rects()]


def assert_months_laid_out(w) -> None:
    """Each month's header spans the grid above its first photo, which starts a new row."""
    grid = w.grid
    headers = grid.header_rects(everywhere=True)
    assert [t for t, _ in headers] == MONTHS
    for (title, header), first in zip(headers, FIRSTS):
        rect = cell(w, first)
        assert rect.left() == 0, f"{title}'s first photo starts a row"
        assert header.left() == 0 and header.width() >= grid.viewport().width() - 2
        assert header.bottom() < rect.top() and rect.top() - header.bottom() <= 2, title
        if first:
            above = cell(w, first - 1)
            assert above.bottom() < header.top(), f"{title} comes below the month before"
    for row in range(len(PHOTOS)):  # no photo under a header, every photo at its own cell
        assert not any(h.intersects(cell(w, row)) for _, h in headers)
        assert grid.indexAt(cell(w, row).center()).row() == row


def test_months_are_headed_and_start_new_rows_and_a_resize_keeps_them(open_window, qtbot, tmp_path):
    w = _window(open_window, qtbot, tmp_path)
    assert names(w) == [n for n, _ in PHOTOS]  # newest first, by the date taken
    assert_months_laid_out(w)
    # the header is painted: text-coloured pixels in its band, none over the photos' rows
    shot = w.grid.viewport().grab().toImage()
    base = w.grid.palette().color(QPalette.ColorRole.Base)
    _, band = w.grid.header_rects()[1]
    inked = sum(QColor(shot.pixel(x, y)) != base for y in range(band.top(), band.bottom(), 2)
                for x in range(band.left(), min(band.right(), 300), 2))
    assert inked > 20
    # narrower: fewer columns; the months still start rows under their headers
    columns = w.grid.columns()
    w.resize(520, 800)
    qtbot.waitUntil(lambda: w.grid.columns() < columns, timeout=10_000)
    assert w.grid.columns() <= 2
    assert_months_laid_out(w)
    # a bigger thumbnail size (zoom) too
    w.grid.zoom_in()
    assert_months_laid_out(w)


def test_keyboard_selection_clicks_and_the_viewer_skip_the_headers(open_window, qtbot, tmp_path):
    w = _window(open_window, qtbot, tmp_path)
    grid = w.grid
    grid.setCurrentIndex(w.model.index(1))  # June's last photo
    QTest.keyClick(grid, Qt.Key.Key_Right)
    assert grid.currentIndex().row() == 2  # May's first, past the header
    QTest.keyClick(grid, Qt.Key.Key_Up)
    assert grid.currentIndex().row() == 0  # June's row, same column
    QTest.keyClick(grid, Qt.Key.Key_Down)
    assert grid.currentIndex().row() == 2
    QTest.keyClick(grid, Qt.Key.Key_Down)
    assert grid.currentIndex().row() == 5  # December
    QTest.keyClick(grid, Qt.Key.Key_Left)
    assert grid.currentIndex().row() == 4
    QTest.keyClick(grid, Qt.Key.Key_Home)
    assert grid.currentIndex().row() == 0
    QTest.keyClick(grid, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)  # Shift extends
    assert grid.selected_rows() == list(range(6)) and w.status.selected.text() == "6 selected"
    QTest.keyClick(grid, Qt.Key.Key_PageUp)
    assert grid.currentIndex().row() in range(6) and grid.selected_count() == 1

    w.actions.select_none.trigger()
    QTest.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert grid.selected_count() == 6 and w.status.selected.text() == "6 selected"
    assert "6 photos selected" in w.details.many.text()
    assert w.status.photos.text().startswith("6 ")  # the photo count: photos, not headers
    urls = grid.drag_mime().urls()  # a drag out of the grid carries the photos, in grid order
    assert [os.path.basename(u.toLocalFile()) for u in urls] == [n for n, _ in PHOTOS]

    # a click on a header is a click beside the photos: nothing is selected
    _, header = grid.header_rects()[1]
    assert not grid.indexAt(header.center()).isValid()
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, header.center())
    assert grid.selected_count() == 0
    # Shift+click from June's first photo to May's last selects the photos between, no header
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     cell(w, 0).center())
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     cell(w, 4).center())
    assert grid.selected_rows() == [0, 1, 2, 3, 4]
    # a rubber band from the header of May down over May's photos picks only photos
    QTest.mousePress(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(header.right() - 5, header.center().y()))
    QTest.mouseMove(grid.viewport(), cell(w, 3).center())
    QTest.mouseRelease(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, cell(w, 3).center())
    assert grid.selected_rows() == [3, 4]

    # the viewer steps from June's last photo to May's first
    grid.setCurrentIndex(w.model.index(1))
    assert w.open_viewer()
    qtbot.waitUntil(lambda: w.viewer.path == w.model.index(1).data(PathRole), timeout=10_000)
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: w.viewer.path == w.model.index(2).data(PathRole), timeout=10_000)
    assert w.viewer.position.text() == "3 / 6"
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not w.is_viewing(), timeout=10_000)
    assert grid.currentIndex().row() == 2


def test_no_headers_for_search_results_or_the_name_order(open_window, qtbot, tmp_path):
    w = _window(open_window, qtbot, tmp_path)
    assert titles(w) == MONTHS
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_query("a red photo", None)
    assert w.model.is_search and w.model.rowCount() == len(PHOTOS)
    assert titles(w) == [] and cell(w, 0).top() == 0  # best match first, no month to head
    box = w.filter_bar.sort
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        box.setCurrentIndex(box.findText("Newest first"))  # the results by date: headed by month again
    assert w.model.is_search and titles(w) == MONTHS
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_query("", None)
    assert titles(w) == MONTHS
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        box.setCurrentIndex(box.findText("By name"))
    assert names(w) == sorted(n for n, _ in PHOTOS) and titles(w) == []
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        box.setCurrentIndex(box.findText("Newest first"))
    assert titles(w) == MONTHS


def test_the_layout_of_a_million_photos_is_a_few_numbers_per_month():
    # 1,000,000 photos over 1,000 months of 1,000, 5 columns: 200 rows a month
    starts = list(range(0, 1_000_000, 1000))
    lay = GridLayout(1_000_000, starts, 5, 180, 200, 40)
    assert lay.height == 1000 * (40 + 200 * 200)
    assert lay.rect(1000) == (0, 40 + 200 * 200 + 40)  # the second month: below its header
    assert lay.row_at(10, 5) == -1  # on the first header
    assert lay.row_at(10, 45) == 0
    assert lay.row_at(5 * 180 + 1, 45) == -1  # right of the last column
    assert lay.down(995) == 1000 and lay.down(999) == 1004  # a month's last row, down: the next's first
    assert lay.up(1003) == 998  # and back, in the same column
    top = lay.tops[500]
    assert lay.rows_between(top, top + 39) == range(0)  # only a header in view
    assert list(lay.rows_between(top, top + 40 + 199)) == list(range(500_000, 500_005))
    assert GridLayout(7, [], 3, 100, 100, 40).height == 300  # no months: no headers
    short = GridLayout(7, [0, 4], 3, 100, 100, 40)  # 4 + 3 photos
    assert short.down(2) == 3 and short.down(3) == 4 and short.up(6) == 3


def _grid_on_screen(qtbot, width: int, height: int):
    """(model, grid): an empty photo grid shown at ``width`` x ``height``, no window around it."""
    from photoclip.gui.grid import PhotoGrid
    from photoclip.gui.photo_model import PhotoModel

    model = PhotoModel()
    grid = PhotoGrid()
    grid.setModel(model)
    qtbot.addWidget(grid)
    grid.resize(width, height)
    grid.show()
    qtbot.waitExposed(grid)
    return model, grid


def test_photos_without_a_date_come_last_under_no_date(qtbot):
    import array

    from photoclip.core.catalog import PhotoListing
    from photoclip.gui.photo_model import month_label

    assert month_label(202406) == "June 2024" and month_label(199901) == "January 1999"
    assert month_label(0) == "No date"
    model, grid = _grid_on_screen(qtbot, 900, 700)
    paths = [f"/photos/{n}.jpg" for n in "abcd"]
    listing = PhotoListing(array.array("q", range(4)), paths, months=array.array("q", [202406, 202406, 202405, 0]))
    model.set_listing(listing)
    assert [t for t, _ in grid.header_rects()] == ["June 2024", "May 2024", "No date"]
    assert grid.visualRect(model.index(3)).left() == 0
    ranked = PhotoListing(array.array("q", range(4)), paths, [0.9, 0.8, 0.7, 0.6])
    model.set_listing(ranked, is_search=True)  # ranked by relevance: no months to head
    assert grid.header_rects() == [] and grid.visualRect(model.index(1)).top() == 0


def test_paging_and_scrolling_to_a_month_show_its_header(qtbot):
    import array

    from PySide6.QtWidgets import QAbstractItemView

    from photoclip.core.catalog import PhotoListing

    model, grid = _grid_on_screen(qtbot, 700, 600)
    months = [202406] * 50 + [202405] * 7 + [202404] * 60  # 117 photos, three months
    listing = PhotoListing(array.array("q", range(len(months))), [f"/p/{i}.jpg" for i in range(len(months))],
                           months=array.array("q", months))
    model.set_listing(listing)
    grid.setFocus()
    grid.setCurrentIndex(model.index(0))
    bar = grid.verticalScrollBar()
    QTest.keyClick(grid, Qt.Key.Key_PageDown)
    row = grid.currentIndex().row()
    assert row > grid.columns() and grid.visualRect(grid.currentIndex()).bottom() <= grid.viewport().height()
    QTest.keyClick(grid, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ShiftModifier)
    assert grid.selected_rows() == list(range(row, grid.currentIndex().row() + 1))
    QTest.keyClick(grid, Qt.Key.Key_End)
    assert grid.currentIndex().row() == len(months) - 1 and bar.value() == bar.maximum()
    # scrolled to a month's first photo, its header comes into view above it
    grid.scrollTo(model.index(57), QAbstractItemView.ScrollHint.PositionAtTop)
    title, header = grid.header_rects()[0]
    assert title == "April 2024" and header.top() == 0
    assert grid.visible_rows().start == 57
