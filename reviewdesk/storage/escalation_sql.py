"""The escalation inbox's reads and its one write: escalations by urgency, and a resolution.

Open escalations are ordered by their due time (``core.escalation_sla.due_at``), computed by the
engine from the same response times (``rules_sql.response_seconds``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BindParameter, Connection, RowMapping, bindparam, insert, text
from sqlalchemy.sql.elements import TextClause

from reviewdesk.core.clock import Clock
from reviewdesk.core.domain import EventKind, Label
from reviewdesk.core.errors import UnknownDraft
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.queue_pg import DefinerCalls
from reviewdesk.storage.reads import database_now, read_connection
from reviewdesk.storage.rules_sql import response_seconds
from reviewdesk.storage.tables import DraftEventRow
from reviewdesk.storage.types import UtcDateTime

# Why a resolution changed nothing.
Refusal = Literal["missing", "not_escalated", "undone", "resolved"]


@dataclass(frozen=True)
class EscalationRow:
    """An escalated decision and its draft, as stored."""

    cursor: int  # the decision's id
    external_id: str  # the draft's id
    category: str
    risk: str
    model: str | None
    draft: str
    severity: str
    note: str | None
    reviewer: str
    decided_at: datetime
    resolution: str | None
    resolution_text: str | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None


_COLUMNS = """dec.id, d.external_id, d.category, d.risk, d.model, d.draft, dec.severity, dec.note,
    dec.reviewer, dec.decided_at, dec.resolution, dec.resolution_text, dec.resolution_note,
    dec.resolved_by, dec.resolved_at"""
_ESCALATED = f"dec.label = '{Label.ESCALATED.value}'"
_SECONDS = response_seconds("dec.severity")
_DUE = {
    "postgresql": f"dec.decided_at + make_interval(secs => {_SECONDS})",
    "sqlite": f"julianday(dec.decided_at) + {_SECONDS} / 86400.0",
}


def _typed(sql: str, *, expanding: Sequence[str] = ()) -> TextClause:
    clause = text(sql)
    binds: list[BindParameter[Any]] = [bindparam(n, expanding=True) for n in expanding]
    binds += [bindparam(n, type_=UtcDateTime) for n in ("now",) if f":{n}" in sql]
    if binds:
        clause = clause.bindparams(*binds)
    return clause.columns(decided_at=UtcDateTime, resolved_at=UtcDateTime)  # type: ignore[return-value]


def _row(row: RowMapping) -> EscalationRow:
    return EscalationRow(
        cursor=row["id"],
        external_id=row["external_id"],
        category=row["category"],
        risk=row["risk"],
        model=row["model"],
        draft=row["draft"],
        severity=row["severity"],
        note=row["note"],
        reviewer=row["reviewer"],
        decided_at=row["decided_at"],
        resolution=row["resolution"],
        resolution_text=row["resolution_text"],
        resolution_note=row["resolution_note"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
    )


class EscalationStore:
    """Escalations on one database. Each call is one short transaction, read at one time: the
    injected clock's, or (None) the database's."""

    def __init__(self, engines: Engines, *, clock: Clock | None) -> None:
        self.engines = engines
        self.clock = clock
        self._due = _DUE[engines.target.dialect]

    @functools.cached_property
    def _definers(self) -> DefinerCalls:
        return DefinerCalls(self.engines.statement.dialect, self.clock)

    def list(
        self, *, severities: Sequence[str], limit: int, include_resolved: bool
    ) -> tuple[datetime, list[EscalationRow]]:
        """The time read at, and: open escalations of ``severities`` (empty: any), earliest due
        first, at most ``limit``; with ``include_resolved``, then the latest ``limit``
        resolved ones."""
        conditions = f"{_ESCALATED} AND dec.undone_at IS NULL"
        if severities:
            conditions += " AND dec.severity IN :severities"
        expanding = ("severities",) if severities else ()
        open_stmt = _typed(
            f"""SELECT {_COLUMNS} FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE {conditions} AND dec.resolved_at IS NULL
                ORDER BY {self._due}, dec.id LIMIT :limit""",  # noqa: S608 - constants only
            expanding=expanding,
        )
        done_stmt = _typed(
            f"""SELECT {_COLUMNS} FROM decision dec JOIN draft d ON d.id = dec.draft_id
                WHERE {conditions} AND dec.resolved_at IS NOT NULL
                ORDER BY dec.resolved_at DESC, dec.id DESC LIMIT :limit""",  # noqa: S608
            expanding=expanding,
        )
        params: dict[str, Any] = {"limit": limit}
        if severities:
            params["severities"] = list(severities)
        with read_connection(self.engines) as conn:
            now = database_now(conn, self.clock)
            rows = list(conn.execute(open_stmt, params).mappings())
            if include_resolved:
                rows += list(conn.execute(done_stmt, params).mappings())
        return now, [_row(r) for r in rows]

    def get(self, cursor: int) -> tuple[datetime, EscalationRow | None]:
        """The time read at, and escalation ``cursor`` (None: no escalation has that id)."""
        with read_connection(self.engines) as conn:
            now = database_now(conn, self.clock)
            row = (
                conn.execute(
                    _typed(
                        f"""SELECT {_COLUMNS} FROM decision dec
                        JOIN draft d ON d.id = dec.draft_id
                        WHERE dec.id = :id AND {_ESCALATED}"""  # noqa: S608
                    ),
                    {"id": cursor},
                )
                .mappings()
                .first()
            )
        return now, _row(row) if row is not None else None

    def for_draft(self, draft_id: str) -> tuple[datetime, EscalationRow | None]:
        """The time read at, and the escalation of the draft submitted as ``draft_id``: its
        open one, else the latest resolved one; None when its live decision is no escalation
        (or it has none). Raises UnknownDraft when no draft has that id."""
        with read_connection(self.engines) as conn:
            now = database_now(conn, self.clock)
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
                        WHERE d.external_id = :id AND {_ESCALATED}
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
        return now, _row(row) if row is not None else None

    def resolve(
        self,
        cursor: int,
        *,
        resolution: str,
        send_as_is: bool,
        text_to_send: str | None,
        note: str,
        lead: str,
    ) -> Refusal | None:
        """Record a resolution of escalation ``cursor``, with its audit event, in one
        transaction; None when recorded, else why nothing changed. ``send_as_is`` sends the
        draft's own text; otherwise ``text_to_send`` (None: nothing to send). PostgreSQL: the
        same change, by function rd_resolve (definer_sql)."""
        if self.engines.target.dialect == "postgresql":
            with self.engines.statement.connect() as conn:
                row = self._definers.call(
                    conn, "rd_resolve", "lead",
                    id=cursor, resolution=resolution, as_is=send_as_is, text=text_to_send,
                    note=note, lead=lead,
                )  # fmt: skip
            return row["why"]  # type: ignore[no-any-return]
        with self.engines.write.begin() as conn:
            now = database_now(conn, self.clock)
            # Fenced like every queue write: only a live, open escalation changes, and the
            # result is delivered again (delivered_at NULL) with the resolution.
            updated = conn.execute(
                _typed(
                    f"""UPDATE decision SET resolution = :resolution,
                        resolution_text = CASE WHEN :as_is = 1
                            THEN (SELECT draft FROM draft WHERE draft.id = decision.draft_id)
                            ELSE CAST(:text AS TEXT) END,
                        resolution_note = :note, resolved_by = :lead, resolved_at = :now,
                        delivered_at = NULL
                    WHERE id = :id AND label = '{Label.ESCALATED.value}'
                      AND undone_at IS NULL AND resolved_at IS NULL
                    RETURNING draft_id, lease_epoch"""  # noqa: S608 - constants only
                ),
                {
                    "resolution": resolution,
                    "as_is": 1 if send_as_is else 0,
                    "text": text_to_send,
                    "note": note,
                    "lead": lead,
                    "now": now,
                    "id": cursor,
                },
            ).first()
            if updated is None:
                return _refusal(conn, cursor)
            conn.execute(
                insert(DraftEventRow.__table__),  # type: ignore[attr-defined]
                {
                    "draft_id": updated[0],
                    "kind": EventKind.RESOLVED.value,
                    "actor": lead,
                    "at": now,
                    "lease_epoch": updated[1],
                },
            )
        return None


def _refusal(conn: Connection, cursor: int) -> Refusal:
    row = conn.execute(
        text("SELECT label, undone_at, resolved_at FROM decision WHERE id = :id"),
        {"id": cursor},
    ).first()
    if row is None:
        return "missing"
    if row[0] != Label.ESCALATED:
        return "not_escalated"
    if row[1] is not None:
        return "undone"
    return "resolved"
