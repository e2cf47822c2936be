"""The thumbnail grid with and without month headers (issue 16): how long a listing of N photos
takes to show, a resize to lay out again, and a scroll step, as the same grid without headers,
and as the QListView grid it replaced (uniform item sizes, batched layout, the same delegate).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_grid.py             # 100,000 and 1,000,000
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_grid.py --photos 100000

No disk and no library: a listing of made-up paths in date order over months of 200-2,000
photos each (1,000,000 photos: about 900 months), thumbnails as placeholders (no loader), a
1,000 x 760 grid. "show": set the listing and paint the first screen (the QListView: until its
batched layout has laid out every row, the event loop running); "resize": 100 px narrower, laid
out and painted again; "scroll": the scroll bar thumb dragged top to bottom in 600 steps, each
position painted (ms per step, p50 / p99).
"""

from __future__ import annotations

import argparse
import array
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def listing(n: int, seed: int = 1):
    import numpy as np

    from photoclip.core.catalog import PhotoListing

    rng = np.random.default_rng(seed)
    sizes = rng.integers(200, 2000, size=n // 200 + 1)
    month_of = np.repeat(np.arange(len(sizes)), sizes)[:n]
    months = array.array("q", (202612 - (month_of // 12) * 100 - month_of % 12).tolist())  # newest first
    ids = array.array("q", range(n))
    paths = [f"/photos/{i // 1000:04d}/IMG_{i:07d}.jpg" for i in range(n)]
    return PhotoListing(ids, paths, months=months)


def measure(app, kind: str, shown, headers: bool) -> dict:
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QListView

    from photoclip.core.catalog import PhotoListing
    from photoclip.gui.grid import PhotoDelegate, PhotoGrid
    from photoclip.gui.photo_model import PhotoModel

    model = PhotoModel()
    if kind == "listview":
        grid = QListView()
        grid.setItemDelegate(PhotoDelegate(grid))
        grid.setViewMode(QListView.ViewMode.ListMode)
        grid.setFlow(QListView.Flow.LeftToRight)
        grid.setWrapping(True)
        grid.setResizeMode(QListView.ResizeMode.Adjust)
        grid.setUniformItemSizes(True)
        grid.setLayoutMode(QListView.LayoutMode.Batched)
        grid.setBatchSize(2000)
        grid.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        grid.setGridSize(QSize(196, 200))
    else:
        grid = PhotoGrid()
    grid.setModel(model)
    grid.resize(1000, 760)
    grid.show()
    app.processEvents()
    if not headers:
        shown = PhotoListing(shown.ids, shown.paths)
    bar = grid.verticalScrollBar()

    def laid_out() -> None:  # the QListView lays out in batches while the event loop runs
        if kind == "listview":
            per_row = max(1, grid.viewport().width() // grid.gridSize().width())
            full = (len(shown) // per_row) * grid.gridSize().height() - grid.viewport().height()
            while bar.maximum() < full * 0.99:
                app.processEvents()

    t0 = time.perf_counter()
    model.set_listing(shown)
    app.processEvents()
    laid_out()
    grid.viewport().repaint()
    show_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    grid.resize(900, 760)
    app.processEvents()
    laid_out()
    grid.viewport().repaint()
    resize_s = time.perf_counter() - t0
    steps = []
    for i in range(1, 601):
        p0 = time.perf_counter()
        bar.setValue(round(bar.maximum() * i / 600))
        grid.viewport().repaint()
        app.processEvents()
        steps.append(time.perf_counter() - p0)
    steps.sort()
    grid.close()
    return {"show_s": show_s, "resize_s": resize_s, "p50_ms": steps[300] * 1e3, "p99_ms": steps[594] * 1e3}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, nargs="*", default=[100_000, 1_000_000])
    args = ap.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    for n in args.photos:
        shown = listing(n)
        t0 = time.perf_counter()
        starts, _ = shown.month_runs()
        runs_ms = (time.perf_counter() - t0) * 1e3
        print(f"\n{n:,} photos, {len(starts):,} months (finding the months: {runs_ms:.1f} ms)")
        rows = [("QListView grid (before), no headers", measure(app, "listview", shown, False)),
                ("PhotoGrid, no headers", measure(app, "grid", shown, False)),
                ("PhotoGrid, month headers", measure(app, "grid", shown, True))]
        base = rows[0][1]
        for name, r in rows:
            print(f"  {name:38s} show {r['show_s'] * 1e3:8.1f} ms ({r['show_s'] / base['show_s']:6.3f} x)  "
                  f"resize {r['resize_s'] * 1e3:8.1f} ms ({r['resize_s'] / base['resize_s']:6.3f} x)  "
                  f"scroll step p50 {r['p50_ms']:5.1f} ms ({r['p50_ms'] / base['p50_ms']:4.2f} x), "
                  f"p99 {r['p99_ms']:5.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
