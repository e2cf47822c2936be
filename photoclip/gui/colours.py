"""Colour arithmetic shared by the widgets that paint themselves."""

from __future__ import annotations

from PySide6.QtGui import QColor


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """The opaque colour ``t`` (0-1) of the way from ``a`` to ``b``: ``b`` painted over ``a`` with
    opacity ``t``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )
