"""The built-in viewer: Enter or a double-click shows the grid's photo large inside the window,
←/→ follow the grid's order, Esc comes back to the same photo; zoom, slideshow, Space's Quick
Look, the keyboard in the grid, and a photo that cannot be decoded."""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from photoclip.gui import dialogs
from photoclip.gui.photo_model import PathRole

from gui_helpers import make_images, wait_idle


def window_with_photos(open_window, qtbot, tmp_path, n: int = 6, size=(96, 72)):
    w = open_window()
    make_images(tmp_path / "pics", n, size=size)
    w.jobs.add_folders([str(tmp_path / "pics")])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == n, timeout=30_000)
    return w


def grid_paths(w) -> list[str]:
    return [w.model.index(r).data(PathRole) for r in range(w.model.rowCount())]


def current_path(w) -> str:
    return w.grid.currentIndex().data(PathRole)


def select(w, row: int) -> None:
    w.grid.setFocus()
    w.grid.setCurrentIndex(w.model.index(row))


def shown(qtbot, viewer, path: str) -> None:
    qtbot.waitUntil(lambda: viewer.path == path and viewer.canvas.has_photo(), timeout=10_000)


def test_enter_opens_the_viewer_arrows_follow_the_grid_and_esc_returns(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path)
    order = grid_paths(w)
    select(w, 2)
    qtbot.keyClick(w.grid, Qt.Key.Key_Return)
    assert w.is_viewing() and w.viewer.isVisible() and not w.grid.isVisible()
    assert not w.sidebar.isVisible()
    shown(qtbot, w.viewer, order[2])
    assert w.viewer.position.text() == "3 / 6"

    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Right)
    shown(qtbot, w.viewer, order[3])
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Right)
    shown(qtbot, w.viewer, order[4])
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Left)
    shown(qtbot, w.viewer, order[3])
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_End)
    shown(qtbot, w.viewer, order[5])
    assert not w.viewer.step(1)  # the last photo: nothing after it
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Left)
    shown(qtbot, w.viewer, order[4])

    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Escape)
    assert not w.is_viewing() and w.grid.isVisible() and w.sidebar.isVisible()
    assert current_path(w) == order[4]  # the grid is at the photo last viewed
    assert w.grid.selectionModel().isSelected(w.grid.currentIndex())
    assert w.grid.hasFocus()
    assert w.grid.visualRect(w.grid.currentIndex()).intersects(w.grid.viewport().rect())


def test_double_click_opens_the_viewer_in_search_order(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path)
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_query("a green square", None)
    assert w.model.is_search
    order = grid_paths(w)
    rect = w.grid.visualRect(w.model.index(1))
    qtbot.mouseClick(w.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a double-click's first
    qtbot.mouseDClick(w.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.is_viewing()
    shown(qtbot, w.viewer, order[1])
    w.viewer.step(1)
    shown(qtbot, w.viewer, order[2])  # the next search result, not the next file
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Escape)
    assert current_path(w) == order[2] and w.model.is_search


def test_zoom_fit_100_percent_wheel_and_full_resolution(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path, n=2, size=(3000, 2000))
    select(w, 0)
    path = grid_paths(w)[0]
    qtbot.waitUntil(lambda: w.services.thumbnails.pixmap(path, w.grid.thumbnail_size()) is not None, timeout=10_000)
    assert w.open_viewer()
    v = w.viewer
    c = v.canvas
    # at once the grid's thumbnail, enlarged, stands in while the photo decodes
    assert c.placeholder and not c.has_photo() and c.photo_rect().width() > w.grid.thumbnail_size()
    shown(qtbot, v, path)
    assert not c.placeholder
    assert c.is_fit() and c.zoom() < 1.0  # a 3000 px photo fits the window
    assert c._fit_image.width() < 3000  # from a screen-sized decode
    fit = c.zoom()
    assert v.zoom_label.text() == f"Zoom {fit * 100:.0f} %"
    qtbot.keyClick(c, Qt.Key.Key_1)
    assert c.zoom() == 1.0 and v.zoom_label.text() == "Zoom 100 %"
    qtbot.waitUntil(c.has_full, timeout=10_000)  # every pixel decoded for 100 %
    qtbot.keyClick(c, Qt.Key.Key_F)
    assert c.is_fit() and c.zoom() == fit
    wheel = QWheelEvent(QPointF(c.width() / 2, c.height() / 2), QPointF(c.mapToGlobal(QPoint(10, 10))),
                        QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(c, wheel)
    assert c.zoom() > fit and not c.is_fit()
    # dragging pans the zoomed photo
    c.set_zoom(1.0)
    before = c.photo_rect()
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    qtbot.mouseMove(c, QPoint(150, 170))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPoint(150, 170))
    after = c.photo_rect()
    assert after.left() < before.left() and after.top() < before.top()


def test_the_slideshow_advances_and_stops(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path, n=3)
    order = grid_paths(w)
    select(w, 0)
    w.open_viewer()
    shown(qtbot, w.viewer, order[0])
    w.viewer.start_slideshow(interval_ms=150)
    shown(qtbot, w.viewer, order[1])
    shown(qtbot, w.viewer, order[2])
    shown(qtbot, w.viewer, order[0])  # round again
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Escape)  # the first Esc stops the slideshow
    assert w.is_viewing() and not w.viewer.slideshow.isActive()
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Escape)
    assert not w.is_viewing()


