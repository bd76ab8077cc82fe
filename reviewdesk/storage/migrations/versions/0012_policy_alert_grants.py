"""Grants for the review policies' and alerts' tables on PostgreSQL.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Migrations 0010 (policies) and 0011 (alerts) add tables that, under the rules of 0009, nobody but
the owner could use. This grants each group what its desk needs (security_sql.LATER_ACCESS;
docs/security.md). SQLite: nothing to do.
"""

from __future__ import annotations

from alembic import op

from reviewdesk.storage import security_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        security_sql.install_later_tables(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        security_sql.uninstall_later_tables(conn)
