"""The queue's and the alerts' figures in the Prometheus text exposition format (0.0.4).

Read only: a scrape evaluates no rule and writes nothing. Every family has HELP and TYPE lines;
label values are escaped as the format requires (backslash, double quote, line feed).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from reviewdesk.core.alerts import Rule
from reviewdesk.core.domain import Severity

if TYPE_CHECKING:
    from reviewdesk.services.alerts import AlertService
    from reviewdesk.services.desk import ReviewDesk

ACTIVE_MINUTES = 15


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in samples:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}")
    return "\n".join(lines) + "\n"


def prometheus_text(desk: ReviewDesk, alerts: AlertService) -> str:
    counts = desk.counts()
    now = desk.database_now()
    waiting, oldest = alerts.store.waiting(now=now)
    active = alerts.store.active_reviewers(now=now, since=now - timedelta(minutes=ACTIVE_MINUTES))
    escalations = Counter(
        r["severity"] or Severity.MEDIUM.value for r in alerts.store.open_escalations()
    )
    open_alerts = alerts.open_alerts()
    by_rule = Counter((a.rule, a.severity.value) for a in open_alerts)
    unacknowledged = Counter(a.severity.value for a in open_alerts if a.acknowledged_at is None)
    oldest_age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return "".join(
        [
            _family("reviewdesk_drafts_waiting", "Drafts waiting for a reviewer.", [({}, waiting)]),
            _family(
                "reviewdesk_drafts_in_review",
                "Drafts claimed by a reviewer now.",
                [({}, counts.leased)],
            ),
            _family(
                "reviewdesk_drafts_decided", "Drafts with a live decision.", [({}, counts.decided)]
            ),
            _family(
                "reviewdesk_results_undelivered",
                "Decided drafts not yet acknowledged by their consumer.",
                [({}, counts.undelivered)],
            ),
            _family(
                "reviewdesk_oldest_waiting_seconds",
                "How long the longest-waiting draft has waited (0: none waits).",
                [({}, round(oldest_age, 3))],
            ),
            _family(
                "reviewdesk_active_reviewers",
                f"Reviewers who decided in the last {ACTIVE_MINUTES} minutes or hold a lease.",
                [({}, active)],
            ),
            _family(
                "reviewdesk_escalations_open",
                "Escalations no lead has resolved yet, by severity.",
                [({"severity": s.value}, escalations.get(s.value, 0)) for s in Severity],
            ),
            _family(
                "reviewdesk_alerts_open",
                "Open alerts, by rule and severity.",
                [
                    ({"rule": rule.value, "severity": s.value}, by_rule[(rule.value, s.value)])
                    for rule in Rule
                    for s in Severity
                    if by_rule[(rule.value, s.value)]
                ]
                or [({"rule": "any", "severity": "any"}, 0)],
            ),
            _family(
                "reviewdesk_alerts_unacknowledged",
                "Open alerts no one has acknowledged, by severity.",
                [({"severity": s.value}, unacknowledged.get(s.value, 0)) for s in Severity],
            ),
        ]
    )
