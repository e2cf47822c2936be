"""CSV export of tags: UTF-8, RFC 4180 quoting, spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
import os
from typing import Iterable

from .paths import atomic_write

HEADER = ("path", "folder", "tag_set", "tag", "score", "model", "source")  # source: auto | confirmed | user
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix a cell a spreadsheet would execute (=, +, -, @, tab, CR) with an apostrophe."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def utf8_path(path: str) -> str:
    """A path as valid UTF-8 text: bytes of a file name that are not UTF-8 (an old camera's or
    another system's encoding) are written as ``\\xNN`` escapes, e.g. ``caf\\xe9.jpg``."""
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def write_csv(dest: str | os.PathLike, rows: Iterable[tuple]) -> int:
    """Write rows (path, folder, tag_set, tag, score, model, source) atomically as valid UTF-8; returns
    the row count. Names that are not UTF-8 are escaped (:func:`utf8_path`)."""
    n = 0
    with atomic_write(dest, "write", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(HEADER)
        for path, folder, tag_set, tag, score, model, source in rows:
            writer.writerow([neutralise(utf8_path(path)), neutralise(utf8_path(folder)), neutralise(tag_set),
                             neutralise(tag), f"{score:.4f}", neutralise(model), source])
            n += 1
    return n
