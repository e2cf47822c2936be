"""The status bar: what the background worker is doing, pause/resume, cancel, problems count."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QToolButton

from photoclip.core.jobs import Progress


class JobStatusBar(QStatusBar):
    pauseToggled = Signal(bool)  # True = pause
    cancelRequested = Signal()
    problemsRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(True)
        self._progress: Optional[Progress] = None  # the running job's latest progress
        self.message = QLabel("Ready", self)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAccessibleName("Status")
        self.addWidget(self.message, 1)

        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(180)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(self.fontMetrics().height())
        self.addPermanentWidget(self.bar)

        self.pause_button = QToolButton(self)
        self.pause_button.setText("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause the background job")
        self.pause_button.toggled.connect(self._pause_toggled)
        self.addPermanentWidget(self.pause_button)

        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the background job; what is done so far is kept")
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        self.addPermanentWidget(self.cancel_button)

        self.problems_button = QToolButton(self)
        self.problems_button.setAutoRaise(True)
        self.problems_button.setToolTip("Files that could not be read, and why")
        self.problems_button.clicked.connect(self.problemsRequested.emit)
        self.addPermanentWidget(self.problems_button)

        self.watching = QLabel(self)
        self.watching.setObjectName("statusWatching")
        self.watching.setAccessibleName("Watched folders")
        self.addPermanentWidget(self.watching)
        self._watching_text = ""

        self.selected = QLabel(self)
        self.selected.setObjectName("statusSelected")
        self.selected.setAccessibleName("Selected photos")
        self.addPermanentWidget(self.selected)
        self.selected.hide()

        self.photos = QLabel(self)
        self.addPermanentWidget(self.photos)
        self.set_idle("Ready")
        self.set_problems(0)

    # ---- states ------------------------------------------------------------------------------
    def set_busy(self, text: str) -> None:
        self._progress = None
        self.message.setText(text)
        self.message.setToolTip(text)
        self.bar.setRange(0, 0)
        self.bar.show()
        self.pause_button.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.watching.hide()  # the job's progress says more while one runs

    def set_progress(self, p: Progress) -> None:
        self._progress = p
        text = self._progress_text()
        self.message.setText(text)
        self.message.setToolTip(p.current or text)
        if p.total > 0:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
        else:
            self.bar.setRange(0, 0)

    def set_cancelling(self) -> None:
        self.message.setText("Stopping…")
        self.cancel_button.setEnabled(False)

    def set_idle(self, text: str = "Ready") -> None:
        self._progress = None
        self.message.setText(text)
        self.message.setToolTip(text)
        self.bar.hide()
        self.pause_button.hide()
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(False)
        self.pause_button.setText("Pause")
        self.pause_button.blockSignals(False)
        self.cancel_button.hide()
        self.watching.setVisible(bool(self._watching_text))

    def set_watching(self, folders: int, offline: list[str] | None = None) -> None:
        """'Watching 3 folders' (shown while no job runs); empty when nothing is watched."""
        offline = offline or []
        text = ""
        if folders:
            text = f"Watching {folders:,} folder{'s' if folders != 1 else ''}"
            if offline:
                text += f" ({len(offline):,} offline)"
        self._watching_text = text
        self.watching.setText(text)
        tip = "New, changed, moved and deleted photos are picked up automatically"
        if offline:
            tip += "\nOffline (picked up when it comes back): " + ", ".join(offline)
        self.watching.setToolTip(tip if text else "")
        if not text:
            self.watching.hide()
        elif self.bar.isHidden():  # idle
            self.watching.show()

    def set_problems(self, count: int) -> None:
        self.problems_button.setText(f"⚠ {count:,} problem{'s' if count != 1 else ''}")
        self.problems_button.setVisible(count > 0)

    def set_selected(self, count: int) -> None:
        """'12 selected' beside the photo count while more than one photo is selected."""
        self.selected.setText(f"{count:,} selected")
        self.selected.setVisible(count > 1)

    def set_photo_count(self, shown: int, total: int | None = None, searching: bool = False) -> None:
        if searching:
            self.photos.setText(f"{shown:,} results")
        elif total is not None and total != shown:
            self.photos.setText(f"{shown:,} of {total:,} photos")
        else:
            self.photos.setText(f"{shown:,} photos")

    def _pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setToolTip("Resume the background job" if paused else "Pause the background job")
        if self._progress is not None:
            self.message.setText(self._progress_text())
        else:
            text = self.message.text()
            if paused and not text.startswith("Paused"):
                self.message.setText("Paused — " + text)
            elif not paused and text.startswith("Paused — "):
                self.message.setText(text[len("Paused — "):])
        self.pauseToggled.emit(paused)

    def _progress_text(self) -> str:
        """The job's latest progress; while paused without its rate and time left (neither runs)."""
        p = self._progress
        text = p.message or f"{p.phase.capitalize()} — {p.done:,} / {p.total:,}"
        if self.pause_button.isChecked():
            return "Paused — " + text.split(" · ")[0]  # jobs.describe puts rate and time left after " · "
        return text
