"""Browse before embedding: a folder's photos are listed (with their own metadata) as soon as the
scan has read them, before and without the model; the model's run makes them searchable."""
import os

from helpers import draw_photo, write_exif


def test_a_folder_is_browsable_without_the_model_and_searchable_after_its_run(make_library, photo_folder):
    write_exif(photo_folder / "a" / "img0.jpg", {"Exif.Photo.DateTimeOriginal": "2024:06:01 10:00:00"})
    lib = make_library()
    report = lib.index([str(photo_folder)], embed=False)
    assert lib._embedder is None, "listing the photos must not load the model"
    assert report.waiting == 12 and report.embedded == 0
    assert report.summary().startswith("12 listed, 0 changed")
    listed = {os.path.basename(r.path) for r in lib.photos()}
    assert len(listed) == 12 and "img0.jpg" in listed and "img5.png" in listed
    assert lib.photo_by_path(str(photo_folder / "a" / "img0.jpg")).taken_at.startswith("2024-06-01T10:00:00")
    assert lib.search("a red circle") == []  # nothing is searchable before its vector is made

    report = lib.index(tag=False)  # the model is there: the listed photos are embedded, as new ones
    assert (report.added, report.updated, report.embedded, report.unchanged) == (12, 0, 12, 0)
    assert report.summary().startswith("12 new, 0 changed, 0 removed, 0 moved, 0 unchanged")  # not 12 new and 12 unchanged
    assert len(lib.search("a red circle")) == 12
    assert lib.index(tag=False).embedded == 0


def test_photos_are_listed_before_the_model_loads_in_an_indexing_run(make_library, photo_folder):
    lib = make_library()
    seen = {}

    def progress(p):
        if p.phase == "loading" and "listed" not in seen:  # the model is about to load
            seen["listed"] = len(lib.photos())
            seen["searchable"] = len(lib.search("a red circle"))

    lib.index([str(photo_folder)], progress=progress, tag=False)
    assert seen == {"listed": 12, "searchable": 0}
    assert len(lib.search("a red circle")) == 12


def test_a_listed_file_that_cannot_be_decoded_leaves_the_listing_as_a_problem(make_library, tmp_path):
    folder = tmp_path / "mixed"
    draw_photo(folder / "good.jpg")
    full = draw_photo(tmp_path / "whole.jpg", size=(400, 300))
    (folder / "truncated.jpg").write_bytes(full.read_bytes()[:600])
    (folder / "notes.jpg").write_text("this is not a picture")
    lib = make_library()
    lib.index([str(folder)], embed=False)
    assert len(lib.photos()) == 3  # the scan cannot tell them apart before decoding
    report = lib.index(tag=False)
    assert report.added == 1 and report.problems == 2
    assert [os.path.basename(r.path) for r in lib.photos()] == ["good.jpg"]
    assert {os.path.basename(p.path) for p in lib.problems()} == {"truncated.jpg", "notes.jpg"}


def test_a_listing_run_follows_deletions_and_moves(make_library, photo_folder):
    lib = make_library()
    lib.index([str(photo_folder)], tag=False)
    os.remove(photo_folder / "a" / "img1.jpg")
    os.rename(photo_folder / "a" / "img2.jpg", photo_folder / "b" / "moved.jpg")
    draw_photo(photo_folder / "b" / "new.jpg", (1, 2, 3), shape="square")
    report = lib.index(embed=False)
    assert (report.removed, report.relinked, report.waiting) == (1, 1, 1)
    names = {os.path.basename(r.path) for r in lib.photos()}
    assert "img1.jpg" not in names and {"moved.jpg", "new.jpg"} <= names
    assert len(lib.search("a red circle")) == 11  # the moved photo kept its vector; the new one waits
