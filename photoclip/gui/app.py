"""The desktop app: QApplication, wiring of services, crash handler, shutdown.

``run_app(argv)`` is what ``photoclip`` with no arguments runs. ``create_main_window(library)``
builds a fully wired window (used by run_app and by the tests).

Startup never waits for torch: the window is shown first; the worker thread then loads the model
(or the first-run banner offers to download it) and rescans the library folders.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Optional, Sequence

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from photoclip import __version__, resources
from photoclip.core import paths

from .actions import Actions
from .browser import Browser
from .library_jobs import LibraryJobs, model_size_text
from .main_window import MainWindow
from .thumbnails import ThumbnailLoader
from .viewer import ImageDecoder
from .watching import LibraryWatcher, WatchOptions
from .workers import QueryRunner, Worker, thaw_heap

log = logging.getLogger("photoclip.gui.app")

ORGANIZATION = "photoclip"
APPLICATION = "photoclip"
GUI_SETTINGS_ENV = "PHOTOCLIP_GUI_SETTINGS"


def gui_settings() -> QSettings:
    """Window state storage: $PHOTOCLIP_GUI_SETTINGS, else <$PHOTOCLIP_HOME>/gui.ini, else the
    platform's native settings for organisation "photoclip"."""
    path = os.environ.get(GUI_SETTINGS_ENV)
    if not path and os.environ.get(paths.HOME_ENV):
        path = os.path.join(os.path.expanduser(os.environ[paths.HOME_ENV]), "gui.ini")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


#: how long closing the window waits for background work to stop (the process exits within ~2 s)
EXIT_WAIT_S = 1.5


class Services:
    """The background machinery one window uses; ``shutdown`` stops it in order."""

    def __init__(self, library, *, thumbnail_threads: int = 2, watch: Optional[WatchOptions] = None) -> None:
        self.library = library
        self.worker = Worker()
        self.queries = QueryRunner()
        self.thumbnails = ThumbnailLoader(Path(library.root) / "thumbnails", threads=thumbnail_threads)
        self.decoder = ImageDecoder()  # the viewer's; its thread starts at the first photo viewed
        self.watcher = LibraryWatcher(library.paths_under, watch)
        self.watcher.enabled = bool(getattr(library.settings, "watch", True))
        self.closed = False

    def shutdown(self, timeout_s: float = EXIT_WAIT_S) -> bool:
        """Stop watching, cancel the running job, stop every thread, save and close the library,
        all within ``timeout_s`` together: a step that cannot be interrupted (a model file
        loading) is left running, and run_app leaves without it."""
        if self.closed:
            return True
        self.closed = True
        deadline = time.monotonic() + timeout_s

        def left() -> float:
            return max(0.05, deadline - time.monotonic())

        self.watcher.close(min(left(), 0.5))
        self.worker.cancel()
        stopped = self.worker.stop(left())
        stopped = self.queries.stop(left()) and stopped
        self.thumbnails.close(left())
        self.decoder.close(left())
        if stopped:
            self.library.close()
        else:  # every write is a transaction: the library opens as it was at the last one
            log.warning("a background step was still running after %.1f s; not waiting for it", timeout_s)
        return stopped

    def threads_running(self) -> bool:
        return (self.worker.is_running() or self.queries.is_running() or self.watcher.is_running()
                or self.thumbnails.is_running() or self.decoder.is_running())


#: an index with more vectors than this (whose save would hold the GIL > ~50 ms) is saved at close
HOLD_INDEX_SAVES_ABOVE = 10_000


