"""The queue's state changes on PostgreSQL, as SECURITY DEFINER functions (migration 0014).

A team member changes the queue only by calling these functions: they run as the schema's
owner, with ``search_path`` pinned to ``pg_catalog``, the schema and ``pg_temp``, so that the
groups need no INSERT, UPDATE or DELETE on the tables they write (security_sql.
DEFINER_REVOKED). Each function first checks the login: its group and, where it acts for a
person, that the person is the login (``session_user``). A refused call writes a row of the
refusal log (``rd_refusal``) and returns the refusal in its first column, ``refused``
(``role:``, ``actor:`` or ``bound:`` and the message);
it never raises after logging, which would roll the log back. The installation's own login
(the owner, a superuser) is not bound, as everywhere (security_sql.rd_enforced), and may pass
its own clock (``p_now``); a team member's calls always use the server's ``now()``.

One definition: the claim, renewal, release and decision are the queue's own one-statement
CTEs (queue_pg.PostgresQueueStore), and the decision's count toward its review policy's plan is
policy_sql's statements (which SQLite's decide runs too), rendered here as function bodies:
each ``:name`` parameter becomes the function's ``p_name`` and ``now()`` its ``v_now``; so is a
session's start, with its count of the day's reviews (session_sql.SESSION_START). The other
functions are written here once; the storage layer calls them (queue_pg.DefinerCalls).
tests/test_roles.py checks that the installed bodies are what this module renders now, so a
changed statement without a new migration fails a test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, TextClause, TextualSelect, text
from sqlalchemy.engine import URL, create_engine

from reviewdesk.core.domain import STOPPING_LABELS, EventKind, Label
from reviewdesk.core.errors import NotPermitted
from reviewdesk.core.sessions import LEASE_TTL_BOUNDS
from reviewdesk.storage import security_sql
from reviewdesk.storage.engine import DatabaseTarget, Engines
from reviewdesk.storage.security_sql import Installation, literal, quote

# Each function parameter's type, by the statement parameter's name.
PARAM_TYPES = {
    "reviewer": "text",
    "lease_id": "text",
    "ttl": "float8",
    "exclude": "bigint[]",
    "session_id": "bigint",
    "max_claims": "bigint",
    "max_seconds": "float8",
    "idle_seconds": "float8",
    "avoid": "text",
    "draft_key": "bigint",
    "verdict": "text",
    "label": "text",
    "final_text": "text",
    "reason": "text",
    "note": "text",
    "severity": "text",
    "review_seconds": "float8",
    "key": "text",
    "edit_distance": "float8",
    "counted_seconds": "float8",
    "category": "text",
    "fast": "boolean",
    "fast_flag_at": "integer",
    "window": "float8",
    "last": "integer",
    "day_start": "timestamptz",
    "day_reviews_before": "integer",  # rd_start_session before migration 0016
    "at": "timestamptz",
    "end_reason": "text",
    "start": "float8",
    "id": "bigint",
    "resolution": "text",
    "as_is": "boolean",
    "text": "text",
    "lead": "text",
    "ids": "bigint[]",
    "unresolved": "bigint[]",
    "external_id": "text",
    "expected_label": "text",
    "by": "text",
    "active": "boolean",
    "now": "timestamptz",
    "rows": "json",
}
DRAFT_COLUMNS = (
    "id", "external_id", "draft", "input", "context", "category", "risk", "model", "confidence",
    "thread", "priority", "created_at", "submitted_at", "metadata", "lease_id", "lease_epoch",
    "lease_owner", "leased_at", "visible_at",
)  # fmt: skip
# The longest a review day lasts (a day that turns the clocks back an hour): a session's day
# start lies within this many hours before now.
REVIEW_DAY_MAX_HOURS = 25
# How a gold pick's walk is bounded (session_sql.GOLD_PICK_WINDOW, kept in step by a test).
GOLD_PICK_WINDOW = 64

_PARAM = re.compile(r"(?<![:\w]):(\w+)")
# The session fence of the claim and the gold serve as migrations 0014 to 0017 installed them:
# the bounds were the caller's parameters. Kept for those migrations' functions only.
CALLERS_FENCE_0014 = """id = :session_id AND ended_at IS NULL
    AND claims < :max_claims AND counted_seconds < :max_seconds
    AND last_activity_at > {now} - make_interval(secs => :idle_seconds)"""


@dataclass(frozen=True)
class Definer:
    """One function: its name, who may call it, its parameters (statement names, in call
    order), its result columns with their types, the body after the checks, and the locals
    that body declares."""

    name: str
    role: str
    action: str
    params: tuple[str, ...]
    returns: tuple[tuple[str, str], ...]
    body: str
    actor: str | None = "p_reviewer"
    declare: str = ""

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(PARAM_TYPES[p] for p in self.params)})"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.returns)

    def call(self) -> str:
        """The statement that calls it, with the storage layer's ``:name`` parameters."""
        args = ", ".join(f"CAST(:{p} AS {PARAM_TYPES[p]})" for p in self.params)
        return f"SELECT * FROM {self.name}({args})"


def render(sql: str) -> str:
    """A queue statement as a function body's statement: ``:name`` -> ``p_name``,
    ``now()`` -> ``v_now``."""
    return _PARAM.sub(lambda m: f"p_{m.group(1)}", sql).replace("now()", "v_now")


def parameters(sql: str) -> list[str]:
    """The ``:name`` parameters of ``sql``, in order of first use."""
    return list(dict.fromkeys(_PARAM.findall(sql)))


