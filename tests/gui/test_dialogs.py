"""The tag set editor, preferences, problems dialog and first-run model banner (pytest-qt, offscreen)."""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from photoclip.core.catalog import Problem
from photoclip.core.config import CURATED_MODELS, Settings
from photoclip.core.tagging import DEFAULT_TEMPLATES, TagSet
from photoclip.gui.model_banner import ModelBanner
from photoclip.gui.preferences import PreferencesDialog
from photoclip.gui.problems_dialog import ProblemsDialog
from photoclip.gui.tagset_editor import TagSetEditor


# -- tag set editor ---------------------------------------------------------------------------------

def make_editor(qtbot, tag_set=None, existing=()):
    editor = TagSetEditor(tag_set, set(existing))
    qtbot.addWidget(editor)
    return editor


def fill(editor, name="pets", labels="dog\ncat\nbird"):
    editor.name_edit.setText(name)
    editor.labels_edit.setPlainText(labels)


def test_a_one_label_set_can_give_none_below_its_own_score(qtbot):
    editor = make_editor(qtbot)
    fill(editor)
    assert editor.abstain_spin.text() == "As in Preferences" and editor.result_tag_set().abstain is None
    editor.abstain_spin.setValue(0.35)
    assert editor.result_tag_set().abstain == 0.35
    editor.multi_radio.setChecked(True)  # any label over the threshold: nothing to abstain from
    assert not editor.abstain_spin.isEnabled() and editor.result_tag_set().abstain is None
    again = make_editor(qtbot, TagSet("pets", ["dog", "cat"], abstain=0.5))
    assert again.abstain_spin.value() == 0.5 and again.result_tag_set().abstain == 0.5


def test_new_set_needs_a_name_before_it_can_be_saved(qtbot):
    editor = make_editor(qtbot)
    assert not editor.ok_button.isEnabled()
    # no error before the user has typed: the OK button's tooltip says what is needed
    assert editor.error_label.message() == "" and "name" in editor.ok_button.toolTip()
    editor.show()
    height = editor.height()
    editor.name_edit.setText("   ")
    assert not editor.ok_button.isEnabled()
    assert "name" in editor.error_label.message()
    qtbot.wait(50)
    assert editor.height() == height  # the message's room was kept: the dialog does not jump
    fill(editor)
    assert editor.ok_button.isEnabled()
    assert editor.error_label.message() == ""
    assert editor.delete_button is None  # nothing to delete yet


def test_duplicate_name_is_refused_but_editing_keeps_its_own_name(qtbot):
    editor = make_editor(qtbot, existing={"scenes", "pets"})
    fill(editor, name="Pets")
    assert not editor.ok_button.isEnabled()
    assert "already a tag set called “Pets”" in editor.error_label.message()
    editor.name_edit.setText("animals")
    assert editor.ok_button.isEnabled()

    existing = TagSet("pets", ["dog", "cat"])
    editor = make_editor(qtbot, existing, existing={"scenes", "pets"})
    assert editor.ok_button.isEnabled(), editor.error_label.message()
    editor.name_edit.setText("scenes")  # renaming onto another set is refused
    assert not editor.ok_button.isEnabled()


def test_labels_are_required_cleaned_and_need_more_than_one(qtbot):
    editor = make_editor(qtbot)
    fill(editor, labels="\n   \n")
    assert not editor.ok_button.isEnabled()
    assert "at least one label" in editor.error_label.message()
    # A single label would win every photo (scores are a softmax over the set's labels).
    fill(editor, labels="dog")
    assert not editor.ok_button.isEnabled()
    assert "one more label" in editor.error_label.message()
    fill(editor, labels="  dog \n\ncat\nDog\n  hot   air balloon \ncat\n")
    assert editor.ok_button.isEnabled()
    assert editor.result_tag_set().labels == ["dog", "cat", "hot air balloon"]


