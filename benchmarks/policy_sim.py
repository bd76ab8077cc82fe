"""Review policies under simulated AI defect rates: the promise kept, the cost, the alarm, and
what routing costs a submit.

1. Constant defect rates (0.1% to 30%): ``--drafts`` drafts per rate (default 200,000) through
   the plan's own code (core/sampling_plan.py ``route``, core/drift.py ``after_decision``, the
   functions PolicyService runs on every routing and decision), with simulated reviewers whose
   decisions arrive ``--lag`` drafts after routing (a person takes minutes; meanwhile routing
   goes on with the state it has). A defect reviewed never goes out; a released bad draft does.
   Reported: the measured outgoing quality (bad drafts out / all drafts) with its 95% Wilson
   interval against the AOQL, the measured review share against the plan's theory (AFI), and
   drift alarms. A held cell (alarm) is reset by a lead ``--reset-after`` drafts later.
2. A step from 0.5% to 10% after a warm-up, ``--repeats`` times: drafts from the step until
   full review resumes (the cell in screening or held), and bad drafts released meanwhile;
   median and p95.
3. End to end on a SQLite file through ReviewDesk: the same plan on 20,000 drafts at 2%,
   submitted in batches with the queued ones claimed and decided after each batch (review share
   and outgoing quality as the database counted them). Then enqueue throughput, 10,000 drafts a
   call, routing off (a category without a policy) and on (a cell sampling), alternating on one
   database, on an empty queue and with ``--queue`` pending drafts; with ``--pg-url`` on
   PostgreSQL too (in a schema of its own, dropped at the end). ``--dominant``: the pending
   drafts are of the sampled category, routed while its cell screened (the worst realistic
   shape: its claim index and the routing table that large too); ``--producer``: PostgreSQL's
   calls are made by a producer's login, which row-level security binds (dropped at the end).

    .venv/bin/python benchmarks/policy_sim.py                # all of it
    .venv/bin/python benchmarks/policy_sim.py --skip-db      # the simulation only
    .venv/bin/python benchmarks/policy_sim.py --skip-sim --pg-url \
        postgresql+psycopg://root@127.0.0.1:5432/test        # the database parts, both engines
    .venv/bin/python benchmarks/policy_sim.py --skip-sim --skip-sqlite --enqueue-only \
        --queue 1000000 --dominant --producer --pg-url ...   # enqueue on PostgreSQL only
    ... --data ../shared/data/bitext_customer_support_gpt3.5_6480.csv.gz   # real drafts timed

The plan is AOQL 2%, f = 1/10 (i = 54), as in ``reviewdesk policy set CATEGORY --aoql 0.02
--fraction 0.1``. Seeds are fixed; the routing draws in the end-to-end part come from the
desk's CSPRNG.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from reviewdesk.core.drift import after_decision
from reviewdesk.core.sampling_plan import Phase, PlanState, Route, plan_for, route

AOQL = 0.02
FRACTION = 0.1
RATES = (0.001, 0.005, 0.01, 0.02, 0.05, 0.10, 0.30)
Z95 = 1.959963984540054


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p, z2 = k / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * ((p * (1 - p) / n + z2 / (4 * n * n)) ** 0.5) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


class Cell:
    """One cell under the plan, with reviewers whose decisions arrive ``lag`` drafts late."""

    def __init__(self, lag: int, reset_after: int, seed: int) -> None:
        self.plan = plan_for(AOQL, FRACTION)
        self.state = PlanState(Phase.SCREENING, 0)
        self.statistic = 0.0
        self.lag = lag
        self.reset_after = reset_after
        self.rng = random.Random(seed)
        self.pending: deque[tuple[int, bool, bool]] = deque()  # (due, defect, sampled)
        self.t = 0
        self.reviewed = self.out_bad = self.alarms = 0
        self.held_at: int | None = None

    def draft(self, p: float) -> Route:
        self.t += 1
        while self.pending and self.pending[0][0] <= self.t:
            _, defect, sampled = self.pending.popleft()
            after = after_decision(
                self.state,
                self.statistic,
                defect=defect,
                sampled=sampled,
                clearance=self.plan.clearance,
                aoql=AOQL,
            )
            if "alarm" in after.events:
                self.alarms += 1
                self.held_at = self.t
            self.state, self.statistic = after.state, after.statistic
        if self.held_at is not None and self.t - self.held_at >= self.reset_after:
            self.state, self.statistic, self.held_at = PlanState(Phase.SCREENING, 0), 0.0, None
        defect = self.rng.random() < p
        phase = self.state.phase
        where = route(phase, self.plan.fraction, self.rng.random())
        if where is Route.REVIEW:
            self.reviewed += 1
            self.pending.append((self.t + self.lag, defect, phase is Phase.SAMPLING))
        elif defect:
            self.out_bad += 1
        return where


def constant_rates(drafts: int, lag: int, reset_after: int) -> None:
    plan = plan_for(AOQL, FRACTION)
    print(
        f"\n1. Constant defect rates: {drafts:,} drafts each, decisions {lag} drafts late, "
        f"plan i={plan.clearance} f={plan.fraction:g} AOQL {AOQL:.1%}"
    )
    print("  rate    out bad (95% CI)          <= AOQL  review share  theory AFI  alarms")
    for n, p in enumerate(RATES):
        cell = Cell(lag, reset_after, seed=100 + n)
        for _ in range(drafts):
            cell.draft(p)
        low, high = wilson(cell.out_bad, drafts)
        aoq = cell.out_bad / drafts
        print(
            f"  {p:<6.1%}  {aoq:.3%} ({low:.3%}-{high:.3%})  {'yes' if aoq <= AOQL else 'NO':<7}"
            f"  {cell.reviewed / drafts:<12.1%}  {plan.afi(p):<10.1%}  {cell.alarms}"
        )


def step(repeats: int, warmup: int, lag: int, reset_after: int) -> None:
    print(
        f"\n2. Step from 0.5% to 10% after {warmup:,} drafts, {repeats} repetitions, "
        f"decisions {lag} drafts late"
    )
    until: list[int] = []
    bad: list[int] = []
    by_alarm = screening_at_step = 0
    for r in range(repeats):
        cell = Cell(lag, reset_after, seed=10_000 + r)
        for _ in range(warmup):
            cell.draft(0.005)
        start_bad, n = cell.out_bad, 0
        alarms_before = cell.alarms
        screening_at_step += cell.state.phase is not Phase.SAMPLING
        # Full review resumes when the cell leaves sampling (a sampled defect or the alarm).
        while True:
            n += 1
            cell.draft(0.10)
            if cell.state.phase is not Phase.SAMPLING:
                break
        by_alarm += cell.alarms > alarms_before
        until.append(n)
        bad.append(cell.out_bad - start_bad)
    q = statistics.quantiles
    print(
        f"  drafts until full review resumes: median {statistics.median(until):.0f}, "
        f"p95 {q(until, n=20)[-1]:.0f}, max {max(until)}"
    )
    print(
        f"  bad drafts released meanwhile:    median {statistics.median(bad):.0f}, "
        f"p95 {q(bad, n=20)[-1]:.0f}, max {max(bad)}"
    )
    print(
        f"  (not sampling at the step: {screening_at_step} of {repeats}; back by the drift "
        f"alarm rather than a sampled defect: {by_alarm} of {repeats})"
    )


def end_to_end(tmp: Path, drafts: int, queue_size: int) -> None:
    from reviewdesk import ReviewDesk
    from reviewdesk.core.sessions import SessionLimits

    print(f"\n3. End to end on SQLite ({tmp})")
    url = f"sqlite:///{tmp / 'policy.sqlite3'}"
    rng = random.Random(3)
    with ReviewDesk.open(url, upgrade=True) as desk:
        desk.set_session_limits(SessionLimits.off())
        desk.submit([{"id": "seed", "draft": "x", "category": "c"}])
        desk.policies.set("c", aoql=AOQL, fraction=FRACTION, note="sim", by="sim")
        bad_ids: set[str] = set()
        out_bad = reviewed = 0
        batch = 50
        for b in range(drafts // batch):
            records = []
            for k in range(batch):
                did = f"d{b}-{k}"
                if rng.random() < 0.02:
                    bad_ids.add(did)
                records.append({"id": did, "draft": f"draft {did}", "category": "c"})
            report = desk.submit(records)
            out_bad += sum(r.route is Route.RELEASED and r.id in bad_ids for r in report.routings)
            while (lease := desk.claim("sim")) is not None:
                reviewed += lease.draft.id != "seed"
                verdict = "reject" if lease.draft.id in bad_ids else "approve"
                desk.decide(lease, verdict, reason="other", review_seconds=10)
        view = desk.policies.show("c")[0].cells[0]
    total = drafts
    plan = plan_for(AOQL, FRACTION)
    low, high = wilson(out_bad, total)
    print(
        f"  {total:,} drafts at 2% (batches of 50, decided after each): review share "
        f"{reviewed / total:.1%} (database: {view.review_share:.1%}; theory {plan.afi(0.02):.1%}), "
        f"out bad {out_bad / total:.3%} ({low:.3%}-{high:.3%}), AOQL {AOQL:.0%}"
    )

    enqueue(f"sqlite:///{tmp / 'submit.sqlite3'}", "SQLite", queue_size)


# ``--data``: the timed batches' drafts carry a real draft's text, input, context, confidence and
# thread (benchmarks/queue_throughput.py reads them); no model version, so that the sampling
# cell's state routes them.
_TEMPLATES: list[dict[str, Any]] = []


def _fields(i: int) -> dict[str, Any]:
    if not _TEMPLATES:
        return {"draft": f"new draft {i}"}
    return dict(_TEMPLATES[i % len(_TEMPLATES)])


def enqueue(
    url: str,
    engine: str,
    queue_size: int,
    runs: int = 7,
    *,
    producer_url: str | None = None,
    dominant: bool = False,
) -> None:
    """Enqueue throughput with routing off and on, alternating on one database (so that load
    on the machine hits both alike): 10,000 drafts per call of a category without a policy,
    then of one whose cell is sampling; on an empty queue, then with ``queue_size`` pending.
    ``dominant``: the pending drafts are of the sampled category itself, routed (for review)
    while its cell was screening, so that its claim index and the routing table are that large
    too. ``producer_url``: the calls are made by a producer's login (row-level security binds
    it), the queue filled by the installation's."""
    from sqlalchemy import text

    from reviewdesk import ReviewDesk

    with ReviewDesk.open(url, upgrade=True) as desk:
        desk.submit([{"id": "h0", "draft": "x", "category": "on"}])
        desk.policies.set("on", aoql=AOQL, fraction=FRACTION, note="sim", by="sim")
        desk.submit([{"id": "h1", "draft": "x", "category": "on"}])
        filled = 0
        for size in (0, queue_size):
            while filled < size:
                step = min(20_000, size - filled)
                # Screening: a dominant category's pending drafts are all routed for review.
                desk.submit(
                    {
                        "id": f"q{i}",
                        "draft": f"queued {i}",
                        "category": "on" if dominant else "other",
                    }
                    for i in range(filled, filled + step)
                )
                filled += step
            with desk.engines.write.begin() as conn:
                conn.execute(text("UPDATE policy_state SET phase = 'sampling'"))
            with ReviewDesk.open(producer_url or url) as caller:
                times: dict[str, list[float]] = {"off": [], "on": []}
                for run in range(runs):
                    for category in ("off", "on"):
                        records = [
                            {"id": f"{size}-{category}{run}-{i}", **_fields(i),
                             "category": category}
                            for i in range(10_000)
                        ]  # fmt: skip
                        t0 = time.perf_counter()
                        report = caller.submit(records)
                        times[category].append(time.perf_counter() - t0)
                        assert len(report.routings) == (10_000 if category == "on" else 0)
            with desk.engines.write.begin() as conn:
                conn.execute(text("UPDATE policy_state SET phase = 'screening', clear_run = 0"))
            off, on = (10_000 / statistics.median(times[k]) for k in ("off", "on"))
            who = ", a producer's login" if producer_url else ""
            queue = f"{size:,} pending" + (" of the sampled category" if dominant and size else "")
            print(
                f"  {engine}{who}, {queue}: enqueue 10,000 drafts/call, routing off "
                f"{off:,.0f} drafts/s, on {on:,.0f} drafts/s ({on / off:.0%}; medians of {runs})"
            )


