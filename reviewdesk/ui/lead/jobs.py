"""The lead view's database work, run on the worker thread only (see ``worker.Executor``).

Plain functions of a ``OpenDesk`` that return frozen dataclasses: the services compute, the
GUI only shows what comes back. Nothing here imports Qt or touches a widget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from reviewdesk.core.domain import History
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.services.escalations import Escalation, EscalationInbox, Resolution
from reviewdesk.services.policies import PlanPreview, PolicyView
from reviewdesk.services.recommend import RecommendationEngine, RecommendationReport
from reviewdesk.services.stats import Dimension, StatsFilter, StatsReport, StatsService
from reviewdesk.ui.operations import OpenDesk

# The timeline's step: by day for short periods, or where every category gets enough
# decisions a day for a daily point to say something; else by ISO week.
DAILY_UP_TO_DAYS = 14
DAILY_MIN_PER_CATEGORY = 20
DAILY_AT_MOST_DAYS = 120
PRESET_DAYS = (7, 30, 90)


@dataclass(frozen=True)
class LeadQuery:
    """What the lead asked to see. ``days``: the last N days up to today (by the desk's
    clock); None: ``since``/``until`` (None: from the first decision, up to today)."""

    days: int | None = 30
    since: date | None = None
    until: date | None = None
    category: str | None = None
    model: str | None = None  # "" selects drafts without a model version
    # Count low-attention approvals too; by default they are left out, as exports leave them.
    include_low_attention: bool = False

    def __post_init__(self) -> None:
        if self.days is not None and self.days < 1:
            raise ValueError("days must be at least 1")
        if self.since and self.until and self.since > self.until:
            raise ValueError("the period starts after it ends")


@dataclass(frozen=True)
class LeadData:
    """Everything the lead view shows for one query, read in one job."""

    query: LeadQuery
    since: date | None  # the period as resolved; None: from the first decision
    until: date
    grain: Dimension  # DAY or WEEK: the timeline's step
    categories: StatsReport  # by category; its total is the whole selection
    timeline: StatsReport  # by category and period
    overall: StatsReport  # by period, all selected categories together
    reviewers: StatsReport  # by reviewer
    recommendations: RecommendationReport
    category_options: tuple[str, ...]  # every category and model ever decided, for the filters
    model_options: tuple[str, ...]
    generated_at: datetime
    # Drafts released unreviewed by review policies, per category: not in these figures.
    released: dict[str, int] = field(default_factory=dict)
    # Cells held in full review by a drift alarm, until a lead resets them.
    held: tuple[str, ...] = ()


def compute_lead_data(session: OpenDesk, query: LeadQuery) -> LeadData:
    """Statistics, timeline, reviewers and recommendations for ``query``."""
    desk = session.desk
    stats = StatsService.for_desk(desk)
    today = stats.now().date()
    until = query.until or today
    since = query.since
    if query.days is not None:
        until = today
        since = today - timedelta(days=query.days - 1)
    flt = StatsFilter(
        since=since,
        until=until,
        categories=(query.category,) if query.category is not None else (),
        models=(query.model,) if query.model is not None else (),
        include_low_attention=query.include_low_attention,
    )
    options = stats.compute([Dimension.CATEGORY, Dimension.MODEL])
    categories = stats.compute([Dimension.CATEGORY], filter=flt)
    weekly = stats.compute([Dimension.WEEK], filter=flt)
    first = since or _first_day(weekly)
    grain = _grain((until - first).days + 1 if first else 1, categories)
    overall = weekly if grain is Dimension.WEEK else stats.compute([grain], filter=flt)
    recommendations = RecommendationEngine.for_desk(desk).recommend(
        since=since,
        until=until,
        models=flt.models,
        categories=flt.categories,
        include_low_attention=flt.include_low_attention,
    )
    return LeadData(
        query=query,
        since=since,
        until=until,
        grain=grain,
        categories=categories,
        timeline=stats.compute([Dimension.CATEGORY, grain], filter=flt),
        overall=overall,
        reviewers=stats.compute([Dimension.REVIEWER], filter=flt),
        recommendations=recommendations,
        category_options=tuple(sorted({str(g.key[0]) for g in options.groups})),
        model_options=tuple(sorted({g.key[1] or "" for g in options.groups})),
        generated_at=options.generated_at,
        **_policy_figures(desk),
    )


def _policy_figures(desk: ReviewDesk) -> dict[str, Any]:
    """Drafts released per category, and the cells a drift alarm holds in full review."""
    released: dict[str, int] = {}
    held: list[str] = []
    for view in desk.policies.overview():
        category = view.policy.cell.category
        released[category] = released.get(category, 0) + sum(c.released for c in view.cells)
        held += [
            f"{view.policy.cell.describe()} [{c.model_key or 'no model'}]"
            for c in view.cells
            if c.phase.value == "held"
        ]
    return {"released": released, "held": tuple(held)}


def _grain(days: int, categories: StatsReport) -> Dimension:
    if days <= DAILY_UP_TO_DAYS:
        return Dimension.DAY
    per_day = categories.total.decided / days / max(1, len(categories.groups))
    if days <= DAILY_AT_MOST_DAYS and per_day >= DAILY_MIN_PER_CATEGORY:
        return Dimension.DAY
    return Dimension.WEEK


def _first_day(weekly: StatsReport) -> date | None:
    days = [date.fromisoformat(str(g.key[0])) for g in weekly.groups if g.key[0]]
    return min(days) if days else None


# -- the escalation inbox ---------------------------------------------------------------------
@dataclass(frozen=True)
class InboxData:
    items: tuple[Escalation, ...]  # open ones by due time, then (if asked) resolved ones
    now: datetime  # the clock the overdue flags were read by, for "due in" texts
    include_resolved: bool


@dataclass(frozen=True)
class ResolveRequest:
    """A lead's resolution of one escalation, as the inbox collects it."""

    cursor: int
    outcome: Resolution
    note: str
    text: str | None = None  # send_edited only