def _with_refused(sql: str, *first: str) -> str:
    """``sql`` with a first result column ``refused`` (NULL), then the columns ``first``: its
    last SELECT at the indentation of its WITH gets them."""
    start = sql.index("WITH")
    indent = sql[sql.rindex("\n", 0, start) + 1 : start]
    at = sql.rindex(f"\n{indent}SELECT ") + len(indent) + len("\nSELECT ")
    columns = "".join(f"{c}, " for c in ("NULL::text AS refused", *first))
    return f"{sql[:at]}{columns}{sql[at:]}"


@cache
def _queue_statements() -> dict[str, str]:
    """The queue's PostgreSQL statements, as QueueStore builds them with the server's clock."""
    from reviewdesk.storage.queue_pg import PostgresQueueStore  # which calls this module

    url = URL.create("postgresql+psycopg")
    engine = create_engine(url)  # never connects: it only compiles
    store = PostgresQueueStore(Engines(DatabaseTarget(url, False), engine, engine))
    return {
        "claim": _text(store._pg_claim(varied=False)),
        "claim_varied": _text(store._pg_claim(varied=True)),
        "claim_0014": _text(store._pg_claim(varied=False, fence=CALLERS_FENCE_0014)),
        "claim_varied_0014": _text(store._pg_claim(varied=True, fence=CALLERS_FENCE_0014)),
        "renew": _text(store._renew),
        "release": _text(store._release),
        "decide": _text(store._decide),
        **{f"count_{i}": sql for i, sql in enumerate(store._count)},
    }


def _text(clause: TextClause | TextualSelect) -> str:
    element = clause.element if isinstance(clause, TextualSelect) else clause
    assert isinstance(element, TextClause)
    return element.text


def _types(conn: Connection | None, table: str, columns: Sequence[str]) -> list[tuple[str, str]]:
    if conn is None:  # the names only: what the storage layer needs to call a function
        return [(c, "") for c in columns]
    found: dict[str, str] = dict(
        conn.execute(
            text(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped"
            ),
            {"t": table},
        ).all()
    )
    return [(c, str(found[c])) for c in columns]


def _type(conn: Connection | None, table: str, column: str) -> str:
    return _types(conn, table, (column,))[0][1]


