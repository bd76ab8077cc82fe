"""The statistics rollup keeps low-attention approvals in rows of their own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

Exports leave out low-attention approvals (approvals faster than reading, flagged on the
decision) unless asked for; statistics and recommendations counted them in full, because a
rollup row mixed them with every other decision of its group. A key column,
``low_attention_approval``, now puts them in rows of their own in every grain, so that a
statistic can leave them out, or count them, exactly, and say how many it left out. The
counters, the grains and their keys are otherwise migration 0004's.

The rollup is rebuilt from the decisions (writers held off meanwhile on PostgreSQL; SQLite's
migration transaction holds them off already), and the triggers keep the new key from then on:
per decision, the same upserts as before, with one more key expression.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _revision(filename: str) -> ModuleType:
    # Earlier migrations are frozen like every released one: their keys, counters and SQL are
    # reused as they are, so that this rollup counts exactly what theirs did.
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"reviewdesk_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


M3 = _revision("0003_escalation_resolution.py")
M4 = _revision("0004_reviewer_detail_rollup.py")
M5 = _revision("0005_rollup_one_decision_path.py")

FLAG = "low_attention_approval"
KEY = [*M4.KEY, FLAG]
COUNTERS = M4.COUNTERS
GRAINS = M4.GRAINS
SQLITE_TRIGGERS = M4.SQLITE_TRIGGERS


def _flag(label: str, low: str) -> str:
    # A low-attention approval: the decisions exports leave out unless asked for (the same
    # rule as reviewdesk/storage/export_sql.py, LOW_ATTENTION_APPROVAL; tests/test_stats.py
    # checks that both leave out the same decisions).
    return f"({label} = 'approved' AND {low})"


def _keys(grain: str, *, label: str, low: str, **columns: str) -> list[str]:
    """The key of ``grain`` for one decision, as SQL expressions in KEY order."""
    return [*M4._keys(grain, **columns), _flag(label, low)]


_UPSERT = (
    "ON CONFLICT ({key}) DO UPDATE SET "
    + ", ".join(f"{c} = decision_rollup.{c} + excluded.{c}" for c in COUNTERS)
).format(key=", ".join(KEY))
_COLUMNS = ", ".join(KEY + COUNTERS)
_GROUP = ", ".join(str(i + 1) for i in range(len(KEY)))


def _columns(dec: str, drf: str, postgres: bool) -> dict[str, Any]:
    """The keyword arguments of _keys for decision ``dec`` of draft ``drf``."""
    return {
        "at": f"{dec}.decided_at",
        "category": f"{drf}.category",
        "model": f"{drf}.model",
        "risk": f"{drf}.risk",
        "confidence": f"{drf}.confidence",
        "reviewer": f"{dec}.reviewer",
        "label": f"{dec}.label",
        "low": f"{dec}.low_attention",
        "postgres": postgres,
    }


def _create_rollup(*, flag: bool) -> None:
    """The rollup table of migration 0003, with the new key column when ``flag``."""
    key = [
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("risk", sa.String(10), nullable=False),
        sa.Column("band", sa.Integer, nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
    ]
    if flag:
        key.append(sa.Column(FLAG, sa.Boolean, nullable=False))
    op.create_table(
        "decision_rollup",
        *key,
        *[
            sa.Column(
                c,
                sa.Float if c == "edit_distance_sum" else sa.Integer,
                nullable=False,
                server_default="0",
            )
            for c in COUNTERS
        ],
        sa.PrimaryKeyConstraint(*[c.name for c in key], name="pk_decision_rollup"),
        sqlite_with_rowid=False,
    )


# -- SQLite: row triggers -------------------------------------------------------------------------
def _sqlite_apply(dec: str, drf: str, sign: str, source: str) -> str:
    counters = M4._counters(
        sign, f"{dec}.label", f"{dec}.low_attention", f"{dec}.review_seconds", f"{dec}.edit_distance"
    )
    return "\n".join(
        f"INSERT INTO decision_rollup ({_COLUMNS}) "
        f"SELECT {', '.join(_keys(g, **_columns(dec, drf, False)) + counters)} {source} {_UPSERT};"
        for g in GRAINS
    )


def _sqlite_triggers() -> list[str]:
    # Migration 0004's triggers, with the new key.
    live_new = "NEW.undone_at IS NULL"
    live_old = "OLD.undone_at IS NULL"
    draft_of = "FROM draft d WHERE d.id = {x}.draft_id AND NOT d.is_gold"
    decisions_of = (
        "FROM decision dec WHERE dec.draft_id = {x}.id AND dec.undone_at IS NULL AND NOT {x}.is_gold"
    )
    return [
        f"""CREATE TRIGGER tr_decision_rollup_insert AFTER INSERT ON decision WHEN {live_new}
        BEGIN {_sqlite_apply("NEW", "d", "1", draft_of.format(x="NEW"))} END""",
        # The low-attention flag set on a run of approvals moves them to their own rows.
        f"""CREATE TRIGGER tr_decision_rollup_update
        AFTER UPDATE OF {", ".join(M4.TRIGGER_COLUMNS)} ON decision
        BEGIN
        {_sqlite_apply("OLD", "d", "-1", draft_of.format(x="OLD") + f" AND {live_old}")}
        {_sqlite_apply("NEW", "d", "1", draft_of.format(x="NEW") + f" AND {live_new}")}
        END""",
        f"""CREATE TRIGGER tr_decision_rollup_delete AFTER DELETE ON decision WHEN {live_old}
        BEGIN {_sqlite_apply("OLD", "d", "-1", draft_of.format(x="OLD"))} END""",
        f"""CREATE TRIGGER tr_draft_rollup_update AFTER UPDATE OF {", ".join(M4.DRAFT_COLUMNS)} ON draft
        BEGIN
        {_sqlite_apply("dec", "OLD", "-1", decisions_of.format(x="OLD"))}
        {_sqlite_apply("dec", "NEW", "1", decisions_of.format(x="NEW"))}
        END""",
    ]


# -- PostgreSQL: the trigger functions (the triggers of migration 0003 call them by name) --------
_NEW_ROWS = "SELECT 1 AS sign, * FROM new_rows"


def _grouped_upsert(source: str) -> str:
    """Every grain's grouped counts from ``source`` (signed decision rows), upserted."""
    counters = M4._counters(
        "s.sign", "s.label", "s.low_attention", "s.review_seconds", "s.edit_distance"
    )
    sums = [f"sum({c})" for c in counters]
    selects = " UNION ALL ".join(
        f"SELECT {', '.join(_keys(g, **_columns('s', 's', True)) + sums)} FROM src s "
        f"GROUP BY {_GROUP}"
        for g in GRAINS
    )
    return f"""WITH src AS MATERIALIZED (
            SELECT dec.sign, dec.decided_at, dec.reviewer, dec.label, dec.low_attention,
                dec.review_seconds, dec.edit_distance, d.category, d.model, d.risk,
                d.confidence
            FROM ({source}) dec JOIN draft d ON d.id = dec.draft_id
            WHERE dec.undone_at IS NULL AND NOT d.is_gold)
        INSERT INTO decision_rollup ({_COLUMNS}) {selects}
        {_UPSERT}"""


