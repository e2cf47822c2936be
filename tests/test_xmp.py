"""Tags other apps can read: XMP sidecars written and merged (never clobbered), originals never
written, and keywords/ratings already in sidecars and photos read back as the user's tags."""

from __future__ import annotations

import hashlib
import os

import pyexiv2
import pytest
from helpers import draw_photo, photoclip_cli

from photoclip.core import xmp
from photoclip.core.errors import PhotoclipError
from photoclip.core.library import MY_TAGS
from photoclip.core.tagging import TagSet

# A sidecar as exiftool writes one (one rdf:Description per namespace, single quotes), with a
# rating, a colour label, a title, Lightroom develop settings, a darktable history (a sequence of
# structures) and keywords of its own.
EXISTING = """<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/' x:xmptk='Image::ExifTool 12.40'>
<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
 <rdf:Description rdf:about='' xmlns:crs='http://ns.adobe.com/camera-raw-settings/1.0/'>
  <crs:Exposure2012>+0.35</crs:Exposure2012>
  <crs:WhiteBalance>As Shot</crs:WhiteBalance>
  <crs:ToneCurvePV2012><rdf:Seq><rdf:li>0, 0</rdf:li><rdf:li>255, 255</rdf:li></rdf:Seq></crs:ToneCurvePV2012>
 </rdf:Description>
 <rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'>
  <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li><rdf:li>family</rdf:li></rdf:Bag></dc:subject>
  <dc:title><rdf:Alt><rdf:li xml:lang='x-default'>At the beach</rdf:li></rdf:Alt></dc:title>
 </rdf:Description>
 <rdf:Description rdf:about='' xmlns:lr='http://ns.adobe.com/lightroom/1.0/'>
  <lr:hierarchicalSubject><rdf:Bag><rdf:li>People|family</rdf:li></rdf:Bag></lr:hierarchicalSubject>
 </rdf:Description>
 <rdf:Description rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/'>
  <xmp:Label>Red</xmp:Label>
  <xmp:Rating>4</xmp:Rating>
 </rdf:Description>
 <rdf:Description rdf:about='' xmlns:darktable='http://darktable.sf.net/'>
  <darktable:history_end>2</darktable:history_end>
  <darktable:history><rdf:Seq>
   <rdf:li rdf:parseType='Resource'><darktable:operation>exposure</darktable:operation><darktable:enabled>1</darktable:enabled></rdf:li>
   <rdf:li rdf:parseType='Resource'><darktable:operation>colorin</darktable:operation><darktable:enabled>1</darktable:enabled></rdf:li>
  </rdf:Seq></darktable:history>
 </rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>"""


def _read(path) -> dict:
    with pyexiv2.ImageData(open(path, "rb").read()) as img:
        return img.read_xmp()


def _state(path) -> tuple[str, int]:
    return hashlib.sha256(open(path, "rb").read()).hexdigest(), os.stat(path).st_mtime_ns


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    draw_photo(path, (200, 40, 40), shape="circle")
    return path


def _array_kinds(path) -> dict[str, str]:
    """The RDF container each keyword array of the sidecar at ``path`` is written as."""
    import xml.etree.ElementTree as ET

    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    root = ET.fromstring(open(path, "rb").read())
    kinds = {}
    for name, ns in (("subject", "http://purl.org/dc/elements/1.1/"), ("hierarchicalSubject", "http://ns.adobe.com/lightroom/1.0/")):
        for element in root.iter(f"{{{ns}}}{name}"):
            kinds[name] = [c.tag.removeprefix(rdf) for c in element][0]
    return kinds


def test_sidecar_names_follow_the_convention_chosen(tmp_path):
    assert xmp.sidecar_path("/p/IMG_1.CR2", "darktable") == "/p/IMG_1.CR2.xmp"
    assert xmp.sidecar_path("/p/IMG_1.CR2", "lightroom") == "/p/IMG_1.xmp"
    with pytest.raises(PhotoclipError, match="naming"):
        xmp.sidecar_path("/p/a.jpg", "picasa")