def load_inbox(session: OpenDesk, *, include_resolved: bool = False) -> InboxData:
    desk = session.desk
    stats = StatsService.for_desk(desk)
    items = EscalationInbox.for_desk(desk).list(include_resolved=include_resolved)
    now = stats.now()
    return InboxData(tuple(items), now, include_resolved)


def load_escalation_history(session: OpenDesk, draft_id: str) -> History:
    """What the reviewer saw of an escalated draft: its input, context and thread."""
    return session.desk.history(draft_id)


def resolve_escalation(session: OpenDesk, request: ResolveRequest, lead: str) -> Escalation:
    """Resolve one escalation; its result goes back to the consumer (``desk.results()``)."""
    return EscalationInbox.for_desk(session.desk).resolve(
        request.cursor, request.outcome, note=request.note, lead=lead, text=request.text
    )


def option_labels(values: Sequence[str]) -> list[tuple[str, str]]:
    """(label, value) pairs for a filter's choices; "" is a draft without a model version."""
    return [(value or "(no model version)", value) for value in values]


# -- review policies --------------------------------------------------------------------------
@dataclass(frozen=True)
class PoliciesData:
    views: tuple[PolicyView, ...]
    generated_at: datetime


@dataclass(frozen=True)
class PolicyRequest:
    """A plan as the lead chose it in "Start a policy"."""

    category: str
    aoql: float
    # Either the sampling fraction f, or the most review the plan may cost at the cell's
    # defect rate (then ReviewDesk chooses f), as ``policy set`` takes them.
    fraction: float | None
    min_confidence: float | None = None
    model: str | None = None
    start_from_history: bool = False
    note: str = ""
    max_review_share: float | None = None
    trivial_edits_count: bool = False


def load_policies(session: OpenDesk) -> PoliciesData:
    desk = session.desk
    now = StatsService.for_desk(desk).now()
    return PoliciesData(tuple(desk.policies.overview()), now)


def preview_policy(session: OpenDesk, request: PolicyRequest) -> PlanPreview:
    return session.desk.policies.preview(
        request.category,
        aoql=request.aoql,
        fraction=request.fraction,
        max_review_share=request.max_review_share,
        min_confidence=request.min_confidence,
        model=request.model,
        trivial_edits_count=request.trivial_edits_count,
    )


def start_policy(session: OpenDesk, request: PolicyRequest, lead: str) -> PolicyView:
    return session.desk.policies.set(
        request.category,
        aoql=request.aoql,
        fraction=request.fraction,
        max_review_share=request.max_review_share,
        min_confidence=request.min_confidence,
        model=request.model,
        trivial_edits_count=request.trivial_edits_count,
        start_from_history=request.start_from_history,
        note=request.note,
        by=lead,
    )


def reset_policies(session: OpenDesk, category: str | None, note: str, lead: str) -> list[int]:
    """Back to full review for the next draft: one category's policies, or every one."""
    return session.desk.policies.reset(category, note=note, by=lead)
