"""Driver errors as ReviewDesk's own, and connections that the server has closed.

The storage side of the error contract (docs/api.md). Every engine ReviewDesk makes converts,
in SQLAlchemy's ``handle_error`` event, a driver error saying that the database cannot be
reached or used into DatabaseUnavailable, or into ConnectionLost when an open connection
dropped under a statement, naming the database with its password masked. An error that means
a bug (a syntax error, a broken constraint) is left as it is, so that no bug passes for an
outage.

A server that restarts closes every connection it had. Such a connection is found before it is
used, without a round trip: an idle connection has nothing to read unless the server said
goodbye, so only a readable one is pinged, and it is replaced if the ping fails. SQLAlchemy's
``pool_pre_ping`` would cost a round trip on every checkout, and the desk checks out a
connection for each read around a claim.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.exc import DisconnectionError

from reviewdesk.core.errors import (
    ConfigurationError,
    ConnectionLost,
    DatabaseUnavailable,
    NotPermitted,
    ReviewDeskError,
)
from reviewdesk.storage.urls import mask_url

# The execution option that carries an engine's database, as messages name it.
DISPLAY_OPTION = "reviewdesk_database"

# SQLite's primary result codes for a database that cannot be used, as opposed to a statement
# that is wrong (SQLITE_ERROR, 1): PERM, BUSY, LOCKED, READONLY, IOERR, CORRUPT, FULL,
# CANTOPEN, PROTOCOL, NOLFS, AUTH, NOTADB.
_SQLITE_UNAVAILABLE = frozenset({3, 5, 6, 8, 10, 11, 13, 14, 15, 22, 23, 26})
# PostgreSQL: every OperationalError (connecting, shutdown, resources, timeouts), and these
# two that psycopg files elsewhere: no privilege on a table, and a read-only standby server.
_POSTGRES_UNAVAILABLE = frozenset({"42501", "25006"})
# insufficient_privilege: a grant, a row-level security policy or a rule's trigger said no.
_NOT_PERMITTED = "42501"
# invalid_password, invalid_authorization_specification. A refusal while connecting often comes
# with no SQLSTATE (psycopg raises before a session exists), so libpq's words count too.
_LOGIN_REFUSED = frozenset({"28P01", "28000"})
_LOGIN_REFUSED_WORDS = ("no password supplied", "password authentication failed")


def install(engine: Engine, display: str) -> None:
    """Make ``engine`` raise typed errors naming ``display``, and replace closed connections."""
    engine.update_execution_options(**{DISPLAY_OPTION: display})
    event.listen(engine, "handle_error", _on_error)
    if engine.dialect.name == "postgresql":
        dialect = engine.dialect

        def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            if server_closed(dialect, dbapi_connection):
                # The pool connects afresh and tries again.
                raise DisconnectionError("the server closed this pooled connection")

        event.listen(engine, "checkout", on_checkout)


def _on_error(context: ExceptionContext) -> BaseException | None:
    if context.is_pre_ping or context.engine is None:
        return None
    connection = context.connection
    return database_error(
        context.engine,
        context.original_exception,
        lost=context.is_disconnect,
        connecting=connection is None or connection.invalidated,
    )


def database_error(
    engine: Engine, exc: BaseException, *, lost: bool, connecting: bool
) -> ReviewDeskError | None:
    """The typed error for driver error ``exc`` on ``engine``, or None if it means a bug.

    ``lost``: an open connection dropped (the statement may have taken effect);
    ``connecting``: the error came while connecting, before any statement was sent.
    """
    dialect = engine.dialect
    if not isinstance(exc, dialect.loaded_dbapi.Error):
        return None  # not the driver's: an interrupt, or a bug on our side
    name = database_name(engine)
    reason = describe(exc)
    if lost:
        return ConnectionLost(f"Lost the connection to database {name}: {reason}")
    if not connecting and getattr(exc, "sqlstate", None) == _NOT_PERMITTED:
        # A rule of docs/security.md refused this login; the rest of the database works.
        return NotPermitted(f"Not permitted on database {name}: {reason}")
    if _unavailable(dialect, exc):
        if connecting and _login_refused(exc, reason):
            reason += (
                f". Store this login's password with: reviewdesk password set --db {name}"
                " (or give it in the desk's Settings)"
            )
        return DatabaseUnavailable(f"Database {name} is unavailable: {reason}")
    if connecting:
        # The driver refused the URL before connecting, e.g. an unknown connection option.
        return ConfigurationError(f"Cannot connect to database {name}: {reason}")
    return None


def database_name(engine: Engine) -> str:
    """The database of ``engine`` as messages name it: its URL with the password masked."""
    name = engine.get_execution_options().get(DISPLAY_OPTION)
    return str(name) if name else mask_url(engine.url)


def _login_refused(exc: BaseException, reason: str) -> bool:
    return getattr(exc, "sqlstate", None) in _LOGIN_REFUSED or any(
        words in reason for words in _LOGIN_REFUSED_WORDS
    )


def _unavailable(dialect: Dialect, exc: BaseException) -> bool:
    if dialect.name == "sqlite":
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_UNAVAILABLE
    return isinstance(exc, dialect.loaded_dbapi.OperationalError) or (
        getattr(exc, "sqlstate", None) in _POSTGRES_UNAVAILABLE
    )


def describe(exc: BaseException) -> str:
    """The driver's message on one line: psycopg puts hints and each failed address of a host
    on lines of their own, and pads ``FATAL:`` with spaces."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {'; '.join(lines[1:])}"
    return lines[0]


def server_closed(dialect: Dialect, driver_connection: Any) -> bool:
    """Whether the server has closed this idle psycopg connection, or it is broken.

    A round trip (a ping) only when the server has sent something nobody asked for: on an idle
    connection that is its goodbye (a restart, an administrator ending the session), seldom a
    notice.
    """
    if driver_connection.closed or driver_connection.broken:
        return True
    try:
        readable, _, _ = select.select([driver_connection.fileno()], [], [], 0)
    except (OSError, ValueError, dialect.loaded_dbapi.Error):
        return True
    if not readable:
        return False
    try:
        dialect.do_ping(driver_connection)
    except dialect.loaded_dbapi.Error:
        return True
    return False
