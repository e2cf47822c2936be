"""The sidebar while a library grows: counts follow the indexing and tagging, and what the user
chose there (the selected entry, the tag sets opened) stays as it was."""

from __future__ import annotations

from photoclip.core.filters import PhotoFilter
from photoclip.core.catalog import Folder
from photoclip.core.tagging import TagSet
from photoclip.gui.sidebar import Sidebar

SCENES = TagSet("scenes", ["beach", "forest", "city"], mode="single")
PEOPLE = TagSet("people", ["one person", "a group"], mode="multi", threshold=0.3)


def count_of(sidebar: Sidebar, value) -> str:
    return sidebar.item_for(value).text(1)


def test_counts_follow_the_library_and_the_users_choices_stay(qtbot):
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    trips, family = Folder(1, "/photos/Trips", 10, True), Folder(2, "/photos/Family", 4, True)
    sidebar.set_content(14, [trips, family], [SCENES, PEOPLE], {"scenes": {"beach": 3}})
    assert sidebar._all.text(1) == "14"
    assert count_of(sidebar, PhotoFilter(folder="/photos/Trips")) == "10"
    assert count_of(sidebar, PhotoFilter(tag=("scenes", "beach"))) == "3"
    assert count_of(sidebar, PhotoFilter(tag=("scenes", "forest"))) == "0"

    # the user opens a tag set and picks a tag
    sidebar.item_for(PhotoFilter(tag=("scenes", "beach"))).parent().setExpanded(True)
    with qtbot.waitSignal(sidebar.filterChanged) as chosen:
        sidebar.tree.setCurrentItem(sidebar.item_for(PhotoFilter(tag=("scenes", "beach"))))
    assert chosen.args == [PhotoFilter(tag=("scenes", "beach"))]

    # indexing and tagging go on: new counts, nothing else changes
    emitted = []
    sidebar.filterChanged.connect(emitted.append)
    for n in range(1, 4):
        sidebar.set_content(14 + 1000 * n, [Folder(1, "/photos/Trips", 10 + 1000 * n, True), family],
                            [SCENES, PEOPLE], {"scenes": {"beach": 3 + n, "city": n}, "people": {"a group": 2 * n}})
    assert sidebar._all.text(1) == "3,014"
    assert count_of(sidebar, PhotoFilter(folder="/photos/Trips")) == "3,010"
    assert count_of(sidebar, PhotoFilter(folder="/photos/Family")) == "4"
    assert count_of(sidebar, PhotoFilter(tag=("scenes", "beach"))) == "6"
    assert count_of(sidebar, PhotoFilter(tag=("scenes", "city"))) == "3"
    assert count_of(sidebar, PhotoFilter(tag=("people", "a group"))) == "6"
    assert sidebar.current_filter() == PhotoFilter(tag=("scenes", "beach"))
    assert sidebar.tree.currentItem() is sidebar.item_for(PhotoFilter(tag=("scenes", "beach")))
    assert sidebar.item_for(PhotoFilter(tag=("scenes", "beach"))).parent().isExpanded()
    assert not sidebar.item_for(PhotoFilter(tag=("people", "a group"))).parent().isExpanded()
    assert emitted == []  # the grid is not asked to show the same thing again


def test_a_folder_going_offline_or_a_new_tag_shows_and_the_choice_stays(qtbot):
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    trips = Folder(1, "/photos/Trips", 10, True)
    sidebar.set_content(10, [trips], [SCENES], {"scenes": {"city": 2}})
    sidebar.item_for(PhotoFilter(tag=("scenes", "city"))).parent().setExpanded(True)
    sidebar.select(PhotoFilter(folder="/photos/Trips"))

    # the drive is unplugged
    sidebar.set_content(10, [Folder(1, "/photos/Trips", 10, False)], [SCENES], {"scenes": {"city": 2}})
    item = sidebar.item_for(PhotoFilter(folder="/photos/Trips"))
    assert item.text(0) == "Trips (offline)"
    assert "cannot be reached" in item.toolTip(0)
    assert sidebar.current_filter() == PhotoFilter(folder="/photos/Trips")
    assert sidebar.tree.currentItem() is item

    # a label is added to the tag set; the set stays open, the new tag has its count
    more = TagSet("scenes", ["beach", "forest", "city", "snow"], mode="single")
    sidebar.set_content(10, [Folder(1, "/photos/Trips", 10, True)], [more], {"scenes": {"city": 2, "snow": 5}})
    assert count_of(sidebar, PhotoFilter(tag=("scenes", "snow"))) == "5"
    assert count_of(sidebar, PhotoFilter(tag=("scenes", "city"))) == "2"
    assert sidebar.item_for(PhotoFilter(tag=("scenes", "snow"))).parent().isExpanded()
    assert sidebar.item_for(PhotoFilter(folder="/photos/Trips")).text(0) == "Trips"

    # and later count changes reach the rebuilt entries
    sidebar.set_content(12, [Folder(1, "/photos/Trips", 12, True)], [more], {"scenes": {"city": 2, "snow": 7}})
    assert count_of(sidebar, PhotoFilter(tag=("scenes", "snow"))) == "7"
    assert count_of(sidebar, PhotoFilter(folder="/photos/Trips")) == "12"


