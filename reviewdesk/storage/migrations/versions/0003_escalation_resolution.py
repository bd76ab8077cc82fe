"""Escalation resolution by a lead; the statistics rollup and the indexes of the lead's workspace.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Statistics over a million decisions must answer in under a second on SQLite too, and no scan
of a million rows does (docs/benchmarks.md). So the counts that every decision contributes to
(decided, approved, low attention, a review-time histogram) are kept per day and group in
``decision_rollup`` by triggers, in the same transaction as the decision; the rarer labels
(edits, rejections, escalations) are read from the decisions through partial indexes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Ts = sa.DateTime(timezone=True)

# Review-time histogram bucket edges in seconds (reviewdesk/services/stats.py has the same).
EDGES = (2, 4, 6, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
BUCKETS = len(EDGES) + 1
HIST = [f"h{i}" for i in range(BUCKETS)]
# Edits of at most this normalized distance are counted as trivial in the rollup (the default
# of reviewdesk/services/stats.py; other thresholds are counted from the edits themselves).
TRIVIAL_AT = 0.02
COUNTERS = ["n", "approved", "edited", "trivial", "edit_distance_sum", "low_attention", *HIST]
KEY = ["grain", "day", "category", "model", "risk", "band", "reviewer"]
TRIGGER_COLUMNS = ("undone_at", "low_attention", "review_seconds", "label", "decided_at",
                   "reviewer", "draft_id", "edit_distance")
DRAFT_COLUMNS = ("is_gold", "category", "model", "confidence", "risk")


def _counters(sign: str, label: str, low: str, seconds: str, distance: str) -> list[str]:
    bounds = [0, *EDGES]
    hist = []
    for i in range(BUCKETS):
        cond = f"{seconds} >= {bounds[i]}"
        if i < len(EDGES):
            cond += f" AND {seconds} < {EDGES[i]}"
        hist.append(f"CASE WHEN {cond} THEN {sign} ELSE 0 END")
    return [
        sign,
        f"CASE WHEN {label} = 'approved' THEN {sign} ELSE 0 END",
        f"CASE WHEN {label} = 'edited' THEN {sign} ELSE 0 END",
        f"CASE WHEN {label} = 'edited' AND {distance} <= {TRIVIAL_AT} THEN {sign} ELSE 0 END",
        f"CASE WHEN {label} = 'edited' AND {distance} IS NOT NULL THEN {sign} * {distance} "
        "ELSE 0 END",
        f"CASE WHEN {low} THEN {sign} ELSE 0 END",
        *hist,
    ]


def _band(confidence: str, postgres: bool) -> str:
    # 5% confidence buckets 0..19; -1 unknown. CAST truncates on SQLite; PostgreSQL rounds.
    whole = f"floor({confidence} * 20)" if postgres else f"{confidence} * 20"
    return (
        f"CASE WHEN {confidence} IS NULL THEN -1 WHEN {confidence} >= 1 THEN 19 "
        f"ELSE CAST({whole} AS INTEGER) END"
    )


def _day(decided_at: str, postgres: bool) -> str:
    if postgres:
        return f"to_char({decided_at} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({decided_at}, 1, 10)"


_UPSERT = (
    "ON CONFLICT ({key}) DO UPDATE SET "
    + ", ".join(f"{c} = decision_rollup.{c} + excluded.{c}" for c in COUNTERS)
).format(key=", ".join(KEY))


def _sqlite_apply(dec: str, drf: str, sign: str, source: str) -> str:
    """Two upserts (grain a: all but reviewer; grain r: reviewer x category) for one row."""
    counters = _counters(sign, f"{dec}.label", f"{dec}.low_attention", f"{dec}.review_seconds",
                         f"{dec}.edit_distance")
    day = _day(f"{dec}.decided_at", False)
    grains = [
        ["'a'", day, f"{drf}.category", f"coalesce({drf}.model, '')", f"{drf}.risk",
         _band(f"{drf}.confidence", False), "''"],
        ["'r'", day, f"{drf}.category", "''", "''", "-2", f"{dec}.reviewer"],
    ]
    cols = ", ".join(KEY + COUNTERS)
    return "\n".join(
        f"INSERT INTO decision_rollup ({cols}) SELECT {', '.join(g + counters)} {source} {_UPSERT};"
        for g in grains
    )


def _sqlite_triggers() -> list[str]:
    live_new = "NEW.undone_at IS NULL"
    live_old = "OLD.undone_at IS NULL"
    draft_of = "FROM draft d WHERE d.id = {x}.draft_id AND NOT d.is_gold"
    decisions_of = "FROM decision dec WHERE dec.draft_id = {x}.id AND dec.undone_at IS NULL AND NOT {x}.is_gold"
    return [
        f"""CREATE TRIGGER tr_decision_rollup_insert AFTER INSERT ON decision WHEN {live_new}
        BEGIN {_sqlite_apply("NEW", "d", "1", draft_of.format(x="NEW"))} END""",
        f"""CREATE TRIGGER tr_decision_rollup_update
        AFTER UPDATE OF {", ".join(TRIGGER_COLUMNS)} ON decision
        BEGIN
        {_sqlite_apply("OLD", "d", "-1", draft_of.format(x="OLD") + f" AND {live_old}")}
        {_sqlite_apply("NEW", "d", "1", draft_of.format(x="NEW") + f" AND {live_new}")}
        END""",
        f"""CREATE TRIGGER tr_decision_rollup_delete AFTER DELETE ON decision WHEN {live_old}
        BEGIN {_sqlite_apply("OLD", "d", "-1", draft_of.format(x="OLD"))} END""",
        f"""CREATE TRIGGER tr_draft_rollup_update AFTER UPDATE OF {", ".join(DRAFT_COLUMNS)} ON draft
        BEGIN
        {_sqlite_apply("dec", "OLD", "-1", decisions_of.format(x="OLD"))}
        {_sqlite_apply("dec", "NEW", "1", decisions_of.format(x="NEW"))}
        END""",
    ]


def _postgres_functions() -> list[str]:
    counters = _counters("p_sign", "p_label", "p_low", "p_seconds", "p_distance")
    day = _day("p_decided_at", True)
    band = _band("p_confidence", True)
    cols = ", ".join(KEY + COUNTERS)
    values_a = ", ".join(["'a'", day, "p_category", "coalesce(p_model, '')", "p_risk", band, "''"]
                         + counters)
    values_r = ", ".join(["'r'", day, "p_category", "''", "''", "-2", "p_reviewer"] + counters)
    apply = f"""
    CREATE FUNCTION decision_rollup_apply(
        p_sign integer, p_decided_at timestamptz, p_category text, p_model text, p_risk text,
        p_confidence double precision, p_reviewer text, p_label text, p_low boolean,
        p_seconds double precision, p_distance double precision) RETURNS void LANGUAGE sql AS $$
        INSERT INTO decision_rollup ({cols}) VALUES ({values_a}), ({values_r})
        {_UPSERT}
    $$"""
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in TRIGGER_COLUMNS)
    statement_functions = [
        _statement_function("decision_rollup_on_insert", "SELECT 1 AS sign, * FROM new_rows"),
        _statement_function("decision_rollup_on_delete", "SELECT -1 AS sign, * FROM old_rows"),
        _statement_function(
            "decision_rollup_on_update",
            f"""SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE {changed}
                UNION ALL
                SELECT 1 AS sign, n.* FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE {changed}""",
        ),
    ]
    on_draft = """
    CREATE FUNCTION decision_rollup_on_draft() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT OLD.is_gold THEN
            PERFORM decision_rollup_apply(-1, dec.decided_at, OLD.category, OLD.model, OLD.risk,
                OLD.confidence, dec.reviewer, dec.label, dec.low_attention, dec.review_seconds,
                dec.edit_distance)
            FROM decision dec WHERE dec.draft_id = OLD.id AND dec.undone_at IS NULL;
        END IF;
        IF NOT NEW.is_gold THEN
            PERFORM decision_rollup_apply(1, dec.decided_at, NEW.category, NEW.model, NEW.risk,
                NEW.confidence, dec.reviewer, dec.label, dec.low_attention, dec.review_seconds,
                dec.edit_distance)
            FROM decision dec WHERE dec.draft_id = NEW.id AND dec.undone_at IS NULL;
        END IF;
        RETURN NULL;
    END $$"""
    draft_changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in DRAFT_COLUMNS)
    return [
        apply,
        *statement_functions,
        on_draft,
        # Statement triggers with transition tables: one grouped upsert per statement, so a
        # bulk load (COPY, INSERT ... SELECT) costs one aggregation, not a call per row.
        """CREATE TRIGGER tr_decision_rollup_insert AFTER INSERT ON decision
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION decision_rollup_on_insert()""",
        """CREATE TRIGGER tr_decision_rollup_delete AFTER DELETE ON decision
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION decision_rollup_on_delete()""",
        # Acks and resolutions change no counted column: the update function finds no changed
        # row and writes nothing.
        """CREATE TRIGGER tr_decision_rollup_update AFTER UPDATE ON decision
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION decision_rollup_on_update()""",
        # Claims and renewals never touch these columns, so they stay HOT updates.
        f"""CREATE TRIGGER tr_draft_rollup_update AFTER UPDATE ON draft
        FOR EACH ROW WHEN ({draft_changed}) EXECUTE FUNCTION decision_rollup_on_draft()""",
    ]


def _grouped(source: str, sign: str) -> str:
    """INSERT ... SELECT of both grains' grouped counts from ``source`` rows (alias dec)."""
    counters = _counters(sign, "dec.label", "dec.low_attention", "dec.review_seconds",
                         "dec.edit_distance")
    sums = [f"sum({c})" for c in counters]
    postgres = True
    day = _day("dec.decided_at", postgres)
    band = _band("d.confidence", postgres)
    where = "WHERE dec.undone_at IS NULL AND NOT d.is_gold"
    a = ["'a'", day, "d.category", "coalesce(d.model, '')", "d.risk", band, "''"]
    r = ["'r'", day, "d.category", "''", "''", "-2", "dec.reviewer"]
    group = ", ".join(str(i + 1) for i in range(len(KEY)))
    selects = [
        f"SELECT {', '.join(k + sums)} FROM ({source}) dec JOIN draft d ON d.id = dec.draft_id "
        f"{where} GROUP BY {group}"
        for k in (a, r)
    ]
    return f"INSERT INTO decision_rollup ({', '.join(KEY + COUNTERS)}) " + " UNION ALL ".join(
        selects
    )


