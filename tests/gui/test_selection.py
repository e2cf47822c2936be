"""Many photos at once: Ctrl/Shift-click, a rubber band and Select all pick photos, the status bar
says how many, the details panel sums them up, and open, copy paths, tag, untag, export and
Move to trash act on all of them (the trash is a temporary one, via XDG_DATA_HOME)."""

from __future__ import annotations

import csv
import os

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from photoclip.gui import dialogs
from photoclip.gui.photo_model import PathRole

from gui_helpers import wait_idle
from helpers import draw_photo

COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (220, 220, 40), (20, 20, 20), (250, 250, 250)]


def _window(open_window, qtbot, tmp_path, n: int = 6):
    w = open_window()
    folder = tmp_path / "Trip"
    for i in range(n):
        draw_photo(folder / f"p{i}.jpg", COLOURS[i % len(COLOURS)], shape="circle" if i % 2 else "square")
    w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == n, timeout=30_000)
    w.grid.setFocus()
    return w, folder


def _click(w, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    grid = w.grid
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, modifier,
                     grid.visualRect(w.model.index(row)).center())


def _selected_names(w) -> list[str]:
    return [os.path.basename(p) for p in w.model.paths_of(w.grid.selected_rows())]


def test_ctrl_shift_click_rubber_band_and_select_all(open_window, qtbot, tmp_path):
    w, _ = _window(open_window, qtbot, tmp_path)
    status = w.status.selected
    _click(w, 0)
    assert w.grid.selected_count() == 1 and not status.isVisible()
    assert not w.details.many.isVisible()  # one photo: its own details
    _click(w, 2, Qt.KeyboardModifier.ControlModifier)
    assert w.grid.selected_rows() == [0, 2]
    assert status.isVisible() and status.text() == "2 selected"
    assert w.details.many.isVisible() and "2 photos selected" in w.details.many.text()
    assert "Trip" in w.details.many.text()  # the one folder they are in
    _click(w, 4, Qt.KeyboardModifier.ShiftModifier)  # a range from the last Ctrl+clicked one
    assert w.grid.selected_rows() == [0, 2, 3, 4] and status.text() == "4 selected"
    _click(w, 3, Qt.KeyboardModifier.ControlModifier)  # Ctrl+click takes one out again
    assert w.grid.selected_rows() == [0, 2, 4]
    assert not w.actions.find_similar.isEnabled() and w.actions.trash.isEnabled()

    # Edit > Select all (Ctrl+A in the grid)
    edit = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Edit")
    assert w.actions.select_all in edit.actions()
    QTest.keyClick(w.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert w.grid.selected_count() == 6 and status.text() == "6 selected"
    assert "6 photos selected" in w.details.many.text()
    w.actions.select_none.trigger()
    assert w.grid.selected_count() == 0 and not status.isVisible()

    # a rubber band dragged from the empty space after the last photo over the first row
    grid = w.grid
    last = grid.visualRect(w.model.index(5))
    start = QPoint(grid.viewport().width() - 5, last.bottom() + 20)
    if grid.indexAt(start).isValid() or start.y() >= grid.viewport().height():
        start = QPoint(last.right() + 10, last.center().y())
    assert not grid.indexAt(start).isValid()
    first = grid.visualRect(w.model.index(0))
    QTest.mousePress(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(grid.viewport(), first.center())
    QTest.mouseRelease(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, first.center())
    assert grid.selected_count() >= 2 and status.text() == f"{grid.selected_count()} selected"


def test_open_show_copy_tag_untag_and_export_act_on_the_selection(open_window, qtbot, tmp_path, monkeypatch):
    w, folder = _window(open_window, qtbot, tmp_path)
    lib = w.library
    QTest.keyClick(w.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    _click(w, 5, Qt.KeyboardModifier.ControlModifier)  # all but the last
    chosen = w.model.paths_of(w.grid.selected_rows())
    assert len(chosen) == 5

    opened, revealed = [], []
    monkeypatch.setattr(dialogs, "open_path", lambda p: opened.append(p) or True)
    monkeypatch.setattr(dialogs, "show_in_folder", lambda p: revealed.append(p) or True)
    w.actions.open.trigger()
    assert opened == chosen
    w.actions.show_folder.trigger()
    assert revealed == chosen[:1]  # one folder: shown once

    w.actions.copy_path.trigger()
    assert QGuiApplication.clipboard().text().splitlines() == chosen

    # Tag as…: the label field completes from the labels the library has
    w.jobs.add_tag("our cabin", [chosen[0]])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: "our cabin" in w.browser.labels, timeout=30_000)
    seen = {}

    def type_label(text):
        def run(dialog):
            completer = dialog.edit.completer()
            completer.setCompletionPrefix("cab")
            seen["completions"] = [completer.completionModel().index(i, 0).data()
                                   for i in range(completer.completionCount())]
            dialog.edit.setText(text)
            assert dialog.ok.isEnabled()
            return True
        return run

    monkeypatch.setattr(dialogs, "run_dialog", type_label("Boat trip"))
    w.actions.tag_as.trigger()
    wait_idle(qtbot, w)
    assert seen["completions"] == ["our cabin"]

    def user_labels(path):
        rec = lib.catalog.photo_by_path(path)
        return {t.label for t in lib.photo_tags(rec.id) if t.source == "user"}

    assert all("Boat trip" in user_labels(p) for p in chosen)
    last = w.model.index(5).data(PathRole)
    assert "Boat trip" not in user_labels(last)
    assert "Tagged 5 photos “Boat trip”" in w.status.message.text()

    # Remove tag… from two of them
    _click(w, 0)
    _click(w, 1, Qt.KeyboardModifier.ControlModifier)
    two = w.model.paths_of(w.grid.selected_rows())
    monkeypatch.setattr(dialogs, "run_dialog", type_label("boat trip"))  # any case
    w.actions.untag.trigger()
    wait_idle(qtbot, w)
    assert all("Boat trip" not in user_labels(p) for p in two)
    assert all("Boat trip" in user_labels(p) for p in chosen if p not in two)

    # Export their tags as CSV: only the selection's rows
    dest = tmp_path / "out" / "selection"
    dest.parent.mkdir()
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: str(dest))
    w.actions.export_selection.trigger()
    wait_idle(qtbot, w)
    with open(str(dest) + ".csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    exported = {r[0] for r in rows[1:]}
    assert exported == set(two)


def test_delete_moves_the_selection_to_the_trash_once_asked(open_window, qtbot, tmp_path, monkeypatch, trash_dir):
    w, folder = _window(open_window, qtbot, tmp_path)
    _click(w, 1)
    _click(w, 3, Qt.KeyboardModifier.ControlModifier)
    _click(w, 4, Qt.KeyboardModifier.ControlModifier)
    chosen = w.model.paths_of(w.grid.selected_rows())
    asked = []

    # Delete in the sidebar is not about the grid's photos
    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, message, ok: asked.append(message) or False)
    w.sidebar.setFocus()
    QTest.keyClick(w.sidebar, Qt.Key.Key_Delete)
    assert asked == []
    w.grid.setFocus()

    # "No" first: nothing happens
    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, message, ok: asked.append(message) or False)
    QTest.keyClick(w.grid, Qt.Key.Key_Delete)
    wait_idle(qtbot, w)
    assert len(asked) == 1 and "these 3 photos" in asked[0]
    assert all(os.path.exists(p) for p in chosen) and w.model.rowCount() == 6

    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, message, ok: asked.append(message) or True)
    QTest.keyClick(w.grid, Qt.Key.Key_Delete)
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=30_000)
    assert len(asked) == 2  # asked once for all three
    for p in chosen:
        assert not os.path.exists(p)
        assert (trash_dir / "files" / os.path.basename(p)).is_file()
    assert set(w.model.paths_of(range(3))).isdisjoint(chosen)
    assert w.library.photo_count() == 3
    assert "3 photos" in w.status.photos.text()
    assert "Moved 3 files to the trash" in w.status.message.text()
