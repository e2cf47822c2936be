"""A warm model: the process that holds a loaded model on a library (the app, ``photoclip watch``)
encodes texts for the one-shot commands run on that library (``photoclip search "..."``), so they
neither import torch nor load a model.

The server listens on a local (AF_UNIX) stream socket, ``<library>/warm.sock`` (where that path is
too long for a socket address or the folder's file system has no sockets: a socket in a private
runtime folder, its path written to ``<library>/warm.where``). Only the same user is served: the
socket file is mode 0600, and each side checks the other's uid (SO_PEERCRED on Linux,
LOCAL_PEERCRED on macOS; where neither can be read, e.g. on a BSD, nothing is served). One JSON
request per connection, one JSON answer: the client says which model and precision it would load
itself, and gets the warm model's own float32 vectors only when that is the model the server
holds. Any failure (no server, a stale socket, a timeout, another model) and the client loads the
model as before. Where AF_UNIX is missing (Windows) there is no server and every command loads
its model. Also used for tagging (tag sets' prompts) and ``photoclip status``.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import logging
import os
import select
import socket
import stat
import struct
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

log = logging.getLogger("photoclip.warm")

SOCKET_NAME = "warm.sock"
WHERE_NAME = "warm.where"  # the socket's path, when it is not in the library folder
PROTOCOL = 1
CONNECT_TIMEOUT_S = 0.2
RESPONSE_TIMEOUT_S = 5.0   # a text on a model busy indexing takes tens of ms; loading it, seconds
MAX_REQUEST = 1 << 20      # bytes of one request
MAX_TEXTS = 1024
MAX_TEXT_CHARS = 10_000
MAX_SOCKET_PATH = 100      # bytes: sun_path is 108 on Linux, 104 on macOS (with its NUL)
MAX_CLIENTS = 4            # requests served at once; more wait in the listen backlog


class WarmUnavailable(Exception):
    """No warm model answered: the caller loads the model itself."""


def available() -> bool:
    """Whether this platform has local sockets whose peer's user can be told (not Windows)."""
    return hasattr(socket, "AF_UNIX") and sys.platform != "win32"


def enabled() -> bool:
    """Off with PHOTOCLIP_WARM=0 (every command then loads its own model)."""
    return available() and os.environ.get("PHOTOCLIP_WARM", "1").strip().lower() not in ("0", "no", "off", "false")


# -- where the socket is ---------------------------------------------------------------------------

def library_socket(root: Path) -> Path:
    return Path(root) / SOCKET_NAME


def _private_dir() -> Path:
    """A folder only this user can use: $XDG_RUNTIME_DIR/photoclip, else <tmp>/photoclip-<uid>
    (made 0700; refused unless it is a real folder owned by this user with no access for others)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "photoclip" if runtime and os.path.isdir(runtime) else \
        Path(tempfile.gettempdir()) / f"photoclip-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise WarmUnavailable(f"cannot make {base}: {exc}") from exc
    st = os.lstat(base)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise WarmUnavailable(f"{base} is not a private folder of this user")
    return base


def fallback_socket(root: Path) -> Path:
    """The socket of a library whose own folder cannot hold it, named by the library's path."""
    key = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:20]
    return _private_dir() / f"{key}.sock"


def _fits(path: Path) -> bool:
    return len(os.fsencode(str(path))) <= MAX_SOCKET_PATH


def candidates(root: Path) -> list[Path]:
    """Where a client looks for the library's server, in order."""
    found = []
    own = library_socket(root)
    if _fits(own):
        found.append(own)
    try:
        written = (Path(root) / WHERE_NAME).read_text("utf-8").strip()
    except OSError:
        written = ""
    if written and os.path.isabs(written) and _fits(Path(written)):
        found.append(Path(written))
    return found


# -- whose socket --------------------------------------------------------------------------------

