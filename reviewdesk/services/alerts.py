"""Alerts: evaluating the rules (reviewdesk/core/alerts.py) on the queue's figures, and the
alerts they raised (storage/alert_sql.py).

``AlertService(desk).evaluate()`` reads the figures at the database's time, finds the conditions
that hold, raises an alert for each one not open yet and clears the open ones that no longer
hold, in one transaction. Any desk, ``reviewdesk watch`` or a cron job may evaluate: the
database keeps one open alert per condition, however many evaluate at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reviewdesk.core.alerts import (
    AlertSettings,
    CategoryRates,
    Figures,
    Finding,
    OpenEscalation,
    Rule,
    evaluate,
)
from reviewdesk.core.domain import STOPPING_LABELS, Label, Severity
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.storage.alert_sql import AlertStore
from reviewdesk.storage.queues import open_queue_store

ALERT_RULES_KEY = "alert_rules"
_DEFECT_LABELS = frozenset(label.value for label in STOPPING_LABELS)
# The labels the rollup counts apart from its total; a baseline's defects are the rest, which is
# right while these are exactly the labels that do not stop a draft (tests/test_alerts.py).
ROLLUP_NOT_DEFECTS = (Label.APPROVED, Label.EDITED)


def baseline_days(settings: AlertSettings, window: datetime) -> tuple[date, date]:
    """The first and last UTC day of the rate rules' baseline: the ``baseline_days`` (rounded
    up) whole days before the day the window starts on."""
    day = window.astimezone(UTC).date()
    return day - timedelta(days=math.ceil(settings.baseline_days)), day - timedelta(days=1)


SEVERITY_ORDER = {s: i for i, s in enumerate(Severity)}  # critical first


@dataclass(frozen=True)
class Alert:
    id: int
    rule: str
    subject: str
    severity: Severity
    message: str
    figures: dict[str, Any]
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None

    @property
    def open(self) -> bool:
        return self.cleared_at is None

    @property
    def state(self) -> str:
        if self.cleared_at is not None:
            return "cleared"
        return "acknowledged" if self.acknowledged_at is not None else "open"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "subject": self.subject,
            "severity": self.severity.value,
            "state": self.state,
            "message": self.message,
            "figures": self.figures,
            "raised_at": self.raised_at.isoformat(),
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "cleared_at": _iso(self.cleared_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _alert(row: Mapping[Any, Any]) -> Alert:
    return Alert(
        id=row["id"],
        rule=row["rule"],
        subject=row["subject"],
        severity=Severity(row["severity"]),
        message=row["message"],
        figures=dict(row["figures"] or {}),
        raised_at=row["raised_at"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        cleared_at=row["cleared_at"],
    )


def by_urgency(alerts: list[Alert]) -> list[Alert]:
    """Most severe first, then the oldest."""
    return sorted(alerts, key=lambda a: (SEVERITY_ORDER[a.severity], a.raised_at, a.id))


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation did: ``raised`` the new alerts, ``cleared`` the ids it cleared, and
    ``open`` every alert open after it."""

    raised: list[Alert]
    cleared: list[int]
    open: list[Alert]