def test_a_new_sidecar_has_the_keywords_and_their_hierarchy(photo):
    before = _state(photo)
    assert xmp.write_sidecar(str(photo), [("scenes", "beach"), ("My tags", "our cabin")], "darktable") == "written"
    got = _read(str(photo) + ".xmp")
    assert got["Xmp.dc.subject"] == ["beach", "our cabin"]
    assert got["Xmp.lr.hierarchicalSubject"] == ["photoclip|scenes|beach", "photoclip|My tags|our cabin"]
    # both keyword arrays are unordered bags, as the XMP standard and Lightroom type them
    assert _array_kinds(str(photo) + ".xmp") == {"subject": "Bag", "hierarchicalSubject": "Bag"}
    assert _state(photo) == before  # the photo itself: same bytes, same time
    # the same tags again: nothing to do, the file is left alone
    assert xmp.write_sidecar(str(photo), [("scenes", "beach"), ("My tags", "our cabin")], "darktable") == "unchanged"
    assert not [n for n in os.listdir(photo.parent) if ".tmp" in n]  # no temporary file left behind


def test_an_existing_sidecar_is_merged_never_clobbered(photo):
    sidecar = photo.with_suffix(".xmp")  # Lightroom's name
    sidecar.write_text(EXISTING, "utf-8")
    os.chmod(sidecar, 0o640)
    before = _read(sidecar)
    assert xmp.write_sidecar(str(photo), [("scenes", "beach"), ("People", "family")], "lightroom") == "updated"
    after = _read(sidecar)
    # every other field and namespace is there with its value
    for key, value in before.items():
        if key not in ("Xmp.dc.subject", "Xmp.lr.hierarchicalSubject"):
            assert after[key] == value, key
    assert after["Xmp.xmp.Rating"] == "4" and after["Xmp.xmp.Label"] == "Red"
    assert after["Xmp.crs.Exposure2012"] == "+0.35" and after["Xmp.crs.ToneCurvePV2012"] == ["0, 0", "255, 255"]
    assert after["Xmp.darktable.history[2]/darktable:operation"] == "colorin"
    # the keywords it had are kept, ours added once
    assert after["Xmp.dc.subject"] == ["holiday", "family", "beach"]
    assert after["Xmp.lr.hierarchicalSubject"] == ["People|family", "photoclip|scenes|beach", "photoclip|People|family"]
    # a tag the photo no longer has leaves again; the sidecar's own keywords stay
    assert xmp.write_sidecar(str(photo), [("People", "family")], "lightroom") == "updated"
    again = _read(sidecar)
    assert again["Xmp.dc.subject"] == ["holiday", "family"]
    assert again["Xmp.lr.hierarchicalSubject"] == ["People|family", "photoclip|People|family"]
    assert again["Xmp.crs.WhiteBalance"] == "As Shot"
    assert os.stat(sidecar).st_mode & 0o777 == 0o640  # its permissions kept
    assert _array_kinds(sidecar) == {"subject": "Bag", "hierarchicalSubject": "Bag"}


def test_a_keyword_array_another_app_wrote_as_a_seq_becomes_the_standard_bag(photo):
    sidecar = photo.with_suffix(".xmp")
    sidecar.write_text(EXISTING.replace("<rdf:Bag><rdf:li>holiday", "<rdf:Seq><rdf:li>holiday")
                       .replace("family</rdf:li></rdf:Bag></dc:subject>", "family</rdf:li></rdf:Seq></dc:subject>"),
                       "utf-8")
    assert _array_kinds(sidecar)["subject"] == "Seq"
    assert xmp.write_sidecar(str(photo), [("scenes", "beach")], "lightroom") == "updated"
    assert _array_kinds(sidecar) == {"subject": "Bag", "hierarchicalSubject": "Bag"}
    assert _read(sidecar)["Xmp.dc.subject"] == ["holiday", "family", "beach"]


def test_a_sidecar_exiv2_cannot_read_is_left_alone(photo):
    sidecar = str(photo) + ".xmp"
    with open(sidecar, "w") as f:
        f.write("<x:xmpmeta><rdf:RDF> not closed")
    with pytest.raises(PhotoclipError, match="left as it is"):
        xmp.write_sidecar(str(photo), [("scenes", "beach")], "darktable")
    assert open(sidecar).read() == "<x:xmpmeta><rdf:RDF> not closed"


