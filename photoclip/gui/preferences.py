"""Preferences: which image model, on which device, in which precision, with how many CPU threads."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from photoclip.core import onnx_tower, paths
from photoclip.core.config import CURATED_MODELS, PRECISIONS, Settings
from photoclip.gui.tagset_editor import MessageLabel, fit_height, make_secondary

WEIGHTS_EXTENSIONS = (".pt", ".pth", ".bin", ".safetensors")
WEIGHTS_FILTER = "Model weights (*.pt *.pth *.bin *.safetensors);;All files (*)"
CONFIG_FILTER = "open_clip model config (*.json);;All files (*)"

# What each curated choice means for the user, by its label in config.CURATED_MODELS. Speed ratios
# measured on CPU (image encoder, random weights, 2 threads): B-16 2.7x, L-14 10.6x the time of B-32-256.
_DESCRIPTIONS = {
    "Fast": "Quickest to index; good for most libraries.",
    "Balanced": "More accurate; indexing takes about 3× as long as Fast.",
    "Best": "Most accurate; indexing takes about 10× as long as Fast (best with a GPU).",
}

DEVICE_CHOICES = [("auto", "Automatic (a GPU if there is one, else the CPU)"), ("cpu", "CPU")]
if sys.platform == "darwin":
    DEVICE_CHOICES.append(("mps", "GPU (Apple Metal)"))
else:
    DEVICE_CHOICES.append(("cuda", "GPU (NVIDIA CUDA)"))
_DEVICE_NAMES = {"auto": "Automatic", "cpu": "CPU", "cuda": "GPU (NVIDIA CUDA)", "mps": "GPU (Apple Metal)"}

# The model's number format (config.PRECISIONS); the rules of "auto" live in core/embedder.py.
PRECISION_CHOICES = {
    "auto": "Automatic (bf16 where the CPU has it, fp16 on NVIDIA)",
    "fp32": "fp32 (full precision)",
    "bf16": "bf16 (about 2× faster on CPUs with native bf16)",
    "fp16": "fp16 (NVIDIA GPU)",
}
assert tuple(PRECISION_CHOICES) == PRECISIONS

LOCAL = "local"
CURRENT = "current"


def looks_like_weights_file(pretrained: str) -> bool:
    return pretrained.lower().endswith(WEIGHTS_EXTENSIONS) or os.sep in pretrained or "/" in pretrained


class PreferencesDialog(QDialog):
    """Edit the model/device/thread settings; ``result_settings()`` returns the edited copy."""

    def __init__(self, settings: Settings, parent: QWidget | None = None, *,
                 precision_in_use: Optional[str] = None):
        super().__init__(parent)
        self._settings = settings
        self.setWindowTitle("Preferences")
        self.setAccessibleName("Preferences")
        self.setMinimumWidth(560)

        # -- model ----------------------------------------------------------------------------
        model_box = QGroupBox("Image model", self)
        grid = QGridLayout(model_box)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(2)
        self._choice_group = QButtonGroup(self)
        self.model_radios: dict[str, QRadioButton] = {}
        row = 0
        for label, model, pretrained, size in CURATED_MODELS:
            radio = QRadioButton(f"{label} — {model}", model_box)
            radio.setAccessibleName(f"{label} model: {model}, about {size} download")
            size_label = QLabel(f"about {size} download", model_box)
            size_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            make_secondary(size_label)
            desc = QLabel(_DESCRIPTIONS.get(label, f"{model} ({pretrained})"), model_box)
            desc.setWordWrap(True)
            make_secondary(desc)
            desc.setContentsMargins(_indent(radio), 0, 0, 6)
            grid.addWidget(radio, row, 0, 1, 2)
            grid.addWidget(size_label, row, 2)
            grid.addWidget(desc, row + 1, 0, 1, 3)
            row += 2
            self._add_choice(label, radio)

        # A model set elsewhere (CLI, settings.json) that is neither curated nor a local file.
        self.current_radio: Optional[QRadioButton] = None
        if self._classify(settings) == CURRENT:
            self.current_radio = QRadioButton(f"Keep the current model — {settings.model} / {settings.pretrained}", model_box)
            self.current_radio.setAccessibleName("Keep the current model")
            grid.addWidget(self.current_radio, row, 0, 1, 3)
            row += 1
            self._add_choice(CURRENT, self.current_radio)

        self.local_radio = QRadioButton("Local weights file", model_box)
        self.local_radio.setAccessibleName("Use a local weights file")
        grid.addWidget(self.local_radio, row, 0, 1, 3)
        row += 1
        self._add_choice(LOCAL, self.local_radio)

        self.local_panel = QWidget(model_box)
        local_form = QFormLayout(self.local_panel)
        local_form.setContentsMargins(_indent(self.local_radio), 0, 0, 0)
        local_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.weights_edit = QLineEdit(self.local_panel)
        self.weights_edit.setPlaceholderText(".pt, .bin or .safetensors file")
        self.weights_edit.setAccessibleName("Weights file")
        self.weights_browse = QPushButton("Browse…", self.local_panel)
        self.weights_browse.setAccessibleName("Browse for a weights file")
        self.weights_browse.setAutoDefault(False)
        self.arch_combo = QComboBox(self.local_panel)
        self.arch_combo.setEditable(True)
        self.arch_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.arch_combo.setAccessibleName("Architecture")
        self.arch_combo.setToolTip("The open_clip model name the weights were trained for.")
        for _label, model, _pretrained, _size in CURATED_MODELS:
            if self.arch_combo.findText(model) < 0:
                self.arch_combo.addItem(model)
        self.config_edit = QLineEdit(self.local_panel)
        self.config_edit.setPlaceholderText("optional, for other architectures (.json)")
        self.config_edit.setAccessibleName("Model config file, optional")
        self.config_browse = QPushButton("Browse…", self.local_panel)
        self.config_browse.setAccessibleName("Browse for a model config file")
        self.config_browse.setAutoDefault(False)
        local_form.addRow("&Weights:", _row(self.weights_edit, self.weights_browse))
        local_form.addRow("&Architecture:", self.arch_combo)
        local_form.addRow("&Config:", _row(self.config_edit, self.config_browse))
        grid.addWidget(self.local_panel, row, 0, 1, 3)
        row += 1

        note = QLabel(
            "Changing the model re-indexes your photos in the background; search keeps working with "
            f"the current model until that is done.\nDownloaded weights are kept in {paths.display_path(str(paths.models_dir()))}",
            model_box)
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        make_secondary(note)
        note.setContentsMargins(0, 8, 0, 0)
        grid.addWidget(note, row, 0, 1, 3)

        # -- performance ----------------------------------------------------------------------
        perf_box = QGroupBox("Performance", self)
        perf = QFormLayout(perf_box)
        perf.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.device_combo = QComboBox(perf_box)
        self.device_combo.setAccessibleName("Device")
        for value, text in DEVICE_CHOICES:
            self.device_combo.addItem(text, value)
        if self.device_combo.findData(settings.device) < 0:
            self.device_combo.addItem(_DEVICE_NAMES.get(settings.device, settings.device), settings.device)
        self.threads_spin = QSpinBox(perf_box)
        self.threads_spin.setRange(0, 256)
        self.threads_spin.setSpecialValueText("Automatic")
        self.threads_spin.setAccessibleName("CPU threads, 0 for automatic")
        self.threads_spin.setMinimumWidth(self.fontMetrics().horizontalAdvance("Automatic") + 48)
        cores = os.cpu_count() or 1
        threads_hint = QLabel(f"0 = automatic. This computer has {cores} logical CPU core{'s' if cores != 1 else ''}.", perf_box)
        make_secondary(threads_hint)
        perf.addRow("&Device:", self.device_combo)
        self.precision_combo = QComboBox(perf_box)
        self.precision_combo.setAccessibleName("Precision")
        self.precision_combo.setToolTip("Automatic runs bf16 on a CPU with native bf16 (AVX512_BF16 or AMX) "
                                        "when it measures faster, fp16 on an NVIDIA GPU, else fp32. bf16 is "
                                        "checked against fp32 every time the model loads and is not used if it "
                                        "differs. Vectors made in any precision are searched together: no "
                                        "re-indexing.")
        for value, text in PRECISION_CHOICES.items():
            self.precision_combo.addItem(text, value)
        in_use = f"In use: {precision_in_use}. " if precision_in_use else ""
        self.precision_label = QLabel(in_use + "A change applies the next time the model loads.", perf_box)
        self.precision_label.setWordWrap(True)
        self.precision_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        make_secondary(self.precision_label)
        perf.addRow("&Precision:", self.precision_combo)
        perf.addRow(self.precision_label)
        perf.addRow("CPU &threads:", _row(self.threads_spin, threads_hint, stretch_last=True))
        self.onnx_check = QCheckBox("Run the image model with &ONNX Runtime on the CPU (faster; uses more memory)",
                                    perf_box)
        self.onnx_check.setAccessibleName("Run the image model with ONNX Runtime")
        if onnx_tower.available():
            self.onnx_check.setToolTip("The model's own image tower, exported once (a few seconds) and checked "
                                       "against torch when it loads; the model runs 1.1-1.3x faster, with about "
                                       "70 MB more memory. Used on the CPU only.")
        else:
            self.onnx_check.setEnabled(False)
            self.onnx_check.setToolTip("Needs ONNX Runtime: pip install photoclip[onnx]")
        perf.addRow("", self.onnx_check)
        self.watch_check = QCheckBox("&Watch library folders and pick up new, changed and deleted photos", perf_box)
        self.watch_check.setAccessibleName("Watch library folders for changes")
        perf.addRow("", self.watch_check)

        # -- tags in XMP sidecars ------------------------------------------------------------------
        xmp_box = QGroupBox("Tags in XMP sidecars", self)
        xmp_form = QFormLayout(xmp_box)
        xmp_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.xmp_naming_combo = QComboBox(xmp_box)
        self.xmp_naming_combo.setAccessibleName("Sidecar names")
        self.xmp_naming_combo.addItem("photo.jpg.xmp (darktable, digiKam)", "darktable")
        self.xmp_naming_combo.addItem("photo.xmp (Lightroom)", "lightroom")
        self.xmp_score_spin = QDoubleSpinBox(xmp_box)
        self.xmp_score_spin.setRange(0.0, 1.0)
        self.xmp_score_spin.setSingleStep(0.05)
        self.xmp_score_spin.setDecimals(2)
        self.xmp_score_spin.setAccessibleName("Write auto-tags scoring at least")
        self.xmp_score_spin.setToolTip("Confirmed tags and tags you added are always written, rejected ones never.")
        xmp_form.addRow("Sidecar &names:", self.xmp_naming_combo)
        xmp_form.addRow("&Auto-tags from score:", self.xmp_score_spin)

        # -- tags -------------------------------------------------------------------------------
        tags_box = QGroupBox("Tags", self)
        tags = QFormLayout(tags_box)
        self.abstain_spin = QDoubleSpinBox(tags_box)
        self.abstain_spin.setRange(0.0, 0.99)
        self.abstain_spin.setSingleStep(0.05)
        self.abstain_spin.setDecimals(2)
        self.abstain_spin.setSpecialValueText("Never")
        self.abstain_spin.setAccessibleName("Single-choice tag sets: no label when the best scores below")
        self.abstain_spin.setToolTip("A tag set that gives one label per photo gives none when its best label "
                                     "scores below this (0 = always a label). Applies the next time photos are tagged.")
        tags.addRow("One-label sets give &none below:", self.abstain_spin)

        # -- buttons ----------------------------------------------------------------------------
        self.error_label = MessageLabel(self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        root = QVBoxLayout(self)
        root.addWidget(model_box)
        root.addWidget(perf_box)
        root.addWidget(xmp_box)
        root.addWidget(tags_box)
        root.addWidget(self.error_label)
        root.addWidget(self.buttons)

        self._load(settings)
        self._choice_group.buttonToggled.connect(self._on_choice_changed)
        self.weights_edit.textChanged.connect(self._validate)
        self.config_edit.textChanged.connect(self._on_config_changed)
        self.arch_combo.currentTextChanged.connect(self._validate)
        self.weights_browse.clicked.connect(self._browse_weights)
        self.config_browse.clicked.connect(self._browse_config)
        self._on_config_changed()
        self._on_choice_changed()

        order = [b for b in self._choice_group.buttons()] + [
            self.weights_edit, self.weights_browse, self.arch_combo, self.config_edit, self.config_browse,
            self.device_combo, self.precision_combo, self.threads_spin, self.onnx_check, self.watch_check,
            self.xmp_naming_combo, self.xmp_score_spin, self.abstain_spin, self.ok_button,
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel)]
        for a, b in zip(order, order[1:]):
            QWidget.setTabOrder(a, b)

    # -- state ----------------------------------------------------------------------------------

    def _add_choice(self, key: str, radio: QRadioButton) -> None:
        radio.setProperty("choice", key)
        self._choice_group.addButton(radio)
        self.model_radios[key] = radio

    @staticmethod
    def _classify(settings: Settings) -> str:
        for label, model, pretrained, _size in CURATED_MODELS:
            if settings.model == model and settings.pretrained == pretrained:
                return label
        if settings.pretrained and looks_like_weights_file(settings.pretrained):
            return LOCAL
        return CURRENT

    def _load(self, s: Settings) -> None:
        kind = self._classify(s)
        self.model_radios[kind].setChecked(True)
        if kind == LOCAL:
            self.weights_edit.setText(s.pretrained)
            if s.model.lower().endswith(".json"):
                self.config_edit.setText(s.model)
            else:
                self.arch_combo.setCurrentText(s.model)
        else:
            # Pre-fill the architecture with the model in use, the likeliest match for local weights.
            model = s.model if not s.model.lower().endswith(".json") else CURATED_MODELS[0][1]
            self.arch_combo.setCurrentText(model)
        i = self.device_combo.findData(s.device)
        self.device_combo.setCurrentIndex(max(0, i))
        self.precision_combo.setCurrentIndex(max(0, self.precision_combo.findData(s.precision)))
        self.threads_spin.setValue(max(0, int(s.threads or 0)))
        self.onnx_check.setChecked(getattr(s, "image_backend", "torch") == "onnxruntime")
        self.watch_check.setChecked(bool(getattr(s, "watch", True)))
        self.xmp_naming_combo.setCurrentIndex(max(0, self.xmp_naming_combo.findData(s.xmp_naming)))
        self.xmp_score_spin.setValue(min(1.0, max(0.0, float(s.xmp_min_score))))
        self.abstain_spin.setValue(float(getattr(s, "abstain", 0.0)))

    def choice(self) -> str:
        """The checked model choice: a curated label ("Fast", ...), "local" or "current"."""
        checked = self._choice_group.checkedButton()
        return checked.property("choice") if checked is not None else CURATED_MODELS[0][0]

    def choose(self, key: str) -> None:
        self.model_radios[key].setChecked(True)

    def _model_and_pretrained(self) -> tuple[str, str]:
        key = self.choice()
        if key == LOCAL:
            config = self.config_edit.text().strip()
            model = config or self.arch_combo.currentText().strip()
            return model, self.weights_edit.text().strip()
        if key == CURRENT:
            return self._settings.model, self._settings.pretrained
        for label, model, pretrained, _size in CURATED_MODELS:
            if label == key:
                return model, pretrained
        raise AssertionError(key)

    def result_settings(self) -> Settings:
        model, pretrained = self._model_and_pretrained()
        return dataclasses.replace(
            self._settings,
            model=model,
            pretrained=pretrained,
            device=self.device_combo.currentData() or "auto",
            precision=self.precision_combo.currentData() or "auto",
            threads=int(self.threads_spin.value()),
            image_backend="onnxruntime" if self.onnx_check.isChecked() else "torch",
            watch=self.watch_check.isChecked(),
            xmp_naming=self.xmp_naming_combo.currentData() or "darktable",
            xmp_min_score=(self._settings.xmp_min_score
                           if round(self._settings.xmp_min_score, 2) == self.xmp_score_spin.value()
                           else float(self.xmp_score_spin.value())),
            abstain=round(float(self.abstain_spin.value()), 2),
        )

    def model_changed(self) -> bool:
        """True when the chosen model differs from the one the dialog was opened with (re-index needed)."""
        return self._model_and_pretrained() != (self._settings.model, self._settings.pretrained)

    def problem(self) -> str:
        if self.choice() != LOCAL:
            return ""
        weights = self.weights_edit.text().strip()
        if not weights:
            return "Choose the weights file (.pt, .bin or .safetensors)."
        if not os.path.isfile(weights):
            return f"There is no file at {paths.display_path(weights)}."
        if not weights.lower().endswith(WEIGHTS_EXTENSIONS):
            return "The weights file should end in .pt, .pth, .bin or .safetensors."
        config = self.config_edit.text().strip()
        if config:
            if not os.path.isfile(config):
                return f"There is no model config file at {paths.display_path(config)}."
            if not config.lower().endswith(".json"):
                return "The model config should be a .json file."
        elif not self.arch_combo.currentText().strip():
            return "Name the architecture of the weights, or choose a model config file."
        return ""

    def _validate(self, *args) -> None:
        why = self.problem()
        self.error_label.set_message(why)
        self.ok_button.setEnabled(not why)
        self.ok_button.setToolTip(why)

    def accept(self) -> None:
        if self.problem():
            return
        super().accept()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        fit_height(self)

    # -- reactions ------------------------------------------------------------------------------

    def _on_choice_changed(self, *args) -> None:
        self.local_panel.setEnabled(self.choice() == LOCAL)
        self._validate()

    def _on_config_changed(self, *args) -> None:
        has_config = bool(self.config_edit.text().strip())
        self.arch_combo.setEnabled(not has_config)
        self.arch_combo.setToolTip("Set by the model config file." if has_config
                                   else "The open_clip model name the weights were trained for.")
        self._validate()

    def _start_dir(self, current: str) -> str:
        current = current.strip()
        if current and os.path.isdir(os.path.dirname(current)):
            return os.path.dirname(current)
        return os.path.expanduser("~")

    def _browse_weights(self) -> None:
        path = self.choose_file("Choose model weights", WEIGHTS_FILTER, self._start_dir(self.weights_edit.text()))
        if path:
            self.weights_edit.setText(path)
            self.local_radio.setChecked(True)

    def _browse_config(self) -> None:
        path = self.choose_file("Choose an open_clip model config", CONFIG_FILTER, self._start_dir(self.config_edit.text()))
        if path:
            self.config_edit.setText(path)
            self.local_radio.setChecked(True)

    def choose_file(self, title: str, name_filter: str, start_dir: str) -> str:
        """Ask for a file to open; "" when cancelled. Tests override this."""
        path, _ = QFileDialog.getOpenFileName(self, title, start_dir, name_filter)
        return path


def _indent(radio: QRadioButton) -> int:
    """Horizontal offset of a radio button's text, so text below it lines up."""
    from PySide6.QtWidgets import QStyle, QStyleOptionButton

    opt = QStyleOptionButton()
    opt.initFrom(radio)
    return radio.style().subElementRect(QStyle.SubElement.SE_RadioButtonContents, opt, radio).left()


def _row(*widgets: QWidget, stretch_last: bool = False) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        stretch = 1 if (i == 0 and not stretch_last) or (stretch_last and i == len(widgets) - 1) else 0
        layout.addWidget(w, stretch)
    return box