class AlertService:
    def __init__(self, desk: ReviewDesk) -> None:
        self.desk = desk
        self.store = AlertStore(desk.engines)
        self._settings = open_queue_store(desk.engines, desk.clock)

    # -- the team's thresholds ------------------------------------------------------------------
    def settings(self) -> AlertSettings:
        stored = self._settings.get_setting(ALERT_RULES_KEY)
        return AlertSettings.from_json(stored) if stored else AlertSettings()

    def set_settings(self, settings: AlertSettings) -> None:
        self._settings.put_setting(ALERT_RULES_KEY, settings.to_json())

    # -- evaluating -------------------------------------------------------------------------------
    def figures(self, settings: AlertSettings, now: datetime | None = None) -> Figures:
        now = now or self.desk.database_now()
        baseline = now - timedelta(days=settings.baseline_days)
        window = now - timedelta(minutes=settings.rate_window_minutes)
        rates = self.category_rates(settings, now=now, window=window)
        drafts, mean = self.store.confidence(
            now=now, since=now - timedelta(minutes=settings.confidence_window_minutes)
        )
        hour = now - timedelta(hours=1)
        last_hour, before = self.store.escalations(now=now, hour=hour, baseline=baseline)
        waiting, oldest = self.store.waiting(now=now)
        active = self.store.active_reviewers(
            now=now, since=now - timedelta(minutes=settings.active_reviewer_minutes)
        )
        return Figures(
            now=now,
            rates=rates,
            confidence_drafts=drafts,
            confidence_mean=mean,
            escalations_last_hour=last_hour,
            escalations_baseline=before,
            baseline_hours=settings.baseline_days * 24 - 1,
            open_escalations=tuple(
                OpenEscalation(
                    draft_id=e["external_id"],
                    severity=Severity(e["severity"] or Severity.MEDIUM.value),
                    decided_at=e["decided_at"],
                    reviewer=e["reviewer"],
                    category=e["category"],
                )
                for e in self.store.open_escalations()
            ),
            waiting=waiting,
            oldest_waiting_since=oldest,
            active_reviewers=active,
        )

    def category_rates(
        self, settings: AlertSettings, *, now: datetime, window: datetime
    ) -> tuple[CategoryRates, ...]:
        """Per category, the window's decisions one by one and the baseline's counts: the
        ``baseline_days`` whole UTC days before the window's day, from the statistics' rollup."""
        first, last = baseline_days(settings, window)
        counted = {r["category"]: r for r in self.store.baseline(first_day=first, last_day=last)}
        outcomes: dict[str, list[str]] = {}
        for category, label in self.store.window(now=now, window=window):
            outcomes.setdefault(category, []).append(label)
        rates = []
        for category in sorted(set(counted) | set(outcomes)):
            labels = outcomes.get(category, [])
            row = counted.get(category)
            n = int(row["decisions"] or 0) if row else 0
            approved = int(row["approved"] or 0) if row else 0
            edited = int(row["edited"] or 0) if row else 0
            defects = tuple(label in _DEFECT_LABELS for label in labels)
            rates.append(
                CategoryRates(
                    category=category,
                    decisions=len(labels),
                    approved=labels.count(Label.APPROVED.value),
                    defects=sum(defects),
                    baseline_decisions=n,
                    baseline_approved=approved,
                    # The rollup counts approvals and edits; every other label stops a draft.
                    baseline_defects=n - approved - edited,
                    outcomes=defects,
                )
            )
        return tuple(rates)

    def findings(self, now: datetime | None = None) -> list[Finding]:
        """The conditions that hold now (nothing is written)."""
        settings = self.settings()
        return evaluate(self.figures(settings, now), settings)

    def evaluate(self, now: datetime | None = None) -> Evaluation:
        """Raise an alert for each condition that holds and is not open yet; clear the open
        ones whose condition has ended."""
        self.desk.access.require("lead", "Evaluating the alert rules")
        now = now or self.desk.database_now()
        found = self.findings(now)
        raised, cleared = self.store.sync(
            [
                {
                    "rule": f.rule.value,
                    "subject": f.subject,
                    "severity": f.severity.value,
                    "message": f.message,
                    "figures": f.figures,
                }
                for f in found
            ],
            now=now,
            rules=[rule.value for rule in Rule],
        )
        open_ = self.open_alerts()
        new = [a for a in open_ if a.id in set(raised)]
        return Evaluation(raised=by_urgency(new), cleared=cleared, open=open_)

    # -- reading and acknowledging ----------------------------------------------------------------
    def open_alerts(self) -> list[Alert]:
        """Open alerts, most severe first."""
        return by_urgency([_alert(r) for r in self.store.open_alerts()])

    def recent_alerts(self, hours: float = 24.0) -> list[Alert]:
        """Open alerts and those raised in the last ``hours``, newest first."""
        since = self.desk.database_now() - timedelta(hours=hours)
        return [_alert(r) for r in self.store.recent_alerts(since=since)]

    def acknowledge(self, alert_id: int, *, by: str) -> Alert:
        """Acknowledge alert ``alert_id`` as ``by``. InvalidArgument for an unknown id or one
        acknowledged before (saying by whom)."""
        if not by or not by.strip() or len(by) > 200:
            raise InvalidArgument("Who acknowledges is required (1 to 200 characters).")
        self.desk.access.require("lead", "Acknowledging an alert")
        by = self.desk.access.person(by, what="lead")
        if not self.store.acknowledge(alert_id, by=by, now=self.desk.database_now()):
            row = self.store.alert(alert_id)
            if row is None:
                raise InvalidArgument(f"There is no alert {alert_id}: see 'reviewdesk alerts'.")
            raise InvalidArgument(
                f"Alert {alert_id} was acknowledged already, by {row['acknowledged_by']} "
                f"at {row['acknowledged_at']:%Y-%m-%d %H:%M}."
            )
        row = self.store.alert(alert_id)
        assert row is not None
        return _alert(row)
