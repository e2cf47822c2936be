"""The details panel for the selected photo.

Shows a larger EXIF-rotated preview (made off-thread by the ThumbnailLoader), the file name,
folder, date, dimensions, the photo's tags (the user's apart from the model's guesses, each guess
with one-click confirm and reject) and its best labels across all tag sets. The window fetches the data on the query thread and hands it over with ``show_photo``.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from typing import Optional

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
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


#: what the buttons beside a tag ask for (``tagDecisionRequested``'s last argument)
CONFIRM, REJECT, REMOVE, UNDO = "confirmed", "rejected", "remove", "undo"


class _TagText(QWidget):
    """One tag's line beside its buttons: "**set**: label note" on one line, every row the same
    height; in a narrow panel the label is elided ("…") and the tooltip has it whole. (Painted:
    word-wrapped QLabels made rows of uneven height, and the best labels' word-wrapped QLabel
    crashed in Qt's text layout, QUnicodeTools::initCharAttributes under QLabel::heightForWidth,
    when the details panel was shown again on closing the viewer.)"""

    def __init__(self, tag_set: str, label: str, note: str, height: int, parent=None) -> None:
        super().__init__(parent)
        self.parts = (tag_set, label, note)
        self._height = height
        whole = f"{tag_set}: {label}" if tag_set else label
        self.setToolTip(f"{whole} — {note}" if note else whole)
        self.setAccessibleName(f"{whole}, {note}" if note else whole)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(40)  # a few characters and "…" however narrow the panel

    def _bold(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def sizeHint(self) -> QSize:
        tag_set, label, note = self.parts
        width = (QFontMetrics(self._bold()).horizontalAdvance(f"{tag_set}: " if tag_set else "")
                 + self.fontMetrics().horizontalAdvance(f"{label}  {note}" if note else label))
        return QSize(width + 2, self._height)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, self._height)

    def paintEvent(self, _event) -> None:
        tag_set, label, note = self.parts
        painter = QPainter(self)
        rect = self.rect()
        bold = self._bold()
        bold_metrics, metrics = QFontMetrics(bold), self.fontMetrics()
        note_width = metrics.horizontalAdvance(note)
        gap = metrics.horizontalAdvance("  ")
        x, width = 0, rect.width()
        painter.setFont(bold)
        head = bold_metrics.elidedText(f"{tag_set}: ", Qt.TextElideMode.ElideRight, max(0, width // 2)) if tag_set else ""
        painter.drawText(QRect(x, 0, width, rect.height()), Qt.AlignmentFlag.AlignVCenter, head)
        x += bold_metrics.horizontalAdvance(head)
        painter.setFont(self.font())
        # the label first: the note (a score, "added by you") goes when both do not fit
        with_note = bool(note) and x + metrics.horizontalAdvance(label) + gap + note_width <= width
        body = metrics.elidedText(label, Qt.TextElideMode.ElideRight, max(0, width - x))
        painter.drawText(QRect(x, 0, width - x, rect.height()), Qt.AlignmentFlag.AlignVCenter, body)
        x += metrics.horizontalAdvance(body) + gap
        if with_note:
            color = self.palette().color(QPalette.ColorRole.WindowText)
            color.setAlphaF(0.7)
            painter.setPen(color)
            painter.drawText(QRect(x, 0, width - x, rect.height()), Qt.AlignmentFlag.AlignVCenter, note)
        painter.end()


class _BestLabels(QWidget):
    """Each tag set's best labels for the photo, one line a set ("**set**: label 0.42, …"; elided
    in a narrow panel, whole in the tooltip), or a message."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._lines: list[_TagText] = []
        self._plain = ""

    def text(self) -> str:
        return self._plain

    def _set(self, lines: list[tuple[str, str]], plain: str) -> None:
        for line in self._lines:
            self._layout.removeWidget(line)
            line.hide()
            line.deleteLater()
        height = self.fontMetrics().height() + 4
        self._lines = [_TagText(name, items, "", height, self) for name, items in lines]
        for line in self._lines:
            self._layout.addWidget(line)
        self._plain = plain

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        self._set(rows, "\n".join(f"{name}: {items}" for name, items in rows))

    def set_message(self, message: str) -> None:
        self._set([("", message)], message)


