"""Live folders in the app: photos added, deleted, renamed or changed on disk while the window is
open show up (or leave) without any action; the watcher stops with the window."""

from __future__ import annotations

import os
import shutil
import threading
import time

from PySide6.QtWidgets import QApplication

from photoclip.core.filters import PhotoFilter
from photoclip.gui import dialogs
from photoclip.gui.photo_model import PathRole
from photoclip.gui.workers import Job

from gui_helpers import make_images, wait_idle, watcher_threads

WAIT_MS = 30_000  # "within a few seconds" on an idle machine; generous for a loaded CI runner


def grid_paths(w) -> list[str]:
    return [w.model.index(r).data(PathRole) for r in range(w.model.rowCount())]


def watched_window(open_window, qtbot, tmp_path, n=6, name="Camera"):
    """A window over a library with one indexed folder, its watcher running."""
    w = open_window()
    folder = tmp_path / name
    make_images(folder, n)
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == n, timeout=WAIT_MS)
    watcher = w.services.watcher
    qtbot.waitUntil(lambda: watcher.is_running() and watcher.wait_ready(0), timeout=WAIT_MS)
    assert watcher.folders == [str(folder)]
    return w, folder


def collect_watch_reports(w) -> list:
    reports: list = []
    w.services.worker.finished.connect(lambda job, result: job.title == "Updating changed photos" and reports.append(result))
    return reports


def test_new_deleted_and_renamed_photos_follow_the_disk(open_window, qtbot, tmp_path):
    w, folder = watched_window(open_window, qtbot, tmp_path)
    lib = w.library
    reports = collect_watch_reports(w)
    wait_idle(qtbot, w)
    assert w.status.watching.text() == "Watching 1 folder"
    assert w.status.watching.isVisible()

    # A photo copied in from elsewhere appears in the grid, with no action in the app.
    elsewhere = tmp_path / "download"
    new = make_images(elsewhere, 1, start=500)[0]
    target = folder / "new_from_phone.jpg"
    shutil.copy(new, target)
    qtbot.waitUntil(lambda: str(target) in grid_paths(w), timeout=WAIT_MS)
    assert w.model.rowCount() == 7
    qtbot.waitUntil(lambda: bool(reports), timeout=WAIT_MS)
    assert sum(r.added for r in reports) == 1 and sum(r.embedded for r in reports) == 1
    wait_idle(qtbot, w)
    assert "Updated: +1 new" in w.status.message.text()
    assert w.status.watching.isVisible()

    # A photo deleted on disk leaves the grid.
    gone = folder / "photo_0002.jpg"
    os.remove(gone)
    qtbot.waitUntil(lambda: str(gone) not in grid_paths(w), timeout=WAIT_MS)
    assert w.model.rowCount() == 6
    assert lib.catalog.photo_by_path(str(gone)) is None

    # A photo renamed in the file manager keeps its identity, vector and tags: nothing is embedded.
    wait_idle(qtbot, w)
    old = folder / "photo_0003.jpg"
    record = lib.catalog.photo_by_path(str(old))
    tags_before = sorted((t.tag_set, t.label, round(t.score, 5)) for t in lib.photo_tags(record.id))
    assert tags_before, "the default tag sets tag every indexed photo"
    model_row = lib.catalog.find_model(lib.model_key)[0]
    vectors_before = lib.catalog.vector_count(model_row)
    reports.clear()
    renamed = folder / "beach day.jpg"
    os.rename(old, renamed)
    qtbot.waitUntil(lambda: str(renamed) in grid_paths(w) and str(old) not in grid_paths(w), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(reports), timeout=WAIT_MS)
    wait_idle(qtbot, w)
    assert sum(r.relinked for r in reports) == 1
    assert sum(r.embedded for r in reports) == 0
    assert lib.catalog.vector_count(model_row) == vectors_before
    moved = lib.catalog.photo_by_path(str(renamed))
    assert moved is not None and moved.id == record.id
    assert sorted((t.tag_set, t.label, round(t.score, 5)) for t in lib.photo_tags(moved.id)) == tags_before
    assert w.model.rowCount() == 6
    # the details panel of the renamed photo shows its tags
    row = next(r for r in range(w.model.rowCount()) if w.model.index(r).data(PathRole) == str(renamed))
    with qtbot.waitSignal(w.browser.detailsShown, timeout=WAIT_MS):
        w.grid.setCurrentIndex(w.model.index(row))
    assert w.details.name.text() and tags_before[0][1] in w.details.tags.text()


