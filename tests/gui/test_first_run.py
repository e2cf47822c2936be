"""First run without weights: a folder added while the chosen local weights file loads is indexed."""

from __future__ import annotations

import torch
from helpers import draw_photo
from safetensors.torch import save_file

from photoclip.core.filters import PhotoFilter


def test_folder_added_while_the_local_model_loads_is_indexed(open_window, qtbot, tmp_path, tiny_config):
    from photoclip.core.embedder import Embedder, ModelSpec

    weights = tmp_path / "weights.safetensors"
    model = Embedder(ModelSpec(tiny_config, "random"), "cpu", 1)
    with torch.no_grad():
        save_file({k: v.clone().contiguous() for k, v in model.model.state_dict().items()}, str(weights))
    photos = tmp_path / "holiday"
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        draw_photo(photos / f"p{i}.jpg", colour)

    # a library whose model has no weights yet: the banner asks for them
    w = open_window(wait_model=False, model=tiny_config, pretrained="laion2b_s34b_b79k")
    qtbot.waitUntil(lambda: w.banner is not None and w.banner.state == "needed", timeout=30_000)
    assert not w.browser.model_ready

    # after a failed download the banner showed its error; choosing a local file says it loads that
    w.banner.show_error("No internet connection — use a local weights file")
    # the natural first-run order: choose the weights file, then add a folder at once
    w.jobs.use_local_model(tiny_config, str(weights))
    assert w.banner.state == "loading" and "weights.safetensors" in w.banner.message_label.text()
    assert "internet" not in w.banner.message_label.text()
    w.jobs.add_folders([str(photos)])
    qtbot.waitUntil(lambda: w.browser.model_ready and not w.services.worker.is_busy(), timeout=60_000)
    qtbot.waitUntil(lambda: w.library.status()["embedded"] == 3, timeout=60_000)
    qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=30_000)


def test_open_without_a_launcher_says_so_and_offers_the_path(open_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices, QGuiApplication
    from PySide6.QtWidgets import QMessageBox

    photo = draw_photo(tmp_path / "pics" / "beach.jpg", (20, 120, 220))
    w = open_window()
    w.jobs.add_folders([str(photo.parent)])
    qtbot.waitUntil(lambda: w.model.rowCount() == 1, timeout=60_000)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or False))

    w.grid.setCurrentIndex(w.model.index(0))
    w.actions.open.trigger()  # Photo > Open (double-click / Enter show it in photoclip's viewer)
    assert opened and opened[0].toLocalFile() == str(photo)
    box = w.findChild(QMessageBox, "noLauncherBox")
    qtbot.waitUntil(lambda: box.isVisible(), timeout=5000)
    assert "no application set up to open this photo" in box.text() and "beach.jpg" in box.text()
    copy = next(b for b in box.buttons() if b.text() == "Copy path")
    copy.click()
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == str(photo), timeout=5000)
    assert "Copied" in w.status.currentMessage()

    w.actions.reveal_path(str(photo))  # Show in folder: the same message, for the folder
    qtbot.waitUntil(lambda: any(b.isVisible() and "show this folder" in b.text()
                                for b in w.findChildren(QMessageBox, "noLauncherBox")), timeout=5000)


def test_a_tag_without_photos_says_so(open_window, qtbot, tmp_path):
    from photoclip.core.tagging import TagSet

    draw_photo(tmp_path / "pics" / "a.jpg", (200, 20, 20))
    w = open_window()
    w.library.save_tag_set(TagSet("things", ["boat", "zebra", "lamp", "cake"], "single"))
    w.jobs.add_folders([str(tmp_path / "pics")])
    qtbot.waitUntil(lambda: w.model.rowCount() == 1 and not w.services.worker.is_busy(), timeout=60_000)
    counts = w.library.tag_counts().get("things", {})
    empty = next(label for label in ["boat", "zebra", "lamp", "cake"] if not counts.get(label))  # 1 photo, 4 labels
    w.browser.set_filter(PhotoFilter(tag=("things", empty)))
    qtbot.waitUntil(lambda: w.empty_hint.isVisible(), timeout=10_000)
    assert w.empty_hint.text() == "No photos have this tag."


