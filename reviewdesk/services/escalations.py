"""The lead's escalation inbox: escalated drafts by urgency, and their resolution.

An escalation is due ``Severity.response_time`` after it was decided (critical 15 minutes, high
1 hour, medium 4 hours, low 24 hours). A lead resolves it once, with a note: send as is, send
edited, reject, or dismiss. Resolving sets the decision's ``delivered_at`` back to NULL, so the
result is delivered to the consumer again, now with the resolution (see docs/api.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, Connection, RowMapping, bindparam, insert, text
from sqlalchemy.sql.elements import TextClause

from reviewdesk.core.clock import Clock, SystemClock
from reviewdesk.core.domain import EventKind, Risk, Severity
from reviewdesk.core.errors import InvalidDecision, ReviewDeskError, UnknownDraft
from reviewdesk.core.identity import reviewer_name
from reviewdesk.services.stats import desk_engines
from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.tables import DraftEventRow
from reviewdesk.storage.types import UtcDateTime

if TYPE_CHECKING:
    from reviewdesk.services.desk import ReviewDesk


class Resolution(StrEnum):
    SEND_AS_IS = "send_as_is"  # the draft goes out unchanged
    SEND_EDITED = "send_edited"  # the lead's text goes out
    REJECT = "reject"  # the draft must not go out
    DISMISS = "dismiss"  # nothing to send, and no judgement of the draft (e.g. handled elsewhere)

    @property
    def sends(self) -> bool:
        return self in (Resolution.SEND_AS_IS, Resolution.SEND_EDITED)


class ResolveRefused(ReviewDeskError):
    """The escalation cannot be resolved: missing, not an escalation, undone, or resolved."""

    def __init__(self, cursor: int, why: str) -> None:
        self.cursor = cursor
        self.why = why
        super().__init__(f"Escalation {cursor} cannot be resolved: {_WHY.get(why, why)}.")


_WHY = {
    "missing": "there is no such decision",
    "not_escalated": "that decision is not an escalation",
    "undone": "its reviewer undid it",
    "resolved": "it was already resolved",
}


@dataclass(frozen=True)
class Escalation:
    cursor: int  # the decision's id, as in results()
    id: str  # the draft's id
    category: str
    risk: Risk
    model: str | None
    draft: str
    severity: Severity
    note: str | None
    reviewer: str
    decided_at: datetime
    due_at: datetime
    overdue: bool  # open past its due time
    breached: bool  # open past due, or resolved after due
    resolution: Resolution | None
    resolution_text: str | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "id": self.id,
            "category": self.category,
            "risk": self.risk.value,
            "model": self.model,
            "draft": self.draft,
            "severity": self.severity.value,
            "note": self.note,
            "reviewer": self.reviewer,
            "decided_at": self.decided_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "overdue": self.overdue,
            "breached": self.breached,
            "resolution": self.resolution.value if self.resolution else None,
            "resolution_text": self.resolution_text,
            "resolution_note": self.resolution_note,
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }


_COLUMNS = """dec.id, d.external_id, d.category, d.risk, d.model, d.draft, dec.severity, dec.note,
    dec.reviewer, dec.decided_at, dec.resolution, dec.resolution_text, dec.resolution_note,
    dec.resolved_by, dec.resolved_at"""


def _typed(sql: str, *, expanding: Sequence[str] = ()) -> TextClause:
    clause = text(sql)
    binds: list[BindParameter[Any]] = [bindparam(n, expanding=True) for n in expanding]
    binds += [bindparam(n, type_=UtcDateTime) for n in ("now",) if f":{n}" in sql]
    if binds:
        clause = clause.bindparams(*binds)
    return clause.columns(decided_at=UtcDateTime, resolved_at=UtcDateTime)  # type: ignore[return-value]


class EscalationInbox:
    """Lists and resolves escalations on one database."""

    def __init__(self, engines: Engines, *, clock: Clock | None = None) -> None:
        self.engines = engines
        self.postgres = engines.target.dialect == "postgresql"
        self.clock: Clock | None = clock if clock or self.postgres else SystemClock()

    @classmethod
    def for_desk(cls, desk: ReviewDesk) -> EscalationInbox:
        engines, clock = desk_engines(desk)
        return cls(engines, clock=clock)

    def _now(self, conn: Connection) -> datetime:
        if self.clock is not None:
            return self.clock.now()
        value = conn.execute(text("SELECT now()")).scalar_one()
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def list(
        self,
        *,
        include_resolved: bool = False,
        severities: Sequence[Severity | str] = (),
        limit: int = 500,
    ) -> list[Escalation]:
        """Open escalations, most urgent (earliest due) first, at most ``limit``; with
        ``include_resolved``, followed by the latest ``limit`` resolved ones."""
        wanted = [Severity(s).value for s in severities]
        conditions = "dec.label = 'escalated' AND dec.undone_at IS NULL"
        if wanted:
            conditions += " AND dec.severity IN :severities"
        seconds = (
            "CASE dec.severity "
            + " ".join(
                f"WHEN '{s.value}' THEN {int(s.response_time.total_seconds())}" for s in Severity
            )
            + " END"
        )
        due = (
            f"dec.decided_at + make_interval(secs => {seconds})"
            if self.postgres
            else f"julianday(dec.decided_at) + {seconds} / 86400.0"
        )
        expanding = ("severities",) if wanted else ()
        open_stmt = _typed(
            f"""SELECT {_COLUMNS} FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE {conditions} AND dec.resolved_at IS NULL
                ORDER BY {due}, dec.id LIMIT :limit""",  # noqa: S608 - constants only
            expanding=expanding,
        )
        done_stmt = _typed(
            f"""SELECT {_COLUMNS} FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE {conditions} AND dec.resolved_at IS NOT NULL
                ORDER BY dec.resolved_at DESC, dec.id DESC LIMIT :limit""",  # noqa: S608
            expanding=expanding,
        )
        params: dict[str, Any] = {"limit": limit}
        if wanted:
            params["severities"] = wanted
        with self.engines.write.connect().execution_options(**{READ_ONLY: True}) as conn:
            now = self._now(conn)
            rows = list(conn.execute(open_stmt, params).mappings())
            if include_resolved:
                rows += list(conn.execute(done_stmt, params).mappings())
        return [_escalation(r, now) for r in rows]

    def get(self, cursor: int) -> Escalation | None:
        with self.engines.write.connect().execution_options(**{READ_ONLY: True}) as conn:
            now = self._now(conn)
            row = (
                conn.execute(
                    _typed(
                        f"""SELECT {_COLUMNS} FROM decision dec
                        JOIN draft d ON d.id = dec.draft_id
                        WHERE dec.id = :id AND dec.label = 'escalated'"""  # noqa: S608
                    ),
                    {"id": cursor},
                )
                .mappings()
                .first()
            )
        return _escalation(row, now) if row is not None else None

    def for_draft(self, draft_id: str) -> Escalation | None:
        """The escalation of the draft a producer submitted as ``draft_id``: its open one, else
        the latest resolved one; None when its live decision is no escalation (or it has none).
        Raises UnknownDraft when no draft has that id."""
        with self.engines.write.connect().execution_options(**{READ_ONLY: True}) as conn:
            now = self._now(conn)
            if (
                conn.execute(
                    text("SELECT 1 FROM draft WHERE external_id = :id"), {"id": draft_id}
                ).first()
                is None
            ):
                raise UnknownDraft(draft_id)
            row = (
                conn.execute(
                    _typed(
                        f"""SELECT {_COLUMNS} FROM decision dec
                        JOIN draft d ON d.id = dec.draft_id
                        WHERE d.external_id = :id AND dec.label = 'escalated'
                          AND dec.undone_at IS NULL
                        ORDER BY CASE WHEN dec.resolved_at IS NULL THEN 0 ELSE 1 END,
                          dec.id DESC
                        LIMIT 1"""  # noqa: S608 - constants only
                    ),
                    {"id": draft_id},
                )
                .mappings()
                .first()
            )
        return _escalation(row, now) if row is not None else None

    def resolve(
        self,
        cursor: int,
        outcome: Resolution | str,
        *,
        note: str,
        lead: str,
        text: str | None = None,
    ) -> Escalation:
        """Resolve escalation ``cursor`` (its decision id). ``note`` is required; ``text`` is
        required for send_edited and refused otherwise. The result goes back to the consumer.
        Raises InvalidDecision, or ResolveRefused when it is not an open escalation."""
        try:
            resolution = Resolution(outcome)
        except ValueError:
            raise InvalidDecision(
                f"Unknown resolution {outcome!r}: use "
                + ", ".join(r.value for r in Resolution)
                + "."
            ) from None
        if not note or not note.strip():
            raise InvalidDecision("Resolving an escalation needs a note saying why.")
        # On a shared database the database records the login as the resolver (docs/security.md).
        lead = reviewer_name(lead, what="lead")
        if resolution is Resolution.SEND_EDITED:
            if text is None or not text.strip():
                raise InvalidDecision("send_edited needs the text to send.")
        elif text is not None:
            raise InvalidDecision(f"{resolution.value} takes no text; use send_edited.")
        with self.engines.write.begin() as conn:
            now = self._now(conn)
            # Fenced like every queue write: only a live, open escalation changes, and the
            # result is delivered again (delivered_at NULL) with the resolution.
            updated = conn.execute(
                _typed(
                    """UPDATE decision SET resolution = :resolution,
                        resolution_text = CASE WHEN :as_is = 1
                            THEN (SELECT draft FROM draft WHERE draft.id = decision.draft_id)
                            ELSE CAST(:text AS TEXT) END,
                        resolution_note = :note, resolved_by = :lead, resolved_at = :now,
                        delivered_at = NULL
                    WHERE id = :id AND label = 'escalated' AND undone_at IS NULL
                      AND resolved_at IS NULL
                    RETURNING draft_id, lease_epoch"""
                ),
                {
                    "resolution": resolution.value,
                    "as_is": 1 if resolution is Resolution.SEND_AS_IS else 0,
                    "text": text if resolution is Resolution.SEND_EDITED else None,
                    "note": note.strip(),
                    "lead": lead,
                    "now": now,
                    "id": cursor,
                },
            ).first()
            if updated is None:
                raise ResolveRefused(cursor, self._why(conn, cursor))
            kind = _resolved_event_kind()
            if kind is not None:
                conn.execute(
                    insert(DraftEventRow.__table__),  # type: ignore[attr-defined]
                    {
                        "draft_id": updated[0],
                        "kind": kind,
                        "actor": lead,
                        "at": now,
                        "lease_epoch": updated[1],
                    },
                )
        resolved = self.get(cursor)
        assert resolved is not None
        return resolved

    @staticmethod
    def _why(conn: Connection, cursor: int) -> str:
        row = conn.execute(
            text("SELECT label, undone_at, resolved_at FROM decision WHERE id = :id"),
            {"id": cursor},
        ).first()
        if row is None:
            return "missing"
        if row[0] != "escalated":
            return "not_escalated"
        if row[1] is not None:
            return "undone"
        return "resolved"


def _resolved_event_kind() -> str | None:
    # The audit trail records resolutions once the domain knows the event kind; an unknown
    # kind would break History for that draft, so it is never written before.
    try:
        return EventKind("resolved").value
    except ValueError:
        return None


def _escalation(row: RowMapping, now: datetime) -> Escalation:
    severity = Severity(row["severity"])
    decided: datetime = row["decided_at"]
    due = decided + severity.response_time
    resolved_at: datetime | None = row["resolved_at"]
    resolution = Resolution(row["resolution"]) if row["resolution"] else None
    return Escalation(
        cursor=row["id"],
        id=row["external_id"],
        category=row["category"],
        risk=Risk(row["risk"]),
        model=row["model"],
        draft=row["draft"],
        severity=severity,
        note=row["note"],
        reviewer=row["reviewer"],
        decided_at=decided,
        due_at=due,
        overdue=resolution is None and now > due,
        breached=(resolved_at > due) if resolved_at is not None else now > due,
        resolution=resolution,
        resolution_text=row["resolution_text"],
        resolution_note=row["resolution_note"],
        resolved_by=row["resolved_by"],
        resolved_at=resolved_at,
    )
