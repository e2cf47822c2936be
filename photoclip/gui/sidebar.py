"""The library sidebar: all photos, the folders with counts, the tag sets with their tags.

Clicking an entry emits ``filterChanged`` with the ``PhotoFilter`` it stands for (empty for all
photos, a folder, or a tag). The sidebar only shows what it is given (``set_content``,
``set_subfolders``) and asks for things through signals; it never calls the library.

A folder expands into its subfolders, each with its count. Their counts come from the library:
the folders whose subfolders the sidebar needs (every library folder, and every folder the user
opened) are ``wanted_subfolders()``; opening one not read yet emits ``subfoldersRequested``.
"""

from __future__ import annotations

from dataclasses import dataclass, is_dataclass, replace
from typing import Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.filters import ALL_PHOTOS, PhotoFilter
from photoclip.core.paths import display_path, folder_name

from .flow_layout import FlowLayout

KindRole = Qt.ItemDataRole.UserRole + 1
ValueRole = Qt.ItemDataRole.UserRole + 2
UserOnlyRole = Qt.ItemDataRole.UserRole + 3  # a set that exists only as the user's tags: nothing to edit
#: the mode of a set listed only because the user's tags name it ("My tags", a Lightroom keyword tree)
USER_ONLY = "user"


@dataclass(frozen=True)
class _UserTags:
    """A set the sidebar lists because tags the user gave (or keywords read) name it, though no
    tag set defines it: "My tags", "Rating", a Lightroom hierarchy's parent."""
    name: str
    labels: tuple
    mode: str = USER_ONLY
    threshold: float = 0.0
    enabled: bool = True


def _with_user_labels(tag_sets: list, counts: dict[str, dict[str, int]]) -> list:
    """The tag sets plus what only the user's tags hold: labels given by hand in a set beyond
    its own, and whole sets no tag set defines."""
    out = []
    for ts in tag_sets:
        extra = [label for label in counts.get(ts.name, {}) if label not in ts.labels]
        out.append(replace(ts, labels=list(ts.labels) + extra) if extra and is_dataclass(ts) else ts)
    defined = {ts.name for ts in tag_sets}
    for name, labels in counts.items():
        if name not in defined and labels:
            out.append(_UserTags(name, tuple(labels)))
    return out

_FOLDER_KINDS = ("folder", "subfolder")  # a library folder, a folder inside one


def _count(n: int) -> str:
    return f"{n:,}"