def create_main_window(library, settings: Optional[QSettings] = None, *, rescan_on_start: bool = True,
                       thumbnail_threads: int = 2, watch: Optional[WatchOptions] = None,
                       freeze_heap: bool = False) -> MainWindow:
    """A wired MainWindow over ``library``; its services stop when the window closes.

    ``rescan_on_start``: once the model is known to be there, reconcile the library with the disk
    (what changed while the app was closed). While the window is open every library folder is
    watched (unless Settings.watch is off), with ``watch``'s timings. ``freeze_heap`` (the app's
    choice): once the model is loaded, the garbage collector's full passes skip what is alive then
    (workers.freeze_heap), until the window closes.
    """
    # While the window is open, a big search index is written only when the library closes:
    # hnswlib holds the GIL while it writes (0.5 s for 100,000 photos), which would stall the window.
    library.hold_index_saves_above(HOLD_INDEX_SAVES_ABOVE)
    services = Services(library, thumbnail_threads=thumbnail_threads, watch=watch)
    window = MainWindow(services.thumbnails, settings if settings is not None else gui_settings(),
                        models_dir=str(paths.models_dir()), decoder=services.decoder)
    browser = Browser(library, services.queries, window)
    browser.resultsShown.connect(window.resultsShown)
    jobs = LibraryJobs(window, library, services.worker, browser, services.watcher, freeze_heap=freeze_heap)
    actions = Actions(window, library, jobs, browser)
    window.services = services
    window.browser = browser
    window.jobs = jobs
    window.actions = actions
    window.library = library
    # Qt adds the application's display name ("— photoclip") to a window title itself.
    if os.environ.get(paths.HOME_ENV):
        window.setWindowTitle(paths.display_path(str(library.root)))

    def startup_checked(ready: bool) -> None:
        if ready:
            jobs.load_model(quiet=True)
            if rescan_on_start and browser.folder_count:
                jobs.index(None)
        else:
            label = library.spec.label
            window.banner.show_needed(label, model_size_text(label))
            if rescan_on_start and browser.folder_count:
                jobs.index(None)  # without a model: new photos are listed, to browse

    window.on_startup_checked = startup_checked
    def close() -> None:
        services.shutdown()
        if freeze_heap:
            thaw_heap()

    window.on_close = close
    browser.refresh_results()  # first: the photos are what a user waits for
    browser.refresh_sidebar()
    browser.check_model()
    return window


# ---- crash handling and logging -------------------------------------------------------------------
def setup_logging(log_dir: Optional[Path]) -> Optional[Path]:
    root = logging.getLogger("photoclip")
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        stream = logging.StreamHandler()
        stream.setLevel(logging.WARNING)
        stream.setFormatter(fmt)
        root.addHandler(stream)
    if log_dir is None:
        return None
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "photoclip.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(fmt)
    root.addHandler(handler)
    return path


def install_crash_handler(log_path: Optional[Path]) -> None:
    """Bugs (uncaught exceptions in slots or threads) are logged with their traceback and shown once."""
    shown = [False]

    def report(exc_type, exc, tb, where: str = "") -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.critical("uncaught exception%s:\n%s", f" in {where}" if where else "", text)
        app = QApplication.instance()
        if app is None or shown[0] or threading.current_thread() is not threading.main_thread():
            return
        shown[0] = True
        where_log = f"\n\nThe details are in {log_path}." if log_path else ""
        box = QMessageBox(QMessageBox.Icon.Critical, "photoclip hit a bug",
                          f"Something went wrong: {exc_type.__name__}: {exc}{where_log}\n\n"
                          "Your library is safe; you can keep working or restart photoclip.")
        box.setDetailedText(text)
        box.open()

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        report(exc_type, exc, tb)

    def thread_hook(args) -> None:
        report(args.exc_type, args.exc_value, args.exc_traceback, args.thread.name if args.thread else "")

    sys.excepthook = hook
    threading.excepthook = thread_hook


def app_icon() -> QIcon:
    icon = QIcon()
    try:
        for _size, path in resources.icon_paths().items():
            icon.addFile(str(path))
        icon.addFile(str(resources.icon_path()))
    except OSError as exc:  # resources.ResourceNotFound among them
        log.warning("app icon missing: %s", exc)
    return icon


