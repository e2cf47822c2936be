"""A text query that matches file or folder names, or tag labels, shows those photos first."""

from __future__ import annotations

from helpers import draw_photo

from photoclip.core.filters import PhotoFilter
from photoclip.core.tagging import TagSet


def test_file_and_folder_names_rank_first(make_library, photo_folder):
    draw_photo(photo_folder / "games" / "chess-queen.gif", (90, 90, 90), shape="square")
    draw_photo(photo_folder / "Holiday Lisbon" / "IMG_0001.jpg", (10, 120, 200))
    draw_photo(photo_folder / "Holiday Lisbon" / "IMG_0002.jpg", (200, 120, 10), shape="square")
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    plain = lib.search("a grey square", limit=50)
    assert all(r.match is None for r in plain)

    hits = lib.search("chess-queen", limit=5)
    assert hits[0].path.endswith("chess-queen.gif") and hits[0].match == "name"
    assert len(hits) == 5 and all(r.match is None for r in hits[1:])  # then the CLIP ranking

    hits = lib.search("holiday lisbon", limit=50)
    first = [r for r in hits if r.match == "name"]
    assert sorted(r.path.rsplit("/", 1)[1] for r in first) == ["IMG_0001.jpg", "IMG_0002.jpg"]
    assert hits[:2] == first and len(hits) == 15 and len({r.photo_id for r in hits}) == 15

    # a too-short query never matches names; a name filter keeps within the folder asked for
    assert all(r.match is None for r in lib.search("im", limit=50))
    within = lib.search("img", where=PhotoFilter(folder=str(photo_folder)), limit=50)
    named = [r for r in within if r.match == "name"]
    assert len(named) == 14 and within[:14] == named  # every file but chess-queen.gif is IMG_* or img*
    assert within[14].path.endswith("chess-queen.gif") and within[14].match is None


def test_tag_labels_rank_first(make_library, photo_folder):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    lib.save_tag_set(TagSet("things", ["zebra", "lighthouse"], "single"))
    lib.tag()
    counts = lib.tag_counts()["things"]
    label = min(counts, key=lambda k: (counts[k], k))  # the rarer label: its photos must move up
    zebras = {p.id for p in lib.photos(PhotoFilter(tag=("things", label)))}
    assert zebras
    hits = lib.search(label.upper(), limit=50)
    assert {r.photo_id for r in hits[:len(zebras)]} == zebras
    assert all(r.match == "tag" for r in hits[:len(zebras)])
    assert all(r.match is None for r in hits[len(zebras):])
