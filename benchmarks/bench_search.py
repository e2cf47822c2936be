"""Search latency and recall: photoclip's hnswlib index against exact numpy search.

    python benchmarks/bench_search.py                     # --quick: 10k and 100k, dim 512
    python benchmarks/bench_search.py --sizes 1000000     # takes minutes to build on 2 cores
    python benchmarks/bench_search.py --ef 32,64,128      # recall/latency for several ef_search

For each size it builds a :class:`photoclip.core.vector_index.VectorIndex` over synthetic
unit vectors and reports build time, memory (RSS growth), single-query latency (p50/p99 over
--queries queries, one at a time, as the app runs them) and recall@10 against exact search.
The baseline is exact numpy search (matrix @ query + argpartition) over the same vectors.

The vectors are clustered, not uniform: real CLIP embeddings of a photo collection sit on a
low-dimensional, clustered manifold (near-duplicates, recurring scenes). Uniform random unit
vectors in 512-d have no neighbourhood structure at all (every point is about equally far from
every other), which makes any approximate index look useless and is not what users have.
``clustered_unit_vectors`` draws each vector as a mixture centre (1,000 random directions)
plus variation in a shared 32-d subspace plus isotropic noise, then normalises; its statistics
(nearest-neighbour cosine ~0.7, 10th ~0.6) are printed so the difficulty is visible.
Queries are fresh draws from the same distribution (not copies of indexed vectors).

Text-encoding latency is measured separately (by the model benchmark); ``index_lookup_stats``
is the function to call for the index part of a query.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from photoclip.core.vector_index import VectorIndex  # noqa: E402


# ---------------------------------------------------------------------------- data


def clustered_unit_vectors(n: int, dim: int, *, seed: int, n_centres: int = 1000, rank: int = 32,
                           spread: float = 0.8, noise: float = 0.25,
                           world_seed: int = 12345) -> np.ndarray:
    """n float32 unit vectors: centre + spread * (shared rank-d variation) + noise, normalised.

    world_seed fixes the centres and the shared subspace, so indexed vectors (seed=0) and queries
    (seed=1) come from the same distribution.
    """
    world = np.random.default_rng(world_seed)
    centres = world.standard_normal((n_centres, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    basis = np.linalg.qr(world.standard_normal((dim, rank)))[0].astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 65536):  # chunks: 1M x 512 needs no 2 GB temporaries
        m = min(65536, n - start)
        x = centres[rng.integers(n_centres, size=m)]
        x += (rng.standard_normal((m, rank), dtype=np.float32) * (spread / np.sqrt(rank))) @ basis.T
        x += rng.standard_normal((m, dim), dtype=np.float32) * (noise / np.sqrt(dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start:start + m] = x
    return out


def exact_topk(data: np.ndarray, queries: np.ndarray, k: int, chunk: int = 131072):
    """Exact top-k ids (row numbers) and cosine scores for each query, best first."""
    best_ids = np.full((len(queries), 0), -1, dtype=np.int64)
    best_scores = np.empty((len(queries), 0), dtype=np.float32)
    for start in range(0, len(data), chunk):
        scores = queries @ data[start:start + chunk].T
        kk = min(k, scores.shape[1])
        part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        best_ids = np.hstack([best_ids, part + start])
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, part, axis=1)])
        keep = np.argsort(-best_scores, axis=1, kind="stable")[:, :k]
        best_ids = np.take_along_axis(best_ids, keep, axis=1)
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
    return best_ids, best_scores


class ExactIndex:
    """The baseline: exact cosine search over a float32 matrix of unit vectors."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._ids = np.asarray(ids, dtype=np.int64)
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def query(self, vector: np.ndarray, k: int):
        scores = self._vectors @ vector
        k = min(k, len(scores))
        if k <= 0:
            return self._ids[:0], scores[:0]
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return self._ids[top], scores[top]


# ---------------------------------------------------------------------------- measuring


