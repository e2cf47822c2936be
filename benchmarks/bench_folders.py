"""Subfolders in the sidebar: listing a folder's subfolders with their counts, and listing one
subfolder's photos (alone or with the deeper ones), at 100,000 catalog rows.

    python benchmarks/bench_folders.py [--photos 100000] [--runs 20]

A catalog of N photo rows (no files needed: nothing here reads them) is written straight through
``Catalog.store_photos``, in a tree like a camera import: LIB/<year>/<month>/<event>/IMG_n.jpg
(20 years x 12 months x 4 events: 960 folders of ~100 photos) plus a few at the top of each year.

Measured (median of --runs, ms), each against a baseline in the same run:
- subfolders: ``Catalog.folder_level`` of the library folder, of a year, of a month; baseline:
  the same counts by reading every path below the folder (what the sidebar would have to do
  without the indexed ``dir`` column);
- filter: ``photo_listing`` of a year with its subfolders, of an event alone; baseline: the whole
  library's listing (what "All photos" costs);
- the upgrade from catalog version 4 (filling ``dir`` for every row) once, against reopening an
  up-to-date catalog.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from photoclip.core.catalog import Catalog, NewPhoto, enc  # noqa: E402
from photoclip.core.filters import PhotoFilter  # noqa: E402


def build(root: Path, n: int) -> tuple[Catalog, str]:
    cat = Catalog(root / "lib")
    photos_root = str(root / "Pictures")
    fid = cat.add_folder(photos_root)
    dirs = [os.path.join(photos_root, str(2005 + y), f"{m + 1:02d}", f"event-{e}")
            for y in range(20) for m in range(12) for e in range(4)]
    dirs += [os.path.join(photos_root, str(2005 + y)) for y in range(20)]
    batch = []
    for i in range(n):
        d = dirs[i % len(dirs)]
        batch.append(NewPhoto(os.path.join(d, f"IMG_{i:07d}.jpg"), fid, 1000 + i, 1_700_000_000_000_000_000 + i,
                              f"bench-folders-{i:08d}", 4000, 3000, None))
        if len(batch) == 10_000:
            cat.store_photos(batch)
            batch = []
    if batch:
        cat.store_photos(batch)
    return cat, photos_root


def naive_level(cat: Catalog, directory: str) -> dict[str, list[int]]:
    """The same counts as folder_level, from every path below the folder."""
    lo = enc(os.path.join(directory, ""))
    hi = lo[:-1] + bytes([lo[-1] + 1])
    sep = os.sep.encode()
    out: dict[str, list[int]] = {}
    for (blob,) in cat.conn.execute("SELECT path FROM photos WHERE path >= ? AND path < ? AND pair_of IS NULL",
                                    (lo, hi)):
        rel = bytes(blob)[len(lo):].split(sep)
        if len(rel) > 1:
            entry = out.setdefault(os.fsdecode(rel[0]), [0, 0])
            entry[1] += 1
            entry[0] += len(rel) == 2
    return out


def ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="photoclip-bench-folders-"))
    try:
        t0 = time.perf_counter()
        cat, root = build(tmp, args.photos)
        print(f"{args.photos:,} catalog rows written in {time.perf_counter() - t0:.1f} s")
        year, month = os.path.join(root, "2014"), os.path.join(root, "2014", "06")
        event = os.path.join(month, "event-2")
        own, subs = cat.folder_level(root)
        assert own.total == args.photos and len(subs) == 20
        assert {s.name: [s.photos, s.total] for s in cat.subfolders(year)} == naive_level(cat, year)
        print("subfolders with counts (ms, median)     photoclip   every path read   ratio")
        for label, d in (("library folder (20 years)", root), ("a year (12 months)", year),
                         ("a month (4 events)", month)):
            fast = ms(lambda: cat.folder_level(d), args.runs)
            slow = ms(lambda: naive_level(cat, d), max(3, args.runs // 4))
            print(f"  {label:34} {fast:9.2f}   {slow:15.2f}   {slow / fast:5.0f}x")
        print("photos of a folder (ms, median)          listing   rows   vs all photos")
        everything = ms(lambda: cat.photo_listing(), max(3, args.runs // 4))
        for label, where in (("a year with its subfolders", PhotoFilter(directory=year)),
                             ("an event alone", PhotoFilter(directory=event, deeper=False)),
                             ("a year's own photos alone", PhotoFilter(directory=year, deeper=False))):
            t = ms(lambda: cat.photo_listing(where), args.runs)
            rows = len(cat.photo_listing(where))
            print(f"  {label:34} {t:9.2f} {rows:6,}   {t / everything:6.3f} of {everything:.1f} ms")
        cat.close()

        # the upgrade from version 4: the directory of every row filled in, once
        lib = tmp / "lib" / "catalog.sqlite3"
        copy = tmp / "v4"
        copy.mkdir()
        shutil.copy(lib, copy / "catalog.sqlite3")
        conn = sqlite3.connect(copy / "catalog.sqlite3")
        conn.execute("DROP INDEX photos_dir")
        conn.execute("ALTER TABLE photos DROP COLUMN dir")
        conn.execute("PRAGMA user_version=4")
        conn.commit()
        conn.close()
        t0 = time.perf_counter()
        Catalog(copy).close()
        upgrade = time.perf_counter() - t0
        t0 = time.perf_counter()
        Catalog(copy).close()
        reopen = time.perf_counter() - t0
        print(f"upgrade from version 4: {upgrade * 1e3:.0f} ms for {args.photos:,} rows "
              f"(reopening after it: {reopen * 1e3:.1f} ms)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
