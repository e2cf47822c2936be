"""One indexing process per library: a second one is told who is indexing, or waits; searching
and status never wait."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from photoclip.core.lock import IndexLock, LibraryBusy

HOLD = """
import sys, time
from photoclip.core.lock import IndexLock
with IndexLock(sys.argv[1]).held():
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(lib_dir, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lib_dir), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def cli(tmp_path, tiny_config):
    env = dict(os.environ, PHOTOCLIP_HOME=str(tmp_path / "lib"), PHOTOCLIP_MODELS=str(tmp_path / "models"))

    def run(*args, **kw):
        return subprocess.Popen([sys.executable, "-m", "photoclip", *args, "--model", tiny_config,
                                 "--pretrained", "random"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kw)
    return run


def test_second_index_is_told_who_indexes_and_status_search_do_not_wait(cli, tmp_path, photo_folder):
    lib_dir = tmp_path / "lib"
    first = cli("index", str(photo_folder), "--no-tag")
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    holder = _holder(lib_dir, 60)
    try:
        t0 = time.monotonic()
        busy = cli("index")
        out, err = busy.communicate(timeout=120)
        assert busy.returncode != 0
        assert "is indexing this library" in err and str(holder.pid) in err
        status = cli("status", "--json")
        status.communicate(timeout=120)
        search = cli("search", "a red circle", "--json")
        s_out, _ = search.communicate(timeout=120)
        assert status.returncode == 0 and search.returncode == 0 and s_out.strip().startswith("[")
        assert time.monotonic() - t0 < 60  # none of them waited for the holder
    finally:
        holder.kill()
        holder.wait()
    # a killed holder leaves nothing behind: the next index runs
    again = cli("index")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0 and "12 unchanged" in out, err


def test_index_wait_waits_for_the_other_process(cli, tmp_path, photo_folder):
    (tmp_path / "lib").mkdir()
    holder = _holder(tmp_path / "lib", 3)
    waiting = cli("index", str(photo_folder), "--no-tag", "--wait")
    out, err = waiting.communicate(timeout=300)
    holder.wait()
    assert waiting.returncode == 0 and "12 new" in out, err
    assert "Waiting for" in err


def test_two_index_runs_at_once_embed_each_photo_once(cli, photo_folder):
    runs = [cli("index", str(photo_folder), "--no-tag") for _ in range(2)]
    results = [r.communicate(timeout=300) for r in runs]
    new = 0
    for run, (out, err) in zip(runs, results):
        if run.returncode == 0:
            new += 12 if "12 new" in out else 0
        else:
            assert "is indexing this library" in err
    assert new == 12


def test_one_process_shares_its_lock_between_threads(tmp_path):
    lock = IndexLock(tmp_path)
    inside = threading.Event()
    release = threading.Event()

    def worker():
        with lock.held():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    with lock.held():  # the app's watcher indexing beside its worker: no self-deadlock
        pass
    release.set()
    t.join()
    other = subprocess.run([sys.executable, "-c", "import sys\nfrom photoclip.core.lock import IndexLock\n"
                            "with IndexLock(sys.argv[1]).held(): print('ok')", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert other.stdout.strip() == "ok"  # released once the last user left
    with lock.held():
        with pytest.raises(LibraryBusy):  # a second library object on the same folder is another user
            with IndexLock(tmp_path).held():
                pass


def test_processes_creating_one_new_library_at_once_all_open_it(tmp_path):
    code = ("import sys\nfrom photoclip.core.catalog import Catalog\n"
            "c = Catalog(sys.argv[1]); print(c.photo_count()); c.close()")
    for attempt in range(5):
        lib = tmp_path / f"new-{attempt}"
        procs = [subprocess.Popen([sys.executable, "-c", code, str(lib)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
        assert [out.strip() for out, _ in outs] == ["0"] * 4


def test_two_processes_adding_the_same_folder_at_once_share_one_row(tmp_path):
    """What CI hit: `photoclip index X` twice at once died with 'UNIQUE constraint failed:
    folders.path' in one of them. Many racing pairs; each pair ends with one folder and no error."""
    from photoclip.core.catalog import Catalog

    root = tmp_path / "lib"
    root.mkdir()
    first, second = Catalog(root), Catalog(root)
    errors: list[BaseException] = []
    for i in range(30):
        folder = tmp_path / f"photos{i}"
        folder.mkdir()
        ids: list[int] = []
        start = threading.Barrier(2)

        def add(catalog):
            try:
                start.wait()
                ids.append(catalog.add_folder(str(folder)))
            except BaseException as exc:  # noqa: BLE001 - the test reports whatever went wrong
                errors.append(exc)

        threads = [threading.Thread(target=add, args=(c,)) for c in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(set(ids)) == 1
    assert len(first.folders()) == 30
