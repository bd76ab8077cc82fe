"""Alert rules: from the queue's figures to the conditions that need someone's attention.

Plain functions of figures read elsewhere (services/alerts.py reads them, storage/alert_sql.py
holds the SQL). Each rule yields ``Finding``s keyed by (rule, subject): an alert is raised when
a finding appears, stays open (once) while it is found, and is cleared when it is no longer.

Defaults are the source guide's: an error rate above 5% over 15 minutes (watched by the review
policies' drift alarm, core/drift.py), an average confidence below 0.7, a spike in escalations;
critical escalations answered within 15 minutes, high within an hour, medium within 4 hours, low
within 24 (``Severity.response_time``). A team changes the thresholds (``AlertSettings``),
within bounds, in the database.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from reviewdesk.core.control_limits import control_check
from reviewdesk.core.domain import Severity
from reviewdesk.core.drift import LIMITS, Cusum
from reviewdesk.core.errors import ConfigurationError


class Rule(StrEnum):
    DEFECT_RATE = "defect_rate"
    APPROVAL_RATE = "approval_rate"
    LOW_CONFIDENCE = "low_confidence"
    ESCALATION_SPIKE = "escalation_spike"
    ESCALATION_OVERDUE = "escalation_overdue"
    OLDEST_WAITING = "oldest_waiting"
    WAITING_PER_REVIEWER = "waiting_per_reviewer"


QUEUE = "queue"  # the subject of the rules about the whole queue

# name: (lowest, highest) a team may set.
ALERT_BOUNDS: dict[str, tuple[float, float]] = {
    "rate_window_minutes": (5, 24 * 60),
    "baseline_days": (1, 90),
    "min_window_decisions": (5, 10_000),
    "min_baseline_decisions": (1, 1_000_000),
    "defect_rate_floor": (0.0, 1.0),
    "confidence_floor": (0.0, 1.0),
    "confidence_window_minutes": (5, 24 * 60),
    "min_window_drafts": (1, 10_000),
    "escalation_spike_multiple": (1.0, 100.0),
    "escalation_spike_min": (1, 10_000),
    "oldest_waiting_minutes": (1, 7 * 24 * 60),
    "waiting_per_reviewer": (1, 100_000),
    "active_reviewer_minutes": (1, 24 * 60),
}


@dataclass(frozen=True)
class AlertSettings:
    """A team's thresholds (stored as the setting ``alert_rules``)."""

    # Approval and defect (rejected or escalated) rates per category: the last window against
    # the whole UTC days before it. Approvals: the window's rate beyond the p-chart's 3-sigma
    # limits (core/control_limits.py), with at least ``min_window_decisions`` in the window.
    # Defects: the drift alarm's CUSUM (core/drift.py) over the window's decisions signals, the
    # baseline having at least ``min_baseline_decisions``.
    rate_window_minutes: float = 15.0
    baseline_days: float = 7.0
    min_window_decisions: int = 20
    min_baseline_decisions: int = 100
    # The in-control defect rate is never taken below this (the guide: an error rate above 5%
    # is alarming; below it, a category better than usual is no concern).
    defect_rate_floor: float = 0.05
    # The average model confidence of drafts submitted in the window.
    confidence_floor: float = 0.7
    confidence_window_minutes: float = 60.0
    min_window_drafts: int = 10
    # Escalations in the last hour above this multiple of their hourly baseline, and at least
    # this many.
    escalation_spike_multiple: float = 3.0
    escalation_spike_min: int = 3
    # The oldest draft waiting longer than this.
    oldest_waiting_minutes: float = 60.0
    # Drafts waiting per reviewer active in the last ``active_reviewer_minutes``.
    waiting_per_reviewer: float = 50.0
    active_reviewer_minutes: float = 15.0

    def __post_init__(self) -> None:
        problems = []
        for name, (low, high) in ALERT_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{name} must be a number, not {value!r}")
            elif not math.isfinite(value) or not low <= value <= high:
                problems.append(f"{name} must be between {low:g} and {high:g}, not {value!r}")
        if problems:
            raise ConfigurationError("Alert rules: " + "; ".join(problems) + ".")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"Alert rules: unknown setting(s) {', '.join(unknown)}.")
        return cls(**data)

    def with_changes(self, **changes: Any) -> AlertSettings:
        return replace(self, **changes)


@dataclass(frozen=True)
class CategoryRates:
    """Decisions of one category in the window and in the baseline before it; ``outcomes`` are
    the window's decisions in the order they were made (True: a defect)."""

    category: str
    decisions: int
    approved: int
    defects: int
    baseline_decisions: int
    baseline_approved: int
    baseline_defects: int
    outcomes: tuple[bool, ...] = ()


