"""File > Write tags to XMP sidecars…: asks first, writes off the GUI thread, says what it did."""

from __future__ import annotations

import pyexiv2

from photoclip.gui import dialogs

from gui_helpers import make_images, wait_idle


def test_write_tags_to_xmp_sidecars(open_window, make_library, qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "Holiday"
    make_images(folder, 4)
    lib = make_library(tmp_path / "lib")
    lib.index([str(folder)])
    photo = sorted(str(p) for p in folder.iterdir())[0]
    lib.add_tag("our cabin", [photo])
    lib.settings.xmp_min_score = 1.0  # only the tag given by hand
    lib.save_settings(lib.settings)
    lib.close()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    w = open_window(tmp_path / "lib")
    wait_idle(qtbot, w)
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, message, ok: asked.append(message) or False)
    w.actions.export_xmp.trigger()  # declined: nothing written
    assert "photo.jpg.xmp" in asked[0] and "scoring at least 1;" in asked[0]
    assert not any(p.suffix == ".xmp" for p in folder.iterdir())

    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, message, ok: True)
    with qtbot.waitSignal(w.services.worker.finished, timeout=60_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Writing tags to XMP")):
        w.actions.export_xmp.trigger()
    wait_idle(qtbot, w)
    with pyexiv2.ImageData(open(photo + ".xmp", "rb").read()) as img:
        assert img.read_xmp()["Xmp.dc.subject"] == ["our cabin"]
    assert "XMP sidecars: 1 sidecar written, 0 updated" in w.status.message.text()
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix != ".xmp"} == before


def test_preferences_choose_sidecar_names_and_the_minimum_score(qtbot):
    from photoclip.core.config import Settings
    from photoclip.gui.preferences import PreferencesDialog

    settings = Settings(xmp_min_score=0.333)
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.result_settings() == settings  # unchanged when nothing is touched
    dialog.xmp_naming_combo.setCurrentIndex(dialog.xmp_naming_combo.findData("lightroom"))
    dialog.xmp_score_spin.setValue(0.7)
    result = dialog.result_settings()
    assert (result.xmp_naming, result.xmp_min_score) == ("lightroom", 0.7)
