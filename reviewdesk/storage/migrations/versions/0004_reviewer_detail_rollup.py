"""Rollup grains for the reviewer with model and confidence band, by day, week and month.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Grains ``a`` and ``r`` (migration 0003) cannot answer the reviewer with the model or the
confidence band, so those statistics scanned every decision (10.5 s on SQLite over 1,000,000,
docs/benchmarks.md). The grain that answers every grouping and filter, reviewer x category x
model x confidence band, is sparse per day: on the benchmark's data it has 654,214 rows for
1,000,000 decisions (778,850 with 5% buckets instead of bands), and SQLite sums such rows at
about 2 microseconds each. So it is kept at three periods (and by week once more without the
category), and a statistic adds up whole months and whole weeks where they fit and days only
at the edges of its period:

- ``d``: day x reviewer x category x model x band (days at the edges; grouping by day);
- ``w``: ISO week (its Monday) x the same (whole weeks; grouping by week);
- ``m``: calendar month (its first day) x the same (whole months);
- ``x``: ISO week x reviewer x model x band, all categories (``category`` ''): whole weeks of
  a statistic that uses no category, 22,493 rows on the same data against 213,125 of ``w``.

``band`` holds the first 5% bucket of the confidence band (0, 10, 14, 16, 18, 19; -1 unknown),
so the bands of reviewdesk/services/stats.py read these rows as they read grain ``a``'s buckets.
This migration changes no column: it replaces the trigger bodies so that every decision also
counts in the four new grains, and backfills them from the decisions already recorded, in the
same transaction (PostgreSQL: with writers to draft and decision held off meanwhile).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# As in migration 0003 (and reviewdesk/services/stats.py): review-time histogram edges in
# seconds, the trivial-edit distance the rollup counts at.
EDGES = (2, 4, 6, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
BUCKETS = len(EDGES) + 1
HIST = [f"h{i}" for i in range(BUCKETS)]
TRIVIAL_AT = 0.02
COUNTERS = ["n", "approved", "edited", "trivial", "edit_distance_sum", "low_attention", *HIST]
KEY = ["grain", "day", "category", "model", "risk", "band", "reviewer"]
TRIGGER_COLUMNS = ("undone_at", "low_attention", "review_seconds", "label", "decided_at",
                   "reviewer", "draft_id", "edit_distance")
DRAFT_COLUMNS = ("is_gold", "category", "model", "confidence", "risk")
# The first 5% bucket of each confidence band, lowest first (reviewdesk/services/stats.py BANDS).
BAND_FIRSTS = (0, 10, 14, 16, 18, 19)

GRAINS_0003 = ("a", "r")
GRAINS = ("a", "r", "d", "w", "m", "x")
NEW_GRAINS = ("d", "w", "m", "x")


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


def _bucket(confidence: str, postgres: bool) -> str:
    # 5% confidence buckets 0..19; -1 unknown. CAST truncates on SQLite; PostgreSQL rounds.
    whole = f"floor({confidence} * 20)" if postgres else f"{confidence} * 20"
    return (
        f"CASE WHEN {confidence} IS NULL THEN -1 WHEN {confidence} >= 1 THEN 19 "
        f"ELSE CAST({whole} AS INTEGER) END"
    )


def _band_first(confidence: str, postgres: bool) -> str:
    # From the bucket, not from the confidence, so that a value on a band's edge lands in the
    # same band as in grain a and in the statistics' own bucket expression.
    bucket = _bucket(confidence, postgres)
    parts = " ".join(
        f"WHEN ({bucket}) < {nxt} THEN {first}"
        for first, nxt in zip(BAND_FIRSTS, (*BAND_FIRSTS[1:], 20))
    )
    return f"CASE WHEN ({bucket}) < 0 THEN -1 {parts} END"


def _day(at: str, postgres: bool) -> str:
    if postgres:
        return f"to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({at}, 1, 10)"


def _week(at: str, postgres: bool) -> str:
    # The Monday of the ISO week, as the statistics' week grouping writes it.
    if postgres:
        return f"to_char(date_trunc('week', {at} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
    return f"date(substr({at}, 1, 10), 'weekday 0', '-6 days')"


def _month(at: str, postgres: bool) -> str:
    if postgres:
        return f"to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM') || '-01'"
    return f"substr({at}, 1, 7) || '-01'"


def _keys(grain: str, *, at: str, category: str, model: str, risk: str, confidence: str,
          reviewer: str, postgres: bool) -> list[str]:
    """The key of ``grain`` for one decision, as SQL expressions in KEY order."""
    model = f"coalesce({model}, '')"
    if grain == "a":
        return ["'a'", _day(at, postgres), category, model, risk, _bucket(confidence, postgres),
                "''"]
    if grain == "r":
        return ["'r'", _day(at, postgres), category, "''", "''", "-2", reviewer]
    period = {"d": _day, "w": _week, "m": _month, "x": _week}[grain](at, postgres)
    return [f"'{grain}'", period, "''" if grain == "x" else category, model, "''",
            _band_first(confidence, postgres), reviewer]


_UPSERT = (
    "ON CONFLICT ({key}) DO UPDATE SET "
    + ", ".join(f"{c} = decision_rollup.{c} + excluded.{c}" for c in COUNTERS)
).format(key=", ".join(KEY))


# -- SQLite: row triggers -------------------------------------------------------------------------
def _sqlite_apply(dec: str, drf: str, sign: str, source: str, grains: tuple[str, ...]) -> str:
    """One upsert per grain for the decision ``dec`` of draft ``drf``, from ``source``."""
    counters = _counters(sign, f"{dec}.label", f"{dec}.low_attention", f"{dec}.review_seconds",
                         f"{dec}.edit_distance")
    cols = ", ".join(KEY + COUNTERS)
    statements = []
    for grain in grains:
        keys = _keys(grain, at=f"{dec}.decided_at", category=f"{drf}.category",
                     model=f"{drf}.model", risk=f"{drf}.risk", confidence=f"{drf}.confidence",
                     reviewer=f"{dec}.reviewer", postgres=False)
        statements.append(
            f"INSERT INTO decision_rollup ({cols}) SELECT {', '.join(keys + counters)} {source} "
            f"{_UPSERT};"
        )
    return "\n".join(statements)


SQLITE_TRIGGERS = (
    "tr_decision_rollup_insert",
    "tr_decision_rollup_update",
    "tr_decision_rollup_delete",
    "tr_draft_rollup_update",
)


def _sqlite_triggers(grains: tuple[str, ...]) -> list[str]:
    live_new = "NEW.undone_at IS NULL"
    live_old = "OLD.undone_at IS NULL"
    # Every source has a WHERE: SQLite needs one before ON CONFLICT in INSERT ... SELECT.
    draft_of = "FROM draft d WHERE d.id = {x}.draft_id AND NOT d.is_gold"
    decisions_of = (
        "FROM decision dec WHERE dec.draft_id = {x}.id AND dec.undone_at IS NULL AND NOT {x}.is_gold"
    )
    return [
        f"""CREATE TRIGGER tr_decision_rollup_insert AFTER INSERT ON decision WHEN {live_new}
        BEGIN {_sqlite_apply("NEW", "d", "1", draft_of.format(x="NEW"), grains)} END""",
        # The undo path: undone_at set takes the decision out of every grain; its replacement
        # is an insert.
        f"""CREATE TRIGGER tr_decision_rollup_update
        AFTER UPDATE OF {", ".join(TRIGGER_COLUMNS)} ON decision
        BEGIN
        {_sqlite_apply("OLD", "d", "-1", draft_of.format(x="OLD") + f" AND {live_old}", grains)}
        {_sqlite_apply("NEW", "d", "1", draft_of.format(x="NEW") + f" AND {live_new}", grains)}
        END""",
        f"""CREATE TRIGGER tr_decision_rollup_delete AFTER DELETE ON decision WHEN {live_old}
        BEGIN {_sqlite_apply("OLD", "d", "-1", draft_of.format(x="OLD"), grains)} END""",
        # A draft that becomes gold (or changes what is counted of it) moves its decisions.
        f"""CREATE TRIGGER tr_draft_rollup_update AFTER UPDATE OF {", ".join(DRAFT_COLUMNS)} ON draft
        BEGIN
        {_sqlite_apply("dec", "OLD", "-1", decisions_of.format(x="OLD"), grains)}
        {_sqlite_apply("dec", "NEW", "1", decisions_of.format(x="NEW"), grains)}
        END""",
    ]


# -- PostgreSQL: the trigger functions (the triggers of migration 0003 call them by name) --------
def _postgres_functions(grains: tuple[str, ...]) -> list[str]:
    counters = _counters("p_sign", "p_label", "p_low", "p_seconds", "p_distance")
    cols = ", ".join(KEY + COUNTERS)
    values = ", ".join(
        "({})".format(", ".join(
            _keys(g, at="p_decided_at", category="p_category", model="p_model", risk="p_risk",
                  confidence="p_confidence", reviewer="p_reviewer", postgres=True)
            + counters
        ))
        for g in grains
    )
    apply = f"""
    CREATE OR REPLACE FUNCTION decision_rollup_apply(
        p_sign integer, p_decided_at timestamptz, p_category text, p_model text, p_risk text,
        p_confidence double precision, p_reviewer text, p_label text, p_low boolean,
        p_seconds double precision, p_distance double precision) RETURNS void LANGUAGE sql AS $$
        INSERT INTO decision_rollup ({cols}) VALUES {values}
        {_UPSERT}
    $$"""
    changed = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in TRIGGER_COLUMNS)
    return [
        apply,
        _statement_function("decision_rollup_on_insert", "SELECT 1 AS sign, * FROM new_rows",
                            grains),
        _statement_function("decision_rollup_on_delete", "SELECT -1 AS sign, * FROM old_rows",
                            grains),
        # Acks and a lead's resolutions change no counted column: no row, nothing written.
        _statement_function(
            "decision_rollup_on_update",
            f"""SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE {changed}
                UNION ALL
                SELECT 1 AS sign, n.* FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE {changed}""",
            grains,
        ),
        # decision_rollup_on_draft (migration 0003) calls decision_rollup_apply: unchanged.
    ]


def _statement_function(name: str, source: str, grains: tuple[str, ...]) -> str:
    """One grouped upsert of every grain per statement, from its transition table."""
    return f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_grouped_upsert(source, grains)};
        RETURN NULL;
    END $$"""


