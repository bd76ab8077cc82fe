"""The lead view's charts with little data: none, one period, a few decisions. Axes of counts
read in whole numbers, one period still has its band, the target line crosses the whole
chart, and focusing a category adds nothing to the legend. Also the session summary's trend
legend, shown only with the lines it names."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCharts import QValueAxis
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.services.stats import Dimension
from reviewdesk.ui.lead.charts import TimelineChart
from reviewdesk.ui.lead.jobs import LeadQuery
from reviewdesk.ui.widgets.session_summary import SessionSummaryView
from tests.conftest import DeskFactory
from tests.ui.lead_helpers import NO_LIMITS, lead_env, open_view

# A handful of decisions on one morning: (category, verdict).
FEW = [
    ("refund", "approve"),
    ("refund", "reject"),
    ("invoice", "approve"),
    ("invoice", "escalate"),
    ("payment", "approve"),
]


@pytest.fixture
def few(make_desk: DeskFactory, clock: ManualClock) -> ReviewDesk:
    desk = make_desk(clock=clock)
    desk.set_session_limits(NO_LIMITS)
    reason = desk.reject_reasons()[0]
    for n, (category, verdict) in enumerate(FEW):
        desk.submit(
            [{"id": f"few-{n}", "draft": "Your refund is on its way.", "category": category}]
        )
        lease = desk.claim("ana")
        assert lease is not None
        clock.advance(60)
        if verdict == "reject":
            desk.decide(lease, verdict, reason=reason, review_seconds=20)
        elif verdict == "escalate":
            desk.decide(lease, verdict, severity="high", note="Check.", review_seconds=20)
        else:
            desk.decide(lease, verdict, review_seconds=20)
    return desk


def _ticks(axis: QValueAxis) -> list[float]:
    count = axis.tickCount()
    step = (axis.max() - axis.min()) / (count - 1)
    return [axis.min() + i * step for i in range(count)]


def _visible_legend(chart: TimelineChart) -> list[str]:
    """The legend's entries as drawn: QtCharts lays its legend out (and shows its markers) on
    the event loop, so that runs first."""
    QApplication.processEvents()
    return [m.label() for m in chart.chart().legend().markers() if m.isVisible()]


@pytest.mark.parametrize("top", [0, 1, 2, 3, 7, 12, 117, 731, 4790])
def test_count_axes_have_whole_number_ticks(top: int) -> None:
    from reviewdesk.ui.lead.charts import MAX_COUNT_TICKS, count_axis

    axis = QValueAxis()
    count_axis(axis, top * 1.12)
    ticks = _ticks(axis)
    assert axis.min() == 0 and axis.max() >= top * 1.12
    assert all(t == int(t) for t in ticks), ticks
    assert len(set(ticks)) == len(ticks) and 2 <= len(ticks) <= MAX_COUNT_TICKS


def test_charts_read_right_with_a_few_decisions_in_one_period(
    qtbot: QtBot, few: ReviewDesk
) -> None:
    with lead_env(qtbot, few) as env:
        open_view(env)
        data = env.compute(LeadQuery(days=None))
        view = env.view
        # Counts: one rejection is one tick at 1, not "0 0 1 1".
        for chart in (view.reason_chart, view.outcome_chart):
            ticks = _ticks(chart.values)
            assert all(t == int(t) for t in ticks), ticks
            assert len(set(map(int, ticks))) == len(ticks)
        assert view.reason_card.stack.currentWidget() is view.reason_card.chart_view
        # One period: its interval is a band with a width, framed by a period either side.
        timeline = view.timeline_chart
        days = 7 if data.grain is Dimension.WEEK else 1
        assert timeline.period_days == days
        band = timeline.bands[None]
        assert band.isVisible()
        xs = [p.x() for p in band.upperSeries().points()]
        assert max(xs) - min(xs) > 0
        axis = timeline.time_axis
        low, high = axis.min().toMSecsSinceEpoch(), axis.max().toMSecsSinceEpoch()
        (period,) = {x for x, *_rest in timeline.points(None)}
        assert low < min(xs) and max(xs) < high
        assert high - low == 2 * days * 86_400_000 and low < period < high
        # The target is the recommendation's own, a line across the whole chart.
        target = data.recommendations.settings.target
        assert timeline.target == target
        line = timeline.target_line
        assert line is not None and line.isVisible()
        assert [(p.x(), p.y()) for p in line.points()] == [
            (float(low), target * 100),
            (float(high), target * 100),
        ]
        # Focusing a category (a click on its legend entry) adds no entry to the legend.
        qtbot.waitUntil(lambda: bool(_visible_legend(timeline)))
        legend = _visible_legend(timeline)
        assert legend == ["All categories", "invoice", "payment", "refund"]
        refund = next(
            m for m in timeline.chart().legend().markers() if m.series() is timeline.lines["refund"]
        )
        refund.clicked.emit()
        assert timeline.focused == "refund" and timeline.bands["refund"].isVisible()
        assert _visible_legend(timeline) == legend
        refund.clicked.emit()
        assert timeline.focused is None and _visible_legend(timeline) == legend
        # The chart asks for the height its legend needs: QtCharts drops entries that do not fit.
        entry = QFontMetrics(timeline.chart().legend().font()).height()
        assert timeline.minimumHeight() >= len(legend) * entry


def test_the_target_line_follows_the_view_and_spans_several_periods(
    qtbot: QtBot, few: ReviewDesk, clock: ManualClock
) -> None:
    # Two more decisions a fortnight later: three weeks on the axis, the line across them all.
    clock.advance(14 * 86_400)
    few.submit([{"id": "later", "draft": "Later.", "category": "refund"}])
    lease = few.claim("ana")
    assert lease is not None
    few.decide(lease, "approve", review_seconds=20)
    with lead_env(qtbot, few) as env:
        open_view(env)
        data = env.compute(LeadQuery(days=None))
        timeline = env.view.timeline_chart
        line = timeline.target_line
        assert line is not None
        axis = timeline.time_axis
        assert [p.x() for p in line.points()] == [
            float(axis.min().toMSecsSinceEpoch()),
            float(axis.max().toMSecsSinceEpoch()),
        ]
        assert {p.y() for p in line.points()} == {data.recommendations.settings.target * 100}
        # A target set on the chart redraws it at once.
        timeline.set_target(0.5)
        assert timeline.target_line is not None
        assert {p.y() for p in timeline.target_line.points()} == {50.0}


def test_an_empty_period_shows_messages_not_empty_charts(qtbot: QtBot, few: ReviewDesk) -> None:
    with lead_env(qtbot, few) as env:
        open_view(env)
        env.compute(LeadQuery(days=None, category="payment"))
        view = env.view
        # No rejection: a message; approvals: a chart with one bar.
        assert view.reason_card.stack.currentWidget() is view.reason_card.empty
        assert view.timeline_card.stack.currentWidget() is view.timeline_card.chart_view
        env.compute(LeadQuery(days=None, category="nothing-here"))
        for card in (view.timeline_card, view.reason_card, view.outcome_card):
            assert card.stack.currentWidget() is card.empty


def test_the_trend_legend_shows_only_with_its_lines(qtbot: QtBot, few: ReviewDesk) -> None:
    summary = few.session_summary("ana")
    assert summary is not None and len(summary.trend) == 1
    view = SessionSummaryView()
    qtbot.addWidget(view)
    view.show()
    view.show_summary(summary)
    # One session: the chart says the trend comes later, and no legend names lines not drawn.
    assert not view.trend.has_lines
    assert not view.trend_legend.isVisible()
    view.show_summary(dataclasses.replace(summary, trend=[summary.trend[0]] * 2))
    assert view.trend.has_lines and view.trend_legend.isVisible()
