"""What every read-side store shares: a read-only connection, and the time it reads by."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, text

from reviewdesk.core.clock import Clock
from reviewdesk.storage.engine import READ_ONLY, Engines


def read_connection(engines: Engines, *, snapshot: bool = False) -> Connection:
    """A read-only connection (SQLite: a plain ``BEGIN``, which never blocks the writer). With
    ``snapshot``, all its statements see one snapshot, so that the counts of one report agree
    with each other (SQLite: one read transaction; PostgreSQL: repeatable read)."""
    conn = engines.write.connect().execution_options(**{READ_ONLY: True})
    if snapshot and engines.target.dialect == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def database_now(conn: Connection, clock: Clock | None) -> datetime:
    """The injected clock's time, or (None) the database's ``now()`` in UTC."""
    if clock is not None:
        return clock.now()
    value = conn.execute(text("SELECT now()")).scalar_one()
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


def read_now(engines: Engines, clock: Clock | None) -> datetime:
    """``database_now`` on a short read of its own."""
    if clock is not None:
        return clock.now()
    with read_connection(engines) as conn:
        return database_now(conn, clock)