def stylesheet() -> str:
    try:
        return resources.stylesheet_path().read_text(encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - a missing stylesheet only makes the app plainer
        log.warning("stylesheet not loaded: %s", exc)
        return ""


def make_application(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("photoclip")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(resources.APP_ID)
    app.setWindowIcon(app_icon())
    css = stylesheet()
    if css:
        app.setStyleSheet(css)
    return app


def run_app(argv: Optional[list[str]] = None, *, library_root: Optional[str] = None, model: Optional[str] = None,
            pretrained: Optional[str] = None, open_photos: Sequence[str] = ()) -> int:
    """Run the desktop app until its window closes; returns the exit code. ``open_photos``: the
    photos it was asked to open (``photoclip PHOTO``, "Open with"); the first is shown."""
    argv = list(sys.argv if argv is None else argv)
    argv, from_argv = _take_library_option(argv)
    library_root = library_root or from_argv
    app = make_application(argv)
    root = paths.library_dir(library_root)
    log_path = setup_logging(root / "logs")
    install_crash_handler(log_path)
    from photoclip.core.errors import PhotoclipError
    from photoclip.core.library import Library

    try:
        library = Library(root, model=model, pretrained=pretrained)
    except PhotoclipError as exc:
        QMessageBox.critical(None, "photoclip cannot open the library", str(exc))
        return 1
    window = create_main_window(library, freeze_heap=True)
    probe = os.environ.get(STARTUP_REPORT_ENV)
    if probe:
        _StartupProbe(window, probe)
    window.show()
    if open_photos:
        window.browser.reveal(os.path.abspath(open_photos[0]))
    # Ctrl+C in the terminal: give Python a chance to run its signal handler now and then.
    ticker = QTimer()
    ticker.start(500)
    ticker.timeout.connect(lambda: None)
    import signal

    signal.signal(signal.SIGINT, lambda *_: window.close())
    code = app.exec()
    log.info("photoclip exits (%d)", code)
    if window.services.threads_running():
        # Only an uninterruptible step (torch importing, a model file loading) can still run:
        # everything indexed is committed, so leave without waiting instead of aborting in
        # QThread's destructor.
        log.warning("a background step was still running at exit; leaving without waiting for it")
        logging.shutdown()
        os._exit(code)
    return code


def _take_library_option(argv: list[str]) -> tuple[list[str], Optional[str]]:
    """Remove ``--library DIR`` / ``--library=DIR`` from argv (the rest goes to Qt)."""
    out, root, i = [], None, 0
    while i < len(argv):
        arg = argv[i]
        if i > 0 and arg == "--library" and i + 1 < len(argv):
            root, i = argv[i + 1], i + 2
            continue
        if i > 0 and arg.startswith("--library="):
            root = arg.split("=", 1)[1]
        else:
            out.append(arg)
        i += 1
    return out, root


#: benchmarks/bench_gui.py: when set to a file name, the app writes there (JSON, ``time.time()``
#: stamps) when the window is first painted and when the grid first shows photos, then quits;
#: with STARTUP_REPORT_MODEL_ENV set too, it also waits for the model to be loaded.
STARTUP_REPORT_ENV = "PHOTOCLIP_STARTUP_REPORT"
STARTUP_REPORT_MODEL_ENV = "PHOTOCLIP_STARTUP_REPORT_MODEL"


class _StartupProbe(QObject):
    def __init__(self, window, path: str) -> None:
        super().__init__(window)
        self.window, self.path = window, path
        self.stamps: dict[str, float] = {}
        # with STARTUP_REPORT_MODEL set, the report waits until the model is loaded (search works)
        self.wait_model = bool(os.environ.get(STARTUP_REPORT_MODEL_ENV))
        window.installEventFilter(self)
        window.resultsShown.connect(self._results)
        window.browser.modelReadyChanged.connect(self._model_ready)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint and "painted" not in self.stamps:
            self.stamps["painted"] = time.time()
            self._maybe_done()
        return False

    def _results(self, count: int) -> None:
        if count > 0 and "populated" not in self.stamps:
            self.window.grid.viewport().repaint()  # the first rows drawn, not just the model filled
            self.stamps["populated"] = time.time()
            self.stamps["rows"] = count
            self._maybe_done()

    def _model_ready(self, ready: bool) -> None:
        if ready and "model_ready" not in self.stamps:  # loaded, its index open
            self.stamps["model_ready"] = time.time()
            self._maybe_done()

    def _maybe_done(self) -> None:
        if "painted" in self.stamps and "populated" in self.stamps and (
                "model_ready" in self.stamps or not self.wait_model):
            self.window.removeEventFilter(self)
            with open(self.path, "w", encoding="utf-8") as fh:
                json.dump(self.stamps, fh)
            QTimer.singleShot(0, self.window.close)


def main() -> int:  # pragma: no cover - `python -m photoclip.gui.app`
    return run_app(sys.argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