def test_which_tags_are_written():
    rows = [("/p/a.jpg", "/p", "scenes", "beach", 0.81, "m", "auto"),
            ("/p/a.jpg", "/p", "scenes", "forest", 0.31, "m", "auto"),
            ("/p/a.jpg", "/p", "events", "party", 0.20, "m", "confirmed"),
            ("/p/a.jpg", "/p", "My tags", "our cabin", 1.0, "", "user"),
            ("/p/b.jpg", "/p", "scenes", "forest", 0.2, "m", "auto")]
    assert xmp.tags_to_write(rows, 0.5) == {"/p/a.jpg": [("scenes", "beach"), ("events", "party"),
                                                          ("My tags", "our cabin")]}
    assert xmp.tags_to_write(rows, 0.0)["/p/b.jpg"] == [("scenes", "forest")]


def test_keywords_and_ratings_read_as_tags():
    got = xmp.keyword_tags({"Xmp.dc.subject": ["Lisbon", "Portugal", "Places", "sunset"],
                            "Xmp.lr.hierarchicalSubject": ["Places|Portugal|Lisbon", "photoclip|scenes|beach"],
                            "Xmp.xmp.Rating": "3"},
                           {"Iptc.Application2.Keywords": ["sunset", "grandma"]})
    assert got == [("Portugal", "Lisbon"), ("scenes", "beach"), (None, "sunset"), (None, "grandma"),
                   ("Rating", "3 stars")]
    assert xmp.keyword_tags({"Xmp.xmp.Rating": "-1"}) == []  # Lightroom's "rejected" is no rating


def test_library_writes_confirmed_user_and_confident_auto_tags(tagged_library):
    lib, folder = tagged_library
    photos = sorted(str(p) for p in folder.rglob("*") if p.suffix in (".jpg", ".png"))
    before = {p: _state(p) for p in photos}
    a, b = folder / "a" / "img0.jpg", folder / "b" / "img0.png"
    lib.add_tag("our cabin", [str(a)])
    shape_b = next(t for t in lib.photo_tags(lib.photo_by_path(str(b)).id) if t.tag_set == "shapes")
    lib.decide_tag("shapes", shape_b.label, [str(b)], "rejected")
    # min score 1.0: no auto-tag is confident enough, so only the tag added by hand is written
    report = lib.export_xmp(min_score=1.0)
    assert (report.written, report.updated) == (1, 0)
    assert _read(str(a) + ".xmp")["Xmp.dc.subject"] == ["our cabin"]
    # min score 0: every auto-tag too, but never a rejected one
    report = lib.export_xmp(min_score=0.0)
    assert (report.written, report.updated) == (len(photos) - 1, 1) and not report.failed
    assert f"photoclip|shapes|{shape_b.label}" not in _read(str(b) + ".xmp").get("Xmp.lr.hierarchicalSubject", [])
    shape_a = next(t for t in lib.photo_tags(lib.photo_by_path(str(a)).id) if t.tag_set == "shapes")
    assert {f"photoclip|{MY_TAGS}|our cabin", f"photoclip|shapes|{shape_a.label}"} <= \
        set(_read(str(a) + ".xmp")["Xmp.lr.hierarchicalSubject"])
    # Lightroom's naming
    lib.settings.xmp_naming = "lightroom"
    assert lib.export_xmp(min_score=0.0).written == len(photos)
    assert os.path.exists(folder / "a" / "img0.xmp")
    assert {p: _state(p) for p in photos} == before  # no original written, not even touched
    with pytest.raises(PhotoclipError, match="between 0 and 1"):
        lib.export_xmp(min_score=2)


def _cli(tmp_path, *args):
    return photoclip_cli(tmp_path / "lib", tmp_path / "models")(*args).stdout