# The in-control defect rates the drift alarm has limits for (core/drift.py LIMITS): below the
# lowest, the lowest is used; a category usually worse than the highest is not watched.
LOWEST_WATCHED_RATE = LIMITS[0][0]
HIGHEST_WATCHED_RATE = LIMITS[-1][0]


def defect_alarm(r: CategoryRates, settings: AlertSettings) -> Cusum | None:
    """The drift alarm watching ``r``'s category: in control at its baseline defect rate (at
    least the team's floor); None without enough baseline, or above the highest watched rate."""
    if r.baseline_decisions < max(settings.min_baseline_decisions, 1):
        return None
    p0 = max(r.baseline_defects / r.baseline_decisions, settings.defect_rate_floor)
    if p0 > HIGHEST_WATCHED_RATE:
        return None
    return Cusum.for_rate(max(p0, LOWEST_WATCHED_RATE))


@dataclass(frozen=True)
class OpenEscalation:
    draft_id: str
    severity: Severity
    decided_at: datetime
    reviewer: str
    category: str


@dataclass(frozen=True)
class Figures:
    """What the rules look at, read at ``now``."""

    now: datetime
    rates: tuple[CategoryRates, ...] = ()
    confidence_drafts: int = 0
    confidence_mean: float | None = None
    escalations_last_hour: int = 0
    escalations_baseline: int = 0  # in the baseline days before the last hour
    baseline_hours: float = 0.0
    open_escalations: tuple[OpenEscalation, ...] = ()
    waiting: int = 0
    oldest_waiting_since: datetime | None = None
    active_reviewers: int = 0


@dataclass(frozen=True)
class Finding:
    """A condition a rule found: the alert to raise, or to keep open."""

    rule: Rule
    subject: str
    severity: Severity
    message: str
    figures: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule.value, self.subject)


def evaluate(figures: Figures, settings: AlertSettings) -> list[Finding]:
    """Every condition that holds now."""
    return [
        *_rates(figures, settings),
        *_confidence(figures, settings),
        *_escalation_spike(figures, settings),
        *_overdue(figures),
        *_queue(figures, settings),
    ]


def _share(value: float) -> str:
    return f"{value:.1%}"


def _rates(figures: Figures, settings: AlertSettings) -> list[Finding]:
    found = []
    window = f"the last {settings.rate_window_minutes:g} minutes"
    for r in figures.rates:
        defect = _defect_rate(r, settings, window)
        if defect is not None:
            found.append(defect)
        if r.decisions < settings.min_window_decisions:
            continue
        approval = control_check(r.approved, r.decisions, r.baseline_approved, r.baseline_decisions)
        if approval and (approval.above or approval.below):
            side = "above" if approval.above else "below"
            limit = approval.upper if approval.above else approval.lower
            found.append(
                Finding(
                    Rule.APPROVAL_RATE,
                    r.category,
                    Severity.MEDIUM,
                    f"{r.category}: {_share(approval.rate)} of {r.decisions} drafts approved in "
                    f"{window}, {side} the control limit {_share(limit)} "
                    f"(usual: {_share(approval.baseline)}).",
                    _check_figures(approval, r.decisions, r.approved, r.baseline_decisions),
                )
            )
    return found


def _defect_rate(r: CategoryRates, settings: AlertSettings, window: str) -> Finding | None:
    """The drift alarm, run from 0 over the window's decisions, signals among them."""
    alarm = defect_alarm(r, settings)
    if alarm is None or not r.outcomes:
        return None
    highest, last = alarm.peak(r.outcomes)
    if highest < alarm.limit:
        return None
    baseline = r.baseline_defects / r.baseline_decisions
    rate = r.defects / r.decisions if r.decisions else 0.0
    return Finding(
        Rule.DEFECT_RATE,
        r.category,
        Severity.HIGH,
        f"{r.category}: {r.defects} of {r.decisions} drafts rejected or escalated in {window} "
        f"({_share(rate)}); the drift alarm's statistic reached {highest:.2f}, its limit "
        f"{alarm.limit:.2f} (usual: {_share(baseline)} of {r.baseline_decisions} decisions; "
        f"watched for {_share(alarm.p1)} against {_share(alarm.p0)}).",
        {
            "statistic": round(highest, 3),
            "statistic_now": round(last, 3),
            "limit": round(alarm.limit, 3),
            "rate": round(rate, 4),
            "count": r.defects,
            "decisions": r.decisions,
            "baseline_rate": round(baseline, 4),
            "baseline_decisions": r.baseline_decisions,
            "in_control_rate": round(alarm.p0, 4),
            "out_of_control_rate": round(alarm.p1, 4),
        },
    )


