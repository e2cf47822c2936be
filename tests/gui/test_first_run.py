"""First run without weights: a folder added while the chosen local weights file loads is indexed."""

from __future__ import annotations

import torch
from helpers import draw_photo
from safetensors.torch import save_file


def test_folder_added_while_the_local_model_loads_is_indexed(open_window, qtbot, tmp_path, tiny_config):
    from photoclip.core.embedder import Embedder, ModelSpec

    weights = tmp_path / "weights.safetensors"
    model = Embedder(ModelSpec(tiny_config, "random"), "cpu", 1)
    with torch.no_grad():
        save_file({k: v.clone().contiguous() for k, v in model.model.state_dict().items()}, str(weights))
    photos = tmp_path / "holiday"
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        draw_photo(photos / f"p{i}.jpg", colour)

    # a library whose model has no weights yet: the banner asks for them
    w = open_window(wait_model=False, model=tiny_config, pretrained="laion2b_s34b_b79k")
    qtbot.waitUntil(lambda: w.banner is not None and w.banner.state == "needed", timeout=30_000)
    assert not w.browser.model_ready

    # the natural first-run order: choose the weights file, then add a folder at once
    w.actions.use_local_model(tiny_config, str(weights))
    w.actions.add_folders([str(photos)])
    qtbot.waitUntil(lambda: w.browser.model_ready and not w.services.worker.is_busy(), timeout=60_000)
    qtbot.waitUntil(lambda: w.library.status()["embedded"] == 3, timeout=60_000)
    qtbot.waitUntil(lambda: w.model.rowCount() == 3, timeout=30_000)
