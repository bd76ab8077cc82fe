"""The lead view's charts (QtCharts), each drawn from one of the table models.

The bar charts are fed by ``QVBarModelMapper``s on the models themselves; the approval
timeline listens to its model's reset and draws a line (and an interval band) per key from the
model's rows, since a mapper would draw a category's missing periods as zeros. Every chart sits
in a ``ChartCard``, which can show the same model as a table instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCharts import (
    QAreaSeries,
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QDateTimeAxis,
    QHorizontalBarSeries,
    QHorizontalStackedBarSeries,
    QLegend,
    QLegendMarker,
    QLineSeries,
    QValueAxis,
    QVBarModelMapper,
)
from PySide6.QtCore import QAbstractItemModel, QDate, QDateTime, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewdesk.ui.lead import theme
from reviewdesk.ui.lead.format import chart_text
from reviewdesk.ui.lead.models import (
    KEY_ROLE,
    SORT_ROLE,
    TEXT_ROLE,
    CategoryModel,
    ReasonModel,
    TextDelegate,
    TimelineModel,
)
from reviewdesk.ui.widgets.details import plain_label


def make_table(
    model: QAbstractItemModel,
    *,
    name: str,
    sortable: bool = True,
    hidden: Sequence[int] = (),
    parent: QWidget | None = None,
) -> QTableView:
    """A read-only table of ``model`` (sorted through a proxy when ``sortable``)."""
    table = QTableView(parent)
    table.setObjectName(name)
    table.setAccessibleName(name)
    if sortable:
        proxy = QSortFilterProxyModel(table)
        proxy.setSourceModel(model)
        proxy.setSortRole(SORT_ROLE)
        table.setModel(proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the model's own order first
    else:
        table.setModel(model)
    table.setItemDelegate(TextDelegate(theme.tone_colors(table.palette()), table))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setShowGrid(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    # A last column of text takes the spare width; a right-aligned number would float away.
    last = model.columnCount() - 1
    align = model.headerData(last, Qt.Orientation.Horizontal, Qt.ItemDataRole.TextAlignmentRole)
    header.setStretchLastSection(not int(align or 0) & int(Qt.AlignmentFlag.AlignRight))
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column in hidden:
        table.setColumnHidden(column, True)
    # Fit the columns to what they hold whenever new rows arrive.
    model.modelReset.connect(table.resizeColumnsToContents)
    return table


MAX_COUNT_TICKS = 6


def count_axis(axis: QValueAxis, top: float) -> None:
    """A value axis of counts from 0 past ``top``: whole-number ticks only, a step of 1, 2 or 5
    times a power of ten (``applyNiceNumbers`` would label a range of one 0, 0.5, 1 as "0 0 1")."""
    top = max(1.0, top)
    magnitude = 1
    while True:
        step = next(
            (b * magnitude for b in (1, 2, 5) if top / (b * magnitude) <= MAX_COUNT_TICKS - 1), None
        )
        if step is not None:
            break
        magnitude *= 10
    ticks = math.ceil(top / step)
    axis.setRange(0, ticks * step)
    axis.setTickType(QValueAxis.TickType.TicksFixed)
    axis.setTickCount(ticks + 1)
    axis.setMinorTickCount(0)
    axis.setLabelFormat("%d")


def _prepare_view(view: QChartView, name: str) -> None:
    view.setObjectName(name)
    view.setAccessibleName(name)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setFrameShape(QFrame.Shape.NoFrame)
    # The card's background shows through: the chart draws none of its own.
    view.setBackgroundBrush(Qt.GlobalColor.transparent)
    view.setStyleSheet("background: transparent")


class ChartCard(QFrame):
    """A titled card holding a chart, with a button to see the model behind it as a table,
    and a short message in place of an empty chart."""

    CHART, TABLE, EMPTY = range(3)

    def __init__(
        self,
        title: str,
        chart: QChartView,
        table: QTableView,
        model: QAbstractItemModel,
        *,
        empty_text: str = "No decisions in this period.",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("leadCard")
        self.chart_view = chart
        self.table = table
        self.model = model
        layout = QVBoxLayout(self)
        spacing = self.fontMetrics().height() // 2
        layout.setContentsMargins(spacing, spacing // 2, spacing // 2, spacing // 2)
        layout.setSpacing(2)
        head = QHBoxLayout()
        self.title = plain_label(title, name="cardTitle")
        self.subtitle = plain_label(name="muted")
        # A long explanation wraps under a narrow card instead of widening the window.
        self.subtitle.setWordWrap(True)
        head.addWidget(self.title, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.subtitle, 1)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("tableToggle")
        self.toggle.setText("Table")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolTip("Show the numbers behind this chart")
        self.toggle.setAccessibleName(f"{title}: show as a table")
        self.toggle.toggled.connect(self._sync)
        head.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(head)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(chart)
        self.stack.addWidget(table)
        self.empty = plain_label(empty_text, name="muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty)
        layout.addWidget(self.stack, 1)
        model.modelReset.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        self.toggle.setText("Chart" if self.toggle.isChecked() else "Table")
        if self.toggle.isChecked():
            self.stack.setCurrentIndex(self.TABLE)
        elif self.model.rowCount() == 0:
            self.stack.setCurrentIndex(self.EMPTY)
        else:
            self.stack.setCurrentIndex(self.CHART)


def _category_labels(model: QAbstractItemModel, column: int = 0) -> list[str]:
    """Axis labels from the model's first column, escaped (QtCharts renders them as HTML)
    and made unique (a category axis merges equal labels)."""
    labels: list[str] = []
    for row in range(model.rowCount()):
        text = chart_text(str(model.index(row, column).data(TEXT_ROLE)))
        while text in labels:
            text += "\u200b"
        labels.append(text)
    return labels


MAX_BARS_HEIGHT = 640  # pixels a bar chart may ask for, however many rows


class BottomUp(QSortFilterProxyModel):
    """The model's rows in reverse order. Horizontal bar charts draw their first category at
    the bottom (and QBarCategoryAxis ignores ``setReverse``): fed through this, the model's
    first row is the top bar, as in its table."""

    def __init__(self, model: QAbstractItemModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(model)
        self.sort(0)

    def lessThan(self, left: Any, right: Any) -> bool:  # noqa: N802 - Qt override
        return bool(left.row() > right.row())


class _BarChart(QChartView):
    """A horizontal bar chart fed by a ``QVBarModelMapper`` on ``model``'s columns
    ``first``..``last`` (one bar set each), one bar per row (the first at the top), labelled
    from column 0."""

    def __init__(
        self,
        model: QAbstractItemModel,
        *,
        series: QHorizontalBarSeries | QHorizontalStackedBarSeries,
        first: int,
        last: int,
        colors: Sequence[QColor],
        name: str,
        parent: QWidget | None = None,
    ) -> None:
        self.chart_ = QChart()
        super().__init__(self.chart_, parent)
        _prepare_view(self, name)
        self.model = model
        self.series = series
        self.colors = tuple(colors)
        self.chart_.addSeries(series)
        self.categories = QBarCategoryAxis()
        self.values = QValueAxis()
        self.values.setLabelFormat("%d")
        self.chart_.addAxis(self.categories, Qt.AlignmentFlag.AlignLeft)
        self.chart_.addAxis(self.values, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(self.categories)
        series.attachAxis(self.values)
        self.rows = BottomUp(model, self)
        self.mapper = QVBarModelMapper(self)
        self.mapper.setFirstBarSetColumn(first)
        self.mapper.setLastBarSetColumn(last)
        self.mapper.setSeries(series)
        self.mapper.setModel(self.rows)
        # Connected after the mapper's own slots: the bar sets exist when this runs.
        self.rows.modelReset.connect(self._model_reset)
        self.rows.layoutChanged.connect(self._model_reset)
        theme.style_chart(self.chart_, self.palette())
        self._model_reset()

    @property
    def bar_sets(self) -> list[QBarSet]:
        return list(self.series.barSets())

    def _model_reset(self) -> None:
        labels = _category_labels(self.rows)
        self.categories.setCategories(labels or [""])
        for bar_set, color in zip(self.series.barSets(), self.colors, strict=False):
            bar_set.setColor(color)
            bar_set.setBorderColor(color)
            bar_set.setLabelColor(self.palette().color(self.foregroundRole()))
        # QtCharts cuts a category label to "..." when it is taller than its bar's slot:
        # ask for the height every label needs (up to a point; the table has them all).
        slot = self.fontMetrics().height() + 11
        chrome = 3 * self.fontMetrics().height() + (30 if self.chart_.legend().isVisible() else 0)
        self.setMinimumHeight(min(MAX_BARS_HEIGHT, chrome + slot * max(1, self.rows.rowCount())))
        top = max((self._row_total(row) for row in range(self.rows.rowCount())), default=0.0)
        # Room past the longest bar for its value label.
        count_axis(self.values, top * 1.12)

    def _row_total(self, row: int) -> float:
        values = [s.at(row) for s in self.series.barSets() if row < s.count()]
        if isinstance(self.series, QHorizontalStackedBarSeries):
            return float(sum(values))
        return float(max(values, default=0.0))


class OutcomeChart(_BarChart):
    """Outcomes per category, stacked: approved, edited, rejected, escalated."""

    def __init__(self, model: CategoryModel, parent: QWidget | None = None) -> None:
        super().__init__(
            model,
            series=QHorizontalStackedBarSeries(),
            first=CategoryModel.FIRST_OUTCOME,
            last=CategoryModel.LAST_OUTCOME,
            colors=theme.OUTCOME_COLORS,
            name="Outcomes per category",
            parent=parent,
        )
        self.series.setBarWidth(0.7)
        legend = self.chart_.legend()
        legend.setAlignment(Qt.AlignmentFlag.AlignTop)
        legend.setMarkerShape(QLegend.MarkerShape.MarkerShapeCircle)


class ReasonChart(_BarChart):
    """Rejections by reason, most frequent first."""

    def __init__(self, model: ReasonModel, parent: QWidget | None = None) -> None:
        super().__init__(
            model,
            series=QHorizontalBarSeries(),
            first=ReasonModel.COUNT,
            last=ReasonModel.COUNT,
            colors=(theme.OUTCOME_COLORS[2],),
            name="Rejection reasons",
            parent=parent,
        )
        self.series.setBarWidth(0.6)
        self.series.setLabelsVisible(True)
        self.series.setLabelsPosition(QHorizontalBarSeries.LabelsPosition.LabelsOutsideEnd)
        self.series.setLabelsFormat("@value")
        self.chart_.legend().hide()


DAY_MS = 86_400_000.0
MAX_LEGEND_HEIGHT = 260  # pixels the approval chart asks for its legend at most (fits 800)
SINGLE_BAND_WIDTH = 0.4  # of a period: the band of a key with one period only
CATEGORY_ALPHA = 0.6  # category lines, under the line of all categories
FADED_ALPHA = 0.15  # the other categories, while one is focused


class TimelineChart(QChartView):
    """Approval over time: a line per category, and all categories together as a bold line
    with its 95% interval band. Clicking a category in the legend shows its band too."""

    def __init__(
        self,
        model: TimelineModel,
        *,
        color_of: Callable[[str], QColor] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        self.chart_ = QChart()
        super().__init__(self.chart_, parent)
        _prepare_view(self, "Approval over time")
        self.model = model
        self.color_of = color_of or (lambda _key: theme.series_color(0))
        self.target: float | None = None
        self.period_days = 7  # the length of one period (a week or a day): the view sets it
        self.lines: dict[str | None, QLineSeries] = {}
        self.bands: dict[str | None, QAreaSeries] = {}
        self.focused: str | None = None
        self.target_line: QLineSeries | None = None
        self.time_axis = QDateTimeAxis()
        self.time_axis.setFormat("d MMM")
        self.rate_axis = QValueAxis()
        self.rate_axis.setRange(0, 100)
        self.rate_axis.setTickCount(6)
        self.rate_axis.setLabelFormat("%d%%")
        self.chart_.addAxis(self.time_axis, Qt.AlignmentFlag.AlignBottom)
        self.chart_.addAxis(self.rate_axis, Qt.AlignmentFlag.AlignLeft)
        legend = self.chart_.legend()
        legend.setAlignment(Qt.AlignmentFlag.AlignRight)
        legend.setMarkerShape(QLegend.MarkerShape.MarkerShapeCircle)
        theme.style_chart(self.chart_, self.palette())
        model.modelReset.connect(self.rebuild)
        self.rebuild()

    def set_target(self, target: float | None) -> None:
        """Draw the recommendation's target (0–1) as a dashed line across the whole chart."""
        self.target = target
        self.rebuild()

    @property
    def period_ms(self) -> float:
        return self.period_days * DAY_MS

    def points(self, key: str | None) -> list[tuple[float, float, float, float]]:
        """(x in ms, approval, low, high) of ``key``'s rows in the model, in period order."""
        m = self.model
        out = []
        for row in range(m.rowCount()):
            if m.index(row, 0).data(KEY_ROLE) != key:
                continue
            day: QDate = m.index(row, TimelineModel.PERIOD).data()
            out.append(
                (
                    float(day.startOfDay().toMSecsSinceEpoch()),
                    float(m.index(row, TimelineModel.APPROVAL).data()),
                    float(m.index(row, TimelineModel.LOW).data()),
                    float(m.index(row, TimelineModel.HIGH).data()),
                )
            )
        return sorted(out)

    def rebuild(self) -> None:
        chart = self.chart_
        chart.removeAllSeries()
        self.target_line = None
        self.lines.clear()
        self.bands.clear()
        keys = self.model.keys()
        if self.focused not in keys:
            self.focused = None
        xs = sorted({p[0] for key in keys for p in self.points(key)})
        first, last = self._set_range(xs)
        single = [k for k in keys if k is not None]
        for key in keys:
            points = self.points(key)
            overall = key is None
            color = self._text_color() if key is None else self.color_of(key)
            band = self._band(points, color)
            if not overall and len(single) > 1:
                # The categories stay behind the bold line of all of them together.
                color.setAlphaF(CATEGORY_ALPHA)
            line = QLineSeries()
            line.setName("All categories" if key is None else chart_text(key))
            for x, y, _low, _high in points:
                line.append(x, y)
            pen = QPen(color, 3.0 if overall else 1.6)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            line.setPen(pen)
            line.setPointsVisible(True)
            line.setMarkerSize(6.0 if overall else 4.5)
            line.setColor(color)
            for series in (band, line):
                chart.addSeries(series)
                series.attachAxis(self.time_axis)
                series.attachAxis(self.rate_axis)
            self._hide_marker(band)
            self.lines[key] = line
            self.bands[key] = band
            # One category on its own shows its band; so does the one the lead clicked.
            band.setVisible(overall or len(single) == 1 or key == self.focused)
        if self.target is not None and xs:
            self._target_line(first, last)
        self._hide_band_markers()
        theme.style_chart(chart, self.palette())
        for marker in chart.legend().markers():
            marker.clicked.connect(lambda m=marker: self._marker_clicked(m))
        # QtCharts drops legend entries that do not fit: ask for the height they all need
        # (up to a point; the table has them all).
        entry = QFontMetrics(chart.legend().font()).height() + 8
        self.setMinimumHeight(min(MAX_LEGEND_HEIGHT, entry * len(self.lines) + 2 * entry))

    def _band(
        self, points: Sequence[tuple[float, float, float, float]], color: QColor
    ) -> QAreaSeries:
        upper, lower = QLineSeries(), QLineSeries()
        if len(points) == 1:
            # A band needs a width: one period's interval is drawn as a bar around its point.
            x, _y, low, high = points[0]
            half = self.period_ms * SINGLE_BAND_WIDTH / 2
            points = [(x - half, _y, low, high), (x + half, _y, low, high)]
        for x, _y, low, high in points:
            upper.append(x, high)
            lower.append(x, low)
        band = QAreaSeries(upper, lower)
        # The line series belong to the band (QAreaSeries does not take them over).
        upper.setParent(band)
        lower.setParent(band)
        fill = QColor(color)
        fill.setAlphaF(0.16)
        band.setColor(fill)
        band.setBorderColor(Qt.GlobalColor.transparent)
        band.setName("95% interval")
        return band

    def _target_line(self, first: float, last: float) -> None:
        assert self.target is not None
        line = QLineSeries()
        line.setName(f"Target {self.target * 100:g}%")
        value = self.target * 100
        line.append(first, value)
        line.append(last, value)
        muted = QColor(self._text_color())
        muted.setAlphaF(0.55)
        line.setPen(theme.dashed(muted, 1.2))
        self.chart_.addSeries(line)
        line.attachAxis(self.time_axis)
        line.attachAxis(self.rate_axis)
        self._hide_marker(line)  # the card's subtitle names it: the legend keeps its room
        self.target_line = line

    def _set_range(self, xs: list[float]) -> tuple[float, float]:
        """Set the time axis for the periods at ``xs`` (sorted); returns its ends in ms."""
        if not xs:
            today = QDate.currentDate().startOfDay()
            self.time_axis.setRange(today.addDays(-7), today)
            return float(today.addDays(-7).toMSecsSinceEpoch()), float(today.toMSecsSinceEpoch())
        low, high = xs[0], xs[-1]
        ticks = min(7, max(2, len(xs)))
        if len(xs) == 1:  # one period: the one before and after frame it, one tick each
            low, high = low - self.period_ms, high + self.period_ms
            ticks = 3
        self.time_axis.setRange(
            QDateTime.fromMSecsSinceEpoch(int(low)), QDateTime.fromMSecsSinceEpoch(int(high))
        )
        self.time_axis.setTickCount(ticks)
        return low, high

    def _hide_marker(self, series: Any) -> None:
        for marker in self.chart_.legend().markers(series):
            marker.setVisible(False)

    def _hide_band_markers(self) -> None:
        # Showing a series shows its legend marker again: the bands and the target have none
        # (the card's subtitle names them).
        for band in self.bands.values():
            self._hide_marker(band)
        if self.target_line is not None:
            self._hide_marker(self.target_line)

    def _marker_clicked(self, marker: QLegendMarker) -> None:
        key = next((k for k, line in self.lines.items() if line is marker.series()), None)
        if marker.series() not in self.lines.values() or key is None:
            return
        self.set_focus_key(None if self.focused == key else key)

    def set_focus_key(self, key: str | None) -> None:
        """Show ``key``'s band and fade the other categories (None: no category focused)."""
        self.focused = key
        single = [k for k in self.lines if k is not None]
        for k, line in self.lines.items():
            color = QColor(self._text_color() if k is None else self.color_of(k))
            if k is not None and len(single) > 1:
                if key is None:
                    color.setAlphaF(CATEGORY_ALPHA)
                elif k != key:
                    color.setAlphaF(FADED_ALPHA)
            pen = line.pen()
            pen.setColor(color)
            line.setPen(pen)
            self.bands[k].setVisible(k is None or len(single) == 1 or k == key)
        self._hide_band_markers()

    def _text_color(self) -> QColor:
        return QColor(self.palette().color(self.foregroundRole()))
