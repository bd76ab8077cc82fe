"""The SQL of alerts: the figures their rules read, and the ``alert`` rows (migration 0011).

The rules themselves are in reviewdesk/core/alerts.py; what counts as a defect is said in core
too (services/alerts.py applies it to the labels read here). Gold drafts are known-answer
checks, not work: they count in no figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, column, text
from sqlalchemy.sql.elements import TextClause

from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.types import JsonDocument, UtcDateTime

_TIMES = ("now", "window", "baseline", "hour", "since")


def _sql(sql: str, *, expanding: Iterable[str] = (), result: dict[str, Any] | None = None) -> Any:
    clause: TextClause = text(sql)
    binds: list[Any] = [bindparam(name, type_=UtcDateTime) for name in _TIMES if f":{name}" in sql]
    binds += [bindparam(name, expanding=True) for name in expanding]
    if ":figures" in sql:
        binds.append(bindparam("figures", type_=JsonDocument))
    if binds:
        clause = clause.bindparams(*binds)
    if result:
        return clause.columns(*(column(name, type_) for name, type_ in result.items()))
    return clause


# The rate rules' baseline: whole UTC days of the statistics' rollup (grain ``a``: day x
# category x model x risk x confidence bucket, live non-gold decisions; migrations 0003-0007),
# one range of its primary key, however many decisions those days hold.
_BASELINE = _sql(
    """SELECT category, sum(n) AS decisions, sum(approved) AS approved, sum(edited) AS edited
       FROM decision_rollup
       WHERE grain = 'a' AND day >= :first_day AND day <= :last_day
       GROUP BY category ORDER BY category"""
)
# The same counts from the decisions themselves: what the rollup is checked against
# (tests/test_alerts.py) and measured against (benchmarks/alerts_scale.py); no rule reads it.
_BASELINE_FROM_DECISIONS = _sql(
    """SELECT d.category, count(*) AS decisions,
         sum(CASE WHEN dec.label = 'approved' THEN 1 ELSE 0 END) AS approved,
         sum(CASE WHEN dec.label IN :defect_labels THEN 1 ELSE 0 END) AS defects
       FROM decision dec JOIN draft d ON d.id = dec.draft_id
       WHERE dec.decided_at >= :since AND dec.decided_at < :now
         AND dec.undone_at IS NULL AND NOT d.is_gold
       GROUP BY d.category ORDER BY d.category""",
    expanding=("defect_labels",),
)
# The window's decisions one by one, in the order they were made (the drift alarm's input).
_WINDOW = _sql(
    """SELECT d.category, dec.label FROM decision dec JOIN draft d ON d.id = dec.draft_id
       WHERE dec.decided_at >= :window AND dec.decided_at <= :now
         AND dec.undone_at IS NULL AND NOT d.is_gold
       ORDER BY d.category, dec.decided_at, dec.id"""
)
_CONFIDENCE = _sql(
    """SELECT count(confidence) AS drafts, avg(confidence) AS mean FROM draft
       WHERE submitted_at >= :since AND submitted_at <= :now AND NOT is_gold"""
)
_ESCALATIONS = _sql(
    """SELECT
         sum(CASE WHEN decided_at >= :hour THEN 1 ELSE 0 END) AS last_hour,
         sum(CASE WHEN decided_at < :hour THEN 1 ELSE 0 END) AS baseline
       FROM decision
       WHERE label = 'escalated' AND undone_at IS NULL
         AND decided_at >= :baseline AND decided_at <= :now"""
)
_OPEN_ESCALATIONS = _sql(
    """SELECT d.external_id, dec.severity, dec.decided_at, dec.reviewer, d.category
       FROM decision dec JOIN draft d ON d.id = dec.draft_id
       WHERE dec.label = 'escalated' AND dec.undone_at IS NULL AND dec.resolved_at IS NULL
       ORDER BY dec.decided_at""",
    result={
        "external_id": None,
        "severity": None,
        "decided_at": UtcDateTime,
        "reviewer": None,
        "category": None,
    },
)
_WAITING = _sql(
    """SELECT count(*) AS waiting, min(submitted_at) AS oldest FROM draft
       WHERE state = 'pending' AND visible_at <= :now""",
    result={"waiting": None, "oldest": UtcDateTime},
)
_ACTIVE = _sql(
    """SELECT count(*) FROM (
         SELECT reviewer FROM decision WHERE decided_at >= :since
         UNION
         SELECT lease_owner FROM draft
         WHERE state = 'pending' AND visible_at > :now AND lease_owner IS NOT NULL
       ) AS active"""
)

_ALERT_COLUMNS = {
    "id": None,
    "rule": None,
    "subject": None,
    "severity": None,
    "message": None,
    "figures": JsonDocument,
    "raised_at": UtcDateTime,
    "acknowledged_at": UtcDateTime,
    "acknowledged_by": None,
    "cleared_at": UtcDateTime,
}
_SELECT_ALERTS = "SELECT " + ", ".join(_ALERT_COLUMNS) + " FROM alert"  # noqa: S608 - names
_OPEN = _sql(
    _SELECT_ALERTS + " WHERE cleared_at IS NULL ORDER BY raised_at, id", result=_ALERT_COLUMNS
)
_RECENT = _sql(
    _SELECT_ALERTS + " WHERE cleared_at IS NULL OR raised_at >= :since "
    "ORDER BY raised_at DESC, id DESC",
    result=_ALERT_COLUMNS,
)
_BY_ID = _sql(_SELECT_ALERTS + " WHERE id = :id", result=_ALERT_COLUMNS)
# One open alert per rule and subject (ux_alert_open): a second evaluator's insert does nothing.
_RAISE = _sql(
    """INSERT INTO alert (rule, subject, severity, message, figures, raised_at)
       VALUES (:rule, :subject, :severity, :message, :figures, :now)
       ON CONFLICT (rule, subject) WHERE cleared_at IS NULL DO NOTHING
       RETURNING id"""
)
_CLEAR = _sql(
    "UPDATE alert SET cleared_at = :now WHERE id IN :ids AND cleared_at IS NULL",
    expanding=("ids",),
)
_ACK = _sql(
    """UPDATE alert SET acknowledged_at = :now, acknowledged_by = :by
       WHERE id = :id AND acknowledged_at IS NULL"""
)


class AlertStore:
    """Reads the figures of the alert rules and keeps the ``alert`` rows."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    def _read(self) -> Connection:
        return self.engines.write.connect().execution_options(**{READ_ONLY: True})

    # -- figures --------------------------------------------------------------------------------
    def baseline(self, *, first_day: date, last_day: date) -> list[RowMapping]:
        """Per category: decisions, approvals and edits of the UTC days ``first_day`` to
        ``last_day``, from the rollup."""
        params = {"first_day": first_day.isoformat(), "last_day": last_day.isoformat()}
        with self._read() as conn:
            return list(conn.execute(_BASELINE, params).mappings())

    def baseline_from_decisions(
        self, *, first_day: date, last_day: date, defect_labels: Sequence[str]
    ) -> list[RowMapping]:
        """Per category: decisions, approvals and defects (``defect_labels``) of the days
        ``baseline`` reads, counted from the decisions one by one."""
        params = {
            "since": datetime.combine(first_day, time(), UTC),
            "now": datetime.combine(last_day + timedelta(days=1), time(), UTC),
            "defect_labels": list(defect_labels),
        }
        with self._read() as conn:
            return list(conn.execute(_BASELINE_FROM_DECISIONS, params).mappings())

    def window(self, *, now: datetime, window: datetime) -> list[tuple[str, str]]:
        """(category, label) of each decision since ``window``, per category in the order they
        were made."""
        with self._read() as conn:
            return [(r[0], r[1]) for r in conn.execute(_WINDOW, {"now": now, "window": window})]

    def confidence(self, *, now: datetime, since: datetime) -> tuple[int, float | None]:
        """(drafts with a confidence, their mean) submitted since ``since``."""
        with self._read() as conn:
            row = conn.execute(_CONFIDENCE, {"now": now, "since": since}).one()
        return int(row[0] or 0), (float(row[1]) if row[1] is not None else None)

    def escalations(self, *, now: datetime, hour: datetime, baseline: datetime) -> tuple[int, int]:
        """(escalations since ``hour``, escalations from ``baseline`` to ``hour``)."""
        params = {"now": now, "hour": hour, "baseline": baseline}
        with self._read() as conn:
            row = conn.execute(_ESCALATIONS, params).one()
        return int(row[0] or 0), int(row[1] or 0)

    def open_escalations(self) -> list[RowMapping]:
        with self._read() as conn:
            return list(conn.execute(_OPEN_ESCALATIONS).mappings())

    def waiting(self, *, now: datetime) -> tuple[int, datetime | None]:
        """(drafts waiting, when the longest-waiting one was submitted)."""
        with self._read() as conn:
            row = conn.execute(_WAITING, {"now": now}).one()
        return int(row[0]), row[1]

    def active_reviewers(self, *, now: datetime, since: datetime) -> int:
        """Reviewers who decided since ``since`` or hold a lease now."""
        with self._read() as conn:
            return int(conn.execute(_ACTIVE, {"now": now, "since": since}).scalar_one())

    # -- alert rows -------------------------------------------------------------------------------
    def open_alerts(self) -> list[RowMapping]:
        with self._read() as conn:
            return list(conn.execute(_OPEN).mappings())

    def recent_alerts(self, *, since: datetime) -> list[RowMapping]:
        """Open alerts and those raised since ``since``, newest first."""
        with self._read() as conn:
            return list(conn.execute(_RECENT, {"since": since}).mappings())

    def alert(self, alert_id: int) -> RowMapping | None:
        with self._read() as conn:
            return conn.execute(_BY_ID, {"id": alert_id}).mappings().first()

    def sync(
        self, found: Sequence[dict[str, Any]], *, now: datetime, rules: Iterable[str]
    ) -> tuple[list[int], list[int]]:
        """Raise the alerts ``found`` (rule, subject, severity, message, figures) that are not
        open yet, and clear the open ones of ``rules`` that were not found. Returns (raised
        ids, cleared ids). One transaction: a reader sees all of it or none."""
        keys = {(f["rule"], f["subject"]) for f in found}
        evaluated = set(rules)
        with self.engines.write.begin() as conn:
            open_ = {(r["rule"], r["subject"]): r["id"] for r in conn.execute(_OPEN).mappings()}
            ended = [i for key, i in open_.items() if key[0] in evaluated and key not in keys]
            if ended:
                conn.execute(_CLEAR, {"ids": ended, "now": now})
            raised = []
            for finding in found:
                if (finding["rule"], finding["subject"]) in open_:
                    continue
                new_id = conn.execute(_RAISE, {**finding, "now": now}).scalar()
                if new_id is not None:
                    raised.append(int(new_id))
        return raised, ended

    def acknowledge(self, alert_id: int, *, by: str, now: datetime) -> bool:
        """Whether this call acknowledged it (False: unknown, or acknowledged before)."""
        with self.engines.write.begin() as conn:
            done = conn.execute(_ACK, {"id": alert_id, "by": by, "now": now}).rowcount
        return bool(done)