def _check_figures(check: Any, n: int, count: int, baseline_n: int) -> dict[str, Any]:
    return {
        "rate": round(check.rate, 4),
        "count": count,
        "decisions": n,
        "baseline_rate": round(check.baseline, 4),
        "baseline_decisions": baseline_n,
        "lower_limit": round(check.lower, 4),
        "upper_limit": round(check.upper, 4),
    }


def _confidence(figures: Figures, settings: AlertSettings) -> list[Finding]:
    mean = figures.confidence_mean
    if mean is None or figures.confidence_drafts < settings.min_window_drafts:
        return []
    if mean >= settings.confidence_floor:
        return []
    return [
        Finding(
            Rule.LOW_CONFIDENCE,
            QUEUE,
            Severity.MEDIUM,
            f"The model's average confidence was {mean:.2f} over the "
            f"{figures.confidence_drafts} drafts submitted in the last "
            f"{settings.confidence_window_minutes:g} minutes (alert below "
            f"{settings.confidence_floor:g}).",
            {
                "mean_confidence": round(mean, 4),
                "drafts": figures.confidence_drafts,
                "floor": settings.confidence_floor,
            },
        )
    ]


def _escalation_spike(figures: Figures, settings: AlertSettings) -> list[Finding]:
    hours = figures.baseline_hours
    per_hour = figures.escalations_baseline / hours if hours > 0 else 0.0
    count = figures.escalations_last_hour
    if count < settings.escalation_spike_min:
        return []
    if count <= settings.escalation_spike_multiple * per_hour:
        return []
    return [
        Finding(
            Rule.ESCALATION_SPIKE,
            QUEUE,
            Severity.HIGH,
            f"{count} escalations in the last hour, against {per_hour:.1f} an hour usually "
            f"(alert above {settings.escalation_spike_multiple:g} times that).",
            {
                "last_hour": count,
                "baseline_per_hour": round(per_hour, 3),
                "multiple": settings.escalation_spike_multiple,
            },
        )
    ]


def _overdue(figures: Figures) -> list[Finding]:
    found = []
    for e in figures.open_escalations:
        due = e.decided_at + e.severity.response_time
        late = figures.now - due
        if late <= timedelta(0):
            continue
        found.append(
            Finding(
                Rule.ESCALATION_OVERDUE,
                e.draft_id,
                e.severity,
                f"A {e.severity.value} escalation of draft {e.draft_id} ({e.category}, by "
                f"{e.reviewer}) has waited past its response time of "
                f"{_duration(e.severity.response_time)}.",
                {
                    "severity": e.severity.value,
                    "escalated_at": e.decided_at.isoformat(),
                    "due_at": due.isoformat(),
                    "response_minutes": e.severity.response_time.total_seconds() / 60,
                },
            )
        )
    return found


def _queue(figures: Figures, settings: AlertSettings) -> list[Finding]:
    found = []
    since = figures.oldest_waiting_since
    if since is not None:
        minutes = (figures.now - since).total_seconds() / 60
        if minutes > settings.oldest_waiting_minutes:
            found.append(
                Finding(
                    Rule.OLDEST_WAITING,
                    QUEUE,
                    Severity.HIGH,
                    f"The oldest waiting draft has waited {_duration(figures.now - since)} "
                    f"(alert after {settings.oldest_waiting_minutes:g} minutes).",
                    {
                        "oldest_minutes": round(minutes, 1),
                        "limit_minutes": settings.oldest_waiting_minutes,
                        "waiting": figures.waiting,
                    },
                )
            )
    if figures.waiting:
        active = figures.active_reviewers
        per = figures.waiting / max(active, 1)  # no one reviewing: as if one were
        if per > settings.waiting_per_reviewer:
            who = f"{active} reviewer{'s' if active != 1 else ''}" if active else "no reviewer"
            found.append(
                Finding(
                    Rule.WAITING_PER_REVIEWER,
                    QUEUE,
                    Severity.MEDIUM,
                    f"{figures.waiting} drafts wait, with {who} active in the last "
                    f"{settings.active_reviewer_minutes:g} minutes (alert above "
                    f"{settings.waiting_per_reviewer:g} a reviewer).",
                    {
                        "waiting": figures.waiting,
                        "active_reviewers": active,
                        "per_reviewer": round(per, 1),
                        "limit": settings.waiting_per_reviewer,
                    },
                )
            )
    return found


def _duration(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"