def _grouped_upsert(source: str, grains: tuple[str, ...]) -> str:
    """The upsert of every grain's grouped counts from ``source`` (signed decision rows)."""
    counters = _counters("s.sign", "s.label", "s.low_attention", "s.review_seconds",
                         "s.edit_distance")
    sums = [f"sum({c})" for c in counters]
    group = ", ".join(str(i + 1) for i in range(len(KEY)))
    selects = " UNION ALL ".join(
        "SELECT {} FROM src s GROUP BY {}".format(
            ", ".join(
                _keys(g, at="s.decided_at", category="s.category", model="s.model",
                      risk="s.risk", confidence="s.confidence", reviewer="s.reviewer",
                      postgres=True)
                + sums
            ),
            group,
        )
        for g in grains
    )
    return f"""WITH src AS MATERIALIZED (
            SELECT dec.sign, dec.decided_at, dec.reviewer, dec.label, dec.low_attention,
                dec.review_seconds, dec.edit_distance, d.category, d.model, d.risk,
                d.confidence
            FROM ({source}) dec JOIN draft d ON d.id = dec.draft_id
            WHERE dec.undone_at IS NULL AND NOT d.is_gold)
        INSERT INTO decision_rollup ({", ".join(KEY + COUNTERS)}) {selects}
        {_UPSERT}"""


