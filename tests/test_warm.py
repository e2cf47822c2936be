"""A warm model: ``photoclip search`` on a library that ``photoclip watch`` (or the app) holds a
loaded model on asks that process for its text vectors (a local socket, this user only) instead
of importing torch and loading the model; every failure falls back to loading it."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from photoclip.core import warm
from photoclip.core.embedder import Embedder, ModelSpec
from photoclip.core.watcher import watch_forever

pytestmark = pytest.mark.skipif(not warm.available(), reason="no AF_UNIX sockets here")

QUERY = "a red circle"
# a one-shot CLI search in a fresh interpreter that says afterwards whether torch was imported
CLI = ("import sys\nimport photoclip.cli as cli\nrc = cli.main(sys.argv[1:])\n"
       "print('torch imported:', 'torch' in sys.modules, file=sys.stderr)\nsys.exit(rc)")


@pytest.fixture
def indexed(make_library, photo_folder, trained_clip):
    config, weights = trained_clip
    lib = make_library(model=config, pretrained=weights, precision="fp32", remember_model=True)
    lib.index([str(photo_folder)], tag=False)
    return lib


def cli_search(root: Path, *extra: str) -> tuple[list, str]:
    proc = subprocess.run([sys.executable, "-c", CLI, "--library", str(root), "-v", "-v", "search", QUERY, "--json",
                           "--limit", "6", "--device", "cpu", "--precision", "fp32", *extra],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    return [(r["path"], round(r["score"], 5)) for r in json.loads(proc.stdout)], proc.stderr


def loads(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "photoclip.embedder" in line and "loaded" in line]


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_cli_search_uses_a_watchers_loaded_model_without_importing_torch(indexed):
    lib = indexed
    sock = lib.root / warm.SOCKET_NAME
    cold, stderr = cli_search(lib.root)
    assert "torch imported: True" in stderr and len(loads(stderr)) == 1  # nothing to ask: loaded as before
    assert cold[0][0].endswith(os.path.join("a", "img0.jpg"))  # the red circle

    stop = threading.Event()
    out = open(os.devnull, "w")
    watching = threading.Thread(target=watch_forever, args=(lib,), kwargs={"stop": stop, "out": out}, daemon=True)
    watching.start()
    try:
        wait_for(sock.exists)
        assert stat.S_ISSOCK(os.lstat(sock).st_mode) and stat.S_IMODE(os.lstat(sock).st_mode) == 0o600
        got, stderr = cli_search(lib.root)
        assert got == cold  # the same photos, the same order, the same scores
        status, _ = run_cli(lib.root, "status")
        assert f"use the model loaded by process {os.getpid()} (fp32 on cpu)" in status
        assert "text vectors from the warm model" in stderr, stderr
        assert "torch imported: False" in stderr and not loads(stderr), stderr
    finally:
        stop.set()
        watching.join(30)
        out.close()
    assert not sock.exists()  # the watcher took its socket away when it stopped


def test_the_warm_vectors_are_the_models_own(indexed):
    lib = indexed
    lib.embedder()
    assert lib.serve_warm()
    want = lib.embedder().encode_texts([QUERY, "green"])
    wanted = warm.model_request(lib.model_key, "cpu", "fp32", "torch")
    got = warm.encode_texts(lib.root, [QUERY, "green"], wanted)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    fresh = type(lib)(lib.root, device="cpu", precision="fp32")  # another process's Library: no model
    try:
        encoder = fresh._text_encoder()
        np.testing.assert_array_equal(encoder.encode_text(QUERY), want[0])
        assert encoder.used_warm and not fresh.embedder_loaded()
    finally:
        fresh.close()


def test_a_server_holding_another_model_is_not_used(indexed, tiny_config):
    lib = indexed
    cold = [(r.path, round(r.score, 5)) for r in lib.search(QUERY, limit=6)]
    other = type(lib)(lib.root, model=tiny_config, pretrained="random", device="cpu", precision="fp32")
    try:
        other.embedder()
        assert other.serve_warm()
        with pytest.raises(warm.WarmUnavailable, match="another model"):
            warm.encode_texts(lib.root, [QUERY], warm.model_request(lib.model_key, "cpu", "fp32", "torch"))
        got, stderr = cli_search(lib.root)
        assert got == cold
        assert "not served: another model" in stderr and len(loads(stderr)) == 1, stderr
        assert "torch imported: True" in stderr
    finally:
        other.close()


def test_another_precision_is_not_used(tiny_config):
    spec = ModelSpec(tiny_config, "random")
    fp32 = Embedder(spec, "cpu", 1, precision="fp32", text_only=True)
    same = warm.model_request(spec.identity, "cpu", "fp32", "torch")
    assert warm.serves(fp32, same) is None
    assert warm.serves(fp32, dict(same, precision="bf16")) is not None
    assert warm.serves(fp32, dict(same, identity="another/model")) is not None
    # the same request on this machine is the same plan: "auto" is served by a model loaded for "auto"
    auto = Embedder(spec, "auto", 1, precision="auto", text_only=True)
    assert warm.serves(auto, warm.model_request(spec.identity, "auto", "auto", "torch")) is None


def test_a_stale_socket_is_replaced_and_a_live_one_is_left_alone(indexed):
    lib = indexed
    path = lib.root / warm.SOCKET_NAME
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(path))  # what a crashed app leaves behind: a socket file nobody listens on
    crashed.close()
    assert path.exists()
    (lib.root / warm.WHERE_NAME).write_text(str(lib.root / "gone.sock"), "utf-8")  # and a pointer to nowhere
    lib.embedder()
    assert lib.serve_warm()
    assert not (lib.root / warm.WHERE_NAME).exists()
    wanted = warm.model_request(lib.model_key, "cpu", "fp32", "torch")
    assert warm.encode_texts(lib.root, [QUERY], wanted).shape[0] == 1
    second = type(lib)(lib.root, device="cpu", precision="fp32")
    try:
        second.embedder()
        assert not second.serve_warm()  # one server a library: the first keeps it
        assert warm.encode_texts(lib.root, [QUERY], wanted).shape[0] == 1
    finally:
        second.close()
    assert path.exists()  # closing the second did not take the first's socket
    lib.stop_serving()
    assert not path.exists()
    with pytest.raises(warm.WarmUnavailable):
        warm.encode_texts(lib.root, [QUERY], wanted)


def test_a_library_path_too_long_for_a_socket_uses_a_private_folder(make_library, photo_folder, trained_clip, tmp_path):
    config, weights = trained_clip
    root = tmp_path / ("a-library-folder-with-a-long-name-" * 3)
    assert len(os.fsencode(str(root / warm.SOCKET_NAME))) > warm.MAX_SOCKET_PATH
    lib = make_library(root, model=config, pretrained=weights, precision="fp32")
    lib.embedder()
    assert lib.serve_warm()
    where = Path((root / warm.WHERE_NAME).read_text("utf-8"))
    folder = os.lstat(where.parent)
    assert stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == os.getuid()
    assert stat.S_IMODE(os.lstat(where).st_mode) == 0o600
    wanted = warm.model_request(lib.model_key, "cpu", "fp32", "torch")
    np.testing.assert_array_equal(warm.encode_texts(root, [QUERY], wanted), lib.embedder().encode_texts([QUERY]))
    lib.stop_serving()
    assert not where.exists() and not (root / warm.WHERE_NAME).exists()


def test_peer_uid_is_this_users():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        assert warm.peer_uid(a) == os.getuid() and warm.same_user(warm.peer_uid(a))
    assert not warm.same_user(None) and not warm.same_user(os.getuid() + 1)


OTHER_USER = ("import json, socket, sys\n"
              "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
              "try:\n"
              "    s.connect(sys.argv[1])\n"
              "except OSError as exc:\n"
              "    print(json.dumps({'connect': exc.errno})); sys.exit()\n"
              "print(s.makefile().readline().strip())\n")  # the server speaks first: a refusal


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_is_refused(indexed):
    lib = indexed
    lib.embedder()
    assert lib.serve_warm()
    path = str(lib.root / warm.SOCKET_NAME)

    nobody = {"user": 65534, "group": 65534, "extra_groups": [], "cwd": "/", "capture_output": True, "text": True,
              "timeout": 60}
    python = None
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        try:  # the other user needs an interpreter it may run (this one may be in root's home)
            if subprocess.run([candidate, "-c", "import json, socket"], **nobody).returncode == 0:
                python = candidate
                break
        except OSError:
            continue
    if python is None:
        pytest.skip("no Python interpreter another user may run")

    def as_nobody() -> dict:
        proc = subprocess.run([python, "-c", OTHER_USER, path], **nobody)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    # the folders opened to others for this test: the socket's own mode is all that keeps them out
    modes = {p: os.stat(p).st_mode for p in [lib.root, *lib.root.parents]}
    for folder, mode in modes.items():
        os.chmod(folder, mode | 0o005)
    try:
        assert as_nobody() == {"connect": errno.EACCES}  # mode 0600: no connect at all
        os.chmod(path, 0o666)  # and if it could connect, the server itself refuses it
        answer = as_nobody()
        assert answer["ok"] is False and "another user" in answer["error"] and "vectors" not in answer
    finally:
        for folder, mode in modes.items():
            os.chmod(folder, stat.S_IMODE(mode))


def test_a_watcher_serves_once_the_process_that_served_before_is_gone(indexed, monkeypatch):
    import io

    import photoclip.core.watcher as watcher

    lib = indexed
    app = type(lib)(lib.root, device="cpu", precision="fp32")  # the app, serving first
    app.embedder()
    assert app.serve_warm()
    monkeypatch.setattr(watcher, "SERVE_RETRY_S", 0.2)
    stop = threading.Event()
    out = io.StringIO()
    watching = threading.Thread(target=watch_forever, args=(lib,), kwargs={"stop": stop, "out": out}, daemon=True)
    watching.start()
    wanted = warm.model_request(lib.model_key, "cpu", "fp32", "torch")
    try:
        wait_for(lambda: "Watching" in out.getvalue())
        time.sleep(0.5)
        assert not lib._warm_server.running  # the app's socket is live: the watcher leaves it be
        assert "use this process's loaded model" not in out.getvalue()
        app.close()  # the app quits: the watcher takes over
        app = None
        wait_for(lambda: lib._warm_server.running, timeout=30)
        assert warm.encode_texts(lib.root, [QUERY], wanted).shape[0] == 1
    finally:
        stop.set()
        watching.join(30)
        if app is not None:
            app.close()


def run_cli(root: Path, *args: str) -> tuple[str, str]:
    proc = subprocess.run([sys.executable, "-c", CLI, "--library", str(root), "-v", "-v", *args, "--device", "cpu",
                           "--precision", "fp32"], capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def test_cli_tag_and_like_tag_use_a_watchers_loaded_model(indexed, tmp_path):
    lib = indexed
    stop = threading.Event()
    out = open(os.devnull, "w")
    watching = threading.Thread(target=watch_forever, args=(lib,), kwargs={"stop": stop, "out": out}, daemon=True)
    watching.start()
    try:
        wait_for((lib.root / warm.SOCKET_NAME).exists)
        run_cli(lib.root, "tagsets", "add", "shapes", "circle", "square")
        stdout, stderr = run_cli(lib.root, "tag", "--set", "shapes")
        assert "Tagged 12 photo(s)" in stdout
        assert "tag-set prompts encoded by the warm model" in stderr, stderr
        assert "torch imported: False" in stderr and not loads(stderr), stderr
        stdout, stderr = run_cli(lib.root, "search", "--like-tag", "shapes:circle", "--json", "--limit", "12")
        like = [(r["path"], round(r["score"], 5)) for r in json.loads(stdout)]
        assert len(like) == 12
        assert "torch imported: False" in stderr and not loads(stderr), stderr
    finally:
        stop.set()
        watching.join(30)
        out.close()
    warm_csv, cold_csv = tmp_path / "warm.csv", tmp_path / "cold.csv"
    lib.export_tags(str(warm_csv))
    # the same, computed here with the model itself (the label embeddings encoded again)
    for cached in (lib.root / "label-embeddings").glob("*.npy"):
        cached.unlink()
    lib.stop_serving()
    assert lib.tag(["shapes"], retag=True) == 12
    lib.export_tags(str(cold_csv))
    rows = [line for line in warm_csv.read_text("utf-8").splitlines() if ",shapes," in line]
    assert len(rows) == 12 and rows == [line for line in cold_csv.read_text("utf-8").splitlines()
                                        if ",shapes," in line]
    assert like == [(r.path, round(r.score, 5)) for r in lib.like_tag("shapes", "circle", limit=12)]


def test_requests_are_answered_right_while_the_model_embeds_photos(indexed, trained_clip):
    """The server encodes on its own threads while the indexer uses the same model: the vectors
    are still exactly the model's (checked against a separate load of it)."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    lib = indexed
    embedder = lib.embedder()
    assert lib.serve_warm()
    wanted = warm.model_request(lib.model_key, "cpu", "fp32", "torch")
    texts = [f"a photo of {n} red circles on a blue square" for n in range(40)]
    busy = threading.Event()
    stop = threading.Event()

    def index_photos() -> None:
        pixels = torch.randint(0, 256, (8, 3, embedder.image_size, embedder.image_size), dtype=torch.uint8)
        while not stop.is_set():
            embedder.encode_images(pixels)
            busy.set()

    indexing = threading.Thread(target=index_photos, daemon=True)
    indexing.start()
    try:
        busy.wait(30)
        with ThreadPoolExecutor(2 * warm.MAX_CLIENTS) as pool:  # more clients than it serves at once
            got = list(pool.map(lambda t: warm.encode_texts(lib.root, [t], wanted)[0], texts))
    finally:
        stop.set()
        indexing.join(30)
    reference = Embedder(ModelSpec(*trained_clip), "cpu", 1, precision="fp32", text_only=True).encode_texts(texts)
    np.testing.assert_allclose(np.stack(got), reference, rtol=0, atol=1e-6)


def test_without_local_sockets_nothing_is_served_and_search_loads_its_model(indexed, monkeypatch):
    lib = indexed
    cold = [(r.path, round(r.score, 5)) for r in lib.search(QUERY, limit=6)]
    monkeypatch.delattr(socket, "AF_UNIX")  # as on Windows
    assert not warm.available() and not lib.serve_warm()
    assert not (lib.root / warm.SOCKET_NAME).exists()
    fresh = type(lib)(lib.root, device="cpu", precision="fp32")
    try:
        assert [(r.path, round(r.score, 5)) for r in fresh.search(QUERY, limit=6)] == cold
        assert fresh.warm_model() is None
    finally:
        fresh.close()