def test_template_without_placeholder_shows_inline_error(qtbot):
    editor = make_editor(qtbot)
    fill(editor)
    assert editor.templates_edit.placeholderText().splitlines() == list(DEFAULT_TEMPLATES)
    assert not editor.advanced_toggle.isChecked()
    editor.templates_edit.setPlainText("a photo of a {}.\na snapshot")
    assert not editor.ok_button.isEnabled()
    assert "“a snapshot” has no {}" in editor.templates_error.message()
    assert editor.advanced_toggle.isChecked()  # the section opens to show the problem
    editor.templates_edit.setPlainText("a photo of a {}.\na {color} {}")
    assert "braces other than {}" in editor.templates_error.message()
    assert not editor.ok_button.isEnabled()
    editor.templates_edit.setPlainText("a photo of a {}.\n\nan old photo of a {}.\n")
    assert editor.ok_button.isEnabled()
    assert editor.templates_error.message() == ""
    assert editor.result_tag_set().templates == ["a photo of a {}.", "an old photo of a {}."]
    editor.templates_edit.setPlainText("\n  \n")
    assert editor.result_tag_set().templates is None  # empty means the default ensemble


def test_single_mode_result_and_threshold_disabled(qtbot):
    editor = make_editor(qtbot)
    fill(editor, name=" my  pets ")
    assert editor.single_radio.isChecked()
    assert not editor.threshold_slider.isEnabled()
    editor.enabled_check.setChecked(False)
    ts = editor.result_tag_set()
    assert isinstance(ts, TagSet)
    assert (ts.name, ts.labels, ts.mode, ts.templates, ts.enabled) == ("my pets", ["dog", "cat", "bird"], "single", None, False)
    assert ts.validate() == ts  # the core accepts what the editor produces


def test_multi_mode_threshold_slider_maps_to_probability(qtbot):
    editor = make_editor(qtbot)
    fill(editor)
    editor.multi_radio.setChecked(True)
    assert editor.threshold_slider.isEnabled()
    assert (editor.threshold_slider.minimum(), editor.threshold_slider.maximum()) == (5, 95)
    editor.threshold_slider.setValue(45)
    assert editor.threshold_value.text() == "45 %"
    ts = editor.result_tag_set()
    assert (ts.mode, ts.threshold) == ("multi", 0.45)
    editor.threshold_slider.setValue(0)  # clamped to the slider's range
    assert editor.result_tag_set().threshold == 0.05

    loaded = make_editor(qtbot, TagSet("colors", ["red", "green"], "multi", 1 / 3, None, True, id=7))
    assert loaded.multi_radio.isChecked()
    assert loaded.threshold_slider.value() == 33
    assert loaded.threshold_value.text() == "33 %"
    assert make_editor(qtbot, TagSet("x", ["a", "b"], "multi", 0.99)).threshold_slider.value() == 95


def test_editing_round_trips_and_keeps_identity(qtbot):
    original = TagSet("scenes", ["beach", "forest"], "multi", 0.25, ["a photo of a {}."], False, id=3)
    editor = make_editor(qtbot, original, existing={"scenes"})
    assert editor.windowTitle() == "Edit tag set “scenes”"
    assert editor.advanced_toggle.isChecked()  # custom templates are shown
    assert editor.result_tag_set() == original
    assert editor.result_tag_set().id == 3
    editor.name_edit.setText("places")
    assert editor.original_name == "scenes"
    assert editor.result_tag_set().name == "places"


def test_delete_asks_then_emits_delete_requested(qtbot):
    editor = make_editor(qtbot, TagSet("events", ["wedding", "concert"]), existing={"events"})
    asked = []
    editor.confirm_delete = lambda name: asked.append(name) or False
    with qtbot.assertNotEmitted(editor.deleteRequested):
        editor.delete_button.click()
    assert asked == ["events"]
    assert editor.result() != QDialog.DialogCode.Accepted

    editor.confirm_delete = lambda name: True
    with qtbot.waitSignal(editor.deleteRequested, timeout=1000) as blocker:
        editor.delete_button.click()
    assert blocker.args == ["events"]
    assert editor.result() == QDialog.DialogCode.Rejected  # closed without saving


