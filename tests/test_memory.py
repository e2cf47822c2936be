"""Memory: very large photos are decoded reduced and the pixels in flight across the decode
threads are bounded, so indexing stays under 1.5 GB whatever the input and thread count."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from photoclip.core import images

REPO = Path(__file__).resolve().parent.parent
LIMIT_MB = 1536


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def big_png(path: Path, side: int, seed: int) -> Path:
    """A side x side RGB PNG written in a fraction of a second: every row is the same (a gradient
    that depends on ``seed``, so each file has its own fingerprint), deflated once with a full
    flush so the compressed row can be repeated."""
    row = bytes([0]) + bytes((seed * 37 + i * 3) % 256 for i in range(side * 3))
    deflate = zlib.compressobj(1, zlib.DEFLATED, -15)
    block = deflate.compress(row) + deflate.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(side):
        adler = zlib.adler32(row, adler)
    per_chunk = max(1, (1 << 22) // len(block))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)))
        f.write(png_chunk(b"IDAT", b"\x78\x01"))
        left = side
        while left:
            n = min(per_chunk, left)
            left -= n
            f.write(png_chunk(b"IDAT", block * n))
        f.write(png_chunk(b"IDAT", b"\x03\x00" + struct.pack(">I", adler)))
        f.write(png_chunk(b"IEND", b""))
    return path


INDEX_AND_MEASURE = r"""
import json, resource, sys
from photoclip.core.library import Library
lib = Library(sys.argv[1], model=sys.argv[3], pretrained="random", device="cpu", threads=1)
lib.settings.decode_workers = 4
report = lib.index([sys.argv[2]], tag=False)
status = open("/proc/self/status").read()
hwm = int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")))
print(json.dumps({"hwm_mb": hwm / 1024, "added": report.added, "problems": [p.reason for p in lib.problems()]}))
lib.close()
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM from /proc")
@pytest.mark.timeout(300)
def test_four_169_megapixel_pngs_with_four_decode_threads_stay_under_1_5_gb(tmp_path, tiny_config):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        big_png(photos / f"big{i}.png", 13_000, i)  # 169 MP each, 507 MB of RGB decoded
    done = subprocess.run([sys.executable, "-c", INDEX_AND_MEASURE, str(tmp_path / "lib"), str(photos), tiny_config],
                          capture_output=True, text=True, cwd=str(REPO), timeout=280,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"peak RSS {result['hwm_mb']:.0f} MB")
    assert result["added"] == 4, result["problems"]
    assert result["hwm_mb"] <= LIMIT_MB, result


def test_the_budget_bounds_what_is_held_and_serves_in_order():
    budget = images.DecodeBudget(100)
    held, peak, order = [0], [0], []
    lock = threading.Lock()

    def take(name: str, n: int) -> None:
        with budget.reserve(n):
            with lock:
                held[0] += min(n, 100)
                peak[0] = max(peak[0], held[0])
                order.append(name)
            time.sleep(0.01)
            with lock:
                held[0] -= min(n, 100)

    threads = [threading.Thread(target=take, args=(f"small{i}", 30)) for i in range(3)]
    threads.append(threading.Thread(target=take, args=("huge", 500)))  # more than the whole budget: alone
    threads += [threading.Thread(target=take, args=(f"late{i}", 30)) for i in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.002)
    for t in threads:
        t.join(10)
    assert peak[0] <= 100 and held[0] == 0
    assert set(order[:3]) == {"small0", "small1", "small2"} and order[3] == "huge"  # not starved


def test_large_images_are_reduced_for_the_model_and_keep_their_look(tmp_path):
    import numpy as np

    side = 2400
    grey = np.full((side, side), 200, np.uint16)  # 16-bit data that happens to be below 256
    Image.fromarray(grey).save(tmp_path / "dark16.png")
    Image.new("P", (side, side), 3).save(tmp_path / "palette.png")
    Image.new("RGB", (side, side // 2), (200, 100, 50)).save(tmp_path / "rgb.png")
    for name in ("dark16.png", "palette.png", "rgb.png"):
        full = images.open_image(str(tmp_path / name))
        reduced = images.open_image(str(tmp_path / name), min_size=224, budget=images.DecodeBudget())
        assert 224 <= min(reduced.image.size) < 2 * 2 * 224, name
        assert (reduced.width, reduced.height) == (full.width, full.height)
        assert reduced.image.mode == "RGB"
        a, b = np.asarray(full.image, np.float64).mean((0, 1)), np.asarray(reduced.image, np.float64).mean((0, 1))
        assert np.abs(a - b).max() < 1.0, (name, a, b)