def postgres(url: str, queue_size: int, *, producer: bool, dominant: bool) -> None:
    import uuid

    import psycopg
    from bench_pg import drop_schema
    from sqlalchemy import create_engine, make_url

    from reviewdesk.storage import security_sql

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    login = None
    try:
        sep = "&" if "?" in url else "?"
        print(f"\n4. PostgreSQL ({url}, schema {schema})")
        schema_url = f"{url}{sep}options=-csearch_path%3D{schema}"
        producer_url = None
        if producer:
            from reviewdesk import ReviewDesk

            ReviewDesk.open(schema_url, upgrade=True).close()
            engine = create_engine(schema_url, isolation_level="AUTOCOMMIT")
            password = uuid.uuid4().hex
            with engine.connect() as conn:
                inst = security_sql.installation(conn)
                login = security_sql.add_member(
                    conn, inst, f"bench_{uuid.uuid4().hex[:8]}", "producer", password
                )
            engine.dispose()
            producer_url = (
                make_url(schema_url)
                .set(username=login, password=password)
                .render_as_string(hide_password=False)
            )
        enqueue(
            schema_url,
            "PostgreSQL",
            queue_size,
            producer_url=producer_url,
            dominant=dominant,
        )
    finally:
        drop_schema(url, schema, [login] if login is not None else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=200_000)
    parser.add_argument("--lag", type=int, default=50)
    parser.add_argument("--reset-after", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20_000)
    parser.add_argument("--e2e-drafts", type=int, default=20_000)
    parser.add_argument("--queue", type=int, default=200_000)
    parser.add_argument("--skip-db", action="store_true")
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--enqueue-only", action="store_true", help="of the database parts")
    parser.add_argument("--pg-url", help="also measure enqueue on this PostgreSQL database")
    # PostgreSQL: submit as a producer's login; the queue's drafts of the sampled category.
    parser.add_argument("--producer", action="store_true", help="as a producer's login")
    parser.add_argument("--dominant", action="store_true", help="pending: the sampled category")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL's parts only")
    parser.add_argument("--data", type=Path, help="enqueue real drafts from this CSV (gzip)")
    args = parser.parse_args()
    if args.data is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from queue_throughput import make_records, read_rows

        for record in make_records(read_rows(args.data), 10_000, seed=1):
            _TEMPLATES.append(
                {k: v for k, v in record.items() if k not in ("id", "category", "model")}
            )
    print(f"Python {sys.version.split()[0]}")
    t0 = time.perf_counter()
    if not args.skip_sim:
        constant_rates(args.drafts, args.lag, args.reset_after)
        step(args.repeats, args.warmup, args.lag, args.reset_after)
        print(f"  (simulation: {time.perf_counter() - t0:.0f} s)")
    if not args.skip_db and not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            if args.enqueue_only:
                print(f"\n3. Enqueue on SQLite ({tmp})")
                enqueue(
                    f"sqlite:///{Path(tmp) / 'submit.sqlite3'}",
                    "SQLite",
                    args.queue,
                    dominant=args.dominant,
                )
            else:
                end_to_end(Path(tmp), args.e2e_drafts, args.queue)
    if not args.skip_db and args.pg_url:
        postgres(args.pg_url, args.queue, producer=args.producer, dominant=args.dominant)


if __name__ == "__main__":
    main()