def test_enter_accepts_when_valid_and_escape_cancels(qtbot):
    editor = make_editor(qtbot)
    with qtbot.waitExposed(editor):
        editor.show()
    editor.name_edit.setFocus()
    qtbot.keyClick(editor.name_edit, Qt.Key.Key_Return)
    assert editor.isVisible()  # invalid: Enter does nothing
    fill(editor)
    qtbot.keyClick(editor.name_edit, Qt.Key.Key_Return)
    assert editor.result() == QDialog.DialogCode.Accepted

    editor = make_editor(qtbot)
    with qtbot.waitExposed(editor):
        editor.show()
    fill(editor)
    qtbot.keyClick(editor.name_edit, Qt.Key.Key_Escape)
    assert editor.result() == QDialog.DialogCode.Rejected
    assert not editor.isVisible()

    # In the labels box Enter starts a new line; Ctrl+Enter saves.
    editor = make_editor(qtbot)
    with qtbot.waitExposed(editor):
        editor.show()
    fill(editor, labels="dog\ncat")
    editor.activateWindow()
    # shortcuts fire only in the active window, for the focused widget: wait for both (under load
    # the activation arrives late, and a shortcut sent before it is lost)
    qtbot.waitUntil(lambda: editor.isActiveWindow() and QApplication.activeWindow() is editor, timeout=10_000)
    editor.labels_edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is editor.labels_edit, timeout=10_000)
    editor.labels_edit.moveCursor(editor.labels_edit.textCursor().MoveOperation.End)
    qtbot.keyClick(editor.labels_edit, Qt.Key.Key_Return)
    assert editor.isVisible()
    qtbot.keyClicks(editor.labels_edit, "bird")
    qtbot.keyClick(editor.labels_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert editor.result() == QDialog.DialogCode.Accepted
    assert editor.result_tag_set().labels == ["dog", "cat", "bird"]


def test_editor_result_saves_into_a_real_library(qtbot, tmp_path):
    from photoclip.core.library import Library

    lib = Library(tmp_path / "lib")
    try:
        before = {ts.name: ts for ts in lib.tag_sets()}
        editor = make_editor(qtbot, None, existing=set(before))
        fill(editor, name="weather", labels="rain\nsunshine\nfog")
        editor.multi_radio.setChecked(True)
        editor.threshold_slider.setValue(40)
        lib.save_tag_set(editor.result_tag_set(), old_name=editor.original_name)
        saved = {ts.name: ts for ts in lib.tag_sets()}["weather"]
        assert (saved.labels, saved.mode, saved.threshold) == (["rain", "sunshine", "fog"], "multi", 0.4)

        editor = make_editor(qtbot, saved, existing=set(before) | {"weather"})
        editor.name_edit.setText("sky")
        lib.save_tag_set(editor.result_tag_set(), old_name=editor.original_name)
        names = {ts.name for ts in lib.tag_sets()}
        assert "sky" in names and "weather" not in names
    finally:
        lib.close()


# -- preferences ----------------------------------------------------------------------------------

def make_prefs(qtbot, settings=None):
    dialog = PreferencesDialog(settings or Settings())
    qtbot.addWidget(dialog)
    return dialog


def test_preferences_default_is_the_fast_model_and_unchanged(qtbot):
    settings = Settings(batch_size=16, watch=False)
    dialog = make_prefs(qtbot, settings)
    assert dialog.choice() == "Fast"
    assert dialog.ok_button.isEnabled()
    assert dialog.result_settings() == settings
    assert not dialog.model_changed()
    assert dialog.result_settings() is not settings  # a copy, the input is left alone


@pytest.mark.parametrize("label, model, pretrained, size", CURATED_MODELS)
def test_preferences_each_curated_model(qtbot, label, model, pretrained, size):
    dialog = make_prefs(qtbot, Settings(batch_size=8))
    dialog.model_radios[label].click()
    result = dialog.result_settings()
    assert (result.model, result.pretrained, result.batch_size) == (model, pretrained, 8)
    assert dialog.model_changed() == (label != "Fast")
    assert size in dialog.model_radios[label].accessibleName()


def test_curated_models_exist_in_open_clip():
    open_clip = pytest.importorskip("open_clip")
    available = set(open_clip.list_pretrained())
    for _label, model, pretrained, _size in CURATED_MODELS:
        assert (model, pretrained) in available


def test_preferences_abstain_score_of_one_label_sets(qtbot, tmp_path):
    dialog = make_prefs(qtbot, Settings(abstain=0.4))
    assert abs(dialog.abstain_spin.value() - 0.4) < 1e-9
    dialog.abstain_spin.setValue(0.75)
    chosen = dialog.result_settings()
    assert chosen.abstain == 0.75
    chosen.save(tmp_path / "settings.json")
    assert Settings.load(tmp_path / "settings.json").abstain == 0.75
    dialog.abstain_spin.setValue(0.0)
    assert dialog.abstain_spin.text() == "Never" and dialog.result_settings().abstain == 0.0
    (tmp_path / "bad.json").write_text('{"abstain": 1.5}')
    settings, problems = Settings.read(tmp_path / "bad.json")
    assert settings.abstain == 0.0 and "between 0 and 1" in problems[0]


def test_preferences_device_and_threads(qtbot):
    dialog = make_prefs(qtbot, Settings(device="cpu", threads=3))
    assert dialog.device_combo.currentData() == "cpu"
    assert dialog.threads_spin.value() == 3
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("auto"))
    dialog.threads_spin.setValue(0)
    assert dialog.threads_spin.text() == "Automatic"
    result = dialog.result_settings()
    assert (result.device, result.threads) == ("auto", 0)
    gpu = [dialog.device_combo.itemData(i) for i in range(dialog.device_combo.count())]
    assert ("cuda" in gpu) or ("mps" in gpu)
    # A device set elsewhere stays selectable.
    other = make_prefs(qtbot, Settings(device="mps" if "cuda" in gpu else "cuda"))
    assert other.result_settings().device == ("mps" if "cuda" in gpu else "cuda")


