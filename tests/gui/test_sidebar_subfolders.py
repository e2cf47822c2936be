"""The sidebar's folders open into their subfolders, each with its count; clicking one shows its
photos, with or without those of the folders below it ("Include subfolders")."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QTreeWidgetItem

from photoclip.core.catalog import Folder, Subfolder
from photoclip.core.filters import PhotoFilter
from photoclip.gui.photo_model import PathRole
from photoclip.gui.sidebar import Sidebar

from gui_helpers import wait_idle
from helpers import draw_photo

ROOT = "/photos/Trips"
LEVELS = {
    ROOT: (Subfolder(ROOT, 1, 7, 2), [Subfolder(f"{ROOT}/2023", 2, 4, 1), Subfolder(f"{ROOT}/Zoo", 3, 3, 0)]),
}
DEEPER = {f"{ROOT}/2023": (Subfolder(f"{ROOT}/2023", 2, 4, 1), [Subfolder(f"{ROOT}/2023/summer", 2, 2, 0)])}


def child_names(item: QTreeWidgetItem) -> list[tuple[str, str]]:
    return [(item.child(i).text(0), item.child(i).text(1)) for i in range(item.childCount())]


def test_a_folder_opens_into_its_subfolders_with_counts(qtbot):
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.set_content(7, [Folder(1, ROOT, 7, True)], [], {}, subfolders=LEVELS)
    top = sidebar.item_for(PhotoFilter(folder=ROOT))
    assert child_names(top) == [("2023", "4"), ("Zoo", "3")] and top.text(1) == "7"
    assert sidebar.wanted_subfolders() == [ROOT]
    year = sidebar.item_for(PhotoFilter(directory=f"{ROOT}/2023"))
    zoo = sidebar.item_for(PhotoFilter(directory=f"{ROOT}/Zoo"))
    policy = QTreeWidgetItem.ChildIndicatorPolicy
    assert year.childIndicatorPolicy() == policy.ShowIndicator  # it has a subfolder, not read yet
    assert zoo.childIndicatorPolicy() == policy.DontShowIndicatorWhenChildless

    # opening 2023 asks for its subfolders; they appear when they come
    top.setExpanded(True)
    with qtbot.waitSignal(sidebar.subfoldersRequested):
        year.setExpanded(True)
    assert sidebar.wanted_subfolders() == [ROOT, f"{ROOT}/2023"]
    sidebar.set_subfolders(DEEPER)
    assert child_names(year) == [("summer", "2")] and year.isExpanded()

    # clicking a subfolder shows its photos and those below it
    with qtbot.waitSignal(sidebar.filterChanged) as chosen:
        sidebar.tree.setCurrentItem(year)
    assert chosen.args == [PhotoFilter(directory=f"{ROOT}/2023")]
    assert not sidebar.remove_button.isEnabled()  # a subfolder is not removed from the library

    # "Include subfolders" off: only the photos directly in it, and the counts say so
    with qtbot.waitSignal(sidebar.filterChanged) as chosen:
        sidebar.set_include_subfolders(False)
    assert chosen.args == [PhotoFilter(directory=f"{ROOT}/2023", deeper=False)]
    assert top.text(1) == "1" and child_names(top) == [("2023", "2"), ("Zoo", "3")]
    assert sidebar.current_filter() == PhotoFilter(directory=f"{ROOT}/2023", deeper=False)
    sidebar.select(PhotoFilter(directory=ROOT, deeper=False))
    assert sidebar.tree.currentItem() is top and sidebar.selected_library_folder() == ROOT
    sidebar.set_include_subfolders(True)
    assert sidebar.current_filter() == PhotoFilter(folder=ROOT) and top.text(1) == "7"

    # the library grows: counts follow in place, a new subfolder appears, what was open stays open
    emitted = []
    sidebar.filterChanged.connect(emitted.append)
    grown = {ROOT: (Subfolder(ROOT, 1, 9, 3), [Subfolder(f"{ROOT}/2023", 2, 5, 1), Subfolder(f"{ROOT}/2024", 1, 1, 0),
                                               Subfolder(f"{ROOT}/Zoo", 3, 3, 0)]),
             f"{ROOT}/2023": (Subfolder(f"{ROOT}/2023", 2, 5, 1), [Subfolder(f"{ROOT}/2023/summer", 3, 3, 0)])}
    sidebar.set_content(9, [Folder(1, ROOT, 9, True)], [], {}, subfolders=grown)
    assert child_names(top) == [("2023", "5"), ("2024", "1"), ("Zoo", "3")] and top.text(1) == "9"
    year = sidebar.item_for(PhotoFilter(directory=f"{ROOT}/2023"))
    assert year.isExpanded() and child_names(year) == [("summer", "3")]
    assert sidebar.current_filter() == PhotoFilter(folder=ROOT) and sidebar.tree.currentItem() is top
    assert emitted == []

    # the folder in view is deleted: all photos are shown instead
    sidebar.tree.setCurrentItem(sidebar.item_for(PhotoFilter(directory=f"{ROOT}/2024")))
    assert emitted == [PhotoFilter(directory=f"{ROOT}/2024")]
    sidebar.set_subfolders({ROOT: (Subfolder(ROOT, 1, 8, 2), [Subfolder(f"{ROOT}/2023", 2, 5, 1),
                                                              Subfolder(f"{ROOT}/Zoo", 3, 3, 0)])})
    assert child_names(top) == [("2023", "5"), ("Zoo", "3")]
    assert emitted[-1] == PhotoFilter() and sidebar.tree.currentItem() is sidebar._all


def test_the_window_shows_a_subfolders_photos_with_or_without_the_deeper_ones(open_window, qtbot, tmp_path):
    root = tmp_path / "Trips"
    for i, rel in enumerate(["top.jpg", "2023/a.jpg", "2023/b.jpg", "2023/summer/c.jpg", "Zoo/d.png"]):
        draw_photo(root / rel, (30 + 40 * i, 200 - 30 * i, 90))
    w = open_window()
    w.jobs.add_folders([str(root)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 5, timeout=30_000)
    sidebar = w.sidebar
    top = sidebar.item_for(PhotoFilter(folder=str(root)))
    qtbot.waitUntil(lambda: child_names(top) == [("2023", "3"), ("Zoo", "1")], timeout=10_000)

    top.setExpanded(True)
    year = sidebar.item_for(PhotoFilter(directory=str(root / "2023")))
    year.setExpanded(True)  # read off the GUI thread
    qtbot.waitUntil(lambda: child_names(year) == [("summer", "1")], timeout=10_000)

    def shown() -> set[str]:
        return {os.path.relpath(w.model.index(r).data(PathRole), root) for r in range(w.model.rowCount())}

    with qtbot.waitSignal(w.resultsShown, timeout=10_000):
        sidebar.tree.setCurrentItem(year)
    assert shown() == {"2023/a.jpg", "2023/b.jpg", "2023/summer/c.jpg"}
    assert w.actions.include_subfolders.isChecked()
    with qtbot.waitSignal(w.resultsShown, timeout=10_000):
        w.actions.include_subfolders.trigger()  # View > Include subfolders, off
    assert shown() == {"2023/a.jpg", "2023/b.jpg"} and year.text(1) == "2"
    assert not sidebar.include_subfolders()
    with qtbot.waitSignal(w.resultsShown, timeout=10_000):
        sidebar.tree.setCurrentItem(top)
    assert shown() == {"top.jpg"}
    # a search stays inside the folder in view
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_query("a red photo", None)
    assert shown() <= {"top.jpg"}
    wait_idle(qtbot, w)
    w.save_state()  # the choice is kept for the next start
    assert w.settings.value("sidebar/includeSubfolders") in (False, "false")
