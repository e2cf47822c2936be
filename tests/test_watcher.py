"""FolderWatcher: debounced, stable, coalesced batches; moves; folders that leave and return;
polling fallback; and `photoclip watch` end to end next to another user of the same library."""

from __future__ import annotations

import errno
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import draw_photo
from photoclip.core import watcher as watcher_mod
from photoclip.core.watcher import FolderWatcher, filesystem_type, needs_polling, watch_forever

FAST = dict(debounce_s=0.2, stable_s=0.3, check_interval_s=0.2, max_delay_s=5.0)


class Recorder:
    """Collects on_batch calls (thread-safe) with the time each arrived."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, list[str]]] = []
        self.lock = threading.Lock()

    def __call__(self, paths: list[str]) -> None:
        with self.lock:
            self.calls.append((time.monotonic(), list(paths)))

    @property
    def paths(self) -> set[str]:
        with self.lock:
            return {p for _, batch in self.calls for p in batch}


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def watch(tmp_path):
    """Start a watcher on folders; stopped at the end of the test."""
    started = []

    def start(folders, on_batch, **kwargs):
        options = {**FAST, **kwargs}
        w = FolderWatcher([str(f) for f in folders], on_batch, **options)
        w.start()
        started.append(w)
        assert w.wait_ready(10)
        return w

    yield start
    for w in started:
        w.stop()


def jpeg_bytes(path: Path, n: int = 2000, seed: int = 0) -> str:
    """A file with an image name (the watcher never decodes, only stats)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes([seed % 256]) * n)
    return str(path)


def test_new_files_arrive_in_one_batch_after_they_settle(tmp_path, watch):
    root = tmp_path / "photos"
    root.mkdir()
    rec = Recorder()
    w = watch([root], rec)
    assert w.modes() == {str(root): "inotify"}
    made = {jpeg_bytes(root / f"p{i}.jpg", seed=i) for i in range(3)}
    made.add(str(draw_photo(root / "sub" / "deep" / "x.png")))
    (root / "notes.txt").write_text("not a photo")
    (root / "p0.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")  # a sidecar: its keywords are read
    made.add(str(root / "p0.jpg.xmp"))
    (root / ".hidden").mkdir()
    jpeg_bytes(root / ".hidden" / "thumb.jpg")
    assert wait_for(lambda: rec.paths >= made)
    time.sleep(0.8)
    assert rec.paths == made  # no text file, nothing from hidden folders
    assert len(rec.calls) == 1


def test_reading_photos_does_not_wake_the_watcher(tmp_path, watch):
    root = tmp_path / "photos"
    path = jpeg_bytes(root / "a.jpg")
    rec = Recorder()
    watch([root], rec)
    for _ in range(5):
        Path(path).read_bytes()
    time.sleep(1.0)
    assert rec.calls == []


def test_burst_of_5000_files_is_a_handful_of_batches(tmp_path, watch):
    root = tmp_path / "burst"
    root.mkdir()
    rec = Recorder()
    watch([root], rec, debounce_s=0.5, stable_s=0.5, max_delay_s=10.0)
    expected = set()
    for i in range(5000):
        sub = root / f"d{i // 500}"
        if i % 500 == 0:
            sub.mkdir()
        p = sub / f"img_{i:05d}.jpg"
        p.write_bytes(b"x" * (100 + i % 7))
        expected.add(str(p))
    assert wait_for(lambda: rec.paths >= expected, timeout=60)
    assert rec.paths == expected
    assert 1 <= len(rec.calls) <= 5, [len(b) for _, b in rec.calls]


def test_file_still_being_written_is_handed_over_only_when_complete(tmp_path, watch):
    root = tmp_path / "photos"
    root.mkdir()
    seen_sizes = []

    def on_batch(paths):
        seen_sizes.extend(os.path.getsize(p) for p in paths)
        rec(paths)

    rec = Recorder()
    watch([root], on_batch, stable_s=0.6)
    path = root / "big.jpg"
    with open(path, "wb") as f:  # a slow copy: a chunk every 0.25 s for ~2 s
        for _ in range(8):
            f.write(b"\xff" * 64 * 1024)
            f.flush()
            time.sleep(0.25)
    finished = time.monotonic()
    assert wait_for(lambda: rec.calls)
    assert rec.calls[0][0] >= finished
    assert seen_sizes == [8 * 64 * 1024]
    time.sleep(0.5)
    assert len(rec.calls) == 1


