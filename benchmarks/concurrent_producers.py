"""Routed enqueue on PostgreSQL with several producers submitting at once: the aggregate
drafts/s of N producer processes, each with its own login, submitting into the same sampled
cell (the worst shape of policy_sim.py's ``--dominant``: the queue's pending drafts are of the
sampled category, routed while its cell screened).

Each process opens its own ReviewDesk as its producer's login and submits ``--calls`` batches of
10,000 drafts of the sampled category; all start together (a barrier) and the aggregate is the
drafts of all of them over the time from the start to the last one's end. Each N runs
``--repeats`` times; medians. A schema and the logins of their own, dropped at the end.

    .venv/bin/python benchmarks/concurrent_producers.py --pg-url \
        postgresql+psycopg://root@127.0.0.1:5432/test [--producers 1 2 4] [--queue 1000000] \
        [--calls 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
import uuid
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

BATCH = 10_000
AOQL = 0.02
FRACTION = 0.1


def _producer(
    url: str, tag: str, calls: int, start: Barrier, out: Queue[tuple[float, float, int]]
) -> None:
    """One producer: ``calls`` routed submits of BATCH drafts, timed from the common start."""
    from reviewdesk import ReviewDesk

    with ReviewDesk.open(url) as desk:
        batches = [
            [{"id": f"{tag}-{c}-{i}", "draft": f"new draft {i}", "category": "on"}
             for i in range(BATCH)]
            for c in range(calls)
        ]  # fmt: skip
        start.wait()
        t0 = time.perf_counter()
        routed = 0
        for records in batches:
            routed += len(desk.submit(records).routings)
        out.put((t0, time.perf_counter(), routed))


def _run(urls: list[str], n: int, calls: int, tag: str) -> float:
    """The aggregate routed drafts/s of ``n`` producers at once."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(n)
    out: Queue[tuple[float, float, int]] = ctx.Queue()
    procs = [
        ctx.Process(target=_producer, args=(urls[k], f"{tag}-p{k}", calls, start, out))
        for k in range(n)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"a producer process failed (exit code {p.exitcode})")
    routed = sum(r for _, _, r in results)
    assert routed == n * calls * BATCH, routed
    began = min(t0 for t0, _, _ in results)
    ended = max(t1 for _, t1, _ in results)
    return float(routed / (ended - began))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--producers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--queue", type=int, default=1_000_000, help="pending drafts first")
    parser.add_argument("--calls", type=int, default=3, help="submits of 10,000 per producer")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import psycopg
    from bench_pg import drop_schema
    from sqlalchemy import create_engine, make_url, text

    from reviewdesk import ReviewDesk
    from reviewdesk.storage import security_sql

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    plain = args.pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    logins: list[str] = []
    try:
        sep = "&" if "?" in args.pg_url else "?"
        url = f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"
        print(f"PostgreSQL ({args.pg_url}, schema {schema})")
        with ReviewDesk.open(url, upgrade=True) as desk:
            desk.submit([{"id": "h0", "draft": "x", "category": "on"}])
            desk.policies.set("on", aoql=AOQL, fraction=FRACTION, note="bench", by="bench")
            for filled in range(0, args.queue, 20_000):
                step = min(20_000, args.queue - filled)
                # Screening: the pending drafts of the sampled category are routed for review.
                desk.submit(
                    {"id": f"q{i}", "draft": f"queued {i}", "category": "on"}
                    for i in range(filled, filled + step)
                )
            with desk.engines.write.begin() as conn:
                conn.execute(text("UPDATE policy_state SET phase = 'sampling'"))
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        urls = []
        with engine.connect() as conn:
            inst = security_sql.installation(conn)
            for _ in range(max(args.producers)):
                password = uuid.uuid4().hex
                login = security_sql.add_member(
                    conn, inst, f"bench_{uuid.uuid4().hex[:8]}", "producer", password
                )
                logins.append(login)
                urls.append(
                    make_url(url)
                    .set(username=login, password=password)
                    .render_as_string(hide_password=False)
                )
        engine.dispose()
        rates: dict[int, list[float]] = {n: [] for n in args.producers}
        # Alternating the N's, so that load on the machine hits each alike.
        for repeat in range(args.repeats):
            for n in args.producers:
                rates[n].append(_run(urls, n, args.calls, f"r{repeat}n{n}"))
        print(
            f"{args.queue:,} pending of the sampled category; each producer {args.calls} "
            f"submits of {BATCH:,} routed drafts; medians of {args.repeats}"
        )
        for n in args.producers:
            runs = ", ".join(f"{r:,.0f}" for r in rates[n])
            print(
                f"  {n} producer(s) at once: {statistics.median(rates[n]):,.0f} routed drafts/s "
                f"in all ({runs})"
            )
    finally:
        drop_schema(args.pg_url, schema, logins)


if __name__ == "__main__":
    main()
