"""Three narrow looks at the queue, behind figures in docs/benchmarks.md.

    .venv/bin/python benchmarks/queue_probes.py connection    # PostgreSQL: kept vs pooled
    .venv/bin/python benchmarks/queue_probes.py checkpoints   # SQLite: decide with/without
    .venv/bin/python benchmarks/queue_probes.py enqueue       # PostgreSQL: a load, by statement

- ``connection``: one reviewer's claim+decide cycles through ``ReviewDesk``, client CPU per
  cycle, alternating rounds of 2,000 cycles with the kept connection
  (``PostgresQueueStore._hot_connection``) and with a pool checkout per statement.
- ``checkpoints``: 2,500 claim+decide cycles on a SQLite file (WAL, synchronous=FULL), the time
  of each decide, with SQLite's auto-checkpoints on and off (``wal_autocheckpoint=0``), two runs
  each, alternating.
- ``enqueue``: one ``desk.submit`` of 100,000 drafts on PostgreSQL, the time spent in
  validation, in the COPY and in each statement.

Drafts come from the Bitext data set as in ``queue_throughput.py``; PostgreSQL from
``--pg-url`` (default as there), each run in a schema of its own, dropped after. SQLite files
go to a temporary folder under ``--tmpdir`` (default: the system's, on local disk here).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
import queue_throughput as qt
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine

from reviewdesk import ReviewDesk
from reviewdesk.core import intake
from reviewdesk.services import desk as desk_module
from reviewdesk.storage.queue_pg import PostgresQueueStore

REVIEW_SECONDS = qt.REVIEW_SECONDS


def _cycles(desk: ReviewDesk, count: int) -> None:
    for _ in range(count):
        lease = desk.claim("r0")
        if lease is None:
            raise RuntimeError("the queue ran out")
        desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)


def connection(pg_url: str, rounds: int) -> None:
    kept = PostgresQueueStore._hot_connection  # the probe swaps it out for a pooled checkout

    @contextmanager
    def pooled(store: PostgresQueueStore) -> Iterator[Connection]:
        with store.engines.statement.connect() as conn:
            yield conn

    records = qt.make_records(qt.read_rows(qt.DEFAULT_DATA), rounds * 4000 + 1000, seed=1)
    with qt.fresh_database("postgresql", pg_url, Path(tempfile.gettempdir())) as (url, dsn):
        qt.load_queue(url, records)
        qt.settle("postgresql", dsn)
        taken: dict[str, list[float]] = {"kept": [], "pooled": []}
        ways: dict[str, Callable[[PostgresQueueStore], AbstractContextManager[Connection]]] = {
            "pooled": pooled,
            "kept": kept,
        }
        with ReviewDesk.open(url) as desk:
            _cycles(desk, 500)  # warm: the session opened, statements prepared
            try:
                for _ in range(rounds):
                    for name, way in ways.items():
                        PostgresQueueStore._hot_connection = way  # type: ignore[method-assign]
                        started = time.process_time()
                        _cycles(desk, 2000)
                        taken[name].append((time.process_time() - started) / 2000 * 1000)
            finally:
                PostgresQueueStore._hot_connection = kept  # type: ignore[method-assign]
    for name, values in taken.items():
        print(
            f"{name:<7} client CPU per cycle: mean {statistics.mean(values):.3f} ms "
            f"({', '.join(f'{v:.3f}' for v in values)})"
        )


def checkpoints(tmpdir: Path) -> None:
    rows = qt.read_rows(qt.DEFAULT_DATA)
    for auto in (True, False, True, False):
        with tempfile.TemporaryDirectory(dir=tmpdir) as folder:
            url = f"sqlite:///{folder}/q.sqlite3"
            qt.load_queue(url, qt.make_records(rows, 3000, seed=1))

            def no_auto(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

            if not auto:
                event.listen(Engine, "connect", no_auto)
            try:
                with ReviewDesk.open(url) as desk:
                    decides: list[float] = []
                    for _ in range(2500):
                        lease = desk.claim("r0")
                        assert lease is not None
                        started = time.perf_counter()
                        desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)
                        decides.append((time.perf_counter() - started) * 1000)
                        time.sleep(0.005)
                    wal = Path(f"{folder}/q.sqlite3-wal").stat().st_size / 1e6  # before close
            finally:
                if not auto:
                    event.remove(Engine, "connect", no_auto)
        decides.sort()
        print(
            f"auto-checkpoint {'on ' if auto else 'off'}: decide p50 "
            f"{decides[len(decides) // 2]:.2f} ms, p99 {decides[int(len(decides) * 0.99)]:.2f} "
            f"ms, max {decides[-1]:.1f} ms; WAL file {wal:.1f} MB"
        )


def enqueue(pg_url: str) -> None:
    spent: dict[str, float] = {}

    def add(name: str, seconds: float) -> None:
        spent[name] = spent.get(name, 0.0) + seconds

    def before(conn: Any, _cursor: Any, *_args: Any) -> None:
        conn.info["probe_started"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started = conn.info.pop("probe_started", None)
        if started is not None:
            add(" ".join(statement.split())[:60], time.perf_counter() - started)

    copy = psycopg.Cursor.copy
    validate = intake.validate_records

    @contextmanager
    def timed_copy(self: psycopg.Cursor[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        started = time.perf_counter()
        with copy(self, *args, **kwargs) as stream:
            yield stream
        add("COPY (with the client's formatting)", time.perf_counter() - started)

    def timed_validate(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return validate(*args, **kwargs)
        finally:
            add("validation", time.perf_counter() - started)

    records = qt.make_records(qt.read_rows(qt.DEFAULT_DATA), 100_000, seed=1)
    with (
        qt.fresh_database("postgresql", pg_url, Path(tempfile.gettempdir())) as (url, _dsn),
        ReviewDesk.open(url, upgrade=True) as desk,
    ):
        event.listen(Engine, "before_cursor_execute", before)
        event.listen(Engine, "after_cursor_execute", after)
        psycopg.Cursor.copy = timed_copy  # type: ignore[assignment,method-assign]
        desk_module.validate_records = timed_validate  # type: ignore[attr-defined]
        try:
            started = time.perf_counter()
            desk.submit(records, source="benchmark")
            total = time.perf_counter() - started
        finally:
            event.remove(Engine, "before_cursor_execute", before)
            event.remove(Engine, "after_cursor_execute", after)
            psycopg.Cursor.copy = copy  # type: ignore[method-assign]
            desk_module.validate_records = validate  # type: ignore[attr-defined]
    print(f"submit of {len(records):,} drafts: {total:.2f} s ({len(records) / total:,.0f}/s)")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {seconds:6.3f} s  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=["connection", "checkpoints", "enqueue"])
    parser.add_argument("--pg-url", default=qt.DEFAULT_PG_URL)
    parser.add_argument("--rounds", type=int, default=8, help="connection: rounds per way")
    parser.add_argument("--tmpdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    qt.hermetic_env(tempfile.mkdtemp(prefix="reviewdesk-probe-"))
    if args.probe == "connection":
        connection(args.pg_url, args.rounds)
    elif args.probe == "checkpoints":
        checkpoints(args.tmpdir)
    else:
        enqueue(args.pg_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
