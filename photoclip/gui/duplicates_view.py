"""The Duplicates window: exact and near-duplicate photos side by side, one group a row, the
photo to keep marked; the rest of a group (or of every group) goes to the trash in one step.

The groups come from ``Library.duplicates`` (core/duplicates.py), run on the worker thread; the
threshold slider groups again (after a short pause, so dragging it does not queue a search per
step). Nothing here decides which photo to keep: core proposes it, the user may pick another.
"""

from __future__ import annotations

import html
import math
import os
from typing import Optional, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from photoclip.core.duplicates import DEFAULT_THRESHOLD, DuplicateGroup
from photoclip.core.paths import display_path

from . import dialogs
from .details import breakable, format_bytes, format_date
from .flow_layout import FlowLayout

#: the slider's range, in thousandths of cosine similarity
SLIDER_MIN, SLIDER_MAX = 800, 1000
#: a pause in the slider's movement this long groups again
REGROUP_AFTER_MS = 350
#: groups shown at once (the biggest first), and photos in them at most (a widget each); the rest
#: are counted, and shown once those are dealt with
SHOW_GROUPS = 200
SHOW_PHOTOS = 600
#: thumbnail size requested (a cached bucket) and shown
THUMB_BUCKET, THUMB_SHOWN = 256, 168


class PhotoCard(QFrame):
    """One photo of a group: thumbnail, "Keep" choice, resolution, size, date taken, folder."""

    def __init__(self, photo, proposed: bool, keep_group: QButtonGroup, parent=None) -> None:
        super().__init__(parent)
        self.photo = photo
        self.setObjectName("duplicateCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(THUMB_SHOWN + 24)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(3)
        self.thumb = QLabel(self)
        self.thumb.setFixedSize(THUMB_SHOWN, THUMB_SHOWN)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setToolTip(display_path(photo.path))
        layout.addWidget(self.thumb)
        self.keep = QRadioButton("Keep (proposed)" if proposed else "Keep", self)
        self.keep.setToolTip("Keep this one; the others of the group go to the trash")
        keep_group.addButton(self.keep)
        layout.addWidget(self.keep)
        self.fate = QLabel(self)
        self.fate.setObjectName("duplicateFate")
        layout.addWidget(self.fate)
        resolution = f"{photo.width:,} × {photo.height:,}" if photo.width and photo.height else "size unknown"
        info = QLabel(
            f"<b>{html.escape(breakable(display_path(os.path.basename(photo.path))))}</b><br>"
            f"{resolution}<br>{format_bytes(photo.size)}<br>"
            f"{html.escape(format_date(photo.taken_at, photo.mtime_ns, photo.taken_source))}<br>"
            f"<span style='opacity:0.75'>{html.escape(breakable(display_path(os.path.dirname(photo.path))))}</span>",
            self)
        info.setObjectName("duplicateInfo")
        info.setWordWrap(True)
        info.setTextFormat(Qt.TextFormat.RichText)
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(info)
        layout.addStretch(1)
        self.keep.toggled.connect(self._mark)
        self._mark(False)
        # a card's height follows its wrapped text at its fixed width (a row of cards is laid out
        # from their size hints, which a wrapping label alone gets wrong)
        self.setFixedHeight(max(layout.totalHeightForWidth(self.width()), layout.totalSizeHint().height()))

    def _mark(self, keeping: bool) -> None:
        self.fate.setText("✓ stays" if keeping else "→ goes to the trash")
        self.setStyleSheet("#duplicateCard { border: 2px solid palette(highlight); border-radius: 4px; }"
                           if keeping else "#duplicateCard { border: 1px solid palette(mid); border-radius: 4px; }")

    def set_thumbnail(self, pixmap: Optional[QPixmap]) -> None:
        if pixmap is not None and not pixmap.isNull():
            self.thumb.setPixmap(pixmap.scaled(THUMB_SHOWN, THUMB_SHOWN, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))


class GroupView(QFrame):
    """One group: a title, its photos side by side (the proposed keeper first) and its own
    "Move others to trash"."""

    trashRequested = Signal(object)  # this GroupView

    def __init__(self, number: int, group: DuplicateGroup, parent=None) -> None:
        super().__init__(parent)
        self.group = group
        self.setObjectName("duplicateGroup")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 8)
        head = QHBoxLayout()
        # floored, so 0.9996 reads 0.999: "1.000" is for the same content only
        kind = ("the same file content" if group.exact
                else f"similarity ≥ {math.floor(group.similarity * 1000) / 1000:.3f}")
        self.title = QLabel(f"<b>Group {number}</b> · {len(group.photos)} photos · {kind}", self)
        head.addWidget(self.title, 1)
        self.trash_button = QPushButton("Move others to trash", self)
        self.trash_button.clicked.connect(lambda: self.trashRequested.emit(self))
        head.addWidget(self.trash_button)
        layout.addLayout(head)
        self.keep_group = QButtonGroup(self)
        row = FlowLayout(spacing=8)
        self.cards: list[PhotoCard] = []
        for i, photo in enumerate(group.photos):
            card = PhotoCard(photo, i == 0, self.keep_group, self)
            row.addWidget(card)
            self.cards.append(card)
        layout.addLayout(row)
        self.cards[0].keep.setChecked(True)

    def keeper(self):
        return next(c.photo for c in self.cards if c.keep.isChecked())

    def others(self) -> list[str]:
        """The paths that go to the trash: every photo but the one kept."""
        return [c.photo.path for c in self.cards if not c.keep.isChecked()]

    def forget(self, paths: set[str]) -> int:
        """Take out the cards of ``paths`` (gone to the trash); the photos left."""
        for card in [c for c in self.cards if c.photo.path in paths]:
            self.cards.remove(card)
            self.keep_group.removeButton(card.keep)
            card.deleteLater()
        if self.cards and not any(c.keep.isChecked() for c in self.cards):
            self.cards[0].keep.setChecked(True)
        return len(self.cards)


