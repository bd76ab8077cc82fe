"""The lead view (issue 5): its models against the services' own output, filters, the busy
state, charts fed from the models, and the lead mode of the main window.

Three weeks of decisions are made through the real ReviewDesk API on a manual clock (on SQLite,
and on PostgreSQL where the suite has one); the view computes on its own executor, and no SQL
may run on the GUI thread.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from PySide6.QtCharts import QBarSet
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QCheckBox
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.services.recommend import RecommendationEngine
from reviewdesk.services.stats import Dimension, StatsFilter, StatsService
from reviewdesk.ui.lead.format import chart_text
from reviewdesk.ui.lead.jobs import LeadQuery
from reviewdesk.ui.lead.models import KEY_ROLE, TEXT_ROLE, TimelineModel
from reviewdesk.ui.review_controller import ReviewState
from tests.conftest import DeskFactory
from tests.ui.conftest import HarnessFactory, drafts
from tests.ui.lead_helpers import DAY0, DAYS, lead_env, open_view, seed

ALL_TIME = LeadQuery(days=None)
LAST_DAY = (DAY0 + timedelta(days=DAYS - 1)).date()


@pytest.fixture
def seeded(make_desk: DeskFactory, clock: ManualClock) -> ReviewDesk:
    desk = make_desk(clock=clock)
    seed(desk, clock)
    return desk


@pytest.fixture
def reference(seeded: ReviewDesk, make_desk: DeskFactory, clock: ManualClock) -> ReviewDesk:
    """Another desk on the same database, for the test's own reading (on the GUI thread, where
    the view's desk may never run SQL)."""
    return make_desk(clock=clock)