class _TagList(QWidget):
    """A photo's tags in two groups: "Yours" (added or confirmed by the user, each with a button
    to take it off) and "Guesses" (the model's auto-tags, each with ✓ confirm and ✗ reject). The
    buttons take Tab focus and Space presses them; after a decision the focus goes on to the
    next guess's same button, so a keyboard user can go down the list."""

    decisionRequested = Signal(str, str, str)  # tag set, label, CONFIRM | REJECT | REMOVE | UNDO

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._rows: list[QWidget] = []
        self._plain: list[str] = []
        #: after a decision by keyboard: (group, row, what) whose button takes the focus next
        self._refocus: Optional[tuple[str, int, str]] = None
        self._pending = False  # a decision was asked for and the panel not read again yet
        #: (group, tag set, label) -> {what: button}, for tests and the refocus
        self.buttons: dict[tuple[str, str, str], dict[str, QToolButton]] = {}
        #: the widget the focus must still be in for a decision's refocus (the details panel)
        self.focus_scope: Optional[QWidget] = None
        self.yours_title = self._heading("Yours")
        self.guesses_title = self._heading("Guesses")

    def _heading(self, text: str) -> QLabel:
        label = QLabel(text, self)
        font = label.font()
        font.setItalic(True)
        label.setFont(font)
        self._layout.addWidget(label)
        return label

    def text(self) -> str:
        """The tags as plain lines ("set: label note"), or the message shown instead."""
        return "\n".join(self._plain)

    def _clear(self) -> None:
        for row in self._rows:
            self._layout.removeWidget(row)
            row.hide()
            row.deleteLater()
        self._rows, self._plain, self.buttons = [], [], {}
        self._pending = False
        self.yours_title.hide()
        self.guesses_title.hide()

    def set_message(self, message_html: str, plain: str) -> None:
        self._clear()
        label = QLabel(message_html, self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        self._layout.addWidget(label)
        self._rows.append(label)
        self._plain = [plain]

    def set_tags(self, tags: list) -> None:
        refocus, self._refocus = self._refocus, None
        if refocus is not None:  # (asked before the rows go: hiding the focused one moves the focus)
            focus = QApplication.focusWidget()
            scope = self.focus_scope or self
            if not (focus is None or focus is scope or scope.isAncestorOf(focus)):
                refocus = None  # the user has gone on elsewhere (the grid): the focus stays there
        self._clear()
        yours = sorted((t for t in tags if t.source in ("user", "confirmed")),
                       key=lambda t: (t.tag_set.casefold(), t.label.casefold()))
        guesses = sorted((t for t in tags if t.source not in ("user", "confirmed")),
                         key=lambda t: (t.tag_set.casefold(), -t.score))
        for group, title, items in (("yours", self.yours_title, yours), ("guesses", self.guesses_title, guesses)):
            if not items:
                continue
            title.show()
            self._layout.removeWidget(title)
            self._layout.addWidget(title)
            for t in items:
                self._add_row(group, t)
        if refocus is not None:
            self._focus_after(*refocus)

    def _add_row(self, group: str, tag) -> None:
        row = QWidget(self)
        line = QHBoxLayout(row)
        line.setContentsMargins(4, 0, 0, 0)
        line.setSpacing(3)
        name = f"“{tag.label}” ({tag.tag_set})"
        if group == "yours":
            buttons = [(REMOVE, "✗", f"Take {name} off this photo",
                        "It does not come back when the photos are tagged again")]
            if tag.source == "confirmed":  # a confirmed guess: the confirmation can be taken back
                buttons.append((UNDO, "↶", f"Undo confirming {name}",
                                "It is the model's guess again, no longer an example of the label"))
        else:
            buttons = [(CONFIRM, "✓", f"Confirm {name}",
                        "This photo has it: kept through re-tagging, and it teaches the label"),
                       (REJECT, "✗", f"Reject {name}",
                        "This photo does not have it: it does not come back, and it teaches the label")]
        made = {}
        side = self.fontMetrics().height() + 8
        for what, glyph, accessible, tip in buttons:
            b = QToolButton(row)
            b.setText(glyph)
            b.setFixedSize(QSize(side + 2, side))
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Tab reaches it, Space presses it
            b.setAccessibleName(accessible)
            b.setToolTip(f"{accessible}. {tip}.")
            b.clicked.connect(lambda _c=False, g=group, t=tag, w=what, r=len(self._rows): self._decide(g, t, w, r))
            line.addWidget(b, 0, Qt.AlignmentFlag.AlignVCenter)
            made[what] = b
        text = _TagText(tag.tag_set, tag.label, _tag_note(tag), side, row)
        line.addWidget(text, 1)
        self.buttons[(group, tag.tag_set, tag.label)] = made
        self._layout.addWidget(row)
        self._rows.append(row)
        self._plain.append(f"{tag.tag_set}: {tag.label} {_tag_note(tag)}")

    def _decide(self, group: str, tag, what: str, row: int) -> None:
        if self._pending:
            return  # one decision at a time, until the panel is read again
        self._pending = True
        # (the buttons are not disabled: a disabled button hands the focus to whatever comes next)
        focused = any(b.hasFocus() for b in self.buttons.get((group, tag.tag_set, tag.label), {}).values())
        index = [k for k in self.buttons if k[0] == group].index((group, tag.tag_set, tag.label))
        self._refocus = (group, index, what) if focused else None
        self.decisionRequested.emit(tag.tag_set, tag.label, what)

    def _focus_after(self, group: str, index: int, what: str) -> None:
        """The focus on the button ``what`` of the row now at ``index`` of ``group`` (the one
        after the decided tag), else of its last row, else on any button left."""
        rows = [v for k, v in self.buttons.items() if k[0] == group and what in v]
        if rows:
            rows[min(index, len(rows) - 1)][what].setFocus(Qt.FocusReason.TabFocusReason)
            return
        for v in self.buttons.values():
            for b in v.values():
                b.setFocus(Qt.FocusReason.TabFocusReason)
                return


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
    #: a button beside a tag: (photo path, tag set, label, CONFIRM | REJECT | REMOVE)
    tagDecisionRequested = Signal(str, str, str, str)

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


        self.tags_title = self._title("Tags", body)
        layout.addWidget(self.tags_title)
        self.tags = _TagList(body)
        self.tags.focus_scope = self
        self.tags.decisionRequested.connect(
            lambda tag_set, label, what: self.path and self.tagDecisionRequested.emit(self.path, tag_set, label, what))
        layout.addWidget(self.tags)

        self.labels_title = self._title("Best matching labels", body)
        layout.addWidget(self.labels_title)
        self.labels = _BestLabels(body)
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
            self.tags.set_tags(tags)
        else:
            self.tags.set_message("<i>No tags yet.</i>", "No tags yet.")

        self.show_best(best)

    def show_best(self, best: Optional[dict[str, list[tuple[str, float]]]]) -> None:
        self.labels_title.show()
        self.labels.show()
        if best is None:
            self.labels.set_message("Best labels appear once the image model has loaded…")
        elif best:
            self.labels.set_rows([(name, ", ".join(f"{label} {score:.2f}" for label, score in best[name]))
                                  for name in sorted(best)])
        else:
            self.labels.set_message("No tag sets to compare with.")

    def show_error(self, message: str) -> None:
        self.tags_title.show()
        self.tags.show()
        self.tags.set_message(f"<i>{html.escape(message)}</i>", message)

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