def test_deleted_files_are_reported(tmp_path, watch):
    root = tmp_path / "photos"
    a = jpeg_bytes(root / "a.jpg")
    b = jpeg_bytes(root / "b.jpg", seed=1)
    rec = Recorder()
    watch([root], rec)
    os.remove(a)
    assert wait_for(lambda: a in rec.paths)
    assert b not in rec.paths


def test_a_move_reports_source_and_destination_together(tmp_path, watch):
    root = tmp_path / "photos"
    src = jpeg_bytes(root / "2023" / "beach.jpg")
    (root / "Holiday").mkdir()
    rec = Recorder()
    watch([root], rec)
    dest = str(root / "Holiday" / "beach renamed.jpg")
    os.rename(src, dest)
    assert wait_for(lambda: rec.paths >= {src, dest})
    assert any(src in batch and dest in batch for _, batch in rec.calls)


def test_a_folder_moved_or_deleted_yields_the_photos_inside(tmp_path, watch):
    root = tmp_path / "photos"
    names = [f"img{i}.jpg" for i in range(10)]
    old = [jpeg_bytes(root / "Trip" / n, seed=i) for i, n in enumerate(names)]
    other = [jpeg_bytes(root / "Other" / n, seed=i) for i, n in enumerate(names)]
    known = {str(root / "Trip"): old, str(root / "Other"): other}
    asked = []

    def known_paths_under(folder):
        asked.append(folder)
        return known.get(folder, [])

    rec = Recorder()
    watch([root], rec, known_paths_under=known_paths_under)
    os.rename(root / "Trip", root / "Trip 2024")
    new = {str(root / "Trip 2024" / n) for n in names}
    assert wait_for(lambda: rec.paths >= set(old) | new)
    assert any(set(old) | new <= set(batch) for _, batch in rec.calls)  # one batch: re-linkable
    shutil.rmtree(root / "Other")
    assert wait_for(lambda: rec.paths >= set(other))
    assert str(root / "Other") in asked


def test_folder_moved_in_from_outside_is_walked(tmp_path, watch):
    root = tmp_path / "photos"
    root.mkdir()
    outside = tmp_path / "card"
    files = [jpeg_bytes(outside / "DCIM" / f"IMG_{i}.JPG", seed=i) for i in range(6)]
    rec = Recorder()
    watch([root], rec)
    os.rename(outside, root / "card")
    expected = {f.replace(str(outside), str(root / "card")) for f in files}
    assert wait_for(lambda: rec.paths >= expected)
    assert rec.paths == expected


def test_unplugged_folder_is_not_reported_as_deleted_and_comes_back(tmp_path, watch):
    root = tmp_path / "drive"
    files = {jpeg_bytes(root / f"p{i}.jpg", seed=i) for i in range(4)}
    gone, back = [], []
    rec = Recorder()
    w = watch([root], rec, on_folder_gone=gone.append, on_folder_back=back.append,
              known_paths_under=lambda folder: sorted(files))
    os.rename(root, tmp_path / "elsewhere")  # what an unmount looks like from here
    assert wait_for(lambda: gone == [str(root)])
    assert w.modes()[str(root)] == "offline"
    time.sleep(0.8)
    assert rec.calls == []  # its photos were not reported as deleted
    root.mkdir()  # an empty mount point is not the drive coming back
    time.sleep(0.6)
    assert back == []
    root.rmdir()
    os.rename(tmp_path / "elsewhere", root)
    assert wait_for(lambda: back == [str(root)])
    assert w.modes()[str(root)] == "inotify"
    new = jpeg_bytes(root / "after.jpg", seed=9)  # watched again
    assert wait_for(lambda: new in rec.paths)


