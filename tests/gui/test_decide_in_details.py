"""Tags by hand, in the details panel: each guess (auto-tag) has one-click ✓ confirm and ✗
reject; a confirmed tag moves to "Yours", a rejected one goes and stays gone when the photos are
tagged again; the buttons work from the keyboard (Tab, Space) too; the sidebar's counts follow."""

from __future__ import annotations

from PySide6.QtCore import Qt

from photoclip.core.filters import PhotoFilter
from photoclip.core.tagging import TagSet
from photoclip.gui.details import CONFIRM, REJECT, REMOVE, UNDO
from photoclip.gui.photo_model import PathRole, PhotoIdRole

from gui_helpers import make_images, wait_idle

SET = "colours"


def sources(lib, pid) -> dict[str, str]:
    return {t.label: t.source for t in lib.photo_tags(pid) if t.tag_set == SET}


def shown_count(w, label) -> str:
    return w.sidebar.item_for(PhotoFilter(tag=(SET, label))).text(1)


def press(qtbot, w, button, title: str, *, keyboard: bool = False) -> None:
    """Click (or focus and press Space on) a tag's button; wait for its job and the refresh."""
    with qtbot.waitSignal(w.services.worker.finished, timeout=60_000,
                          check_params_cb=lambda job, _r: job.title.startswith(title)):
        if keyboard:
            button.setFocus(Qt.FocusReason.TabFocusReason)
            assert button.hasFocus()
            qtbot.keyClick(button, Qt.Key.Key_Space)
        else:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, w)


def test_confirm_and_reject_a_guess_from_the_details_panel(open_window, qtbot, tmp_path):
    w = open_window()
    lib = w.library
    # a low threshold: every label is a guess on every photo
    lib.save_tag_set(TagSet(SET, ["red thing", "green thing", "blue thing", "yellow thing"], "multi", 0.01))
    folder = tmp_path / "Trip"
    make_images(folder, 4)
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    with qtbot.waitSignal(w.browser.detailsShown, timeout=30_000):
        w.grid.setCurrentIndex(w.model.index(0))
    pid, path = w.model.index(0).data(PhotoIdRole), w.model.index(0).data(PathRole)
    tags = w.details.tags
    guesses = [t.label for t in sorted(lib.photo_tags(pid), key=lambda t: -t.score) if t.tag_set == SET]
    assert len(guesses) == 4 and set(sources(lib, pid).values()) == {"auto"}
    assert all(("guesses", SET, g) in tags.buttons for g in guesses) and tags.guesses_title.isVisible()
    assert not tags.yours_title.isVisible()
    yes, no, by_key, undone = guesses[:4]
    count_before = int(shown_count(w, no))

    # ✓: the library has it confirmed, and the panel shows it as the user's
    press(qtbot, w, tags.buttons[("guesses", SET, yes)][CONFIRM], "Confirming")
    assert sources(lib, pid)[yes] == "confirmed"
    assert ("yours", SET, yes) in tags.buttons and ("guesses", SET, yes) not in tags.buttons
    assert tags.yours_title.isVisible() and w.details.path == path

    # ✗ on another: it goes from the panel, the library and the sidebar's count
    press(qtbot, w, tags.buttons[("guesses", SET, no)][REJECT], "Rejecting")
    assert no not in sources(lib, pid)
    assert not any(key[2] == no for key in tags.buttons) and no not in tags.text()
    assert int(shown_count(w, no)) == count_before - 1
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.sidebar.select(PhotoFilter(tag=(SET, no)))  # the tag in the sidebar no longer lists the photo
    assert path not in [w.model.index(r).data(PathRole) for r in range(w.model.rowCount())]
    assert w.model.rowCount() == count_before - 1
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.sidebar.select(None)
    with qtbot.waitSignal(w.browser.detailsShown, timeout=30_000):
        w.grid.setCurrentIndex(w.model.index(0))
    assert w.details.path == path

    # the keyboard: Tab to a guess's ✓ and press Space; the focus goes on to the next guess
    press(qtbot, w, tags.buttons[("guesses", SET, by_key)][CONFIRM], "Confirming", keyboard=True)
    assert sources(lib, pid)[by_key] == "confirmed"
    focused = tags.buttons[("guesses", SET, undone)][CONFIRM]
    assert focused.hasFocus()

    # a tag of the user's can be taken off again (the ✗ beside it in "Yours")
    press(qtbot, w, tags.buttons[("yours", SET, by_key)][REMOVE], "Removing")
    assert by_key not in sources(lib, pid) and ("yours", SET, by_key) not in tags.buttons
    assert sources(lib, pid) == {yes: "confirmed", undone: "auto"}

    # tagging again (now taught by the decisions) does not bring the rejected tag back, nor turn
    # the confirmed one into a guess
    lib.tag(retag=True)
    assert no not in sources(lib, pid) and sources(lib, pid)[yes] == "confirmed"

    # a confirmation taken back (↶ beside it in "Yours"; a tag added by hand has none): a guess again
    with qtbot.waitSignal(w.browser.detailsShown, timeout=30_000):
        w.browser.refresh_details()
    assert UNDO in tags.buttons[("yours", SET, yes)]
    press(qtbot, w, tags.buttons[("yours", SET, yes)][UNDO], "Undoing")
    assert sources(lib, pid)[yes] == "auto"
    assert ("guesses", SET, yes) in tags.buttons and ("yours", SET, yes) not in tags.buttons
    assert "is a guess again" in w.status.message.text()