def rss_bytes() -> int:
    """Current resident set size (Linux /proc; elsewhere peak RSS from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def index_lookup_stats(index, queries: np.ndarray, k: int = 10,
                       truth: np.ndarray | None = None, warmup: int = 5) -> dict:
    """Time index.query(q, k) for each query (one at a time) and score it against truth.

    index: anything with query(vector, k) -> (ids, scores), e.g. VectorIndex or ExactIndex.
    truth: (len(queries), >=k) exact ids per query, or None to skip recall.
    Returns {"p50_ms", "p99_ms", "mean_ms", "recall", "queries"}.
    """
    for q in queries[:warmup]:
        index.query(q, k)
    times = np.empty(len(queries))
    hits = 0
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        ids, _ = index.query(q, k)
        times[i] = time.perf_counter() - t0
        if truth is not None:
            hits += len(np.intersect1d(ids, truth[i, :k]))
    return {
        "p50_ms": float(np.percentile(times, 50) * 1e3),
        "p99_ms": float(np.percentile(times, 99) * 1e3),
        "mean_ms": float(times.mean() * 1e3),
        "recall": hits / (k * len(queries)) if truth is not None else None,
        "queries": len(queries),
    }


@dataclass
class Row:
    size: int
    method: str
    build_s: float
    mem_mb: float
    p50_ms: float
    p99_ms: float
    recall: float
    extra: str = ""


def bench_size(n: int, dim: int, *, n_queries: int, k: int, threads: int, M: int,
               ef_construction: int, ef_values: list[int], save_load: bool) -> list[Row]:
    t0 = time.perf_counter()
    data = clustered_unit_vectors(n, dim, seed=0)
    queries = clustered_unit_vectors(n_queries, dim, seed=1)
    ids = np.arange(n, dtype=np.int64)
    truth, truth_scores = exact_topk(data, queries, k)
    print(f"[{n:,}] data + ground truth in {time.perf_counter() - t0:.1f} s; "
          f"nearest-neighbour cosine mean {truth_scores[:, 0].mean():.3f}, "
          f"{k}th {truth_scores[:, k - 1].mean():.3f}", flush=True)
    rows = []

    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    exact = ExactIndex(ids, data.copy())
    build = time.perf_counter() - t0
    mem = (rss_bytes() - rss0) / 2**20
    stats = index_lookup_stats(exact, queries, k, truth)
    rows.append(Row(n, "numpy exact", build, mem, stats["p50_ms"], stats["p99_ms"], stats["recall"]))
    del exact
    gc.collect()

    rss0 = rss_bytes()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    index = VectorIndex(dim, M=M, ef_construction=ef_construction, ef_search=ef_values[0],
                        threads=threads)
    index.add(ids, data)
    build = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    mem = (rss_bytes() - rss0) / 2**20
    print(f"[{n:,}] hnsw build {build:.1f} s wall, {cpu:.1f} s CPU, {threads} threads", flush=True)
    extra = f"build CPU {cpu:.0f} s"
    if save_load:
        with tempfile.TemporaryDirectory(prefix="photoclip-bench-") as tmp:
            path = os.path.join(tmp, "index.hnsw")
            t0 = time.perf_counter()
            index.save(path)
            saved = time.perf_counter() - t0
            size_mb = os.path.getsize(path) / 2**20
            t0 = time.perf_counter()
            VectorIndex.load(path, dim)
            loaded = time.perf_counter() - t0
        extra += f", save {saved:.2f} s, load {loaded:.2f} s, file {size_mb:.0f} MB"
        gc.collect()
    for ef in ef_values:
        index.ef_search = ef
        stats = index_lookup_stats(index, queries, k, truth)
        rows.append(Row(n, f"hnsw ef={ef}", build, mem, stats["p50_ms"], stats["p99_ms"],
                        stats["recall"], extra))
    return rows


def print_table(rows: list[Row], k: int) -> None:
    head = (f"{'size':>10} {'method':<14} {'build s':>8} {'mem MB':>8} {'p50 ms':>8} "
            f"{'p99 ms':>8} {'recall@' + str(k):>10} {'speedup':>8}  notes")
    print(head)
    print("-" * len(head))
    exact_p50 = {r.size: r.p50_ms for r in rows if r.method == "numpy exact"}
    for r in rows:
        ratio = exact_p50.get(r.size, float("nan")) / r.p50_ms
        print(f"{r.size:>10,} {r.method:<14} {r.build_s:>8.2f} {r.mem_mb:>8.0f} {r.p50_ms:>8.3f} "
              f"{r.p99_ms:>8.3f} {r.recall:>10.4f} {ratio:>7.1f}x  {r.extra}")
    print("speedup = numpy exact p50 / method p50 (single queries, one at a time)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", help="comma-separated index sizes, e.g. 10000,100000,1000000")
    ap.add_argument("--quick", action="store_true", help="sizes 10000,100000 (the default)")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="hnswlib threads for building (queries are single-threaded)")
    ap.add_argument("--M", type=int, default=VectorIndex.__init__.__kwdefaults__["M"])
    ap.add_argument("--ef-construction", type=int,
                    default=VectorIndex.__init__.__kwdefaults__["ef_construction"])
    ap.add_argument("--ef", default=str(VectorIndex.__init__.__kwdefaults__["ef_search"]),
                    help="comma-separated ef_search values to measure (first = the default)")
    ap.add_argument("--no-save-load", action="store_true", help="skip timing save()/load()")
    args = ap.parse_args(argv)

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")] if args.sizes else [10_000, 100_000]
    ef_values = [int(e) for e in args.ef.split(",")]
    print(f"dim {args.dim}, M {args.M}, ef_construction {args.ef_construction}, "
          f"ef_search {ef_values}, {args.queries} queries, k {args.k}, "
          f"{args.threads} build threads, {os.cpu_count()} CPUs", flush=True)
    rows: list[Row] = []
    for n in sizes:
        rows += bench_size(n, args.dim, n_queries=args.queries, k=args.k, threads=args.threads,
                           M=args.M, ef_construction=args.ef_construction, ef_values=ef_values,
                           save_load=not args.no_save_load)
        gc.collect()
    print()
    print_table(rows, args.k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
