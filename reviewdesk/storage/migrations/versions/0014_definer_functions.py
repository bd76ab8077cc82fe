"""PostgreSQL: the queue's state changes through SECURITY DEFINER functions.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

Claims, renewals, releases, decisions, undo, low-attention flags, review sessions, gold serves
and answers, and escalation resolutions go through functions that run as the schema's owner
with a pinned search_path, check the login (its group, and that the person it acts for is
itself), record ``session_user`` as the actor and log a refused call
(reviewdesk/storage/definer_sql.py). The groups lose the direct INSERT and UPDATE rights those
functions replace, and a reviewer reads only the drafts they hold, decided or are served, with
their threads' history, and the gold items they have answered (security_sql.DEFINER_REVOKED,
DEFINER_POLICIES; docs/security.md). An ``expired`` audit event comes only from inside a
function. The function bodies are rendered from the storage layer's statements at upgrade
time. SQLite: nothing to do.

Downgrade: the functions dropped, 0009's grants, policies and audit-trail rule again.
"""

from __future__ import annotations

from alembic import op

from reviewdesk.storage import definer_sql, security_sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        inst = security_sql.installation(conn)
        # rd_decide as it was before 0017 counted decisions in it, the claim before 0019 fenced
        # on the stored limits, and no rd_submit before 0018 routed in the database.
        definer_sql.install(conn, inst, counting=False, server_limits=False, routing=False)
        security_sql.close_direct_writes(conn, inst)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        inst = security_sql.installation(conn)
        security_sql.reopen_direct_writes(conn, inst)
        definer_sql.uninstall(conn, inst)
