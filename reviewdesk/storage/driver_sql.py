"""The queue's hottest statements and its bulk loads, sent straight to the driver.

Claim and decide are every reviewer's every cycle. Through SQLAlchemy's execution path each of
them cost about as much client CPU as the PostgreSQL server spent running it, and on a machine
that shares its cores with the server that halved throughput (docs/benchmarks.md). Here such a
statement is compiled once by the same dialect, so the SQL is exactly what SQLAlchemy would send,
and its parameters and results are typed by the same SQLAlchemy types. The SQLAlchemy Connection
around the driver connection still does the pooling, a lost connection is invalidated, and a
driver error is reported as one through SQLAlchemy would be (storage/failures.py).

Bulk loads go the same way: on SQLite the driver's ``executemany`` (``bulk_insert``), with
each value converted by its column's SQLAlchemy type exactly as an ORM insert would convert it;
on PostgreSQL one statement that takes the whole batch as one parameter (``execute_batch``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, TextualSelect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from reviewdesk.storage.failures import database_error

_Processor = Callable[[Any], Any]


class DriverStatement:
    """One text statement with its result columns declared in order (``_sql(result=...)``)."""

    def __init__(self, clause: TextualSelect, dialect: Dialect) -> None:
        if not clause.positional:
            raise ValueError("a driver statement needs its result columns declared in order")
        compiled = clause.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a driver statement cannot have expanding parameters")
        self.sql = str(compiled)
        self.parameter_names = tuple(compiled.binds)
        self.dialect = dialect
        self._binds: dict[str, _Processor] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._binds[name] = processor
        self._columns: list[tuple[str, _Processor | None]] = [
            (col.name, col.type.dialect_impl(dialect).result_processor(dialect, None))
            for col in clause.column_args
        ]
        self._described = False  # whether the declared columns were checked against the cursor

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Run the statement on ``conn``'s driver connection; the first row by column name."""
        values = dict(params)
        for name, processor in self._binds.items():
            if name in values:
                values[name] = processor(values[name])
        # Listeners (logging, profiling) see these statements as they see every other one.
        before, after = conn.dispatch.before_cursor_execute, conn.dispatch.after_cursor_execute
        driver = conn.connection.driver_connection
        with _driver_errors(conn, self.sql, values), driver.cursor() as cursor:  # type: ignore[union-attr]
            if before:
                before(conn, cursor, self.sql, values, None, False)
            cursor.execute(self.sql, values)
            if after:
                after(conn, cursor, self.sql, values, None, False)
            if not self._described:
                self._check_description(cursor.description)
            row = cursor.fetchone()
        if row is None:
            return None
        return {
            name: (processor(value) if processor is not None and value is not None else value)
            for (name, processor), value in zip(self._columns, row, strict=True)
        }

    def _check_description(self, description: Any) -> None:
        """Values are typed by position: a declared column list out of step with the SQL would
        type them wrongly without a word, so the first execution compares the names."""
        returned = [column[0] for column in description or ()]
        declared = [name for name, _ in self._columns]
        if returned != declared:
            raise RuntimeError(f"statement returns {returned}, declared {declared}: {self.sql}")
        self._described = True


@contextmanager
def _driver_errors(conn: Connection, sql: str, params: Any) -> Iterator[None]:
    """Driver errors as the engine's handle_error event reports them: DatabaseUnavailable or
    ConnectionLost, else SQLAlchemy's DBAPIError. A lost connection is invalidated, so that its
    next use connects afresh."""
    dialect = conn.dialect
    dbapi = dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
        if lost:
            conn.invalidate(exc)
        typed = database_error(conn.engine, exc, lost=lost, connecting=False)
        if typed is not None:
            raise typed from exc
        raise DBAPIError.instance(
            sql, params, exc, dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from exc


def bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in ``columns`` order) in ``conn``'s transaction, on SQLite.

    PostgreSQL's loads are one statement that takes the whole batch as one parameter
    (``execute_batch``), which row-level security allows.
    """
    dialect = conn.dialect
    if dialect.name != "sqlite":
        raise ValueError(f"bulk_insert loads SQLite only, not {dialect.name}")
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    if any(processors):
        rows = _converted(rows, processors)
    # Names from ReviewDesk's own table definition, never from input.
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    with _driver_errors(conn, sql, None):
        conn.connection.driver_connection.executemany(sql, rows)  # type: ignore[union-attr]


def _converted(
    rows: Sequence[Sequence[Any]], processors: Sequence[_Processor | None]
) -> list[list[Any]]:
    """``rows`` with each value converted by its column's processor. A value that is the very
    object the row before held (a load's one timestamp, in three columns of every row) is
    converted once."""
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    last: list[tuple[Any, Any]] = [(None, None)] * len(processors)
    out = []
    for row in rows:
        values = list(row)
        for i, processor in active:
            value = values[i]
            if value is None:
                continue
            raw, done = last[i]
            if value is not raw:
                done = processor(value)
                last[i] = (value, done)
            values[i] = done
        out.append(values)
    return out


def execute_batch(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run one PostgreSQL statement that takes a whole batch of rows as one parameter (``INSERT
    ... SELECT FROM json_to_recordset(%(rows)s::json)``) on ``conn``'s driver connection, in its
    transaction; the rows it returns. One round trip however many rows, and unlike COPY it works
    under row-level security. ``sql`` is ReviewDesk's own text, never built from input; values go
    in as parameters."""
    before, after = conn.dispatch.before_cursor_execute, conn.dispatch.after_cursor_execute
    driver = conn.connection.driver_connection
    with _driver_errors(conn, sql, None), driver.cursor() as cursor:  # type: ignore[union-attr]
        if before:
            before(conn, cursor, sql, params, None, False)
        cursor.execute(sql, params)
        if after:
            after(conn, cursor, sql, params, None, False)
        return list(cursor.fetchall()) if cursor.description else []
