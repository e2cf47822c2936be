"""The first-run banner: the image model is missing; download it (with progress) or use a local file."""

from __future__ import annotations

import os
import re
from typing import Optional

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from photoclip.core import paths
from photoclip.core.config import CURATED_MODELS, DEFAULT_MODEL
from photoclip.gui.colours import mix
from photoclip.gui.preferences import WEIGHTS_FILTER
from photoclip.gui.tagset_editor import make_secondary

NEEDED, PROGRESS, LOADING, ERROR, HIDDEN = "needed", "progress", "loading", "error", "hidden"
_MB = 1_000_000
_MAX_ERROR_CHARS = 320
_EXC_PREFIX = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Unavailable)\w*:\s*")


def _default_size() -> str:
    for _label, model, _pretrained, size in CURATED_MODELS:
        if model == DEFAULT_MODEL:
            return f"about {size}"
    return "a few hundred MB"


def format_mb(n: int) -> str:
    """Bytes as decimal megabytes (or GB above 1000 MB), the way download sizes are quoted."""
    if n >= 1000 * _MB:
        return f"{n / (1000 * _MB):.2f} GB"
    return f"{n / _MB:.0f} MB" if n >= 10 * _MB else f"{n / _MB:.1f} MB"


def readable_error(message: str) -> str:
    """One readable message for the user: never a traceback, never a wall of text."""
    text = (message or "").strip()
    if "Traceback (most recent call last)" in text:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        text = lines[-1] if lines else ""
    text = " ".join(text.split())
    text = _EXC_PREFIX.sub("", text)
    if len(text) > 200:
        # Long messages carry advice the banner already gives (offline use, where weights go):
        # keep the first sentence, which says what went wrong.
        end = text.find(". ", 20)
        if end > 0:
            text = text[: end + 1]
    if len(text) > _MAX_ERROR_CHARS:
        text = text[: _MAX_ERROR_CHARS - 1].rstrip() + "…"
    return text or "The download failed."


