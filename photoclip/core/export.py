"""CSV export of tags: UTF-8, RFC 4180 quoting, spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
import os
from typing import Iterable

from .paths import atomic_write

HEADER = ("path", "folder", "tag_set", "tag", "score", "model")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix a cell a spreadsheet would execute (=, +, -, @, tab, CR) with an apostrophe."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def write_csv(dest: str | os.PathLike, rows: Iterable[tuple]) -> int:
    """Write rows (path, folder, tag_set, tag, score, model) atomically; returns the row count.

    Paths whose names are not valid UTF-8 keep their original bytes (surrogateescape), so they
    still name the right file."""
    n = 0
    with atomic_write(dest, "write", encoding="utf-8", errors="surrogateescape", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(HEADER)
        for path, folder, tag_set, tag, score, model in rows:
            writer.writerow([neutralise(path), neutralise(folder), neutralise(tag_set), neutralise(tag),
                             f"{score:.4f}", neutralise(model)])
            n += 1
    return n
