"""Telling listeners of a change after it commits (PostgreSQL).

The triggers of migration 0013 raise a NOTICE (SQLSTATE ``RD001``; message: the payload, detail:
the channel) for each change a desk or a consumer shows, instead of calling ``pg_notify`` in the
writing transaction: PostgreSQL serializes the commits of transactions that NOTIFY, through the
flush of each commit to disk, which cost eight reviewers about 60% of their claim+decide
throughput (docs/benchmarks.md). A notice comes back with the reply to the statement that made
the change; this module collects them per connection and sends them as notifications once the
change is committed:

- a statement in autocommit (claims, decisions: queue_pg) is committed when its reply arrives,
  so its notices are sent right after it, on the same connection;
- a transaction's notices are sent after its commit (when the connection goes back to the pool
  or begins its next transaction), and dropped by a rollback.

The notifications go out in a transaction of their own with ``synchronous_commit`` off: it
changes no data, so its commit need not wait for the disk, and it holds PostgreSQL's notify lock
only for an instant. Identical payloads of one transaction go out once (as NOTIFY folds them).

What this trades (docs/architecture.md, "Being told of changes"): a process that dies between
its commit and the notification leaves that change untold (a receiver sees it with the next
one); a savepoint rolled back may announce a change that did not happen (a receiver re-reads and
finds nothing new); a write made by plain SQL outside ReviewDesk is not announced.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

NOTICE_SQLSTATE = "RD001"  # migration 0013's triggers
_PENDING = "reviewdesk_announce_pending"  # notices of the open transaction
_COMMITTED = "reviewdesk_announce_committed"  # notices of a commit, still to send
_SEND = (
    "SELECT set_config('synchronous_commit', 'off', true), pg_notify(n.channel, n.payload) "
    "FROM unnest(%s::text[], %s::text[]) AS n(channel, payload)"
)


def install(engine: Engine) -> None:
    """Send the change notices of ``engine``'s connections as notifications after commit."""
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "after_cursor_execute", _after_execute)
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "rollback", _on_rollback)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "checkin", _on_checkin)


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    pending: dict[tuple[str, str], None] = {}
    record.info[_PENDING] = pending
    record.info[_COMMITTED] = {}

    def on_notice(diag: Any) -> None:
        if diag.sqlstate == NOTICE_SQLSTATE and diag.message_detail and diag.message_primary:
            pending[(diag.message_detail, diag.message_primary)] = None

    dbapi_connection.add_notice_handler(on_notice)


def _live_info(conn: Any) -> dict[str, Any] | None:
    """The connection record's notices, or None once the connection was lost: a lost
    connection's notices go with it (a new one starts empty), and asking an invalidated
    Connection for its record would raise in the middle of its rollback."""
    if conn.invalidated:
        return None
    info: dict[str, Any] = conn.connection.info
    return info


def _after_execute(conn: Any, *_args: Any) -> None:
    info = _live_info(conn)
    if info is not None and info.get(_PENDING) and conn.connection.driver_connection.autocommit:
        _commit_pending(info)
        _send(conn.connection.driver_connection, info)


def _on_commit(conn: Any) -> None:
    info = _live_info(conn)
    if info is not None:
        _commit_pending(info)


def _on_rollback(conn: Any) -> None:
    info = _live_info(conn)
    if info is not None and _PENDING in info:
        info[_PENDING].clear()
        info[_COMMITTED].clear()


def _on_begin(conn: Any) -> None:
    info = _live_info(conn)
    if info is not None and info.get(_COMMITTED):
        _send(conn.connection.driver_connection, info)


def _on_checkin(dbapi_connection: Any, record: Any) -> None:
    if dbapi_connection is not None and record is not None and record.info.get(_COMMITTED):
        _send(dbapi_connection, record.info)


def _commit_pending(info: dict[str, Any]) -> None:
    pending = info.get(_PENDING)
    if pending:
        info[_COMMITTED].update(pending)
        pending.clear()


def _send(dbapi_connection: Any, info: dict[str, Any]) -> None:
    """One round trip, one transaction; a failure loses the notifications, never the change."""
    committed: dict[tuple[str, str], None] = info[_COMMITTED]
    notices = list(committed)
    committed.clear()
    channels = [channel for channel, _ in notices]
    payloads = [payload for _, payload in notices]
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(_SEND, (channels, payloads))
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()
    except Exception:
        log.warning("could not announce a committed change", exc_info=True)
        try:
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()
        except Exception:
            log.debug("rolling back a failed announcement", exc_info=True)
