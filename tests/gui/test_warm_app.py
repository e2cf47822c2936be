"""The app's loaded model answers ``photoclip search`` on its library (core/warm.py) until it closes."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.core import warm

pytestmark = pytest.mark.skipif(not warm.available(), reason="no AF_UNIX sockets here")


def test_the_apps_model_serves_one_shot_searches_until_the_window_closes(open_window, qtbot):
    w = open_window()
    lib = w.services.library
    sock = lib.root / warm.SOCKET_NAME
    qtbot.waitUntil(sock.exists, timeout=10_000)
    wanted = warm.model_request(lib.model_key, lib.settings.device, lib.settings.precision, lib.settings.image_backend)
    got = warm.encode_texts(lib.root, ["a red circle", "a blue square"], wanted)
    np.testing.assert_array_equal(got, lib.embedder().encode_texts(["a red circle", "a blue square"]))
    w.close()
    qtbot.waitUntil(lambda: not sock.exists(), timeout=10_000)
    with pytest.raises(warm.WarmUnavailable):
        warm.encode_texts(lib.root, ["a red circle"], wanted)
