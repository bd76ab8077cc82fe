"""PostgreSQL: the session limits hold on the server.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05

``rd_claim`` and ``rd_serve_gold`` took the session fence's bounds (the claims a session may
still make, its time cap, the idle cutoff) from the caller, and whether a break was due or the
day's sessions or reviews were used up was decided by the desk alone: a login calling the
functions by plain SQL was held to no cap. Now both fence on the team's limits as stored in the
``setting`` table (queue_common.session_open, the statement SQLite's claim runs too), so their
signatures lose the three bounds and the old functions are dropped; ``rd_start_session``
refuses a session during a break or past a daily cap (session_sql.START_BLOCKER), and says until
when in a new result column, so it is dropped and created again. SQLite: nothing to do (its
claim reads the same setting from this version on).

Downgrade: the functions as 0018 had them.
"""

from __future__ import annotations

from alembic import op

from reviewdesk.storage import definer_sql, security_sql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        definer_sql.install(conn, security_sql.installation(conn))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        definer_sql.install(conn, security_sql.installation(conn), server_limits=False)
