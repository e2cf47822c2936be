"""The filter bar above the grid: date range, camera, place and kind of file.

It narrows browsing and search alike (the Browser adds it to the sidebar's choice), shows which
filters are on, and clears them in one click. It only fills in a ``PhotoFilter``; the catalog
does the filtering.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from photoclip.core.filters import ALL_PHOTOS, PhotoFilter

from .flow_layout import FlowLayout

#: a date edit at this date means "no limit" (shown as ANY_DATE)
_NO_DATE = QDate(1800, 1, 1)
ANY_DATE = "any"
KIND_NAMES = (("raw", "RAW"), ("jpeg", "JPEG"), ("heic", "HEIC"), ("png", "PNG"), ("other", "Other"))
#: typing in the place box filters after this pause
PLACE_DEBOUNCE_MS = 300


#: the grid's orders: (value for the core, name); relevance only while searching
BROWSE_SORTS = (("taken", "Newest first"), ("name", "By name"), ("size", "Largest first"))
SEARCH_SORTS = (("relevance", "Best match"),) + BROWSE_SORTS


class FilterBar(QWidget):
    changed = Signal(object)  # PhotoFilter with the bar's fields (after, before, camera, place, kind)
    sortChanged = Signal(str)  # one of the BROWSE_SORTS / SEARCH_SORTS values

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        self.setAccessibleName("Filters")
        layout = FlowLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

        self.after = self._date_edit("Taken on or after this day (empty: any time)")
        self.before = self._date_edit("Taken on or before this day (empty: any time)")
        self.camera = QComboBox(self)
        self.camera.setToolTip("Only photos from this camera")
        self.camera.setAccessibleName("Camera")
        self.camera.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.camera.setMinimumContentsLength(8)
        self.place = QComboBox(self)
        self.place.setEditable(True)
        self.place.setToolTip("Only photos taken at a place whose name contains this (from their GPS position)")
        self.place.setAccessibleName("Place")
        self.place.setMinimumContentsLength(8)
        self.place.lineEdit().setPlaceholderText("Any place")
        self.place.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.kind = QComboBox(self)
        self.kind.setToolTip("Only this kind of file")
        self.kind.setAccessibleName("Kind of file")
        self.kind.addItem("Any kind", None)
        for value, name in KIND_NAMES:
            self.kind.addItem(name, value)
        self.sort = QComboBox(self)
        self.sort.setToolTip("The order of the photos (kept while more arrive)")
        self.sort.setAccessibleName("Sort")
        self._browse_sort, self._search_sort = "taken", "relevance"
        self._searching = False
        self._fill_sorts()
        self.sort.currentIndexChanged.connect(self._sort_chosen)
        self.clear_button = QToolButton(self)
        self.clear_button.setText("Clear filters")
        self.clear_button.setToolTip("Show photos of any date, camera, place and kind again")
        self.clear_button.setAutoRaise(True)
        self.clear_button.clicked.connect(self.clear)

        # The boxes say what they are ("Any camera"); only the dates need a word. In a narrow
        # window the bar wraps onto a second row rather than squeezing the grid.
        def pair(text: str, edit: QDateEdit) -> QWidget:
            box = QWidget(self)
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(4)
            label = QLabel(text, box)
            label.setBuddy(edit)
            row.addWidget(label)
            row.addWidget(edit)
            return box

        for widget in (pair("&Taken", self.after), pair("–", self.before), self.camera, self.place, self.kind,
                       self.sort, self.clear_button):
            layout.addWidget(widget)

        self._place_timer = QTimer(self)
        self._place_timer.setSingleShot(True)
        self._place_timer.setInterval(PLACE_DEBOUNCE_MS)
        self._place_timer.timeout.connect(self._emit)
        self.set_choices({}, {})
        self.after.dateChanged.connect(self._emit)
        self.before.dateChanged.connect(self._emit)
        self.camera.currentIndexChanged.connect(self._emit)
        self.kind.currentIndexChanged.connect(self._emit)
        self.place.lineEdit().textEdited.connect(lambda _text: self._place_timer.start())
        self.place.activated.connect(lambda _i: self._emit())
        self._current: PhotoFilter = ALL_PHOTOS
        self._show_active()

    # ---- order ---------------------------------------------------------------------------------
    @property
    def sort_order(self) -> str:
        """The order chosen for what the grid shows now (browsing and searching each keep their own)."""
        return self._search_sort if self._searching else self._browse_sort

    def set_searching(self, searching: bool) -> None:
        """Searching offers "Best match" (and starts with it); browsing does not."""
        if searching != self._searching:
            self._searching = searching
            self._fill_sorts()

    def _fill_sorts(self) -> None:
        self.sort.blockSignals(True)
        try:
            self.sort.clear()
            for value, name in (SEARCH_SORTS if self._searching else BROWSE_SORTS):
                self.sort.addItem(name, value)
            self.sort.setCurrentIndex(max(0, self.sort.findData(self.sort_order)))
        finally:
            self.sort.blockSignals(False)

    def _sort_chosen(self, _index: int) -> None:
        value = self.sort.currentData()
        if value is None or value == self.sort_order:
            return
        if self._searching:
            self._search_sort = value
        else:
            self._browse_sort = value
        self.sortChanged.emit(value)

    def _date_edit(self, tip: str) -> QDateEdit:
        edit = QDateEdit(self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(_NO_DATE)
        edit.setSpecialValueText(ANY_DATE)
        edit.setDate(_NO_DATE)
        edit.setToolTip(tip)
        edit.setAccessibleName(tip)
        return edit

    # ---- content ---------------------------------------------------------------------------------
    def set_choices(self, cameras: dict[str, int], places: dict[str, int]) -> None:
        """The cameras and places the library holds (name -> photos), offered in the boxes."""
        self._fill(self.camera, "Any camera", cameras)
        place_text = self.place.currentText()
        self.place.blockSignals(True)
        try:
            self.place.clear()
            for name, n in places.items():
                self.place.addItem(name, name)
                self.place.setItemData(self.place.count() - 1, f"{n:,} photos", Qt.ItemDataRole.ToolTipRole)
            self.place.setEditText(place_text)
        finally:
            self.place.blockSignals(False)

    @staticmethod
    def _fill(box: QComboBox, any_text: str, counts: dict[str, int]) -> None:
        current = box.currentData()
        box.blockSignals(True)
        try:
            box.clear()
            box.addItem(any_text, None)
            for name, n in counts.items():
                box.addItem(f"{name} ({n:,})", name)
            if current is not None and box.findData(current) < 0:
                box.addItem(current, current)  # keep a choice the library no longer shows
            box.setCurrentIndex(max(0, box.findData(current)) if current is not None else 0)
        finally:
            box.blockSignals(False)

    # ---- the filter ------------------------------------------------------------------------------
    def value(self) -> PhotoFilter:
        after = self.after.date()
        before = self.before.date()
        if after != _NO_DATE and before != _NO_DATE and after > before:
            after, before = before, after  # a range typed backwards means the same days
        return PhotoFilter(after=None if after == _NO_DATE else after.toString("yyyy-MM-dd"),
                           before=None if before == _NO_DATE else before.toString("yyyy-MM-dd"),
                           camera=self.camera.currentData(), place=self.place.currentText().strip() or None,
                           kind=self.kind.currentData())

    def set_value(self, value: PhotoFilter) -> None:
        """Show ``value``'s bar fields (for tests and restoring a view); emits ``changed`` once."""
        for edit, day in ((self.after, value.after), (self.before, value.before)):
            edit.blockSignals(True)
            edit.setDate(QDate.fromString(day, "yyyy-MM-dd") if day else _NO_DATE)
            edit.blockSignals(False)
        for box, data in ((self.camera, value.camera), (self.kind, value.kind)):
            box.blockSignals(True)
            index = box.findData(data)
            if index < 0 and data is not None:
                box.addItem(data, data)
                index = box.count() - 1
            box.setCurrentIndex(max(0, index))
            box.blockSignals(False)
        self.place.blockSignals(True)
        self.place.setEditText(value.place or "")
        self.place.blockSignals(False)
        self._emit()

    def clear(self) -> None:
        self.set_value(ALL_PHOTOS)

    def is_active(self) -> bool:
        return bool(self._current)

    def _emit(self) -> None:
        self._place_timer.stop()
        value = self.value()
        self._show_active()
        if value != self._current:
            self._current = value
            self._show_active()
            self.changed.emit(value)

    def _show_active(self) -> None:
        """Active filters stand out (bold label), and Clear is there only when one is on."""
        value = self.value()
        active = {self.after: value.after, self.before: value.before, self.camera: value.camera,
                  self.place: value.place, self.kind: value.kind}
        for widget, on in active.items():
            font = widget.font()
            font.setBold(on is not None)
            widget.setFont(font)
        self.clear_button.setVisible(bool(value))

    def summary(self) -> Optional[str]:
        """"2024-06-01 – 2024-06-30 · Canon EOS R5 · Lisbon · RAW" (None when no filter is on)."""
        v = self._current
        parts = []
        if v.after or v.before:
            parts.append(f"{v.after or '…'} – {v.before or '…'}")
        parts += [p for p in (v.camera, v.place) if p]
        if v.kind:
            parts.append(dict(KIND_NAMES)[v.kind])
        return " · ".join(parts) or None
