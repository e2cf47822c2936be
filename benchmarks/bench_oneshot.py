"""One-shot CLI: a text search and the indexing of one new photo, each as a fresh process.

    python benchmarks/bench_oneshot.py [--photos 50] [--rounds 3] [--model ViT-B-32-256]

A library of ``--photos`` small generated JPEGs is indexed once with ``--model`` whose random
weights (seeded) are saved as a local .safetensors file first — as a downloaded model is used, so
the weights are read from a file and no network is needed. Then, ``--rounds`` times, interleaved:

- **search** — ``python -m photoclip search "a dog" --json`` in a fresh interpreter: process start
  to printed results, cold (no warm process);
- **both towers** — the same search in a fresh interpreter, but with the whole model loaded first
  (``Library.embedder()``, then ``Library.search``): what ``photoclip search`` did before it loaded
  the text tower alone, the baseline of the ratio printed;
- **tag** — ``python -m photoclip tag --retag`` in a fresh interpreter: every photo tagged again
  by every enabled set from the stored vectors (the text tower alone is loaded); **tag, both
  towers** — the same with the whole model loaded first, as ``photoclip tag`` did before;
- **add one** — ``python -m photoclip index FOLDER`` after one new photo was put in FOLDER (the
  library's tag sets tag it).

Then (unless ``--no-warm``) ``photoclip watch`` runs on the library (it loads the whole model and
serves text vectors on the library's socket, core/warm.py), and ``--rounds`` times, interleaved:

- **search (warm)** — the same fresh ``photoclip search`` while the watcher runs: the query's
  vectors come from the watcher's model (checked in its debug log), torch is not imported;
- **search (warm off)** — the same with ``PHOTOCLIP_WARM=0`` beside the same watcher: loads the
  text tower as without a watcher (the cold baseline measured under the same conditions).

The watcher's own peak RSS (``VmHWM``) is printed too: the memory a warm model keeps in use.

With ``--compare-with DIR`` (another photoclip checkout, e.g. the main branch) the search and
the add-one are also run with that checkout's code, interleaved, and the ratios to it printed.

Each is timed from outside (wall time) with its peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``
after the child was waited for: ru_maxrss of the largest child so far, so each measurement runs in
a fresh helper process that starts only that child). Best and median of the rounds are printed,
and add-one ÷ search.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import REPO, data_dir, isolate_home, load_average

MODEL = "ViT-B-32-256"


def make_photo(path: Path, seed: int, size=(640, 480)) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 256, 3)
    a = (base + 80 * np.sin(x[..., None] / rng.uniform(10, 60) + rng.uniform(0, 6, 3))
         + 60 * np.cos(y[..., None] / rng.uniform(10, 60))).clip(0, 255).astype(np.uint8)
    Image.fromarray(a).save(path, "JPEG", quality=90)


def weights_file(model: str) -> Path:
    """The model's seeded random weights as a local .safetensors file (made once)."""
    path = data_dir() / f"oneshot-{model}-random.safetensors"
    if not path.is_file():
        import open_clip
        import torch
        from safetensors.torch import save_file

        torch.manual_seed(0)
        net = open_clip.create_model(model)
        state = {k: v.contiguous() for k, v in net.state_dict().items()}
        tmp = path.with_name(path.name + ".part")
        save_file(state, str(tmp))
        os.replace(tmp, path)
    return path


def measure(cmd: list[str], env: dict, cwd=REPO) -> dict:
    """Run cmd in a fresh helper process that reports the child's wall time and peak RSS."""
    helper = ("import json,resource,subprocess,sys,time\n"
              "cmd=json.loads(sys.argv[1]); t=time.perf_counter()\n"
              "r=subprocess.run(cmd,stdout=subprocess.PIPE,stderr=subprocess.PIPE)\n"
              "s=time.perf_counter()-t\n"
              "rss=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
              "print(json.dumps({'seconds':s,'rss_mb':rss/1024,'rc':r.returncode,"
              "'out':r.stdout.decode()[-400:],'err':r.stderr.decode()[-4000:]}))\n")
    out = subprocess.run([sys.executable, "-c", helper, json.dumps(cmd)], capture_output=True, text=True,
                         env=env, cwd=str(cwd), check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result['err']}")
    return result