def test_details_beside_the_viewer_and_full_screen(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path, n=2)
    select(w, 1)
    w.open_viewer()
    assert not w.details.isVisible()
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_I)
    assert w.details.isVisible() and w.details.width() > 0
    qtbot.waitUntil(lambda: w.details.path == current_path(w), timeout=10_000)
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_F11)
    qtbot.waitUntil(w.isFullScreen, timeout=5_000)
    assert not w.viewer.bar.isVisible()
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Escape)  # leaves full screen first
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=5_000)
    assert w.is_viewing() and w.viewer.bar.isVisible()
    w.details.setFocus()  # Esc works wherever the focus is while viewing
    qtbot.keyClick(w.details, Qt.Key.Key_Escape)
    assert not w.is_viewing() and w.details.isVisible()


def test_space_previews_the_selected_photo_and_closes_it(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path, n=3)
    order = grid_paths(w)
    select(w, 1)
    qtbot.keyClick(w.grid, Qt.Key.Key_Space)
    ql = w.quick_look
    assert ql.isVisible() and not w.is_viewing()
    shown(qtbot, ql, order[1])
    qtbot.keyClick(ql.canvas, Qt.Key.Key_Right)
    shown(qtbot, ql, order[2])
    qtbot.keyClick(ql.canvas, Qt.Key.Key_Space)
    assert not ql.isVisible() and w.grid.hasFocus() and current_path(w) == order[2]
    qtbot.keyClick(w.grid, Qt.Key.Key_Space)
    assert ql.isVisible()
    qtbot.keyClick(ql.canvas, Qt.Key.Key_Escape)
    assert not ql.isVisible()
    qtbot.keyClick(w.grid, Qt.Key.Key_Space)
    qtbot.keyClick(ql.canvas, Qt.Key.Key_Return)  # from the preview into the viewer
    assert not ql.isVisible() and w.is_viewing()


def test_keyboard_in_the_grid_moves_extends_and_types_a_search(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path, n=12)
    select(w, 0)
    qtbot.keyClick(w.grid, Qt.Key.Key_Right)
    assert w.grid.currentIndex().row() == 1
    qtbot.keyClick(w.grid, Qt.Key.Key_End)
    assert w.grid.currentIndex().row() == 11
    qtbot.keyClick(w.grid, Qt.Key.Key_Home)
    assert w.grid.currentIndex().row() == 0
    qtbot.keyClick(w.grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(w.grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    selected = sorted(i.row() for i in w.grid.selectionModel().selectedIndexes())
    assert selected == [0, 1, 2]
    qtbot.keyClick(w.grid, Qt.Key.Key_Down)
    assert w.grid.currentIndex().row() > 2  # a row further down
    qtbot.keyClick(w.grid, Qt.Key.Key_PageDown)
    qtbot.keyClick(w.grid, Qt.Key.Key_PageUp)
    assert 0 <= w.grid.currentIndex().row() < 12

    w.open_viewer()
    w.actions.find.trigger()  # Ctrl+F while viewing: back to the grid, into the search bar
    assert not w.is_viewing() and w.search_bar.edit.hasFocus()
    w.grid.setFocus()
    qtbot.keyClicks(w.grid, "d")
    assert w.search_bar.edit.hasFocus() and w.search_bar.text() == "d"
    qtbot.keyClicks(w.search_bar.edit, "og")
    assert w.search_bar.text() == "dog"


def test_a_photo_that_cannot_be_decoded_shows_a_message(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path, n=2)
    w.services.watcher.enabled = False
    victim = grid_paths(w)[1]
    with open(victim, "r+b") as fh:  # damaged on disk after it was indexed
        fh.seek(20)
        fh.write(os.urandom(200))
        fh.truncate(300)
    select(w, 1)
    w.open_viewer()
    qtbot.waitUntil(lambda: w.viewer.canvas.message.startswith("Cannot show this photo"), timeout=10_000)
    assert not w.viewer.canvas.has_photo()
    w.viewer.step(-1)  # the others still show
    shown(qtbot, w.viewer, grid_paths(w)[0])


def test_without_a_launcher_the_window_says_so_and_offers_the_viewer(open_window, qtbot, tmp_path, monkeypatch):
    w = window_with_photos(open_window, qtbot, tmp_path, n=2)
    monkeypatch.setattr(dialogs, "open_path", lambda _path: False)
    select(w, 1)
    path = current_path(w)
    w.actions.open.trigger()
    box = w.findChild(QMessageBox, "noLauncherBox")
    assert box is not None and box.isVisible()
    assert "No application" in w.status.currentMessage()
    buttons = {b.text(): b for b in box.findChildren(QPushButton)}
    assert "View in photoclip" in buttons and "Copy path" in buttons
    buttons["View in photoclip"].click()
    assert w.is_viewing()
    shown(qtbot, w.viewer, path)
    w.close_viewer()

    w.actions.open.trigger()
    box = [b for b in w.findChildren(QMessageBox, "noLauncherBox") if b.isVisible()][0]
    {b.text(): b for b in box.findChildren(QPushButton)}["Copy path"].click()
    assert QApplication.clipboard().text() == path


def test_back_from_the_viewer_the_grid_is_where_it_was(open_window, qtbot, tmp_path):
    w = window_with_photos(open_window, qtbot, tmp_path, n=60)
    w.resize(900, 600)
    qtbot.wait(100)
    bar = w.grid.verticalScrollBar()
    assert bar.maximum() > 0  # more photos than fit
    bar.setValue(bar.maximum() // 2)
    qtbot.wait(50)
    row = w.grid.indexAt(w.grid.viewport().rect().center()).row()
    assert row > 0
    before = bar.value()
    rect = w.grid.visualRect(w.model.index(row))
    qtbot.mouseClick(w.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(w.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.is_viewing()
    shown(qtbot, w.viewer, grid_paths(w)[row])
    qtbot.keyClick(w.viewer.canvas, Qt.Key.Key_Escape)
    assert not w.is_viewing() and bar.value() == before and w.grid.currentIndex().row() == row