def test_a_burst_of_batches_is_one_queued_job(open_window, qtbot, tmp_path):
    """While a job runs, every batch the watcher hands over joins the one queued watcher job."""
    w, folder = watched_window(open_window, qtbot, tmp_path, n=2)
    gate = threading.Event()
    started = threading.Event()

    def hold(progress, control):
        started.set()
        gate.wait(60)

    w.services.worker.submit(Job("Holding the worker", hold))
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    reports = collect_watch_reports(w)
    submitted: list[Job] = []
    real_submit = w.services.worker.submit
    w.services.worker.submit = lambda job: submitted.append(job) or real_submit(job)
    core_watcher = w.services.watcher._watcher
    first_batch = core_watcher.batches
    try:
        new = make_images(tmp_path / "burst", 40, start=100)
        for group in range(4):  # four bursts, each handed over as its own batch once quiet
            before = core_watcher.batches
            for path in new[group * 10:(group + 1) * 10]:
                shutil.copy(path, folder / path.name)
            qtbot.waitUntil(lambda: core_watcher.batches > before, timeout=WAIT_MS)
        watch_jobs = [j for j in submitted if j.title == "Updating changed photos"]
        qtbot.waitUntil(lambda: watch_jobs and len(w.jobs._watch_batch) == 40, timeout=WAIT_MS)
        assert core_watcher.batches - first_batch >= 4
        assert len([j for j in submitted if j.title == "Updating changed photos"]) == 1, submitted
    finally:
        gate.set()
        w.services.worker.submit = real_submit
    qtbot.waitUntil(lambda: w.model.rowCount() == 42, timeout=WAIT_MS)
    wait_idle(qtbot, w)
    assert sum(r.added for r in reports) == 40
    assert len(reports) == 1


def test_watched_folders_follow_the_library(open_window, qtbot, tmp_path, monkeypatch):
    w, first = watched_window(open_window, qtbot, tmp_path, n=2)
    second = tmp_path / "Scans"
    make_images(second, 3, start=50)
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(second)])
    wait_idle(qtbot, w)
    watcher = w.services.watcher
    assert watcher.folders == sorted([str(first), str(second)])
    assert w.status.watching.text() == "Watching 2 folders"
    # a photo dropped into the newly added folder is picked up too
    target = second / "late.jpg"
    shutil.copy(make_images(tmp_path / "x", 1, start=900)[0], target)
    qtbot.waitUntil(lambda: str(target) in grid_paths(w), timeout=WAIT_MS)

    monkeypatch.setattr(dialogs, "confirm_remove", lambda parent, path: True)
    with qtbot.waitSignal(w.services.worker.finished, timeout=WAIT_MS,
                          check_params_cb=lambda job, _r: job.title.startswith("Removing")):
        w.actions.remove_folder_path(str(second))
    wait_idle(qtbot, w)
    assert watcher.folders == [str(first)]
    assert w.status.watching.text() == "Watching 1 folder"


def test_a_folder_that_goes_away_is_offline_and_reconciled_when_back(open_window, qtbot, tmp_path):
    w, folder = watched_window(open_window, qtbot, tmp_path, n=3, name="Card")
    away = tmp_path / "unplugged"
    os.rename(folder, away)  # the drive is unplugged
    qtbot.waitUntil(lambda: any(f.path == str(folder) and not f.online for f in w.browser.folders), timeout=WAIT_MS)
    wait_idle(qtbot, w)
    item = w.sidebar.item_for(PhotoFilter(folder=str(folder)))
    assert "(offline)" in item.text(0)
    assert w.library.catalog.photo_count() == 3  # its photos are kept
    assert "(1 offline)" in w.status.watching.text()
    # while it was away, a photo was added to the card elsewhere
    shutil.copy(make_images(tmp_path / "y", 1, start=700)[0], away / "added_elsewhere.jpg")
    os.rename(away, folder)  # plugged back in
    qtbot.waitUntil(lambda: str(folder / "added_elsewhere.jpg") in grid_paths(w), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any(f.path == str(folder) and f.online for f in w.browser.folders), timeout=WAIT_MS)
    assert w.model.rowCount() == 4


def test_changes_made_while_the_app_was_closed_are_found_at_start(open_window, qtbot, tmp_path, make_library):
    folder = tmp_path / "Album"
    make_images(folder, 4)
    lib = make_library(tmp_path / "lib")
    lib.index([str(folder)])
    lib.close()
    os.remove(folder / "photo_0000.jpg")
    shutil.copy(make_images(tmp_path / "z", 1, start=300)[0], folder / "while_closed.jpg")
    w = open_window(tmp_path / "lib")
    qtbot.waitUntil(lambda: sorted(os.path.basename(p) for p in grid_paths(w)) ==
                    ["photo_0001.jpg", "photo_0002.jpg", "photo_0003.jpg", "while_closed.jpg"], timeout=WAIT_MS)