def measure_warm(base: list[str], library: Path, env: dict, rounds: int) -> tuple[dict, float]:
    """Searches while ``photoclip watch`` holds the model: warm, and with the warm path off."""
    from photoclip.core import warm

    log_file = tempfile.TemporaryFile("w+")
    watcher = subprocess.Popen(base + ["watch"], env=env, stdout=subprocess.DEVNULL, stderr=log_file, text=True)
    times: dict[str, list[dict]] = {"search (warm)": [], "search (warm off)": []}
    try:
        deadline = time.monotonic() + 600
        while not any(os.path.exists(p) for p in warm.candidates(library)):
            if watcher.poll() is not None or time.monotonic() > deadline:
                log_file.seek(0)
                raise SystemExit(f"photoclip watch did not start serving:\n{log_file.read()[-2000:]}")
            time.sleep(0.2)
        search = base + ["-v", "-v", "search", "a dog", "--json"]
        off = dict(env, PHOTOCLIP_WARM="0")
        for _ in range(rounds):
            run = measure(search, env)
            if "text vectors from the warm model" not in run["err"]:
                raise SystemExit(f"the search did not use the warm model:\n{run['err']}")
            times["search (warm)"].append(run)
            times["search (warm off)"].append(measure(search, off))
        try:  # Linux
            with open(f"/proc/{watcher.pid}/status") as f:
                hwm = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
        except OSError:
            hwm = 0
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            watcher.wait(60)
        except subprocess.TimeoutExpired:
            watcher.kill()
        log_file.close()
    return times, hwm / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--compare-with", metavar="DIR", help="another photoclip checkout to measure against")
    ap.add_argument("--no-warm", action="store_true", help="skip the search with a watcher holding a warm model")
    args = ap.parse_args()

    home = isolate_home()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    weights = weights_file(args.model)
    folder = home / "photos"
    folder.mkdir()
    for i in range(args.photos):
        make_photo(folder / f"p{i:04d}.jpg", i)
    library = home / "library"
    base = [sys.executable, "-m", "photoclip", "--library", str(library)]
    setup = subprocess.run(base + ["--model", args.model, "--pretrained", str(weights), "index", str(folder)],
                           env=env, capture_output=True, text=True, check=False)
    if setup.returncode != 0:
        raise SystemExit(setup.stdout + setup.stderr)
    settings = json.loads((library / "settings.json").read_text("utf-8"))
    assert settings.get("pretrained") == str(weights), "the library does not remember its model"

    print(f"model {args.model} (random weights from a local file), {args.photos} photos; {load_average()} at start")
    search = base + ["search", "a dog", "--json"]
    index = base + ["index", str(folder)]
    both = [sys.executable, "-c",
            "import json, sys\n"
            "from photoclip.core.library import Library\n"
            "lib = Library(sys.argv[1]); lib.embedder()\n"
            "print(json.dumps([{'path': r.path, 'score': r.score} for r in lib.search(sys.argv[2], limit=20)]))",
            str(library), "a dog"]
    other_env, other = None, None
    if args.compare_with:
        other = str(Path(args.compare_with).resolve())
        other_env = dict(os.environ, PYTHONPATH=other + os.pathsep + os.environ.get("PYTHONPATH", ""))
        print(f"other: {other}")
    retag = base + ["tag", "--retag"]
    retag_both = [sys.executable, "-c",
                  "import sys\n"
                  "from photoclip.core.library import Library\n"
                  "lib = Library(sys.argv[1]); lib.embedder()\n"
                  "print(lib.tag(retag=True))", str(library)]
    times: dict[str, list[dict]] = {"search": [], "both towers": [], "tag": [], "tag, both towers": [],
                                    "add one": []}
    for r in range(args.rounds):
        times["search"].append(measure(search, env))
        times["both towers"].append(measure(both, env))
        times["tag"].append(measure(retag, env))
        times["tag, both towers"].append(measure(retag_both, env))
        make_photo(folder / f"new{r:03d}.jpg", 10_000 + r)
        times["add one"].append(measure(index, env))
        if other_env is not None:
            times.setdefault("search (other)", []).append(measure(search, other_env, other))
            make_photo(folder / f"other{r:03d}.jpg", 20_000 + r)
            times.setdefault("add one (other)", []).append(measure(index, other_env, other))
    if not args.no_warm:
        warm_times, watcher_mb = measure_warm(base, library, env, args.rounds)
        times.update(warm_times)
    rows = {}
    for what, runs in times.items():
        secs = [x["seconds"] for x in runs]
        rss = [x["rss_mb"] for x in runs]
        rows[what] = min(secs)
        print(f"{what:18s}  best {min(secs):6.2f} s  median {statistics.median(secs):6.2f} s  "
              f"peak RSS {max(rss):6.0f} MB (min {min(rss):.0f})")
    rss = {what: max(x["rss_mb"] for x in runs) for what, runs in times.items()}
    print(f"search / both towers (best of each): time {rows['search'] / rows['both towers']:.2f}x, "
          f"peak RSS {rss['search'] / rss['both towers']:.2f}x")
    print(f"tag / tag, both towers (best of each): time {rows['tag'] / rows['tag, both towers']:.2f}x, "
          f"peak RSS {rss['tag'] / rss['tag, both towers']:.2f}x")
    print(f"add one / search (best of each): {rows['add one'] / rows['search']:.2f}x")
    if not args.no_warm:
        print(f"search (warm) / search (warm off) (best of each): time "
              f"{rows['search (warm)'] / rows['search (warm off)']:.3f}x, "
              f"peak RSS {rss['search (warm)'] / rss['search (warm off)']:.2f}x; "
              f"search (warm) / search: time {rows['search (warm)'] / rows['search']:.3f}x")
        print(f"the watcher holding the warm model: peak RSS {watcher_mb:.0f} MB")
    if other_env is not None:
        for what in ("search", "add one"):
            print(f"{what} / {what} (other): time {rows[what] / rows[what + ' (other)']:.2f}x, "
                  f"peak RSS {rss[what] / rss[what + ' (other)']:.2f}x")
    print(f"{load_average()} at end")


if __name__ == "__main__":
    main()