def definers(
    conn: Connection | None,
    *,
    counting: bool = True,
    server_limits: bool = True,
    routing: bool = True,
) -> list[Definer]:
    """Every function, rendered for the installation ``conn`` is connected to (result types
    follow the tables' columns; without a connection, the names only). ``counting``: rd_decide
    counts the decision toward its review policy's plan (migration 0017); without it, rd_decide
    as migration 0014 made it, which says whether a policy routed the draft for the client to
    count it. ``server_limits``: the claim and the gold serve fence on the team's stored limits
    and a session starts only when no break or daily cap stands in its way (migration 0019);
    without it, as migrations 0014 to 0017 made them: the fence's bounds are the caller's, and
    a session starts whenever none is open. ``routing``: rd_submit, which inserts and routes a
    submit's drafts (migration 0018); without it, none."""
    stmts = _queue_statements()
    if not server_limits:
        stmts = {**stmts, "claim": stmts["claim_0014"], "claim_varied": stmts["claim_varied_0014"]}
    draft = _types(conn, "draft", DRAFT_COLUMNS)
    owner_type = dict(draft)["lease_owner"]
    ttl_max = LEASE_TTL_BOUNDS[1]
    ttl_check = f"""IF p_ttl > {ttl_max} AND rd_enforced() THEN
        RETURN QUERY SELECT rd_refuse('bound', format('A lease may last at most %s seconds (the team''s bound).', {ttl_max}), {{action}}){{nulls}};
        RETURN;
    END IF;
    """  # noqa: E501
    claim_params = tuple(
        dict.fromkeys([*parameters(stmts["claim"]), *parameters(stmts["claim_varied"]), "now"])
    )
    stopping = ", ".join(literal(s) for s in sorted(STOPPING_LABELS))
    types = dict(draft)
    serve_select = ", ".join(
        f"CAST({value} AS {types[c]})" if value else f"d.{c}"
        for c in DRAFT_COLUMNS
        for value in [
            {
                "lease_id": "p_lease_id",
                "lease_owner": "p_reviewer",
                "leased_at": "v_now",
                "visible_at": "v_now + make_interval(secs => p_ttl)",
            }.get(c)
        ]
    )
    draft_nulls = "".join(f", NULL::{t}" for _, t in draft)
    serve_lost = """COALESCE((SELECT CASE s.state WHEN 'answered' THEN 'already_decided'
                WHEN 'released' THEN 'released'
                ELSE CASE WHEN s.visible_at <= v_now THEN 'expired' ELSE 'missing' END END
            FROM gold_serve s WHERE s.lease_id = p_lease_id AND s.reviewer = p_reviewer),
            'missing')"""
    serve_fence = (
        "lease_id = p_lease_id AND reviewer = p_reviewer AND state = 'leased' "
        "AND visible_at > v_now"
    )
    from reviewdesk.storage.queue_common import PG_JSON, QUEUE_COUNTS, session_open
    from reviewdesk.storage.session_sql import _GOLD_PICK, _LAST_SERVED
    from reviewdesk.storage.submit_sql import SUBMIT_ROUTED_PG

    routed = "EXISTS (SELECT 1 FROM policy_routing WHERE draft_id = p_draft_key) AS routed"
    lock, events, state, outcome = (render(stmts[f"count_{i}"]) for i in range(4))
    # After the decision, in its transaction: its count toward its review policy's plan
    # (policy_sql). A draft no policy routed costs one primary-key probe (the lock's statement
    # alone cost such a decision about 0.2 ms of the server's time: docs/benchmarks.md).
    count = f"""
    IF EXISTS (SELECT 1 FROM policy_routing WHERE draft_id = p_draft_key) THEN
        {lock};
        IF FOUND THEN
            {events};
            {state};
            {outcome};
        END IF;
    END IF;"""
    decide_returns = (
        *_types(conn, "decision_attempt", ("outcome", "detail")),
        ("decision_id", _type(conn, "decision", "id")),
        ("fast_run", _type(conn, "review_session", "fast_run")),
        ("was_nudged", _type(conn, "review_session", "nudged")),
        *_types(conn, "decision", ("decided_at", "low_attention")),
    )
    serve_fence_open = render(
        session_open(PG_JSON, "now()") if server_limits else CALLERS_FENCE_0014.format(now="now()")
    )
    start_session = _start_session(server_limits)
    # A session ends between its last activity and now: the break runs from then (0019; before,
    # a login could end one long ago and so have had its break).
    ended_at = (
        "GREATEST(LEAST(p_at, v_now), last_activity_at)" if server_limits else "LEAST(p_at, v_now)"
    )
    fence_params = () if server_limits else ("max_claims", "max_seconds", "idle_seconds")
    out = [
        Definer(
            "rd_claim",
            "reviewer",
            "Claiming a draft",
            claim_params,
            (
                ("refused", "text"),
                *draft,
                ("previous_owner", owner_type),
                ("session_open", "boolean"),
            ),
            ttl_check
            + f"""IF p_avoid IS NULL THEN
        RETURN QUERY {_with_refused(render(stmts["claim"]))};
    ELSE
        RETURN QUERY {_with_refused(render(stmts["claim_varied"]))};
    END IF;""",
        ),
        Definer(
            "rd_renew",
            "reviewer",
            "Renewing a lease",
            (*parameters(stmts["renew"]), "now"),
            (
                ("refused", "text"),
                ("expires_at", _type(conn, "draft", "visible_at")),
                ("why", "text"),
            ),
            ttl_check + f"RETURN QUERY {_with_refused(render(stmts['renew']))};",
        ),
        Definer(
            "rd_release",
            "reviewer",
            "Releasing a draft",
            (*parameters(stmts["release"]), "now"),
            (("refused", "text"), ("released", "bigint"), ("why", "text")),
            f"RETURN QUERY {_with_refused(render(stmts['release']))};",
        ),
        Definer(
            "rd_decide",
            "reviewer",
            "Deciding",
            (*parameters(stmts["decide"]), "now"),
            (("refused", "text"), *decide_returns)
            if counting
            else (("refused", "text"), ("routed", "boolean"), *decide_returns),
            # A retry with the key of a decision still being written waits for it, and then
            # (its statement reading afresh) replays it rather than finding the draft decided.
            "PERFORM pg_advisory_xact_lock(hashtext('rd_decide'), hashtext(p_key));\n    "
            + (
                f"RETURN QUERY {_with_refused(render(stmts['decide']))};{count}"
                if counting
                else f"RETURN QUERY {_with_refused(render(stmts['decide']), routed)};"
            ),
        ),
        Definer(
            "rd_flag_low_attention",
            "reviewer",
            "Flagging a run of fast approvals",
            ("session_id", "last", "now"),
            (("refused", "text"), ("flagged", "bigint")),
            """RETURN QUERY WITH flagged AS (
        UPDATE decision SET low_attention = TRUE WHERE id IN (
            SELECT id FROM decision
            WHERE session_id = p_session_id AND undone_at IS NULL
              AND (reviewer = session_user OR NOT rd_enforced())
            ORDER BY id DESC LIMIT p_last)
        RETURNING id)
    SELECT NULL::text, count(*) FROM flagged;""",
            actor=None,
        ),
        Definer(
            "rd_undo_last",
            "reviewer",
            "Undoing a decision",
            ("reviewer", "window", "lease_id", "ttl", "now"),
            (("refused", "text"), ("why", "text"), *draft),
            ttl_check
            + f"""SELECT dec.id, dec.draft_id, dec.decided_at, dec.delivered_at, dec.session_id,
           dec.resolved_at
      INTO v_last FROM decision dec
     WHERE dec.reviewer = p_reviewer AND dec.undone_at IS NULL
     ORDER BY dec.id DESC LIMIT 1 FOR UPDATE OF dec;
    v_why := CASE WHEN v_last.id IS NULL THEN 'nothing'
                  WHEN v_last.delivered_at IS NOT NULL THEN 'delivered'
                  WHEN v_last.resolved_at IS NOT NULL THEN 'resolved'
                  WHEN v_now - v_last.decided_at > make_interval(secs => p_window)
                  THEN 'window' END;
    IF v_why IS NOT NULL THEN
        RETURN QUERY SELECT NULL::text, v_why{draft_nulls};
        RETURN;
    END IF;
    UPDATE review_session SET reviews = reviews - 1
     WHERE id = v_last.session_id AND reviews > 0;
    UPDATE decision SET undone_at = v_now WHERE id = v_last.id;
    UPDATE draft SET state = 'pending', visible_at = v_now + make_interval(secs => p_ttl),
           lease_id = p_lease_id, lease_epoch = lease_epoch + 1, lease_owner = p_reviewer,
           leased_at = v_now
     WHERE id = v_last.draft_id AND state = 'decided'
    RETURNING lease_epoch INTO v_epoch;
    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    VALUES (v_last.draft_id, 'undone', p_reviewer, v_now, v_epoch);
    RETURN QUERY SELECT NULL::text, NULL::text, {", ".join(f"d.{c}" for c in DRAFT_COLUMNS)}
      FROM draft d WHERE d.id = v_last.draft_id;""",
            declare="v_last record; v_why text; v_epoch integer;",
        ),
        start_session,
        Definer(
            "rd_end_session",
            "reviewer",
            "Ending a review session",
            ("session_id", "at", "end_reason", "now"),
            (("refused", "text"), ("ended", "boolean")),
            f"""UPDATE review_session
       SET ended_at = CASE WHEN rd_enforced() THEN {ended_at} ELSE p_at END,
           end_reason = p_end_reason
     WHERE id = p_session_id AND ended_at IS NULL
       AND (reviewer = session_user OR NOT rd_enforced());
    RETURN QUERY SELECT NULL::text, FOUND;""",
            actor=None,
        ),
        Definer(
            "rd_serve_gold",
            "reviewer",
            "Claiming a draft",
            (
                "reviewer",
                "session_id",
                *fence_params,
                "lease_id",
                "ttl",
                "start",
                "exclude",
                "now",
            ),
            (("refused", "text"), *draft, ("gold_item_id", "bigint")),
            ttl_check
            + f"""v_last := ({render(_text(_LAST_SERVED))});
    v_top := COALESCE((SELECT max(id) FROM gold_item), 0);
    v_starts := CASE WHEN v_last IS NULL THEN ARRAY[0, floor(p_start * v_top)::bigint]
                     ELSE ARRAY[v_last, 0, floor(p_start * v_top)::bigint] END;
    FOREACH p_after IN ARRAY v_starts LOOP
        SELECT picked.id, picked.draft_id INTO v_gold, v_draft
          FROM ({render(_text(_GOLD_PICK))}) AS picked;
        EXIT WHEN v_gold IS NOT NULL;
    END LOOP;
    IF v_gold IS NULL OR v_draft = ANY(p_exclude) THEN
        RETURN;
    END IF;
    UPDATE review_session SET claims = claims + 1, last_activity_at = v_now
     WHERE {serve_fence_open};
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE draft SET lease_epoch = lease_epoch + 1 WHERE id = v_draft
    RETURNING lease_epoch INTO v_epoch;
    INSERT INTO gold_serve (gold_item_id, draft_id, session_id, reviewer, lease_id,
                            lease_epoch, state, served_at, visible_at)
    VALUES (v_gold, v_draft, p_session_id, p_reviewer, p_lease_id, v_epoch, 'leased', v_now,
            v_now + make_interval(secs => p_ttl));
    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    VALUES (v_draft, 'claimed', p_reviewer, v_now, v_epoch);
    RETURN QUERY SELECT NULL::text, {serve_select}, v_gold FROM draft d WHERE d.id = v_draft;""",
            declare=(
                f"v_last bigint; v_top bigint; v_starts bigint[]; p_after bigint; "
                f"p_window integer := {GOLD_PICK_WINDOW}; v_gold bigint; v_draft bigint; "
                "v_epoch integer;"
            ),
        ),
        Definer(
            "rd_renew_gold",
            "reviewer",
            "Renewing a lease",
            ("lease_id", "reviewer", "ttl", "now"),
            (("refused", "text"), ("expires_at", "timestamptz"), ("why", "text")),
            ttl_check
            + f"""UPDATE gold_serve SET visible_at = v_now + make_interval(secs => p_ttl)
     WHERE {serve_fence}
    RETURNING draft_id, lease_epoch, visible_at INTO v_draft, v_epoch, v_expires;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::text, NULL::timestamptz, {serve_lost};
        RETURN;
    END IF;
    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    VALUES (v_draft, 'renewed', p_reviewer, v_now, v_epoch);
    RETURN QUERY SELECT NULL::text, v_expires, NULL::text;""",
            declare="v_draft bigint; v_epoch integer; v_expires timestamptz;",
        ),
        Definer(
            "rd_release_gold",
            "reviewer",
            "Releasing a draft",
            ("lease_id", "reviewer", "now"),
            (("refused", "text"), ("why", "text")),
            f"""UPDATE gold_serve SET state = 'released' WHERE {serve_fence}
    RETURNING draft_id, lease_epoch, session_id INTO v_draft, v_epoch, v_session;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::text, {serve_lost};
        RETURN;
    END IF;
    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    VALUES (v_draft, 'released', p_reviewer, v_now, v_epoch);
    UPDATE review_session SET claims = claims - 1 WHERE id = v_session AND claims > 0;
    RETURN QUERY SELECT NULL::text, NULL::text;""",
            declare="v_draft bigint; v_epoch integer; v_session bigint;",
        ),
        Definer(
            "rd_answer_gold",
            "reviewer",
            "Deciding",
            (
                "draft_key",
                "lease_id",
                "reviewer",
                "verdict",
                "key",
                "label",
                "review_seconds",
                "session_id",
                "counted_seconds",
                "category",
                "fast",
                "fast_flag_at",
                "now",
            ),
            (
                ("refused", "text"),
                ("outcome", "text"),
                ("why", "text"),
                ("label", "text"),
                ("correct", "boolean"),
                ("expected", "text"),
                ("answered_at", "timestamptz"),
                ("fast_run", "integer"),
                ("was_nudged", "boolean"),
            ),
            f"""UPDATE gold_serve SET state = 'answered', answer_key = p_key WHERE {serve_fence}
    RETURNING id, draft_id, lease_epoch, gold_item_id
         INTO v_serve, v_draft, v_epoch, v_gold;
    IF NOT FOUND THEN
        -- Looked for only now: a concurrent retry with this key may just have answered.
        SELECT a.label, a.correct, a.answered_at, g.expected_label
          INTO v_prior
          FROM gold_answer a JOIN gold_serve s ON s.id = a.serve_id
          JOIN gold_item g ON g.id = a.gold_item_id
         WHERE s.lease_id = p_lease_id AND s.answer_key = p_key
           AND s.reviewer = p_reviewer;
        v_why := CASE WHEN v_prior.label IS NULL THEN {serve_lost} END;
        INSERT INTO decision_attempt (draft_id, lease_id, reviewer, verdict, idempotency_key,
                                      outcome, detail, attempted_at)
        VALUES (p_draft_key, p_lease_id, p_reviewer, p_verdict, p_key,
                CASE WHEN v_why IS NULL THEN 'replayed' ELSE 'refused' END, v_why, v_now);
        RETURN QUERY SELECT NULL::text,
            CASE WHEN v_why IS NULL THEN 'replayed' ELSE 'refused' END, v_why,
            v_prior.label::text, v_prior.correct, v_prior.expected_label::text,
            v_prior.answered_at, NULL::integer, FALSE;
        RETURN;
    END IF;
    SELECT expected_label INTO v_expected FROM gold_item WHERE id = v_gold;
    -- core.sessions.gold_answer_correct
    v_correct := p_label = v_expected
        OR (v_expected IN ({stopping}) AND p_label IN ({stopping}));
    INSERT INTO gold_answer (gold_item_id, reviewer, session_id, label, correct, answered_at,
                             review_seconds, serve_id)
    VALUES (v_gold, p_reviewer, p_session_id, p_label, v_correct, v_now, p_review_seconds,
            v_serve);
    INSERT INTO decision_attempt (draft_id, lease_id, reviewer, verdict, idempotency_key,
                                  outcome, attempted_at)
    VALUES (p_draft_key, p_lease_id, p_reviewer, p_verdict, p_key, 'accepted', v_now);
    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    VALUES (v_draft, 'answered', p_reviewer, v_now, v_epoch);
    SELECT fast_run, nudged INTO v_fast_run, v_nudged FROM review_session
     WHERE id = p_session_id;
    IF FOUND THEN
        UPDATE review_session SET
            reviews = reviews + 1,
            counted_seconds = counted_seconds + p_counted_seconds,
            last_activity_at = v_now,
            category_run = CASE WHEN last_category = p_category THEN category_run + 1
                                ELSE 1 END,
            last_category = p_category,
            fast_run = CASE WHEN p_fast THEN fast_run + 1 ELSE 0 END,
            nudged = nudged OR (p_fast AND fast_run + 1 >= p_fast_flag_at)
         WHERE id = p_session_id;
        v_fast_run := CASE WHEN p_fast THEN v_fast_run + 1 ELSE 0 END;
    END IF;
    RETURN QUERY SELECT NULL::text, 'accepted'::text, NULL::text, p_label, v_correct,
        v_expected::text, v_now, v_fast_run, COALESCE(v_nudged, FALSE);""",
            declare=(
                "v_serve bigint; v_draft bigint; v_epoch integer; v_gold bigint; "
                "v_prior record; v_why text; v_expected text; v_correct boolean; "
                "v_fast_run integer; v_nudged boolean;"
            ),
        ),
        Definer(
            "rd_mark_gold",
            "lead",
            "Marking a gold draft",
            ("external_id", "expected_label", "note", "by", "now"),
            (("refused", "text"), ("problem", "text")),
            """SELECT id, state, is_gold INTO v_draft FROM draft
     WHERE external_id = p_external_id;
    IF v_draft.id IS NULL OR v_draft.state <> 'decided' THEN
        RETURN QUERY SELECT NULL::text,
            CASE WHEN v_draft.id IS NULL THEN 'missing' ELSE 'undecided' END;
        RETURN;
    END IF;
    IF v_draft.is_gold THEN
        UPDATE gold_item SET expected_label = p_expected_label, note = p_note, active = TRUE
         WHERE draft_id = v_draft.id;
    ELSE
        UPDATE draft SET is_gold = TRUE WHERE id = v_draft.id;
        INSERT INTO gold_item (draft_id, expected_label, note, created_by, created_at)
        VALUES (v_draft.id, p_expected_label, p_note, p_by, v_now);
    END IF;
    RETURN QUERY SELECT NULL::text, NULL::text;""",
            actor="p_by",
            declare="v_draft record;",
        ),
        Definer(
            "rd_set_gold_active",
            "lead",
            "Retiring a gold draft",
            ("external_id", "active", "now"),
            (("refused", "text"), ("changed", "boolean")),
            """UPDATE gold_item SET active = p_active
     WHERE draft_id = (SELECT id FROM draft WHERE external_id = p_external_id);
    RETURN QUERY SELECT NULL::text, FOUND;""",
            actor=None,
        ),
        Definer(
            "rd_queue_counts",
            "reviewer",
            "Counting the queue",
            ("now",),
            (
                ("refused", "text"),
                ("pending", "bigint"),
                ("leased", "bigint"),
                ("decided", "bigint"),
                ("undelivered", "bigint"),
            ),
            # Counts only: a reviewer's status bar and alerts say how much waits, though row-level
            # security shows them no waiting draft.
            f"""RETURN QUERY SELECT NULL::text, {QUEUE_COUNTS.format(now="v_now")};""",
            actor=None,
        ),
        Definer(
            "rd_ack",
            "producer",
            "Acknowledging results",
            ("ids", "unresolved", "now"),
            (
                ("refused", "text"),
                ("id", _type(conn, "decision", "id")),
                ("acked", "boolean"),
                ("undone", "boolean"),
                ("delivered", "boolean"),
                ("external_id", _type(conn, "draft", "external_id")),
            ),
            # Only the results of drafts the producer submitted (its row-level security).
            """RETURN QUERY WITH mine AS (
        SELECT dec.id, dec.draft_id, dec.lease_epoch, dec.undone_at, dec.delivered_at,
               dec.resolved_at, d.external_id
          FROM decision dec JOIN draft d ON d.id = dec.draft_id
         WHERE dec.id = ANY(p_ids)
           AND (d.submitted_by = session_user OR d.submitted_by IS NULL OR NOT rd_enforced())
    ), acked AS (
        UPDATE decision SET delivered_at = v_now
         WHERE id IN (SELECT id FROM mine) AND undone_at IS NULL AND delivered_at IS NULL
           AND (resolved_at IS NULL OR NOT id = ANY(p_unresolved))
        RETURNING id, draft_id, lease_epoch
    ), events AS (
        INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
        SELECT draft_id, 'delivered', NULL, v_now, lease_epoch FROM acked ORDER BY id
    )
    SELECT NULL::text, mine.id, EXISTS (SELECT 1 FROM acked WHERE acked.id = mine.id),
           mine.undone_at IS NOT NULL, mine.delivered_at IS NOT NULL, mine.external_id
      FROM mine;""",
            actor=None,
        ),
        Definer(
            "rd_submit",
            "producer",
            "Submitting drafts",
            ("rows", "now"),
            (
                ("refused", "text"),
                ("external_id", "text"),
                ("route", "text"),
                ("policy_id", _type(conn, "policy", "id")),
                ("phase", "text"),
                ("clear_run", _type(conn, "policy_state", "clear_run")),
                ("probability", _type(conn, "policy_routing", "probability")),
                ("model_key", "text"),
            ),
            # Inserts a submit's drafts (of the producer's login: security_sql's insert rule)
            # and routes them: a producer writes no routing, plan state or release itself
            # (migration 0018). Returns the routings.
            f"RETURN QUERY {render(SUBMIT_ROUTED_PG)};",
            actor=None,
        ),
        Definer(
            "rd_resolve",
            "lead",
            "Resolving an escalation",
            ("id", "resolution", "as_is", "text", "note", "lead", "now"),
            (("refused", "text"), ("why", "text")),
            f"""UPDATE decision SET resolution = p_resolution,
           resolution_text = CASE WHEN p_as_is
               THEN (SELECT draft FROM draft WHERE draft.id = decision.draft_id)
               ELSE p_text END,
           resolution_note = p_note, resolved_by = p_lead, resolved_at = v_now,
           delivered_at = NULL
     WHERE id = p_id AND label = {literal(Label.ESCALATED.value)}
       AND undone_at IS NULL AND resolved_at IS NULL
    RETURNING draft_id, lease_epoch INTO v_draft, v_epoch;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::text, COALESCE((
            SELECT CASE WHEN label <> {literal(Label.ESCALATED.value)} THEN 'not_escalated'
                        WHEN undone_at IS NOT NULL THEN 'undone' ELSE 'resolved' END
              FROM decision WHERE id = p_id), 'missing');
        RETURN;
    END IF;
    INSERT INTO draft_event (draft_id, kind, actor, at, lease_epoch)
    VALUES (v_draft, {literal(EventKind.RESOLVED.value)}, p_lead, v_now, v_epoch);
    RETURN QUERY SELECT NULL::text, NULL::text;""",
            actor="p_lead",
            declare="v_draft bigint; v_epoch integer;",
        ),
    ]
    # Before migration 0018 producers routed in their own process: no rd_submit.
    return out if routing else [fn for fn in out if fn.name != "rd_submit"]