def test_folder_offline_at_start_is_picked_up_when_it_appears(tmp_path, watch):
    root = tmp_path / "later"
    back = []
    w = watch([root], Recorder(), on_folder_back=back.append)
    assert w.modes() == {str(root): "offline"}
    jpeg_bytes(root / "a.jpg")
    assert wait_for(lambda: back == [str(root)])


def test_set_folders_adds_and_drops_watches(tmp_path, watch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    rec = Recorder()
    w = watch([a], rec)
    w.set_folders([b])
    assert w.wait_ready(10)
    assert w.modes() == {str(b): "inotify"}
    jpeg_bytes(a / "ignored.jpg")
    pb = jpeg_bytes(b / "seen.jpg")
    assert wait_for(lambda: pb in rec.paths)
    time.sleep(0.5)
    assert rec.paths == {pb}


def test_a_folder_added_later_reports_the_photos_its_indexing_missed(tmp_path, watch):
    """Between a new folder's indexing and its watch starting, a photo can land in it: the watcher
    compares the folder with the catalog once and hands over the photos the catalog lacks."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    indexed = jpeg_bytes(b / "indexed.jpg")
    catalog = {str(b): [indexed]}
    rec = Recorder()
    w = watch([a], rec, known_paths_under=lambda folder: catalog.get(folder, []))
    missed = jpeg_bytes(b / "arrived before the watch.jpg", seed=1)  # no event will ever say so
    w.set_folders([a, b])
    assert w.wait_ready(10)
    assert wait_for(lambda: missed in rec.paths)
    after = jpeg_bytes(b / "after.jpg", seed=2)  # and the folder is watched from then on
    assert wait_for(lambda: after in rec.paths)
    assert indexed not in rec.paths  # what the catalog has is not handed over again


def test_network_and_fuse_mounts_are_polled(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\n"
        "server:/export /mnt/nas nfs4 rw 0 0\n"
        "//box/share /mnt/smb cifs rw 0 0\n"
        "me@host:/ /home/me/remote\\040photos fuse.sshfs rw 0 0\n"
        "/dev/sdb1 /media/usb fuseblk rw 0 0\n"
    )
    m = str(mounts)
    assert filesystem_type("/mnt/nas/2024/a.jpg", m) == "nfs4"
    assert filesystem_type("/home/me/remote photos/x", m) == "fuse.sshfs"
    assert needs_polling("/mnt/nas/2024", m)
    assert needs_polling("/mnt/smb", m)
    assert needs_polling("/home/me/remote photos/2023", m)
    assert not needs_polling("/home/me/Pictures", m)
    assert not needs_polling("/media/usb/DCIM", m)  # a local disk through FUSE still gets inotify
    assert not needs_polling("/mnt/nasty", m)
    assert not needs_polling("/x", str(tmp_path / "no-such-file"))


def test_polling_fallback_delivers_changes(tmp_path, watch):
    root = tmp_path / "nas"
    old = jpeg_bytes(root / "old.jpg")
    rec = Recorder()
    w = watch([root], rec, use_polling=lambda path: True, poll_interval_s=0.3)
    assert w.modes() == {str(root): "polling"}
    new = jpeg_bytes(root / "new.jpg", seed=3)
    os.remove(old)
    assert wait_for(lambda: rec.paths >= {new, old})


def test_inotify_failure_falls_back_to_polling(tmp_path, watch, monkeypatch):
    from watchdog.observers import Observer

    def refuse(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(Observer, "schedule", refuse)
    root = tmp_path / "photos"
    root.mkdir()
    rec = Recorder()
    w = watch([root], rec, poll_interval_s=0.3)
    assert w.modes() == {str(root): "polling"}
    p = jpeg_bytes(root / "a.jpg")
    assert wait_for(lambda: p in rec.paths)


def test_a_failing_receiver_does_not_stop_the_watcher(tmp_path, watch):
    root = tmp_path / "photos"
    root.mkdir()
    got = []

    def on_batch(paths):
        got.append(paths)
        if len(got) == 1:
            raise RuntimeError("receiver bug")

    watch([root], on_batch)
    jpeg_bytes(root / "a.jpg")
    assert wait_for(lambda: len(got) == 1)
    jpeg_bytes(root / "b.jpg", seed=1)
    assert wait_for(lambda: len(got) == 2)


# -- through the library ---------------------------------------------------------------------
def test_watch_forever_indexes_changes_that_another_library_object_sees(tmp_path, make_library, photo_folder):
    lib = make_library()
    lib.add_folders([str(photo_folder)])
    other = make_library()  # like another process (the app, `photoclip search`) on the same library
    assert other.photos() == []
    out = _Lines()
    stop = threading.Event()
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("rc", watch_forever(
        lib, out=out, stop=stop, debounce_s=0.2, stable_s=0.3)))
    t.start()
    try:
        assert out.wait(lambda line: "Watching 1 folder" in line, 120)
        assert len(other.photos()) == 12 and len(other.search("a red circle", limit=50)) == 12
        ids = {r.path: r.id for r in other.photos()}

        new = draw_photo(photo_folder / "new" / "fresh.jpg", (10, 200, 200), shape="square")
        assert out.wait(lambda line: "+1 new" in line)
        assert str(new) in {r.path for r in other.search("a square", limit=50)}

        moved = photo_folder / "a" / "renamed img0.jpg"
        os.rename(photo_folder / "a" / "img0.jpg", moved)
        os.remove(photo_folder / "b" / "img1.png")
        assert out.wait(lambda line: "1 removed, 1 moved" in line)
        paths = {r.path for r in other.photos()}
        assert str(moved) in paths and str(photo_folder / "b" / "img1.png") not in paths
        assert other.catalog.photo_by_path(str(moved)).id == ids[str(photo_folder / "a" / "img0.jpg")]
        results = {r.path for r in other.search("a photo", limit=50)}
        assert results == paths
    finally:
        stop.set()
        t.join(30)
    assert result == {"rc": 0}
    assert "Stopped watching." in out.text()


class _Lines:
    """A text stream the test can wait on."""

    def __init__(self) -> None:
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.seen: list[str] = []
        self._buf = ""

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.lines.put(line)
        return len(s)

    def flush(self) -> None:
        pass

    def wait(self, predicate, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if predicate(line):
                return True
        return False

    def text(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "\n".join(self.seen)


def test_cli_watch_runs_until_ctrl_c(tmp_path, make_library, photo_folder, tiny_config):
    lib = make_library()
    lib.index([str(photo_folder)])  # everything embedded and tagged: the watcher needs no model
    root = os.path.dirname(os.path.dirname(os.path.abspath(watcher_mod.__file__)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "photoclip", "watch", "--library", str(lib.root), "--model", tiny_config,
         "--pretrained", "random", "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=os.path.dirname(root),
        env={**os.environ, "PYTHONPATH": os.path.dirname(root)})
    out = _Lines()
    reader = threading.Thread(target=lambda: [out.write(line) for line in proc.stdout], daemon=True)
    reader.start()
    try:
        assert out.wait(lambda line: "Press Ctrl+C" in line, 60), out.text()
        os.rename(photo_folder / "a" / "img2.jpg", photo_folder / "b" / "img2 moved.jpg")
        assert out.wait(lambda line: "1 moved" in line), out.text()
        # Meanwhile this process's Library (opened before) sees the move without reopening.
        assert lib.catalog.photo_by_path(str(photo_folder / "b" / "img2 moved.jpg")) is not None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, out.text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    assert "Stopped watching." in out.text()
    assert "Traceback" not in out.text()


def test_a_dangling_link_named_like_a_photo_is_handed_over_not_held(tmp_path, watch):
    root = tmp_path / "photos"
    root.mkdir()
    rec = Recorder()
    watch([root], rec)
    os.symlink("nowhere.jpg", root / "dangling.jpg")  # the indexer lists it as a problem
    jpeg_bytes(root / "real.jpg")
    assert wait_for(lambda: rec.paths >= {str(root / "dangling.jpg"), str(root / "real.jpg")}, 10), rec.calls