def test_cli_export_tags_xmp(photo_folder, tiny_config, tmp_path):
    _cli(tmp_path, "index", str(photo_folder), "--model", tiny_config, "--pretrained", "random")
    a = photo_folder / "a" / "img1.jpg"
    _cli(tmp_path, "tag", "add", "grandma's quilt", str(a))
    out = _cli(tmp_path, "export-tags", "--xmp", "--min-score", "1")
    assert "1 sidecar written, 0 updated" in out
    assert _read(str(a) + ".xmp")["Xmp.dc.subject"] == ["grandma's quilt"]
    out = _cli(tmp_path, "export-tags", "--xmp", "--xmp-naming", "lightroom", "--min-score", "0")
    assert "12 sidecars written, 0 updated" in out
    assert _read(photo_folder / "a" / "img1.xmp")["Xmp.dc.subject"][0] == "grandma's quilt"
    out = _cli(tmp_path, "export-tags", "--xmp", "--min-score", "0")
    assert "11 sidecars written, 1 updated" in out


LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
   xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmp:Rating="4">
  <dc:subject><rdf:Bag><rdf:li>Lisbon</rdf:li><rdf:li>Portugal</rdf:li><rdf:li>Places</rdf:li>
   <rdf:li>our trip</rdf:li></rdf:Bag></dc:subject>
  <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Portugal|Lisbon</rdf:li></rdf:Bag></lr:hierarchicalSubject>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_keywords_and_ratings_from_other_apps_are_tags_after_a_scan(make_library, photo_folder):
    from photoclip.core.filters import PhotoFilter

    a, b, c = photo_folder / "a" / "img0.jpg", photo_folder / "a" / "img1.jpg", photo_folder / "a" / "img2.jpg"
    (photo_folder / "a" / "img0.xmp").write_text(LIGHTROOM, "utf-8")  # Lightroom's sidecar
    with pyexiv2.Image(str(b)) as img:  # keywords inside the photos: IPTC and XMP
        img.modify_iptc({"Iptc.Application2.Keywords": ["grandma", "circle"]})
    with pyexiv2.Image(str(c)) as img:
        img.modify_xmp({"Xmp.dc.subject": ["grandma"]})
    lib = make_library()
    lib.save_tag_set(TagSet("shapes", ["circle", "square"], "single"))
    lib.index([str(photo_folder)])

    def tags(path):
        return {(t.tag_set, t.label, t.source) for t in lib.photo_tags(lib.photo_by_path(str(path)).id)}

    assert {("Portugal", "Lisbon", "user"), (MY_TAGS, "our trip", "user"), ("Rating", "4 stars", "user")} <= tags(a)
    assert not {t for t in tags(a) if t[1] in ("Places", "Portugal")}  # levels of the tree are no tags
    assert (MY_TAGS, "grandma", "user") in tags(b) and (MY_TAGS, "grandma", "user") in tags(c)
    # "circle" is a label of a tag set: it goes there, a confirmed tag when the model guessed it too
    assert {t for t in tags(b) if t[:2] == ("shapes", "circle")} & {("shapes", "circle", "user"),
                                                                  ("shapes", "circle", "confirmed")}
    # filterable and searchable at once
    assert [r.path for r in lib.photos(PhotoFilter(tag=("Portugal", "Lisbon")))] == [str(a)]
    assert {r.path for r in lib.photos(PhotoFilter(tag=(MY_TAGS, "grandma")))} == {str(b), str(c)}
    assert {r.path for r in lib.search("grandma", limit=5) if r.match == "tag"} == {str(b), str(c)}
    assert lib.tag_counts()["Rating"] == {"4 stars": 1}
    # a tag the user takes off in photoclip stays off on the next scan of the same photo
    lib.remove_tag("our trip", [str(a)])
    lib.index()
    assert (MY_TAGS, "our trip", "user") not in tags(a)


def test_photoclips_own_sidecars_read_back_as_the_same_tags(make_library, photo_folder, tmp_path):
    lib = make_library()
    lib.index([str(photo_folder)])
    a = photo_folder / "a" / "img3.jpg"
    lib.add_tag("our cabin", [str(a)])
    lib.export_xmp(min_score=1.0)
    lib.close()
    fresh = make_library(tmp_path / "other-lib")
    fresh.index([str(photo_folder)], embed=False)
    assert (MY_TAGS, "our cabin", "user") in {(t.tag_set, t.label, t.source)
                                                for t in fresh.photo_tags(fresh.photo_by_path(str(a)).id)}


