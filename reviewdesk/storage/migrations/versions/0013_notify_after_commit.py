"""PostgreSQL: change notifications leave the writing transaction.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Migration 0011's triggers called ``pg_notify`` in the transaction of each change. PostgreSQL
serializes the commits of transactions that NOTIFY (a lock held from before the commit through
the flush of its commit record), so eight reviewers' claims and decisions stopped sharing disk
flushes and their throughput fell by about 60% (docs/benchmarks.md). The same triggers, on the
same changes and with the same payload (``table:id,id``, at most 50 ids, ``+`` for more), now
raise a NOTICE instead (SQLSTATE ``RD001``, message: the payload, detail: the channel). A notice
travels to the client with the reply to the statement that made the change and takes no lock;
ReviewDesk's storage layer sends the notifications after the commit, in a transaction of their
own (reviewdesk/storage/announce.py). The functions get a pinned search_path, as every trigger
function of migration 0009 has. SQLite: nothing to do.

Downgrade: 0011's functions again (NOTIFY in the writing transaction).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

from reviewdesk.storage import security_sql
from reviewdesk.storage.announce import NOTICE_SQLSTATE

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _alerts_migration() -> ModuleType:
    """Migration 0011, whose functions the downgrade restores and whose id limit is kept."""
    path = Path(__file__).with_name("0011_alerts.py")
    spec = importlib.util.spec_from_file_location("reviewdesk_migration_0011", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _functions(schema: str, max_ids: int) -> list[str]:
    path = f"SET search_path = pg_catalog, {security_sql.quote(schema)}, pg_temp"
    announce = (
        f"RAISE NOTICE USING ERRCODE = '{NOTICE_SQLSTATE}', MESSAGE = {{payload}}, "
        "DETAIL = 'reviewdesk.' || TG_TABLE_SCHEMA;"
    )
    return [
        f"""
CREATE OR REPLACE FUNCTION reviewdesk_notify() RETURNS trigger LANGUAGE plpgsql {path} AS $$
DECLARE
    ids text;
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        ids := NEW.id::text;
    ELSE
        SELECT string_agg(id::text, ',' ORDER BY id)
               || CASE WHEN count(*) > {max_ids} THEN ',+' ELSE '' END
          INTO ids
          FROM (SELECT id FROM changed ORDER BY id LIMIT {max_ids + 1}) AS firsts;
        IF ids IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    {announce.format(payload="TG_TABLE_NAME || ':' || ids")}
    RETURN NULL;
END
$$
""",
        f"""
CREATE OR REPLACE FUNCTION reviewdesk_notify_setting() RETURNS trigger LANGUAGE plpgsql {path}
AS $$
BEGIN
    {announce.format(payload="'setting:' || NEW.key")}
    RETURN NULL;
END
$$
""",
    ]


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    for function in _functions(schema, _alerts_migration().MAX_IDS):
        op.execute(function)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    before = _alerts_migration()
    for function in (before._FUNCTION, before._SETTING_FUNCTION):
        op.execute(function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
