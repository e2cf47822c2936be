"""The main window end to end: drop a folder, search, tag sets, export, responsiveness, shutdown."""

from __future__ import annotations

import csv
import os
import time

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from photoclip.core.filters import PhotoFilter
from photoclip.core.search import split_weak
from photoclip.gui import dialogs
from photoclip.gui.photo_model import PathRole, PhotoIdRole, ScoreRole

from gui_helpers import make_images, photoclip_threads, wait_idle


def drop_folder(window, folder) -> bool:
    """Drop ``folder`` on the middle of the window the way a file manager does: a drag-enter then
    a drop, delivered to the window's QWindow so Qt picks the target widget under the cursor."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    target = window.windowHandle()
    pos = QPointF(window.center.mapTo(window, window.center.rect().center()))
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    accepted = enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return accepted and drop.isAccepted()


def indexed_window(open_window, qtbot, tmp_path, n=12):
    w = open_window()
    folder = tmp_path / "Holiday"
    make_images(folder, n)
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        assert drop_folder(w, folder)
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == n, timeout=10_000)
    return w, folder


def test_window_opens_and_dropped_folder_fills_grid(open_window, qtbot, tmp_path):
    w = open_window()
    assert w.isVisible()
    assert w.model.rowCount() == 0
    assert w.center.currentWidget() is w.empty_hint  # "drag folders here" is shown on an empty library
    folder = tmp_path / "Holiday 2024"
    make_images(folder, 24)
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        assert drop_folder(w, folder)
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 24, timeout=10_000)
    assert w.center.currentWidget() is w.grid
    paths = {w.model.index(r).data(PathRole) for r in range(24)}
    assert paths == {str(p) for p in sorted(folder.iterdir())}
    # the sidebar lists the folder with its count
    item = w.sidebar.item_for(PhotoFilter(folder=str(folder)))
    assert item is not None and item.text(1) == "24"
    # thumbnails arrive in the background and land in the disk cache
    qtbot.waitUntil(lambda: w.model.index(0).data(Qt.ItemDataRole.DecorationRole) is not None, timeout=20_000)
    assert list((w.library.root / "thumbnails").rglob("*.jpg"))
    # clicking the folder in the sidebar filters the grid to it
    with qtbot.waitSignal(w.resultsShown, timeout=10_000):
        w.sidebar.select(PhotoFilter(folder=str(folder)))
    assert w.model.rowCount() == 24


def test_typing_a_query_shows_results_by_score(open_window, qtbot, tmp_path):
    w, _ = indexed_window(open_window, qtbot, tmp_path, n=30)
    with qtbot.waitSignal(w.resultsShown, timeout=30_000) as blocker:
        qtbot.keyClicks(w.search_bar.edit, "red square")
    assert blocker.args[0] == w.model.rowCount() > 0
    scores = [w.model.index(r).data(ScoreRole) for r in range(w.model.rowCount())]
    assert all(s is not None for s in scores)
    assert all(a >= b - 1e-6 for a, b in zip(scores, scores[1:])), scores
    assert w.model.is_search
    # the same query through the core gives the same order
    expected = [r.path for r in w.library.search("red square", limit=len(scores))]
    assert [w.model.index(r).data(PathRole) for r in range(len(scores))] == expected
    # Esc clears the search and goes back to browsing every photo
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        qtbot.keyClick(w.search_bar.edit, Qt.Key.Key_Escape)
    assert w.search_bar.text() == ""
    assert not w.model.is_search and w.model.rowCount() == 30


def test_search_as_you_type_shows_only_the_latest_query(open_window, qtbot, tmp_path, monkeypatch):
    w, _ = indexed_window(open_window, qtbot, tmp_path, n=20)
    calls: list[str] = []
    real_search = type(w.library).search

    def slow_search(self, text=None, image=None, **kw):
        calls.append(text)
        time.sleep(0.4)  # a slow search: later keystrokes arrive while it runs
        return real_search(self, text, image, **kw)

    monkeypatch.setattr(type(w.library), "search", slow_search)
    shown: list[int] = []
    w.resultsShown.connect(shown.append)
    for text in ("b", "bl", "blu", "blue", "blue s", "blue sq", "blue squ", "blue square"):
        w.search_bar.setText(text)
        qtbot.wait(60)  # typing faster than the debounce
    qtbot.wait(300)  # let the first debounced search start
    w.search_bar.setText("green circle")
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        pass
    wait_idle(qtbot, w)
    qtbot.wait(200)
    # one search per pause in typing, not one per keystroke; the shown results are the last query's
    assert calls[-1] == "green circle"
    assert len(calls) <= 3, calls
    assert len(shown) == 1, shown
    expected = [r.path for r in split_weak(real_search(w.library, "green circle", limit=200))[0]]
    assert [w.model.index(r).data(PathRole) for r in range(w.model.rowCount())] == expected


def test_new_tag_set_tags_photos_and_details_show_them(open_window, qtbot, tmp_path, monkeypatch):
    from photoclip.gui.tagset_editor import TagSetEditor

    w, _ = indexed_window(open_window, qtbot, tmp_path, n=10)
    seen = {}

    def fill_and_accept(dialog):
        assert isinstance(dialog, TagSetEditor)
        seen["dialog"] = dialog
        # drive the real editor: type into its fields, then accept it
        dialog.name_edit.setText("colours")
        dialog.labels_edit.setPlainText("red thing\ngreen thing\nblue thing")
        dialog.accept()
        return dialog.result() == dialog.DialogCode.Accepted

    monkeypatch.setattr(dialogs, "run_dialog", fill_and_accept)
    with qtbot.waitSignal(w.services.worker.finished, timeout=60_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Tagging with")):
        w.actions.new_tag_set.trigger()
    wait_idle(qtbot, w)
    assert "dialog" in seen
    assert any(ts.name == "colours" for ts in w.library.tag_sets())
    counts = w.library.tag_counts()["colours"]
    assert sum(counts.values()) == 10  # single mode: one label per photo
    # the sidebar shows the new set with its tags and counts
    qtbot.waitUntil(lambda: w.sidebar.item_for(PhotoFilter(tag=("colours", "red thing"))) is not None, timeout=10_000)
    # selecting a photo shows its tags in the details panel
    with qtbot.waitSignal(w.browser.detailsShown, timeout=30_000):
        w.grid.setCurrentIndex(w.model.index(0))
    pid = w.model.index(0).data(PhotoIdRole)
    tag = next(t for t in w.library.photo_tags(pid) if t.tag_set == "colours")
    assert "colours" in w.details.tags.text() and tag.label in w.details.tags.text()
    # the best labels need the model in memory: they follow in a read of their own
    qtbot.waitUntil(lambda: "colours" in w.details.labels.text(), timeout=10_000)
    assert w.details.name.text()
    # clicking a tag in the sidebar filters the grid to the photos with that tag
    label, n = max(counts.items(), key=lambda kv: kv[1])
    with qtbot.waitSignal(w.resultsShown, timeout=10_000) as blocker:
        w.sidebar.select(PhotoFilter(tag=("colours", label)))
    assert blocker.args[0] == n == w.model.rowCount()


def test_export_action_writes_csv_that_parses(open_window, qtbot, tmp_path, monkeypatch):
    w, folder = indexed_window(open_window, qtbot, tmp_path, n=8)
    dest = tmp_path / "out" / "tags.csv"
    dest.parent.mkdir()
    asked = []
    monkeypatch.setattr(dialogs, "ask_save_path",
                        lambda parent, caption, default, flt: asked.append(caption) or str(dest))
    with qtbot.waitSignal(w.services.worker.finished, timeout=60_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Exporting")):
        w.actions.export.trigger()
    assert asked
    with open(dest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "export wrote no rows"
    assert {"path", "tag_set", "tag", "score"} <= set(rows[0])
    assert {r["path"] for r in rows} == {str(p) for p in folder.iterdir()}
    for r in rows:
        assert 0.0 <= float(r["score"]) <= 1.0
    wait_idle(qtbot, w)
    assert "Exported" in w.status.message.text()


def test_gui_never_blocked_while_indexing(open_window, qtbot, tmp_path):
    w = open_window()
    folder = tmp_path / "many"
    make_images(folder, 200, size=(320, 240))
    gaps: list[tuple[float, float]] = []  # (wall gap, GUI-thread CPU time in that gap)
    last = [time.perf_counter(), time.thread_time()]

    def tick():
        now, cpu = time.perf_counter(), time.thread_time()
        gaps.append((now - last[0], cpu - last[1]))
        last[0], last[1] = now, cpu

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    load_before = os.getloadavg()[0]
    with qtbot.waitSignal(w.services.worker.finished, timeout=300_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(folder)])
        last[0], last[1] = time.perf_counter(), time.thread_time()
        timer.start()
    timer.stop()
    load = max(load_before, os.getloadavg()[0])
    wait_idle(qtbot, w)
    assert w.model.rowCount() == 200
    worst, worst_cpu = max(gaps)
    busiest = max(c for _, c in gaps)
    walls = sorted(g for g, _ in gaps)
    print(f"\nworst event-loop gap while indexing 200 images: {worst * 1000:.1f} ms "
          f"(GUI thread busy {worst_cpu * 1000:.1f} ms of it; p99 {walls[int(len(walls) * 0.99)] * 1000:.1f} ms; "
          f"longest GUI-thread work {busiest * 1000:.1f} ms; {len(gaps)} ticks; load average {load:.1f} "
          f"on {os.cpu_count()} CPUs)")
    # Our own work on the GUI thread must never block it ...
    assert busiest < 0.050, f"the GUI thread worked {busiest * 1000:.0f} ms without returning to the event loop"
    overloaded = load > (os.cpu_count() or 1)  # other processes want more CPUs than there are
    if not overloaded:
        assert worst < 0.100, f"GUI thread blocked for {worst * 1000:.0f} ms"
    else:
        # ... and on a machine this overloaded by other processes, waiting for a CPU adds delay
        # that is not ours; still, the window must stay usable.
        assert worst < 0.500, f"GUI thread blocked for {worst * 1000:.0f} ms (load average {load:.1f})"


def test_closing_mid_indexing_stops_threads_and_library_reopens(open_window, qtbot, tmp_path, make_library):
    w = open_window()
    folder = tmp_path / "big"
    make_images(folder, 200, size=(320, 240))
    before = set(photoclip_threads())
    embedding = []
    w.services.worker.progress.connect(lambda job, p: p.phase == "embedding" and p.done > 0 and embedding.append(p))
    w.jobs.add_folders([str(folder)])
    qtbot.waitUntil(lambda: bool(embedding), timeout=120_000)
    t0 = time.monotonic()
    w.close()
    took = time.monotonic() - t0
    print(f"\nclosing mid-indexing took {took:.2f} s")
    assert not w.services.worker.is_running()
    assert not w.services.queries.is_running()
    assert not w.services.threads_running()
    leftover = [n for n in photoclip_threads() if n not in before]
    assert not leftover, leftover
    assert took < 5.0
    root = w.library.root
    lib = make_library(root)
    assert 0 < lib.catalog.photo_count() <= 200
    assert lib.search("anything", limit=5)
    report = lib.index()
    assert lib.catalog.photo_count() == 200
    assert report.added + report.unchanged >= 200 or lib.catalog.photo_count() == 200


def test_thumbnail_size_and_splitter_persist(open_window, qtbot, gui_settings, make_library):
    w = open_window()
    w.grid.set_thumbnail_size(256)
    w.splitter.setSizes([300, 500, 250])
    w.splitter.splitterMoved.emit(300, 1)  # as the user's drag of a handle says
    sizes = w.splitter.sizes()
    w.close()
    gui_settings.sync()
    assert int(gui_settings.value("grid/thumbnailSize")) == 256
    from photoclip.gui.app import create_main_window

    w2 = create_main_window(make_library(), gui_settings, rescan_on_start=False)
    qtbot.addWidget(w2)
    w2.show()
    qtbot.waitExposed(w2)
    assert w2.grid.thumbnail_size() == 256
    assert w2.size_slider.value() == 256
    w2.resize(w.size())  # the offscreen screen may be smaller than the window was: give it the room again
    qtbot.waitUntil(lambda: abs(w2.splitter.sizes()[0] - sizes[0]) <= 2 and abs(w2.splitter.sizes()[2] - sizes[2]) <= 2,
                    timeout=5_000)
    w2.close()
    assert not w2.services.threads_running()


def test_a_refresh_that_changes_nothing_leaves_the_grid_in_place(open_window, qtbot, tmp_path):
    """While photos are indexed the grid is re-read every few seconds; when nothing changed (e.g.
    while photos are tagged) the grid is not reset: no relayout, the selection and scroll stay."""
    w, folder = indexed_window(open_window, qtbot, tmp_path, n=30)
    w.resize(500, 400)
    w.grid.set_thumbnail_size(128)
    qtbot.wait(100)  # the panels make room for the grid's two columns
    resets = []
    w.model.modelAboutToBeReset.connect(lambda: resets.append(time.monotonic()))
    w.grid.setCurrentIndex(w.model.index(20))
    bar = w.grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=10_000)
    bar.setValue(bar.maximum())
    position, current = bar.value(), w.model.index(20).data(PhotoIdRole)
    with qtbot.waitSignal(w.resultsShown, timeout=10_000):
        w.browser.refresh_results()
    assert resets == [] and bar.value() == position
    assert w.grid.currentIndex().data(PhotoIdRole) == current
    # a photo that arrived is shown by the next refresh (and the grid keeps the selected photo)
    make_images(folder, 1, start=30)
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.index([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 31, timeout=10_000)
    assert len(resets) >= 1
    assert w.grid.currentIndex().data(PhotoIdRole) == current


def test_the_app_takes_its_loaded_model_out_of_full_garbage_collections(qtbot, make_library, gui_settings):
    """A full collection visits every object alive: ~200 ms holding the GIL with a real model
    loaded, a visible stall. The app freezes the heap once the model is loaded, and thaws it before
    a model is replaced and when its window closes."""
    import gc

    from photoclip.gui.app import create_main_window

    assert gc.get_freeze_count() == 0
    w = create_main_window(make_library(), gui_settings, rescan_on_start=False, freeze_heap=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.browser.model_ready and not w.services.worker.is_busy(), timeout=60_000)
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 0, timeout=10_000)
    frozen = gc.get_freeze_count()
    t0 = time.perf_counter()
    gc.collect()
    print(f"\n{frozen:,} objects frozen; a full collection then takes {(time.perf_counter() - t0) * 1e3:.1f} ms")
    w.close()
    assert gc.get_freeze_count() == 0
    assert not w.services.threads_running()


def test_the_model_job_imports_around_pyside6s_import_wrapper():
    """PySide6 reads back the source of every module imported after it; the model job imports
    torch and open_clip (thousands of modules) through Python's own import instead, and puts
    PySide6's wrapper back afterwards, also when the import fails."""
    import builtins

    from photoclip.gui.workers import plain_imports

    wrapped = builtins.__import__
    plain = getattr(builtins, "__orig_import__", wrapped)
    with plain_imports():
        assert builtins.__import__ is plain
        import json  # noqa: F401 - imports work meanwhile
    assert builtins.__import__ is wrapped
    with pytest.raises(ImportError):
        with plain_imports():
            import photoclip_no_such_module  # noqa: F401
    assert builtins.__import__ is wrapped


