"""Find more like these, in the app: a tag's context menu in the sidebar shows the photos that
look most like its examples and that the user has not decided on yet, as a search's results."""

from __future__ import annotations

from photoclip.core.filters import ALL_PHOTOS
from photoclip.core.tagging import TagSet
from photoclip.gui.photo_model import PathRole

from gui_helpers import make_images, wait_idle


def shown(w) -> list[str]:
    return [w.model.index(r).data(PathRole) for r in range(w.model.rowCount())]


def test_find_more_like_these_shows_the_undecided_photos_best_first(open_window, qtbot, tmp_path):
    w = open_window()
    lib = w.library
    lib.save_tag_set(TagSet("scenes", ["beach", "forest"]))
    folder = tmp_path / "Trip"
    paths = [str(p) for p in make_images(folder, 12)]
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    lib.add_tag("beach", paths[:2], tag_set="scenes")
    lib.decide_tag("scenes", "beach", paths[2:3], "rejected")
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.sidebar.findLikeTagRequested.emit("scenes", "beach")  # the tag's context menu
    assert w.model.is_search and w.filter_bar.sort_order == "relevance"  # best first
    assert shown(w) == [r.path for r in lib.like_tag("scenes", "beach", limit=200)]
    assert len(shown(w)) == 9 and not set(shown(w)) & set(paths[:3])
    assert "beach" in w.status.currentMessage()
    # a search typed in the bar, or another entry of the sidebar, ends it
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.browser.set_filter(ALL_PHOTOS)
    assert not w.model.is_search and len(shown(w)) == 12 and w.filter_bar.sort_order != "relevance"
