"""Shared helpers for photoclip's benchmarks: where generated data lives, timing, memory.

Generated data is kept in ``$PHOTOCLIP_BENCH_DATA`` (default ``<tmp>/photoclip-bench``) so a
rerun skips generation. Every benchmark points ``PHOTOCLIP_HOME`` at a throw-away folder, so a
user's real library and model cache are never touched.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REPO = Path(__file__).resolve().parent.parent
SHARED_PHOTOS = REPO.parent / "shared" / "photos"

# The lead's working tiny random open_clip config (see core_api.md): a 1-layer, 32-px ViT.
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def data_dir() -> Path:
    """Where generated benchmark data is cached between runs."""
    path = Path(os.environ.get("PHOTOCLIP_BENCH_DATA") or Path(tempfile.gettempdir()) / "photoclip-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def isolate_home() -> Path:
    """Point PHOTOCLIP_HOME (library, model cache, configs) at a fresh temporary folder."""
    home = Path(tempfile.mkdtemp(prefix="photoclip-bench-home-"))
    os.environ["PHOTOCLIP_HOME"] = str(home)
    os.environ.pop("PHOTOCLIP_MODELS", None)
    return home


def tiny_config_file(where: Path) -> Path:
    path = Path(where) / "tiny-clip.json"
    path.write_text(json.dumps(TINY_CONFIG), "utf-8")
    return path


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def percentiles_ms(times_s) -> tuple[float, float]:
    a = np.asarray(times_s, dtype=np.float64) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
    except OSError:
        return f"{os.cpu_count()} cores"


class Stopwatch:
    def __enter__(self) -> "Stopwatch":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def report_result(result: dict) -> None:
    """A measuring subprocess's answer to :func:`run_measurement`: one RESULT line of JSON."""
    print("RESULT " + json.dumps(result), flush=True)


def run_measurement(cmd: list[str], what: str) -> dict:
    """Run one measuring subprocess (a fresh interpreter per variant, so none warms another up)
    and return the JSON of its last RESULT line; its output is shown when it fails."""
    import subprocess

    out = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"{what} failed (exit {out.returncode})")
    return json.loads(lines[-1][len("RESULT "):])