def _statement_function(name: str, source: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_grouped_upsert(source)};
        RETURN NULL;
    END $$"""


def _postgres_functions() -> list[str]:
    counters = M4._counters("p_sign", "p_label", "p_low", "p_seconds", "p_distance")
    params: dict[str, Any] = {
        "at": "p_decided_at",
        "category": "p_category",
        "model": "p_model",
        "risk": "p_risk",
        "confidence": "p_confidence",
        "reviewer": "p_reviewer",
        "label": "p_label",
        "low": "p_low",
        "postgres": True,
    }
    values = ", ".join(
        "({})".format(", ".join(_keys(g, **params) + counters))
        for g in GRAINS
    )
    # Called by decision_rollup_on_draft (migration 0003) for a draft's decisions: unchanged.
    apply = f"""
    CREATE OR REPLACE FUNCTION decision_rollup_apply(
        p_sign integer, p_decided_at timestamptz, p_category text, p_model text, p_risk text,
        p_confidence double precision, p_reviewer text, p_label text, p_low boolean,
        p_seconds double precision, p_distance double precision) RETURNS void LANGUAGE sql AS $$
        INSERT INTO decision_rollup ({_COLUMNS}) VALUES {values}
        {_UPSERT}
    $$"""
    one = M4._counters("1", "r.label", "r.low_attention", "r.review_seconds", "r.edit_distance")
    row = _columns("r", "r", True)
    one_values = ", ".join(
        "({})".format(", ".join(_keys(g, **row) + one))
        for g in GRAINS
    )
    # Migration 0005's short path for the one-decision statement every decide is.
    on_insert = f"""
    CREATE OR REPLACE FUNCTION decision_rollup_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        r record;
        statement_rows integer;
    BEGIN
        SELECT count(*) INTO statement_rows FROM (SELECT 1 FROM new_rows LIMIT 2) AS first_two;
        IF statement_rows = 1 THEN
            SELECT n.decided_at, n.reviewer, n.label, n.low_attention, n.review_seconds,
                n.edit_distance, d.category, d.model, d.risk, d.confidence
            INTO r
            FROM new_rows n JOIN draft d ON d.id = n.draft_id
            WHERE n.undone_at IS NULL AND NOT d.is_gold;
            IF FOUND THEN
                INSERT INTO decision_rollup ({_COLUMNS}) VALUES {one_values}
                {_UPSERT};
            END IF;
        ELSIF statement_rows > 1 THEN
            {_grouped_upsert(_NEW_ROWS)};
        END IF;
        RETURN NULL;
    END $$"""
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in M4.TRIGGER_COLUMNS)
    return [
        apply,
        on_insert,
        _statement_function("decision_rollup_on_delete", "SELECT -1 AS sign, * FROM old_rows"),
        # Acks and a lead's resolutions change no counted column: no row, nothing written.
        _statement_function(
            "decision_rollup_on_update",
            f"""SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE {changed}
                UNION ALL
                SELECT 1 AS sign, n.* FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE {changed}""",
        ),
    ]


# -- backfill -------------------------------------------------------------------------------------
def _backfill(postgres: bool) -> list[str]:
    """Grains a, r and d from the live, non-gold decisions; w, m and x summed from d's rows."""
    counters = M4._counters(
        "1", "dec.label", "dec.low_attention", "dec.review_seconds", "dec.edit_distance"
    )
    sums = [f"sum({c})" for c in counters]
    from_decisions = [
        f"""INSERT INTO decision_rollup ({_COLUMNS})
        SELECT {", ".join(_keys(g, **_columns("dec", "d", postgres)) + sums)}
        FROM decision dec JOIN draft d ON d.id = dec.draft_id
        WHERE dec.undone_at IS NULL AND NOT d.is_gold GROUP BY {_GROUP}"""
        for g in ("a", "r", "d")
    ]
    as_date = "CAST(r.day AS date)" if postgres else "r.day"
    week = (
        f"to_char(date_trunc('week', {as_date}), 'YYYY-MM-DD')"
        if postgres
        else f"date({as_date}, 'weekday 0', '-6 days')"
    )
    month = "substr(r.day, 1, 7) || '-01'"
    totals = ", ".join(f"sum(r.{c})" for c in COUNTERS)
    from_days = [
        f"""INSERT INTO decision_rollup ({_COLUMNS})
        SELECT '{grain}', {period}, {category}, r.model, r.risk, r.band, r.reviewer, r.{FLAG},
            {totals}
        FROM decision_rollup r WHERE r.grain = 'd' GROUP BY {_GROUP}"""
        for grain, period, category in (
            ("w", week, "r.category"),
            ("m", month, "r.category"),
            ("x", week, "''"),
        )
    ]
    return [*from_decisions, *from_days]


def _rebuild(postgres: bool, *, flag: bool) -> None:
    if postgres:
        # No decision may be counted by the old triggers after the backfill has read the
        # decisions: writers wait until this transaction commits.
        op.execute("LOCK TABLE draft, decision IN SHARE ROW EXCLUSIVE MODE")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table("decision_rollup")
    _create_rollup(flag=flag)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _rebuild(postgres, flag=True)
    for statement in _backfill(postgres):
        op.execute(statement)
    if postgres:
        op.execute("ANALYZE decision_rollup")
    for statement in _postgres_functions() if postgres else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _rebuild(postgres, flag=False)
    for statement in M3._backfill(postgres).split(";\n"):
        op.execute(statement.rstrip(";"))
    for statement in M4._backfill(postgres):
        op.execute(statement)
    if postgres:
        op.execute("ANALYZE decision_rollup")
        for statement in M4._postgres_functions(M4.GRAINS):
            op.execute(statement)
        op.execute(M5._on_insert(M4))
    else:
        for statement in M4._sqlite_triggers(M4.GRAINS):
            op.execute(statement)