def test_preferences_onnx_runtime_image_backend(qtbot, monkeypatch):
    from photoclip.core import onnx_tower

    monkeypatch.setattr(onnx_tower, "available", lambda: True)
    dialog = make_prefs(qtbot, Settings())
    assert dialog.onnx_check.isEnabled() and not dialog.onnx_check.isChecked()
    assert dialog.result_settings().image_backend == "torch"
    dialog.onnx_check.setChecked(True)
    assert dialog.result_settings().image_backend == "onnxruntime"
    assert make_prefs(qtbot, Settings(image_backend="onnxruntime")).onnx_check.isChecked()
    # without ONNX Runtime installed the choice is shown, greyed out, with what to install
    monkeypatch.setattr(onnx_tower, "available", lambda: False)
    missing = make_prefs(qtbot, Settings())
    assert not missing.onnx_check.isEnabled() and "photoclip[onnx]" in missing.onnx_check.toolTip()


def test_preferences_local_weights_file(qtbot, tmp_path):
    weights = tmp_path / "my model.safetensors"
    weights.write_bytes(b"\0" * 16)
    config = tmp_path / "tiny.json"
    config.write_text("{}")
    dialog = make_prefs(qtbot)
    assert not dialog.local_panel.isEnabled()
    dialog.local_radio.click()
    assert dialog.local_panel.isEnabled()
    assert not dialog.ok_button.isEnabled()
    assert "weights file" in dialog.error_label.message()

    asked = []
    def choose_file(title, name_filter, start_dir):
        asked.append(name_filter)
        return str(weights) if "weights" in name_filter else str(config)
    dialog.choose_file = choose_file
    dialog.weights_browse.click()
    assert dialog.weights_edit.text() == str(weights)
    assert dialog.ok_button.isEnabled(), dialog.error_label.message()
    result = dialog.result_settings()
    assert (result.model, result.pretrained) == ("ViT-B-32-256", str(weights))  # keeps the architecture
    dialog.arch_combo.setCurrentText("ViT-B-16")
    assert dialog.result_settings().model == "ViT-B-16"

    dialog.config_browse.click()
    assert not dialog.arch_combo.isEnabled()
    assert dialog.result_settings().model == str(config)
    assert dialog.model_changed()
    assert "*.safetensors" in asked[0] and "*.json" in asked[1]

    dialog.weights_edit.setText(str(tmp_path / "missing.pt"))
    assert not dialog.ok_button.isEnabled()
    assert "There is no file" in dialog.error_label.message()
    dialog.weights_edit.setText(str(config))
    assert "should end in" in dialog.error_label.message()


