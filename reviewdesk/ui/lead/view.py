"""The lead view: filters on top; an overview of charts, then categories, recommendations,
reviewers and the escalation inbox, each a tab.

All figures come from one job on the desk's executor (``jobs.compute_lead_data``); the view
shows a busy state while it runs, with the filters disabled, and drops the answer to any
request that a newer one replaced. The answer fills the models, and the charts and tables
follow their models.
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import QEvent, QItemSelection, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reviewdesk.core.errors import ReviewDeskError
from reviewdesk.services.alerts import Alert
from reviewdesk.services.policies import PolicyView
from reviewdesk.services.recommend import (
    ConfidenceThreshold,
    Outcome,
    Recommendation,
    RecommendationReport,
)
from reviewdesk.services.stats import Dimension, GroupStats
from reviewdesk.storage.change_feed import Change
from reviewdesk.ui.lead import format as fmt
from reviewdesk.ui.lead import theme
from reviewdesk.ui.lead.alerts_view import AlertsView
from reviewdesk.ui.lead.charts import (
    ChartCard,
    OutcomeChart,
    ReasonChart,
    TimelineChart,
    make_table,
)
from reviewdesk.ui.lead.filter_bar import FilterBar
from reviewdesk.ui.lead.inbox import EscalationInboxView
from reviewdesk.ui.lead.jobs import LeadData, LeadQuery, compute_lead_data
from reviewdesk.ui.lead.models import (
    KEY_ROLE,
    CategoryModel,
    CategoryRowsOnly,
    ReasonModel,
    RecommendationModel,
    ReviewerModel,
    TextDelegate,
    TimelineModel,
)
from reviewdesk.ui.lead.policies import (
    PoliciesView,
    StartPolicyDialog,
    request_from,
    start_button,
)
from reviewdesk.ui.operations import OpenDesk
from reviewdesk.ui.widgets.details import plain_label
from reviewdesk.ui.worker import Executor

log = logging.getLogger(__name__)

OVERVIEW, CATEGORIES, RECOMMENDATIONS, REVIEWERS, ESCALATIONS, POLICIES = range(6)


class Kpi(QFrame):
    """One headline figure: a large value over a short caption."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kpi")
        layout = QVBoxLayout(self)
        pad = self.fontMetrics().height() // 3
        layout.setContentsMargins(pad * 2, pad, pad * 2, pad)
        layout.setSpacing(0)
        self.value = plain_label("–", name="kpiValue")
        self.caption = plain_label(caption, name="muted")
        # On a narrow window the caption takes a second line rather than widen the window.
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.caption_text = caption
        layout.addWidget(self.value)
        layout.addWidget(self.caption)
        self.setAccessibleName(caption)

    def show_value(self, value: str, detail: str = "", tip: str = "") -> None:
        self.value.setText(value)
        self.caption.setText(f"{self.caption_text} {detail}".strip())
        self.setToolTip(tip)


