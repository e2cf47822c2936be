"""VectorIndex: recall against exact search, add/remove/replace, growth, atomic save, corrupt files."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from photoclip.core import vector_index
from photoclip.core.vector_index import IndexCorrupt, VectorIndex

DIM = 32


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered(n: int, dim: int, seed: int, n_centres: int = 20, rank: int = 64,
              noise: float = 0.5) -> np.ndarray:
    """Clustered unit vectors like CLIP embeddings (same generator as benchmarks/bench_search.py).

    Uniform random unit vectors in 256-d have no neighbourhood structure (hnswlib recall@10 is
    ~0.3 at ef 64 on them), and no photo collection looks like that; 20 centres with 1,000
    vectors each make the within-cluster search as hard as in a 1M-photo library.
    """
    world = np.random.default_rng(12345)
    centres = world.standard_normal((n_centres, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    basis = np.linalg.qr(world.standard_normal((dim, rank)))[0].astype(np.float32)
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(n_centres, size=n)]
    x = x + (rng.standard_normal((n, rank), dtype=np.float32) * (0.8 / np.sqrt(rank))) @ basis.T
    x += rng.standard_normal((n, dim), dtype=np.float32) * (noise / np.sqrt(dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_recall_at_10_against_exact_search():
    n, dim, k = 20_000, 256, 10
    data = clustered(n, dim, seed=0)
    queries = clustered(100, dim, seed=1)
    ids = np.arange(1000, 1000 + n, dtype=np.int64)  # labels are not row numbers
    index = VectorIndex(dim)
    index.add(ids, data)

    exact = queries @ data.T
    hits = 0
    for q, row in zip(queries, exact):
        truth = ids[np.argsort(-row)[:k]]
        got, scores = index.query(q, k)
        assert len(got) == k
        assert np.all(np.diff(scores) <= 1e-6), "best first"
        np.testing.assert_allclose(scores, data[got - 1000] @ q, atol=1e-4)  # cosine similarity
        hits += len(np.intersect1d(got, truth))
    recall = hits / (k * len(queries))
    print(f"recall@10 = {recall:.4f} (n={n}, dim={dim}, defaults M={index.M}, "
          f"ef_construction={index.ef_construction}, ef_search={index.ef_search})")
    assert recall >= 0.98


def test_add_remove_contains_and_ids(rng):
    index = VectorIndex(DIM)
    assert len(index) == 0 and 3 not in index
    index.add(np.array([3, 1, 2]), unit(rng, 3))
    assert len(index) == 3 and 1 in index and np.int64(2) in index and 4 not in index
    assert index.ids().tolist() == [1, 2, 3] and index.ids().dtype == np.int64
    index.remove([2, 99])          # unknown ids are ignored
    index.remove(np.array([2]))    # so are ids already removed
    index.remove(1)                # a single id
    assert index.ids().tolist() == [3] and len(index) == 1 and 2 not in index


def test_query_returns_ids_and_cosine_scores_best_first(rng):
    vectors = unit(rng, 50)
    index = VectorIndex(DIM)
    index.add(np.arange(50) * 10, vectors)
    ids, scores = index.query(vectors[7], 5)
    assert ids[0] == 70 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    expected = np.sort(vectors @ vectors[7])[::-1][:5]
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    # Queries need not be normalised: cosine similarity ignores length.
    ids2, scores2 = index.query(vectors[7] * 3.0, 5)
    assert ids2.tolist() == ids.tolist()
    np.testing.assert_allclose(scores2, scores, atol=1e-5)


def test_query_many_answers_every_row_like_query(rng):
    vectors = unit(rng, 60)
    index = VectorIndex(DIM)
    index.add(np.arange(60), vectors)
    index.remove([3, 4])
    ids, scores = index.query_many(vectors[:10], 5)
    assert ids.shape == (10, 5) and scores.shape == (10, 5)
    for row in range(10):
        one_ids, one_scores = index.query(vectors[row], 5)
        assert ids[row].tolist() == one_ids.tolist()
        np.testing.assert_allclose(scores[row], one_scores, atol=1e-5)
    assert not {3, 4} & set(ids.ravel().tolist())  # removed ids never come back
    # more neighbours asked than live vectors: every live one, no padding needed
    ids, _ = index.query_many(vectors[:2], 100)
    assert ids.shape == (2, 58)


def test_readding_an_id_replaces_its_vector(rng):
    a, b, others = unit(rng, 1)[0], unit(rng, 1)[0], unit(rng, 20)
    index = VectorIndex(DIM)
    index.add(np.arange(1, 21), others)
    index.add([100], a[None])
    index.add([100], b[None])
    assert len(index) == 21
    ids, scores = index.query(b, 1)
    assert ids[0] == 100 and scores[0] == pytest.approx(1.0, abs=1e-5)
    ids, _ = index.query(a, 21)
    assert list(ids).count(100) == 1

    # A removed id that comes back is live again, with its new vector.
    index.remove([100])
    assert 100 not in index and 100 not in index.query(b, 20)[0]
    index.add([100], a[None])
    assert 100 in index and len(index) == 21
    ids, scores = index.query(a, 1)
    assert ids[0] == 100 and scores[0] == pytest.approx(1.0, abs=1e-5)


def test_duplicate_ids_in_one_call_keep_the_last_vector(rng):
    v = unit(rng, 3)
    index = VectorIndex(DIM)
    index.add(np.array([5, 6, 5]), v)
    assert index.ids().tolist() == [5, 6]
    ids, scores = index.query(v[2], 1)
    assert ids[0] == 5 and scores[0] == pytest.approx(1.0, abs=1e-5)


def test_grows_beyond_initial_capacity_by_doubling(rng):
    vectors = unit(rng, 3000)
    index = VectorIndex(DIM, capacity=100)
    for start in range(0, 3000, 700):
        index.add(np.arange(start, min(start + 700, 3000)), vectors[start:start + 700])
    assert len(index) == 3000
    assert index.capacity == 3200  # 100 -> 800 (needed) -> 1600 -> 3200
    for i in (0, 1234, 2999):
        assert index.query(vectors[i], 1)[0][0] == i


def test_removed_slots_are_reused_and_never_returned(rng):
    vectors = unit(rng, 400)
    index = VectorIndex(DIM, capacity=200)
    index.add(np.arange(200), vectors[:200])
    index.remove(np.arange(0, 200, 2))
    index.add(np.arange(1000, 1100), vectors[200:300])  # fills the 100 freed slots
    assert index.capacity == 200 and len(index) == 200
    for q in vectors[:300:7]:
        ids, _ = index.query(q, 50)
        assert not set(ids.tolist()) & set(range(0, 200, 2))
    assert index.query(vectors[250], 1)[0][0] == 1050
    # Re-adding a removed id whose slot went to another id still works.
    index.add([0], vectors[0][None])
    assert 0 in index and index.query(vectors[0], 1)[0][0] == 0 and len(index) == 201


def test_empty_index_and_k_clamping(rng):
    index = VectorIndex(DIM)
    ids, scores = index.query(unit(rng, 1)[0], 10)
    assert ids.shape == (0,) and scores.shape == (0,)
    index.add([1, 2, 3], unit(rng, 3))
    assert len(index.query(unit(rng, 1)[0], 10)[0]) == 3
    assert len(index.query(unit(rng, 1)[0], 0)[0]) == 0
    index.remove([1, 2, 3])
    assert len(index.query(unit(rng, 1)[0], 10)[0]) == 0


def test_query_on_heavily_deleted_index_never_raises(rng):
    vectors = unit(rng, 3000)
    index = VectorIndex(DIM, ef_search=10)
    index.add(np.arange(3000), vectors)
    keep = np.arange(0, 3000, 150)  # 20 survivors of 3000
    index.remove(np.setdiff1d(np.arange(3000), keep))
    for q in unit(rng, 20):
        ids, scores = index.query(q, 15)
        assert len(ids) == 15 and set(ids.tolist()) <= set(keep.tolist())
        truth = keep[np.argsort(-(vectors[keep] @ q))[:15]]
        assert set(ids.tolist()) == set(truth.tolist())
        assert np.all(np.diff(scores) <= 1e-6)
    ids, _ = index.query(vectors[150], 100)  # more than are left: all 20
    assert sorted(ids.tolist()) == keep.tolist()


def test_save_load_round_trip(tmp_path, rng):
    vectors = unit(rng, 500)
    index = VectorIndex(DIM, M=8, ef_construction=50, ef_search=40)
    index.add(np.arange(500) + 7, vectors)
    index.remove([7, 8, 9])
    index.meta = {"model": "ViT-B-32", "max_id": 506}
    path = str(tmp_path / "sub dir é" / "index.hnsw")
    os.makedirs(os.path.dirname(path))
    index.save(path)
    assert sorted(os.listdir(os.path.dirname(path))) == ["index.hnsw", "index.hnsw.json"]
    sidecar = json.loads(open(path + ".json").read())
    assert sidecar["dim"] == DIM and sidecar["count"] == 497 and sidecar["format"] == 1
    assert sidecar["meta"] == {"model": "ViT-B-32", "max_id": 506}

    loaded = VectorIndex.load(path, DIM)
    assert loaded.meta == index.meta
    assert (loaded.M, loaded.ef_construction, loaded.ef_search) == (8, 50, 40)
    assert loaded.ids().tolist() == index.ids().tolist() and len(loaded) == 497 and 7 not in loaded
    for q in vectors[::25]:
        a, b = index.query(q, 10), loaded.query(q, 10)
        assert a[0].tolist() == b[0].tolist()
        np.testing.assert_allclose(a[1], b[1])
    # The loaded index keeps working: new ids, a removed id coming back, growth.
    more = unit(rng, 2000)
    loaded.add(np.arange(10_000, 12_000), more)
    loaded.add([8], vectors[1][None])
    assert len(loaded) == 2498 and loaded.query(more[1500], 1)[0][0] == 11_500
    assert loaded.query(vectors[1], 1)[0][0] == 8


def test_save_and_load_empty_index(tmp_path):
    path = str(tmp_path / "empty.hnsw")
    VectorIndex(DIM).save(path)
    loaded = VectorIndex.load(path, DIM)
    assert len(loaded) == 0 and len(loaded.query(np.ones(DIM), 5)[0]) == 0


def test_failed_save_leaves_previous_index_loadable(tmp_path, rng, monkeypatch):
    path = str(tmp_path / "index.hnsw")
    old = VectorIndex(DIM)
    old.add(np.arange(10), unit(rng, 10))
    old.meta = {"v": 1}
    old.save(path)

    new = VectorIndex(DIM)
    new.add(np.arange(100, 200), unit(rng, 100))
    new.meta = {"v": 2}

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vector_index.os, "replace", failing_replace)
    with pytest.raises(OSError):
        new.save(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["index.hnsw", "index.hnsw.json"]  # no temp files left
    loaded = VectorIndex.load(path, DIM)
    assert loaded.meta == {"v": 1} and loaded.ids().tolist() == list(range(10))


def test_crash_between_the_two_replaces_is_detected(tmp_path, rng, monkeypatch):
    """Index file new, sidecar old: that pair must not load as a (wrong) index."""
    path = str(tmp_path / "index.hnsw")
    first = VectorIndex(DIM)
    first.add(np.arange(10), unit(rng, 10))
    first.save(path)
    second = VectorIndex(DIM)
    second.add(np.arange(10), unit(rng, 10))

    real_replace = os.replace
    calls = []

    def replace_then_crash(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("crash")
        real_replace(src, dst)

    monkeypatch.setattr(vector_index.os, "replace", replace_then_crash)
    with pytest.raises(OSError):
        second.save(path)
    monkeypatch.undo()
    with pytest.raises(IndexCorrupt):
        VectorIndex.load(path, DIM)


def _saved(tmp_path, rng, n=300) -> str:
    path = str(tmp_path / "index.hnsw")
    index = VectorIndex(DIM)
    index.add(np.arange(n), unit(rng, n))
    index.save(path)
    return path


def _truncate(path):
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])


def _garbage_same_size(path):
    size = os.path.getsize(path)
    open(path, "wb").write(np.random.default_rng(1).bytes(size))


def _flip_neighbour_bytes(path):
    """Valid header and size, nonsense neighbour ids: hnswlib alone would crash on a query."""
    data = bytearray(open(path, "rb").read())
    for off in range(96, 96 + 50 * 200, 200):
        data[off:off + 4] = b"\xff\xff\xff\x7f"
    open(path, "wb").write(bytes(data))


def _wrong_dim_header(path):
    data = bytearray(open(path, "rb").read())
    data[24:32] = (int.from_bytes(data[24:32], "little") + 4).to_bytes(8, "little")
    open(path, "wb").write(bytes(data))


def _set_sidecar(**changes):
    def corrupt(path):
        sidecar = json.loads(open(path + ".json").read())
        sidecar.update(changes)
        open(path + ".json", "w").write(json.dumps(sidecar))
    return corrupt


@pytest.mark.parametrize("corrupt", [
    pytest.param(lambda p: os.remove(p + ".json"), id="missing sidecar"),
    pytest.param(lambda p: os.remove(p), id="missing index"),
    pytest.param(_truncate, id="truncated index"),
    pytest.param(lambda p: open(p, "wb").close(), id="empty index"),
    pytest.param(_garbage_same_size, id="garbage of the right size"),
    pytest.param(_flip_neighbour_bytes, id="corrupt neighbour lists"),
    pytest.param(_wrong_dim_header, id="header for another dim"),
    pytest.param(lambda p: open(p + ".json", "w").write("{not json"), id="garbage sidecar"),
    pytest.param(lambda p: open(p + ".json", "w").write("[]"), id="sidecar not an object"),
    pytest.param(_set_sidecar(format=2), id="future format"),
    pytest.param(_set_sidecar(count=299), id="count mismatch"),
    pytest.param(_set_sidecar(dim=64), id="sidecar dim mismatch"),
    pytest.param(_set_sidecar(crc32="x"), id="sidecar field of wrong type"),
])
def test_unusable_files_raise_index_corrupt(tmp_path, rng, corrupt):
    path = _saved(tmp_path, rng)
    corrupt(path)
    with pytest.raises(IndexCorrupt):
        VectorIndex.load(path, DIM)


def test_load_with_another_dim_raises_index_corrupt(tmp_path, rng):
    path = _saved(tmp_path, rng)
    with pytest.raises(IndexCorrupt, match="dimensions"):
        VectorIndex.load(path, DIM * 2)


def test_bad_input_is_rejected(rng):
    index = VectorIndex(DIM)
    with pytest.raises(ValueError):
        index.add([1], unit(rng, 1, DIM + 1))
    with pytest.raises(ValueError):
        index.add([1, 2], unit(rng, 1))
    with pytest.raises(ValueError):
        index.add([-1], unit(rng, 1))
    with pytest.raises(ValueError):
        index.add([1], np.full((1, DIM), np.nan, dtype=np.float32))
    with pytest.raises(ValueError):
        index.query(np.ones(DIM + 1), 3)
    assert len(index) == 0


def test_queries_while_another_thread_adds_and_removes(rng):
    vectors = unit(rng, 6100)
    index = VectorIndex(DIM, capacity=64)
    index.add(np.arange(100), vectors[:100])
    errors: list[BaseException] = []
    done = threading.Event()

    def writer():
        try:
            for start in range(100, 6100, 500):
                index.add(np.arange(start, start + 500), vectors[start:start + 500])
                index.remove(np.arange(start - 100, start - 50))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    queries = 0
    try:
        while not done.is_set() or queries < 50:
            ids, scores = index.query(vectors[queries % 6100], 10)
            assert len(ids) == 10
            assert np.all(np.diff(scores) <= 1e-6)
            queries += 1
    finally:
        thread.join()
    assert not errors
    assert len(index) == 6100 - 12 * 50
    assert index.query(vectors[6099], 1)[0][0] == 6099


def test_a_short_index_file_is_reported_as_a_full_disk(tmp_path, monkeypatch):
    import errno

    index = VectorIndex(4)
    index.add(np.arange(1, 4), np.eye(3, 4, dtype=np.float32))
    monkeypatch.setattr(vector_index.os.path, "getsize", lambda path: 10)  # hnswlib's unchecked write fell short
    with pytest.raises(OSError) as info:
        index.save(str(tmp_path / "i.hnsw"))
    assert info.value.errno == errno.ENOSPC
    assert not list(tmp_path.iterdir())  # the temporary files are gone
