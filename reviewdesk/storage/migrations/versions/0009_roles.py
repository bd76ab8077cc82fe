"""Identities and roles: canonical names, and on PostgreSQL the rules in the database.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Both engines: every stored person's name takes its canonical form (core/identity.py), so that
"Ana" and "ana " are one person. Where two spellings of one person each have an open review
session, the older is ended ("merged"); the statistics rollup follows the decisions' names
through its triggers (the emptied rows of old spellings are deleted). ``draft.submitted_by`` records the producer that submitted a draft.

PostgreSQL: the group roles, grants, row-level security and rules of
reviewdesk/storage/security_sql.py (docs/security.md). Upgrading needs a login that may create
roles. Both engines get the refusal log and the installation's record of its role prefix and
owner (empty on SQLite), so that the schema is one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reviewdesk.core.identity import canonical_name
from reviewdesk.storage import security_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Ts = sa.DateTime(timezone=True)

# (table, column) holding a person's name.
NAME_COLUMNS = (
    ("decision", "reviewer"),
    ("decision", "resolved_by"),
    ("decision_attempt", "reviewer"),
    ("draft", "lease_owner"),
    ("draft_event", "actor"),
    ("gold_item", "created_by"),
    ("gold_serve", "reviewer"),
    ("gold_answer", "reviewer"),
    ("review_session", "reviewer"),
)


def canonicalize_names(conn: sa.Connection) -> dict[str, str]:
    """Rewrite every stored name to its canonical form; returns {old: new} of those changed."""
    changed: dict[str, str] = {}
    for table, col in NAME_COLUMNS:
        names = conn.execute(sa.text(f"SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL"))
        for (name,) in names.all():
            if canonical_name(name) != name:
                changed[name] = canonical_name(name)
    # One open session per person: of several spellings' open sessions, the newest stays open.
    for new in set(changed.values()):
        spellings = [old for old, to in changed.items() if to == new] + [new]
        open_ids = conn.execute(
            sa.text(
                "SELECT id FROM review_session WHERE ended_at IS NULL AND reviewer IN :names "
                "ORDER BY started_at DESC, id DESC"
            ).bindparams(sa.bindparam("names", expanding=True)),
            {"names": spellings},
        ).scalars().all()
        for session_id in open_ids[1:]:
            conn.execute(
                sa.text(
                    "UPDATE review_session SET ended_at = last_activity_at, end_reason = 'merged' "
                    "WHERE id = :id"
                ),
                {"id": session_id},
            )
    for table, col in NAME_COLUMNS:
        for old, new in changed.items():
            conn.execute(
                sa.text(f"UPDATE {table} SET {col} = :new WHERE {col} = :old"),
                {"new": new, "old": old},
            )
    # The rollup's triggers moved each decision's counts to the new name; the old name's rows
    # are left at zero.
    for old in changed:
        conn.execute(
            sa.text("DELETE FROM decision_rollup WHERE reviewer = :old AND n = 0"), {"old": old}
        )
    return changed


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("draft", sa.Column("submitted_by", sa.String(200)))
    canonicalize_names(conn)
    # Both tables exist on SQLite too (the schema is one), where nothing writes them.
    op.create_table(
        "refusal",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("detail", sa.String(500)),
        sa.Column("at", Ts, nullable=False),
    )
    op.create_table(
        security_sql.INSTALLATION_TABLE,
        sa.Column("role_prefix", sa.String(63), primary_key=True),
        sa.Column("owner_role", sa.String(63), nullable=False),
    )
    if conn.dialect.name == "postgresql":
        security_sql.install(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        security_sql.uninstall(conn)
    op.drop_table(security_sql.INSTALLATION_TABLE)
    op.drop_table("refusal")
    op.drop_column("draft", "submitted_by")
