"""Colours of the lead view, from the current palette (light or dark), and chart styling."""

from __future__ import annotations

from PySide6.QtCharts import QChart
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QFont, QPalette, QPen

from reviewdesk.ui import style

# A qualitative palette that stays apart for the usual colour-vision deficiencies (Tableau 10,
# then lighter variants): a category keeps its colour across filters, by its place among all
# categories.
SERIES_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#8cd17d",
    "#a0cbe8",
    "#ffbe7d",
)
# Outcome bar colours, in CategoryModel's column order: approved, edited, rejected, escalated.
OUTCOME_COLORS = (style.GREEN, style.BLUE, style.RED, style.AMBER)


def series_color(index: int) -> QColor:
    return QColor(SERIES_COLORS[index % len(SERIES_COLORS)])


def tone_colors(palette: QPalette) -> dict[str, QColor]:
    """Text and background colours by tone, readable on the palette's base colour."""
    dark = style.is_dark(palette)

    def fg(color: QColor) -> QColor:
        return color.lighter(150) if dark else color.darker(140)

    def bg(color: QColor, alpha: float) -> QColor:
        tinted = QColor(color)
        tinted.setAlphaF(alpha)
        return tinted

    red, amber, green, blue = style.RED, style.AMBER, style.GREEN, style.BLUE
    return {
        "red-fg": fg(red),
        "amber-fg": fg(amber),
        "green-fg": fg(green),
        "blue-fg": fg(blue),
        "muted-fg": palette.color(QPalette.ColorRole.PlaceholderText),
        "overdue-fg": fg(red),
        "overdue-bg": bg(red, 0.24 if dark else 0.12),
        "severity-critical-fg": fg(red),
        "severity-high-fg": fg(amber),
    }


def style_chart(chart: QChart, palette: QPalette) -> None:
    """Chart colours that follow the window's palette: no background of its own, the
    palette's text for labels, faint grid lines."""
    text = palette.color(QPalette.ColorRole.WindowText)
    grid = QColor(text)
    grid.setAlphaF(0.12)
    line = QColor(text)
    line.setAlphaF(0.35)
    chart.setBackgroundVisible(False)
    chart.setPlotAreaBackgroundVisible(False)
    chart.setMargins(QMargins(2, 2, 2, 2))
    chart.layout().setContentsMargins(0, 0, 0, 0)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    legend = chart.legend()
    legend.setLabelColor(text)
    small = QFont(legend.font())
    small.setPointSizeF(max(7.0, palette_font_size() * 0.92))
    legend.setFont(small)
    for axis in chart.axes():
        axis.setLabelsColor(text)
        axis.setGridLineColor(grid)
        axis.setLinePen(QPen(line))
        axis.setTitleBrush(text)
        axis.setMinorGridLineVisible(False)
        font = QFont(axis.labelsFont())
        font.setPointSizeF(max(7.0, palette_font_size() * 0.9))
        axis.setLabelsFont(font)


def palette_font_size() -> float:
    font = QFont()
    size = font.pointSizeF()
    return size if size > 0 else 10.0


def dashed(color: QColor, width: float = 1.0) -> QPen:
    pen = QPen(color, width)
    pen.setStyle(Qt.PenStyle.DashLine)
    return pen