class KpiStrip(QWidget):
    """The selection's headline figures, from the total of the category report."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.decided = Kpi("decisions")
        self.approval = Kpi("approved unchanged")
        self.edited = Kpi("edited")
        self.rejected = Kpi("rejected")
        self.escalated = Kpi("escalated")
        self.sla = Kpi("answered late")
        self.review = Kpi("median review")
        self.gold = Kpi("gold accuracy")
        for kpi in (
            self.decided,
            self.approval,
            self.edited,
            self.rejected,
            self.escalated,
            self.sla,
            self.review,
            self.gold,
        ):
            layout.addWidget(kpi, 1)

    def show_total(self, g: GroupStats) -> None:
        a = g.approved
        left = g.low_attention_left_out
        self.decided.show_value(
            fmt.count_text(g.decided),
            f"· {fmt.count_text(left)} left out" if left else "",
            f"{fmt.left_out_text(left)}." if left else "",
        )
        self.approval.show_value(
            fmt.percent(a.value),
            f"({a.low * 100:.0f}–{a.high * 100:.0f})" if a.value is not None else "",
            fmt.rate_tip(a, "decisions approved unchanged"),
        )
        self.edited.show_value(
            fmt.percent(g.edited.value),
            f"· {fmt.percent(g.trivial_edits.value)} trivial" if g.edited.count else "",
            fmt.rate_tip(g.edited, "decisions edited"),
        )
        self.rejected.show_value(
            fmt.percent(g.rejected.value), "", fmt.rate_tip(g.rejected, "decisions rejected")
        )
        self.escalated.show_value(
            fmt.percent(g.escalated.value),
            f"· {g.escalations_open} open" if g.escalations_open else "",
            fmt.rate_tip(g.escalated, "decisions escalated"),
        )
        breaches = g.sla_breaches
        self.sla.show_value(
            f"{breaches.count} of {breaches.total}" if breaches.total else "–",
            "",
            "Escalations answered after their due time, or still open past it.",
        )
        self.review.show_value(fmt.seconds_text(g.median_review_seconds))
        self.gold.show_value(
            fmt.percent(g.gold_accuracy.value, 0) if g.gold_accuracy else "–",
            "",
            fmt.rate_tip(g.gold_accuracy, "known-answer drafts answered right"),
        )


class LeadView(QWidget):
    """Statistics, recommendations, reviewers and escalations of the open desk."""

    busy_changed = Signal(bool)
    computed = Signal(object)  # LeadData, once the models hold it
    notice = Signal(str, str)  # level, text: for the window's notice bar

    def __init__(self, executor: Executor, *, lead: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadView")
        self._executor = executor
        self._session: OpenDesk | None = None
        self._generation = 0
        self._pending: int | None = None  # the generation being computed
        self._stale = True  # the data shown is not of the open desk and filters
        self.data: LeadData | None = None
        self._selected_recommendation: Recommendation | None = None
        self._colors: dict[str, QColor] = {}

        self.category_model = CategoryModel(self)
        self.timeline_model = TimelineModel(self)
        self.reason_model = ReasonModel(self)
        self.recommendation_model = RecommendationModel(self)
        self.reviewer_model = ReviewerModel(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.filters = FilterBar(self)
        layout.addWidget(self.filters)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("leadTabs")
        self.tabs.setDocumentMode(True)
        layout.addWidget(self.tabs, 1)
        self.tabs.addTab(self._overview_page(), "Overview")
        self.tabs.addTab(self._categories_page(), "Categories")
        self.tabs.addTab(self._recommendations_page(), "Recommendations")
        self.tabs.addTab(self._reviewers_page(), "Reviewers")
        self.inbox = EscalationInboxView(executor, lead=lead, parent=self.tabs)
        self.tabs.addTab(self.inbox, "Escalations")
        self.inbox.counts_changed.connect(self._inbox_counts)
        self.inbox.notice.connect(self.notice)
        # A resolution changes the escalation figures (SLA breaches, open escalations).
        self.inbox.resolved.connect(lambda _e: self._mark_stale())
        self.policies = PoliciesView(executor, lead=lead, parent=self.tabs)
        self.tabs.addTab(self.policies, "Policies")
        self.policies.notice.connect(self.notice)
        self.alerts = AlertsView(self.tabs)
        self.tabs.addTab(self.alerts, "Alerts")

        self.filters.changed.connect(self.refresh)
        self.filters.refresh_requested.connect(self.refresh)
        refresh = QAction("Refresh the lead view", self)
        refresh.setObjectName("leadRefreshAction")
        refresh.setShortcut(QKeySequence(Qt.Key.Key_F5))
        refresh.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        refresh.triggered.connect(self.refresh_all)
        self.addAction(refresh)
        self.refresh_action = refresh
        self.filters.say("Open a database to see its statistics.")

    # -- pages ----------------------------------------------------------------------------------
    def _overview_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        gap = self.fontMetrics().height() // 2
        layout.setContentsMargins(0, gap, 0, 0)
        self.kpis = KpiStrip(page)
        layout.addWidget(self.kpis)
        grid = QGridLayout()
        grid.setSpacing(gap)
        self.timeline_chart = TimelineChart(self.timeline_model, color_of=self.color_of)
        self.timeline_card = ChartCard(
            "Approval over time",
            self.timeline_chart,
            make_table(
                self.timeline_model,
                name="Approval over time table",
                hidden=(TimelineModel.LOW, TimelineModel.HIGH),
            ),
            self.timeline_model,
            parent=page,
        )
        self.outcome_chart = OutcomeChart(self.category_model)
        self.outcome_card = ChartCard(
            "Outcomes per category",
            self.outcome_chart,
            make_table(self.category_model, name="Outcomes per category table"),
            self.category_model,
            parent=page,
        )
        self.outcome_card.subtitle.setText("decisions, by outcome")
        self.reason_chart = ReasonChart(self.reason_model)
        self.reason_card = ChartCard(
            "Rejection reasons",
            self.reason_chart,
            make_table(self.reason_model, name="Rejection reasons table"),
            self.reason_model,
            empty_text="No rejection in this period.",
            parent=page,
        )
        self.reason_card.subtitle.setText("rejections, by reason")
        # The outcome bars get the full height: one bar per category, and there may be many.
        grid.addWidget(self.timeline_card, 0, 0)
        grid.addWidget(self.reason_card, 1, 0)
        grid.addWidget(self.outcome_card, 0, 1, 2, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        layout.addLayout(grid, 1)
        return page

    def _categories_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        intro = plain_label(
            "Every figure per category. Rates are shares of live decisions on non-gold "
            "drafts, without the low-attention approvals left out (Left out) unless they "
            "are included; the approval and gold intervals are 95% Wilson intervals.",
            name="muted",
        )
        intro.setWordWrap(True)  # a line of its own would set the window's least width
        layout.addWidget(intro)
        self.category_table = make_table(self.category_model, name="Categories")
        layout.addWidget(self.category_table, 1)
        return page

    def _recommendations_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        top = QHBoxLayout()
        self.recommend_intro = plain_label(name="muted")
        self.recommend_intro.setWordWrap(True)
        self.show_bands = QCheckBox("Show confidence bands", page)
        self.show_bands.setObjectName("showBands")
        top.addWidget(self.recommend_intro, 1)
        top.addWidget(self.show_bands)
        self.start_policy = start_button(page)
        self.start_policy.clicked.connect(self.open_start_policy)
        top.addWidget(self.start_policy)
        layout.addLayout(top)
        splitter = QSplitter(Qt.Orientation.Vertical, page)
        self.recommendation_rows = CategoryRowsOnly(self)
        self.recommendation_rows.setSourceModel(self.recommendation_model)
        self.recommendation_table = make_table(
            self.recommendation_rows, name="Recommendations", sortable=False, parent=splitter
        )
        self.why = QLabel(splitter)
        self.why.setObjectName("recommendationWhy")
        self.why.setTextFormat(Qt.TextFormat.PlainText)
        self.why.setWordWrap(True)
        self.why.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.why.setMargin(self.fontMetrics().height() // 2)
        splitter.addWidget(self.recommendation_table)
        splitter.addWidget(self.why)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self.show_bands.toggled.connect(self.recommendation_rows.set_show_bands)
        self.recommendation_table.selectionModel().selectionChanged.connect(self._explain)
        return page

    def _reviewers_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        intro = plain_label(
            "Each reviewer's decisions in the period. Low attention: decisions flagged as "
            "approved faster than reading, of all; unless included, such approvals are left "
            "out of every other figure (Left out). Gold accuracy: known-answer drafts "
            "answered right.",
            name="muted",
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.reviewer_table: QTableView = make_table(self.reviewer_model, name="Reviewers")
        layout.addWidget(self.reviewer_table, 1)
        return page

    # -- the session and the lead ---------------------------------------------------------------
    def set_session(self, session: OpenDesk | None) -> None:
        """The open desk (None: none). Answers about an earlier one are dropped."""
        self._session = session
        self._generation += 1
        self._set_busy(None)
        self.inbox.set_session(session)
        self.policies.set_session(session)
        self._stale = True
        if session is None:
            self.filters.say("No database open.")
        elif self.isVisible():
            self.refresh()

    def set_lead(self, name: str) -> None:
        self.inbox.lead = name
        self.policies.lead = name

    def database_changed(self, change: Change) -> None:
        """Told by the database: the inbox reads itself again when an escalation may have
        come or gone (the statistics are read on demand, as before)."""
        self.inbox.database_changed(change)

    def set_alerts(self, alerts: list[Alert]) -> None:
        """The open alerts, as the alert monitor read them."""
        self.alerts.set_alerts(alerts)
        index = self.tabs.indexOf(self.alerts)
        critical = sum(a.severity.value == "critical" for a in alerts)
        text = "Alerts"
        if alerts:
            text += f" ({len(alerts)}{f', {critical} critical' if critical else ''})"
        self.tabs.setTabText(index, text)

    def stop(self) -> None:
        """Before the window closes: no timer of the view keeps running."""
        self.filters.stop()
        self.inbox.stop()

    # -- computing ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._pending is not None

    def _set_busy(self, generation: int | None) -> None:
        was = self.busy
        self._pending = generation
        self.filters.set_busy(self.busy)
        if was != self.busy:
            self.busy_changed.emit(self.busy)

    def query(self) -> LeadQuery:
        return self.filters.query()

    def set_query(self, query: LeadQuery) -> None:
        """Show ``query`` in the filters and compute it."""
        self.filters.set_query(query)
        self.refresh()

    def refresh(self) -> None:
        """Compute the figures for the filters as they are now, on the worker."""
        session = self._session
        if session is None:
            self.filters.say("No database open.")
            return
        query = self.filters.query()
        self._generation += 1
        generation = self._generation
        self._set_busy(generation)
        self._executor.submit(
            lambda: compute_lead_data(session, query),
            on_success=lambda data: self._computed(generation, data),
            on_failure=lambda exc: self._failed(generation, exc),
            label="lead statistics",
        )

    def refresh_all(self) -> None:
        self.refresh()
        if self.tabs.currentWidget() is self.inbox:
            self.inbox.reload()

    def _mark_stale(self) -> None:
        self._stale = True
        if self.isVisible() and not self.busy:
            self.refresh()

    def _computed(self, generation: int, data: LeadData) -> None:
        if generation != self._generation:
            return  # the filters changed meanwhile: a newer answer is on its way
        self.data = data
        self._stale = False
        self._colors = {c: theme.series_color(i) for i, c in enumerate(data.category_options)}
        self.filters.set_options(data.category_options, data.model_options)
        self.filters.show_period(data.since, data.until)
        self.kpis.show_total(data.categories.total)
        self.category_model.set_report(data.categories)
        self.reason_model.set_total(data.categories.total)
        self.reviewer_model.set_report(data.reviewers)
        self.recommendation_model.set_report(data.recommendations)
        self.timeline_chart.period_days = 7 if data.grain is Dimension.WEEK else 1
        self.timeline_chart.set_target(data.recommendations.settings.target)
        self.timeline_model.set_reports(data.timeline, data.overall)
        self._describe(data)
        self._show_alarms(data.held)
        self._set_busy(None)
        total = data.categories.total
        left = total.low_attention_left_out
        self.filters.say(
            f"{fmt.count_text(total.decided)} decisions · "
            + (f"{fmt.left_out_text(left)} · " if left else "")
            + f"updated {_clock(data.generated_at)}"
        )
        self.computed.emit(data)

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._set_busy(None)
        if not isinstance(exc, ReviewDeskError):
            log.error("could not compute the lead statistics", exc_info=exc)
        self.filters.say("Could not compute the figures.")
        self.notice.emit("error", f"The lead statistics could not be computed: {exc}")

    def _describe(self, data: LeadData) -> None:
        grain = fmt.grain_text(data.grain)
        target = data.recommendations.settings.target * 100
        self.timeline_card.subtitle.setText(
            f"by {grain}; band: 95% interval of all categories together (click a category for "
            f"its own); dashed: the {target:g}% target"
        )
        self.recommend_intro.setText(_settings_text(data.recommendations))
        self.why.setText("Choose a row to see why, and the confidence threshold of its category.")
        if self.recommendation_rows.rowCount():
            self.recommendation_table.selectRow(0)

    # -- explanations ---------------------------------------------------------------------------
    def _explain(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes or self.data is None:
            return
        key = indexes[0].data(KEY_ROLE)
        row = next((r for r in self.recommendation_model.rows if (r.category, r.band) == key), None)
        if row is None:
            return
        thresholds = {t.category: t for t in self.data.recommendations.thresholds}
        text = _why_text(row, thresholds.get(row.category))
        released = row.verdict.released
        if released:
            text += (
                f"\n{fmt.count_text(released)} drafts of this "
                f"{'category' if row.band is None else 'band'} were released in the period "
                "unreviewed by a review policy: they are not decisions and not in these figures "
                "(the Policies tab has them)."
            )
        self.why.setText(text)
        self.start_policy.setEnabled(
            row.band is None and row.verdict.outcome in (Outcome.SAMPLE, Outcome.REMOVE)
        )
        self._selected_recommendation = row

    # -- from advice to action ------------------------------------------------------------------
    def open_start_policy(self) -> StartPolicyDialog | None:
        """ "Start a policy" for the selected recommendation: its plan pre-filled, its evidence
        beside it. Returns the dialog (shown, not modal)."""
        row = self._selected_recommendation
        if row is None or self._session is None or self.data is None:
            return None
        v = row.verdict
        thresholds = {t.category: t for t in self.data.recommendations.thresholds}
        threshold = thresholds.get(row.category)
        request = request_from(
            row.category,
            target=self.data.recommendations.settings.target,
            rate=v.sampling_rate if v.outcome is Outcome.SAMPLE else v.spot_check_rate,
            floor=threshold.threshold if threshold is not None else None,
            model=self.data.query.model,
        )
        dialog = StartPolicyDialog(
            self._executor,
            self._session,
            request,
            _why_text(row, threshold),
            self,
            models=self.data.model_options,
        )

        def finished(result: int) -> None:
            if result == QDialog.DialogCode.Accepted:
                dialog.start(self.policies.lead, self._policy_started)

        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def _policy_started(self, view: PolicyView) -> None:
        phase = view.cells[0].phase.value if view.cells else "screening"
        self.notice.emit(
            "info",
            f"Policy started for {view.policy.cell.describe()}: {phase}, "
            f"i = {view.policy.plan.clearance}, f = {view.policy.plan.fraction:.3g}.",
        )
        self.tabs.setCurrentWidget(self.policies)
        self.policies.reload()

    def color_of(self, category: str) -> QColor:
        return QColor(self._colors.get(category, theme.series_color(len(self._colors))))

    def _show_alarms(self, held: tuple[str, ...]) -> None:
        """A drift alarm holds cells in full review until a lead resets them: say so."""
        self.tabs.setTabText(POLICIES, f"Policies ({len(held)} alarm)" if held else "Policies")
        if held:
            self.notice.emit(
                "warning",
                "Drift alarm: full review until a lead resets it, for "
                + "; ".join(held)
                + " (Policies tab).",
            )

    def _inbox_counts(self, open_: int, overdue: int) -> None:
        text = "Escalations"
        if open_:
            text += f" ({open_}{f', {overdue} overdue' if overdue else ''})"
        self.tabs.setTabText(ESCALATIONS, text)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            # Light and dark: the charts and the tables' tones follow the palette.
            for chart in (self.outcome_chart, self.reason_chart, self.timeline_chart):
                theme.style_chart(chart.chart(), self.palette())
            self.timeline_chart.rebuild()
            tones = theme.tone_colors(self.palette())
            for table in self.findChildren(QTableView):
                delegate = table.itemDelegate()
                if isinstance(delegate, TextDelegate):
                    delegate.tones = tones

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale and self._session is not None and not self.busy:
            self.refresh()


def _clock(at: datetime) -> str:
    return f"{at.astimezone():%H:%M}"


def _settings_text(report: RecommendationReport) -> str:
    s = report.settings
    if report.include_low_attention:
        low = " Low-attention approvals counted."
    elif report.low_attention_left_out:
        low = f" {fmt.left_out_text(report.low_attention_left_out)}."
    else:
        low = ""
    return (
        f"Decisions from {fmt.period_text(report.since, report.until)}.{low} Review can be "
        f"removed when the anytime-valid lower bound of approval reaches {s.target * 100:g}% "
        f"(error {s.alpha * 100:g}% over all looks); a critical or high escalation, or a "
        "significant decline, keeps full review. See docs/recommendations.md."
    )


def _why_text(row: Recommendation, threshold: ConfidenceThreshold | None) -> str:
    v = row.verdict
    scope = f"band {row.band}" if row.band else "the whole category"
    lines = [
        f"{fmt.key_text(row.category)}, {scope}: {fmt.outcome_text(v)}.",
        v.explanation,
        f"Evidence: n = {v.n} ({v.risk.value} risk, minimum {v.min_reviews}"
        + (f"; {fmt.left_out_text(v.low_attention_left_out)}" if v.low_attention_left_out else "")
        + "); approval "
        f"{fmt.rate_text(v.approval)}; decision bound {fmt.percent(v.bound)}; trivial edits "
        f"{fmt.percent(v.trivial_edits.value)}; escalations {fmt.escalations_text(v.escalations)}; "
        f"trend {fmt.trend_text(v)}; rule: {v.rule.value.replace('_', ' ')}.",
    ]
    if threshold is not None:
        if threshold.threshold is None or threshold.verdict is None:
            lines.append("No confidence threshold above which review could be skipped yet.")
        else:
            tv = threshold.verdict
            share = threshold.skip_share.value if threshold.skip_share else None
            lines.append(
                f"Confidence threshold: drafts with confidence ≥ {threshold.threshold:.2f} could "
                f"skip review ({fmt.percent(share)} "
                f"of the category's decisions; n = {tv.n}, approval {fmt.rate_text(tv.approval)}, "
                f"bound {fmt.percent(tv.bound)})."
            )
        if threshold.tested:
            tried = ", ".join(
                f"{t:.2f} {fmt.OUTCOME_TITLES[o].lower()}" for t, o in threshold.tested
            )
            lines.append(f"Thresholds tried, from the top: {tried}.")
    return "\n".join(lines)