class ModelBanner(QFrame):
    """A banner for the top of the main window. Starts hidden; call ``show_needed`` to show it."""

    downloadRequested = Signal()
    localFileChosen = Signal(str, str)   # (model name or config path, "" = keep the architecture; weights path)
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None, *, models_dir: str | None = None):
        super().__init__(parent)
        # "banner"/"bannerText" and the "level" property match resources/style/photoclip.qss.
        self.setObjectName("banner")
        self.setAccessibleName("Image model")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._state = HIDDEN
        self._model_label = DEFAULT_MODEL
        self._size_text = _default_size()
        self._error = ""
        self._models_dir = models_dir if models_dir is not None else str(paths.models_dir())

        self.icon_label = QLabel(self)
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("bannerText")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.message_label.font()
        font.setBold(True)
        self.message_label.setFont(font)
        self.hint_label = QLabel(self)
        self.hint_label.setWordWrap(True)
        self.hint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        make_secondary(self.hint_label)

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setAccessibleName("Model download progress")
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setRange(0, 1000)
        self.progress_label = QLabel(self)
        self.progress_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("0000 MB of 0000 MB") + 8)
        progress_row = QHBoxLayout()
        progress_row.setContentsMargins(0, 0, 0, 0)
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.progress_label)
        self.progress_box = QWidget(self)
        self.progress_box.setLayout(progress_row)

        self.download_button = QPushButton("&Download model", self)
        self.download_button.setAccessibleName("Download the image model")
        self.local_button = QPushButton("Use a &local weights file…", self)
        self.local_button.setAccessibleName("Use a local weights file")
        self.local_button.setToolTip("Weights for another architecture can be set in Preferences.")
        self.retry_button = QPushButton("&Retry", self)
        self.retry_button.setAccessibleName("Retry the download")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel the download")
        for b in (self.download_button, self.local_button, self.retry_button, self.cancel_button):
            b.setAutoDefault(False)

        # Buttons go under the text (not beside it) so the message keeps the full width of the
        # window and stays readable in a narrow one; Cancel sits next to the progress bar.
        progress_row.addWidget(self.cancel_button)
        button_row = QHBoxLayout()
        button_row.setContentsMargins(0, 2, 0, 0)
        button_row.setSpacing(6)
        for b in (self.download_button, self.retry_button, self.local_button):
            button_row.addWidget(b)
        button_row.addStretch(1)
        text_col = QVBoxLayout()
        text_col.setSpacing(4)
        text_col.addWidget(self.message_label)
        text_col.addWidget(self.progress_box)
        text_col.addWidget(self.hint_label)
        text_col.addLayout(button_row)
        root = QHBoxLayout(self)
        root.setContentsMargins(12, 10, 12, 10)
        root.setSpacing(12)
        root.addWidget(self.icon_label)
        root.addLayout(text_col, 1)

        self.download_button.clicked.connect(self.downloadRequested)
        self.retry_button.clicked.connect(self.downloadRequested)
        self.local_button.clicked.connect(self._on_local)
        self.cancel_button.clicked.connect(self._on_cancel)

        self._set_state(NEEDED)
        self.setVisible(False)
        self._state = HIDDEN

    # -- public slots ---------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """"needed", "progress", "loading", "error" or "hidden"."""
        return self._state

    def show_needed(self, model_label: str = DEFAULT_MODEL, size_text: str = "") -> None:
        # "ViT-B-32-256 (datacomp_s34b_b86k)" (ModelSpec.label) reads as "ViT-B-32-256": the training
        # tag means nothing to most users and would nest parentheses in the message.
        self._model_label = re.sub(r"\s*\([^()]*\)$", "", (model_label or "").strip()) or DEFAULT_MODEL
        self._size_text = size_text or _default_size()
        self._set_state(NEEDED)

    def show_progress(self, done_bytes: int, total_bytes: Optional[int]) -> None:
        if self._state != PROGRESS:
            self._set_state(PROGRESS)
        done = max(0, int(done_bytes or 0))
        if total_bytes and total_bytes > 0:
            total = int(total_bytes)
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(min(1000, int(1000 * done / total)))
            text = f"{format_mb(done)} of {format_mb(total)}"
            self.progress_bar.setAccessibleDescription(f"{text} ({100 * done // total} %)")
        else:
            self.progress_bar.setRange(0, 0)  # busy indicator: size unknown
            text = format_mb(done) if done else "Starting…"
            self.progress_bar.setAccessibleDescription(text)
        self.progress_label.setText(text)

    def show_loading(self, weights: str) -> None:
        """A local weights file is being loaded: say so (not the download error it may follow)."""
        self._loading = os.path.basename(weights) or weights
        self._set_state(LOADING)
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText("")

    def show_error(self, message: str) -> None:
        self._error = readable_error(message)
        self._set_state(ERROR)
        full = " ".join((message or "").split())
        if "Traceback (most recent call last)" not in (message or "") and full != self._error:
            self.message_label.setToolTip(full)  # the whole message stays reachable

    def hide_banner(self) -> None:
        self._state = HIDDEN
        self.setVisible(False)

    # -- internals --------------------------------------------------------------------------------

    def _update_icon(self) -> None:
        icon = (QStyle.StandardPixmap.SP_MessageBoxWarning if self._state == ERROR
                else QStyle.StandardPixmap.SP_MessageBoxInformation)
        style = self.style()
        size = style.pixelMetric(QStyle.PixelMetric.PM_LargeIconSize)
        self.icon_label.setPixmap(style.standardIcon(icon).pixmap(size, size))

    def _set_state(self, state: str) -> None:
        self._state = state
        level = "error" if state == ERROR else "info"
        if self.property("level") != level:
            self.setProperty("level", level)
            self.style().unpolish(self)
            self.style().polish(self)
        self._update_icon()
        where = paths.display_path(self._models_dir)
        if state == NEEDED:
            self.message_label.setText(
                f"photoclip needs its image model ({self._model_label}, {self._size_text}) to search and tag. "
                "Your photos stay on this computer.")
            self.hint_label.setText(
                f"The model is downloaded once and kept in {where}. Offline? Copy a weights file onto this "
                "computer and choose “Use a local weights file…”. You can browse your folders meanwhile.")
        elif state == LOADING:
            self.message_label.setText(f"Loading the local weights file {paths.display_path(self._loading)}…")
            self.hint_label.setText("You can keep browsing; search and tags start when it is loaded.")
            self.cancel_button.setEnabled(True)
            self.cancel_button.setText("Cancel")
        elif state == PROGRESS:
            self.message_label.setText(f"Downloading the image model ({self._model_label})…")
            self.hint_label.setText(f"Saving to {where}. You can keep browsing; search and tags start when it is done.")
            self.cancel_button.setEnabled(True)
            self.cancel_button.setText("Cancel")
            self.progress_bar.setRange(0, 0)
            self.progress_label.setText("Starting…")
        else:
            err = self._error
            if not err.lower().startswith(("could not", "cannot", "can't")):
                err = f"Could not get the image model: {err}"
            self.message_label.setText(err)
            self.hint_label.setText(
                "Check the internet connection and retry, or copy a weights file onto this computer and "
                f"choose “Use a local weights file…”. Downloads are kept in {where}.")
        self.message_label.setAccessibleName(self.message_label.text())
        self.message_label.setToolTip("")
        self.progress_box.setVisible(state in (PROGRESS, LOADING))
        self.download_button.setVisible(state == NEEDED)
        self.retry_button.setVisible(state == ERROR)
        self.local_button.setVisible(state in (NEEDED, ERROR))
        self.cancel_button.setVisible(state in (PROGRESS, LOADING))
        self.setVisible(True)
        self.update()

    def _on_cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.cancelRequested.emit()

    def _on_local(self) -> None:
        path = self.choose_weights_file()
        if path:
            self.localFileChosen.emit("", path)

    def choose_weights_file(self) -> str:
        """Ask for a local weights file; "" when cancelled. Tests override this."""
        path, _ = QFileDialog.getOpenFileName(self, "Choose model weights", os.path.expanduser("~"), WEIGHTS_FILTER)
        return path

    # -- look ---------------------------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        # A light tint of the palette's highlight colour over the window colour: stands out in both
        # light and dark palettes without hard-coding a colour. The app stylesheet, when loaded,
        # styles QFrame#banner itself.
        if _styled_by_sheet():
            super().paintEvent(event)
            return
        pal = self.palette()
        painter = QPainter(self)
        painter.fillRect(self.rect(), mix(pal.color(QPalette.ColorRole.Window), pal.color(QPalette.ColorRole.Highlight), 0.14))
        painter.setPen(mix(pal.color(QPalette.ColorRole.Window), pal.color(QPalette.ColorRole.Highlight), 0.5))
        painter.drawLine(self.rect().bottomLeft(), self.rect().bottomRight())
        painter.end()
        super().paintEvent(event)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._update_icon()
            self.update()
        super().changeEvent(event)


def _styled_by_sheet() -> bool:
    app = QApplication.instance()
    return app is not None and "#banner" in (app.styleSheet() or "")
