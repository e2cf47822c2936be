"""Camera RAW decoding: the embedded-preview fast path against LibRaw's half-size development.

    python benchmarks/bench_raw.py                   # 12 photos of 24 MP, the model input 256 px
    python benchmarks/bench_raw.py --photos 20 --rounds 3

Both sets are real DNGs of the same pictures (written with tifffile, as the tests write theirs:
an uncompressed 12-bit RGGB mosaic with its CFA tags), one set with an embedded 1616 x 1080 JPEG
preview in IFD0 (the size Sony and Nikon bodies embed), one without. Each file goes through
``images.open_image(path, min_size=256)`` (what the indexer calls for ViT-B-32-256) and
``images.make_thumbnail(path, 256)`` (what the grid asks for), one photo at a time on one Python
thread (LibRaw's own OpenMP threads included, as in the app). The pictures come from
../shared/photos, upscaled to 6000 x 4000 with a fine grain; generated once and cached in
$PHOTOCLIP_BENCH_DATA (default /tmp/photoclip-bench). The page cache is warmed before timing,
and every round times both sets, interleaved; best-of is reported.

Camera RAWs are mostly losslessly compressed (smaller files, slower to unpack than this
uncompressed DNG), so the development figures here are, if anything, flattering to it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import REPO, SHARED_PHOTOS, data_dir, load_average, peak_rss_mb  # noqa: E402

WIDTH, HEIGHT = 6000, 4000
PREVIEW = (1616, 1080)
MIN_SIZE = 256  # ViT-B-32-256's input
SETS = ("preview", "develop")


def _write_dng():
    sys.path.insert(0, str(REPO / "tests"))  # the one DNG writer, shared with the tests
    from helpers import write_dng

    return write_dng


def ensure_raws(count: int) -> dict[str, list[Path]]:
    """``count`` DNGs with a preview and the same ``count`` without, generated once."""
    from PIL import Image

    root = data_dir() / f"raw-{WIDTH}x{HEIGHT}"
    out = {name: [root / name / f"IMG_{i:04d}.dng" for i in range(count)] for name in SETS}
    missing = [i for i in range(count) if not all(out[name][i].exists() for name in SETS)]
    if not missing:
        return out
    write_dng = _write_dng()
    sources = sorted(p for p in SHARED_PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not sources:
        raise SystemExit(f"no source photos in {SHARED_PHOTOS}")
    grain = np.random.default_rng(7).integers(-4, 5, size=(HEIGHT, WIDTH, 1), dtype=np.int16)
    for i in missing:
        print(f"generating RAW {i + 1}/{count} …", file=sys.stderr)
        with Image.open(sources[i % len(sources)]) as im:
            picture = im.convert("RGB").resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
        shift = (i * 37) % 64
        noisy = np.clip(np.asarray(picture, np.int16) + np.roll(grain, shift, axis=1), 0, 255).astype(np.uint8)
        picture = Image.fromarray(noisy)
        write_dng(out["preview"][i], picture, preview=picture.resize(PREVIEW, Image.Resampling.BILINEAR))
        write_dng(out["develop"][i], picture)
    return out


def warm(paths: list[Path]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def time_set(paths: list[Path], what: str) -> tuple[float, tuple[int, int]]:
    from photoclip.core import images

    t0 = time.perf_counter()
    size = (0, 0)
    for p in paths:
        if what == "index":
            loaded = images.open_image(str(p), min_size=MIN_SIZE)
            size = loaded.image.size
        else:
            size = images.make_thumbnail(str(p), 256).size
    return time.perf_counter() - t0, size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=12, help="DNGs per set (24 MP, about 48 MB each)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds (interleaved); best-of is reported")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)

    import rawpy

    sets = ensure_raws(args.photos)
    for paths in sets.values():
        warm(paths)
    best: dict[tuple[str, str], float] = {}
    sizes: dict[tuple[str, str], tuple[int, int]] = {}
    for _ in range(args.rounds):
        for what in ("index", "thumbnail"):
            for name in SETS:
                seconds, size = time_set(sets[name], what)
                key = (name, what)
                best[key] = min(best.get(key, float("inf")), seconds)
                sizes[key] = size
    n = args.photos
    rate = {f"{name}-{what}": n / s for (name, what), s in best.items()}
    result = {
        "photos": n, "megapixels": WIDTH * HEIGHT / 1e6, "preview": list(PREVIEW), "min_size": MIN_SIZE,
        "photos_per_s": {k: round(v, 2) for k, v in rate.items()},
        "speedup_index": round(rate["preview-index"] / rate["develop-index"], 1),
        "speedup_thumbnail": round(rate["preview-thumbnail"] / rate["develop-thumbnail"], 1),
        "decoded_size": {f"{name}-{what}": list(s) for (name, what), s in sizes.items()},
        "libraw": ".".join(map(str, rawpy.libraw_version)), "openmp": bool((rawpy.flags or {}).get("OPENMP")),
        "cpus": os.cpu_count(), "load": load_average(), "peak_rss_mb": round(peak_rss_mb()),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{n} DNGs of {result['megapixels']:.0f} MP per set, model input {MIN_SIZE} px, "
          f"LibRaw {result['libraw']} (OpenMP: {result['openmp']}), {result['load']}")
    print(f"{'':24}{'photos/s':>10}  decoded to")
    for what in ("index", "thumbnail"):
        for name in SETS:
            label = f"{what}: {'embedded preview' if name == 'preview' else 'half-size develop'}"
            size = sizes[(name, what)]
            print(f"{label:32}{rate[f'{name}-{what}']:>8.2f}  {size[0]} x {size[1]}")
    print(f"fast path: {result['speedup_index']}x the half-size development for indexing, "
          f"{result['speedup_thumbnail']}x for thumbnails")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