def _start_session(server_limits: bool) -> Definer:
    """rd_start_session. The day's reviews are counted here, by the storage layer's own
    statement. The day start is the desk's (its hour and zone are the team's settings, or the
    desk's own zone): it must lie within the longest review day before now. With
    ``server_limits`` (migration 0019) a session does not start during a break or past a daily
    cap (session_sql.START_BLOCKER): the refusal names the blocker as its kind, and says until
    when in ``blocked_until``."""
    from reviewdesk.storage.session_sql import SESSION_START, START_BLOCKER

    bound = f"""IF NOT COALESCE(p_day_start <= v_now
                    AND p_day_start > v_now - make_interval(hours => {REVIEW_DAY_MAX_HOURS}),
                    FALSE)
       AND rd_enforced() THEN
        RETURN QUERY SELECT rd_refuse('bound', format('A review day starts within the %s hours before now, not at %s.', {REVIEW_DAY_MAX_HOURS}, p_day_start), {{action}}){{nulls}};
        RETURN;
    END IF;
    """  # noqa: E501
    start = f"""{render(SESSION_START.format(now="now()"))}
    ON CONFLICT DO NOTHING;"""
    if not server_limits:
        return Definer(
            "rd_start_session",
            "reviewer",
            "Starting a review session",
            ("reviewer", "day_start", "now"),
            (("refused", "text"), ("started", "boolean")),
            f"""{bound}{start}
    RETURN QUERY SELECT NULL::text, FOUND;""",
        )
    when = (
        "to_char(v_blocked.lifts_at AT TIME ZONE v_blocked.zone_name, 'HH24:MI \"on\" DD Mon')"
        " || ' (' || v_blocked.zone_name || ')'"
    )
    return Definer(
        "rd_start_session",
        "reviewer",
        "Starting a review session",
        ("reviewer", "day_start", "now"),
        (("refused", "text"), ("started", "boolean"), ("blocked_until", "timestamptz")),
        f"""{bound}IF EXISTS (SELECT 1 FROM review_session
                WHERE reviewer = p_reviewer AND ended_at IS NULL) THEN
        RETURN QUERY SELECT NULL::text, FALSE, NULL::timestamptz;  -- one is open already
        RETURN;
    END IF;
    SELECT * INTO v_blocked FROM ({render(START_BLOCKER.format(now="now()"))}) AS start_blocker;
    IF v_blocked.blocker IS NOT NULL THEN
        RETURN QUERY SELECT rd_refuse(v_blocked.blocker, CASE v_blocked.blocker
            WHEN 'on_break' THEN format(
                '%s is on a break until %s: sessions are at least %s minutes apart.',
                p_reviewer, {when}, v_blocked.break_minutes)
            WHEN 'daily_sessions' THEN format(
                '%s has done today''s %s sessions; the next review day starts at %s.',
                p_reviewer, v_blocked.sessions_per_day, {when})
            ELSE format(
                '%s has done today''s %s reviews; the next review day starts at %s.',
                p_reviewer, v_blocked.reviews_per_day, {when})
            END, {{action}}), NULL::boolean, v_blocked.lifts_at;
        RETURN;
    END IF;
    {start}
    RETURN QUERY SELECT NULL::text, FOUND, NULL::timestamptz;""",
        declare="v_blocked record;",
    )


