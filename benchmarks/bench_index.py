"""Indexing throughput on 12-megapixel JPEGs: photoclip against the model's ceiling and a naive script.

    python benchmarks/bench_index.py                 # 200 photos, ViT-B-32-256 with random weights
    python benchmarks/bench_index.py --photos 400 --batch 32 --threads 2 --decode-workers 1

Three measurements of the same model (open_clip ViT-B-32-256, ``--pretrained random``: speed
does not depend on the weight values), same batch size, same torch thread count, each in its
own subprocess (so each has its own peak RSS and none inherits another's warm caches):

- ceiling:   ``model.encode_image`` on ready (n, 3, 256, 256) tensors: what the model alone can do;
- naive:     one file at a time, ``Image.open(p).convert("RGB")`` (full 12 MP decode),
             open_clip's preprocess, batch, encode: what most CLIP search scripts do;
- photoclip: ``Library(fresh).index([folder], tag=False)`` with the model already loaded: scan,
             fingerprint, read metadata, draft decode in a thread pool overlapped with
             inference, store vectors in the catalog and the hnswlib index.

``--variants photoclip,photoclip-nometa`` also measures photoclip with the metadata step (exiv2
read, place names) switched off, for that step's share of indexing (target: at most 5 %).

With photoclip[onnx] installed, two more: ceiling-onnx and photoclip-onnx, the same with the
image tower run by ONNX Runtime (Settings.image_backend = "onnxruntime"; the model's own tower
exported once, outside the timing, and cached in the data folder).

The photos are made once from ../shared/photos (random crop, upscale to 4000 x 3000, colour
jitter, flip, mild sensor-like grain so they compress like real photos, JPEG quality 90) and
cached in $PHOTOCLIP_BENCH_DATA (default /tmp/photoclip-bench). The page cache is warmed for
every variant alike; the first batch of each variant is a warm-up and is not timed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import (SHARED_PHOTOS, data_dir, isolate_home, load_average, peak_rss_mb,  # noqa: E402
                     report_result, run_measurement)

MODEL = "ViT-B-32-256"
WIDTH, HEIGHT = 4000, 3000
VARIANTS = ("ceiling", "naive", "photoclip")
ONNX_VARIANTS = ("ceiling-onnx", "photoclip-onnx")  # with photoclip[onnx] installed
#: photoclip without reading the photos' own metadata (date, camera, GPS): that step's cost
EXTRA_VARIANTS = ("photoclip-nometa",)
GRAIN = 4  # +- levels of uniform luminance grain


# ---------------------------------------------------------------------------- data


_GRAIN = None


def _grain(rng: np.random.Generator) -> np.ndarray:
    """A random window of a per-process grain field (cheaper than fresh noise for 12 M pixels)."""
    global _GRAIN
    if _GRAIN is None:
        _GRAIN = np.random.default_rng(7).integers(-GRAIN, GRAIN + 1, size=(HEIGHT + 97, WIDTH + 131, 1),
                                                    dtype=np.int16)
    y, x = int(rng.integers(0, 98)), int(rng.integers(0, 132))
    return _GRAIN[y:y + HEIGHT, x:x + WIDTH]


def _make_photo(job: tuple[int, str, str]) -> int:
    """One distinct 12 MP JPEG from a source photo (runs in a worker process)."""
    from PIL import Image, ImageEnhance, ImageOps

    i, src, dest = job
    rng = np.random.default_rng(1000 + i)
    with Image.open(src) as im:
        im = im.convert("RGB")
    w, h = im.size
    # a random 4:3 crop covering 60-100 % of the width, colour jitter, maybe a mirror image
    cw = int(w * rng.uniform(0.6, 1.0))
    ch = min(h, int(cw * 3 / 4))
    cw = min(cw, int(ch * 4 / 3))
    x = int(rng.integers(0, w - cw + 1))
    y = int(rng.integers(0, h - ch + 1))
    im = im.crop((x, y, x + cw, y + ch))
    im = ImageEnhance.Color(im).enhance(rng.uniform(0.6, 1.4))
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.8, 1.2))
    im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.8, 1.2))
    if rng.random() < 0.5:
        im = ImageOps.mirror(im)
    im = im.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    # Upscaled photos are too smooth to compress like real 12 MP photos (1.7 MB at quality 90);
    # fine grain stands in for sensor noise and detail, which is what makes decoding costly.
    a = np.clip(np.asarray(im, dtype=np.int16) + _grain(rng), 0, 255).astype(np.uint8)
    tmp = dest + ".part"
    Image.fromarray(a).save(tmp, "JPEG", quality=90)
    os.replace(tmp, dest)
    return os.path.getsize(dest)


def ensure_photos(count: int) -> Path:
    folder = data_dir() / f"jpeg-12mp-{count}"
    done = folder / ".complete"
    if done.exists():
        return folder
    sources = sorted(p for p in SHARED_PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not sources:
        raise SystemExit(f"no source photos in {SHARED_PHOTOS}")
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(sources[i % len(sources)]), str(folder / f"IMG_{i:04d}.jpg")) for i in range(count)
            if not (folder / f"IMG_{i:04d}.jpg").exists()]
    print(f"generating {len(jobs)} 12 MP JPEGs in {folder} (once; cached for later runs) ...", flush=True)
    started = time.perf_counter()
    from multiprocessing import Pool

    with Pool(os.cpu_count() or 2) as pool:
        for n, _ in enumerate(pool.imap_unordered(_make_photo, jobs), 1):
            if n % 25 == 0:
                print(f"  {n}/{len(jobs)}", flush=True)
    done.write_text("ok")
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def warm_page_cache(folder: Path) -> int:
    total = 0
    for p in sorted(folder.glob("*.jpg")):
        with open(p, "rb") as f:
            while chunk := f.read(1 << 22):
                total += len(chunk)
    return total


# ---------------------------------------------------------------------------- variants (subprocess)


def _backend(args) -> str:
    return "onnxruntime" if args.variant.endswith("-onnx") else "torch"


def _embedder(args):
    from photoclip.core.embedder import Embedder, ModelSpec
    from photoclip.core.indexer import default_workers

    threads = args.threads or default_workers(args.device)[1]
    emb = Embedder(ModelSpec(MODEL, "random"), args.device, threads, image_backend=_backend(args))
    assert emb.image_backend == _backend(args), "ONNX Runtime could not be used (see the log)"
    return emb, threads


def run_ceiling(args, files: list[str]) -> dict:
    import torch

    emb, threads = _embedder(args)
    batch = args.batch or emb.default_batch_size
    n = len(files)
    x = torch.randn(batch, 3, emb.image_size, emb.image_size)
    if emb.device != "cpu":  # ready tensors: already on the GPU, in the model's precision
        x = x.to(emb.device, emb.dtype)
    emb.encode_images(x)  # warm-up
    started = time.perf_counter()
    done = 0
    while done < n:
        m = min(batch, n - done)
        emb.encode_images(x[:m])
        done += m
    seconds = time.perf_counter() - started
    return {"photos": done, "seconds": seconds, "batch": batch, "threads": threads}


def run_naive(args, files: list[str]) -> dict:
    import torch
    from PIL import Image

    emb, threads = _embedder(args)
    batch = args.batch or emb.default_batch_size
    emb.encode_images(torch.randn(batch, 3, emb.image_size, emb.image_size))  # warm-up
    started = time.perf_counter()
    tensors, done = [], 0
    for path in files:
        image = Image.open(path).convert("RGB")
        tensors.append(emb.preprocess(image))
        if len(tensors) == batch:
            emb.encode_images(torch.stack(tensors))
            done += len(tensors)
            tensors = []
    if tensors:
        emb.encode_images(torch.stack(tensors))
        done += len(tensors)
    seconds = time.perf_counter() - started
    return {"photos": done, "seconds": seconds, "batch": batch, "threads": threads}


def run_photoclip(args, folder: str) -> dict:
    import torch

    from photoclip.core.library import Library

    root = tempfile.mkdtemp(prefix="photoclip-bench-lib-")
    lib = Library(root, model=MODEL, pretrained="random", device=args.device, threads=args.threads or None)
    if args.batch:
        lib.settings.batch_size = args.batch
    if args.decode_workers:
        lib.settings.decode_workers = args.decode_workers
    lib.settings.image_backend = _backend(args)
    if args.variant == "photoclip-nometa":
        from photoclip.core.indexer import Indexer
        from photoclip.core.metadata import PhotoMeta, file_kind

        Indexer._read_metadata = staticmethod(lambda path, mtime_ns, report: PhotoMeta(kind=file_kind(path)))
        Indexer._complete_metadata = lambda self, *a, **k: None
    emb = lib.embedder()
    assert emb.image_backend == _backend(args), "ONNX Runtime could not be used (see the log)"  # load the model outside the timing (the app loads it once)
    batch = args.batch or emb.default_batch_size
    emb.encode_images(torch.randn(batch, 3, emb.image_size, emb.image_size))  # warm-up
    started = time.perf_counter()
    report = lib.index([folder], tag=False)
    seconds = time.perf_counter() - started
    lib.close()
    shutil.rmtree(root, ignore_errors=True)
    from photoclip.core.indexer import default_workers

    return {"photos": report.embedded, "seconds": seconds, "batch": batch, "threads": torch.get_num_threads(),
            "decode_workers": args.decode_workers or default_workers(args.device)[0], "problems": report.problems}


def run_variant(args) -> None:
    home = isolate_home()
    os.environ["PHOTOCLIP_MODELS"] = str(data_dir() / "models")  # the ONNX export, made once
    folder = ensure_photos(args.photos)
    files = sorted(str(p) for p in folder.glob("*.jpg"))
    if args.variant.startswith("ceiling"):
        result = run_ceiling(args, files)
    elif args.variant == "naive":
        result = run_naive(args, files)
    else:
        result = run_photoclip(args, str(folder))
    result["rate"] = result["photos"] / result["seconds"]
    result["peak_rss_mb"] = peak_rss_mb()
    shutil.rmtree(home, ignore_errors=True)
    report_result(result)


# ---------------------------------------------------------------------------- driver


def measure(args, variant: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--variant", variant, "--photos", str(args.photos)]
    for flag, value in (("--batch", args.batch), ("--threads", args.threads), ("--decode-workers", args.decode_workers),
                        ("--device", args.device)):
        if value:
            cmd += [flag, str(value)]
    return run_measurement(cmd, f"variant {variant}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=200, help="number of generated 12 MP JPEGs (>= 200 for the report)")
    ap.add_argument("--batch", type=int, default=0, help="images per model call (0: photoclip's default)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: photoclip's default)")
    ap.add_argument("--decode-workers", type=int, default=0, help="photoclip decode threads (0: default)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"],
                    help="where the model runs (default cpu; the issue's targets are for the CPU)")
    ap.add_argument("--rounds", type=int, default=1, help="measure every variant this many times (interleaved); best-of is reported")
    from photoclip.core import onnx_tower

    ap.add_argument("--variants", default="", help="comma list of: " + ", ".join(VARIANTS + ONNX_VARIANTS + EXTRA_VARIANTS)
                    + " (default: all that can run here; the ONNX Runtime ones on the CPU only)")
    ap.add_argument("--variant", choices=VARIANTS + ONNX_VARIANTS + EXTRA_VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.variant:
        run_variant(args)
        return 0

    folder = ensure_photos(args.photos)
    files = sorted(folder.glob("*.jpg"))
    sizes = [p.stat().st_size for p in files]
    warm_page_cache(folder)
    print(f"{len(files)} JPEGs of {WIDTH} x {HEIGHT}, {np.mean(sizes) / 1e6:.1f} MB on average, in {folder}")
    print(f"model {MODEL} (random weights), {args.device.upper()}; {load_average()} at start")
    variants = [v for v in args.variants.split(",") if v]
    if not variants:
        variants = list(VARIANTS + (ONNX_VARIANTS if onnx_tower.available() and args.device == "cpu" else ()))
    if any(v.endswith("-onnx") for v in variants):
        measure(args, "ceiling-onnx")  # exports the image tower once, so no timed run pays for it
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for r in range(args.rounds):
        for v in variants:
            res = measure(args, v)
            results[v].append(res)
            extra = f", decode threads {res['decode_workers']}" if "decode_workers" in res else ""
            print(f"  round {r + 1} {v:9s} {res['rate']:6.2f} photos/s  ({res['photos']} in {res['seconds']:.1f} s; "
                  f"batch {res['batch']}, torch threads {res['threads']}{extra}; peak RSS {res['peak_rss_mb']:.0f} MB)",
                  flush=True)
    best = {v: max(rs, key=lambda r: r["rate"]) for v, rs in results.items()}
    print()
    print(f"{'variant':10s} {'photos/s':>9s} {'peak RSS':>9s}")
    for v, res in best.items():
        print(f"{v:10s} {res['rate']:9.2f} {res['peak_rss_mb']:7.0f} MB")
    if {"ceiling", "naive", "photoclip"} <= best.keys():
        pc, ceil, naive = (best[v]["rate"] for v in ("photoclip", "ceiling", "naive"))
        print()
        print(f"photoclip / ceiling = {pc / ceil:.2f}   (target >= 0.90)")
        print(f"photoclip / naive   = {pc / naive:.2f}   (target >= 2.5)")
        print(f"naive / ceiling     = {naive / ceil:.2f}")
        print(f"photoclip peak RSS  = {best['photoclip']['peak_rss_mb']:.0f} MB (target <= 1536 MB)")
    if {"photoclip", "photoclip-nometa"} <= best.keys():
        pc, bare = best["photoclip"]["rate"], best["photoclip-nometa"]["rate"]
        print(f"metadata step: photoclip-nometa / photoclip = {bare / pc:.3f}   (target <= 1.05)")
    if {"ceiling-onnx", "photoclip-onnx", "naive", "ceiling"} <= best.keys():
        pc, ceil, naive, torch_ceil = (best[v]["rate"] for v in ("photoclip-onnx", "ceiling-onnx", "naive", "ceiling"))
        print()
        print(f"ONNX Runtime image tower: ceiling-onnx / ceiling = {ceil / torch_ceil:.2f}")
        print(f"photoclip-onnx / ceiling-onnx = {pc / ceil:.2f}")
        print(f"photoclip-onnx / naive        = {pc / naive:.2f}   (the naive script runs torch)")
        print(f"photoclip-onnx peak RSS       = {best['photoclip-onnx']['peak_rss_mb']:.0f} MB")
    print(f"{load_average()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