def _column(model: object, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> list[object]:
    return [model.index(r, column).data(role) for r in range(model.rowCount())]  # type: ignore[attr-defined]


def test_models_hold_what_the_services_compute(
    qtbot: QtBot, seeded: ReviewDesk, reference: ReviewDesk, qtmodeltester: object
) -> None:
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        data = env.compute(ALL_TIME)
        stats = StatsService.for_desk(reference)
        by_category = stats.compute([Dimension.CATEGORY])
        view = env.view
        assert data.since is None and data.until == LAST_DAY
        # Categories: one row per group, in the service's order, with its counts and rates.
        model = view.category_model
        assert _column(model, 0) == [g.key[0] for g in by_category.groups]
        assert _column(model, 1) == [g.decided for g in by_category.groups]
        assert _column(model, 2) == [g.approved.count for g in by_category.groups]
        assert _column(model, 4) == [g.rejected.count for g in by_category.groups]
        assert _column(model, 5) == [g.escalated.count for g in by_category.groups]
        approval = model.column_index("Approval")
        for row, g in enumerate(by_category.groups):
            assert model.index(row, approval).data() == pytest.approx(g.approved.value * 100)
            text = model.index(row, approval).data(TEXT_ROLE)
            a = g.approved
            assert text == f"{a.value * 100:.1f}% ({a.low * 100:.1f}–{a.high * 100:.1f})"
        assert view.kpis.decided.value.text() == str(by_category.total.decided) == "63"
        # Reviewers.
        by_reviewer = stats.compute([Dimension.REVIEWER])
        assert _column(view.reviewer_model, 0) == ["ana", "bob"]
        assert _column(view.reviewer_model, 1) == [g.decided for g in by_reviewer.groups]
        # Rejection reasons, most frequent first, counted as the service counts them.
        reasons = by_category.total.rejected_by_reason
        assert dict(
            zip(_column(view.reason_model, 0), _column(view.reason_model, 1), strict=True)
        ) == {k: v.count for k, v in reasons.items()}
        counts = _column(view.reason_model, 1)
        assert counts == sorted(counts, reverse=True)
        # The timeline: three weeks by week, each category's and all together.
        assert data.grain is Dimension.WEEK
        weekly = stats.compute([Dimension.CATEGORY, Dimension.WEEK])
        timeline = view.timeline_model
        rows = {
            (timeline.index(r, 0).data(KEY_ROLE), timeline.index(r, 0).data()): r
            for r in range(timeline.rowCount())
        }
        assert len(rows) == len(weekly.groups) + len(data.overall.groups)
        for g in weekly.groups:
            monday = date.fromisoformat(str(g.key[1]))
            row = rows[(g.key[0], QDate(monday.year, monday.month, monday.day))]
            assert timeline.index(row, TimelineModel.DECIDED).data() == g.decided
            assert timeline.index(row, TimelineModel.LOW).data() == pytest.approx(
                g.approved.low * 100
            )
            assert timeline.index(row, TimelineModel.HIGH).data() == pytest.approx(
                g.approved.high * 100
            )
        # Recommendations: each category, then its confidence bands, with the engine's verdicts.
        report = RecommendationEngine.for_desk(reference).recommend()
        expected = {(r.category, r.band): r.verdict for r in (*report.categories, *report.bands)}
        shown = {(r.category, r.band): r.verdict for r in view.recommendation_model.rows}
        assert shown == expected
        assert view.recommendation_rows.rowCount() == len(report.categories)
        view.show_bands.setChecked(True)
        assert view.recommendation_rows.rowCount() == len(expected)
        for m in (
            model,
            view.reviewer_model,
            view.reason_model,
            timeline,
            view.recommendation_model,
        ):
            qtmodeltester.check(m)  # type: ignore[attr-defined]


def test_filters_change_what_is_computed(
    qtbot: QtBot, seeded: ReviewDesk, reference: ReviewDesk
) -> None:
    stats = StatsService.for_desk(reference)
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        view = env.view
        # The default, the last 30 days by the desk's clock, holds all three weeks.
        assert view.filters.query() == LeadQuery(days=30)
        assert view.category_model.rowCount() == 3
        assert view.filters.category.count() == 4  # all, and each category decided
        assert view.filters.model.count() == 4  # all, m1, m2, and drafts without a version
        # One category.
        env.compute(LeadQuery(days=None, category="refund"))
        assert _column(view.category_model, 0) == ["refund"]
        refund = stats.compute(filter=StatsFilter(categories=("refund",))).total
        assert view.kpis.decided.value.text() == str(refund.decided)
        assert {r.category for r in view.recommendation_model.rows} == {"refund"}
        assert view.filters.category.currentData() == "refund"
        assert view.filters.category.count() == 4  # the choices stay
        # One model version: only the categories drafted by it.
        env.compute(LeadQuery(days=None, model="m2"))
        assert _column(view.category_model, 0) == ["shipping"]
        env.compute(LeadQuery(days=None, model=""))
        assert _column(view.category_model, 0) == ["gift"]
        # A period: the last 7 days, counted back from the desk's today.
        data = env.compute(LeadQuery(days=7))
        assert (data.since, data.until) == (LAST_DAY - timedelta(days=6), LAST_DAY)
        assert data.grain is Dimension.DAY
        week = StatsFilter(since=data.since, until=data.until)
        assert view.kpis.decided.value.text() == str(stats.compute(filter=week).total.decided)
        assert view.filters.since.date() == QDate(2026, 3, 16)
        periods = {
            view.timeline_model.index(r, 0).data() for r in range(view.timeline_model.rowCount())
        }
        assert periods == {QDate(2026, 3, 16).addDays(d) for d in range(7)}
        # A custom period, typed into the dates.
        custom = LeadQuery(days=None, since=date(2026, 3, 3), until=date(2026, 3, 4))
        data = env.compute(custom)
        assert view.filters.query() == custom
        assert view.kpis.decided.value.text() == "6"
        assert data.categories.total.decided == 6


def test_low_attention_approvals_are_left_out_until_included(
    qtbot: QtBot, seeded: ReviewDesk, reference: ReviewDesk
) -> None:
    # Four of refund's approvals were faster than reading.
    with reference._engines.write.begin() as conn:
        conn.execute(
            text(
                "UPDATE decision SET low_attention = :t WHERE label = 'approved' AND draft_id IN "
                "(SELECT id FROM draft WHERE external_id IN "
                "('refund-00', 'refund-01', 'refund-03', 'refund-05'))"
            ),
            {"t": True},
        )
    stats = StatsService.for_desk(reference)
    engine = RecommendationEngine.for_desk(reference)
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        view, bar = env.view, env.view.filters
        # Left out by default, as in exports, statistics and recommendations, and said so.
        assert not bar.low_attention.isChecked()
        assert view.query().include_low_attention is False
        data = env.compute(ALL_TIME)
        by_category = stats.compute([Dimension.CATEGORY])
        assert by_category.total.decided == 59 and by_category.total.low_attention_left_out == 4
        assert view.kpis.decided.value.text() == "59"
        assert view.kpis.decided.caption.text() == "decisions · 4 left out"
        assert bar.status.text().startswith("59 decisions · 4 low-attention approvals left out")
        left_out = view.category_model.column_index("Left out")
        assert _column(view.category_model, left_out) == [0, 4, 0]  # gift, refund, shipping
        assert _column(view.category_model, 1) == [g.decided for g in by_category.groups]
        reviewers = stats.compute([Dimension.REVIEWER])
        assert _column(view.reviewer_model, view.reviewer_model.column_index("Left out")) == [
            g.low_attention_left_out for g in reviewers.groups
        ]
        report = engine.recommend()
        shown = {(r.category, r.band): r.verdict for r in view.recommendation_model.rows}
        assert shown == {
            (r.category, r.band): r.verdict for r in (*report.categories, *report.bands)
        }
        refund = next(r.verdict for r in data.recommendations.categories if r.category == "refund")
        assert refund.low_attention_left_out == 4
        assert "4 low-attention approvals left out" in view.recommend_intro.text()
        # The box and the longer texts still let the window fit a 1280-pixel screen.
        assert view.minimumSizeHint().width() < 1240
        # Ticked: counted in full, everywhere.
        with qtbot.waitSignal(view.computed, timeout=20_000) as answer:
            bar.low_attention.setChecked(True)
        data = answer.args[0]
        assert view.query().include_low_attention is True
        assert data.categories.total.decided == 63
        assert view.kpis.decided.value.text() == "63"
        assert view.kpis.decided.caption.text() == "decisions"
        assert "left out" not in bar.status.text()
        assert _column(view.category_model, left_out) == [0, 0, 0]
        every = engine.recommend(include_low_attention=True)
        shown = {(r.category, r.band): r.verdict for r in view.recommendation_model.rows}
        assert shown == {(r.category, r.band): r.verdict for r in (*every.categories, *every.bands)}
        assert "Low-attention approvals counted." in view.recommend_intro.text()
        # The query round-trips through the filters, and the box waits while computing.
        view.filters.set_query(LeadQuery(days=7))
        assert not bar.low_attention.isChecked()
        with env.worker_held():
            view.refresh()
            assert not bar.low_attention.isEnabled()
        qtbot.waitUntil(lambda: not view.busy, timeout=20_000)
        assert bar.low_attention.isEnabled()


def test_busy_state_is_shown_then_cleared(qtbot: QtBot, seeded: ReviewDesk) -> None:
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        view, bar = env.view, env.view.filters
        assert not view.busy and not bar.busy_bar.isVisible() and bar.category.isEnabled()
        with env.worker_held():
            with qtbot.waitSignal(view.busy_changed) as became:
                view.refresh()
            assert became.args == [True]
            assert view.busy and bar.busy_bar.isVisible()
            assert bar.status.text() == "Computing…"
            for control in (bar.period, bar.since, bar.until, bar.category, bar.model, bar.refresh):
                assert not control.isEnabled()
        with qtbot.waitSignal(view.busy_changed, timeout=20_000) as cleared:
            pass
        assert cleared.args == [False]
        assert not view.busy and not bar.busy_bar.isVisible()
        assert bar.category.isEnabled() and bar.refresh.isEnabled()
        assert bar.status.text().startswith("63 decisions")


def test_an_answer_to_an_older_query_is_dropped(qtbot: QtBot, seeded: ReviewDesk) -> None:
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        view = env.view
        answers: list[object] = []
        view.computed.connect(answers.append)
        with env.worker_held():
            view.set_query(LeadQuery(days=None, category="refund"))
            view.set_query(LeadQuery(days=None, category="gift"))  # before the first answer
        qtbot.waitUntil(lambda: not view.busy, timeout=20_000)
        assert len(answers) == 1
        assert _column(view.category_model, 0) == ["gift"]
        assert view.filters.category.currentData() == "gift"


def test_charts_are_drawn_from_the_models(qtbot: QtBot, seeded: ReviewDesk) -> None:
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        env.compute(ALL_TIME)
        view = env.view
        # Outcomes: one bar set per outcome column of the category model, one bar per row,
        # the model's first row at the top (the bottom-up axis is fed in reverse).
        chart = view.outcome_chart
        sets: list[QBarSet] = chart.bar_sets
        assert [s.label() for s in sets] == ["Approved", "Edited", "Rejected", "Escalated"]
        model = view.category_model
        for column, bar_set in zip(range(2, 6), sets, strict=True):
            values = [bar_set.at(i) for i in range(bar_set.count())]
            assert values == list(reversed(_column(model, column)))
        assert chart.categories.categories() == list(reversed(_column(model, 0)))
        # Reasons: the count column.
        reasons = view.reason_chart.bar_sets
        assert len(reasons) == 1
        assert [reasons[0].at(i) for i in range(reasons[0].count())] == list(
            reversed(_column(view.reason_model, 1))
        )
        # The timeline: a line and a band per key, point for point the model's rows.
        timeline = view.timeline_chart
        assert set(timeline.lines) == {None, "gift", "refund", "shipping"}
        for key, line in timeline.lines.items():
            points = timeline.points(key)
            assert [(p.x(), p.y()) for p in line.points()] == [(x, y) for x, y, _l, _h in points]
            band = timeline.bands[key]
            assert [p.y() for p in band.upperSeries().points()] == [h for *_rest, h in points]
            assert [p.y() for p in band.lowerSeries().points()] == [
                low for _x, _y, low, _h in points
            ]
        rows = view.timeline_model.rowCount()
        assert sum(len(line.points()) for line in timeline.lines.values()) == rows
        # All categories together carry their band; a category's shows when it is focused.
        assert timeline.bands[None].isVisible() and not timeline.bands["refund"].isVisible()
        timeline.set_focus_key("refund")
        assert timeline.bands["refund"].isVisible() and not timeline.bands["gift"].isVisible()
        # A new answer redraws them: one category.
        env.compute(LeadQuery(days=None, category="gift"))
        assert set(timeline.lines) == {None, "gift"}
        assert timeline.bands["gift"].isVisible()
        assert chart.categories.categories() == ["gift"]
        # Each chart's card shows its model as a table on request.
        card = view.outcome_card
        card.toggle.click()
        assert card.stack.currentWidget() is card.table
        assert card.table.model().rowCount() == 1
        card.toggle.click()
        assert card.stack.currentWidget() is card.chart_view


def test_chart_labels_from_producers_are_not_html(
    qtbot: QtBot, make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock=clock)
    desk.submit([{"id": "h-1", "draft": "Hi", "category": "<b>bold</b> & co"}])
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "approve")
    with lead_env(qtbot, desk) as env:
        open_view(env)
        assert env.view.outcome_chart.categories.categories() == [
            "&lt;b&gt;bold&lt;/b&gt; &amp; co"
        ]
        assert env.view.timeline_chart.lines["<b>bold</b> & co"].name() == chart_text(
            "<b>bold</b> & co"
        )


