"""Grouping a library into duplicates: ``Library.duplicates`` over 100,000 photos.

    python benchmarks/bench_duplicates.py                 # 100k photos
    python benchmarks/bench_duplicates.py --sizes 10000,100000

Uses bench_query's cached synthetic library (clustered unit vectors of the default model's
width, stored through the catalog, hnswlib index built once). Near-duplicates are planted: every
50th photo gets a copy whose vector is the original's plus a little noise (cosine ~0.98), and
every 100th an exact copy (same fingerprint). Reports the grouping time (neighbours from the
library's own hnswlib index, union-find with the group cap) against the 30 s target, the groups
found against the planted ones, and peak RSS. The library is copied first, so the cache stays clean.

The synthetic photos have no files, and ``Library.duplicates`` ends by opening every grouped photo
(``duplicates.verified``: a copy deleted or replaced since the last index is not offered), which
would drop them all. So the grouping (the same steps ``Library.duplicates`` takes before that)
is timed on the synthetic library, and the verification separately, on as many real small JPEGs
as the groups hold; the two add up to what a user waits for.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import isolate_home, load_average, peak_rss_mb  # noqa: E402
from bench_query import DIM, MODEL, build_library  # noqa: E402

from photoclip.core.duplicates import group_duplicates  # noqa: E402


def plant(lib, n: int) -> tuple[int, int]:
    """Add near and exact copies; returns (near pairs, exact pairs) planted."""
    from photoclip.core.catalog import NewPhoto

    mid = lib.catalog.find_model(lib.model_key)[0]
    folder = lib.folders()[0]
    rng = np.random.default_rng(1)
    near, exact, vectors = [], [], []
    for i in range(0, n, 50):
        rec = lib.catalog.photo_by_path(str(Path(folder.path) / f"d{i // 1000:04d}" / f"IMG_{i:07d}.jpg"))
        v = lib.catalog.vector_for_fingerprint(mid, rec.fingerprint)[1]
        w = v + rng.normal(scale=0.2 / np.sqrt(DIM), size=DIM).astype(np.float32)
        vectors.append(w / np.linalg.norm(w))
        near.append(NewPhoto(rec.path.replace(".jpg", "-small.jpg"), folder.id, 1_000_000, rec.mtime_ns,
                             f"near-{i:08x}", 2000, 1500, None))
        if i % 100 == 0:
            exact.append(NewPhoto(rec.path.replace(".jpg", " copy.jpg"), folder.id, rec.size, rec.mtime_ns,
                                  rec.fingerprint, 4000, 3000, None))
    lib.catalog.store_photos(near, mid, np.stack(vectors))
    lib.catalog.store_photos(exact)  # same fingerprints: their vectors are there already
    lib.index_cache.index(mid)
    return len(near), len(exact)


def verify_cost(count: int, work: Path) -> float:
    """Seconds ``duplicates.verified`` takes to check ``count`` photos that are still there: real
    small JPEGs, indexed by a catalog record of their own state."""
    from PIL import Image

    from photoclip.core.catalog import PhotoRecord
    from photoclip.core.duplicates import DuplicateGroup, verified
    from photoclip.core.scanner import fingerprint

    folder = work / "real"
    folder.mkdir()
    records = []
    for i in range(count):
        path = folder / f"IMG_{i:06d}.jpg"
        Image.new("RGB", (64, 48), (i % 256, (i * 7) % 256, 90)).save(path, comment=str(i).encode(), quality=80)
        st = path.stat()
        records.append(PhotoRecord(i, str(path), str(folder), st.st_size, st.st_mtime_ns,
                                   fingerprint(str(path), st.st_size), 64, 48, None, False))
    groups = [DuplicateGroup(tuple(records[i:i + 2]), 1.0) for i in range(0, len(records) - 1, 2)]
    t0 = time.perf_counter()
    kept = verified(groups)
    took = time.perf_counter() - t0
    assert sum(len(g.photos) for g in kept) == 2 * len(groups), "a real file failed its check"
    return took


def main(argv: list[str] | None = None) -> int:
    from photoclip.core.library import Library

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000")
    ap.add_argument("--threshold", type=float, default=0.95)
    ap.add_argument("--neighbours", type=int, default=8, help="nearest neighbours asked per photo (Library.duplicates default)")
    args = ap.parse_args(argv)
    home = isolate_home()
    print(f"model {MODEL} vectors ({DIM} values), CPU; {load_average()} at start", flush=True)
    for n in (int(s.replace("_", "")) for s in args.sizes.split(",")):
        cached = build_library(n, False)
        work = Path(tempfile.mkdtemp(prefix="photoclip-bench-dups-"))
        shutil.copytree(cached, work / "lib", symlinks=True)
        lib = Library(work / "lib" / "library", model=MODEL, pretrained="random")
        near, exact = plant(lib, n)
        t0 = time.perf_counter()
        photos = lib.catalog.photos(include_offline=False)
        mid = lib._model_row()
        links = list(lib._near_links(mid, args.threshold, args.neighbours, None))
        groups = group_duplicates(photos, links, threshold=args.threshold)
        grouping = time.perf_counter() - t0
        checking = verify_cost(sum(len(g.photos) for g in groups), work)
        took = grouping + checking
        sizes = np.bincount([len(g.photos) for g in groups]) if groups else []
        verdict = "meets" if took <= 30 else "MISSES"
        print(f"[{n:,} photos + {near:,} near + {exact:,} exact copies] {len(groups):,} groups in {took:.1f} s "
              f"({verdict} the 30 s target: grouping {grouping:.1f} s + opening the grouped photos {checking:.1f} s); group sizes {dict((k, int(v)) for k, v in enumerate(sizes) if v)}; "
              f"planted groups {near:,}", flush=True)
        lib.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"peak RSS {peak_rss_mb():.0f} MB; {load_average()} at end")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
