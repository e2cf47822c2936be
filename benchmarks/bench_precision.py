"""fp32 against bf16 on the CPU: photos/s of the model alone and of whole indexing runs, on 12 MP and on
small photos, and the model's FLOPs per photo against the machine's peak.

    python benchmarks/bench_precision.py                       # 64 12 MP + 64 small photos
    python benchmarks/bench_precision.py --photos 200 --rounds 2 --precisions fp32,bf16

The model: open_clip ViT-B-32-256 with random weights (speed does not depend on the weight values),
run as photoclip runs it in each precision (``Embedder(precision=...)``: bf16 is the fp32 model
converted, checked against fp32 at load). Every measurement runs in its own subprocess (its own
peak RSS, no inherited warm caches); the variants of a round are interleaved, so a machine shared
with other work slows them alike: compare the ratios of one run, not absolute figures of two.

- ceiling:   ``encode_images`` on ready (n, 3, 256, 256) tensors: the model alone;
- photoclip: ``Library(fresh).index([folder], tag=False)``, model loaded before the timing.

The 12 MP photos are bench_index.py's (made once, cached); the small ones (1152 x 864, 1 MP) are
made from them, cached too. The physical limit: FLOPs per photo counted by
``torch.utils.flop_counter.FlopCounterMode`` on the image tower; the machine's peak is cores x
clock x FLOPs per cycle per core (32 fp32 FLOPs for two 256-bit FMA units, AVX2/FMA or Zen 4's
AVX-512; twice that for bf16 with AVX512_BF16's dot products; 1024 bf16 FLOPs with AMX; bf16
without native support counted at fp32's rate) — an upper bound the model can approach, not pass.
``--flops-per-cycle FP32,BF16`` overrides the guess from the CPU flags.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import data_dir, isolate_home, load_average, peak_rss_mb, report_result, run_measurement  # noqa: E402
from bench_index import MODEL, ensure_photos, warm_page_cache  # noqa: E402

SMALL = (1152, 864)  # about 1 MP
SIZES = ("12mp", "small")


# ---------------------------------------------------------------------------- data


def _make_small(job: tuple[str, str]) -> None:
    from PIL import Image

    src, dest = job
    with Image.open(src) as im:
        im.draft("RGB", (SMALL[0] * 2, SMALL[1] * 2))
        im = im.convert("RGB").resize(SMALL, Image.Resampling.LANCZOS)
    tmp = dest + ".part"
    im.save(tmp, "JPEG", quality=90)
    os.replace(tmp, dest)


def ensure_small_photos(count: int) -> Path:
    folder = data_dir() / f"jpeg-small-{count}"
    if (folder / ".complete").exists():
        return folder
    big = ensure_photos(count)
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(str(p), str(folder / p.name)) for p in sorted(big.glob("*.jpg"))]
    print(f"making {len(jobs)} small JPEGs ({SMALL[0]} x {SMALL[1]}) in {folder} (once) ...", flush=True)
    from multiprocessing import Pool

    with Pool(os.cpu_count() or 2) as pool:
        pool.map(_make_small, jobs)
    (folder / ".complete").write_text("ok")
    return folder


def folder_for(size: str, count: int) -> Path:
    return ensure_photos(count) if size == "12mp" else ensure_small_photos(count)


# ---------------------------------------------------------------------------- the machine's peak


def _cpu_flags() -> frozenset:
    from photoclip.core.embedder import cpu_flags

    return cpu_flags() or frozenset()


def clock_ghz() -> float:
    """The highest clock the CPU reports (cpufreq's maximum, else /proc/cpuinfo's current MHz)."""
    try:
        return int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text()) / 1e6
    except (OSError, ValueError):
        pass
    try:
        mhz = [float(line.split(":")[1]) for line in Path("/proc/cpuinfo").read_text().splitlines()
               if line.startswith("cpu MHz")]
        return max(mhz) / 1e3
    except (OSError, ValueError, IndexError):
        return 0.0


def flops_per_cycle(flags: frozenset) -> tuple[float, float, str]:
    """(fp32, bf16) FLOPs per cycle per core, and what that assumes."""
    if "fma" in flags:
        fp32, what = 32.0, "2 x 256-bit FMA"
    elif "avx" in flags:
        fp32, what = 16.0, "256-bit add + mul"
    else:
        fp32, what = 8.0, "128-bit SSE"
    if "amx_bf16" in flags:
        return fp32, 1024.0, what + "; AMX bf16"
    if "avx512_bf16" in flags:
        return fp32, 2 * fp32, what + "; AVX512_BF16 dot products (2x fp32)"
    return fp32, fp32, what + "; no native bf16 (bf16 at most fp32's rate)"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------- variants (subprocess)


def run_ceiling(args) -> dict:
    import torch

    from photoclip.core.embedder import Embedder, ModelSpec
    from photoclip.core.indexer import default_workers

    threads = args.threads or default_workers("cpu")[1]
    emb = Embedder(ModelSpec(MODEL, "random"), "cpu", threads, precision=args.precision)
    batch = args.batch or emb.default_batch_size
    x = torch.randn(batch, 3, emb.image_size, emb.image_size)
    emb.encode_images(x)  # warm-up
    n, done = args.ceiling_photos, 0
    started = time.perf_counter()
    while done < n:
        m = min(batch, n - done)
        emb.encode_images(x[:m])
        done += m
    seconds = time.perf_counter() - started
    result = {"photos": done, "seconds": seconds, "batch": batch, "threads": threads,
              "precision": emb.precision, "why": emb.precision_reason}
    if args.count_flops:
        from torch.utils.flop_counter import FlopCounterMode

        # with autograd on: without it nn.MultiheadAttention takes its fused fast path (what photoclip
        # runs), whose projections the counter does not see (a third of the tower's FLOPs)
        with FlopCounterMode(display=False) as counter:
            emb.model.encode_image(x[:1].to(emb.dtype))
        result["flops_per_photo"] = counter.get_total_flops()
    return result


def run_photoclip(args) -> dict:
    import torch

    from photoclip.core.library import Library

    folder = folder_for(args.size, args.photos)
    root = tempfile.mkdtemp(prefix="photoclip-bench-lib-")
    lib = Library(root, model=MODEL, pretrained="random", device="cpu", threads=args.threads or None,
                  precision=args.precision)
    if args.batch:
        lib.settings.batch_size = args.batch
    emb = lib.embedder()  # the model loads outside the timing (the app loads it once)
    batch = args.batch or emb.default_batch_size
    emb.encode_images(torch.randn(batch, 3, emb.image_size, emb.image_size))  # warm-up
    started = time.perf_counter()
    report = lib.index([str(folder)], tag=False)
    seconds = time.perf_counter() - started
    lib.close()
    shutil.rmtree(root, ignore_errors=True)
    return {"photos": report.embedded, "seconds": seconds, "batch": batch, "threads": torch.get_num_threads(),
            "precision": emb.precision, "why": emb.precision_reason, "problems": report.problems}


def run_variant(args) -> None:
    home = isolate_home()
    result = run_ceiling(args) if args.variant == "ceiling" else run_photoclip(args)
    result["rate"] = result["photos"] / result["seconds"]
    result["peak_rss_mb"] = peak_rss_mb()
    shutil.rmtree(home, ignore_errors=True)
    report_result(result)


# ---------------------------------------------------------------------------- driver


def measure(args, variant: str, precision: str, size: str = "", count_flops: bool = False) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--variant", variant, "--precision", precision,
           "--photos", str(args.photos), "--ceiling-photos", str(args.ceiling_photos)]
    if size:
        cmd += ["--size", size]
    if count_flops:
        cmd.append("--count-flops")
    for flag, value in (("--batch", args.batch), ("--threads", args.threads)):
        if value:
            cmd += [flag, str(value)]
    return run_measurement(cmd, f"{variant} {precision} {size}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=64, help="photos per set (12 MP and small; default 64)")
    ap.add_argument("--ceiling-photos", type=int, default=64, help="images through the model alone (default 64)")
    ap.add_argument("--precisions", default="fp32,bf16", help="comma list of fp32, bf16, auto (default fp32,bf16)")
    ap.add_argument("--sizes", default=",".join(SIZES), help="comma list of 12mp, small")
    ap.add_argument("--batch", type=int, default=0, help="images per model call (0: photoclip's default)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: photoclip's default)")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds; the best of each is reported")
    ap.add_argument("--flops-per-cycle", default="", help="FP32,BF16 FLOPs per cycle per core (default: from the CPU flags)")
    ap.add_argument("--variant", choices=("ceiling", "photoclip"), help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    ap.add_argument("--size", choices=SIZES, default="12mp", help=argparse.SUPPRESS)
    ap.add_argument("--count-flops", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.variant:
        run_variant(args)
        return 0

    precisions = [p for p in args.precisions.split(",") if p]
    sizes = [s for s in args.sizes.split(",") if s]
    for size in sizes:
        warm_page_cache(folder_for(size, args.photos))
    flags = _cpu_flags()
    native = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    print(f"model {MODEL} (random weights), CPU; {args.photos} photos per set; {load_average()} at start")
    print(f"CPU flags: {', '.join(native) or 'no native bf16 (no avx512_bf16, no amx_bf16)'}")
    runs = [("ceiling", p, "") for p in precisions] + [("photoclip", p, s) for s in sizes for p in precisions]
    results: dict[tuple, list[dict]] = {run: [] for run in runs}
    flops = None
    for r in range(args.rounds):
        for variant, precision, size in runs:
            first = flops is None and variant == "ceiling"
            res = measure(args, variant, precision, size, count_flops=first)
            flops = res.get("flops_per_photo", flops)
            results[variant, precision, size].append(res)
            print(f"  round {r + 1} {variant:9s} {precision:4s} {size or '-':5s} {res['rate']:6.2f} photos/s "
                  f"({res['photos']} in {res['seconds']:.1f} s; batch {res['batch']}, threads {res['threads']}; "
                  f"peak RSS {res['peak_rss_mb']:.0f} MB; ran in {res['precision']}: {res['why']})", flush=True)
    best = {run: max(rs, key=lambda x: x["rate"]) for run, rs in results.items()}

    print()
    print(f"{'':10s} {'':5s} " + " ".join(f"{p + ' /s':>10s}" for p in precisions)
          + " " + " ".join(f"{p + ' RSS':>10s}" for p in precisions))
    for variant, size in [("ceiling", "")] + [("photoclip", s) for s in sizes]:
        rows = [best[variant, p, size] for p in precisions]
        print(f"{variant:10s} {size or 'model':5s} " + " ".join(f"{x['rate']:10.2f}" for x in rows)
              + " " + " ".join(f"{x['peak_rss_mb']:7.0f} MB" for x in rows))
    if {"fp32", "bf16"} <= set(precisions):
        print()
        for variant, size in [("ceiling", "")] + [("photoclip", s) for s in sizes]:
            ratio = best[variant, "bf16", size]["rate"] / best[variant, "fp32", size]["rate"]
            print(f"bf16 / fp32, {variant} {size or '(model alone)'}: {ratio:.2f}")
    for size in sizes:
        for p in precisions:
            share = best["photoclip", p, size]["rate"] / best["ceiling", p, ""]["rate"]
            print(f"photoclip {size} / ceiling, {p}: {share:.2f}")

    if flops:
        n, ghz = cores(), clock_ghz()
        fp32_fpc, bf16_fpc, what = flops_per_cycle(flags)
        if args.flops_per_cycle:
            fp32_fpc, bf16_fpc = (float(v) for v in args.flops_per_cycle.split(","))
            what = "given"
        print()
        print(f"image tower: {flops / 1e9:.2f} GFLOPs per photo (FlopCounterMode)")
        print(f"machine peak: {n} cores x {ghz:.2f} GHz x {fp32_fpc:g} fp32 / {bf16_fpc:g} bf16 FLOPs per cycle "
              f"({what}) = {n * ghz * fp32_fpc:.0f} / {n * ghz * bf16_fpc:.0f} GFLOP/s")
        for p in precisions:
            fpc = bf16_fpc if best["ceiling", p, ""]["precision"] == "bf16" else fp32_fpc
            peak = n * ghz * 1e9 * fpc
            print(f"{p}: the peak is {peak / flops:.1f} photos/s")
            for variant, size in [("ceiling", "")] + [("photoclip", s) for s in sizes]:
                achieved = best[variant, p, size]["rate"] * flops
                print(f"  {variant} {size or '(model alone)'}: {achieved / 1e9:.1f} GFLOP/s = "
                      f"{achieved / peak:.3f} of the peak")
    print(f"{load_average()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