def test_the_lead_view_is_a_mode_of_the_window(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(3))
    window = h.window
    h.wait_for_draft("d-01")
    # The embedded database's one person is reviewer and lead at once.
    assert window.mode_bar.isVisible() and window.lead_role
    # A reviewer's login on a shared database: no mode bar, and the key does nothing.
    window.set_identity("ana", "reviewer", installation=False)
    assert not window.mode_bar.isVisible()
    h.press(Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.desk_in_view
    window.set_identity("ana", "lead", installation=False)
    assert window.mode_bar.isVisible()
    with h.qtbot.waitSignal(window.lead_view.computed, timeout=20_000):
        h.press(Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.modes.currentWidget() is window.lead_view
    assert window.mode_bar.currentIndex() == 1
    # The desk's keys do not reach the draft behind the lead view, and the review clock stops.
    assert not h.controller.visible
    h.press(Qt.Key.Key_A)
    h.wait_idle()
    assert h.shown_id() == "d-01" and h.controller.state is ReviewState.SHOWING
    # F5 is the lead view's refresh here.
    with h.qtbot.waitSignal(window.lead_view.computed, timeout=20_000):
        h.press(Qt.Key.Key_F5)
    # Back to the desk (by the mode bar), where A approves again.
    window.mode_bar.setCurrentIndex(0)
    assert window.desk_in_view and h.controller.visible
    h.press(Qt.Key.Key_A)
    h.wait_for_draft("d-02")
    # The reviewer's name is the lead's name for resolutions.
    assert window.lead_view.inbox.lead == "ana"
    window.set_lead_role(False)
    assert not window.mode_bar.isVisible() and window.desk_in_view
    # The installation's own login (owner or superuser): everything, and a warning.
    window.set_identity(None, None, installation=True)
    assert window.lead_role and "owner" in window.notice_bar.text.text()


def test_on_a_shared_database_the_name_is_the_login(tmp_path: object, qtbot: QtBot) -> None:
    from reviewdesk.ui.dialogs.settings_dialog import SettingsDialog
    from reviewdesk.ui.worker import Executor

    executor = Executor(on_unhandled=lambda exc: None)
    try:
        dialog = SettingsDialog(
            database_url="postgresql+psycopg://lea@db/reviews",
            reviewer="somebody else",
            default_reviewer="os-user",
            keymap={},
            keyring_available=False,
            embedded_path="/tmp/embedded.sqlite3",
            executor=executor,
            login="lea",
        )
        qtbot.addWidget(dialog)
        assert dialog.reviewer.isReadOnly() and dialog.reviewer.text() == "lea"
        assert "login" in dialog.reviewer_note.text()
        assert dialog.result_settings().reviewer == "lea"
        assert dialog.findChild(QCheckBox, "leadRole") is None  # no checkbox: the database says
    finally:
        executor.stop()