# -- backfill -------------------------------------------------------------------------------------
def _backfill(postgres: bool) -> list[str]:
    """Grain d from the live, non-gold decisions in one pass; w, m and x summed from d's rows."""
    counters = _counters("1", "dec.label", "dec.low_attention", "dec.review_seconds",
                         "dec.edit_distance")
    cols = ", ".join(KEY + COUNTERS)
    group = ", ".join(str(i + 1) for i in range(len(KEY)))
    keys = _keys("d", at="dec.decided_at", category="d.category", model="d.model", risk="d.risk",
                 confidence="d.confidence", reviewer="dec.reviewer", postgres=postgres)
    day = f"""INSERT INTO decision_rollup ({cols})
        SELECT {", ".join(keys + [f"sum({c})" for c in counters])}
        FROM decision dec JOIN draft d ON d.id = dec.draft_id
        WHERE dec.undone_at IS NULL AND NOT d.is_gold GROUP BY {group}"""
    # Days are UTC dates as text (YYYY-MM-DD): the week and month they fall in.
    as_date = "CAST(r.day AS date)" if postgres else "r.day"
    week = (f"to_char(date_trunc('week', {as_date}), 'YYYY-MM-DD')" if postgres
            else f"date({as_date}, 'weekday 0', '-6 days')")
    month = "substr(r.day, 1, 7) || '-01'"
    sums = ", ".join(f"sum(r.{c})" for c in COUNTERS)
    rollups = [
        f"""INSERT INTO decision_rollup ({cols})
        SELECT '{grain}', {period}, {category}, r.model, r.risk, r.band, r.reviewer, {sums}
        FROM decision_rollup r WHERE r.grain = 'd' GROUP BY {group}"""
        for grain, period, category in (
            ("w", week, "r.category"), ("m", month, "r.category"), ("x", week, "''")
        )
    ]
    return [day, *rollups]


def _replace_triggers(postgres: bool, grains: tuple[str, ...]) -> None:
    if postgres:
        for statement in _postgres_functions(grains):
            op.execute(statement)
        return
    for trigger in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in _sqlite_triggers(grains):
        op.execute(statement)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # No decision may be counted by the old triggers after the backfill has read the
        # decisions: writers wait until this transaction commits. (SQLite: the migration runs
        # in a BEGIN IMMEDIATE transaction, which already holds them off.)
        op.execute("LOCK TABLE draft, decision IN SHARE ROW EXCLUSIVE MODE")
    _replace_triggers(postgres, GRAINS)
    op.execute(f"DELETE FROM decision_rollup WHERE grain IN {NEW_GRAINS!r}")
    for statement in _backfill(postgres):
        op.execute(statement)
    if postgres:
        op.execute("ANALYZE decision_rollup")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("LOCK TABLE draft, decision IN SHARE ROW EXCLUSIVE MODE")
    _replace_triggers(postgres, GRAINS_0003)
    op.execute(f"DELETE FROM decision_rollup WHERE grain IN {NEW_GRAINS!r}")