def test_window_title_names_the_library_once(open_window):
    w = open_window(wait_model=False)
    # Qt appends the application's display name ("— photoclip") itself; the title must not say it too
    assert w.windowTitle() and not w.windowTitle().startswith("photoclip")


def test_paused_job_shows_no_time_left_and_tagging_counts_photos(qtbot):
    from photoclip.core.jobs import Progress, describe
    from photoclip.gui.statusbar import JobStatusBar

    bar = JobStatusBar()
    qtbot.addWidget(bar)
    bar.set_busy("Tagging")
    bar.set_progress(Progress("tagging", 500, 1000, 20.0, 25.0,
                              describe("Tagging (scenes, set 2 of 4)", 250, 250, 20.0, 120.0)))
    assert bar.message.text() == "Tagging (scenes, set 2 of 4) — 250 / 250 · 20.0 photos/s"  # done: no time left
    bar.set_progress(Progress("tagging", 300, 1000, 20.0, 35.0,
                              describe("Tagging (scenes, set 2 of 4)", 50, 250, 20.0, 120.0)))
    assert bar.message.text().endswith("2 min left")
    bar.pause_button.click()
    assert bar.message.text() == "Paused — Tagging (scenes, set 2 of 4) — 50 / 250"
    bar.pause_button.click()
    assert bar.message.text().endswith("2 min left")


def test_tagging_progress_counts_photos_per_set(make_library, photo_folder):
    from photoclip.core.tagging import TagSet

    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    for name in ("one", "two"):
        lib.save_tag_set(TagSet(name, ["cat", "dog"], "single"))
    seen = []
    lib.tag(["one", "two"], progress=seen.append)
    texts = [p.message for p in seen if p.phase == "tagging"]
    assert texts[-1].startswith("Tagging (two, set 2 of 2) — 12 / 12")
    assert any(t.startswith("Tagging (one, set 1 of 2) — 12 / 12") for t in texts)


def test_photoclip_photo_opens_the_app_on_that_photo(open_window, qtbot, tmp_path, monkeypatch):
    """`photoclip PHOTO` (a file manager's "Open with photoclip") starts the app, not the CLI, and
    shows that photo: selected when it is in the library, else as a search for photos like it."""
    import photoclip.__main__ as entry
    from photoclip.gui.photo_model import PathRole

    photos = tmp_path / "pics"
    for i in range(5):
        draw_photo(photos / f"p{i}.jpg", (40 * i, 100, 200 - 30 * i))
    started = []
    monkeypatch.setattr(entry, "gui_main", lambda argv, open_photos=(): started.append(list(open_photos)) or 0)
    assert entry.main([str(photos / "p3.jpg")]) == 0 and started == [[str(photos / "p3.jpg")]]
    assert entry._photo_files(["index", str(photos)]) == []  # a command line stays one

    w = open_window()
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(photos)])
    qtbot.waitUntil(lambda: w.model.rowCount() == 5, timeout=30_000)
    w.browser.reveal(str(photos / "p3.jpg"))
    qtbot.waitUntil(lambda: w.grid.currentIndex().isValid()
                    and w.grid.currentIndex().data(PathRole) == str(photos / "p3.jpg"), timeout=30_000)
    qtbot.waitUntil(lambda: w.details.path == str(photos / "p3.jpg"), timeout=30_000)

    outside = draw_photo(tmp_path / "elsewhere" / "new.png", (250, 10, 10))
    w.browser.reveal(str(outside))
    qtbot.waitUntil(lambda: w.browser.image == str(outside) and w.model.is_search, timeout=30_000)
    assert "not in your library" in w.status.currentMessage()


def test_details_show_at_once_while_the_model_still_loads(open_window, qtbot, tmp_path, make_library, monkeypatch):
    """After a relaunch the details panel shows the folder, size and tags without waiting for
    the model; its best labels follow once the model is in memory."""
    import threading

    from PySide6.QtCore import QItemSelectionModel

    from photoclip.core.library import Library

    photos = tmp_path / "pics"
    for i in range(3):
        draw_photo(photos / f"p{i}.jpg", (60 * i, 120, 200 - 50 * i))
    first = make_library()
    first.index([str(photos)])
    first.close()

    gate = threading.Event()
    real_embedder = Library.embedder

    def slow_embedder(self, *args, **kwargs):
        if self._embedder is None:
            gate.wait(60)  # a model that takes its time to load
        return real_embedder(self, *args, **kwargs)

    monkeypatch.setattr(Library, "embedder", slow_embedder)
    try:
        w = open_window(wait_model=False, rescan_on_start=False)
        qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=30_000)
        qtbot.waitUntil(lambda: w.browser.model_ready, timeout=30_000)  # weights there, still loading
        w.grid.selectionModel().setCurrentIndex(w.model.index(0), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        qtbot.waitUntil(lambda: w.details.size.text() not in ("", "…"), timeout=5_000)
        assert w.details.folder.text().endswith("pics")
        assert "once the image model has loaded" in w.details.labels.text()
    finally:
        gate.set()
    qtbot.waitUntil(lambda: "once the image model" not in w.details.labels.text(), timeout=60_000)


def test_photos_show_before_there_is_a_model_and_become_searchable_with_it(open_window, qtbot, tmp_path,
                                                                             tiny_config):
    from photoclip.core.embedder import Embedder, ModelSpec

    photos = tmp_path / "holiday"
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]):
        draw_photo(photos / f"p{i}.jpg", colour)
    # a first run without network or weights: the banner asks for them ...
    w = open_window(wait_model=False, model=tiny_config, pretrained="laion2b_s34b_b79k")
    qtbot.waitUntil(lambda: w.banner is not None and w.banner.state == "needed", timeout=30_000)
    # ... and the folder's photos show all the same, thumbnails too
    w.jobs.add_folders([str(photos)])
    qtbot.waitUntil(lambda: w.model.rowCount() == 4, timeout=10_000)
    qtbot.waitUntil(lambda: not w.services.worker.is_busy(), timeout=30_000)
    qtbot.waitUntil(lambda: "4 listed" in w.status.message.text(), timeout=5_000)
    assert "searchable once the image model is there" in w.status.message.text()
    assert w.library.status()["embedded"] == 0 and w.library._embedder is None
    from photoclip.gui.photo_model import PathRole

    thumbs, size = w.services.thumbnails, w.grid.thumbnail_size()
    qtbot.waitUntil(lambda: all(thumbs.pixmap(w.model.index(r).data(PathRole), size) is not None
                                for r in range(4)), timeout=20_000)

    # the weights arrive: the same photos are embedded (as new ones) and searchable
    weights = tmp_path / "weights.safetensors"
    model = Embedder(ModelSpec(tiny_config, "random"), "cpu", 1)
    with torch.no_grad():
        save_file({k: v.clone().contiguous() for k, v in model.model.state_dict().items()}, str(weights))
    w.jobs.use_local_model(tiny_config, str(weights))
    qtbot.waitUntil(lambda: w.library.status()["embedded"] == 4, timeout=60_000)
    assert len(w.library.search("a red photo")) == 4


def test_closing_the_window_returns_within_2_s_while_a_step_cannot_be_interrupted(open_window, qtbot):
    import threading
    import time

    from photoclip.gui.workers import Job

    w = open_window()
    release, started = threading.Event(), threading.Event()

    def uninterruptible(progress, control):  # like a model file loading: no checkpoint to cancel at
        started.set()
        release.wait(30)

    w.services.worker.submit(Job("Loading the image model…", uninterruptible))
    assert started.wait(10)
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 2.0
    assert w.services.threads_running()  # left running: run_app exits without waiting for it
    release.set()
    qtbot.waitUntil(lambda: not w.services.threads_running(), timeout=10_000)
