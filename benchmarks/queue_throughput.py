"""Queue throughput: how fast ReviewDesk enqueues drafts and runs claim+decide cycles.

What it measures, on PostgreSQL and on SQLite, each measurement on a fresh database:

1. Enqueue: drafts/s of one ``desk.submit(...)`` call of ``--drafts`` drafts (validation
   included). The drafts are sampled with replacement from the Bitext customer-support data
   set, with unique ids. Every database below is loaded this way; the figure reported is the
   median of those loads.
2. Claim+decide cycles: N reviewer processes (spawn context), each with its own
   ``ReviewDesk``, loop ``desk.claim(...)`` then ``desk.decide(lease, "approve")`` against a
   queue of ``--drafts`` drafts. All workers start on one Event; after ``--warmup`` seconds
   the steady window of ``--seconds`` seconds is measured: cycles completed in it (cycles/s)
   and the latency of the claims started in it (p50, p99).
3. Ceiling: the same claim and decide statements, issued directly through the driver by the
   same number of processes on a freshly loaded queue of the same size. PostgreSQL: the SQL
   text ``PostgresQueueStore`` builds for the database clock, through psycopg in autocommit, one
   statement each. SQLite: the same statements per BEGIN IMMEDIATE transaction through
   sqlite3, with WAL, synchronous=FULL and the same busy timeout. The ratio ReviewDesk/ceiling
   is ReviewDesk's own overhead.

Durability is never traded for speed: the script refuses a PostgreSQL server with
``synchronous_commit=off`` and checks that SQLite runs with ``synchronous=FULL``.

Run from the repository root (it is a script, not a test; pytest does not collect it)::

    .venv/bin/python benchmarks/queue_throughput.py --json
    .venv/bin/python benchmarks/queue_throughput.py --engines sqlite --clients 1 --seconds 5

PostgreSQL comes from ``--pg-url``, else ``REVIEWDESK_BENCH_POSTGRES_URL``, else
``postgresql+psycopg://root@127.0.0.1:5432/test``; each measurement runs in a schema of its
own (``bench_<uuid>``), dropped at the end. SQLite files live in a temporary folder on local
disk (``--tmpdir``). The OS keyring is never touched.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import multiprocessing as mp
import os
import platform
import queue
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from psycopg import sql
from sqlalchemy import Engine, TextClause, event
from sqlalchemy.engine import URL, Dialect, make_url

from reviewdesk import ReviewDesk
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.storage import security_sql
from reviewdesk.storage.driver_sql import DriverStatement
from reviewdesk.storage.engine import SQLITE_BUSY_TIMEOUT_S, create_engines, resolve_target
from reviewdesk.storage.queues import open_queue_store

# The shared data folder beside the repository (../shared/data), wherever the checkout is.
DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "bitext_customer_support_gpt3.5_6480.csv.gz"
)
DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
PG_URL_ENV = "REVIEWDESK_BENCH_POSTGRES_URL"
ENGINES = ("sqlite", "postgresql")
LEASE_TTL = 120.0  # ReviewDesk's default, used by both modes
REVIEW_SECONDS = 1.0
SEED = 20_240_601
# Fatigue limits end a reviewer's session after tens of reviews; in a throughput run each
# reviewer does thousands, so the count and time limits are off. The rest stays at its default
# (gold checks, category variety, fast-approval flags): that is work ReviewDesk does per cycle.
BENCH_LIMITS = SessionLimits(
    reviews_per_session=None,
    minutes_per_session=None,
    sessions_per_day=None,
    reviews_per_day=None,
)
PROBE_CYCLES = 2  # per worker, before the start: see probe_cycles()

# Targets on the reference machine (2 cores); see docs/benchmarks.md.
TARGET_ENQUEUE = 20_000.0  # drafts/s, each engine
TARGET_PG_CYCLES_32 = 1_000.0  # cycles/s, PostgreSQL, 32 reviewers
TARGET_PG_RATIO_32 = 0.8  # ReviewDesk / ceiling, PostgreSQL, 32 reviewers
TARGET_P50_MS_8 = 3.0  # claim latency at 8 reviewers (PostgreSQL, the shared mode)
TARGET_P99_MS_8 = 15.0
TARGET_SQLITE_CYCLES = 300.0  # durable cycles/s, SQLite, 1 reviewer (single-user mode)
# A window in which other processes used more than this share of all cores did not measure
# this machine: its figures are flagged.
NOISY = 0.15


# -- configuration ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerSpec:
    """Everything one reviewer process needs; pickled to a spawned child."""

    index: int
    engine: str
    mode: str
    url: str  # SQLAlchemy URL (ReviewDesk mode)
    dsn: str  # psycopg conninfo or SQLite file path (ceiling mode)
    home: str
    statements: dict[str, tuple[str, tuple[str, ...]]]  # ceiling: name -> (SQL, param order)
    reviewer: str = ""  # --logins: the worker's own login, which is its reviewer name


@dataclass
class WorkerResult:
    index: int
    cycles_in_window: int = 0
    cycles_total: int = 0
    empty_claims: int = 0
    latencies: bytes = b""  # array('d') of claim seconds, claims started in the window
    mirror_notes: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunResult:
    cycles_in_window: int
    latencies: list[float]  # seconds, ascending
    empty_claims: int
    cycles_total: int
    mirror_notes: list[str]
    cpu: tuple[CpuSample, CpuSample]  # at the start and the end of the measured window


@dataclass
class Measurement:
    engine: str
    mode: str
    clients: int
    seconds: float
    cycles: int
    cycles_per_s: float
    claim_p50_ms: float
    claim_p99_ms: float
    claim_mean_ms: float
    claims_measured: int
    empty_claims: int
    enqueue_drafts_per_s: float
    pending_after: int
    decided_after: int
    load_average: tuple[float, float]  # 1-minute load average before and after the run
    cpu_ours: float  # share of all cores used by the reviewers and their server processes
    cpu_others: float  # share used by everything else during the window
    client_cpu_ms: float  # CPU time of the reviewer processes per cycle
    server_cpu_ms: float  # CPU time of their PostgreSQL server processes per cycle


@dataclass
class Summary:
    command: str
    date: str
    machine: dict[str, str]
    drafts: int
    seconds: float
    warmup: float
    enqueue: dict[str, list[float]] = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    mirror_notes: dict[str, list[str]] = field(default_factory=dict)


def hermetic_env(home: str) -> None:
    """No OS keyring, no user folders: set in the script and (inherited) in every worker."""
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    os.environ["REVIEWDESK_HOME"] = home
    os.environ.pop("REVIEWDESK_DATABASE_URL", None)


# -- input data ------------------------------------------------------------------------------
def read_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["response"].strip()]


def make_records(rows: list[dict[str, str]], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` drafts sampled with replacement, ids made unique; the same for every load."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for i in range(count):
        row = rows[rng.randrange(len(rows))]
        entity = row["entity_value"].strip()
        context = {"intent": row["intent"]}
        if entity:
            context["entity_value"] = entity
        records.append(
            {
                "id": f"bitext-{i:07d}",
                "draft": row["response"],
                "input": row["instruction"],
                "category": row["category"],
                "context": context,
                "model": "gpt-3.5-turbo",
                "confidence": round(rng.uniform(0.3, 0.99), 3),
                "thread": f"{row['category'].lower()}:{entity}"[:200] if entity else None,
            }
        )
    return records


# -- databases -------------------------------------------------------------------------------
def pg_dsn(url: URL) -> str:
    """A libpq conninfo URI for psycopg from a SQLAlchemy URL (password kept, never printed)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database(engine: str, pg_url: str, tmpdir: Path) -> Iterator[tuple[str, str]]:
    """Yield (SQLAlchemy URL, driver DSN) of an empty database, removed afterwards."""
    if engine == "postgresql":
        base = make_url(pg_url)
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = pg_dsn(base)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield url.render_as_string(hide_password=False), pg_dsn(url)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
                # The installation's group roles (cluster-wide; docs/security.md).
                for statement in security_sql.drop_group_roles_sql(base.database or "", schema):
                    conn.execute(statement.encode())
    else:
        path = tmpdir / f"bench-{uuid.uuid4().hex[:12]}.sqlite3"
        try:
            yield f"sqlite:///{path}", str(path)
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


