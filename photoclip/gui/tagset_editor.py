"""The dialog that creates or edits one tag set (name, labels, mode, threshold, templates)."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.tagging import DEFAULT_TEMPLATES, DEFAULT_THRESHOLD, TagSet, clean_labels, template_problem

THRESHOLD_MIN = 5     # percent
THRESHOLD_MAX = 95


def parse_lines(text: str) -> list[str]:
    """One entry per line, as the core keeps a set's labels (blank lines and repeats dropped)."""
    return clean_labels(text.splitlines())


def threshold_to_slider(threshold: float) -> int:
    return max(THRESHOLD_MIN, min(THRESHOLD_MAX, int(round(threshold * 100))))


def slider_to_threshold(value: int) -> float:
    return round(value / 100.0, 2)


class MessageLabel(QWidget):
    """A warning icon and a wrapped message; hidden when there is nothing to say, its room kept
    (two lines) so the dialog does not jump while the user types."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size))
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._text = QLabel(self)
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._icon)
        layout.addWidget(self._text, 1)
        self._text.setMinimumHeight(2 * self._text.fontMetrics().lineSpacing())
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        self._message = ""
        self.hide()

    def set_message(self, message: str) -> None:
        self._message = message
        self._text.setText(message)
        self._text.setAccessibleName(message)
        self.setVisible(bool(message))

    def message(self) -> str:
        return self._message


class TagSetEditor(QDialog):
    """Create a tag set (``tag_set`` None) or edit one. ``existing_names`` are the names in use."""

    deleteRequested = Signal(str)

    def __init__(self, tag_set: TagSet | None, existing_names: set[str], parent: QWidget | None = None):
        super().__init__(parent)
        self._original = tag_set
        self._taken = {n.casefold() for n in existing_names}
        if tag_set is not None:
            self._taken.discard(tag_set.name.casefold())
        self.setWindowTitle(f"Edit tag set “{tag_set.name}”" if tag_set else "New tag set")
        self.setAccessibleName(self.windowTitle())
        self.setMinimumWidth(480)

        # Name
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("e.g. scenes")
        self.name_edit.setAccessibleName("Tag set name")
        self.name_edit.setMaxLength(80)

        # Labels
        self.labels_edit = QPlainTextEdit(self)
        self.labels_edit.setAccessibleName("Labels, one per line")
        self.labels_edit.setPlaceholderText("beach\nmountains\ncity street\nforest")
        self.labels_edit.setTabChangesFocus(True)
        self.labels_edit.setMinimumHeight(110)
        labels_hint = QLabel("One label per line, as you would finish “a photo of a …”.", self)
        labels_hint.setWordWrap(True)
        make_secondary(labels_hint)

        # Mode
        self.single_radio = QRadioButton("Single best label", self)
        self.single_radio.setToolTip("Each photo gets the one label of this set that fits it best.")
        self.single_radio.setAccessibleDescription(self.single_radio.toolTip())
        self.multi_radio = QRadioButton("Every matching label", self)
        self.multi_radio.setToolTip("Each photo gets every label that scores at least the threshold.")
        self.multi_radio.setAccessibleDescription(self.multi_radio.toolTip())
        self._mode_group = QButtonGroup(self)
        self._mode_group.addButton(self.single_radio)
        self._mode_group.addButton(self.multi_radio)
        mode_box = QVBoxLayout()
        mode_box.setSpacing(2)
        mode_box.addWidget(self.single_radio)
        mode_box.addWidget(self.multi_radio)

        self.threshold_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.threshold_slider.setRange(THRESHOLD_MIN, THRESHOLD_MAX)
        self.threshold_slider.setSingleStep(1)
        self.threshold_slider.setPageStep(5)
        self.threshold_slider.setTickInterval(10)
        self.threshold_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.threshold_slider.setAccessibleName("Threshold")
        self.threshold_value = QLabel(self)
        self.threshold_value.setMinimumWidth(self.fontMetrics().horizontalAdvance("100 %") + 4)
        self.threshold_value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self.threshold_slider, 1)
        threshold_row.addWidget(self.threshold_value)
        self.threshold_label = QLabel("&Threshold:", self)
        self.threshold_label.setBuddy(self.threshold_slider)
        # single mode: the set's own "none of these" score (the library's setting by default)
        self.abstain_spin = QDoubleSpinBox(self)
        self.abstain_spin.setRange(-0.01, 0.99)
        self.abstain_spin.setSingleStep(0.05)
        self.abstain_spin.setDecimals(2)
        self.abstain_spin.setSpecialValueText("As in Preferences")
        self.abstain_spin.setAccessibleName("Give no label when the best scores below")
        self.abstain_spin.setToolTip("One label per photo, unless even the best label scores below this: then "
                                     "none (“none of these”). “As in Preferences” follows the library's setting.")
        self.abstain_label = QLabel("No label &below:", self)
        self.abstain_label.setBuddy(self.abstain_spin)
        self.threshold_hint = QLabel("Lower tags more photos; higher tags only clear matches.", self)
        self.threshold_hint.setWordWrap(True)
        make_secondary(self.threshold_hint)

        self.enabled_check = QCheckBox("&Enabled — tag photos with this set", self)
        self.enabled_check.setAccessibleName("Enabled")

        # Advanced: templates
        self.advanced_toggle = QToolButton(self)
        self.advanced_toggle.setText("Advanced: prompt templates")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced_toggle.setStyleSheet("QToolButton { border: none; padding: 2px 0; }")  # a disclosure link, not a pressed button
        self.advanced_toggle.setAccessibleName("Show advanced prompt templates")
        self.advanced_panel = QWidget(self)
        adv = QVBoxLayout(self.advanced_panel)
        adv.setContentsMargins(18, 0, 0, 0)
        # No word wrap in this panel (explicit line break instead): a height-for-width widget here
        # made the dialog's layout squeeze the rows above it on top of each other.
        adv_hint = QLabel("Sentences the labels are put into, one per line; {} marks where the label goes.\n"
                          "Leave empty to use the default set shown in grey.", self.advanced_panel)
        make_secondary(adv_hint)
        self.templates_edit = QPlainTextEdit(self.advanced_panel)
        self.templates_edit.setAccessibleName("Prompt templates, one per line")
        self.templates_edit.setPlaceholderText("\n".join(DEFAULT_TEMPLATES))
        self.templates_edit.setTabChangesFocus(True)
        self.templates_edit.setMinimumHeight(90)
        self.templates_error = MessageLabel(self)
        self.templates_error.setContentsMargins(18, 0, 0, 0)
        adv.addWidget(adv_hint)
        adv.addWidget(self.templates_edit)
        self.advanced_panel.setVisible(False)

        # Problems and buttons
        self.error_label = MessageLabel(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Save" if tag_set else "Create")
        self.ok_button.setDefault(True)
        self.delete_button: Optional[QPushButton] = None
        if tag_set is not None:
            self.delete_button = QPushButton("&Delete tag set…", self)
            self.delete_button.setAutoDefault(False)
            self.delete_button.setAccessibleName("Delete tag set")
            self.buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.DestructiveRole)
            self.delete_button.clicked.connect(self._on_delete)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        # A grid rather than a QFormLayout: QFormLayout under-counts the minimum height of rows
        # next to word-wrapped hints, which let the labels box overlap the rows below it.
        form = QGridLayout()
        form.setColumnStretch(1, 1)
        form.setVerticalSpacing(6)
        top_left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        rows = [
            (_buddy_label("&Name:", self.name_edit, self), self.name_edit),
            (_buddy_label("&Labels:", self.labels_edit, self), self.labels_edit),
            (None, labels_hint),
            (QLabel("Mode:", self), mode_box),
            (self.threshold_label, threshold_row),
            (None, self.threshold_hint),
            (self.abstain_label, self.abstain_spin),
            (None, self.enabled_check),
        ]
        for r, (label, field) in enumerate(rows):
            if label is not None:
                align = top_left if field is self.labels_edit or field is mode_box else (
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                form.addWidget(label, r, 0, align)
            if isinstance(field, QWidget):
                form.addWidget(field, r, 1)
            else:
                form.addLayout(field, r, 1)
        form.setRowStretch(1, 1)

        root = QVBoxLayout(self)
        root.addLayout(form, 2)
        root.addWidget(self.advanced_toggle)
        root.addWidget(self.advanced_panel, 1)
        root.addWidget(self.templates_error)
        root.addWidget(self.error_label)
        root.addWidget(self.buttons)

        # Tab order follows reading order.
        order = [self.name_edit, self.labels_edit, self.single_radio, self.multi_radio,
                 self.threshold_slider, self.abstain_spin, self.enabled_check, self.advanced_toggle, self.templates_edit]
        if self.delete_button is not None:
            order.append(self.delete_button)
        order += [self.ok_button, self.buttons.button(QDialogButtonBox.StandardButton.Cancel)]
        for a, b in zip(order, order[1:]):
            QWidget.setTabOrder(a, b)

        # Ctrl+Enter saves even while typing in a multi-line box.
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(seq), self, activated=self._accept_if_valid)

        self._load(tag_set)
        # A new set says what it needs only once the user has typed something (the OK button's
        # tooltip says it from the start); an existing set's problems show at once.
        self._typed = tag_set is not None
        for edit in (self.name_edit, self.labels_edit, self.templates_edit):
            edit.textChanged.connect(self._on_typed)
        self._mode_group.buttonToggled.connect(self._on_mode_changed)
        self.threshold_slider.valueChanged.connect(self._on_threshold_changed)
        self.advanced_toggle.toggled.connect(self._set_advanced_visible)
        self._on_mode_changed()
        self._on_threshold_changed(self.threshold_slider.value())
        self._validate()
        self.name_edit.setFocus()

    # -- loading and reading back -------------------------------------------------------------

    def _load(self, ts: TagSet | None) -> None:
        if ts is None:
            self.single_radio.setChecked(True)
            self.threshold_slider.setValue(threshold_to_slider(DEFAULT_THRESHOLD))
            self.abstain_spin.setValue(self.abstain_spin.minimum())
            self.enabled_check.setChecked(True)
            return
        self.name_edit.setText(ts.name)
        self.labels_edit.setPlainText("\n".join(ts.labels))
        (self.multi_radio if ts.mode == "multi" else self.single_radio).setChecked(True)
        self.threshold_slider.setValue(threshold_to_slider(ts.threshold))
        self.abstain_spin.setValue(self.abstain_spin.minimum() if ts.abstain is None else float(ts.abstain))
        self.enabled_check.setChecked(bool(ts.enabled))
        if ts.templates:
            self.templates_edit.setPlainText("\n".join(ts.templates))
            self.advanced_toggle.setChecked(True)
            self._set_advanced_visible(True)

    @property
    def original_name(self) -> Optional[str]:
        """The name of the set being edited (None for a new set); differs from the result's on rename."""
        return self._original.name if self._original is not None else None

    def name(self) -> str:
        return " ".join(self.name_edit.text().split())

    def labels(self) -> list[str]:
        return parse_lines(self.labels_edit.toPlainText())

    def templates(self) -> list[str]:
        return parse_lines(self.templates_edit.toPlainText())

    def mode(self) -> str:
        return "multi" if self.multi_radio.isChecked() else "single"

    def threshold(self) -> float:
        return slider_to_threshold(self.threshold_slider.value())

    def abstain(self) -> Optional[float]:
        """The set's own abstain score, None for the library's (the spin box's lowest step)."""
        value = self.abstain_spin.value()
        return None if value <= self.abstain_spin.minimum() else round(float(value), 2)

    def result_tag_set(self) -> TagSet:
        return TagSet(
            name=self.name(),
            labels=self.labels(),
            mode=self.mode(),
            threshold=self.threshold(),
            templates=self.templates() or None,
            enabled=self.enabled_check.isChecked(),
            id=self._original.id if self._original is not None else None,
            abstain=self.abstain() if self.mode() == "single" else (
                self._original.abstain if self._original is not None else None),
        )

    # -- validation -------------------------------------------------------------------------

    def problem(self) -> str:
        """Why the current input cannot be saved ("" when it can)."""
        why = self.result_tag_set().problem(taken_names=self._taken)
        if why and why in {template_problem(t) for t in self.templates()}:
            return "A prompt template needs fixing (see Advanced)."
        return why

    def _on_typed(self, *_args) -> None:
        self._typed = True
        self._validate()

    def _validate(self) -> None:
        template_msgs = [m for m in (template_problem(t) for t in self.templates()) if m]
        self.templates_error.set_message(template_msgs[0] if template_msgs else "")
        if template_msgs and not self.advanced_toggle.isChecked():
            self.advanced_toggle.setChecked(True)
        why = self.problem()
        self.error_label.set_message(why if self._typed else "")
        self.ok_button.setEnabled(not why)
        self.ok_button.setToolTip(why)

    def _accept_if_valid(self) -> None:
        if self.ok_button.isEnabled():
            self.accept()

    def accept(self) -> None:  # noqa: D401 - Qt override
        if self.problem():
            return
        super().accept()

    # -- reactions ----------------------------------------------------------------------------

    def _on_mode_changed(self, *args) -> None:
        multi = self.multi_radio.isChecked()
        for w in (self.threshold_slider, self.threshold_value, self.threshold_label, self.threshold_hint):
            w.setEnabled(multi)
        for w in (self.abstain_spin, self.abstain_label):
            w.setEnabled(not multi)

    def _on_threshold_changed(self, value: int) -> None:
        text = f"{value} %"
        self.threshold_value.setText(text)
        self.threshold_slider.setAccessibleDescription(f"Labels scoring at least {text} are given")
        self.threshold_slider.setToolTip(f"Give every label scoring at least {text}")

    def _set_advanced_visible(self, visible: bool) -> None:
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if visible else Qt.ArrowType.RightArrow)
        self.advanced_panel.setVisible(visible)
        self.advanced_toggle.setAccessibleName(
            "Hide advanced prompt templates" if visible else "Show advanced prompt templates")
        if self.isVisible():
            fit_height(self)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        fit_height(self)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            fit_height(self, grow=False)

    def _on_delete(self) -> None:
        name = self.original_name
        if name is None:
            return
        if self.confirm_delete(name):
            self.deleteRequested.emit(name)
            self.reject()

    def confirm_delete(self, name: str) -> bool:
        """Ask before deleting; tests override this."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete tag set",
                          f"Delete the tag set “{name}” and its tags on all photos?",
                          QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("Your photos are not touched. You can create the set again later.")
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is delete


def fit_height(dialog: QWidget, grow: bool = True) -> None:
    """Keep a dialog with word-wrapped text at least as tall as its layout needs at its width.

    Qt does not enforce height-for-width on windows, and adjustSize() caps a window at 2/3 of the
    screen height, which squeezed rows on top of each other on small screens.
    """
    lay = dialog.layout()
    if lay is None:
        return
    width = dialog.width()
    if lay.hasHeightForWidth():
        minimum = lay.totalMinimumHeightForWidth(width)
        preferred = lay.totalHeightForWidth(width)
    else:
        minimum = lay.totalMinimumSize().height()
        preferred = lay.totalSizeHint().height()
    screen = dialog.screen()
    limit = screen.availableGeometry().height() - 40 if screen is not None else preferred
    minimum = min(minimum, limit)
    if dialog.minimumHeight() != minimum:
        dialog.setMinimumHeight(minimum)
    if grow and dialog.height() < min(preferred, limit):
        dialog.resize(width, min(preferred, limit))


def _buddy_label(text: str, buddy: QWidget, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    return label


def make_secondary(label: QLabel) -> None:
    """Slightly smaller text in the palette's secondary-text colour, for hints under a field.

    Uses a palette role (not a colour), so it follows light/dark palette changes.
    """
    font = label.font()
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * 0.92)
    label.setFont(font)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