def definition(inst: Installation, fn: Definer) -> tuple[str, str]:
    """(CREATE FUNCTION statement, its body as pg_proc.prosrc holds it)."""
    args = ", ".join(f"p_{p} {PARAM_TYPES[p]}" for p in fn.params)
    returns = ", ".join(f"{quote(c)} {t}" for c, t in fn.returns)
    nulls = "".join(f", NULL::{t}" for _, t in fn.returns[1:])
    # A person's name given as NULL is no one's: refused as another's.
    actor = f"COALESCE({fn.actor}, '')" if fn.actor else "NULL"
    # The login's checks inline, as security_sql's triggers do theirs: a call of rd_enforced or
    # rd_is from here is a function call with a catalog lookup each, on every claim and
    # decision. rd_refusal, called only when one fails, looks again and logs the refusal.
    bound = f"(session_user <> {literal(inst.owner)} AND current_setting('is_superuser') = 'off')"
    may = f"pg_has_role(session_user, {literal(inst.group(fn.role))}, 'MEMBER')"
    acts = f" AND {fn.actor} IS NOT DISTINCT FROM session_user" if fn.actor else ""
    body = f"""
#variable_conflict use_column
DECLARE
    v_now timestamptz := now();
    v_refused text;
    {fn.declare}
BEGIN
    IF {bound} THEN
        IF NOT ({may}{acts}) THEN
            v_refused := rd_refusal({literal(fn.role)}, {actor}, {literal(fn.action)});
            IF v_refused IS NOT NULL THEN
                RETURN QUERY SELECT v_refused{nulls};
                RETURN;
            END IF;
        END IF;
    ELSE
        v_now := COALESCE(p_now, v_now);
    END IF;
    {fn.body.replace("{action}", literal(fn.action)).replace("{nulls}", nulls)}
END
"""
    path = f"pg_catalog, {quote(inst.schema)}, pg_temp"
    create = (
        f"CREATE OR REPLACE FUNCTION {fn.name}({args}) RETURNS TABLE({returns}) "
        f"LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = {path} "
        f"AS $rd${body}$rd$"
    )
    return create, body