def test_preferences_open_with_local_or_other_model(qtbot, tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    dialog = make_prefs(qtbot, Settings(model="ViT-B-16", pretrained=str(weights)))
    assert dialog.choice() == "local"
    assert dialog.arch_combo.currentText() == "ViT-B-16"
    assert not dialog.model_changed()

    # A model chosen elsewhere (CLI) that is neither curated nor a file is kept, not silently replaced.
    other = Settings(model="ViT-B-32", pretrained="openai")
    dialog = make_prefs(qtbot, other)
    assert dialog.choice() == "current"
    assert dialog.result_settings() == other
    dialog.model_radios["Best"].click()
    assert dialog.result_settings().model == "ViT-L-14"


# -- problems dialog ------------------------------------------------------------------------------

NOW = time.time()
PROBLEMS = [
    Problem("/photos/2024/beach.jpg", "truncated JPEG", NOW - 60),
    Problem("/photos/2024/scan.tiff", "unsupported TIFF compression", NOW - 7200),
    Problem("/photos/old/empty.png", "zero-byte file", NOW - 86400),
]


def make_problems(qtbot, problems=PROBLEMS):
    dialog = ProblemsDialog(problems)
    qtbot.addWidget(dialog)
    return dialog


def column(dialog, col):
    return [dialog.proxy.index(r, col).data() for r in range(dialog.proxy.rowCount())]


def test_problems_table_lists_sorts_and_filters(qtbot):
    dialog = make_problems(qtbot)
    assert column(dialog, 0) == ["beach.jpg", "scan.tiff", "empty.png"]  # newest first
    assert column(dialog, 1)[2] == "/photos/old"
    assert dialog.count_label.text() == "3 files"
    dialog.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert column(dialog, 0) == ["beach.jpg", "empty.png", "scan.tiff"]
    dialog.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    assert column(dialog, 0) == ["empty.png", "scan.tiff", "beach.jpg"]

    qtbot.keyClicks(dialog.filter_edit, "TIFF")
    assert column(dialog, 0) == ["scan.tiff"]
    assert dialog.count_label.text() == "1 of 3 files"
    dialog.filter_edit.setText("2024")  # matches the folder
    assert sorted(column(dialog, 0)) == ["beach.jpg", "scan.tiff"]
    dialog.filter_edit.setText("nothing like this")
    assert dialog.proxy.rowCount() == 0
    assert not dialog.copy_button.isEnabled()


def test_problems_copy_list_copies_what_is_shown(qtbot):
    dialog = make_problems(qtbot)
    dialog.filter_edit.setText("2024")
    dialog.copy_button.click()
    text = QGuiApplication.clipboard().text()
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].split("\t")[:2] == ["/photos/2024/beach.jpg", "truncated JPEG"]
    assert "empty.png" not in text
    assert dialog.copy_button.text() == "Copied"