# --without-notify: the cost of the change notifications (migration 0011) is measured by
# running the same code with its triggers dropped. PostgreSQL serializes the commits of
# transactions that NOTIFY.
NOTIFY_TRIGGERS = (
    ("notify_draft_insert", "draft"),
    ("notify_draft_update", "draft"),
    ("notify_decision_insert", "decision"),
    ("notify_decision_update", "decision"),
    ("notify_alert_insert", "alert"),
    ("notify_alert_update", "alert"),
    ("notify_setting", "setting"),
)
WITHOUT_NOTIFY = False


def drop_notify_triggers(url: str) -> None:
    dsn = pg_dsn(make_url(url))
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, table in NOTIFY_TRIGGERS:
            conn.execute(
                sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                    sql.Identifier(name), sql.Identifier(table)
                )
            )


def load_queue(url: str, records: list[dict[str, Any]]) -> float:
    """Create the schema, submit the drafts in one call; return drafts/s of the submit."""
    if WITHOUT_NOTIFY and url.startswith("postgresql"):
        ReviewDesk.open(url, upgrade=True).close()
        drop_notify_triggers(url)
    with ReviewDesk.open(url, upgrade=True) as desk:
        start = time.perf_counter()
        report = desk.submit(records, source="benchmark")
        elapsed = time.perf_counter() - start
        desk.set_session_limits(BENCH_LIMITS)
    if report.submitted != len(records):
        raise RuntimeError(f"expected {len(records)} drafts queued, got {report}")
    return len(records) / elapsed


def settle(engine: str, dsn: str) -> None:
    """Start every run from the same state: the bulk load vacuumed, analysed and checkpointed,
    so no autovacuum or checkpoint triggered by the load lands inside one run and not another.
    Applied identically before ReviewDesk runs and ceiling runs."""
    if engine == "postgresql":
        with psycopg.connect(dsn, autocommit=True) as conn:
            for table in ("draft", "draft_event"):
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
            with suppress(psycopg.errors.InsufficientPrivilege):
                conn.execute("CHECKPOINT")
    else:
        with sqlite3.connect(dsn) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def queue_counts(url: str) -> tuple[int, int]:
    with ReviewDesk.open(url) as desk:
        counts = desk.counts()
    return counts.pending, counts.decided


# -- the ceiling's statements ----------------------------------------------------------------
# The queue store's statements one claim+decide cycle runs (storage/queue_pg.py,
# storage/queue_sqlite.py), by attribute.
PG_STATEMENTS = {"claim": "_claim", "decide": "_decide_driver"}
SQLITE_STATEMENTS = {
    # claim, in one BEGIN IMMEDIATE transaction
    "session_fence": "_session_fence",
    "claim_pick": "_claim_pick",
    "claim_take": "_claim_take",
    "event": "_event",
    "session_claimed": "_session_claimed",
    # decide, in another
    "prior": "_prior",
    "fence_decide": "_fence_decide",
    "session_fast_run": "_session_fast_run",
    "insert_decision": "_insert_decision",
    "attempt": "_attempt",
    "session_count": "_session_count",
}
Statements = dict[str, tuple[str, tuple[str, ...]]]  # name -> (SQL as sent, parameter names)


