"""The files that could not be read, and why: a sortable, filterable table."""

from __future__ import annotations

import os
import sys
from datetime import datetime

from PySide6.QtCore import QDateTime, QLocale, QProcess, QSortFilterProxyModel, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.catalog import Problem
from photoclip.core.paths import display_path

SortRole = Qt.ItemDataRole.UserRole + 1   # value the column sorts by
IndexRole = Qt.ItemDataRole.UserRole + 2  # position in the list the dialog was given
# (paths are looked up by position: a str with surrogate escapes does not survive a trip through Qt)

COL_NAME, COL_FOLDER, COL_REASON, COL_WHEN = range(4)
HEADERS = ("File", "Folder", "Reason", "When")


def format_when(when: float) -> str:
    """A time in the user's locale's short format; under the "C" locale (no LANG set), whose
    short format reads "2 12 2026 17:34", ISO 8601 instead."""
    dt = QDateTime.fromMSecsSinceEpoch(int(when * 1000))
    locale = QLocale()
    if locale.language() == QLocale.Language.C:
        return dt.toString("yyyy-MM-dd HH:mm")
    return locale.toString(dt, QLocale.FormatType.ShortFormat)


def problems_as_text(problems: list[Problem]) -> str:
    """One line per file: full path, a tab, the reason, a tab, when (ISO, local time)."""
    lines = []
    for p in problems:
        when = datetime.fromtimestamp(p.when).strftime("%Y-%m-%d %H:%M") if p.when else ""
        lines.append(f"{display_path(p.path)}\t{p.reason}\t{when}")
    return "\n".join(lines) + ("\n" if lines else "")


class ProblemsDialog(QDialog):
    """Lists ``problems`` (Problem(path, reason, when)); non-modal friendly, read-only."""

    def __init__(self, problems: list[Problem], parent: QWidget | None = None):
        super().__init__(parent)
        self._problems = list(problems)
        self.setWindowTitle("Files that could not be read")
        self.setAccessibleName(self.windowTitle())
        self.resize(820, 440)

        n = len(self._problems)
        intro = QLabel(
            "These files were skipped while indexing. They are left untouched; photoclip tries them "
            "again when they change." if n else "Every file could be read. Nothing to show.", self)
        intro.setWordWrap(True)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter by name, folder or reason")
        self.filter_edit.setAccessibleName("Filter problems")
        self.filter_edit.setClearButtonEnabled(True)
        self.count_label = QLabel(self)

        self.model = QStandardItemModel(0, len(HEADERS), self)
        self.model.setHorizontalHeaderLabels(list(HEADERS))
        for i, p in enumerate(self._problems):
            self.model.appendRow(self._row(i, p))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Problem files")
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_FOLDER, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_REASON, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_WHEN, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(COL_NAME, 180)
        self.table.setColumnWidth(COL_FOLDER, 240)
        self.table.sortByColumn(COL_WHEN, Qt.SortOrder.DescendingOrder)
        self.table.doubleClicked.connect(lambda _index: self._show_selected())

        self.copy_button = QPushButton("&Copy list", self)
        self.copy_button.setToolTip("Copy the listed files and reasons as plain text")
        self.copy_button.setAutoDefault(False)
        self._copied_timer = QTimer(self)
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(1500)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText("&Copy list"))
        self.show_button = QPushButton("&Show in folder", self)
        self.show_button.setToolTip("Open the folder that holds the selected file")
        self.show_button.setAutoDefault(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.show_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_list)
        self.show_button.clicked.connect(self._show_selected)

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        root = QVBoxLayout(self)
        root.addWidget(intro)
        root.addLayout(top)
        root.addWidget(self.table, 1)
        root.addWidget(self.buttons)

        self.filter_edit.textChanged.connect(self._on_filter)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.filter_edit.setFocus)
        if not n:  # nothing to list: just say so
            for w in (self.filter_edit, self.count_label, self.table, self.copy_button, self.show_button):
                w.hide()
            self.resize(420, 120)
        QWidget.setTabOrder(self.filter_edit, self.table)
        QWidget.setTabOrder(self.table, self.copy_button)
        QWidget.setTabOrder(self.copy_button, self.show_button)
        self._update_count()
        self._update_buttons()
        (self.table if n else self.buttons.button(QDialogButtonBox.StandardButton.Close)).setFocus()

    @staticmethod
    def _row(index: int, p: Problem) -> list[QStandardItem]:
        shown = display_path(p.path)
        folder, name = os.path.split(shown)
        when = format_when(p.when) if p.when else ""
        items = []
        for text, sort, tip in ((name, name.casefold(), shown), (folder, folder.casefold(), shown),
                                (p.reason, p.reason.casefold(), p.reason), (when, float(p.when or 0.0), when)):
            item = QStandardItem(text)
            item.setData(sort, SortRole)
            item.setData(index, IndexRole)
            item.setToolTip(tip)
            items.append(item)
        return items

    # -- reading the table ----------------------------------------------------------------------

    def visible_problems(self) -> list[Problem]:
        """The rows the filter lets through, in the table's current order."""
        return [self._problems[self.proxy.index(r, 0).data(IndexRole)] for r in range(self.proxy.rowCount())]

    def selected_path(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self._problems[rows[0].data(IndexRole)].path if rows else None

    def copy_list(self) -> None:
        """Put the listed (filtered) problems on the clipboard as plain text."""
        QGuiApplication.clipboard().setText(problems_as_text(self.visible_problems()))
        self.copy_button.setText("Copied")
        self._copied_timer.start()

    # -- reactions --------------------------------------------------------------------------------

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._update_count()
        self._update_buttons()

    def _update_count(self) -> None:
        total, shown = len(self._problems), self.proxy.rowCount()
        noun = "file" if total == 1 else "files"
        self.count_label.setText(f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}")

    def _update_buttons(self, *args) -> None:
        self.show_button.setEnabled(self.selected_path() is not None)
        self.copy_button.setEnabled(self.proxy.rowCount() > 0)

    def _show_selected(self) -> None:
        path = self.selected_path()
        if path is not None:
            self.show_in_folder(path)

    def show_in_folder(self, path: str) -> None:
        """Reveal ``path`` in the system file manager (selecting it where the platform can). Tests override this."""
        if sys.platform == "darwin" and os.path.exists(path):
            QProcess.startDetached("open", ["-R", path])
        elif sys.platform == "win32" and os.path.exists(path):
            QProcess.startDetached("explorer", ["/select,", os.path.normpath(path)])
        else:
            folder = os.path.dirname(path)
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder if os.path.isdir(folder) else path))
