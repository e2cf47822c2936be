"""A bounded-time fuzz test of the image-opening path: mutated JPEG, PNG, GIF, TIFF and WebP bytes
(flipped bytes, truncations, insertions, repeated spans, big numbers written over headers) are
opened the ways photoclip opens files; each ends as an image or an ImageError, never another
exception, a MemoryError, a hang or a crash of the process."""

from __future__ import annotations

import os
import struct
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import features

import corpus
from photoclip.core import images
from photoclip.core.errors import ImageError
from photoclip.core.scanner import fingerprint


def _seeds() -> dict[str, bytes]:
    pic = corpus.picture((40, 30))
    seeds = {
        "jpg": corpus.encoded(pic, "JPEG", quality=80),
        "progressive.jpg": corpus.encoded(pic, "JPEG", progressive=True, exif=corpus._exif_with(0x0112, 3, 1, 6)),
        "png": corpus.encoded(pic, "PNG"),
        "palette.png": corpus.encoded(pic.convert("P"), "PNG", transparency=3),
        "sixteen.png": corpus.encoded(pic.convert("I;16"), "PNG"),
        "gif": corpus.encoded(pic.convert("P"), "GIF", save_all=True, append_images=[pic.convert("P")], duration=50),
        "tif": corpus.encoded(pic, "TIFF", compression="tiff_lzw"),
        "bmp": corpus.encoded(pic, "BMP"),
    }
    if features.check("webp"):
        seeds["webp"] = corpus.encoded(pic, "WEBP", quality=70)
    return seeds


SEEDS = _seeds()


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "repeat", "big number", "zero span"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "repeat":
            span = data[at:at + draw(st.integers(1, 512))]
            data[at:at] = span * draw(st.integers(1, 8))
        elif kind == "big number":  # sizes, counts and offsets in headers
            value = draw(st.sampled_from([0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 40_000, 100_000]))
            data[at:at + 4] = struct.pack(draw(st.sampled_from([">I", "<I"])), value)
        elif kind == "zero span":
            n = draw(st.integers(1, 256))
            data[at:at + n] = bytes(len(data[at:at + n]))
    return name, bytes(data)


#: More examples, drawn afresh each run (not the same fixed ones): PHOTOCLIP_FUZZ_EXAMPLES=20000.
EXAMPLES = int(os.environ.get("PHOTOCLIP_FUZZ_EXAMPLES", "0")) or None


@pytest.mark.timeout(120 if EXAMPLES is None else 0)
@settings(max_examples=EXAMPLES or 300, deadline=None, database=None, derandomize=EXAMPLES is None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_images_are_opened_or_refused_never_anything_else(sample):
    name, data = sample
    fd, path = tempfile.mkstemp(suffix="." + name.rsplit(".", 1)[-1])
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        fingerprint(path)
        for call in (lambda: images.open_image(path, min_size=32, budget=images.DecodeBudget()),
                     lambda: images.open_image(path),
                     lambda: images.make_thumbnail(path, 64)):
            try:
                im = call()
            except ImageError as e:
                assert str(e).strip()
                continue
            image = im.image if isinstance(im, images.LoadedImage) else im
            assert image.mode == "RGB" and min(image.size) >= 1
            assert max(image.size) <= images.MAX_ASPECT * min(image.size) or not isinstance(im, images.LoadedImage)
    finally:
        os.unlink(path)
