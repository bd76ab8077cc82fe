"""PostgreSQL: a new review session counts the reviewer's reviews of the day on the server.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

Until now ``rd_start_session`` recorded the day's count of reviews (``day_reviews_before``,
which bounds the session's claims under the daily cap) as the caller passed it, so a reviewer's
login could start a session claiming none. The function now counts them itself, with the
storage layer's statement (session_sql.DAY_COUNTS), and refuses a day start that does not lie
within the longest review day (25 hours) before the server's now. Its signature loses the count,
so the old function is dropped and the functions are installed again. SQLite: nothing to do
(the count is taken in the same statement that opens the session).

Downgrade: the function as 0014 made it again.
"""

from __future__ import annotations

from alembic import op

from reviewdesk.storage import definer_sql, security_sql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# rd_start_session as migrations 0014 and 0015 installed it: the caller's count.
_START_SESSION_0014 = definer_sql.Definer(
    "rd_start_session",
    "reviewer",
    "Starting a review session",
    ("reviewer", "day_start", "day_reviews_before", "now"),
    (("refused", "text"), ("started", "boolean")),
    """INSERT INTO review_session (reviewer, started_at, last_activity_at, day_start,
                                day_reviews_before)
    VALUES (p_reviewer, v_now, v_now, p_day_start, p_day_reviews_before)
    ON CONFLICT DO NOTHING;
    RETURN QUERY SELECT NULL::text, FOUND;""",
)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # Drops the old one first; rd_decide as it was before 0017 counted decisions in it, the
        # claim before 0019 fenced on the stored limits, no rd_submit before 0018.
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
        current = definer_sql.calls()["rd_start_session"]
        op.execute(f"DROP FUNCTION IF EXISTS {current.signature}")
        definer_sql.install_one(conn, security_sql.installation(conn), _START_SESSION_0014)
