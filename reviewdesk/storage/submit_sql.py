"""A submit's new drafts, inserted in one statement on PostgreSQL, with their audit events.

``INSERT ... SELECT FROM json_to_recordset(batch)``: the batch goes in as one JSON parameter,
the drafts are inserted in the order given (their ids, the claim order's last key, follow it),
their 'submitted' events are written by the same statement, and their keys come back with it
(review policies record their routings under them). One round trip however large the batch;
unlike COPY it runs under row-level security, so a producer's login loads its drafts as the
installation's own does (docs/security.md). docs/benchmarks.md has what it changed.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from datetime import datetime

from sqlalchemy import Connection

from reviewdesk.core.domain import Risk
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.storage.driver_sql import execute_batch
from reviewdesk.storage.engine import dump_json

# A risk's text for a row (an enum member's ``value`` is a descriptor call, 10,000 per batch).
RISK_TEXT: dict[Risk, str] = {risk: risk.value for risk in Risk}
# The columns a producer gives, with their SQL types; the batch goes in as one JSON array of
# objects, which the server reads with json_to_recordset: psycopg's array parameters are dumped
# element by element in Python, several times slower than orjson's one document.
_COLUMNS = (
    ("external_id", "text"),
    ("content_hash", "text"),
    ("draft", "text"),
    ("input", "text"),
    ("context", "jsonb"),
    ("category", "text"),
    ("risk", "text"),
    ("model", "text"),
    ("confidence", "float8"),
    ("thread", "text"),
    ("priority", "int4"),
    ("created_at", "timestamptz"),
    ("metadata", "jsonb"),
    ("state", "text"),
)
_NAMES = ", ".join(name for name, _ in _COLUMNS)
_TYPES = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
_VALUES = ", ".join(
    "COALESCE(x.created_at, %(now)s)" if name == "created_at" else f"x.{name}"
    for name, _ in _COLUMNS
)
INSERT_DRAFTS_PG = f"""WITH new AS (
    INSERT INTO draft ({_NAMES}, submitted_at, visible_at, lease_epoch)
    SELECT {_VALUES}, %(now)s, %(now)s, 0
    FROM ROWS FROM (json_to_recordset(%(rows)s::json) AS ({_TYPES})) WITH ORDINALITY AS x
    ORDER BY x.ordinality
    RETURNING id, external_id
), events AS (
    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    SELECT id, 'submitted', NULL, %(now)s, 0 FROM new ORDER BY id
)
SELECT external_id, id FROM new"""  # noqa: S608 - ReviewDesk's own column names only


# The batch's ids that are queued already, with their content hashes (one JSON parameter).
_KNOWN_PG = """SELECT external_id, content_hash FROM draft
    WHERE external_id = ANY(ARRAY(SELECT json_array_elements_text(%(ids)s::json)))"""


def known_pg(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """The content hashes of the drafts among ``ids`` that are queued already."""
    found = execute_batch(conn, _KNOWN_PG, {"ids": dump_json(list(ids))})
    return {str(external_id): str(content_hash) for external_id, content_hash in found}


def insert_drafts_pg(
    conn: Connection,
    fresh: Sequence[DraftSubmission],
    now: datetime,
    released: Set[str],
) -> dict[str, int]:
    """Insert ``fresh`` (none of them known yet) as pending, or as released when their id is
    in ``released``, each with its 'submitted' event; returns their keys by id."""
    rows = [
        {
            "external_id": r.id,
            "content_hash": r.content_hash,
            "draft": r.draft,
            "input": r.input,
            "context": r.context,
            "category": r.category,
            "risk": RISK_TEXT[r.risk],
            "model": r.model,
            "confidence": r.confidence,
            "thread": r.thread,
            "priority": r.priority,
            "created_at": None if r.created_at is None else r.created_at.isoformat(),
            "metadata": r.metadata,
            "state": "released" if r.id in released else "pending",
        }
        for r in fresh
    ]
    found = execute_batch(conn, INSERT_DRAFTS_PG, {"rows": dump_json(rows), "now": now})
    return {str(external_id): int(key) for external_id, key in found}