def test_problems_show_in_folder_uses_selected_row(qtbot):
    dialog = make_problems(qtbot)
    shown = []
    dialog.show_in_folder = shown.append
    assert not dialog.show_button.isEnabled()
    dialog.table.selectRow(1)
    assert dialog.show_button.isEnabled()
    dialog.show_button.click()
    assert shown == ["/photos/2024/scan.tiff"]


def test_problems_with_undecodable_name_and_empty_list(qtbot):
    odd = os.fsdecode(b"/photos/caf\xe9.jpg")
    dialog = make_problems(qtbot, [Problem(odd, "not an image", NOW)])
    assert column(dialog, 0) == ["caf\\xe9.jpg"]
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text().startswith("/photos/caf\\xe9.jpg\tnot an image")
    shown = []
    dialog.show_in_folder = shown.append
    dialog.table.selectRow(0)
    dialog.show_button.click()
    assert shown == [odd]  # the real path, not the printable one

    empty = make_problems(qtbot, [])
    assert empty.table.isHidden()
    assert empty.count_label.isHidden()


# -- model banner ---------------------------------------------------------------------------------

@pytest.fixture
def banner(qtbot, tmp_path):
    window = QWidget()
    qtbot.addWidget(window)
    b = ModelBanner(window, models_dir=str(tmp_path / "models"))
    with qtbot.waitExposed(window):
        window.show()
    yield b  # keeps `window` (the banner's parent) alive for the test


def visible(w):
    return w.isVisibleTo(w.window())


def test_banner_first_run_message_and_download(qtbot, banner, tmp_path):
    assert banner.state == "hidden" and not visible(banner)
    banner.show_needed("ViT-B-32-256", "about 600 MB")
    assert banner.state == "needed" and visible(banner)
    text = banner.message_label.text()
    assert "ViT-B-32-256, about 600 MB" in text and "Your photos stay on this computer" in text
    assert str(tmp_path / "models") in banner.hint_label.text()  # where the weights go
    assert "local weights file" in banner.hint_label.text()       # how to work offline
    assert visible(banner.download_button) and visible(banner.local_button)
    assert not visible(banner.progress_bar) and not visible(banner.retry_button)
    with qtbot.waitSignal(banner.downloadRequested, timeout=1000):
        banner.download_button.click()
    banner.show_needed("ViT-B-16 (datacomp_xl_s13b_b90k)", "about 600 MB")  # ModelSpec.label form
    assert "(ViT-B-16, about 600 MB)" in banner.message_label.text()


def test_banner_local_file(qtbot, banner):
    banner.show_needed("ViT-B-32-256", "about 600 MB")
    banner.choose_weights_file = lambda: ""
    with qtbot.assertNotEmitted(banner.localFileChosen):
        banner.local_button.click()
    banner.choose_weights_file = lambda: "/data/clip/open_clip_model.safetensors"
    with qtbot.waitSignal(banner.localFileChosen, timeout=1000) as blocker:
        banner.local_button.click()
    assert blocker.args == ["", "/data/clip/open_clip_model.safetensors"]


def test_banner_progress_and_cancel(qtbot, banner):
    banner.show_needed("ViT-B-32-256", "about 600 MB")
    banner.show_progress(0, None)
    assert banner.state == "progress"
    assert (banner.progress_bar.minimum(), banner.progress_bar.maximum()) == (0, 0)  # busy: size unknown
    banner.show_progress(300_000_000, 600_000_000)
    assert banner.progress_bar.maximum() > 0
    assert banner.progress_bar.value() == banner.progress_bar.maximum() // 2
    assert banner.progress_label.text() == "300 MB of 600 MB"
    banner.show_progress(45_000_000, None)
    assert banner.progress_bar.maximum() == 0 and banner.progress_label.text() == "45 MB"
    assert visible(banner.cancel_button) and not visible(banner.download_button)
    with qtbot.waitSignal(banner.cancelRequested, timeout=1000):
        banner.cancel_button.click()
    assert not banner.cancel_button.isEnabled()  # no double cancel
    banner.show_needed("ViT-B-32-256", "about 600 MB")
    assert banner.state == "needed"
    banner.show_progress(1, 2)
    assert banner.cancel_button.isEnabled()