def test_edit_tag_set_with_no_tag_in_view_asks_which_set(open_window, qtbot, monkeypatch):
    from photoclip.gui.tagset_editor import TagSetEditor

    w = open_window()
    qtbot.waitUntil(lambda: len(w.browser.tag_sets) >= 2, timeout=10_000)  # the default sets
    asked, opened = [], []
    monkeypatch.setattr(dialogs, "ask_choice",
                        lambda parent, title, label, choices: asked.append(choices) or choices[1])
    monkeypatch.setattr(dialogs, "run_dialog",
                        lambda dialog: opened.append(dialog) or False)
    w.actions.edit_tag_set_action.trigger()
    names = [ts.name for ts in w.browser.tag_sets]
    assert asked == [names]  # every set offered, none chosen for the user
    assert len(opened) == 1 and isinstance(opened[0], TagSetEditor)
    assert opened[0].name() == names[1]
    # cancelling the question opens nothing
    monkeypatch.setattr(dialogs, "ask_choice", lambda *a: "")
    w.actions.edit_tag_set_action.trigger()
    assert len(opened) == 1


def test_the_precision_chosen_in_preferences_is_saved_and_used_from_the_next_load(open_window, qtbot,
                                                                                 monkeypatch):
    from photoclip.core.config import Settings
    from photoclip.core.library import SETTINGS_FILE

    w = open_window()
    wait_idle(qtbot, w)
    lib = w.library
    key, in_use = lib.model_key, lib.precision_in_use()
    assert in_use  # the window loaded the model
    seen = {}

    def choose_bf16(dialog):
        seen["label"] = dialog.precision_label.text()
        dialog.precision_combo.setCurrentIndex(dialog.precision_combo.findData("bf16"))
        dialog.accept()
        return True

    monkeypatch.setattr(dialogs, "run_dialog", choose_bf16)
    with qtbot.waitSignal(w.services.worker.finished, timeout=60_000,
                          check_params_cb=lambda job, _r: job.title == "Saving preferences"):
        w.actions.preferences.trigger()
    wait_idle(qtbot, w)
    assert seen["label"].startswith(f"In use: {in_use}.")
    assert lib.settings.precision == "bf16" and Settings.load(lib.root / SETTINGS_FILE).precision == "bf16"
    assert lib.precision_in_use() is None  # applies from the next load, without re-indexing
    assert lib.embedder().precision == "bf16" and lib.model_key == key
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: seen.update(label=dialog.precision_label.text()))
    w.actions.preferences.trigger()
    assert seen["label"].startswith("In use: bf16 (bf16 chosen")