def _statement_function(name: str, source: str) -> str:
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_grouped(source, "dec.sign")}
        {_UPSERT};
        RETURN NULL;
    END $$"""


def _backfill(postgres: bool) -> str:
    counters = _counters("1", "dec.label", "dec.low_attention", "dec.review_seconds",
                         "dec.edit_distance")
    sums = [f"sum({c})" for c in counters]
    day = _day("dec.decided_at", postgres)
    band = _band("d.confidence", postgres)
    source = ("FROM decision dec JOIN draft d ON d.id = dec.draft_id "
              "WHERE dec.undone_at IS NULL AND NOT d.is_gold")
    cols = ", ".join(KEY + COUNTERS)
    a = [f"'a'", day, "d.category", "coalesce(d.model, '')", "d.risk", band, "''"]
    r = ["'r'", day, "d.category", "''", "''", "-2", "dec.reviewer"]
    return "\n".join(
        f"INSERT INTO decision_rollup ({cols}) SELECT {', '.join(k + sums)} {source} "
        f"GROUP BY {', '.join(str(i + 1) for i in range(len(KEY)))};"
        for k in (a, r)
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # Plain ADD COLUMNs (no batch rebuild): nullable columns without defaults are cheap on both
    # engines, even on a decision table with millions of rows.
    # send_as_is | send_edited | reject | dismiss, set once by the lead who resolves it.
    op.add_column("decision", sa.Column("resolution", sa.String(12)))
    # The text to send: the draft for send_as_is, the lead's text for send_edited.
    op.add_column("decision", sa.Column("resolution_text", sa.Text))
    op.add_column("decision", sa.Column("resolution_note", sa.Text))
    op.add_column("decision", sa.Column("resolved_by", sa.String(200)))
    op.add_column("decision", sa.Column("resolved_at", Ts))

    # The rare labels, read by statistics and the inbox without touching the other decisions.
    live = "undone_at IS NULL"
    for name, label, columns in (
        ("ix_decision_edits", "edited", ["decided_at", "draft_id", "reviewer", "edit_distance"]),
        ("ix_decision_rejections", "rejected", ["decided_at", "draft_id", "reviewer", "reason"]),
        (
            "ix_decision_escalations",
            "escalated",
            ["decided_at", "draft_id", "reviewer", "severity", "resolved_at"],
        ),
    ):
        where = sa.text(f"label = '{label}' AND {live}")
        op.create_index(name, "decision", columns, postgresql_where=where, sqlite_where=where)

    # What statistics read of a draft, narrow: the rare-label counts look drafts up by id, and
    # on PostgreSQL this makes those lookups index-only (measured: docs/benchmarks.md). None of
    # these columns changes on a claim, so claims stay HOT updates.
    op.create_index(
        "ix_draft_stats", "draft", ["id", "is_gold", "category", "model", "confidence", "risk"]
    )

    op.create_table(
        "decision_rollup",
        # a: day x category x model x risk x confidence bucket; r: day x reviewer x category.
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),  # UTC, YYYY-MM-DD
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),  # '' none (a) or any (r)
        sa.Column("risk", sa.String(10), nullable=False),  # '' any (r)
        sa.Column("band", sa.Integer, nullable=False),  # 5% bucket 0..19, -1 unknown, -2 any
        sa.Column("reviewer", sa.String(200), nullable=False),  # '' any (a)
        *[
            sa.Column(c, sa.Float if c == "edit_distance_sum" else sa.Integer, nullable=False,
                      server_default="0")
            for c in COUNTERS
        ],
        sa.PrimaryKeyConstraint(*KEY, name="pk_decision_rollup"),
        # Clustered by its key on SQLite: a grain's days are one range scan, no row lookups.
        sqlite_with_rowid=False,
    )
    for statement in _backfill(postgres).split(";\n"):
        op.execute(statement.rstrip(";"))
    if postgres:
        op.execute("ANALYZE decision_rollup")
    for statement in _postgres_functions() if postgres else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for trigger, table in (
        ("tr_draft_rollup_update", "draft"),
        ("tr_decision_rollup_update", "decision"),
        ("tr_decision_rollup_insert", "decision"),
        ("tr_decision_rollup_delete", "decision"),
    ):
        op.execute(
            f"DROP TRIGGER IF EXISTS {trigger} ON {table}"
            if postgres
            else f"DROP TRIGGER IF EXISTS {trigger}"
        )
    if postgres:
        for function in (
            "decision_rollup_on_draft()",
            "decision_rollup_on_insert()",
            "decision_rollup_on_update()",
            "decision_rollup_on_delete()",
            "decision_rollup_apply(integer, timestamptz, text, text, text, double precision, "
            "text, text, boolean, double precision, double precision)",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_table("decision_rollup")
    op.drop_index("ix_draft_stats", "draft")
    for name in ("ix_decision_escalations", "ix_decision_rejections", "ix_decision_edits"):
        op.drop_index(name, "decision")
    for column in ("resolved_at", "resolved_by", "resolution_note", "resolution_text", "resolution"):
        op.drop_column("decision", column)
