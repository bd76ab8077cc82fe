"""A submit's new drafts, inserted in one statement on PostgreSQL, with their audit events.

A desk's submit calls ``rd_submit`` (a SECURITY DEFINER function, definer_sql), whose body is
``SUBMIT_ROUTED_PG``: it inserts the drafts and routes those of cells under a sampling policy,
all in the database, with or without policies. A producer's login has no INSERT on drafts
(security_sql.ROUTING_REVOKED): every draft comes in through the function.

``INSERT ... SELECT FROM json_to_recordset(batch)``: the batch goes in as one JSON parameter,
the drafts are inserted in the order given (their ids, the claim order's last key, follow it),
their 'submitted' events are written by the same statement, and their keys come back with it
(review policies record their routings under them). One round trip however large the batch;
unlike COPY it runs under row-level security, so a producer's login loads its drafts as the
installation's own does (docs/security.md). docs/benchmarks.md has what it changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from reviewdesk.core.domain import Risk
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.core.policy_cells import Routing
from reviewdesk.core.sampling_plan import Phase, Route
from reviewdesk.storage.definer_sql import refused
from reviewdesk.storage.driver_sql import execute_batch
from reviewdesk.storage.engine import dump_json
from reviewdesk.storage.policy_sql import (
    holds_pg,
    model_key_pg,
    most_specific_pg,
    review_probability_pg,
    route_pg,
)

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
)
_NAMES = ", ".join(name for name, _ in _COLUMNS)
_TYPES = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
_VALUES = ", ".join(
    "COALESCE(x.created_at, %(now)s)" if name == "created_at" else f"x.{name}"
    for name, _ in _COLUMNS
)
# rd_submit's body: the batch (``:rows``; its metadata read as json, whose number tokens stay as
# written, for the prompt version's text) inserted and routed. Each draft of a cell under a
# sampling policy gets the most specific policy that holds it and its model key; missing plan
# states start in screening (a new model version of a policy with others is in its history);
# the states are held FOR SHARE while a draw from the server's CSPRNG routes each draft of a
# sampling cell; the released ones are inserted released, and every routing is kept, the
# released drafts' result cursors drawn from the decisions' sequence in the drafts' order.
# A state created here is in screening with a count of 0, which is what routes by it. The
# drafts' submitter is the login, as the insert rule records it (computed once: with it set, the
# rule's trigger does not fire for these rows, security_sql.insert_rule_triggers).
_ROUTED_TYPES = _TYPES.replace("metadata jsonb", "metadata json")
_ROUTED_VALUES = ", ".join(
    "COALESCE(b.created_at, now())"
    if name == "created_at"
    else "b.metadata::jsonb"
    if name == "metadata"
    else f"b.{name}"
    for name, _ in _COLUMNS
)
SUBMIT_ROUTED_PG = f"""WITH batch AS MATERIALIZED (
        SELECT b.*, b.ordinality AS n
        FROM ROWS FROM (json_to_recordset(:rows) AS ({_ROUTED_TYPES})) WITH ORDINALITY AS b
    ), matched AS MATERIALIZED (
        SELECT b.n, p.id AS policy_id, p.fraction,
            {model_key_pg("b.model", "b.metadata")} AS model_key
        FROM batch b CROSS JOIN LATERAL (
            SELECT p.id, p.fraction FROM policy p
            WHERE {holds_pg("p", "b.category", "b.confidence", "b.model")}
            ORDER BY {most_specific_pg("p")} LIMIT 1) p
    ), cells AS (
        SELECT DISTINCT policy_id, model_key FROM matched
    ), states AS MATERIALIZED (
        SELECT s.policy_id, s.model_key, s.phase::text AS phase, s.clear_run
        FROM policy_state s JOIN cells c
          ON c.policy_id = s.policy_id AND c.model_key = s.model_key
        ORDER BY s.policy_id, s.model_key FOR SHARE OF s
    ), started AS (
        INSERT INTO policy_state (policy_id, model_key, phase, clear_run, cusum, updated_at)
        SELECT c.policy_id, c.model_key, 'screening', 0, 0, now() FROM cells c
        WHERE NOT EXISTS (SELECT 1 FROM states s
                          WHERE s.policy_id = c.policy_id AND s.model_key = c.model_key)
        ORDER BY c.policy_id, c.model_key
        ON CONFLICT (policy_id, model_key) DO NOTHING
        RETURNING policy_id, model_key
    ), versions AS (
        INSERT INTO policy_event (policy_id, model_key, kind, at, new)
        SELECT n.policy_id, n.model_key, 'model', now(),
            jsonb_build_object('phase', 'screening', 'clear_run', 0)
        FROM started n
        WHERE EXISTS (SELECT 1 FROM policy_state o
                      WHERE o.policy_id = n.policy_id AND o.model_key <> n.model_key)
           OR EXISTS (SELECT 1 FROM started o
                      WHERE o.policy_id = n.policy_id AND o.model_key <> n.model_key)
        ORDER BY n.policy_id, n.model_key
    ), routed AS MATERIALIZED (
        SELECT m.n, m.policy_id, m.model_key, COALESCE(s.phase, 'screening') AS phase,
            COALESCE(s.clear_run, 0) AS clear_run,
            {review_probability_pg("s.phase", "m.fraction")} AS probability,
            {route_pg("s.phase", "m.fraction")} AS route
        FROM matched m LEFT JOIN states s
          ON s.policy_id = m.policy_id AND s.model_key = m.model_key
    ), new AS (
        INSERT INTO draft ({_NAMES}, submitted_by, state, submitted_at, visible_at,
                           lease_epoch)
        SELECT {_ROUTED_VALUES}, (SELECT CASE WHEN rd_enforced() THEN session_user END),
            CASE WHEN r.route = 'released' THEN 'released' ELSE 'pending' END, now(), now(), 0
        FROM batch b LEFT JOIN routed r ON r.n = b.n
        ORDER BY b.n
        RETURNING id, external_id
    ), events AS (
        INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
        SELECT id, 'submitted', NULL, now(), 0 FROM new ORDER BY id
    ), kept AS (
        INSERT INTO policy_routing (draft_id, policy_id, model_key, route, phase, clear_run,
                                    probability, routed_at, cursor)
        SELECT k.id, k.policy_id, k.model_key, k.route, k.phase, k.clear_run, k.probability,
            now(), CASE WHEN k.route = 'released' THEN nextval(q.seq) END
        FROM (SELECT pg_get_serial_sequence('decision', 'id')::regclass AS seq) q,
            (SELECT new.id, r.* FROM new JOIN batch b ON b.external_id = new.external_id
             JOIN routed r ON r.n = b.n ORDER BY new.id) k
    )
    SELECT NULL::text, b.external_id, r.route, r.policy_id, r.phase, r.clear_run,
        r.probability, r.model_key
    FROM routed r JOIN batch b ON b.n = r.n ORDER BY r.n"""  # noqa: S608 - ReviewDesk's own text
# The call, as a producer's desk makes it (the server's clock for a team member's login).
SUBMIT_CALL_PG = "SELECT * FROM rd_submit(%(rows)s::json, %(now)s::timestamptz)"


# The batch's ids that are queued already, with their content hashes (one JSON parameter).
_KNOWN_PG = """SELECT external_id, content_hash FROM draft
    WHERE external_id = ANY(ARRAY(SELECT json_array_elements_text(%(ids)s::json)))"""


def known_pg(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """The content hashes of the drafts among ``ids`` that are queued already."""
    found = execute_batch(conn, _KNOWN_PG, {"ids": dump_json(list(ids))})
    return {str(external_id): str(content_hash) for external_id, content_hash in found}


def _rows(fresh: Sequence[DraftSubmission]) -> str:
    """The batch as one JSON document."""
    return dump_json(
        [
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
            }
            for r in fresh
        ]
    )


def submit_routed_pg(
    conn: Connection, fresh: Sequence[DraftSubmission], now: datetime
) -> list[Routing]:
    """Insert ``fresh`` (none of them known yet) through ``rd_submit``, which routes those of
    cells under a sampling policy; their routings, in the drafts' order."""
    found = execute_batch(conn, SUBMIT_CALL_PG, {"rows": _rows(fresh), "now": now})
    if found and found[0][0] is not None:
        # The refusal's log row goes with the submit's transaction: the desk logs it again.
        refused(found[0][0], "producer", kept=False)
    route = {m.value: m for m in Route}
    phase = {m.value: m for m in Phase}
    return [
        Routing(external_id, route[where], policy_id, phase[state], run, probability, key)
        for _, external_id, where, policy_id, state, run, probability, key in found
    ]
