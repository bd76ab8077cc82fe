"""What the statistics rollup triggers cost each decision: single-row decision inserts, each
committed alone, on a database at each of the given schema revisions (by default 0003, before the
reviewer grains; 0004, every statement through the grouped path; and the head), SQLite and
PostgreSQL.

    .venv/bin/python benchmarks/rollup_trigger_cost.py [--rounds 2] [--inserts 3000]

SQLite runs with synchronous=OFF so that the disk is left out and what remains is the
triggers' CPU. Revisions alternate within each round, so that a load change on the machine
touches both alike. Prints the median wall time (and this process's CPU time) per insert and,
when the PostgreSQL server runs on this machine, the server process's mean CPU time per insert.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from reviewdesk.storage import migrate
from reviewdesk.storage.engine import create_engines, resolve_target
from reviewdesk.storage.security_sql import drop_group_roles_sql

PG_URL = os.environ.get(
    "REVIEWDESK_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
START = datetime(2026, 3, 1, tzinfo=UTC)
DRAFT_COLUMNS = (
    "id, external_id, content_hash, draft, context, category, risk, model, confidence, "
    "priority, created_at, submitted_at, metadata, state, visible_at, lease_epoch"
)


def _time(at: datetime, postgres: bool) -> Any:
    # SQLite stores UtcDateTime as fixed-format text (storage/types.py).
    return at if postgres else at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _backend_cpu(pid: int | None) -> float:
    """CPU seconds the server process ``pid`` has run, 0 when it is not on this machine."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            return int(fh.read().split()[0]) / 1e9
    except OSError:
        return 0.0


def per_insert(url: str, revision: str, postgres: bool, inserts: int) -> tuple[float, float, float]:
    """Median wall and CPU microseconds of one committed decision insert at ``revision``, and
    the server's mean CPU microseconds per insert (0 on SQLite, or with a remote server)."""
    engines = create_engines(resolve_target(url), create=True)
    try:
        migrate.upgrade(engines.write, revision)
        raw = engines.write.raw_connection()
        cur = raw.cursor()
        backend = None
        if postgres:
            cur.execute("SELECT pg_backend_pid()")
            (backend,) = cur.fetchone() or (None,)
        mark = "%s" if postgres else "?"
        if not postgres:
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("BEGIN")
        at = _time(START, postgres)
        drafts = [
            (i, f"x{i}", "h", "t", "{}", ("refund", "shipping", "billing")[i % 3], "low",
             ("m1", "m2")[i % 2], (i % 100) / 100, 0, at, at, "{}", "decided", at, 1)
            for i in range(1, inserts + 1)
        ]  # fmt: skip
        # Only placeholders and this file's own column list go into the SQL text.
        marks = ", ".join([mark] * 16)
        cur.executemany(f"INSERT INTO draft ({DRAFT_COLUMNS}) VALUES ({marks})", drafts)  # noqa: S608
        raw.commit()
        insert = (
            "INSERT INTO decision (draft_id, reviewer, label, review_seconds, decided_at, "
            "lease_epoch, idempotency_key) VALUES (?, ?, 'approved', 12.5, ?, 1, ?)"
        ).replace("?", mark)
        wall: list[float] = []
        cpu: list[float] = []
        server_before = _backend_cpu(backend)
        for i in range(1, inserts + 1):
            decided = _time(START + timedelta(minutes=i), postgres)
            w0, c0 = time.perf_counter(), time.process_time()
            if not postgres:
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(insert, (i, f"rev{i % 40}", decided, uuid.uuid4().hex))
            raw.commit()
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
        server = (_backend_cpu(backend) - server_before) / inserts
        raw.close()
        return statistics.median(wall) * 1e6, statistics.median(cpu) * 1e6, server * 1e6
    finally:
        engines.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inserts", type=int, default=3000)
    parser.add_argument("--revisions", default="0003,0004,head", help="comma-separated")
    args = parser.parse_args()
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    for _ in range(args.rounds):
        for revision in args.revisions.split(","):
            with tempfile.TemporaryDirectory() as folder:
                wall, cpu, _ = per_insert(
                    f"sqlite:///{folder}/t.sqlite3", revision, False, args.inserts
                )
            print(
                f"sqlite     {revision:5} median per insert: wall {wall:6.1f} us, cpu {cpu:6.1f} us"
                f"  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            schema = f"tc_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                url = f"{PG_URL}?options=-csearch_path%3D{schema}"
                wall, cpu, server = per_insert(url, revision, True, args.inserts)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                    for statement in drop_group_roles_sql(admin.url.database or "", schema):
                        conn.execute(text(statement))
            print(
                f"postgresql {revision:5} median per insert: wall {wall:6.1f} us, client cpu "
                f"{cpu:6.1f} us, server cpu (mean) {server:6.1f} us"
                f"  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    admin.dispose()


if __name__ == "__main__":
    main()