class DuplicatesDialog(QDialog):
    """Edit > Find duplicates…: groups at a similarity the user slides, the rest to the trash."""

    #: a grouping was shown (the number of groups)
    groupsShown = Signal(int)

    def __init__(self, jobs, thumbnails=None, parent=None, threshold: float = DEFAULT_THRESHOLD,
                 near: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("duplicatesDialog")
        self.setWindowTitle("Duplicates")
        self.jobs = jobs
        self._thumbs = thumbnails
        self._job = None
        self._again = False
        self.groups: list[GroupView] = []
        self._total_groups = 0
        layout = QVBoxLayout(self)

        top = QHBoxLayout()
        top.addWidget(QLabel("Similar at least:", self))
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(SLIDER_MIN, SLIDER_MAX)
        self.slider.setValue(round(threshold * 1000))
        self.slider.setSingleStep(5)
        self.slider.setPageStep(20)
        self.slider.setToolTip("How alike two photos must be to count as duplicates; at 1.000 only files "
                               "with the same content")
        self.slider.setAccessibleName("Similarity threshold")
        self.slider.setEnabled(near)
        top.addWidget(self.slider, 1)
        self.threshold_label = QLabel(self)
        self.threshold_label.setMinimumWidth(self.threshold_label.fontMetrics().horizontalAdvance("0.000 (same files)") + 8)
        top.addWidget(self.threshold_label)
        layout.addLayout(top)

        self.summary = QLabel(self)
        self.summary.setObjectName("duplicatesSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        if not near:
            note = QLabel("The model is not loaded: only files with the same content are listed.", self)
            note.setWordWrap(True)
            layout.addWidget(note)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body = QWidget(self.scroll)
        self.list_layout = QVBoxLayout(self.body)
        self.list_layout.addStretch(1)
        self.scroll.setWidget(self.body)
        layout.addWidget(self.scroll, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.trash_all_button = buttons.addButton("Move others to trash in every group",
                                                  QDialogButtonBox.ButtonRole.ActionRole)
        self.trash_all_button.clicked.connect(self.trash_all)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REGROUP_AFTER_MS)
        self._timer.timeout.connect(self.find)
        self.slider.valueChanged.connect(self._slid)
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)
        self._show_threshold()
        self.resize(980, 720)
        self.find()

    # ---- grouping ---------------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        return self.slider.value() / 1000

    def _show_threshold(self) -> None:
        t = self.threshold
        self.threshold_label.setText(f"{t:.3f}" + (" (same files)" if t >= 1.0 else ""))

    def _slid(self, _value: int) -> None:
        self._show_threshold()
        self._timer.start()

    def find(self) -> None:
        """Group again at the slider's threshold (once the grouping running now has ended)."""
        if self._job is not None:
            self._again = True
            self._job.control.cancel()
            return
        self.summary.setText(f"Looking for duplicates at similarity {self.threshold:.3f}…")
        self.trash_all_button.setEnabled(False)
        self._job = self.jobs.find_duplicates(self.threshold, then=self._found)

    def _found(self, groups: Optional[Sequence[DuplicateGroup]]) -> None:
        if not isValid(self):
            return
        self._job = None
        if self._again:
            self._again = False
            self.find()
            return
        if groups is None:  # failed or cancelled
            self.summary.setText("Duplicates could not be looked for.")
            return
        self._show_groups(groups)

    def _show_groups(self, groups: Sequence[DuplicateGroup]) -> None:
        for view in self.groups:
            view.deleteLater()
        self.groups = []
        shown_photos = 0
        for number, group in enumerate(groups[:SHOW_GROUPS], 1):
            if self.groups and shown_photos + len(group.photos) > SHOW_PHOTOS:
                break
            shown_photos += len(group.photos)
            view = GroupView(number, group, self.body)
            view.trashRequested.connect(self._trash_group)
            view.keep_group.buttonToggled.connect(lambda *_: self._update_summary())
            self.list_layout.insertWidget(self.list_layout.count() - 1, view)
            self.groups.append(view)
            for card in view.cards:
                self._load_thumbnail(card)
        self._total_groups = len(groups)
        self._update_summary()
        self.scroll.verticalScrollBar().setValue(0)
        self.groupsShown.emit(len(groups))

    def _update_summary(self) -> None:
        n = len(self.groups)
        if not n:
            self.summary.setText(f"No duplicates at similarity {self.threshold:.3f}." +
                                 ("" if self.threshold <= SLIDER_MIN / 1000 else " Slide left to find less alike ones."))
            self.trash_all_button.setEnabled(False)
            return
        others = [c.photo for g in self.groups for c in g.cards if not c.keep.isChecked()]
        more = (f" (the first {n:,} of {self._total_groups:,} shown)" if self._total_groups > n else "")
        self.summary.setText(
            f"{n:,} group{'s' if n != 1 else ''} of duplicates{more}: {len(others):,} photo"
            f"{'s' if len(others) != 1 else ''} could go to the trash ({format_bytes(sum(p.size for p in others))}). "
            "The proposed keeper has the largest resolution, then the earliest date taken, then is the RAW; "
            "pick another with its Keep.")
        self.trash_all_button.setEnabled(bool(others))

    # ---- thumbnails -----------------------------------------------------------------------------
    def _load_thumbnail(self, card: PhotoCard) -> None:
        if self._thumbs is not None:
            card.set_thumbnail(self._thumbs.pixmap(card.photo.path, THUMB_BUCKET))

    def _thumbnail_ready(self, path: str, size: int) -> None:
        if size != THUMB_BUCKET or not isValid(self):
            return
        for view in self.groups:
            for card in view.cards:
                if card.photo.path == path:
                    self._load_thumbnail(card)

    # ---- to the trash ---------------------------------------------------------------------------
    def _trash_group(self, view: GroupView) -> None:
        self._trash(view.others())

    def trash_all(self) -> None:
        self._trash([p for view in self.groups for p in view.others()])

    def _trash(self, paths: list[str]):
        if not paths or not dialogs.confirm_trash(self, len(paths)):
            return None
        for b in [self.trash_all_button] + [g.trash_button for g in self.groups]:
            b.setEnabled(False)
        return self.jobs.trash(paths, then=self._trashed)

    def _trashed(self, report) -> None:
        if not isValid(self):
            return
        gone = set(report.trashed) | set(report.gone)
        for view in list(self.groups):
            view.trash_button.setEnabled(True)
            if view.forget(gone) < 2:  # nothing left to choose from
                self.groups.remove(view)
                view.deleteLater()
                self._total_groups -= 1
        if not self.groups and self._total_groups > 0:
            self.find()  # the groups not shown yet
            return
        self._update_summary()

    def done(self, result: int) -> None:  # noqa: A003 - Qt API
        if self._job is not None:
            self._again = False
            self._job.control.cancel()
        super().done(result)