def test_labels_without_photos_are_dimmed_and_listed_last(qtbot):
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    many = TagSet("places", ["beach", "forest", "city", "desert", "lake", "cave"], mode="single")
    sidebar.set_content(9, [], [many], {"places": {"city": 5, "cave": 4}})
    group = sidebar.item_for(PhotoFilter(tag=("places", "city"))).parent()
    assert [group.child(i).text(0) for i in range(group.childCount())] == \
        ["city", "cave", "beach", "forest", "desert", "lake"]
    dim = sidebar.palette().color(sidebar.palette().ColorGroup.Disabled, sidebar.palette().ColorRole.Text)
    assert group.child(2).foreground(0).color() == dim and group.child(0).foreground(0).color() != dim
    # a label that gets its first photo moves up among the others
    sidebar.set_content(10, [], [many], {"places": {"city": 5, "cave": 4, "lake": 1}})
    group = sidebar.item_for(PhotoFilter(tag=("places", "city"))).parent()
    assert [group.child(i).text(0) for i in range(3)] == ["city", "lake", "cave"]


def test_a_search_over_all_photos_does_not_highlight_all_photos(qtbot):
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.set_content(10, [Folder(1, "/photos/Trips", 10, True)], [SCENES], {})
    sidebar.select(None)
    assert sidebar._all.isSelected()
    sidebar.set_searching(True)
    assert not sidebar._all.isSelected() and sidebar.current_filter() == PhotoFilter()
    sidebar.set_searching(False)
    assert sidebar._all.isSelected()
    # a search inside a folder keeps the folder highlighted: it is what the search is narrowed to
    sidebar.select(PhotoFilter(folder="/photos/Trips"))
    sidebar.set_searching(True)
    assert sidebar.item_for(PhotoFilter(folder="/photos/Trips")).isSelected()


SIDECAR = """<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
 <rdf:Description rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmlns:lr='http://ns.adobe.com/lightroom/1.0/'>
  <xmp:Rating>3</xmp:Rating>
  <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Portugal|Lisbon</rdf:li></rdf:Bag></lr:hierarchicalSubject>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_sets_that_exist_only_as_the_users_tags_are_listed_and_show_their_photos(open_window, qtbot, tmp_path):
    """"My tags", a keyword tree read from Lightroom's sidecars, "Rating": no tag set defines
    them, yet the user gave (or imported) them, so the sidebar lists them like the sets."""
    from photoclip.gui.photo_model import PathRole

    from gui_helpers import make_images, wait_idle

    folder = tmp_path / "Cabin"
    paths = [str(p) for p in make_images(folder, 5)]
    with open(paths[2] + ".xmp", "w", encoding="utf-8") as f:  # as Lightroom leaves it
        f.write(SIDECAR)
    w = open_window()
    lib = w.library
    lib.save_tag_set(SCENES)
    with qtbot.waitSignal(w.services.worker.finished, timeout=120_000,
                          check_params_cb=lambda job, _r: job.title.startswith("Indexing")):
        w.jobs.add_folders([str(folder)])
    wait_idle(qtbot, w)
    lib.add_tag("our cabin", paths[:2])             # no set named: "My tags"
    with qtbot.waitSignal(w.browser.sidebarUpdated, timeout=30_000):
        w.browser.refresh_sidebar()
    cabin = w.sidebar.item_for(PhotoFilter(tag=("My tags", "our cabin")))
    assert cabin is not None and cabin.text(1) == "2" and cabin.parent().text(0) == "My tags"
    assert w.sidebar.item_for(PhotoFilter(tag=("Rating", "3 stars"))).text(1) == "1"
    assert w.sidebar.item_for(PhotoFilter(tag=("Portugal", "Lisbon"))).text(1) == "1"
    beach = w.sidebar.item_for(PhotoFilter(tag=("scenes", "beach")))
    assert "tags you gave" in cabin.parent().toolTip(0)

    # picking one shows its photos
    with qtbot.waitSignal(w.resultsShown, timeout=30_000):
        w.sidebar.tree.setCurrentItem(cabin)
    assert sorted(w.model.index(r).data(PathRole) for r in range(w.model.rowCount())) == sorted(paths[:2])

    # such a set has no definition to edit: double-clicking it opens no editor
    asked = []
    w.sidebar.editTagSetRequested.disconnect()  # (the window's editor would open, modal)
    w.sidebar.editTagSetRequested.connect(asked.append)
    w.sidebar._double_clicked(cabin.parent(), 0)
    w.sidebar._double_clicked(beach.parent(), 0)
    assert asked == ["scenes"]
