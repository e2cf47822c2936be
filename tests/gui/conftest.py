"""Fixtures for the desktop app's tests: offscreen Qt, a wired window over a tiny random model.

Each test gets its own library (PHOTOCLIP_HOME from tests/conftest.py) and its own QSettings
file, so nothing touches the user's real configuration. torch and open_clip are imported once
here so the window's background model load is quick; the app itself never imports them on the
GUI thread.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

import open_clip  # noqa: E402,F401 - warm import, see the module docstring
import torch  # noqa: E402,F401
from PySide6.QtCore import QSettings  # noqa: E402

QT_NOISE = ("This plugin does not support propagateSizeHints", "propagateSizeHints")


def pytest_collection_modifyitems(config, items):
    """Qt warnings fail the GUI tests (STYLE.md), apart from the offscreen plugin's noise."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(*QT_NOISE))


@pytest.fixture
def gui_settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


def fast_watch():
    """Folder-watcher timings for tests: changes are handed over within about half a second."""
    from photoclip.gui.watching import WatchOptions

    return WatchOptions(debounce_s=0.2, stable_s=0.2, max_delay_s=2.0, poll_interval_s=1.0, check_interval_s=0.3)


@pytest.fixture
def open_window(qtbot, make_library, gui_settings):
    """Factory: a shown, wired MainWindow over a library with the tiny model, model loaded."""
    from photoclip.gui.app import create_main_window

    windows = []

    def make(root=None, *, wait_model: bool = True, rescan_on_start: bool = True, **kwargs):
        lib = make_library(root, **kwargs)
        w = create_main_window(lib, gui_settings, rescan_on_start=rescan_on_start, watch=fast_watch())
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        if wait_model:
            qtbot.waitUntil(lambda: w.browser.model_ready and not w.services.worker.is_busy(), timeout=60_000)
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()
        assert not w.services.threads_running()
