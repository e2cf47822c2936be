"""The small modal questions and the desktop's launchers, as plain functions tests can replace."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QProcess, QStandardPaths, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.paths import display_path


def ask_folder(parent: QWidget, caption: str = "Add a folder to the library") -> str:
    start = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return QFileDialog.getExistingDirectory(parent, caption, start)


def ask_save_path(parent: QWidget, caption: str, default: str, name_filter: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, caption, default, name_filter)
    return path


def ask_choice(parent: QWidget, title: str, label: str, choices: list[str]) -> str:
    """One of ``choices``, or "" when the user cancels."""
    choice, ok = QInputDialog.getItem(parent, title, label, choices, 0, False)
    return choice if ok else ""


def run_dialog(dialog: QDialog) -> bool:
    """Run a modal dialog; True when accepted."""
    return dialog.exec() == QDialog.DialogCode.Accepted


def show_error(parent: QWidget, title: str, message: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()  # window-modal, does not block the event loop


def confirm(parent: QWidget, title: str, message: str, ok_text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, message, QMessageBox.StandardButton.Cancel, parent)
    ok = box.addButton(ok_text, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(ok)
    box.exec()
    return box.clickedButton() is ok


def confirm_remove(parent: QWidget, path: str) -> bool:
    return confirm(parent, "Remove folder",
                   f"Remove {display_path(path)} from the library?\n\nIts photos disappear from photoclip; "
                   "the files on disk are not touched.", "Remove")


class LabelDialog(QDialog):
    """Asks for a tag's label, completing it from the labels the library has (any part, any case)."""

    def __init__(self, parent: QWidget, title: str, text: str, labels: list[str], ok_text: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("labelDialog")
        layout = QVBoxLayout(self)
        prompt = QLabel(text, self)
        prompt.setWordWrap(True)
        layout.addWidget(prompt)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("a label, e.g. our cabin")
        completer = QCompleter(labels, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.edit.setCompleter(completer)
        layout.addWidget(self.edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok = buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setEnabled(False)
        self.edit.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(360, self.sizeHint().height())

    def label(self) -> str:
        return self.edit.text().strip()


def ask_label(parent: QWidget, title: str, text: str, labels: list[str], ok_text: str = "OK") -> str:
    """A label typed (with completion over ``labels``), or "" when the user cancels."""
    dialog = LabelDialog(parent, title, text, labels, ok_text)
    return dialog.label() if run_dialog(dialog) else ""


def confirm_trash(parent: QWidget, count: int) -> bool:
    """Asked once before photos go to the trash."""
    what = "this photo" if count == 1 else f"these {count:,} photos"
    return confirm(parent, "Move to trash",
                   f"Move {what} to the trash?\n\nThe files go to your system's trash, from where they can be "
                   "restored; a RAW+JPEG pair goes together. photoclip forgets them.", "Move to trash")


def open_path(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> bool:
    """Reveal ``path`` in the system file manager (selects it where the platform allows)."""
    if sys.platform == "darwin":
        return QProcess.startDetached("open", ["-R", path])[0]
    if sys.platform == "win32":
        return QProcess.startDetached("explorer", ["/select,", os.path.normpath(path)])[0]
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
