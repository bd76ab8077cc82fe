"""What one claim+decide cycle costs on PostgreSQL, for a reviewer who logs in as themselves.

One ReviewDesk reviewer (a reviewer login of its own, so that every rule binds it) runs
``--cycles`` claim+decide cycles on a queue of Bitext drafts, after ``--warmup`` unmeasured
ones. Per cycle it reports:

- statements and round trips the client sent (psycopg's execute, counted: every statement is
  one round trip; the change notifications after a commit are counted too),
- rows inserted and updated, per table (``pg_stat_user_tables``, read after the reviewer's
  connections closed, which flushes their counts),
- function calls and their time, per function: the state-changing functions and every trigger
  (``pg_stat_user_functions``, with ``track_functions = 'all'`` set for the login),
- the server's time inside the claim and decision functions (self and total).

Run from the repository root::

    .venv/bin/python benchmarks/cycle_cost.py \
        --data ../shared/data/bitext_customer_support_gpt3.5_6480.csv.gz

PostgreSQL from ``--pg-url`` (default ``postgresql+psycopg://root@127.0.0.1:5432/test``, a
superuser: it sets ``track_functions`` for the login); a schema of its own, dropped after.

With ``--routed``, every category is under a review policy (AOQL 2%, f = 1/10) before the
drafts are submitted: each draft is routed for review in screening, and each decision counts
toward its cell's plan.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from queue_throughput import (
    BENCH_LIMITS,
    DEFAULT_DATA,
    DEFAULT_PG_URL,
    fresh_database,
    make_records,
    read_rows,
)
from statement_count import psycopg_statements

from reviewdesk import ReviewDesk
from reviewdesk.storage import security_sql

REVIEW_SECONDS = 20.0


def table_counts(owner: Any) -> dict[str, tuple[int, int]]:
    with owner.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(
            text(
                "SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema()"
            )
        )
        return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def function_counts(owner: Any) -> dict[str, tuple[int, float, float]]:
    with owner.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(
            text(
                "SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions "
                "WHERE schemaname = current_schema()"
            )
        )
        return {str(r[0]): (int(r[1]), float(r[2]), float(r[3])) for r in rows}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--drafts", type=int, default=5000)
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument(
        "--routed",
        action="store_true",
        help="put every category under a review policy first, so that each decision counts",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    records = make_records(read_rows(args.data), args.drafts, seed=7)
    with fresh_database("postgresql", args.pg_url, Path("/tmp")) as (url, _dsn):
        with ReviewDesk.open(url, upgrade=True) as root:
            if args.routed:
                categories = sorted({r["category"] for r in records})
                root.submit(
                    [{"id": f"seed-{c}", "draft": "Seed.", "category": c} for c in categories]
                )
                for category in categories:
                    root.policies.set(
                        category, aoql=0.02, fraction=0.1, note="Benchmark.", by="lead"
                    )
            report = root.submit(records, source="benchmark")
            assert len(report.routings) == (len(records) if args.routed else 0)
            root.set_session_limits(BENCH_LIMITS)
        owner = create_engine(url, isolation_level="AUTOCOMMIT")
        login = f"cost_{uuid.uuid4().hex[:8]}"
        try:
            with owner.connect() as conn:
                inst = security_sql.installation(conn)
                security_sql.add_member(conn, inst, login, "reviewer", uuid.uuid4().hex)
                conn.execute(text(f"ALTER ROLE \"{login}\" SET track_functions = 'all'"))
            login_url = make_url(url).set(username=login).render_as_string(hide_password=False)
            with ReviewDesk.open(login_url) as desk:
                for _ in range(args.warmup):
                    lease = desk.claim(login)
                    assert lease is not None
                    desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)
            time.sleep(1.5)  # the closed connections' statistics reach the collector
            tables0, functions0 = table_counts(owner), function_counts(owner)
            sent: Counter[str] = Counter()
            desk = ReviewDesk.open(login_url)
            lease = desk.claim(login)  # connections made and first plans outside the window
            assert lease is not None
            desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)
            with psycopg_statements(lambda q: sent.update([" ".join(str(q).split())[:70]])):
                start = time.perf_counter()
                for _ in range(args.cycles):
                    lease = desk.claim(login)
                    assert lease is not None
                    desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)
                elapsed = time.perf_counter() - start
            desk.close()
            time.sleep(1.5)
            tables1, functions1 = table_counts(owner), function_counts(owner)
        finally:
            with owner.connect() as conn:
                conn.execute(text(f'DROP OWNED BY "{login}"'))
                conn.execute(text(f'DROP ROLE IF EXISTS "{login}"'))
            owner.dispose()
    n = args.cycles + 1  # the cycle before the window counted on the server too
    print(
        f"{args.cycles} cycles in {elapsed:.2f} s: {args.cycles / elapsed:.0f} cycles/s, one client"
    )
    print(f"\nstatements (= round trips) per cycle: {sum(sent.values()) / args.cycles:.2f}")
    for sql, count in sent.most_common():
        print(f"  {count / args.cycles:5.2f}  {sql}")
    print("\nrows written per cycle (inserted / updated):")
    for table in sorted(tables1):
        ins = (tables1[table][0] - tables0.get(table, (0, 0))[0]) / n
        upd = (tables1[table][1] - tables0.get(table, (0, 0))[1]) / n
        if ins or upd:
            print(f"  {table:20s} {ins:5.2f} / {upd:5.2f}")
    print("\nfunction and trigger calls per cycle (calls, self ms, total ms per call):")
    for name in sorted(functions1, key=lambda f: -functions1[f][2]):
        calls0, total0, self0 = functions0.get(name, (0, 0.0, 0.0))
        calls, total, self_ = functions1[name]
        if calls > calls0:
            per = calls - calls0
            print(
                f"  {name:28s} {per / n:5.2f}  {(self_ - self0) / per:6.3f}  "
                f"{(total - total0) / per:6.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
