"""What the grid shows: each photo's thumbnail in its cell, a placeholder while it loads, a note
for a photo that cannot be shown, match scores on search results, and the selection."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

from photoclip.gui.grid import PhotoGrid
from photoclip.gui.photo_model import PhotoItem, PhotoModel
from photoclip.gui.thumbnails import ThumbnailLoader

from helpers import draw_photo

RED, BLUE = (220, 30, 30), (30, 40, 220)


def colours_in(image, rect) -> set[tuple[int, int, int]]:
    """The distinct colours inside ``rect`` of a QImage, sampled every 2 pixels."""
    found = set()
    for y in range(rect.top(), rect.bottom(), 2):
        for x in range(rect.left(), rect.right(), 2):
            c = QColor(image.pixel(x, y))
            found.add((c.red(), c.green(), c.blue()))
    return found


def share(image, rect, target, tol=8) -> float:
    """The share of ``rect``'s pixels (sampled every 2) within ``tol`` of ``target``."""
    hits = total = 0
    for y in range(rect.top(), rect.bottom(), 2):
        for x in range(rect.left(), rect.right(), 2):
            c = QColor(image.pixel(x, y))
            total += 1
            hits += all(abs(a - b) <= tol for a, b in zip((c.red(), c.green(), c.blue()), target))
    return hits / total


def near(colours, target, tol=24) -> bool:
    return any(all(abs(a - b) <= tol for a, b in zip(c, target)) for c in colours)


def test_the_grid_paints_thumbnails_placeholders_scores_and_the_selection(qtbot, tmp_path):
    wide = str(draw_photo(tmp_path / "wide red.jpg", RED, size=(600, 300), bg=RED, quality=95))
    tall = str(draw_photo(tmp_path / "tall blue.jpg", BLUE, size=(300, 600), bg=BLUE, quality=95))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    loader = ThumbnailLoader(tmp_path / "cache", threads=2)
    model = PhotoModel(loader)
    grid = PhotoGrid(loader)
    grid.setModel(model)
    qtbot.addWidget(grid)
    grid.resize(900, 400)
    grid.show()
    qtbot.waitExposed(grid)
    model.set_items([PhotoItem(1, wide, 0.31), PhotoItem(2, tall, 0.27), PhotoItem(3, str(broken), 0.05)],
                    is_search=True)

    def cell(row):
        return grid.visualRect(model.index(row, 0))

    placeholder_shot = grid.viewport().grab().toImage()  # nothing loaded yet: grey placeholders
    assert not near(colours_in(placeholder_shot, cell(0)), RED)
    qtbot.waitUntil(lambda: loader.pixmap(wide, 160) is not None and loader.pixmap(tall, 160) is not None
                    and loader.error(str(broken)) is not None, timeout=20_000)
    grid.viewport().repaint()
    shot = grid.viewport().grab().toImage()

    first, second, third = (colours_in(shot, cell(r)) for r in range(3))
    assert near(first, RED) and not near(first, BLUE)
    assert near(second, BLUE) and not near(second, RED)
    assert not near(third, RED) and not near(third, BLUE)
    # the wide photo is as wide as the thumbnail box and half as tall: its cell's rows near the
    # top show no red, the rows just above the caption do
    r = cell(0)
    top_band = colours_in(shot, r.adjusted(0, 0, 0, -(r.height() * 3 // 4)))
    assert not near(top_band, RED)
    # search results carry their score: the badge colour is painted on the photo
    badge = grid.palette().color(QPalette.ColorRole.ToolTipBase)
    assert near(first, (badge.red(), badge.green(), badge.blue()), tol=40)

    grid.selectionModel().select(model.index(1, 0), grid.selectionModel().SelectionFlag.ClearAndSelect)
    grid.viewport().repaint()
    selected = grid.viewport().grab().toImage()
    hl = grid.palette().color(QPalette.ColorRole.Highlight)
    hl = (hl.red(), hl.green(), hl.blue())
    assert share(selected, cell(1), hl) > 0.3  # the selected cell is filled with the highlight
    assert share(selected, cell(0), hl) < 0.1  # (the current cell only has a highlight ring)
    loader.close()


def test_the_visible_thumbnails_load_in_reading_order_top_row_first(qtbot, tmp_path):
    from gui_helpers import make_images

    photos = [str(p) for p in make_images(tmp_path / "photos", 60, size=(800, 600))]
    loader = ThumbnailLoader(tmp_path / "cache", threads=1)  # a cold cache, one loader thread
    arrived: list[str] = []
    loader.ready.connect(lambda path, size: arrived.append(path))
    model = PhotoModel(loader)
    grid = PhotoGrid(loader)
    grid.setModel(model)
    qtbot.addWidget(grid)
    grid.resize(900, 600)
    grid.show()
    qtbot.waitExposed(grid)
    model.set_items([PhotoItem(i, p, None) for i, p in enumerate(photos)], is_search=False)
    grid.viewport().repaint()
    per_row = max(1, grid.viewport().width() // grid.gridSize().width())
    shown = 3 * per_row  # the three rows fully on screen
    assert per_row >= 3 and len(grid.visible_rows()) >= shown
    qtbot.waitUntil(lambda: len(arrived) >= shown, timeout=30_000)
    rows = [photos.index(p) // per_row for p in arrived[:shown]]
    assert rows == sorted(rows), f"rows in the order their thumbnails arrived: {rows}"
    loader.close()
