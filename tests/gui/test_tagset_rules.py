"""One rule for what a tag set may be, the same in core, on the command line and in the editor."""

from __future__ import annotations

import pytest

from photoclip.core.errors import PhotoclipError
from photoclip.core.tagging import TagSet, clean_labels

CASES = [  # (tag set, taken names, word the refusal holds, or None when it is accepted)
    (TagSet("", ["dog", "cat"]), (), "name"),
    (TagSet("pets", ["dog"]), (), "one more label"),
    (TagSet("pets", ["dog", "Dog", " dog "]), (), "one more label"),  # repeats ignoring case are one label
    (TagSet("pets", [" ", "\t"]), (), "at least one label"),
    (TagSet("Pets", ["dog", "cat"]), ("scenes", "pets"), "already a tag set"),
    (TagSet("pets", ["dog", "cat"], templates=["a photo of"]), (), "{}"),
    (TagSet("pets", ["dog", "cat"], templates=["{} and {0}"]), (), "braces"),
    (TagSet("pets", ["dog", "cat"], mode="multi", threshold=1.5), (), "threshold"),
    (TagSet("pets", ["dog", "cat"]), ("scenes",), None),
]


@pytest.mark.parametrize("tag_set, taken, word", CASES)
def test_core_rule(tag_set, taken, word):
    if word is None:
        assert tag_set.validate(taken).labels == ["dog", "cat"]
    else:
        with pytest.raises(PhotoclipError, match=None) as caught:
            tag_set.validate(taken)
        assert word in str(caught.value)


def test_labels_are_cleaned_once_the_same_everywhere():
    assert clean_labels(["  dog ", "cat", "Dog", "hot \t air  balloon", "", "cat"]) == ["dog", "cat", "hot air balloon"]


def test_the_library_refuses_what_the_rule_refuses_and_replaces_a_set_saved_under_its_name(make_library):
    lib = make_library()
    with pytest.raises(PhotoclipError, match="one more label"):
        lib.save_tag_set(TagSet("solo", ["dog"]))
    lib.save_tag_set(TagSet("pets", ["dog", "cat"]))
    lib.save_tag_set(TagSet("Pets", ["dog", "cat", "bird"]))  # same name in another case: replaces it
    assert [(t.name, t.labels) for t in lib.tag_sets() if t.name.casefold() == "pets"] == [("Pets", ["dog", "cat", "bird"])]
    lib.save_tag_set(TagSet("animals", ["cow", "pig"]))
    with pytest.raises(PhotoclipError, match="already a tag set"):
        lib.save_tag_set(TagSet("PETS", ["x", "y"]), old_name="animals")  # renaming onto another set


def test_the_command_line_refuses_a_one_label_set(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, PHOTOCLIP_HOME=str(tmp_path / "lib"), PHOTOCLIP_MODELS=str(tmp_path / "models"))
    proc = subprocess.run([sys.executable, "-m", "photoclip", "tagsets", "add", "solo", "dog"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "one more label" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("tag_set, taken, word", CASES)
def test_the_editor_says_the_same(qtbot, tag_set, taken, word):
    from photoclip.gui.tagset_editor import TagSetEditor

    editor = TagSetEditor(None, set(taken))
    qtbot.addWidget(editor)
    editor.name_edit.setText(tag_set.name)
    editor.labels_edit.setPlainText("\n".join(tag_set.labels))
    editor.multi_radio.setChecked(tag_set.mode == "multi")
    editor.templates_edit.setPlainText("\n".join(tag_set.templates or []))
    if tag_set.threshold >= 1:
        return  # the editor's slider cannot express a threshold outside 5-95 %
    if word is None:
        assert editor.ok_button.isEnabled() and editor.error_label.message() == ""
    else:
        assert not editor.ok_button.isEnabled()
        shown = editor.error_label.message() + " " + editor.templates_error.message()
        assert word in shown, shown