class Sidebar(QWidget):
    filterChanged = Signal(object)  # PhotoFilter
    addFolderRequested = Signal()
    removeFolderRequested = Signal(str)
    rescanFolderRequested = Signal(str)
    newTagSetRequested = Signal()
    editTagSetRequested = Signal(str)
    deleteTagSetRequested = Signal(str)
    showFolderRequested = Signal(str)
    subfoldersRequested = Signal()  # a folder was opened whose subfolders are not known yet
    includeSubfoldersChanged = Signal(bool)
    findLikeTagRequested = Signal(str, str)  # tag set, label: "Find more like these"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)

        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAccessibleName("Library")
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.itemExpanded.connect(self._expanded)
        self.tree.itemCollapsed.connect(self._collapsed)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(1, header.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree, 1)

        bold = QFont(self.font())
        bold.setBold(True)
        self._all = QTreeWidgetItem(["All photos", ""])
        self._all.setData(0, KindRole, "all")
        self._folders = QTreeWidgetItem(["Folders", ""])
        self._folders.setData(0, KindRole, "folders")
        self._tagsets = QTreeWidgetItem(["Tag sets", ""])
        self._tagsets.setData(0, KindRole, "tagsets")
        self._years = QTreeWidgetItem(["Years", ""])
        self._years.setData(0, KindRole, "years")
        self._places = QTreeWidgetItem(["Places", ""])
        self._places.setData(0, KindRole, "places")
        for item in (self._all, self._folders, self._tagsets, self._years, self._places):
            item.setFont(0, bold)
            self.tree.addTopLevelItem(item)
        for item in (self._folders, self._tagsets, self._years, self._places):
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # section headers are not filters
        self._years.setExpanded(True)
        self._places.setExpanded(True)
        self._years.setHidden(True)  # until photos say when they were taken
        self._places.setHidden(True)  # until photos say where
        self._folders.setExpanded(True)
        self._tagsets.setExpanded(True)
        self._empty_folders = QTreeWidgetItem(["Drop folders here, or Add folder…", ""])
        self._empty_folders.setFlags(Qt.ItemFlag.NoItemFlags)
        self._folders.addChild(self._empty_folders)

        buttons = FlowLayout(spacing=2)  # wraps in a narrow sidebar instead of widening it
        buttons.setContentsMargins(2, 0, 2, 2)
        self.add_button = self._button("Add folder…", "Add a folder to the library (Ctrl+O)", self.addFolderRequested.emit)
        self.remove_button = self._button("Remove", "Remove the selected folder from the library (files are kept)",
                                          self._remove_selected)
        self.tagset_button = self._button("New tag set…", "Create a tag set", self.newTagSetRequested.emit)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.tagset_button)
        layout.addLayout(buttons)
        self.remove_button.setEnabled(False)
        self._current: PhotoFilter = ALL_PHOTOS
        self._shape: Optional[tuple] = None  # the folders and tag sets shown (set_content)
        # entry -> (its item, the count it shows)
        self._shown: dict[tuple, tuple[QTreeWidgetItem, Optional[int]]] = {("all",): (self._all, None)}
        # folders: whether a folder's photos include those of its subfolders, what is known of each
        # folder (path -> its own counts, path -> its subfolders), the folders the user opened
        self._deeper = True
        self._counts: dict[str, object] = {}
        self._subs: dict[str, list] = {}
        self._open: set[str] = set()
        self._dir_items: dict[str, QTreeWidgetItem] = {}
        self._filled: set[str] = set()  # the folders whose entries hold their subfolders as known
        self._library_totals: dict[str, int] = {}

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(slot)
        return b

    def sizeHint(self) -> QSize:
        return QSize(240, 400)

    # ---- content -----------------------------------------------------------------------------
    def set_content(self, total: int, folders: list, tag_sets: list, counts: dict[str, dict[str, int]], *,
                    years: Optional[dict[str, int]] = None, places: Optional[dict[str, int]] = None,
                    subfolders: Optional[dict] = None) -> None:
        """Show ``folders`` (core Folder records), ``tag_sets`` (TagSet) and tag ``counts``, the
        ``years`` photos were taken in and their ``places`` (name -> photos), and ``subfolders``
        (as for ``set_subfolders``).

        While indexing and tagging this comes every few seconds with only the counts changed: then
        the counts that differ are set and the tree is not rebuilt (a rebuild is a few hundred Qt
        calls on the GUI thread, and the selection and expanded sets would have to be restored)."""
        folders = sorted(folders, key=lambda f: folder_name(f.path).lower())
        tag_sets = sorted(_with_user_labels(tag_sets, counts), key=lambda t: t.name.lower())
        # which labels have no photo is part of the shape: those are dimmed and listed last
        shape = (tuple((f.path, f.online) for f in folders),
                 tuple((ts.name, ts.mode, ts.threshold, getattr(ts, "enabled", True), tuple(ts.labels),
                        tuple(bool(counts.get(ts.name, {}).get(label)) for label in ts.labels))
                       for ts in tag_sets))
        self._show_count(("all",), total)
        self._set_dates_and_places(years or {}, places or {})
        self._library_totals = {f.path: f.photo_count for f in folders}
        if subfolders:
            self._remember_subfolders(subfolders)
        if shape == self._shape:
            for f in folders:
                self._show_count(("folder", f.path), self._folder_count(f.path))
            if subfolders:
                self.set_subfolders({})
            for ts in tag_sets:
                set_counts = counts.get(ts.name, {})
                for label in ts.labels:
                    self._show_count(("tag", ts.name, label), set_counts.get(label, 0))
            return
        self._rebuild(folders, tag_sets, counts)
        self._shape = shape

    def _set_dates_and_places(self, years: dict[str, int], places: dict[str, int]) -> None:
        """Years newest first; places grouped by country (the last part of "Lisbon, Portugal"),
        most photos first. Rebuilt only when the names change; counts are updated in place."""
        countries: dict[str, dict[str, int]] = {}
        for place, n in places.items():
            country = place.rsplit(", ", 1)[-1]
            countries.setdefault(country, {})[place] = n
        shape = (tuple(years), tuple((c, tuple(p)) for c, p in countries.items()))
        if shape != getattr(self, "_dates_shape", None):
            self._dates_shape = shape
            current = self._current
            self.tree.blockSignals(True)
            try:
                expanded = {self._places.child(i).text(0) for i in range(self._places.childCount())
                            if self._places.child(i).isExpanded()}
                self._years.takeChildren()
                self._places.takeChildren()
                self._shown = {k: v for k, v in self._shown.items() if k[0] not in ("year", "place")}
                for year in years:
                    item = QTreeWidgetItem([year, ""])
                    item.setData(0, KindRole, "year")
                    item.setData(0, ValueRole, year)
                    item.setToolTip(0, f"Photos taken in {year}")
                    self._shown[("year", year)] = (item, None)
                    self._years.addChild(item)
                for country, in_country in sorted(countries.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
                    item = QTreeWidgetItem([country, ""])
                    item.setData(0, KindRole, "place")
                    item.setData(0, ValueRole, country)
                    item.setToolTip(0, f"Photos taken in {country}")
                    self._shown[("place", country)] = (item, None)
                    for place in in_country:
                        if place == country:
                            continue
                        child = QTreeWidgetItem([place.rsplit(", ", 1)[0], ""])
                        child.setData(0, KindRole, "place")
                        child.setData(0, ValueRole, place)
                        child.setToolTip(0, f"Photos taken in {place}")
                        self._shown[("place", place)] = (child, None)
                        item.addChild(child)
                    self._places.addChild(item)
                    item.setExpanded(country in expanded)
            finally:
                self.tree.blockSignals(False)
            self._years.setHidden(not years)
            self._places.setHidden(not places)
            self.select(current, emit=False)
        for year, n in years.items():
            self._show_count(("year", year), n)
        for country, in_country in countries.items():
            self._show_count(("place", country), sum(in_country.values()))
            for place in in_country:
                if place != country:  # as the filter counts: "Lisbon, Portugal" holds "Sintra, Lisbon, Portugal"
                    key = place.casefold()
                    self._show_count(("place", place), sum(n for other, n in in_country.items()
                                                           if key in other.casefold()))

    def _show_count(self, key: tuple, n: int) -> None:
        item, shown = self._shown[key]
        if shown != n:
            item.setText(1, _count(n))
            self._shown[key] = (item, n)

    def _rebuild(self, folders: list, tag_sets: list, counts: dict[str, dict[str, int]]) -> None:
        current = self._current
        expanded = {self._tagsets.child(i).data(0, ValueRole)
                    for i in range(self._tagsets.childCount()) if self._tagsets.child(i).isExpanded()}
        self.tree.blockSignals(True)
        try:
            self._shown = {k: v for k, v in self._shown.items() if k[0] in ("all", "year", "place")}
            self._folders.takeChildren()
            self._dir_items = {}
            self._filled = set()
            if not folders:
                self._folders.addChild(self._empty_folders)
            disabled = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            for f in folders:
                name = folder_name(f.path)
                n = self._folder_count(f.path)
                item = QTreeWidgetItem([name, "" if n is None else _count(n)])
                self._shown[("folder", f.path)] = (item, n)
                item.setData(0, KindRole, "folder")
                item.setData(0, ValueRole, f.path)
                tip = display_path(f.path)
                if not f.online:
                    item.setText(0, f"{name} (offline)")
                    item.setForeground(0, disabled)
                    tip += "\nThis folder cannot be reached right now; its photos stay in the library."
                item.setToolTip(0, tip)
                self._folders.addChild(item)
                self._dir_items[f.path] = item
                self._fill(item, f.path)
            self._tagsets.takeChildren()
            for ts in tag_sets:
                set_counts = counts.get(ts.name, {})
                item = QTreeWidgetItem([ts.name, ""])
                item.setData(0, KindRole, "tagset")
                item.setData(0, ValueRole, ts.name)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                if ts.mode == USER_ONLY:
                    item.setData(0, UserOnlyRole, True)
                    item.setToolTip(0, f"{ts.name}: tags you gave, or read from the photos' keywords "
                                       f"and ratings ({len(ts.labels)} label{'s' if len(ts.labels) != 1 else ''})")
                else:
                    mode = "one label per photo" if ts.mode == "single" else f"any label over {ts.threshold:.2f}"
                    item.setToolTip(0, f"{ts.name}: {len(ts.labels)} labels, {mode}"
                                       + ("" if getattr(ts, "enabled", True) else " (disabled)")
                                       + "\nDouble-click to edit")
                if not getattr(ts, "enabled", True):
                    item.setForeground(0, disabled)
                # the set's order, but labels with no photo dimmed and last: a 24-label set with 20
                # empty labels does not bury the 4 that matter
                for label in sorted(ts.labels, key=lambda lb: not set_counts.get(lb, 0)):
                    n = set_counts.get(label, 0)
                    child = QTreeWidgetItem([label, _count(n)])
                    self._shown[("tag", ts.name, label)] = (child, n)
                    child.setData(0, KindRole, "tag")
                    child.setData(0, ValueRole, (ts.name, label))
                    if n:
                        child.setToolTip(0, f"Show photos tagged “{label}” ({ts.name})")
                    else:
                        child.setForeground(0, disabled)
                        child.setForeground(1, disabled)
                        child.setToolTip(0, f"No photo is tagged “{label}” ({ts.name}) yet")
                    item.addChild(child)
                self._tagsets.addChild(item)
                item.setExpanded(ts.name in expanded)
        finally:
            self.tree.blockSignals(False)
        self.select(current, emit=False)

    def select(self, value: Optional[PhotoFilter], *, emit: bool = True) -> None:
        """Select the entry for ``value`` (None or an empty filter: all photos)."""
        item = self._find(value or ALL_PHOTOS) or self._all
        self.tree.blockSignals(not emit)
        try:
            self.tree.setCurrentItem(item)
            item.setSelected(True)
        finally:
            self.tree.blockSignals(False)
        self._current = self._value_of(item)
        self.remove_button.setEnabled(item.data(0, KindRole) == "folder")

    def set_searching(self, searching: bool) -> None:
        """A search runs over all photos: "All photos" is not highlighted as if it were the view
        (a folder, tag, year or place the search is narrowed to stays highlighted)."""
        if searching and self._current == ALL_PHOTOS:
            self.tree.blockSignals(True)
            try:
                self.tree.clearSelection()
            finally:
                self.tree.blockSignals(False)
        elif not searching and not self.tree.selectedItems():
            self.select(self._current, emit=False)

    def current_filter(self) -> PhotoFilter:
        return self._current

    def item_for(self, value: Optional[PhotoFilter]) -> Optional[QTreeWidgetItem]:
        return self._find(value or ALL_PHOTOS)

    def _find(self, value: PhotoFilter) -> Optional[QTreeWidgetItem]:
        items = [self._all] + list(self._dir_items.values())
        items += [self._years.child(i) for i in range(self._years.childCount())]
        for parent in (self._tagsets, self._places):
            for i in range(parent.childCount()):
                group = parent.child(i)
                items += [group] if parent is self._places else []
                items += [group.child(j) for j in range(group.childCount())]
        return next((item for item in items if self._value_of(item) == value), None)

    def _value_of(self, item: QTreeWidgetItem) -> Optional[PhotoFilter]:
        """The filter an entry stands for (None for a heading that filters nothing)."""
        kind = item.data(0, KindRole)
        if kind == "all":
            return ALL_PHOTOS
        if kind == "folder" and self._deeper:
            return PhotoFilter(folder=item.data(0, ValueRole))
        if kind in _FOLDER_KINDS:
            return PhotoFilter(directory=item.data(0, ValueRole), deeper=self._deeper)
        if kind == "tag":
            return PhotoFilter(tag=tuple(item.data(0, ValueRole)))
        if kind == "year":
            year = item.data(0, ValueRole)
            return PhotoFilter(after=f"{year}-01-01", before=f"{year}-12-31")
        if kind == "place":
            return PhotoFilter(place=item.data(0, ValueRole))
        return None

    # ---- subfolders ---------------------------------------------------------------------------
    def wanted_subfolders(self) -> list[str]:
        """The folders whose subfolders (and counts) the sidebar shows: every library folder and
        every folder the user opened."""
        return sorted(set(self._library_totals) | self._open)

    def set_subfolders(self, levels: dict) -> None:
        """``levels``: folder path -> (its own counts, its subfolders), core ``Subfolder`` records.
        Counts that changed are set in place; a folder whose subfolders changed gets them anew."""
        self._remember_subfolders(levels)
        current = self._current
        rebuilt = False
        self.tree.blockSignals(True)
        try:
            for path, item in list(self._dir_items.items()):
                if self._dir_items.get(path) is not item:
                    continue  # gone with its parent's subfolders
                key = ("folder" if item.data(0, KindRole) == "folder" else "subfolder", path)
                self._show_count(key, self._folder_count(path))
                subs = self._subs.get(path)
                if subs is None:
                    self._indicate(item, path)
                    continue
                shown = [item.child(i).data(0, ValueRole) for i in range(item.childCount())]
                if path not in self._filled or shown != [sub.path for sub in subs]:
                    self._drop_children(item)
                    self._fill(item, path)
                    rebuilt = True
        finally:
            self.tree.blockSignals(False)
        if rebuilt and current.directory is not None and self._find(current) is None:
            self.select(None)  # the folder in view is gone (deleted, moved away): all photos
        elif rebuilt:
            self.select(current, emit=False)

    def include_subfolders(self) -> bool:
        return self._deeper

    def set_include_subfolders(self, deeper: bool) -> None:
        """Whether a folder's entry shows the photos of its subfolders too (and counts them)."""
        if deeper == self._deeper:
            return
        shown = self._find(self._current)
        self._deeper = deeper
        for path, item in self._dir_items.items():
            key = ("folder" if item.data(0, KindRole) == "folder" else "subfolder", path)
            self._show_count(key, self._folder_count(path))
        self.includeSubfoldersChanged.emit(deeper)
        if shown is not None and shown.data(0, KindRole) in _FOLDER_KINDS:  # the folder in view follows
            self._current = self._value_of(shown)
            self.filterChanged.emit(self._current)

    def selected_library_folder(self) -> Optional[str]:
        """The library folder whose entry is selected, if one is."""
        items = self.tree.selectedItems()
        if items and items[0].data(0, KindRole) == "folder":
            return items[0].data(0, ValueRole)
        return None

    def _add_deeper_toggle(self, menu: QMenu) -> None:
        action = menu.addAction("Include subfolders")
        action.setCheckable(True)
        action.setChecked(self._deeper)
        action.setToolTip("A folder shows the photos of its subfolders too")
        action.toggled.connect(self.set_include_subfolders)

    def _remember_subfolders(self, levels: dict) -> None:
        for path, (own, subs) in levels.items():
            self._counts[path] = own
            self._subs[path] = list(subs)
            for sub in subs:
                self._counts[sub.path] = sub

    def _folder_count(self, path: str) -> Optional[int]:
        """What a folder's entry counts: its photos and, unless turned off, those below it."""
        known = self._counts.get(path)
        if self._deeper:
            return self._library_totals.get(path, known.total if known is not None else None)
        return known.photos if known is not None else None

    def _fill(self, item: QTreeWidgetItem, path: str) -> None:
        """Add the known subfolders below ``item`` (and theirs, where known); call with signals blocked."""
        subs = self._subs.get(path)
        if subs is None:
            self._filled.discard(path)
            self._indicate(item, path)
            return
        self._filled.add(path)
        item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless)
        for sub in subs:
            n = self._folder_count(sub.path)
            child = QTreeWidgetItem([sub.name, "" if n is None else _count(n)])
            child.setData(0, KindRole, "subfolder")
            child.setData(0, ValueRole, sub.path)
            child.setToolTip(0, f"{display_path(sub.path)}\n{sub.photos:,} photo(s) in it, {sub.total:,} with its "
                                f"subfolders")
            self._shown[("subfolder", sub.path)] = (child, n)
            self._dir_items[sub.path] = child
            item.addChild(child)
            self._fill(child, sub.path)
        item.setExpanded(path in self._open)

    def _indicate(self, item: QTreeWidgetItem, path: str) -> None:
        """A folder whose subfolders are not read yet: an arrow while it may have some."""
        known = self._counts.get(path)
        item.setChildIndicatorPolicy(
            QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator if known is None or known.subfolders > 0
            else QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless)

    def _drop_children(self, item: QTreeWidgetItem) -> None:
        for child in item.takeChildren():
            path = child.data(0, ValueRole)
            self._drop_children(child)
            self._filled.discard(path)
            self._dir_items.pop(path, None)
            self._shown.pop(("subfolder", path), None)

    def _expanded(self, item: QTreeWidgetItem) -> None:
        if item.data(0, KindRole) not in _FOLDER_KINDS:
            return
        path = item.data(0, ValueRole)
        self._open.add(path)
        if path not in self._subs:  # its subfolders are read off the GUI thread
            self.subfoldersRequested.emit()

    def _collapsed(self, item: QTreeWidgetItem) -> None:
        if item.data(0, KindRole) in _FOLDER_KINDS:
            self._open.discard(item.data(0, ValueRole))

    # ---- interaction -------------------------------------------------------------------------
    def _selection_changed(self) -> None:
        items = self.tree.selectedItems()
        if not items:
            return
        item = items[0]
        kind = item.data(0, KindRole)
        self.remove_button.setEnabled(kind == "folder")
        if kind not in ("all", "folder", "subfolder", "tag", "year", "place"):
            return
        value = self._value_of(item)
        if value != self._current:
            self._current = value
            self.filterChanged.emit(value)

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, KindRole) == "tagset" and not item.data(0, UserOnlyRole):
            self.editTagSetRequested.emit(item.data(0, ValueRole))

    def _remove_selected(self) -> None:
        folder = self.selected_library_folder()
        if folder is not None:
            self.removeFolderRequested.emit(folder)

    def _context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        menu = QMenu(self)
        kind = item.data(0, KindRole) if item is not None else None
        value = item.data(0, ValueRole) if item is not None else None
        if kind == "folder":
            menu.addAction("Show in file manager", lambda: self.showFolderRequested.emit(value))
            menu.addAction("Rescan", lambda: self.rescanFolderRequested.emit(value))
            self._add_deeper_toggle(menu)
            menu.addSeparator()
            menu.addAction("Remove from library", lambda: self.removeFolderRequested.emit(value))
        elif kind == "subfolder":
            menu.addAction("Show in file manager", lambda: self.showFolderRequested.emit(value))
            self._add_deeper_toggle(menu)
        elif kind == "folders":
            menu.addAction("Add folder…", self.addFolderRequested.emit)
            self._add_deeper_toggle(menu)
        elif kind in ("tagset", "tag"):
            name = value if kind == "tagset" else value[0]
            if kind == "tag":
                menu.addAction("Find more like these", lambda: self.findLikeTagRequested.emit(value[0], value[1]))
                menu.addSeparator()
            top = item if kind == "tagset" else item.parent()
            if not (top is not None and top.data(0, UserOnlyRole)):  # a set of the user's tags has nothing to edit
                menu.addAction("Edit tag set…", lambda: self.editTagSetRequested.emit(name))
                menu.addAction("Delete tag set", lambda: self.deleteTagSetRequested.emit(name))
                menu.addSeparator()
            menu.addAction("New tag set…", self.newTagSetRequested.emit)
        elif kind == "tagsets":
            menu.addAction("New tag set…", self.newTagSetRequested.emit)
        else:
            menu.addAction("Add folder…", self.addFolderRequested.emit)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

