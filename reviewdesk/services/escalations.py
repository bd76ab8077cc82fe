"""The lead's escalation inbox: escalated drafts by urgency, and their resolution.

An escalation is due ``Severity.response_time`` after it was decided (critical 15 minutes, high
1 hour, medium 4 hours, low 24 hours). A lead resolves it once, with a note: send as is, send
edited, reject, or dismiss. Resolving sets the decision's ``delivered_at`` back to NULL, so the
result is delivered to the consumer again, now with the resolution (see docs/api.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from reviewdesk.core.clock import Clock, SystemClock
from reviewdesk.core.domain import Risk, Severity
from reviewdesk.core.errors import InvalidDecision, ReviewDeskError
from reviewdesk.core.escalation_sla import due_at, is_breached, is_overdue
from reviewdesk.core.identity import reviewer_name
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.escalation_sql import EscalationRow, EscalationStore

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


class EscalationInbox:
    """Lists and resolves escalations on one database."""

    def __init__(self, engines: Engines, *, clock: Clock | None = None) -> None:
        self.engines = engines
        self.postgres = engines.target.dialect == "postgresql"
        self.clock: Clock | None = clock if clock or self.postgres else SystemClock()
        self._store = EscalationStore(engines, clock=self.clock)

    @classmethod
    def for_desk(cls, desk: ReviewDesk) -> EscalationInbox:
        return cls(desk.engines, clock=desk.clock)

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
        now, rows = self._store.list(
            severities=wanted, limit=limit, include_resolved=include_resolved
        )
        return [_escalation(r, now) for r in rows]

    def get(self, cursor: int) -> Escalation | None:
        now, row = self._store.get(cursor)
        return _escalation(row, now) if row is not None else None

    def for_draft(self, draft_id: str) -> Escalation | None:
        """The escalation of the draft a producer submitted as ``draft_id``: its open one, else
        the latest resolved one; None when its live decision is no escalation (or it has none).
        Raises UnknownDraft when no draft has that id."""
        now, row = self._store.for_draft(draft_id)
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
        refused = self._store.resolve(
            cursor,
            resolution=resolution.value,
            send_as_is=resolution is Resolution.SEND_AS_IS,
            text_to_send=text if resolution is Resolution.SEND_EDITED else None,
            note=note.strip(),
            lead=lead,
        )
        if refused is not None:
            raise ResolveRefused(cursor, refused)
        resolved = self.get(cursor)
        assert resolved is not None
        return resolved


def _escalation(row: EscalationRow, now: datetime) -> Escalation:
    severity = Severity(row.severity)
    due = due_at(row.decided_at, severity)
    resolution = Resolution(row.resolution) if row.resolution else None
    return Escalation(
        cursor=row.cursor,
        id=row.external_id,
        category=row.category,
        risk=Risk(row.risk),
        model=row.model,
        draft=row.draft,
        severity=severity,
        note=row.note,
        reviewer=row.reviewer,
        decided_at=row.decided_at,
        due_at=due,
        overdue=is_overdue(due, row.resolved_at, now),
        breached=is_breached(due, row.resolved_at, now),
        resolution=resolution,
        resolution_text=row.resolution_text,
        resolution_note=row.resolution_note,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
    )
