"""Through the desktop app with a model that has learned something: "blue square" shows blue squares first.

The tiny CLIP of tests/tinyclip.py (trained on generated coloured shapes, cached between runs) is
loaded as a user loads offline weights; held-out photos are added through the window's own
add-folder action (indexed by the app's worker), then the query is typed into the search bar.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinyclip  # noqa: E402
from tinyclip import COLOURS, SHAPES  # noqa: E402

from photoclip.gui.photo_model import PathRole, ScoreRole  # noqa: E402

from gui_helpers import wait_idle  # noqa: E402

HELD_OUT_SEED = 31_337  # not tinyclip.SEED
N_PHOTOS = 240


@pytest.fixture(scope="module")
def model_files():
    return tinyclip.get_trained_model()


def shown(w) -> list[tuple[str, float]]:
    return [(w.model.index(r).data(PathRole), w.model.index(r).data(ScoreRole)) for r in range(w.model.rowCount())]


def test_typing_blue_square_shows_blue_squares_first(open_window, qtbot, tmp_path, model_files):
    config, weights = model_files
    folder = tmp_path / "Shapes"
    items = tinyclip.write_dataset(folder, N_PHOTOS, HELD_OUT_SEED)
    truth = {str(p): specs for p, specs in items}

    def is_blue_square(path: str) -> bool:
        return any(s.colour == "blue" and s.shape == "square" for s in truth[path])

    counts = {(c, sh): sum(any(s.colour == c and s.shape == sh for s in specs) for specs in truth.values())
              for c in COLOURS for sh in SHAPES}
    assert counts["blue", "square"] >= 10 and counts["yellow", "circle"] >= 10, counts
    w = open_window(model=str(config), pretrained=str(weights))
    t0 = time.perf_counter()
    with qtbot.waitSignal(w.services.worker.finished, timeout=180_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.model.rowCount() == N_PHOTOS, timeout=30_000)
    t_index = time.perf_counter() - t0

    t0 = time.perf_counter()
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.search_bar.setText("blue square")
    t_search = time.perf_counter() - t0
    results = shown(w)
    assert w.model.is_search and results
    assert all(a[1] >= b[1] - 1e-6 for a, b in zip(results, results[1:]))
    top = [p for p, _ in results[:10]]
    top5 = sum(map(is_blue_square, top[:5]))
    p10 = sum(map(is_blue_square, top)) / 10
    described = [", ".join(f"{s.colour} {s.shape}" for s in truth[p]) for p in top]
    print(f"\n[meaning] GUI: {N_PHOTOS} held-out photos indexed through the window in {t_index:.1f}s; "
          f"'blue square' typed -> {len(results)} results in {t_search:.2f}s (debounce included): "
          f"top 5 blue squares {top5}/5, precision@10 {p10:.1f}; top 10 {described}")
    assert top5 == 5
    assert p10 >= 0.9

    # and the grid follows a second query too (a different colour and shape)
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.search_bar.setText("a yellow circle")
    top = [p for p, _ in shown(w)[:10]]
    yellow = sum(any(s.colour == "yellow" and s.shape == "circle" for s in truth[p]) for p in top)
    print(f"[meaning] GUI: 'a yellow circle' precision@10 {yellow / 10:.1f}")
    assert yellow >= 9
