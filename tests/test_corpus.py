"""Keep finding them: a generated corpus of 50-odd kinds of hostile and unusual files. Each is
indexed or listed as a problem with its reason, none hangs (each is opened under a timeout,
the whole run too), nothing in the folder is written or touched, the summary counts what is
listed, and a watched folder that gets the whole corpus still indexes a normal photo at once."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import corpus
from helpers import draw_photo
from photoclip.core import images
from photoclip.core.errors import ImageError
from photoclip.core.scanner import fingerprint


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Fails with TimeoutError if the block takes longer (SIGALRM interrupts a blocking open too)."""
    def expired(signum, frame):
        raise TimeoutError(f"{what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below root, links not followed: mode, size, mtime, content hash, link target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out[path] = (st.st_mode, st.st_size, st.st_mtime_ns, digest,
                         os.readlink(path) if os.path.islink(path) else None)
    return out


@pytest.fixture
def hostile(tmp_path):
    root = tmp_path / "photos"
    cases = corpus.build(root)
    yield root, cases
    corpus.restore_permissions(root)


def check_outcome(cases: dict[str, corpus.Case], photos: set[str], problems: dict[str, str]) -> None:
    wrong = []
    for path, case in cases.items():
        if case.word is None:
            if path not in photos:
                wrong.append((case.name, "not indexed", problems.get(path)))
        elif path not in problems:
            wrong.append((case.name, "not listed", "indexed" if path in photos else "nowhere"))
        elif case.word.lower() not in problems[path].lower() or not problems[path].strip():
            wrong.append((case.name, f"reason without {case.word!r}", problems[path]))
    assert not wrong, wrong


def test_each_kind_alone_is_opened_or_refused_quickly(hostile):
    root, cases = hostile
    assert len(cases) >= 40
    for path, case in cases.items():
        with time_limit(5, f"opening {case.name!r}"):
            try:
                fingerprint(path)
                images.open_image(path, min_size=32, budget=images.DecodeBudget())
                opened = True
            except (OSError, ImageError):
                opened = False
        if case.word is None:
            assert opened, case.name


@pytest.mark.timeout(120)
def test_the_corpus_is_indexed_or_listed_and_left_untouched(hostile, make_library):
    root, cases = hostile
    before = snapshot(root)
    lib = make_library()
    with time_limit(90, "indexing the corpus"):
        report = lib.index([str(root)], tag=False)
    photos = {r.path for r in lib.photos()}
    problems = {p.path: p.reason for p in lib.problems()}
    check_outcome(cases, photos, problems)
    assert set(photos) | set(problems) == set(cases)  # nothing left out without a word
    assert report.added == len(photos) and report.problems == len(problems)  # the summary counts the list
    assert f"{len(problems):,} could not be read" in report.summary()
    assert snapshot(root) == before  # no original written, moved or touched
    with time_limit(60, "indexing the corpus again"):
        again = lib.index(tag=False)
    assert again.problems == 0 and again.embedded == 0
    assert {p.path for p in lib.problems()} == set(problems)


@pytest.mark.timeout(180)
def test_the_corpus_dropped_into_a_watched_folder_does_not_stop_the_watcher(tmp_path, make_library):
    from photoclip.core.watcher import watch_forever

    root = tmp_path / "watched"
    draw_photo(root / "first.jpg", (200, 40, 40))
    lib = make_library()
    lib.add_folders([str(root)])
    other = make_library()  # another process on the same library (the app, `photoclip search`)
    lines: list[str] = []

    class Out:
        def write(self, s: str) -> int:
            lines.append(s)
            return len(s)

        def flush(self) -> None:
            pass

    stop = threading.Event()
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("rc", watch_forever(
        lib, out=Out(), stop=stop, debounce_s=0.2, stable_s=0.3)))
    t.start()
    try:
        deadline = time.monotonic() + 120
        while not any("Watching" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("Watching" in line for line in lines), lines
        cases = corpus.build(root / "dropped")
        after = draw_photo(root / "after the corpus.jpg", (40, 200, 200), shape="square")
        dropped_at = time.monotonic()
        while time.monotonic() - dropped_at < 10:
            if str(after) in {r.path for r in other.search("a photo", limit=200)}:
                break
            time.sleep(0.1)
        assert str(after) in {r.path for r in other.search("a photo", limit=200)}, "".join(lines)
        # the corpus itself ends the way a full index leaves it
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            photos = {r.path for r in other.photos()}
            problems = {p.path: p.reason for p in other.problems()}
            if set(cases) <= photos | set(problems):
                break
            time.sleep(0.2)
        check_outcome(cases, photos, problems)
    finally:
        stop.set()
        t.join(30)
        corpus.restore_permissions(root / "dropped")
    assert result == {"rc": 0}
