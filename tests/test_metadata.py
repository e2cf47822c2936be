"""What a photo knows about itself: read at scan time, shown, and searched by date, camera, lens,
place and kind — from the command line and the library, together with CLIP search."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from PIL import Image

from photoclip.core.filters import PhotoFilter
from photoclip.core.metadata import file_kind, format_exposure, read_metadata

from helpers import draw_photo, make_trip, photoclip_cli, write_dng, write_exif


def _with_exif(path, fmt):
    im = Image.new("RGB", (64, 48), (20, 120, 200))
    if fmt == "HEIF":  # exiv2 does not write into HEIC: the EXIF block of a JPEG, saved by pillow-heif
        donor = write_exif(draw_photo(path.with_suffix(".donor.jpg")))
        with Image.open(donor) as d:
            im.save(path, fmt, exif=d.info["exif"])
        donor.unlink()
        return path
    im.save(path, fmt)
    return write_exif(path)


@pytest.mark.parametrize("name, fmt", [("a.jpg", "JPEG"), ("a.png", "PNG"), ("a.tif", "TIFF"), ("a.webp", "WEBP"),
                                       ("a.heic", "HEIF")])
def test_every_format_gives_its_date_camera_lens_exposure_and_position(tmp_path, name, fmt):
    if fmt == "HEIF":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    path = _with_exif(tmp_path / name, fmt)
    meta = read_metadata(str(path))
    assert meta.problems == []
    assert (meta.taken_at, meta.taken_source) == ("2024-06-15T18:30:12.45+01:00", "exif")
    assert (meta.camera, meta.lens) == ("Canon EOS R5", "RF50mm F1.8 STM")
    assert (meta.focal_length, meta.aperture, meta.exposure_time, meta.iso) == (50.0, 2.8, 0.004, 400)
    assert format_exposure(meta) == "50 mm · f/2.8 · 1/250 s · ISO 400"
    assert meta.gps_lat == pytest.approx(38.72009, abs=1e-5) and meta.gps_lon == pytest.approx(-9.13333, abs=1e-5)
    assert meta.gps_alt == 100.0


def test_a_raw_file_gives_its_camera_and_date(tmp_path):
    picture = Image.new("RGB", (64, 48), (200, 30, 30))
    path = write_dng(tmp_path / "IMG_0001.DNG", picture, preview=picture, taken="2023:01:02 03:04:05")
    meta = read_metadata(str(path))
    assert (meta.kind, meta.camera, meta.taken_at, meta.taken_source) == ("raw", "Photoclip Test DNG",
                                                                         "2023-01-02T03:04:05", "exif")


def test_without_a_date_the_files_own_time_stands_in_and_says_so(tmp_path):
    path = draw_photo(tmp_path / "plain.jpg")
    os.utime(path, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
    meta = read_metadata(str(path))
    assert meta.taken_source == "file" and meta.taken_at.startswith("2020-09-1") and meta.problems == []


def test_broken_metadata_gives_what_it_can_and_names_the_rest(tmp_path):
    path = draw_photo(tmp_path / "broken.jpg")
    write_exif(path, {"Exif.Image.Make": "Canon", "Exif.Image.Model": "Canon EOS R5",
                      "Exif.Photo.DateTimeOriginal": "2024:13:45 99:00:00", "Exif.Photo.FNumber": "0/0",
                      "Exif.GPSInfo.GPSLatitudeRef": "N", "Exif.GPSInfo.GPSLatitude": "138/1 0/1 0/1",
                      "Exif.GPSInfo.GPSLongitudeRef": "E", "Exif.GPSInfo.GPSLongitude": "9/1 0/1 0/1"})
    meta = read_metadata(str(path))
    assert meta.camera == "Canon EOS R5"  # what could be read
    assert meta.taken_source == "file" and meta.aperture is None and meta.gps_lat is None
    assert any("date taken" in p for p in meta.problems) and any("aperture" in p for p in meta.problems)
    assert any("GPS" in p for p in meta.problems)
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*junk" * 4)
    meta = read_metadata(str(garbage))  # never raises
    assert meta.taken_source == "file" and meta.problems and "metadata cannot be read" in meta.problems[0]


def test_a_name_that_is_not_utf8_is_read_too(tmp_path):
    name = os.fsdecode(b"caf\xe9-\xff.jpg")
    path = os.path.join(str(tmp_path), name)
    shutil.copy(_with_exif(tmp_path / "x.jpg", "JPEG"), path)
    assert read_metadata(path).camera == "Canon EOS R5"


def test_kinds_come_from_the_extension():
    assert [file_kind(p) for p in ("a.CR2", "b.JPG", "c.jpeg", "d.HEIC", "e.png", "f.webp", "g.dng")] == \
        ["raw", "jpeg", "jpeg", "heic", "png", "other", "raw"]


@pytest.fixture
def trip(tmp_path):
    root = make_trip(tmp_path / "trip")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}
    return root, before


def test_the_library_reads_metadata_names_places_and_filters_by_them(make_library, trip):
    root, before = trip
    lib = make_library()
    report = lib.index([str(root)])
    assert report.added == 5 and report.metadata_read == 5 and report.places == 3
    sea = lib.photo_by_path(str(root / "lisbon" / "sea.jpg"))
    assert (sea.camera, sea.lens, sea.iso, sea.place, sea.kind) == ("Canon EOS R5", "RF50mm F1.8 STM", 400,
                                                                   "Lisbon, Portugal", "jpeg")
    tower = lib.photo_by_path(str(root / "paris" / "tower.jpg"))
    assert tower.camera == "NIKON D850" and tower.place.startswith("Paris") and tower.place.endswith("France")

    def names(**where):
        return [os.path.basename(p.path) for p in lib.photos(PhotoFilter(**where))]

    assert names() == ["tram.jpg", "sea.jpg", "tower.jpg", "IMG_0002.DNG", "plain.png"]  # newest first
    assert names(after="2024-06-16") == ["tram.jpg"]
    assert names(before="2024-06-15", after="2023-01-01") == ["sea.jpg", "tower.jpg"]  # both days included
    assert names(camera="nikon") == ["tower.jpg"]
    assert names(camera="eos r5") == ["tram.jpg", "sea.jpg"]
    assert names(lens="24-70") == ["tower.jpg"]
    assert names(place="portugal") == ["tram.jpg", "sea.jpg"]
    assert names(kind="raw") == ["IMG_0002.DNG"] and names(kind="png") == ["plain.png"]
    assert names(has_gps=False) == [n for n in names() if n in ("plain.png", "IMG_0002.DNG")]
    assert names(place="Lisbon", camera="nikon") == []
    # filters combine with CLIP search: only the allowed photos are ranked
    found = lib.search("a yellow circle", where=PhotoFilter(place="Lisbon"), limit=10)
    assert {os.path.basename(r.path) for r in found} == {"sea.jpg", "tram.jpg"}
    assert lib.counts_by("camera") == {"Canon EOS R5": 2, "NIKON D850": 1, "Photoclip Test DNG": 1}
    assert list(lib.counts_by("year"))[:3] == ["2024", "2023", "2022"]
    # originals untouched
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before
    # an unchanged rescan reads nothing again
    again = lib.index()
    assert (again.metadata_read, again.places, again.embedded) == (0, 0, 0)


def test_the_command_line_filters_sorts_and_lists_metadata(make_library, trip, tiny_config, tmp_path):
    root, _ = trip
    run = photoclip_cli(tmp_path / "cli-lib", tmp_path / "models")

    def cli(*args):
        return run(*args).stdout

    cli("index", str(root), "--no-tag", "--model", tiny_config, "--pretrained", "random")
    listed = json.loads(cli("search", "--json", "--place", "Lisbon"))  # no query: newest first
    assert [os.path.basename(r["path"]) for r in listed] == ["tram.jpg", "sea.jpg"]
    first = listed[0]
    assert first["taken"] == "2024-06-16T09:00:00.45+01:00" and first["camera"] == "Canon EOS R5"
    assert (first["lens"], first["place"], first["kind"]) == ("RF50mm F1.8 STM", "Lisbon, Portugal", "jpeg")
    assert (first["width"], first["height"]) == (120, 90) and first["score"] is None
    found = json.loads(cli("search", "a red circle", "--camera", "NIKON", "--json"))
    assert [os.path.basename(r["path"]) for r in found] == ["tower.jpg"] and found[0]["score"] is not None
    by_name = json.loads(cli("search", "a photo", "--sort", "name", "--json", "--limit", "5"))
    assert [os.path.basename(r["path"]) for r in by_name] == ["IMG_0002.DNG", "plain.png", "sea.jpg", "tower.jpg",
                                                              "tram.jpg"]
    raws = json.loads(cli("search", "--kind", "raw", "--after", "2022-12-24", "--before", "2022-12-24", "--json"))
    assert [r["kind"] for r in raws] == ["raw"]
    status = json.loads(cli("status", "--json"))
    assert status["cameras"] == {"Canon EOS R5": 2, "NIKON D850": 1, "Photoclip Test DNG": 1}
    assert status["years"]["2024"] == 2 and status["years"]["2023"] == 1
    # library and model options after the subcommand, and after a tagsets action
    cli("tagsets", "add", "colours", "red", "blue", "--model", tiny_config, "--pretrained", "random")
    assert "colours" in cli("tagsets", "list", "--library", str(tmp_path / "cli-lib"))