def test_closing_the_window_stops_the_watcher(open_window, qtbot, tmp_path):
    before = set(watcher_threads())
    w, folder = watched_window(open_window, qtbot, tmp_path, n=2)
    assert "photoclip-watcher" in watcher_threads()
    wait_idle(qtbot, w)
    t0 = time.monotonic()
    w.close()
    took = time.monotonic() - t0
    print(f"\nclosing with the watcher running took {took:.2f} s")
    assert not w.services.watcher.is_running()
    left = [n for n in watcher_threads() if n not in before]
    assert not left, left
    assert took < 2.0
    # signals still queued when the window closed (a sidebar refresh) do not start it again
    w.jobs._sync_watched_folders()
    QApplication.processEvents()
    assert not w.services.watcher.is_running()
    assert not [n for n in watcher_threads() if n not in before]


def test_watching_can_be_turned_off(open_window, qtbot, tmp_path, make_library, monkeypatch):
    folder = tmp_path / "Quiet"
    make_images(folder, 2)
    lib = make_library(tmp_path / "lib")
    lib.index([str(folder)])
    lib.settings.watch = False
    lib.save_settings(lib.settings)
    lib.close()
    w = open_window(tmp_path / "lib")
    qtbot.waitUntil(lambda: w.model.rowCount() == 2, timeout=WAIT_MS)
    wait_idle(qtbot, w)
    assert not w.services.watcher.is_running()
    assert "photoclip-watcher" not in watcher_threads()
    assert w.status.watching.isHidden()
    # turning it on in the preferences starts it
    def tick_and_accept(dialog):
        assert not dialog.watch_check.isChecked()
        dialog.watch_check.setChecked(True)
        dialog.accept()
        return True

    monkeypatch.setattr(dialogs, "run_dialog", tick_and_accept)
    with qtbot.waitSignal(w.services.worker.finished, timeout=WAIT_MS,
                          check_params_cb=lambda job, _r: job.title in ("Saving preferences", "Switching the image model…")):
        w.actions.preferences.trigger()
    assert w.library.settings.watch
    qtbot.waitUntil(lambda: w.services.watcher.is_running() and w.services.watcher.wait_ready(0), timeout=WAIT_MS)
    assert w.services.watcher.folders == [str(folder)]
    assert w.status.watching.text() == "Watching 1 folder"
    target = folder / "now_watched.jpg"
    shutil.copy(make_images(tmp_path / "w", 1, start=600)[0], target)
    qtbot.waitUntil(lambda: str(target) in grid_paths(w), timeout=WAIT_MS)


def test_an_echo_of_photos_just_indexed_does_not_say_no_changes(open_window, qtbot, tmp_path):
    """Adding a folder makes the watcher hand over the same photos the index run already took:
    the status keeps saying what was indexed, not "Updated: no changes"."""
    w, folder = watched_window(open_window, qtbot, tmp_path, n=4)
    wait_idle(qtbot, w)
    assert w.status.message.text().startswith("Indexed: 4 new")
    reports = collect_watch_reports(w)
    w.jobs.index_changed_paths([str(p) for p in sorted(folder.iterdir())])
    qtbot.waitUntil(lambda: bool(reports), timeout=WAIT_MS)
    wait_idle(qtbot, w)
    assert reports[0].summary(changes_only=True) == ""
    assert w.status.message.text().startswith("Indexed: 4 new"), w.status.message.text()


def test_index_from_the_command_line_while_the_app_is_open(open_window, qtbot, tmp_path, tiny_config):
    """Another process indexes the library the app has open: both finish, nothing is locked out,
    and the app shows the new photos on its next rescan."""
    import subprocess
    import sys

    w, folder = watched_window(open_window, qtbot, tmp_path, n=3)
    extra = tmp_path / "from_cli"
    make_images(extra, 4, start=300)
    env = dict(os.environ, PHOTOCLIP_HOME=str(w.library.root))
    proc = subprocess.run([sys.executable, "-m", "photoclip", "index", str(extra), "--no-tag", "--wait",
                           "--model", tiny_config, "--pretrained", "random"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 new" in proc.stdout
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.index(None)
    qtbot.waitUntil(lambda: w.model.rowCount() == 7, timeout=WAIT_MS)
