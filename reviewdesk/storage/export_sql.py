"""The export's reads: decided drafts streamed in decision order, in keyset pages.

Every page is its own short read (``dec.id > :after ... LIMIT :page``) on the decision primary key,
so no transaction stays open for the length of an export and nothing pins PostgreSQL's xmin
horizon; the export is bounded by the largest decision id seen when it starts, so decisions made
while it runs are left for the next one.

Pages are fetched through the driver's own cursor as plain tuples, without SQLAlchemy's per-row
result processing (a fifth of the time of a page in our measurements): the statements are
written here in the driver's parameter style, and the only typed parameters (the period's
bounds) go through UtcDateTime's own bind processor.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from reviewdesk.storage.engine import READ_ONLY, Engines
from reviewdesk.storage.rules_sql import LOW_ATTENTION_APPROVAL, TEXT_TO_SEND
from reviewdesk.storage.types import UtcDateTime

# Raw columns of one exported record, in this order (see RECORD_COLUMNS). ``final`` is the text
# to send, as results() delivers it (rules_sql.TEXT_TO_SEND).
_RECORD_SELECT = (
    "dec.id, d.external_id, d.input, {context}, d.draft, dec.label, "
    f"{TEXT_TO_SEND}, "
    "dec.reason, dec.severity, dec.note, d.category, d.risk, d.model, d.confidence, "
    "dec.edit_distance, dec.reviewer, {decided_at}, dec.review_seconds, dec.low_attention, "
    "dec.resolution, dec.resolution_note, dec.resolved_by, {resolved_at}"
)
# PostgreSQL hands times over as SQLite stores them (UTC, fixed format): one fast path for
# both, and no datetime object per row.
_PG_TIME = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
RECORD_COLUMNS = (
    "cursor",
    "id",
    "input",
    "context_json",
    "draft",
    "label",
    "final",
    "reason",
    "severity",
    "note",
    "category",
    "risk",
    "model",
    "confidence",
    "edit_distance",
    "reviewer",
    "decided_at",
    "review_seconds",
    "low_attention",
    "resolution",
    "resolution_note",
    "resolved_by",
    "resolved_at",
)
DEFAULT_PAGE = 5000
Page = Sequence[Sequence[Any]]


@dataclass(frozen=True)
class ExportFilter:
    """Which decisions an export reads. Empty tuples mean "any"."""

    since: datetime | None = None  # decided at or after (inclusive)
    until: datetime | None = None  # decided before (exclusive)
    categories: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    include_low_attention: bool = False


def unreachable_errors(engines: Engines) -> tuple[type[BaseException], ...]:
    """The errors that say the database cannot be reached while pages are read. Pages are read
    through the driver's cursor, so its own errors arrive unwrapped beside SQLAlchemy's."""
    dbapi = engines.write.dialect.dbapi
    errors: tuple[type[BaseException], ...] = (OperationalError,)
    if dbapi is not None:
        errors += (dbapi.OperationalError,)
    return errors


class ExportStore:
    """Reads for one export, on one database."""

    def __init__(
        self, engines: Engines, *, page: int = DEFAULT_PAGE, prefetch: bool = True
    ) -> None:
        self.engines = engines
        self.postgres = engines.target.dialect == "postgresql"
        self.page = page
        self.prefetch = prefetch
        # SQLite: walk the decisions by rowid, never by an index on decided_at or label (a
        # filter on those would otherwise make every keyset page sort all the rows left).
        # PostgreSQL's cost-based planner weighs both plans by itself.
        self._decisions = "decision dec" if self.postgres else "decision AS dec NOT INDEXED"
        dialect = engines.write.dialect
        self._time = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)

    def _read(self) -> Connection:
        return self.engines.write.connect().execution_options(**{READ_ONLY: True})

    def _param(self, name: str) -> str:
        return f"%({name})s" if self.postgres else f":{name}"

    def _where(self, flt: ExportFilter) -> tuple[str, dict[str, Any]]:
        p = self._param
        # Undone decisions are history and gold drafts are known-answer checks: never exported.
        conds = ["dec.undone_at IS NULL", "NOT d.is_gold", f"dec.id <= {p('upto')}"]
        params: dict[str, Any] = {}
        if not flt.include_low_attention:
            conds.append(f"NOT {LOW_ATTENTION_APPROVAL}")
        for op, name, when in ((">=", "since", flt.since), ("<", "until", flt.until)):
            if when is not None:
                conds.append(f"dec.decided_at {op} {p(name)}")
                params[name] = self._time(when) if self._time else when
        for column, name, values in (
            ("d.category", "category", flt.categories),
            ("dec.label", "label", flt.labels),
            ("d.model", "model", flt.models),
            ("d.risk", "risk", flt.risks),
        ):
            if values:
                names = [f"{name}_{i}" for i in range(len(values))]
                conds.append(f"{column} IN ({', '.join(p(n) for n in names)})")
                params.update(zip(names, values, strict=True))
        return " AND ".join(conds), params

    def decision_id_range(self) -> tuple[int, int]:
        """The smallest and largest decision ids (0, 0 when there are none): what an export
        covers, and the scale of its progress bar. Both come straight off the primary key."""
        with self._read() as conn:
            low, high = conn.execute(text("SELECT min(id), max(id) FROM decision")).one()
            return int(low or 0), int(high or 0)

    def strata(self, flt: ExportFilter, *, upto: int) -> list[tuple[str, str, str, int]]:
        """(category, label, risk, count) of the decisions the filter selects."""
        where, params = self._where(flt)
        sql = (
            "SELECT d.category, dec.label, d.risk, count(*) "  # noqa: S608 - constants only
            f"FROM {self._decisions} JOIN draft d ON d.id = dec.draft_id "
            f"WHERE {where} GROUP BY d.category, dec.label, d.risk"
        )
        rows = self._fetch(sql, {**params, "upto": upto})
        return [(str(c), str(lb), str(r), int(n)) for c, lb, r, n in rows]

    def stream_keys(self, flt: ExportFilter, *, upto: int) -> Iterator[Page]:
        """Pages of (cursor, id, category, label): what sampling needs, without the texts."""
        yield from self._pages("dec.id, d.external_id, d.category, dec.label", flt, upto)

    def stream_records(self, flt: ExportFilter, *, upto: int, after: int = 0) -> Iterator[Page]:
        """Pages of raw record rows in RECORD_COLUMNS order, oldest decision first: decision ids
        above ``after`` up to ``upto`` (a parallel export gives each process one such range).

        ``context_json`` is the stored JSON text on both engines (PostgreSQL casts its JSONB),
        so that formats which keep it as text never parse it; ``decided_at`` and
        ``resolved_at`` are UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``, on both.
        """
        if self.postgres:
            columns = _RECORD_SELECT.format(
                context="d.context::text",
                decided_at=_PG_TIME.format("dec.decided_at"),
                resolved_at=_PG_TIME.format("dec.resolved_at"),
            )
        else:
            columns = _RECORD_SELECT.format(
                context="d.context", decided_at="dec.decided_at", resolved_at="dec.resolved_at"
            )
        yield from self._pages(columns, flt, upto, after)

    def _pages(self, columns: str, flt: ExportFilter, upto: int, after: int = 0) -> Iterator[Page]:
        pages = self._keyset_pages(columns, flt, upto, after)
        yield from _prefetched(pages) if self.prefetch else pages

    def _keyset_pages(
        self, columns: str, flt: ExportFilter, upto: int, after: int = 0
    ) -> Iterator[Page]:
        where, params = self._where(flt)
        p = self._param
        sql = (
            f"SELECT {columns} "  # noqa: S608 - constants only; values are parameters
            f"FROM {self._decisions} JOIN draft d ON d.id = dec.draft_id "
            f"WHERE {where} AND dec.id > {p('after')} ORDER BY dec.id LIMIT {p('page')}"
        )
        params.update(upto=upto, page=self.page)
        while True:
            # One short read per page: a consumer that takes its time holds no transaction.
            rows = self._fetch(sql, {**params, "after": after})
            if not rows:
                return
            yield rows
            if len(rows) < self.page:
                return
            after = rows[-1][0]

    def _fetch(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self._read() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            try:
                cursor.execute(sql, params)
                rows: list[tuple[Any, ...]] = cursor.fetchall()
            finally:
                cursor.close()
            return rows


_END = object()


def _prefetched(pages: Iterator[Page]) -> Iterator[Page]:
    """The same pages, the next one fetched on a helper thread while the caller works on this
    one: the database (PostgreSQL's server, SQLite's page reads) runs while Python formats."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for page in pages:
                if not put(page):
                    return
            put(_END)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)
        finally:
            if isinstance(pages, Generator):
                pages.close()  # its connection goes back to the pool on this thread

    worker = threading.Thread(target=run, name="reviewdesk-export-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        # The caller stopped (done, failed or cancelled): let the helper finish its page.
        stop.set()
        worker.join()
