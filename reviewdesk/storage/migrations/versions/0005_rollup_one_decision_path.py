"""The statistics rollup's insert trigger takes a short path for a one-decision statement.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Every decision the queue records is a one-row INSERT, and on PostgreSQL the rollup's statement
trigger (migrations 0003 and 0004) ran its general shape for it: six grouped aggregates over the
transition table, unioned into one upsert. That cost the server about 0.3 ms per decision, a
third of the decide statement's own work (docs/benchmarks.md). For a one-row statement the
trigger now reads that row and upserts its six grain rows from a VALUES list, a plan PL/pgSQL
keeps between calls. Statements of many rows (COPY, INSERT ... SELECT) keep the grouped path.
The counts written are the same; nothing is backfilled.

SQLite's rollup triggers are row triggers already: nothing changes there.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _revision_0004() -> ModuleType:
    # The grain keys and counters are 0004's, which is frozen like every released migration.
    path = Path(__file__).with_name("0004_reviewer_detail_rollup.py")
    spec = importlib.util.spec_from_file_location("reviewdesk_migration_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_NEW_ROWS = "SELECT 1 AS sign, * FROM new_rows"


def _on_insert(m: ModuleType) -> str:
    counters = m._counters("1", "r.label", "r.low_attention", "r.review_seconds",
                           "r.edit_distance")
    values = ", ".join(
        "({})".format(", ".join(
            m._keys(g, at="r.decided_at", category="r.category", model="r.model", risk="r.risk",
                    confidence="r.confidence", reviewer="r.reviewer", postgres=True)
            + counters
        ))
        for g in m.GRAINS
    )
    return f"""
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
                INSERT INTO decision_rollup ({", ".join(m.KEY + m.COUNTERS)}) VALUES {values}
                {m._UPSERT};
            END IF;
        ELSIF statement_rows > 1 THEN
            {m._grouped_upsert(_NEW_ROWS, m.GRAINS)};
        END IF;
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_on_insert(_revision_0004()))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        m = _revision_0004()
        op.execute(m._statement_function("decision_rollup_on_insert", _NEW_ROWS, m.GRAINS))
