"""Incremental rescan: re-index a library of 100,000 unchanged files.

    python benchmarks/bench_rescan.py                  # 100 folders x 1,000 files
    python benchmarks/bench_rescan.py --files 20000 --profile

The files are tiny valid JPEGs (one 16 x 16 image, each copy with a unique JPEG comment so
every fingerprint differs), made once in $PHOTOCLIP_BENCH_DATA (default /tmp/photoclip-bench).
A fresh library indexes them with a tiny random open_clip model (the speed of an unchanged
rescan does not depend on the model: no file is decoded); the first index time is reported
too. Then a new ``Library`` object over the same folder (as after restarting the app) runs
``lib.index()`` again: every file is stat'ed and compared with the catalog, nothing changes.
The baseline is a bare ``os.scandir`` walk + ``stat`` of the same tree (the least any rescan
must do), measured in the same run. --profile prints the rescan's cProfile hot spots.

The photos' own metadata (issue 16): the same unchanged rescan without the metadata step
(``Indexer._complete_metadata`` switched off: the rescan as it was before photoclip read
metadata) gives the step's share of an unchanged rescan (target: at most 10 %). Then every
photo is marked unread, as in a library upgraded from schema version 1, and the one-time
rescan that reads all their metadata is timed (photos/s). Last, an XMP sidecar is written beside
every photo (and removed again afterwards) and the unchanged rescan timed with them: each
sidecar is stat'ed and matched to its photo, so one edited in another app is read again.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import data_dir, isolate_home, load_average, peak_rss_mb, tiny_config_file  # noqa: E402

PER_FOLDER = 1000


def _tiny_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 140, 200)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def ensure_files(count: int) -> Path:
    root = data_dir() / f"tiny-{count}"
    done = root / ".complete"
    if done.exists():
        return root
    print(f"writing {count:,} tiny JPEGs in {root} (once; cached for later runs) ...", flush=True)
    started = time.perf_counter()
    jpeg = _tiny_jpeg()
    assert jpeg[:2] == b"\xff\xd8"
    head, rest = jpeg[:2], jpeg[2:]
    for i in range(count):
        folder = root / f"d{i // PER_FOLDER:03d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        text = f"photoclip rescan benchmark {i:08d}".encode()
        comment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text  # a COM segment right after SOI
        with open(folder / f"IMG_{i:06d}.jpg", "wb") as f:
            f.write(head + comment + rest)
    done.write_text("ok")
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return root


def bare_walk(root: Path) -> int:
    """The floor: scandir every folder and stat every file, nothing else."""
    n = 0
    stack = [str(root)]
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.is_dir():
                stack.append(entry.path)
            else:
                entry.stat()
                n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--profile", action="store_true", help="print the rescan's cProfile hot spots")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark library (printed path)")
    args = ap.parse_args(argv)

    home = isolate_home()
    tree = ensure_files(args.files)
    cfg = tiny_config_file(home)
    print(f"{args.files:,} files in {args.files // PER_FOLDER} folders; {load_average()} at start", flush=True)

    from photoclip.core.library import Library

    def progress(_p) -> None:
        pass

    root = Path(tempfile.mkdtemp(prefix="photoclip-bench-rescan-"))
    # One torch thread: a tiny model gains nothing from two, and on a busy machine two threads
    # of a tiny model spend their time waiting for each other. Not part of the rescan figure.
    lib = Library(root, model=str(cfg), pretrained="random", device="cpu", threads=1, remember_model=True)
    lib.embedder()  # model load is not part of either figure
    t0 = time.perf_counter()
    first = lib.index([str(tree)], progress=progress)
    first_s = time.perf_counter() - t0
    lib.close()
    print(f"first index:  {first_s:7.1f} s  ({first.summary()})", flush=True)

    bare_walk(tree)  # same page-cache state for both
    t0 = time.perf_counter()
    n = bare_walk(tree)
    floor_s = time.perf_counter() - t0
    print(f"bare walk:    {floor_s:7.2f} s  (scandir + stat of {n:,} files: the floor)", flush=True)

    lib = Library(root)  # as after restarting the app
    profiler = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    report = lib.index(progress=progress)
    if profiler:
        profiler.disable()
    rescan_s = time.perf_counter() - t0
    lib.close()
    print(f"rescan:       {rescan_s:7.2f} s  ({report.summary()})", flush=True)
    assert report.unchanged == args.files and report.embedded == 0, report

    from photoclip.core.indexer import Indexer

    real_step = Indexer._complete_metadata
    Indexer._complete_metadata = lambda self, *a, **k: None
    try:
        lib = Library(root)
        t0 = time.perf_counter()
        lib.index(progress=progress)
        without_s = time.perf_counter() - t0
        lib.close()
    finally:
        Indexer._complete_metadata = real_step
    lib = Library(root)
    t0 = time.perf_counter()
    lib.index(progress=progress)
    with_s = time.perf_counter() - t0
    print(f"rescan without the metadata step: {without_s:7.2f} s; with it: {with_s:7.2f} s "
          f"(+{(with_s / without_s - 1) * 100:.1f} %, target <= 10 %)", flush=True)
    with lib.catalog.transaction() as c:
        c.execute("UPDATE photos SET meta_read=0")
    t0 = time.perf_counter()
    upgraded = lib.index(progress=progress)
    upgrade_s = time.perf_counter() - t0
    lib.close()
    assert upgraded.metadata_read == args.files and upgraded.embedded == 0, upgraded
    print(f"after an upgrade, reading every photo's metadata once: {upgrade_s:7.2f} s "
          f"({args.files / upgrade_s:,.0f} photos/s, nothing embedded)", flush=True)

    # A darktable or digiKam library: an XMP sidecar beside every photo. Every sidecar is stat'ed
    # and matched to its photo by each rescan (so one edited in another app is read again).
    sidecars = [os.path.join(d, name + ".xmp") for d, _, names in os.walk(tree) for name in names
                if name.endswith(".jpg")]
    try:
        for path in sidecars:
            with open(path, "w", encoding="utf-8") as f:
                f.write("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
        lib = Library(root)
        read = lib.index(progress=progress)  # the new sidecars: every photo's metadata read again
        assert read.metadata_read == args.files, read
        t0 = time.perf_counter()
        again = lib.index(progress=progress)
        sidecar_s = time.perf_counter() - t0
        lib.close()
        assert again.metadata_read == 0 and again.unchanged == args.files, again
        print(f"rescan with a sidecar beside every photo: {sidecar_s:7.2f} s "
              f"({sidecar_s / with_s:.2f} x the rescan without sidecars)", flush=True)
    finally:
        for path in sidecars:
            try:
                os.remove(path)
            except OSError:
                pass
    print()
    print(f"unchanged rescan of {args.files:,} files: {rescan_s:.2f} s (target <= 10 s at 100k), "
          f"{rescan_s / floor_s:.1f} x the bare walk; first index {first_s:.0f} s "
          f"({args.files / first_s:.0f} files/s); peak RSS {peak_rss_mb():.0f} MB")
    print(f"{load_average()} at end")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    if args.keep:
        print(f"library kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
