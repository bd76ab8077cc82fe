"""The desk's stylesheet: ``resources/styles/desk.qss`` filled in from the current palette.

Re-applied when the system switches between light and dark, so colours always follow it.
"""

from __future__ import annotations

import logging
import re

from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QWidget

from reviewdesk.config.resources import resource

log = logging.getLogger(__name__)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def icon(name: str) -> QIcon:
    """An SVG icon from ``resources/icons`` (sharp at any scale factor)."""
    return QIcon(str(resource("icons", f"{name}.svg")))


def _rgba(color: QColor, alpha: float | None = None) -> str:
    a = color.alphaF() if alpha is None else alpha
    return f"rgba({color.red()}, {color.green()}, {color.blue()}, {a:.2f})"


# The desk's four tones (also the lead view's chart colours for approved, escalated, rejected
# and edited).
GREEN = QColor(31, 157, 85)
AMBER = QColor(217, 119, 6)
RED = QColor(220, 53, 69)
BLUE = QColor(59, 111, 216)


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def style_values(palette: QPalette, point_size: float) -> dict[str, str]:
    dark = is_dark(palette)
    text = palette.color(QPalette.ColorRole.WindowText)
    base = palette.color(QPalette.ColorRole.Base)
    window = palette.color(QPalette.ColorRole.Window)
    green, amber, red, blue = GREEN, AMBER, RED, BLUE

    def fg(color: QColor) -> str:
        return _rgba(color.lighter(150) if dark else color.darker(140), 1.0)

    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
    return {
        "text": _rgba(text, 1.0),
        "muted": _rgba(palette.color(QPalette.ColorRole.PlaceholderText), 1.0),
        "base": _rgba(base, 1.0),
        "highlight": _rgba(palette.color(QPalette.ColorRole.Highlight), 1.0),
        "frame": _rgba(text, 0.18),
        "chip_bg": _rgba(text, 0.08),
        "chip_radius": str(max(6, int(point_size))),
        "chip_pad": str(max(6, int(point_size * 0.8))),
        "key_bg": _rgba(window.lighter(115) if dark else base, 1.0),
        "key_border": _rgba(text, 0.35),
        "key_min": str(int(point_size * 1.3)),
        "mono": mono,
        "green_bg": _rgba(green, 0.22 if dark else 0.14),
        "green_fg": fg(green),
        "amber_bg": _rgba(amber, 0.24 if dark else 0.15),
        "amber_fg": fg(amber),
        "amber_border": _rgba(amber, 0.6),
        "red_bg": _rgba(red, 0.24 if dark else 0.12),
        "red_fg": fg(red),
        "red_border": _rgba(red, 0.6),
        "blue_bg": _rgba(blue, 0.2 if dark else 0.1),
        "blue_border": _rgba(blue, 0.5),
        "title_size": f"{point_size * 1.35:.1f}",
        "page_title_size": f"{point_size * 1.6:.1f}",
        "dialog_title_size": f"{point_size * 1.2:.1f}",
    }


def stylesheet(palette: QPalette, point_size: float) -> str:
    template = resource("styles", "desk.qss").read_text(encoding="utf-8")
    values = style_values(palette, point_size)
    # Comments may contain braces of their own: fill only the known placeholders.
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def apply(widget: QWidget) -> None:
    """Style ``widget`` (and its children and dialogs) for the current palette."""
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication)
    point_size = app.font().pointSizeF()
    if point_size <= 0:
        point_size = 10.0
    widget.setStyleSheet(stylesheet(widget.palette(), point_size))
