"""Searching by image: a photo file dropped on the search bar (a real drop with a file URL)."""

from __future__ import annotations

import shutil

from photoclip.gui.photo_model import PathRole, ScoreRole

from gui_helpers import drop_urls, make_images, wait_idle


def results(w) -> list[tuple[str, float]]:
    return [(w.model.index(r).data(PathRole), w.model.index(r).data(ScoreRole)) for r in range(w.model.rowCount())]


def indexed(open_window, qtbot, tmp_path, n=20, more=()):
    """A window over a folder of ``n`` JPEGs (and ``more``: name -> writer(path)), indexed."""
    w = open_window()
    folder = tmp_path / "Trip"
    make_images(folder, n)
    for name, write in dict(more).items():
        write(folder / name)
    n += len(dict(more))
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == n, timeout=30_000)
    return w, folder


def test_dropping_a_photo_on_the_search_bar_finds_it_first(open_window, qtbot, tmp_path):
    w, folder = indexed(open_window, qtbot, tmp_path)
    photo = folder / "photo_0007.jpg"
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        assert drop_urls(w, w.search_bar, [photo])
    assert w.search_bar.image() == str(photo)
    assert w.search_bar.chip.isVisible() and "photo_0007" in w.search_bar.chip.text()
    found = results(w)
    assert w.model.is_search and len(found) + w.browser.weak_count == 20  # the weak tail waits behind a button
    assert found[0][0] == str(photo)
    assert abs(found[0][1] - 1.0) < 1e-3, found[0]
    assert all(a[1] >= b[1] - 1e-6 for a, b in zip(found, found[1:]))

    # A copy from outside the library (never indexed) is embedded on the fly: the original comes first.
    outside = tmp_path / "elsewhere" / "copy of photo 12.jpg"
    outside.parent.mkdir()
    shutil.copy(folder / "photo_0012.jpg", outside)
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        assert drop_urls(w, w.search_bar, [outside])
    found = results(w)
    assert found[0][0] == str(folder / "photo_0012.jpg")
    assert found[0][1] > 0.999, found[0]

    # Clicking the chip removes the image: back to browsing.
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.search_bar.chip.click()
    assert not w.model.is_search and w.model.rowCount() == 20


def test_text_and_dropped_image_combine(open_window, qtbot, tmp_path, monkeypatch):
    w, folder = indexed(open_window, qtbot, tmp_path)
    lib = w.library
    calls: list[tuple] = []
    real_search = type(lib).search

    def spy(self, text=None, image=None, **kw):
        calls.append((text, image))
        return real_search(self, text, image, **kw)

    monkeypatch.setattr(type(lib), "search", spy)
    photo = folder / "photo_0003.jpg"
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        assert drop_urls(w, w.search_bar, [photo])
    image_only = results(w)
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        qtbot.keyClicks(w.search_bar.edit, "green square")
    wait_idle(qtbot, w)
    assert calls[-1] == ("green square", str(photo))
    combined = results(w)
    expected = real_search(lib, "green square", str(photo), limit=len(combined))
    assert [p for p, _ in combined] == [r.path for r in expected]
    assert [round(s, 4) for _, s in combined] == [round(r.score, 4) for r in expected]
    # the text moved the scores: combining is not the image search alone
    assert [s for _, s in combined] != [s for _, s in image_only]
    assert w.search_bar.image() == str(photo)  # the image stays while typing


def test_a_file_that_is_not_an_image_is_not_accepted(open_window, qtbot, tmp_path):
    w = open_window()
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")
    assert not drop_urls(w, w.search_bar, [note])
    assert w.search_bar.image() is None


def test_search_bar_takes_every_format_the_core_lists(qtbot, tmp_path):
    """The bar has no extension list of its own: what the core indexes can be dropped as a query."""
    from PIL import Image

    from photoclip.gui.search_bar import SearchBar

    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.show()
    qtbot.waitExposed(bar)
    for name in ("scan.TGA", "pic.ppm", "grey.pgm"):
        path = tmp_path / name
        Image.new("RGB", (40, 30), (200, 40, 40)).save(path, "TGA" if name.endswith("TGA") else "PPM")
        with qtbot.waitSignal(bar.searchRequested, timeout=5_000) as signal:
            assert drop_urls(bar, bar, [path])
        assert signal.args == ["", str(path)]
        assert bar.image() == str(path)
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")
    assert not drop_urls(bar, bar, [note])


def test_a_raw_dropped_on_the_search_bar_finds_itself_first(open_window, qtbot, tmp_path):
    import pytest

    pytest.importorskip("rawpy")
    from helpers import write_dng
    from PIL import Image

    red = Image.new("RGB", (128, 96), (200, 40, 40))
    w, folder = indexed(open_window, qtbot, tmp_path, n=5, more={"IMG_0001.DNG": lambda p: write_dng(p, red)})
    raw = folder / "IMG_0001.DNG"
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        assert drop_urls(w, w.search_bar, [raw])
    assert w.search_bar.image() == str(raw)
    found = results(w)
    assert found[0][0] == str(raw) and abs(found[0][1] - 1.0) < 1e-3, found[:2]


def test_a_search_hides_its_weak_tail_behind_a_button(open_window, qtbot, tmp_path):
    w, folder = indexed(open_window, qtbot, tmp_path, n=30)
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        assert drop_urls(w, w.search_bar, [folder / "photo_0007.jpg"])
    shown = results(w)
    assert shown[0][0] == str(folder / "photo_0007.jpg")
    button = w.weak_button
    assert button.isVisible() and 12 <= len(shown) < 30
    assert button.text() == f"Show {30 - len(shown)} weaker matches"
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        button.click()
    assert len(results(w)) == 30 and button.text() == f"Hide the {30 - len(shown)} weaker matches"
    assert [p for p, _ in results(w)[:len(shown)]] == [p for p, _ in shown]  # the strong ones first, as before
    # a new search starts with its tail hidden again; browsing has no cut-off
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_query("a photo", None)
    assert w.model.rowCount() < 30 and button.text().startswith("Show")
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_query("", None)
    assert w.model.rowCount() == 30 and not button.isVisible()
