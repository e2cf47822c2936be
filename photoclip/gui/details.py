"""The details panel for the selected photo.

Shows a larger EXIF-rotated preview (made off-thread by the ThumbnailLoader), the file name,
folder, date, dimensions, the photo's auto-tags with scores and its best labels across all tag
sets. The window fetches the data on the query thread and hands it over with ``show_photo``.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from typing import Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.metadata import format_exposure
from photoclip.core.paths import display_path

from .flow_layout import FlowLayout

PREVIEW_SIZE = 512
#: the preview takes at most this share of the panel's height, whatever the photo's shape
PREVIEW_SHARE = 0.45


_BREAK_AFTER = set("/\\_-.,+")
_ZWSP = "\u200b"


def breakable(text: str, run: int = 16) -> str:
    """``text`` with invisible break points (after / _ - . and within long runs) so a word-wrapped
    label can wrap a long file name or path instead of widening the panel past the window."""
    out, since = [], 0
    for ch in text:
        out.append(ch)
        since = 0 if ch.isspace() else since + 1
        if ch in _BREAK_AFTER or since >= run:
            out.append(_ZWSP)
            since = 0
    return "".join(out)


def format_bytes(n: Optional[int]) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def format_date(taken_at: Optional[str], mtime_ns: Optional[int], source: Optional[str] = None) -> str:
    """"15 Jun 2024, 18:30" (the photo's own date, in the time the camera kept), marked "(file date)"
    when the photo does not say when it was taken."""
    if taken_at:
        try:
            text = _dt.datetime.fromisoformat(taken_at).strftime("%d %b %Y, %H:%M")
        except ValueError:
            text = taken_at
        return text + (" (file date)" if source == "file" else "")
    if mtime_ns:
        return _dt.datetime.fromtimestamp(mtime_ns / 1e9).strftime("%d %b %Y, %H:%M") + " (file date)"
    return "unknown"



def _tag_note(tag) -> str:
    """What stands beside a tag: the model's score, or that the user decided it."""
    source = getattr(tag, "source", "auto")
    if source == "user":
        return "added by you"
    if source == "confirmed":
        return f"✓ {tag.score:.2f}"
    return f"{tag.score:.2f}"

class _Preview(QLabel):
    """A label that keeps its pixmap scaled to its width."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(160, 120))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._pixmap = None
        self._max_height = 10_000

    def set_source(self, pixmap) -> None:
        self._pixmap = pixmap
        self._rescale()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def set_max_height(self, height: int) -> None:
        """The most height the preview takes (a share of the panel's), so a portrait photo never
        pushes the details and buttons out of sight."""
        height = max(120, height)
        if height != self._max_height:
            self._max_height = height
            self._rescale()

    def _rescale(self) -> None:
        w = max(160, self.width())
        if self._pixmap is None or self._pixmap.isNull():
            self.setFixedHeight(min(int(w * 0.66), self._max_height))
            self.clear()
            return
        scaled = self._pixmap.scaled(QSize(w, min(int(w * 1.2), self._max_height)), Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
        self.setFixedHeight(scaled.height())
        self.setPixmap(scaled)


class DetailsPanel(QScrollArea):
    openRequested = Signal(str)
    showInFolderRequested = Signal(str)
    findSimilarRequested = Signal(int)
    #: the many-photos summary's buttons: act on the grid's selection
    tagSelectionRequested = Signal()
    trashSelectionRequested = Signal()

    def __init__(self, thumbnails=None, parent=None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self.photo_id: Optional[int] = None
        self.path: Optional[str] = None
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName("Photo details")
        body = QWidget(self)
        self.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)

        self.preview = _Preview(body)
        layout.addWidget(self.preview)

        self.name = QLabel(body)
        self.name.setWordWrap(True)
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.name.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.name.setFont(font)
        layout.addWidget(self.name)

        # the actions right under the photo, where a tall name or many details cannot push them away
        buttons = FlowLayout(spacing=6)  # wraps in a narrow panel instead of clipping a button
        self.open_button = QPushButton("Open", body)
        self.open_button.clicked.connect(lambda: self.path and self.openRequested.emit(self.path))
        self.folder_button = QPushButton("Show in folder", body)
        self.folder_button.clicked.connect(lambda: self.path and self.showInFolderRequested.emit(self.path))
        self.similar_button = QPushButton("Find similar", body)
        self.similar_button.clicked.connect(
            lambda: self.photo_id is not None and self.findSimilarRequested.emit(self.photo_id))
        for b in (self.open_button, self.folder_button, self.similar_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.folder = self._value(body)
        self.date = self._value(body)
        self.camera = self._value(body)
        self.exposure = self._value(body)
        self.place = self._value(body)
        self.dimensions = self._value(body)
        self.size = self._value(body)
        self.pair = self._value(body)
        self.form.addRow("Folder", self.folder)
        self.form.addRow("Taken", self.date)
        self.form.addRow("Camera", self.camera)
        self.form.addRow("Exposure", self.exposure)
        self.form.addRow("Place", self.place)
        self.form.addRow("Size", self.dimensions)
        self.form.addRow("File", self.size)
        self.form.addRow("With", self.pair)
        layout.addLayout(self.form)


        self.tags_title = self._title("Auto-tags", body)
        layout.addWidget(self.tags_title)
        self.tags = QLabel(body)
        self.tags.setWordWrap(True)
        self.tags.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.tags)

        self.labels_title = self._title("Best matching labels", body)
        layout.addWidget(self.labels_title)
        self.labels = QLabel(body)
        self.labels.setWordWrap(True)
        self.labels.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.labels)

        # many photos selected: a short summary and what can be done with all of them
        self.many = QLabel(body)
        self.many.setObjectName("selectionSummary")
        self.many.setWordWrap(True)
        self.many.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.many)
        many_buttons = FlowLayout(spacing=6)
        self.tag_many_button = QPushButton("Tag as…", body)
        self.tag_many_button.clicked.connect(self.tagSelectionRequested.emit)
        self.trash_many_button = QPushButton("Move to trash", body)
        self.trash_many_button.clicked.connect(self.trashSelectionRequested.emit)
        for b in (self.tag_many_button, self.trash_many_button):
            many_buttons.addWidget(b)
        layout.addLayout(many_buttons)

        self.placeholder = QLabel("Select a photo to see its details.", body)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setEnabled(False)
        layout.addWidget(self.placeholder)
        layout.addStretch(1)

        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnail)
        self.clear()

    @staticmethod
    def _value(parent) -> QLabel:
        label = QLabel(parent)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    @staticmethod
    def _title(text: str, parent) -> QLabel:
        label = QLabel(text, parent)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        return label

    def sizeHint(self) -> QSize:
        return QSize(300, 500)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.preview.set_max_height(int(self.viewport().height() * PREVIEW_SHARE))

    # ---- content -----------------------------------------------------------------------------
    def clear(self) -> None:
        self.photo_id = None
        self.path = None
        self.preview.set_source(None)
        self.preview.hide()
        self._hide_all()
        self.placeholder.show()

    def _hide_all(self) -> None:
        for w in (self.name, self.tags_title, self.tags, self.labels_title, self.labels,
                  self.open_button, self.folder_button, self.similar_button, self.many,
                  self.tag_many_button, self.trash_many_button, self.placeholder):
            w.hide()
        self._set_form_visible(False)

    def show_many(self, count: int, folders: Optional[set[str]] = None) -> None:
        """A summary of ``count`` selected photos (in ``folders``, when known) instead of one
        photo's details."""
        self.photo_id = None
        self.path = None
        self.preview.set_source(None)
        self.preview.hide()
        self._hide_all()
        where = ""
        if folders:
            where = "<br>in " + (html.escape(breakable(display_path(next(iter(folders))))) if len(folders) == 1
                                 else f"{len(folders):,} folders")
        self.many.setText(f"<b>{count:,} photos selected</b>{where}<br><br>"
                          "<span style='opacity:0.7'>Ctrl+click adds or removes a photo, Shift+click a "
                          "range, Ctrl+A selects all.</span>")
        for w in (self.many, self.tag_many_button, self.trash_many_button):
            w.show()

    def _set_form_visible(self, visible: bool) -> None:
        for i in range(self.form.rowCount()):
            for role in (QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.FieldRole):
                item = self.form.itemAt(i, role)
                if item is not None and item.widget() is not None:
                    item.widget().setVisible(visible)

    def _set_row_visible(self, field: QWidget, visible: bool) -> None:
        field.setVisible(visible)
        label = self.form.labelForField(field)
        if label is not None:
            label.setVisible(visible)

    def show_loading(self, photo_id: int, path: str) -> None:
        """Show the name and preview right away while the rest is fetched."""
        self.photo_id = photo_id
        self.path = path
        for w in (self.placeholder, self.many, self.tag_many_button, self.trash_many_button):
            w.hide()
        self.preview.show()
        self.name.setText(html.escape(breakable(display_path(os.path.basename(path)))))
        self.name.show()
        self._load_preview()

    def show_photo(self, record, tags: list, best: Optional[dict[str, list[tuple[str, float]]]],
                   pair: tuple = ()) -> None:
        """``record``: core PhotoRecord; ``tags``: list of Tag; ``best``: tag set -> [(label, score)],
        or None while they are being computed (``show_best`` brings them); ``pair``: the other files
        of a RAW+JPEG pair (shown as this one photo)."""
        self.show_loading(record.id, record.path)
        self.folder.setText(breakable(display_path(os.path.dirname(record.path))))
        self.folder.setToolTip(display_path(record.folder))
        self.date.setText(format_date(getattr(record, "taken_at", None), getattr(record, "mtime_ns", None),
                                      getattr(record, "taken_source", None)))
        camera = getattr(record, "camera", None) or ""
        lens = getattr(record, "lens", None)
        self.camera.setText(f"{camera}\n{lens}".strip() if lens else camera)
        self.exposure.setText(format_exposure(record))
        place = getattr(record, "place", None) or ""
        if getattr(record, "gps_lat", None) is not None:
            position = f"{record.gps_lat:.5f}, {record.gps_lon:.5f}"
            place = f"{place}\n{position}" if place else position
        self.place.setText(place)
        if record.width and record.height:
            mp = record.width * record.height / 1e6
            self.dimensions.setText(f"{record.width:,} × {record.height:,} ({mp:.1f} MP)")
        else:
            self.dimensions.setText("unknown")
        size_text = format_bytes(getattr(record, "size", None))
        if getattr(record, "offline", False):
            size_text += " — offline"
        self.size.setText(size_text)
        self._set_form_visible(True)
        self.pair.setText("\n".join(breakable(display_path(os.path.basename(p))) for p in pair))
        self.pair.setToolTip("\n".join(display_path(p) for p in pair))
        for field in (self.camera, self.exposure, self.place, self.pair):  # rows the photo has nothing for go
            self._set_row_visible(field, bool(field.text()))
        for b in (self.open_button, self.folder_button, self.similar_button):
            b.show()

        self.tags_title.show()
        self.tags.show()
        if tags:
            by_set: dict[str, list] = {}
            for t in tags:
                by_set.setdefault(t.tag_set, []).append(t)
            rows = []
            for name in sorted(by_set):
                items = ", ".join(f"{html.escape(t.label)} <span style='opacity:0.7'>{_tag_note(t)}</span>"
                                  for t in sorted(by_set[name], key=lambda t: (t.source == "auto", -t.score)))
                rows.append(f"<b>{html.escape(name)}</b>: {items}")
            self.tags.setText("<br>".join(rows))
        else:
            self.tags.setText("<i>No tags yet.</i>")

        self.show_best(best)

    def show_best(self, best: Optional[dict[str, list[tuple[str, float]]]]) -> None:
        self.labels_title.show()
        self.labels.show()
        if best is None:
            self.labels.setText("<i>Best labels appear once the image model has loaded…</i>")
        elif best:
            rows = []
            for name in sorted(best):
                items = ", ".join(f"{html.escape(label)} {score:.2f}" for label, score in best[name])
                rows.append(f"<b>{html.escape(name)}</b>: {items}")
            self.labels.setText("<br>".join(rows))
        else:
            self.labels.setText("<i>No tag sets to compare with.</i>")

    def show_error(self, message: str) -> None:
        self.tags_title.show()
        self.tags.show()
        self.tags.setText(f"<i>{html.escape(message)}</i>")

    def _load_preview(self) -> None:
        if self._thumbs is None or self.path is None:
            return
        pm = self._thumbs.pixmap(self.path, PREVIEW_SIZE)
        if pm is None and self._thumbs.error(self.path):
            self.preview.set_source(None)
            self.preview.setText(self._thumbs.error(self.path))
            return
        self.preview.set_source(pm)

    def _on_thumbnail(self, path: str, bucket: int) -> None:
        if path == self.path and bucket == PREVIEW_SIZE:
            self._load_preview()
