#!/usr/bin/env python3
"""Render the photoclip app icon from resources/icons/photoclip.svg.

Writes resources/icons/png/photoclip-<size>.png for every size in SIZES (from
photoclip-<size>.svg where such a hand-hinted variant exists), a multi-size
Windows icon (photoclip.ico) and a macOS icon (photoclip.icns). Run it after editing the
SVG; the outputs are committed so neither building nor installing needs Qt's SVG renderer:

    QT_QPA_PLATFORM=offscreen python packaging/render_icons.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # .ico tops out at 256
ICNS_SIZES = (16, 32, 64, 128, 256, 512)  # plus a 1024 px render for the 512@2x entry

ROOT = Path(__file__).resolve().parent.parent
ICON_DIR = ROOT / "resources" / "icons"


def render_png(svg: Path, size: int, dest: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot parse {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter)
    painter.end()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(dest), "PNG"):
        raise SystemExit(f"cannot write {dest}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=ICON_DIR / "photoclip.svg")
    parser.add_argument("--out", type=Path, default=ICON_DIR)
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (keeps Qt alive)

    png_dir = args.out / "png"
    for size in SIZES:
        dest = png_dir / f"photoclip-{size}.png"
        # A hand-hinted variant drawn for exactly this size wins over the big drawing.
        hinted = args.svg.with_name(f"{args.svg.stem}-{size}.svg")
        render_png(hinted if hinted.exists() else args.svg, size, dest)
        print(f"wrote {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")

    from PIL import Image

    # Hand Pillow every rendered size so each ICO/ICNS entry is a real render,
    # not a downscale of the 256 px image (small sizes would go blurry).
    images = {size: Image.open(png_dir / f"photoclip-{size}.png").convert("RGBA") for size in SIZES}
    ico = args.out / "photoclip.ico"
    images[256].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES],
                     append_images=[images[s] for s in ICO_SIZES if s != 256])
    print(f"wrote {ico}")
    icns = args.out / "photoclip.icns"
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "photoclip-1024.png"
        render_png(args.svg, 1024, big)  # retina 512@2x; Pillow would upscale the 512 otherwise
        with Image.open(big) as im:
            im.convert("RGBA").save(icns, format="ICNS", append_images=[images[s] for s in ICNS_SIZES])
    print(f"wrote {icns}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