def test_banner_error_is_readable_and_offers_retry(qtbot, banner):
    banner.show_progress(10, 100)
    banner.show_error("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
                      "photoclip.core.errors.ModelUnavailableError: Cannot download ViT-B-32-256: no internet connection.")
    assert banner.state == "error"
    text = banner.message_label.text()
    assert "Traceback" not in text and "File " not in text and "ModelUnavailableError" not in text
    assert "no internet connection" in text
    assert visible(banner.retry_button) and visible(banner.local_button)
    assert not visible(banner.progress_bar) and not visible(banner.cancel_button)
    with qtbot.waitSignal(banner.downloadRequested, timeout=1000):
        banner.retry_button.click()
    banner.show_error("x" * 5000)
    assert len(banner.message_label.text()) < 500


def test_banner_error_from_core_keeps_what_went_wrong(qtbot, banner):
    from photoclip.core.embedder import ModelSpec, offline_help
    from photoclip.core.errors import ModelUnavailableError

    spec = ModelSpec("ViT-B-32-256", "datacomp_s34b_b86k")
    err = ModelUnavailableError(
        f"Could not download the weights of {spec.label} (https://huggingface.co/x/open_clip_model.safetensors: "
        "[Errno -3] Temporary failure in name resolution). " + offline_help(spec))
    banner.show_error(str(err))
    text = banner.message_label.text()
    assert text.startswith("Could not download the weights of ViT-B-32-256")
    assert "Temporary failure in name resolution" in text
    assert "To use photoclip offline" not in text          # the banner's own hint says this
    assert "To use photoclip offline" in banner.message_label.toolTip()  # full text still reachable
    assert "local weights file" in banner.hint_label.text()
    banner.hide_banner()
    assert banner.state == "hidden" and not visible(banner)


def test_problem_times_read_as_dates_in_any_locale():
    from PySide6.QtCore import QLocale

    from photoclip.gui.problems_dialog import format_when

    when = 1796213640.0  # 2026-12-02 around 17:34 UTC
    saved = QLocale()
    try:
        QLocale.setDefault(QLocale(QLocale.Language.C))
        text = format_when(when)
        assert text.startswith("2026-12-0") and ":" in text, text  # not "2 12 2026"
        QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
        assert "26" in format_when(when) and "12" in format_when(when)
    finally:
        QLocale.setDefault(saved)


def test_preferences_precision_is_saved_and_shows_what_is_in_use(qtbot, tmp_path):
    from photoclip.core.config import PRECISIONS

    dialog = make_prefs(qtbot, Settings())
    choices = [dialog.precision_combo.itemData(i) for i in range(dialog.precision_combo.count())]
    assert tuple(choices) == PRECISIONS and dialog.precision_combo.currentData() == "auto"
    assert "next time the model loads" in dialog.precision_label.text()
    dialog.precision_combo.setCurrentIndex(dialog.precision_combo.findData("bf16"))
    result = dialog.result_settings()
    assert result.precision == "bf16" and not dialog.model_changed()
    result.save(tmp_path / "settings.json")
    assert Settings.load(tmp_path / "settings.json").precision == "bf16"
    again = PreferencesDialog(Settings.load(tmp_path / "settings.json"), precision_in_use="fp32 (fp32 chosen)")
    qtbot.addWidget(again)
    assert again.precision_combo.currentData() == "bf16"
    assert again.precision_label.text().startswith("In use: fp32 (fp32 chosen).")