def peer_uid(sock: socket.socket) -> Optional[int]:
    """The user id of the process at the other end of a connected AF_UNIX socket; None where it
    cannot be read on this platform."""
    try:
        if hasattr(socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
            data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            return struct.unpack("3i", data)[1]
        if sys.platform == "darwin":
            # getsockopt(SOL_LOCAL, LOCAL_PEERCRED): struct xucred {u_int cr_version; uid_t cr_uid;
            # short cr_ngroups; gid_t cr_groups[16]}, 76 bytes, cr_version XUCRED_VERSION (0)
            data = sock.getsockopt(getattr(socket, "SOL_LOCAL", 0), getattr(socket, "LOCAL_PEERCRED", 1), 76)
            version, uid = struct.unpack_from("=II", data)
            return uid if version == 0 else None
    except OSError as exc:
        log.debug("peer credentials unreadable: %s", exc)
    return None


def same_user(uid: Optional[int]) -> bool:
    """Whether a peer of this uid may be served (or trusted): this user only; unknown: no."""
    return uid is not None and uid == os.getuid()


def _is_own_socket(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid()


# -- the request ---------------------------------------------------------------------------------

def model_request(identity: str, device: str, precision: str, image_backend: str) -> dict:
    """What a client would load itself: the model's identity (architecture and weights, a weights
    file by its content) and the device, precision and image backend it asks for."""
    return {"identity": identity, "device": (device or "auto").lower(), "precision": (precision or "auto").lower(),
            "image_backend": image_backend or "torch"}


def serves(embedder, wanted: dict) -> Optional[str]:
    """None when ``embedder`` gives the vectors the client would compute itself, else why not.
    The same model identity, and either the same request (device, precision, backend: the same
    plan on this machine) or what the client names explicitly is what the server runs."""
    if embedder.identity != wanted.get("identity"):
        return f"another model ({embedder.identity})"
    asked = (wanted.get("device"), wanted.get("precision"), wanted.get("image_backend"))
    if asked == getattr(embedder, "requested", None):
        return None
    if wanted.get("device") == embedder.device and wanted.get("precision") == embedder.precision:
        return None
    return f"another device or precision ({embedder.device}, {embedder.precision})"


def _read_line(conn: socket.socket, limit: int) -> bytes:
    data = bytearray()
    while b"\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("request too long")
    return bytes(data.split(b"\n", 1)[0])


# -- the server ----------------------------------------------------------------------------------

class WarmServer:
    """Serves text vectors from ``get_embedder()`` (the model a library holds now, or None) on
    the library's socket, from a background thread. ``start`` returns False where it does not
    serve (no AF_UNIX, another live server on this library, no place for the socket)."""

    def __init__(self, root: Path, get_embedder: Callable[[], object]) -> None:
        self.root = Path(root)
        self.get_embedder = get_embedder
        self.path: Optional[Path] = None
        self._sock: Optional[socket.socket] = None
        self._ident: Optional[tuple[int, int]] = None
        self._wake_r, self._wake_w = None, None
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self.served = 0  # requests answered with vectors (for tests and the log)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        if self.running:
            return True
        if not available():
            return False
        sock = None
        own = library_socket(self.root)
        if _fits(own):
            try:
                sock = self._bind(own)
                self._drop_stale_where()
            except _AlreadyServed:
                return False
            except OSError as exc:  # e.g. a network file system without sockets
                log.info("no warm-model socket in %s (%s); using a private runtime folder", self.root, exc)
        if sock is None:
            try:
                other = fallback_socket(self.root)
                sock = self._bind(other)
                _write_atomic(self.root / WHERE_NAME, str(other))
            except _AlreadyServed:
                return False
            except (OSError, WarmUnavailable) as exc:
                log.warning("the warm model is not served: %s", exc)
                return False
        self._sock = sock
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="photoclip-warm", daemon=True)
        self._thread.start()
        log.info("serving text vectors to one-shot commands on %s", self.path)
        return True

    def _bind(self, path: Path) -> socket.socket:
        if os.path.lexists(path):
            if _alive(path):
                log.debug("another process serves this library's warm model (%s)", path)
                raise _AlreadyServed()
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
            log.info("removing a stale warm-model socket (%s)", path)
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(path))
            # before listen(): until then a connect is refused, whatever the umask made the mode
            os.chmod(path, 0o600)
            sock.listen(16)
        except BaseException:
            sock.close()
            raise
        st = os.lstat(path)
        self.path, self._ident = path, (st.st_dev, st.st_ino)
        return sock

    def _drop_stale_where(self) -> None:
        """A pointer to a socket a crashed process left elsewhere goes (the library's own serves)."""
        where = self.root / WHERE_NAME
        try:
            written = where.read_text("utf-8").strip()
        except OSError:
            return
        if not (written and _alive(Path(written))):
            try:
                where.unlink()
            except OSError:
                pass

    def stop(self, timeout: float = 2.0) -> None:
        if self._sock is None:
            return
        self._stopping.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None
        for s in (self._sock, self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass
        self._sock = None
        self._remove_files()

    def _remove_files(self) -> None:
        """The socket (and the pointer to it), only while they are still this server's."""
        path = self.path
        try:
            st = os.lstat(path)
            if (st.st_dev, st.st_ino) == self._ident:
                os.unlink(path)
        except OSError:
            pass
        where = self.root / WHERE_NAME
        try:
            if where.read_text("utf-8").strip() == str(path):
                where.unlink()
        except OSError:
            pass

    def _loop(self) -> None:
        listener, wake = self._sock, self._wake_r
        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([listener, wake], [], [])
            except (OSError, ValueError):
                return
            if wake in ready or self._stopping.is_set():
                return
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            if not self._wait_for_slot():
                conn.close()  # busy for long (or stopping): the client loads its own model
                continue
            threading.Thread(target=self._serve, args=(conn,), name="photoclip-warm-client", daemon=True).start()

    def _wait_for_slot(self) -> bool:
        """At most MAX_CLIENTS requests at once; the next waits (in the listen backlog) for one."""
        for _ in range(int(RESPONSE_TIMEOUT_S / 0.1)):
            if self._slots.acquire(timeout=0.1):
                return True
            if self._stopping.is_set():
                return False
        return False

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(RESPONSE_TIMEOUT_S)
                uid = peer_uid(conn)
                if not same_user(uid):
                    log.warning("refused a warm-model request from user %s", uid)
                    _send(conn, {"ok": False, "error": "refused: another user"})
                    return
                try:
                    request = json.loads(_read_line(conn, MAX_REQUEST))
                    answer = self.answer(request)
                except (ValueError, TypeError) as exc:
                    answer = {"ok": False, "error": f"bad request: {exc}"}
                _send(conn, answer)
        except OSError as exc:
            log.debug("warm-model client went away: %s", exc)
        finally:
            self._slots.release()

    def answer(self, request: dict) -> dict:
        if not isinstance(request, dict) or request.get("protocol") != PROTOCOL:
            return {"ok": False, "error": f"protocol {PROTOCOL} expected"}
        op = request.get("op")
        if op not in ("encode_texts", "describe"):
            return {"ok": False, "error": f"unknown op {op!r}"}
        texts = request.get("texts")
        if op == "encode_texts" and (
                not isinstance(texts, list) or not texts or len(texts) > MAX_TEXTS
                or not all(isinstance(t, str) and len(t) <= MAX_TEXT_CHARS for t in texts)):
            return {"ok": False, "error": f"texts: a list of 1 to {MAX_TEXTS} strings"}
        embedder = self.get_embedder()
        if embedder is None:
            return {"ok": False, "error": "no model loaded"}
        wanted = request.get("model")
        why = serves(embedder, wanted) if isinstance(wanted, dict) else "no model named"
        if why:
            return {"ok": False, "error": f"not served: {why}", "identity": embedder.identity}
        described = {"ok": True, "identity": embedder.identity, "device": embedder.device,
                     "precision": embedder.precision, "dim": int(embedder.dim),
                     "logit_scale": float(embedder.logit_scale), "pid": os.getpid()}
        if op == "describe":
            return described
        try:
            vectors = np.ascontiguousarray(embedder.encode_texts(texts), dtype="<f4")
        except Exception as exc:  # noqa: BLE001 - the client loads its own model; this process goes on
            log.warning("a warm-model request failed: %s", exc, exc_info=True)
            return {"ok": False, "error": f"encoding failed: {exc}"}
        self.served += 1
        return dict(described, shape=list(vectors.shape), vectors=base64.b64encode(vectors.tobytes()).decode("ascii"))


class _AlreadyServed(Exception):
    pass


def _alive(path: Path) -> bool:
    """Whether a server answers on this socket (a connect that fails: a crashed process's file)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(CONNECT_TIMEOUT_S)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _send(conn: socket.socket, answer: dict) -> None:
    conn.sendall(json.dumps(answer).encode("utf-8") + b"\n")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


# -- the client ----------------------------------------------------------------------------------

def encode_texts(root: Path, texts: Sequence[str], wanted: dict, *,
                 connect_timeout: float = CONNECT_TIMEOUT_S,
                 response_timeout: float = RESPONSE_TIMEOUT_S) -> np.ndarray:
    """(n, dim) float32 unit vectors of ``texts`` from the warm model on the library ``root``, if
    a server of this user holds the model ``wanted`` (:func:`model_request`); else WarmUnavailable."""
    texts = list(texts)
    chunks = [_request(root, {"op": "encode_texts", "texts": texts[i:i + MAX_TEXTS]}, wanted,
                       connect_timeout, response_timeout)[1] for i in range(0, len(texts), MAX_TEXTS)]
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def describe(root: Path, wanted: dict) -> dict:
    """The warm model's identity, device, precision, dim and logit_scale, if a server of this user
    holds the model ``wanted``; else WarmUnavailable."""
    return _request(root, {"op": "describe"}, wanted, CONNECT_TIMEOUT_S, RESPONSE_TIMEOUT_S)[0]


def _request(root: Path, request: dict, wanted: dict, connect_timeout: float,
             response_timeout: float) -> tuple[dict, Optional[np.ndarray]]:
    if not enabled():
        raise WarmUnavailable("off here")
    reasons = []
    for path in candidates(root):
        if not _is_own_socket(path):
            continue
        try:
            return _ask(path, request, wanted, connect_timeout, response_timeout)
        except WarmUnavailable as exc:
            reasons.append(f"{path}: {exc}")
    raise WarmUnavailable("; ".join(reasons) or "no server")


def _ask(path: Path, request: dict, wanted: dict, connect_timeout: float,
         response_timeout: float) -> tuple[dict, Optional[np.ndarray]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(connect_timeout)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise WarmUnavailable(f"connect: {exc}") from None
        if not same_user(peer_uid(sock)):
            raise WarmUnavailable("the server is another user's")
        sock.settimeout(response_timeout)
        request = dict(request, protocol=PROTOCOL, model=wanted)
        try:
            sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
            answer = json.loads(_read_line(sock, 64 * MAX_REQUEST))
        except (OSError, ValueError) as exc:
            raise WarmUnavailable(f"no answer: {exc}") from None
    finally:
        sock.close()
    if not isinstance(answer, dict) or not answer.get("ok"):
        raise WarmUnavailable(str(answer.get("error") if isinstance(answer, dict) else answer))
    if answer.get("identity") != wanted.get("identity"):
        raise WarmUnavailable(f"answered for another model ({answer.get('identity')})")
    if request["op"] == "describe":
        try:
            info = {"identity": answer["identity"], "device": str(answer["device"]),
                    "precision": str(answer["precision"]), "dim": int(answer["dim"]),
                    "logit_scale": float(answer["logit_scale"]), "pid": answer.get("pid")}
        except (KeyError, TypeError, ValueError) as exc:
            raise WarmUnavailable(f"a malformed answer: {exc}") from None
        return info, None
    texts = request["texts"]
    try:
        n, dim = (int(x) for x in answer["shape"])
        vectors = np.frombuffer(base64.b64decode(answer["vectors"], validate=True), dtype="<f4")
        vectors = vectors.reshape(n, dim).astype(np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise WarmUnavailable(f"a malformed answer: {exc}") from None
    if n != len(texts) or not np.all(np.isfinite(vectors)):
        raise WarmUnavailable("a malformed answer: wrong count or values")
    log.debug("text vectors from the warm model of process %s (%s, %s on %s)", answer.get("pid"),
              answer.get("identity"), answer.get("precision"), answer.get("device"))
    return answer, vectors


class WarmTextEncoder:
    """Encodes query texts with a warm model on the library, and where none answers, with
    ``fallback()`` (the model this process loads itself): always the real vectors."""

    has_image_tower = False

    def __init__(self, root: Path, wanted: dict, fallback: Callable[[], object]) -> None:
        self.root = Path(root)
        self.wanted = wanted
        self.identity = wanted["identity"]
        self._fallback = fallback
        self.used_warm = False  # whether the last encode came from a warm model

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if texts:
            try:
                vectors = encode_texts(self.root, texts, self.wanted)
                self.used_warm = True
                return vectors
            except WarmUnavailable as exc:
                log.debug("no warm model (%s); loading the model", exc)
        self.used_warm = False
        return self._fallback().encode_texts(texts)

    def encode_text(self, text: str) -> np.ndarray:
        return self.encode_texts([text])[0]


class WarmTextModel(WarmTextEncoder):
    """A warm model as tagging uses one (its texts' vectors, dim, precision, logit scale: the
    label embeddings of tag sets), described by the server first; where it stops answering,
    ``fallback()`` (this process's own load of the same model) encodes."""

    def __init__(self, root: Path, wanted: dict, info: dict, fallback: Callable[[], object]) -> None:
        super().__init__(root, wanted, fallback)
        self.device = info["device"]
        self.precision = info["precision"]
        self.dim = info["dim"]
        self.logit_scale = info["logit_scale"]

    @classmethod
    def connect(cls, root: Path, wanted: dict, fallback: Callable[[], object]) -> "WarmTextModel":
        """WarmUnavailable where no server of this user holds the model ``wanted``."""
        return cls(root, wanted, describe(root, wanted), fallback)
