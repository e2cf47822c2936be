"""settings.json: versioned, and a bad value costs that one setting, said out loud, not all of them."""

from __future__ import annotations

import json
import logging

from photoclip.core.config import SETTINGS_VERSION, Settings


def test_settings_round_trip_with_their_version(tmp_path):
    path = tmp_path / "settings.json"
    Settings(device="cpu", threads=3, watch=False).save(path)
    data = json.loads(path.read_text())
    assert data["version"] == SETTINGS_VERSION
    assert Settings.read(path) == (Settings(device="cpu", threads=3, watch=False), [])


def test_a_bad_value_is_reported_and_only_it_falls_back(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "device": "toaster", "threads": "four", "batch_size": 16,
                                "watch": "yes", "decode_workers": -2, "model": "ViT-B-16"}))
    settings, problems = Settings.read(path)
    # what was right is kept
    assert (settings.batch_size, settings.model) == (16, "ViT-B-16")
    # what was wrong is its default, each said
    assert (settings.device, settings.threads, settings.watch, settings.decode_workers) == ("auto", 0, True, 0)
    assert len(problems) == 4
    assert any("device" in p and "toaster" in p for p in problems)
    with caplog.at_level(logging.WARNING, logger="photoclip.config"):
        Settings.load(path)
    assert "toaster" in caplog.text


def test_a_newer_file_keeps_what_this_version_does_not_know(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": SETTINGS_VERSION + 1, "threads": 2, "future_option": {"x": 1}}))
    settings, problems = Settings.read(path)
    assert settings.threads == 2 and problems and "newer" in problems[0]
    settings.save(path)  # saving here must not lose the newer version's setting
    assert json.loads(path.read_text())["future_option"] == {"x": 1}


def test_a_file_that_is_not_settings_is_said_so(tmp_path):
    path = tmp_path / "settings.json"
    for text in ("[1, 2]", "{not json", ""):
        path.write_text(text)
        settings, problems = Settings.read(path)
        assert settings == Settings() and len(problems) == 1
    assert Settings.read(tmp_path / "missing.json") == (Settings(), [])


def test_the_precision_is_one_of_the_choices(tmp_path):
    path = tmp_path / "settings.json"
    Settings(precision="bf16").save(path)
    assert Settings.read(path) == (Settings(precision="bf16"), [])
    path.write_text(json.dumps({"version": 1, "precision": "fp8", "device": "cpu"}))
    settings, problems = Settings.read(path)
    assert (settings.precision, settings.device) == ("auto", "cpu") and any("fp8" in p for p in problems)
