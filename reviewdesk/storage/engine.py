"""Database URLs and engines: the embedded SQLite default and shared PostgreSQL.

Passwords come from the OS keyring and are never printed: ``DatabaseTarget.display`` masks them.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from reviewdesk.config import paths, secrets
from reviewdesk.core.errors import ConfigurationError, DatabaseNotFound, DatabaseUnavailable
from reviewdesk.storage import announce, failures
from reviewdesk.storage.urls import mask_url, query_password

URL_ENV = "REVIEWDESK_DATABASE_URL"
# Long enough to ride out another writer's commit burst; short enough to report a stuck lock.
SQLITE_BUSY_TIMEOUT_S = 30.0
READ_ONLY = "reviewdesk_read_only"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseTarget:
    """Which database to use, and how to name it to a person."""

    url: URL
    embedded: bool

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def display(self) -> str:
        """The URL with any password masked: safe for logs, messages and the status bar."""
        return mask_url(self.url)

    @property
    def keyring_account(self) -> str:
        return keyring_account(self.url)


def keyring_account(url: URL) -> str:
    """``user@host:port/database``: the keyring username for a server's password."""
    port = url.port or 5432
    return f"{url.username or ''}@{url.host or 'localhost'}:{port}/{url.database or ''}"


def resolve_target(url: str | None = None) -> DatabaseTarget:
    """``--db`` first, then ``REVIEWDESK_DATABASE_URL``, then the embedded default."""
    raw = url or os.environ.get(URL_ENV) or None
    if raw is None:
        path = paths.embedded_database_path()
        return DatabaseTarget(URL.create("sqlite", database=str(path)), embedded=True)
    try:
        parsed = make_url(raw)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigurationError(
            f"Not a database URL: {mask_url(raw)!r}. Use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DATABASE."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return DatabaseTarget(parsed, embedded=False)
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigurationError(
                "An in-memory SQLite database cannot hold a queue: give a file path, sqlite:///PATH."
            )
        return DatabaseTarget(parsed, embedded=False)
    raise ConfigurationError(
        f"Unsupported database {backend!r} in {mask_url(parsed)}: "
        "ReviewDesk runs on SQLite or PostgreSQL."
    )


def require_existing(target: DatabaseTarget, *, may_create: bool = False) -> None:
    """Refuse a SQLite file named by URL that is not there, instead of creating an empty one.

    A typo in a path would otherwise open a new, empty queue and report nothing pending. The
    embedded default is created on first use; any other file only by ``reviewdesk db upgrade``
    (``may_create``). A folder is never a database.
    """
    if target.dialect != "sqlite" or target.embedded:
        return
    path = Path(target.url.database or "")
    if path.is_file():
        return
    where = str(path) if path.is_absolute() else f"{path} (that is {path.absolute()})"
    if path.is_dir():
        raise DatabaseNotFound(f"No ReviewDesk database at {target.display}: {where} is a folder.")
    if may_create:
        return
    raise DatabaseNotFound(
        f"No ReviewDesk database at {target.display}: there is no file {where}. Check the path; "
        f"to create a new database there, run: reviewdesk db upgrade --db {target.display}"
    )


def _with_keyring_password(url: URL) -> URL:
    if url.password is not None or query_password(url) is not None:
        return url
    password = secrets.get_password(keyring_account(url))
    return url.set(password=password) if password else url


@dataclass(frozen=True)
class Engines:
    """``write`` runs transactions; ``statement`` runs single statements in autocommit mode.

    On PostgreSQL one statement in autocommit is one round trip and one durable commit; on
    SQLite both are the same engine, whose transactions begin with BEGIN IMMEDIATE.
    """

    target: DatabaseTarget
    write: Engine
    statement: Engine

    def dispose(self) -> None:
        self.write.dispose()
        if self.statement is not self.write:
            self.statement.dispose()


def _sqlite_engine(url: URL, *, embedded: bool) -> Engine:
    if url.database:
        folder = os.path.dirname(os.path.abspath(url.database))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"Database {mask_url(url)} is unavailable: "
                f"cannot create its folder {folder}: {exc.strerror}"
            ) from exc
        try:
            _private_sqlite_file(Path(url.database), embedded=embedded)
        except OSError as exc:
            raise DatabaseUnavailable(
                f"Database {mask_url(url)} is unavailable: cannot create {url.database}: "
                f"{exc.strerror}"
            ) from exc
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, json_serializer=dump_json
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a decision the reviewer saw as recorded survives a power cut; NORMAL may not.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front, so a transaction never fails half-way on a
        # lock upgrade; readers (execution option READ_ONLY) never block writers in WAL.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _private_sqlite_file(path: Path, *, embedded: bool) -> None:
    """A database file ReviewDesk creates is 0600 whatever the umask: created empty here (an
    empty file is an empty SQLite database), since SQLite would follow the umask. SQLite gives
    its -wal and -shm files the main file's mode. The embedded database is one person's, so an
    older, more open one is closed up too."""
    created = paths.create_private_file(path)
    if embedded and not created:
        for file in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))):
            if file.is_file() and file.stat().st_mode & 0o777 != paths.PRIVATE_FILE:
                os.chmod(file, paths.PRIVATE_FILE)


def defer_durability(engines: Engines) -> None:
    """Commits on ``engines`` stop waiting for the disk: SQLite ``synchronous=OFF``, PostgreSQL
    ``synchronous_commit=off`` (this client's sessions only).

    Only for a database being built in one go that is thrown away if the build stops (the team
    demo): a power cut may lose the last commits, never corrupt the file, and the builder
    makes the result durable itself. Every statement, trigger and rollup runs as always.
    Connections pooled before are dropped, so that every later one has the setting.
    """
    sqlite = engines.target.dialect == "sqlite"
    statement = "PRAGMA synchronous=OFF" if sqlite else "SET synchronous_commit = off"

    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if not sqlite:
            dbapi_connection.commit()  # psycopg opened a transaction for the SET

    for engine in {engines.write, engines.statement}:
        event.listen(engine, "connect", _on_connect)
        engine.dispose()


def dump_json(value: Any) -> str:
    """JSON columns' text: orjson, several times faster than json.dumps on a bulk load; json
    for what orjson refuses (integers beyond 64 bits), so that anything valid is stored."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def create_engines(
    target: DatabaseTarget, *, create: bool = False, password_from_keyring: bool = True
) -> Engines:
    """Engines for ``target``; a server's password comes from the keyring unless the URL has one.

    A SQLite file named by URL must exist (DatabaseNotFound) unless ``create``: only an upgrade
    makes one (``require_existing``). ``password_from_keyring=False`` uses the URL as it is: for
    a worker process that was handed the URL its parent completed, so that only the parent
    reads the keyring."""
    require_existing(target, may_create=create)
    if target.dialect == "sqlite":
        engine = _sqlite_engine(target.url, embedded=target.embedded)
        failures.install(engine, target.display)
        return Engines(target, engine, engine)
    url = _with_keyring_password(target.url) if password_from_keyring else target.url
    options: dict[str, Any] = {"pool_size": 2, "max_overflow": 6, "pool_recycle": 1800}
    connect_args = {"connect_timeout": 10, "application_name": "reviewdesk"}
    write = create_engine(url, connect_args=connect_args, json_serializer=dump_json, **options)
    statement = create_engine(
        url,
        connect_args=connect_args,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        json_serializer=dump_json,
        **options,
    )
    for engine in (write, statement):
        failures.install(engine, target.display)
        announce.install(engine)
    return Engines(target, write, statement)
