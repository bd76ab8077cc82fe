"""Where a routed submit's time goes on PostgreSQL: a producer's login submitting 10,000 drafts
of a category without a policy (off) and of one whose cell samples (on).

1. The client's steps of ``desk.submit`` (validation, the known ids, the batch's JSON, the
   ``rd_submit`` call, the rest), medians of ``--runs`` calls each.
2. ``rd_submit``'s statement alone: run by the installation's login as a plain statement, and
   called as a function by the installation's and by a producer's login (rolled back each time).
3. The statement without parts of the schema it writes, to see what each costs: each variant's
   DDL runs in the same transaction as the statement and is rolled back with it.
4. With ``--explain``: the statement's ``EXPLAIN (ANALYZE, BUFFERS)``, once (rolled back).

    .venv/bin/python benchmarks/submit_breakdown.py --pg-url \
        postgresql+psycopg://root@127.0.0.1:5432/test [--runs 9] [--explain]

A schema and a producer's login of their own, dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench_pg import drop_schema
from sqlalchemy import Engine, create_engine, make_url, text

from reviewdesk import ReviewDesk
from reviewdesk.core.intake import validate_records
from reviewdesk.services import desk as desk_module
from reviewdesk.storage import queue_pg, security_sql, submit_sql
from reviewdesk.storage.driver_sql import execute_batch

BATCH = 10_000
VARIANTS = {
    "as installed": [],
    "without policy_routing's foreign keys": [
        "ALTER TABLE policy_routing DROP CONSTRAINT policy_routing_policy_id_fkey",
        "ALTER TABLE policy_routing DROP CONSTRAINT policy_routing_draft_id_fkey",
    ],
    "without draft_event's foreign key": [
        "ALTER TABLE draft_event DROP CONSTRAINT draft_event_draft_id_fkey"
    ],
    "without ix_draft_stats, _thread, _submitted": [
        "DROP INDEX ix_draft_stats",
        "DROP INDEX ix_draft_thread",
        "DROP INDEX ix_draft_submitted",
    ],
}


def records(prefix: str, category: str) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}-{i}", "draft": f"new draft {i}", "category": category}
        for i in range(BATCH)
    ]


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:,.0f} ms"


def client_steps(producer_url: str, runs: int) -> None:
    times: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times.setdefault(name, []).append(time.perf_counter() - t0)

        return wrapper

    patched = [
        (desk_module, "validate_records"),
        (queue_pg, "known_pg"),
        (submit_sql, "_rows"),
        (submit_sql, "execute_batch"),
    ]
    saved = [(module, name, getattr(module, name)) for module, name in patched]
    names = ("validation", "known ids", "batch's JSON", "the call")
    try:
        for (module, name, fn), label in zip(saved, names, strict=True):
            setattr(module, name, timed(label, fn))
        with ReviewDesk.open(producer_url) as producer:
            for category in ("off", "on"):
                for key in names:
                    times.pop(key, None)
                totals = []
                for run in range(runs):
                    t0 = time.perf_counter()
                    producer.submit(records(f"steps-{category}{run}", category))
                    totals.append(time.perf_counter() - t0)
                # known_pg calls execute_batch too: the call is the other one.
                calls = times["the call"][1::2]
                rest = [
                    total - sum(times[k][i] for k in names[:3]) - calls[i]
                    for i, total in enumerate(totals)
                ]
                rate = BATCH / statistics.median(totals)
                print(
                    f"  {category}: submit {median_ms(totals)} ({rate:,.0f}"
                    f" drafts/s); validation {median_ms(times['validation'])}, known ids"
                    f" {median_ms(times['known ids'])}, JSON {median_ms(times[names[2]])},"
                    f" rd_submit {median_ms(calls)}, the rest {median_ms(rest)}"
                )
    finally:
        for module, name, fn in saved:
            setattr(module, name, fn)


def statement(owner: Engine, producer: Engine, runs: int, explain: bool) -> None:
    valid, _ = validate_records(records("stmt", "on"), source="bench")
    rows = submit_sql._rows(valid)
    plain = text(submit_sql.SUBMIT_ROUTED_PG.replace(":rows", "CAST(:rows AS json)"))
    ways: dict[str, tuple[Engine, Callable[[Any], object]]] = {
        "the installation, plain statement": (
            owner,
            lambda conn: conn.execute(plain, {"rows": rows}).all(),
        ),
        "the installation, rd_submit": (
            owner,
            lambda conn: execute_batch(
                conn, submit_sql.SUBMIT_CALL_PG, {"rows": rows, "now": None}
            ),
        ),
        "a producer, rd_submit": (
            producer,
            lambda conn: execute_batch(
                conn, submit_sql.SUBMIT_CALL_PG, {"rows": rows, "now": None}
            ),
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(runs):
        for name, (engine, run) in ways.items():
            with engine.connect() as conn:
                t0 = time.perf_counter()
                run(conn)
                times[name].append(time.perf_counter() - t0)
                conn.rollback()
    for name, values in times.items():
        print(f"  {name}: {median_ms(values)}")
    variants: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(runs):
        for name, ddl in VARIANTS.items():
            with owner.connect() as conn:
                for sql in ddl:
                    conn.execute(text(sql))
                t0 = time.perf_counter()
                conn.execute(plain, {"rows": rows}).all()
                variants[name].append(time.perf_counter() - t0)
                conn.rollback()
    for name, values in variants.items():
        print(f"  {name}: {median_ms(values)}")
    if explain:
        with owner.connect() as conn:
            plan = conn.execute(
                text(f"EXPLAIN (ANALYZE, BUFFERS) {plain.text}"), {"rows": rows}
            ).scalars()
            print("\n".join(plan))
            conn.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.pg_url else "?"
    url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
    login = f"bench_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    try:
        with ReviewDesk.open(url, upgrade=True) as desk:
            desk.submit([{"id": "h0", "draft": "x", "category": "on"}])
            desk.policies.set("on", aoql=0.02, fraction=0.1, note="bench", by="bench")
            desk.submit([{"id": "h1", "draft": "x", "category": "on"}])
            owner = desk.engines.write
            with owner.begin() as conn:
                conn.execute(text("UPDATE policy_state SET phase = 'sampling'"))
                security_sql.add_member(
                    conn, security_sql.installation(conn), login, "producer", password
                )
            producer_url = (
                make_url(url)
                .set(username=login, password=password)
                .render_as_string(hide_password=False)
            )
            print(f"1. A producer's desk.submit of {BATCH:,} drafts, medians of {args.runs}")
            client_steps(producer_url, args.runs)
            print(f"2. rd_submit's statement, {BATCH:,} drafts of the sampling cell")
            producer = create_engine(producer_url)
            try:
                statement(owner, producer, args.runs, args.explain)
            finally:
                producer.dispose()
    finally:
        admin.dispose()
        drop_schema(args.pg_url, schema, [login])


if __name__ == "__main__":
    main()