def helpers(inst: Installation) -> list[str]:
    """The checks every function starts with, and the audit trail's tightened rule: an
    ``expired`` event (naming the lease's previous holder) only from inside a function."""
    path = f"SET search_path = pg_catalog, {quote(inst.schema)}, pg_temp"
    refuse = "RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = "
    return [
        # A refusal, written to the log under the login; returns 'kind:message'.
        f"""CREATE OR REPLACE FUNCTION rd_refuse(kind text, message text, action text)
            RETURNS text LANGUAGE sql VOLATILE SECURITY DEFINER {path} AS $$
            INSERT INTO refusal (actor, action, detail, at)
            VALUES (session_user, left(action, 100), left(message, 500), now());
            SELECT kind || ':' || message
        $$""",
        # NULL when the login may act (its group; the person it acts for is itself), or the
        # refusal, logged.
        f"""CREATE OR REPLACE FUNCTION rd_refusal(grp text, actor text, action text)
            RETURNS text LANGUAGE plpgsql VOLATILE SECURITY DEFINER {path} AS $$
        BEGIN
            IF NOT rd_is(grp) THEN
                RETURN rd_refuse('role', format('Connected as %L: %s needs %s role.',
                    session_user, action,
                    CASE grp WHEN 'reviewer' THEN 'a reviewer (or lead)'
                             WHEN 'admin' THEN 'an admin' ELSE 'a ' || grp END), action);
            END IF;
            IF actor IS DISTINCT FROM session_user AND actor IS NOT NULL AND rd_enforced() THEN
                RETURN rd_refuse('actor', format('Connected as %L: cannot act as %s %L.',
                    session_user, grp, actor), action);
            END IF;
            RETURN NULL;
        END $$""",
        _event_rule(inst, refuse),
    ]