def _expanded(stmt: TextClause | DriverStatement, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The SQL text SQLAlchemy sends to the driver for ``stmt`` (the expanding ``exclude``
    holding one value, as in a plain claim) and its parameter names, in order for SQLite."""
    if isinstance(stmt, DriverStatement):  # sent to the driver as compiled
        return stmt.sql, stmt.parameter_names
    compiled = stmt.compile(dialect=dialect)
    values = {name: ([-1] if name == "exclude" else None) for name in compiled.params}
    state = compiled.construct_expanded_state(values)
    return state.statement, tuple(state.positiontup or state.parameters)


def ceiling_statements(url: str) -> Statements:
    """The statements the queue store builds for this database (PostgreSQL: the database clock)."""
    engines = create_engines(resolve_target(url))
    try:
        store = open_queue_store(engines)
        names = PG_STATEMENTS if engines.target.dialect == "postgresql" else SQLITE_STATEMENTS
        dialect = engines.write.dialect
        return {key: _expanded(getattr(store, attr), dialect) for key, attr in names.items()}
    finally:
        engines.dispose()


# -- workers ---------------------------------------------------------------------------------
Cycle = Callable[[], tuple[float, bool]]  # runs one claim+decide; (claim seconds, claimed?)


@dataclass
class Probe:
    """What one steady-state ReviewDesk cycle sent: SQL texts and parameter values by name."""

    sent: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def capture(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        if statement.startswith("BEGIN"):
            return
        self.sent.append(statement)
        # The first value of each name wins: the claim's, then the decision's own.
        if isinstance(parameters, Mapping):  # PostgreSQL: the parameters as sent
            for name, value in parameters.items():
                self.values.setdefault(name, value)
        elif context is not None and getattr(context, "compiled_parameters", None):
            for name, value in context.compiled_parameters[0].items():  # SQLite: by name
                self.values.setdefault(name, value)


def probe_cycles(desk: ReviewDesk, reviewer: str) -> Probe:
    """Two claim+decide cycles through ReviewDesk (the first opens the reviewer's session);
    the second is captured. The ceiling takes its session parameters from it, and checks that
    it sends the same statements."""
    probe = Probe()
    for attempt in range(2):
        if attempt:
            event.listen(Engine, "before_cursor_execute", probe.capture)
        try:
            lease = desk.claim(reviewer)
            if lease is None:
                raise RuntimeError("the queue is empty")
            desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)
        finally:
            if attempt:
                event.remove(Engine, "before_cursor_execute", probe.capture)
    return probe


def _mirror_notes(probe: Probe, ceiling_sent: list[str]) -> list[str]:
    """How the statements of one ceiling cycle differ from one ReviewDesk cycle."""

    def short(sql_text: str) -> str:
        return " ".join(sql_text.split())[:90]

    notes = [f"ReviewDesk only: {short(s)}" for s in probe.sent if s not in ceiling_sent]
    notes += [f"ceiling only: {short(s)}" for s in ceiling_sent if s not in probe.sent]
    return notes


def _reviewdesk_cycle(spec: WorkerSpec) -> tuple[Cycle, Callable[[], None], list[str]]:
    desk = ReviewDesk.open(spec.url)
    reviewer = spec.reviewer or f"r{spec.index}"
    probe_cycles(desk, reviewer)
    clock = time.perf_counter

    def cycle() -> tuple[float, bool]:
        start = clock()
        lease = desk.claim(reviewer)
        claimed = clock() - start
        if lease is None:
            return claimed, False
        desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)
        return claimed, True

    return cycle, desk.close, []


def _probe_for_ceiling(spec: WorkerSpec) -> Probe:
    with ReviewDesk.open(spec.url) as desk:
        return probe_cycles(desk, f"r{spec.index}")


def _column(description: Any, name: str) -> int:
    return [c[0] for c in description].index(name)


def _pg_ceiling_cycle(spec: WorkerSpec) -> tuple[Cycle, Callable[[], None], list[str]]:
    probe = _probe_for_ceiling(spec)
    conn = psycopg.connect(spec.dsn, autocommit=True)
    cursor = conn.cursor()
    (claim_sql, claim_names), (decide_sql, decide_names) = (
        spec.statements["claim"],
        spec.statements["decide"],
    )
    # Everything not set per cycle (reviewer, ttl, the session and its limits, the verdict's
    # fields) is what ReviewDesk itself sent.
    claim_params = {name: probe.values[name] for name in claim_names}
    decide_params = {name: probe.values[name] for name in decide_names}
    clock = time.perf_counter
    where: dict[str, int] = {}

    def cycle() -> tuple[float, bool]:
        lease_id = str(uuid.uuid4())
        claim_params["lease_id"] = lease_id
        start = clock()
        cursor.execute(claim_sql, claim_params)
        row = cursor.fetchone()
        claimed = clock() - start
        if not where:
            where.update(
                (name, _column(cursor.description, name)) for name in ("id", "draft", "category")
            )
        if row is None or row[where["id"]] is None:
            return claimed, False
        decide_params.update(
            key=uuid.uuid4().hex,
            draft_key=row[where["id"]],
            lease_id=lease_id,
            final_text=row[where["draft"]],
            category=row[where["category"]],
        )
        cursor.execute(decide_sql, decide_params)
        outcome = cursor.fetchone()
        if outcome is None or outcome[0] != "accepted":
            raise RuntimeError(f"decision not accepted: {outcome}")
        return claimed, True

    notes = _mirror_notes(probe, [claim_sql, decide_sql])
    return cycle, conn.close, notes


def _sqlite_time(value: datetime) -> str:
    """How SQLAlchemy's SQLite DATETIME stores an aware UTC time (naive, microseconds)."""
    return f"{value.astimezone(UTC).replace(tzinfo=None):%Y-%m-%d %H:%M:%S.%f}"


def _sqlite_connect(path: str) -> sqlite3.Connection:
    """A connection set up as ReviewDesk's engine sets up its own (storage/engine.py)."""
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _sqlite_ceiling_cycle(spec: WorkerSpec) -> tuple[Cycle, Callable[[], None], list[str]]:
    """SqliteQueueStore's claim and decide transactions, statement for statement."""
    probe = _probe_for_ceiling(spec)
    idle = probe.values["now"] - probe.values["idle_after"]  # the session's idle cutoff
    defaults = {
        k: _sqlite_time(v) if isinstance(v, datetime) else v for k, v in probe.values.items()
    }
    conn = _sqlite_connect(spec.dsn)
    st = spec.statements
    sent: list[str] | None = []  # the first cycle's statements, for the mirror check
    clock = time.perf_counter

    def run(name: str, values: Mapping[str, Any]) -> sqlite3.Cursor:
        sql_text, order = st[name]
        if sent is not None:
            sent.append(sql_text)
        return conn.execute(sql_text, tuple(values[p] for p in order))

    def claim() -> tuple[int, str, str, str] | None:
        now = datetime.now(UTC)
        at = _sqlite_time(now)
        values = {
            **defaults,
            "lease_id": str(uuid.uuid4()),
            "now": at,
            "expires": _sqlite_time(now + timedelta(seconds=LEASE_TTL)),
            "idle_after": _sqlite_time(now - idle),
            "exclude_1": -1,
        }
        conn.execute("BEGIN IMMEDIATE")
        try:
            if run("session_fence", values).fetchone() is None:
                raise RuntimeError("the session fence failed")
            picked = run("claim_pick", values).fetchone()
            if picked is None:
                conn.execute("COMMIT")
                return None
            draft_key, previous_owner = picked
            take = run("claim_take", {**values, "draft_key": draft_key})
            row = take.fetchone()
            epoch = row[_column(take.description, "lease_epoch")]
            event_values = {**values, "draft_key": draft_key, "now": at}
            if previous_owner is not None:
                run(
                    "event",
                    {
                        **event_values,
                        "kind": "expired",
                        "actor": previous_owner,
                        "epoch": epoch - 1,
                    },
                )
            run(
                "event",
                {**event_values, "kind": "claimed", "actor": values["reviewer"], "epoch": epoch},
            )
            run("session_claimed", values)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        names = [c[0] for c in take.description]
        draft, category = row[names.index("draft")], row[names.index("category")]
        return draft_key, str(values["lease_id"]), draft, category

    def decide(draft_key: int, lease_id: str, draft: str, category: str) -> None:
        values = {
            **defaults,
            "draft_key": draft_key,
            "lease_id": lease_id,
            "final_text": draft,
            "category": category,
            "key": uuid.uuid4().hex,
            "now": _sqlite_time(datetime.now(UTC)),
        }
        conn.execute("BEGIN IMMEDIATE")
        try:
            if run("prior", values).fetchone() is not None:
                raise RuntimeError("unexpected replay")
            fenced = run("fence_decide", values).fetchone()
            if fenced is None:
                raise RuntimeError("lease lost")
            epoch = fenced[0]
            session = run("session_fast_run", values).fetchone()
            fast_run = session[0] if session else 0
            low = bool(values["fast"]) and fast_run + 1 >= int(values["fast_flag_at"])
            run("insert_decision", {**values, "epoch": epoch, "low_attention": low})
            run("attempt", {**values, "outcome": "accepted", "detail": None})
            run(
                "event",
                {**values, "kind": "decided", "actor": values["reviewer"], "epoch": epoch},
            )
            run("session_count", values)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def cycle() -> tuple[float, bool]:
        nonlocal sent
        start = clock()
        lease = claim()
        claimed = clock() - start
        if lease is None:
            return claimed, False
        decide(*lease)
        if sent is not None:
            notes.extend(_mirror_notes(probe, sent))
            sent = None
        return claimed, True

    notes: list[str] = []
    return cycle, conn.close, notes


def _check_durability(spec: WorkerSpec) -> None:
    """Refuse to measure anything but durable commits, on the connections the mode uses."""
    if spec.engine == "sqlite":
        if spec.mode == "reviewdesk":
            engines = create_engines(resolve_target(spec.url))
            try:
                with engines.write.connect() as conn:
                    sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
                    journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            finally:
                engines.dispose()
        else:
            with closing(_sqlite_connect(spec.dsn)) as raw:
                sync = raw.execute("PRAGMA synchronous").fetchone()[0]
                journal = raw.execute("PRAGMA journal_mode").fetchone()[0]
        if (sync, journal) != (2, "wal"):
            raise RuntimeError(f"SQLite synchronous={sync}, journal_mode={journal}: need 2, wal")
        return
    with psycopg.connect(spec.dsn) as pg:
        value = pg.execute("SHOW synchronous_commit").fetchone()
    if value is None or value[0] == "off":
        raise RuntimeError("synchronous_commit is off: only durable commits are measured")


def worker_main(
    spec: WorkerSpec,
    ready: mp.Queue[list[int]],  # the worker's pid, once it is ready
    go: EventType,
    window: Any,  # a shared array of doubles: (start, measure from, end), time.monotonic()
    results: mp.Queue[WorkerResult],
    stop: EventType,  # set once the parent has measured: only then let the connections go
) -> None:
    """One reviewer process: set up, report ready, wait for go, cycle until the window ends."""
    result = WorkerResult(spec.index)
    close: Callable[[], None] = lambda: None  # noqa: E731
    try:
        hermetic_env(spec.home)
        _check_durability(spec)
        if spec.mode == "reviewdesk":
            cycle, close, notes = _reviewdesk_cycle(spec)
        elif spec.engine == "postgresql":
            cycle, close, notes = _pg_ceiling_cycle(spec)
        else:
            cycle, close, notes = _sqlite_ceiling_cycle(spec)
        ready.put([os.getpid()])
        go.wait()
        begin, measure_from, end = window[0], window[1], window[2]
        while time.monotonic() < begin:
            time.sleep(0.001)
        latencies = array("d")
        now = time.monotonic
        while (started := now()) < end:
            claim_s, claimed = cycle()
            finished = now()
            if not claimed:
                result.empty_claims += 1
                continue
            result.cycles_total += 1
            if started >= measure_from:
                latencies.append(claim_s)
            if measure_from <= finished <= end:
                result.cycles_in_window += 1
        result.latencies = latencies.tobytes()
        result.mirror_notes = notes
        stop.wait(timeout=60)
    except BaseException:
        result.error = traceback.format_exc()
        ready.put([])  # never leave the parent waiting for a dead worker
    finally:
        try:
            close()
        finally:
            results.put(result)


# -- one measurement -------------------------------------------------------------------------
@dataclass(frozen=True)
class CpuSample:
    at: float  # time.monotonic()
    busy: float  # CPU seconds the whole machine has been busy (all but idle and iowait)
    clients: dict[int, float]  # CPU seconds of each reviewer process
    servers: dict[int, float]  # CPU seconds of each PostgreSQL server process serving them


def _process_cpu(pid: int) -> float | None:
    """CPU seconds a process has run (nanosecond schedstat), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            return int(fh.read().split()[0]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _local_ports(pids: Sequence[int]) -> set[int]:
    """The local TCP ports of the sockets the processes hold."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(int(link[8:-1]))
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                for line in fh.readlines()[1:]:
                    fields = line.split()
                    if int(fields[9]) in inodes:
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except (OSError, IndexError, ValueError):
            continue
    return ports


def server_processes(client_pids: Sequence[int]) -> list[int]:
    """The PostgreSQL server processes connected to these clients (their titles name the
    client's address and port: ``postgres: ... 127.0.0.1(54321) idle``)."""
    ports = _local_ports(client_pids)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                title = fh.read().decode(errors="replace")
        except OSError:
            continue
        match = re.search(r"\((\d+)\)", title) if title.startswith("postgres:") else None
        if match and int(match.group(1)) in ports:
            found.append(int(entry))
    return found


def _cpu_of(pids: Sequence[int]) -> dict[int, float]:
    return {pid: cpu for pid in pids if (cpu := _process_cpu(pid)) is not None}


def cpu_sample(clients: Sequence[int] = ()) -> CpuSample:
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    return CpuSample(
        at=time.monotonic(),
        busy=busy,
        clients=_cpu_of(clients),
        servers=_cpu_of(server_processes(clients)) if clients else {},
    )


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two samples; a process that appeared in between counts whole
    (it started in the window), one that disappeared is left out."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def wait_for_quiet(max_busy: float, timeout: float) -> float:
    """Wait (up to ``timeout`` s) until other processes leave the machine mostly idle: the busy
    share of all cores over 2 s at most ``max_busy``. Returns the last share seen."""
    deadline = time.monotonic() + timeout
    while True:
        before = cpu_sample()
        time.sleep(2.0)
        after = cpu_sample()
        share = (after.busy - before.busy) / ((after.at - before.at) * (os.cpu_count() or 1))
        if share <= max_busy or time.monotonic() >= deadline:
            return share


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def run_cycles(
    *,
    engine: str,
    mode: str,
    clients: int,
    url: str,
    dsn: str,
    home: str,
    statements: Statements,
    seconds: float,
    warmup: float,
    logins: Sequence[str] = (),
) -> RunResult:
    """Run ``clients`` reviewer processes at once and gather what they measured. With
    ``logins``, ReviewDesk worker i connects as login i, which is also its reviewer name."""
    ctx = mp.get_context("spawn")
    ready: mp.Queue[list[int]] = ctx.Queue()
    results: mp.Queue[WorkerResult] = ctx.Queue()
    go = ctx.Event()
    stop = ctx.Event()
    window = ctx.Array("d", 3, lock=False)
    procs = []
    for i in range(clients):
        spec = WorkerSpec(i, engine, mode, url, dsn, home, statements)
        if logins:
            login_url = make_url(url).set(username=logins[i])
            spec = WorkerSpec(
                i, engine, mode, login_url.render_as_string(hide_password=False), dsn, home,
                statements, reviewer=logins[i],
            )  # fmt: skip
        proc = ctx.Process(target=worker_main, args=(spec, ready, go, window, results, stop))
        proc.start()
        procs.append(proc)
    collected: list[WorkerResult] = []
    client_pids: list[int] = []
    try:
        for _ in range(clients):
            client_pids += ready.get(timeout=300)
        start = time.monotonic() + 0.05
        window[0], window[1], window[2] = start, start + warmup, start + warmup + seconds
        go.set()
        time.sleep(max(0.0, window[1] - time.monotonic()))
        before = cpu_sample(client_pids)
        time.sleep(max(0.0, window[2] - time.monotonic()))
        after = cpu_sample(client_pids)
        stop.set()
        for _ in range(clients):
            collected.append(results.get(timeout=warmup + seconds + 300))
    except queue.Empty:
        raise RuntimeError("a worker did not report in time") from None
    finally:
        go.set()
        stop.set()
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.terminate()
    errors = [r.error for r in collected if r.error]
    if errors:
        raise RuntimeError(f"{len(errors)} worker(s) failed; first:\n{errors[0]}")
    latencies: list[float] = []
    for r in collected:
        values = array("d")
        values.frombytes(r.latencies)
        latencies.extend(values)
    latencies.sort()
    return RunResult(
        cycles_in_window=sum(r.cycles_in_window for r in collected),
        latencies=latencies,
        empty_claims=sum(r.empty_claims for r in collected),
        cycles_total=sum(r.cycles_total for r in collected),
        mirror_notes=min(collected, key=lambda r: r.index).mirror_notes,
        cpu=(before, after),
    )


# -- machine facts ---------------------------------------------------------------------------
def source_fingerprint() -> str:
    """The commit and a digest of the reviewdesk sources measured (other people edit the tree
    while benchmarks run: a changed digest at the end means the run measured mixed code)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted((root / "reviewdesk").rglob("*.py")):
        digest.update(path.read_bytes())
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = "unknown"
    return f"commit {head}, sources sha256 {digest.hexdigest()[:12]}"


def machine_facts(engines: list[str], pg_url: str, tmpdir: Path) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts = {
        "code": source_fingerprint(),
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "psycopg": psycopg.__version__,
        "sqlite_tmpdir": str(tmpdir),
    }
    if "postgresql" in engines:
        url = make_url(pg_url)
        with psycopg.connect(pg_dsn(url)) as conn:
            settings = {}
            for name in (
                "server_version",
                "synchronous_commit",
                "fsync",
                "wal_sync_method",
                "autovacuum",
                "shared_buffers",
            ):
                row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
                settings[name] = str(row[0]) if row else "?"
        facts["postgresql"] = settings["server_version"]
        facts["postgresql_settings"] = ", ".join(
            f"{name}={value}" for name, value in settings.items() if name != "server_version"
        )
        facts["postgresql_url"] = url.render_as_string(hide_password=True)
        if settings["synchronous_commit"] == "off":
            raise SystemExit("synchronous_commit is off on the server: refusing to benchmark")
    return facts


# -- targets and report ----------------------------------------------------------------------
def _find(summary: Summary, engine: str, mode: str, clients: int) -> Measurement | None:
    for m in summary.measurements:
        if (m.engine, m.mode, m.clients) == (engine, mode, clients):
            return m
    return None


def evaluate_targets(summary: Summary) -> None:
    def add(
        name: str,
        value: float | None,
        target: float,
        higher: bool,
        unit: str,
        *measured: Measurement | None,
    ) -> None:
        met = None if value is None else (value >= target if higher else value <= target)
        others = max((m.cpu_others for m in measured if m), default=0.0)
        summary.targets.append(
            {
                "target": name,
                "value": value,
                "goal": f"{'>=' if higher else '<='} {target:g} {unit}",
                "met": met,
                "others_cpu": others,
            }
        )

    for engine, rates in summary.enqueue.items():
        value = statistics.median(rates) if rates else None
        add(f"{engine} enqueue (median of loads)", value, TARGET_ENQUEUE, True, "drafts/s")
    rd32 = _find(summary, "postgresql", "reviewdesk", 32)
    ce32 = _find(summary, "postgresql", "ceiling", 32)
    if rd32:
        add(
            "postgresql cycles/s, 32 reviewers",
            rd32.cycles_per_s,
            TARGET_PG_CYCLES_32,
            True,
            "/s",
            rd32,
        )
    if rd32 and ce32:
        add(
            "postgresql ReviewDesk/ceiling, 32 reviewers",
            rd32.cycles_per_s / ce32.cycles_per_s,
            TARGET_PG_RATIO_32,
            True,
            "",
            rd32,
            ce32,
        )
    rd8 = _find(summary, "postgresql", "reviewdesk", 8)
    if rd8:
        add(
            "postgresql claim p50, 8 reviewers", rd8.claim_p50_ms, TARGET_P50_MS_8, False, "ms", rd8
        )
        add(
            "postgresql claim p99, 8 reviewers", rd8.claim_p99_ms, TARGET_P99_MS_8, False, "ms", rd8
        )
    sq1 = _find(summary, "sqlite", "reviewdesk", 1)
    if sq1:
        add(
            "sqlite durable cycles/s, 1 reviewer",
            sq1.cycles_per_s,
            TARGET_SQLITE_CYCLES,
            True,
            "/s",
            sq1,
        )


def _fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def print_report(summary: Summary) -> None:
    print()
    print("== Enqueue (one desk.submit call per load, validation included) ==")
    print(f"{'engine':<11} {'median/s':>10} {'min/s':>10} {'max/s':>10} {'loads':>6}   target")
    for engine, rates in summary.enqueue.items():
        median = statistics.median(rates)
        verdict = "met" if median >= TARGET_ENQUEUE else "MISSED"
        print(
            f"{engine:<11} {median:>10,.0f} {min(rates):>10,.0f} {max(rates):>10,.0f} "
            f"{len(rates):>6}   >= {TARGET_ENQUEUE:,.0f}: {verdict}"
        )
    print()
    print(f"== Claim+decide cycles ({summary.seconds:g} s window, {summary.warmup:g} s warmup) ==")
    header = (
        f"{'engine':<11} {'N':>3} {'cycles/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'ceiling/s':>10} {'c.p50 ms':>9} {'c.p99 ms':>9} {'ratio':>6}"
    )
    print(header)
    seen: list[tuple[str, int]] = []
    for m in summary.measurements:
        if (m.engine, m.clients) not in seen:
            seen.append((m.engine, m.clients))
    for engine, clients in seen:
        rd = _find(summary, engine, "reviewdesk", clients)
        ce = _find(summary, engine, "ceiling", clients)
        ratio = rd.cycles_per_s / ce.cycles_per_s if rd and ce and ce.cycles_per_s else None
        cells = [_fmt(None)] * 6
        if rd:
            cells[:3] = [_fmt(rd.cycles_per_s), _fmt(rd.claim_p50_ms, 2), _fmt(rd.claim_p99_ms, 2)]
        if ce:
            cells[3:] = [_fmt(ce.cycles_per_s), _fmt(ce.claim_p50_ms, 2), _fmt(ce.claim_p99_ms, 2)]
        print(
            f"{engine:<11} {clients:>3} {cells[0]:>9} {cells[1]:>8} {cells[2]:>8} "
            f"{cells[3]:>10} {cells[4]:>9} {cells[5]:>9} {_fmt(ratio, 2):>6}"
        )
    print()
    print("== CPU per cycle, and the share of all cores used during each measured window ==")
    print("   (client: the reviewer processes; server: their PostgreSQL server processes;")
    print("    others: every other process on the machine, PostgreSQL's background work included)")
    print(
        f"{'engine':<11} {'mode':<11} {'N':>3} {'client ms':>10} {'server ms':>10} "
        f"{'ours':>6} {'others':>7} {'pending left':>13}"
    )
    for m in summary.measurements:
        print(
            f"{m.engine:<11} {m.mode:<11} {m.clients:>3} {m.client_cpu_ms:>10.2f} "
            f"{m.server_cpu_ms:>10.2f} {m.cpu_ours:>6.0%} {m.cpu_others:>7.0%} "
            f"{m.pending_after:>13,}"
        )
    print()
    print("== Ceiling statements compared with one steady-state ReviewDesk cycle ==")
    for engine, notes in summary.mirror_notes.items():
        if not notes:
            print(f"{engine}: the ceiling sends exactly the statements ReviewDesk sends")
        for note in notes:
            print(f"{engine}: {note}")
    print()
    print("== Targets ==")
    for t in summary.targets:
        value = t["value"]
        shown = "n/a" if value is None else (f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
        status = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        if t["others_cpu"] > NOISY:
            status += f" (other processes used {t['others_cpu']:.0%} of the cores meanwhile)"
        print(f"{t['target']:<46} {shown:>10}  (target {t['goal'].strip()}): {status}")


# -- main ------------------------------------------------------------------------------------
def measure_pair(
    engine: str,
    clients: int,
    args: argparse.Namespace,
    records: list[dict[str, Any]],
    work: Path,
    home: Path,
    summary: Summary,
) -> list[Measurement]:
    """ReviewDesk, then the ceiling, with ``clients`` reviewers, each on a fresh database
    loaded the same way. Both databases are loaded first, so the two runs follow each other
    closely and see the same machine."""
    with (
        fresh_database(engine, args.pg_url, work) as (url, dsn),
        fresh_database(engine, args.pg_url, work) as (ceiling_url, ceiling_dsn),
    ):
        targets = {"reviewdesk": (url, dsn), "ceiling": (ceiling_url, ceiling_dsn)}
        rates = {}
        for mode, (mode_url, mode_dsn) in targets.items():
            rates[mode] = load_queue(mode_url, records)
            summary.enqueue[engine].append(rates[mode])
            settle(engine, mode_dsn)
        statements = ceiling_statements(ceiling_url)
        if args.quiet_wait > 0:
            busy = wait_for_quiet(args.quiet_busy, args.quiet_wait)
            if busy > args.quiet_busy:
                print(f"  (the machine stayed busy: {busy:.0%} of all cores used by others)")
        measurements = []
        for mode, (mode_url, mode_dsn) in targets.items():
            # --logins: each ReviewDesk reviewer is a reviewer role of its own (security on).
            logins = clients if (args.logins and mode == "reviewdesk") else 0
            with team_logins(mode_url, logins) as names:
                load_before = os.getloadavg()[0]
                run = run_cycles(
                    engine=engine,
                    mode=mode,
                    clients=clients,
                    url=mode_url,
                    dsn=mode_dsn,
                    home=str(home),
                    statements=statements if mode == "ceiling" else {},
                    seconds=args.seconds,
                    warmup=args.warmup,
                    logins=names,
                )
                load_after = os.getloadavg()[0]
            pending, decided = queue_counts(mode_url)
            measurements.append(
                _measurement(
                    engine,
                    mode + ("+logins" if names else ""),
                    clients,
                    args,
                    rates[mode],
                    run,
                    (pending, decided),
                    (load_before, load_after),
                )
            )
            if mode == "ceiling" and engine not in summary.mirror_notes:
                summary.mirror_notes[engine] = run.mirror_notes
    return measurements


@contextmanager
def team_logins(url: str, count: int) -> Iterator[list[str]]:
    """``count`` reviewer logins on the installation at ``url`` (PostgreSQL), dropped after."""
    if count == 0:
        yield []
        return
    suffix = uuid.uuid4().hex[:8]
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    made: list[str] = []
    try:
        with engine.connect() as conn:
            inst = security_sql.installation(conn)
            for i in range(count):
                made.append(
                    security_sql.add_member(
                        conn, inst, f"bench_r{i}_{suffix}", "reviewer", uuid.uuid4().hex
                    )
                )
        yield made
    finally:
        with engine.connect() as conn:
            for login in made:
                conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{login}"')
        engine.dispose()


def _measurement(
    engine: str,
    mode: str,
    clients: int,
    args: argparse.Namespace,
    rate: float,
    run: RunResult,
    counts: tuple[int, int],  # pending and decided drafts after the run
    load_average: tuple[float, float],
) -> Measurement:
    pending, decided = counts
    expected = run.cycles_total + PROBE_CYCLES * clients
    if decided != expected:
        raise RuntimeError(f"workers counted {expected} decisions, the database {decided}")
    if run.empty_claims or pending < args.drafts // 10:
        print(
            f"  WARNING: the queue ran (nearly) dry: {run.empty_claims} empty claims, "
            f"{pending:,} pending left; the figures below are not valid"
        )
    lat = run.latencies
    before, after = run.cpu
    capacity = (after.at - before.at) * (os.cpu_count() or 1)
    clients_s = cpu_used(before.clients, after.clients)
    servers_s = cpu_used(before.servers, after.servers)
    cycles = run.cycles_in_window
    m = Measurement(
        engine=engine,
        mode=mode,
        clients=clients,
        seconds=args.seconds,
        cycles=run.cycles_in_window,
        cycles_per_s=run.cycles_in_window / args.seconds,
        claim_p50_ms=percentile(lat, 0.50) * 1000,
        claim_p99_ms=percentile(lat, 0.99) * 1000,
        claim_mean_ms=statistics.fmean(lat) * 1000 if lat else 0.0,
        claims_measured=len(lat),
        empty_claims=run.empty_claims,
        enqueue_drafts_per_s=rate,
        pending_after=pending,
        decided_after=decided,
        load_average=load_average,
        cpu_ours=round((ours := clients_s + servers_s) / capacity, 3),
        cpu_others=round(max(0.0, (after.busy - before.busy) - ours) / capacity, 3),
        client_cpu_ms=round(clients_s * 1000 / cycles, 3) if cycles else 0.0,
        server_cpu_ms=round(servers_s * 1000 / cycles, 3) if cycles else 0.0,
    )
    print(
        f"  {engine:<10} {mode:<10} N={clients:<3} load {rate:>7,.0f} drafts/s | "
        f"{m.cycles_per_s:>7,.0f} cycles/s  claim p50 {m.claim_p50_ms:6.2f} ms  "
        f"p99 {m.claim_p99_ms:7.2f} ms | CPU/cycle client {m.client_cpu_ms:.2f} ms "
        f"server {m.server_cpu_ms:.2f} ms | cores: ours {m.cpu_ours:.0%} "
        f"others {m.cpu_others:.0%}",
        flush=True,
    )
    return m


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated reviewer counts")
    parser.add_argument("--drafts", type=int, default=100_000, help="queue size per database")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured start of each run")
    parser.add_argument(
        "--pg-url", default=os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL, help="PostgreSQL URL"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="the Bitext CSV (gz); default: shared/data beside the repository",
    )
    parser.add_argument("--tmpdir", default=None, help="local-disk folder for SQLite files")
    parser.add_argument("--json", action="store_true", help="also print a JSON summary")
    parser.add_argument(
        "--without-notify",
        action="store_true",
        help="drop the change-notification triggers (PostgreSQL) before each run: the "
        "figures without their cost",
    )
    parser.add_argument(
        "--logins",
        action="store_true",
        help="PostgreSQL: each ReviewDesk reviewer logs in as its own reviewer role, so that "
        "the database's rules bind it (row-level security, grants, triggers; docs/security.md)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each run wait up to this many seconds for other processes to go quiet",
    )
    parser.add_argument(
        "--quiet-busy",
        type=float,
        default=0.15,
        help="'quiet': other processes use at most this share of all cores (with --quiet-wait)",
    )
    args = parser.parse_args(argv)
    args.engine_list = [e.strip() for e in args.engines.split(",") if e.strip()]
    args.client_list = [int(c) for c in args.clients.split(",") if c.strip()]
    unknown = set(args.engine_list) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    if not args.client_list or min(args.client_list) < 1:
        parser.error("--clients needs positive integers")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global WITHOUT_NOTIFY  # one switch for the whole run
    WITHOUT_NOTIFY = args.without_notify
    # A terminated run still drops its schemas and files (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="reviewdesk-bench-", dir=args.tmpdir))
    home = work / "home"
    hermetic_env(str(home))
    try:
        summary = Summary(
            command=" ".join([os.path.relpath(sys.executable), *sys.argv]),
            date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            machine=machine_facts(args.engine_list, args.pg_url, work),
            drafts=args.drafts,
            seconds=args.seconds,
            warmup=args.warmup,
        )
        print(f"Queue throughput benchmark, {summary.date}")
        print(f"  command: {summary.command}")
        for key, value in summary.machine.items():
            print(f"  {key}: {value}")
        print(
            f"  drafts per queue: {args.drafts:,}; window {args.seconds:g} s after "
            f"{args.warmup:g} s warmup; clients {args.client_list}; lease ttl {LEASE_TTL:g} s"
        )
        records = make_records(read_rows(args.data), args.drafts, SEED)
        for engine in args.engine_list:
            summary.enqueue[engine] = []
            for clients in args.client_list:
                summary.measurements += measure_pair(
                    engine, clients, args, records, work, home, summary
                )
        evaluate_targets(summary)
        code_after = source_fingerprint()
        if code_after.rsplit(" ", 1)[1] != summary.machine["code"].rsplit(" ", 1)[1]:
            summary.machine["code_after"] = code_after
            print(f"  WARNING: the reviewdesk sources changed during the run ({code_after})")
        print_report(summary)
        if args.json:
            print()
            print(json.dumps(asdict(summary), indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
