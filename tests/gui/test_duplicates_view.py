"""The Duplicates window (Edit > Find duplicates…): resized, recompressed and cropped copies of a
picture are one group with the largest proposed as the keeper, the threshold slider groups again,
the user can keep another, and "Move others to trash" (one group or every group, asked once)
sends the rest to a temporary trash (XDG_DATA_HOME) while the grid follows. The tests' trained
tiny CLIP tells the pictures apart."""

from __future__ import annotations

from pathlib import Path

from helpers import duplicate_variants
from tinyclip import ShapeSpec

from photoclip.gui import dialogs
from photoclip.gui.duplicates_view import DuplicatesDialog

from gui_helpers import wait_idle

SCENES = [
    [ShapeSpec("red", "circle", "white", 0.5, 0.5, 0.5)],
    [ShapeSpec("blue", "square", "noise", 0.45, 0.4, 0.55)],
    [ShapeSpec("yellow", "triangle", "black", 0.5, 0.5, 0.5)],
]


def _threshold(lib, scenes) -> float:
    """Half way between the weakest similarity of a copy to its original and the strongest
    between two different pictures (what the tiny model sees)."""
    mid = lib.catalog.find_model(lib.model_key)[0]

    def vec(path):
        return lib.catalog.vector_for_fingerprint(mid, lib.catalog.photo_by_path(str(path)).fingerprint)[1]

    within = min(float(vec(f) @ vec(files[0])) for files in scenes.values() for f in files)
    across = max(float(vec(a[0]) @ vec(b[0])) for i, a in scenes.items() for j, b in scenes.items() if i < j)
    assert within > across
    return round((within + across) / 2, 3)


def _groups(dialog) -> list[set[str]]:
    return sorted(({c.photo.path for c in g.cards} for g in dialog.groups), key=sorted)


def _slide(qtbot, dialog, threshold: float) -> None:
    with qtbot.waitSignal(dialog.groupsShown, timeout=60_000):
        dialog.slider.setValue(round(threshold * 1000))


def test_groups_keeper_threshold_and_trash(open_window, qtbot, tmp_path, trained_clip, trash_dir, monkeypatch):
    config, weights = trained_clip
    photos = tmp_path / "photos"
    scenes = duplicate_variants(photos, SCENES)
    w = open_window(model=config, pretrained=weights)
    w.jobs.add_folders([str(photos)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 12, timeout=60_000)
    threshold = _threshold(w.library, scenes)

    edit = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Edit")
    assert w.actions.find_duplicates in edit.actions()
    w.actions.find_duplicates.trigger()
    dialog = w.findChild(DuplicatesDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog._job is None and dialog.groups is not None, timeout=60_000)
    wait_idle(qtbot, w)
    _slide(qtbot, dialog, threshold)
    expected = sorted(({str(p) for p in files} for files in scenes.values()), key=sorted)
    assert _groups(dialog) == expected
    for view in dialog.groups:
        keeper = view.keeper()
        assert (keeper.width, keeper.height) == (512, 512)  # the largest is proposed
        assert view.cards[0].keep.text() == "Keep (proposed)" and view.cards[0].photo is keeper
        assert "512 × 512" in view.cards[0].findChild(type(view.title), "duplicateInfo").text()
        assert len(view.others()) == 3
    assert "3 groups" in dialog.summary.text() and "9 photos could go" in dialog.summary.text()
    qtbot.waitUntil(lambda: all(c.thumb.pixmap() is not None and not c.thumb.pixmap().isNull()
                                for g in dialog.groups for c in g.cards), timeout=30_000)

    # only the same content: no group (every copy differs in its bytes)
    _slide(qtbot, dialog, 1.0)
    assert dialog.groups == [] and "No duplicates" in dialog.summary.text()
    _slide(qtbot, dialog, threshold)
    assert _groups(dialog) == expected

    # the user keeps the resized copy of the first picture; the others of that group go
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, message, ok: asked.append(message) or True)
    first = next(g for g in dialog.groups if str(scenes[0][0]) in {c.photo.path for c in g.cards})
    resized = next(c for c in first.cards if c.photo.path == str(scenes[0][1]))
    resized.keep.click()
    assert first.keeper().path == str(scenes[0][1])
    assert sorted(first.others()) == sorted(str(p) for p in scenes[0] if p != scenes[0][1])
    first.trash_button.click()
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: len(dialog.groups) == 2, timeout=30_000)
    assert len(asked) == 1 and "these 3 photos" in asked[0]
    assert scenes[0][1].exists() and not any(p.exists() for p in scenes[0] if p != scenes[0][1])
    assert (trash_dir / "files" / "original.png").is_file()
    qtbot.waitUntil(lambda: w.model.rowCount() == 9, timeout=30_000)

    keepers = [g.keeper().path for g in dialog.groups]
    going = [p for g in dialog.groups for p in g.others()]
    # every group at once, asked once
    dialog.trash_all_button.click()
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: dialog.groups == [], timeout=30_000)
    assert len(asked) == 2 and "these 6 photos" in asked[1]
    assert all(Path(p).exists() for p in keepers) and not any(Path(p).exists() for p in going)
    qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=30_000)
    assert w.library.photo_count() == 3
    assert "No duplicates" in dialog.summary.text() and not dialog.trash_all_button.isEnabled()
    dialog.close()


def test_closing_while_it_looks_cancels_and_many_groups_are_shown_in_parts(open_window, qtbot, tmp_path,
                                                                         monkeypatch, trash_dir):
    import shutil

    from photoclip.gui import duplicates_view

    from helpers import draw_photo

    folder = tmp_path / "photos"
    for i, colour in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200), (220, 220, 40)]):
        draw_photo(folder / f"p{i}.jpg", colour, shape="circle" if i % 2 else "square")
        shutil.copyfile(folder / f"p{i}.jpg", folder / f"p{i} copy.jpg")  # exact copies
    w = open_window()
    w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 8, timeout=30_000)

    # closed at once: its search is cancelled or its answer ignored, nothing breaks
    first = w.actions.show_duplicates()
    first.close()
    wait_idle(qtbot, w)

    # four exact-copy groups, at most four photos shown at once: two groups, then the next two
    monkeypatch.setattr(duplicates_view, "SHOW_PHOTOS", 4)
    dialog = w.actions.show_duplicates()
    assert dialog is not first
    qtbot.waitUntil(lambda: dialog._job is None, timeout=30_000)
    assert w.actions.show_duplicates() is dialog  # one window, brought to the front
    _slide(qtbot, dialog, 1.0)
    assert len(dialog.groups) == 2 and all(g.group.exact for g in dialog.groups)
    assert "the first 2 of 4 shown" in dialog.summary.text()
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    with qtbot.waitSignal(dialog.groupsShown, timeout=60_000):
        dialog.trash_all_button.click()
    assert len(dialog.groups) == 2 and "the first" not in dialog.summary.text()
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == 6, timeout=30_000)
    dialog.close()