def _event_rule(inst: Installation, refuse: str) -> str:
    """Migration 0009's rule of the audit trail, and: an ``expired`` event (which names the
    lease's previous holder) only from inside rd_claim, which runs as the owner. A
    ``submitted`` or ``delivered`` event written inside a function (rd_submit, rd_ack, which
    checked the producer's group once per call) is not checked again per row: that lookup was
    a quarter of a producer's submit (migration 0018)."""
    (rule,) = (f for f in security_sql.trigger_functions(inst) if "rd_event_insert()" in f)
    loophole = "ELSIF NEW.kind <> 'expired' AND"
    producer = "IF NOT rd_is('producer') THEN"
    assert loophole in rule and producer in rule
    closed = (
        f"ELSIF NEW.kind = 'expired' AND current_user <> {literal(inst.owner)} THEN\n"
        f"                {refuse} 'Only a claim records an expired lease.';\n"
        f"            {loophole}"
    )
    checked_once = f"IF current_user <> {literal(inst.owner)} AND NOT rd_is('producer') THEN"
    return (
        rule.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
        .replace(loophole, closed)
        .replace(producer, checked_once)
    )


HELPER_SIGNATURES = ("rd_refuse(text, text, text)", "rd_refusal(text, text, text)")
# Functions a later migration replaced by one of another signature (so not replaced in place).
RETIRED_SIGNATURES = (
    "rd_start_session(text, timestamptz, integer, timestamptz)",  # the count was the client's
    # The session fence's bounds were the caller's (before migration 0019).
    "rd_claim(bigint, bigint, float8, float8, bigint[], float8, text, text, text, timestamptz)",
    "rd_serve_gold(text, bigint, bigint, float8, float8, text, float8, float8, bigint[], "
    "timestamptz)",
)
# Functions whose result columns changed while their signature did not (CREATE OR REPLACE
# cannot change them): dropped before they are created, whichever way a migration goes.
RESHAPED_SIGNATURES = (
    "rd_start_session(text, timestamptz, timestamptz)",  # blocked_until (migration 0019)
)


