"""PostgreSQL: the queue's counts for reviewers, through a SECURITY DEFINER function.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

Since 0014 a reviewer's row-level security shows no waiting draft, so their desk counted 0
waiting. ``rd_queue_counts`` returns the counts only (no draft), to reviewers and leads. The
functions are installed again (``CREATE OR REPLACE``), as docs/security.md says a changed
function needs. SQLite: nothing to do.

Downgrade: the function dropped.
"""

from __future__ import annotations

from alembic import op

from reviewdesk.storage import definer_sql, security_sql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # rd_decide as it was before 0017 counted decisions in it, the claim before 0019 fenced
        # on the stored limits, and no rd_submit before 0018 routed in the database.
        definer_sql.install(
            conn,
            security_sql.installation(conn),
            counting=False,
            server_limits=False,
            routing=False,
        )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS rd_queue_counts(timestamptz)")
