"""Helpers shared by the GUI tests (images to index, thread listing)."""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image, ImageDraw


def make_images(folder: Path, n: int, size=(96, 72), start: int = 0) -> list[Path]:
    """``n`` distinct small JPEGs: a coloured shape whose colour, place and size vary."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        img = Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
        d = ImageDraw.Draw(img)
        x = (i * 7) % (size[0] // 2)
        y = (i * 5) % (size[1] // 2)
        d.rectangle((x, y, x + size[0] // 3, y + size[1] // 3), fill=((i * 11) % 256, 255 - (i * 13) % 256, 128))
        d.text((4, size[1] - 14), str(i), fill=(0, 0, 0))
        path = folder / f"photo_{i:04d}.jpg"
        img.save(path, quality=85)
        out.append(path)
    return out


def photoclip_threads() -> list[str]:
    """Threads that belong to the app (worker, queries, thumbnail and decode pools)."""
    return [t.name for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.daemon]