def install(
    conn: Connection,
    inst: Installation,
    *,
    counting: bool = True,
    server_limits: bool = True,
    routing: bool = True,
) -> list[Definer]:
    """Create (or replace) every function; EXECUTE for every group, since each function
    checks the caller itself and logs a refusal (migration 0014).
    ``counting``, ``server_limits`` and ``routing``: as ``definers``. A function of another
    signature, retired, of the other ``server_limits`` or not routing, is dropped."""
    for sql in helpers(inst):
        conn.execute(text(sql))
    for helper in HELPER_SIGNATURES:
        conn.execute(text(f"REVOKE EXECUTE ON FUNCTION {helper} FROM PUBLIC"))
    functions = definers(conn, counting=counting, server_limits=server_limits, routing=routing)
    creating = {fn.signature for fn in functions}
    other = definers(None, server_limits=not server_limits)
    stale = [s for s in (*RETIRED_SIGNATURES, *(fn.signature for fn in other)) if s not in creating]
    for signature in dict.fromkeys([*stale, *RESHAPED_SIGNATURES]):
        conn.execute(text(f"DROP FUNCTION IF EXISTS {signature}"))
    for fn in functions:
        install_one(conn, inst, fn)
    return functions


def install_one(conn: Connection, inst: Installation, fn: Definer) -> None:
    """Create (or replace) one function, with EXECUTE for every group."""
    create, _ = definition(inst, fn)
    conn.execute(text(create))
    everyone = ", ".join(quote(r) for r in inst.groups.values())
    conn.execute(text(f"REVOKE EXECUTE ON FUNCTION {fn.signature} FROM PUBLIC"))
    conn.execute(text(f"GRANT EXECUTE ON FUNCTION {fn.signature} TO {everyone}"))


def uninstall(conn: Connection, inst: Installation) -> None:
    """Drop the functions; the audit trail's rule as migration 0009 wrote it."""
    for signature in (*(fn.signature for fn in definers(None)), *RETIRED_SIGNATURES):
        conn.execute(text(f"DROP FUNCTION IF EXISTS {signature}"))
    for helper in HELPER_SIGNATURES:
        conn.execute(text(f"DROP FUNCTION IF EXISTS {helper}"))
    (event_rule,) = (f for f in security_sql.trigger_functions(inst) if "rd_event_insert()" in f)
    conn.execute(text(event_rule.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)))


@cache
def calls() -> dict[str, Definer]:
    """Each function by name, with its parameters and result columns (not their types)."""
    return {fn.name: fn for fn in definers(None)}


ROLE_REFUSAL = "role"


def refusal_kind(value: str | None) -> str | None:
    """The kind of a refusal a function returned (``role``, ``actor``, ``bound``, or a
    session's blocker); None for no refusal."""
    return None if value is None else value.partition(":")[0]


def refused(value: str | None, role: str, *, kept: bool = True) -> None:
    """Raise the refusal a function returned in its ``refused`` column. The function logged it;
    ``kept``: that log row stays (False when the call's transaction rolls back with the
    refusal, so that the caller logs it again)."""
    if value is None:
        return
    kind, _, message = value.partition(":")
    if not kept:
        raise NotPermitted(message)
    raise NotPermitted(message, needs=role if kind == ROLE_REFUSAL else None, logged=True)