def test_the_keywords_of_a_raws_own_sidecar_are_its_pairs(make_library, tmp_path):
    from PIL import Image

    from helpers import write_dng
    from photoclip.core.filters import PhotoFilter

    folder = tmp_path / "shoot"
    folder.mkdir()
    picture = Image.new("RGB", (96, 64), (200, 120, 40))
    raw = write_dng(folder / "IMG_0001.DNG", picture, preview=picture)
    draw_photo(folder / "IMG_0001.JPG", (200, 120, 40), size=(96, 64))
    xmp.write_sidecar(str(raw), [("People", "Aunt Mae")], "darktable")  # IMG_0001.DNG.xmp, as darktable keeps it
    lib = make_library()
    lib.index([str(folder)], embed=False)
    assert [r.path for r in lib.photos(PhotoFilter(tag=("People", "Aunt Mae")))] == [str(folder / "IMG_0001.JPG")]


def test_a_sidecar_edited_after_the_scan_is_read_again_by_the_next(make_library, photo_folder):
    """Keywords or a rating given in Lightroom or darktable after photoclip indexed the photo
    reach photoclip on the next scan (or at once while it watches), though the photo itself is
    unchanged; nothing is embedded again for it."""
    a, b = photo_folder / "a" / "img0.jpg", photo_folder / "a" / "img1.jpg"
    lib = make_library()
    lib.index([str(photo_folder)])

    def tags(path):
        return {(t.tag_set, t.label) for t in lib.photo_tags(lib.photo_by_path(str(path)).id)}

    assert ("Portugal", "Lisbon") not in tags(a)
    (photo_folder / "a" / "img0.xmp").write_text(LIGHTROOM, "utf-8")  # Lightroom names it img0.xmp
    report = lib.index()
    assert report.added == 0 and report.unchanged == 12 and report.metadata_read == 1
    assert {("Portugal", "Lisbon"), ("Rating", "4 stars"), (MY_TAGS, "our trip")} <= tags(a)
    assert lib.index().metadata_read == 0  # read once: the next scan leaves it alone

    # edited again later (a new keyword, a new rating): read again
    sidecar = photo_folder / "a" / "img0.xmp"
    sidecar.write_text(LIGHTROOM.replace('xmp:Rating="4"', 'xmp:Rating="5"').replace(
        "<rdf:li>our trip</rdf:li>", "<rdf:li>our trip</rdf:li><rdf:li>tram 28</rdf:li>"), "utf-8")
    st = os.stat(sidecar)
    os.utime(sidecar, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a later edit, even on a coarse clock
    report = lib.index()
    assert report.metadata_read == 1 and report.unchanged == 12
    assert {("Rating", "5 stars"), (MY_TAGS, "tram 28")} <= tags(a)

    # darktable's naming, as the watcher hands it over: the photo's keywords are read at once
    with open(str(b) + ".xmp", "w", encoding="utf-8") as f:
        f.write(LIGHTROOM.replace("our trip", "the lighthouse"))
    report = lib.index_paths([str(b) + ".xmp"], tag=False)
    assert report.metadata_read == 1 and report.added == 0
    assert (MY_TAGS, "the lighthouse") in tags(b)


def test_which_photos_a_changed_sidecar_belongs_to():
    from photoclip.core.scanner import sidecar_changes

    photos = ["/p/a.jpg", "/p/a.cr2", "/p/b.jpg", "/p/c.jpg", "/p/d.jpg"]
    sidecars = {"/p/a.xmp": 5, "/p/b.jpg.xmp": 7, "/p/c.jpg.xmp": 9}
    read_with = {"/p/b.jpg": 7, "/p/c.jpg": 8, "/p/d.jpg": 3}
    # a.xmp is new (both a.* photos), c's sidecar was edited, d's removed; b's is as it was read
    assert sorted(sidecar_changes(sidecars, read_with, photos)) == ["/p/a.cr2", "/p/a.jpg", "/p/c.jpg", "/p/d.jpg"]
    assert sidecar_changes({}, {}, photos) == []
