"""Alert rules at scale: how long one evaluation takes on a large decided history.

Builds a queue of ``--decisions`` decided drafts spread evenly over the last ``--days`` days
(11 categories, or with ``--dominant SHARE`` one category taking that share of them and the
other ten the rest; 1 in 20 rejected, 1 in 200 escalated, some still open), plus ``--waiting``
drafts waiting, through the queue's own tables (bulk SQL, the rollup triggers firing as for any
decision), then times ``AlertService.evaluate()`` ``--runs`` times and prints p50 and max. A lead's
desk evaluates every minute on its worker, and ``reviewdesk watch`` at its interval.

    .venv/bin/python benchmarks/alerts_scale.py --engines sqlite,postgresql --decisions 300000

PostgreSQL: $REVIEWDESK_BENCH_POSTGRES_URL, else $REVIEWDESK_TEST_POSTGRES_URL, else
postgresql+psycopg://root@127.0.0.1:5432/test, in a fresh schema dropped after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench_pg import drop_schema
from bench_window import postgres_base, postgres_schema_url
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.domain import STOPPING_LABELS
from reviewdesk.services.alerts import AlertService, baseline_days

CATEGORIES = 11
BATCH = 20_000


def category(n: int, dominant: float) -> str:
    """The category of decision ``n``: even over CATEGORIES, or ``dominant`` of them c0."""
    if not dominant:
        return f"c{n % CATEGORIES}"
    if (n * 7919) % 1000 < dominant * 1000:  # spread over the history, not in a block
        return "c0"
    return f"c{1 + n % (CATEGORIES - 1)}"


def build(desk: ReviewDesk, decisions: int, days: float, waiting: int, dominant: float) -> None:
    now = datetime.now(UTC)
    span = timedelta(days=days).total_seconds()
    desk.submit(
        [
            {"id": f"w-{n}", "draft": "Waiting.", "category": f"c{n % CATEGORIES}"}
            for n in range(waiting)
        ]
    )
    draft_sql = text(
        "INSERT INTO draft (external_id, content_hash, draft, context, category, risk, "
        "confidence, priority, created_at, submitted_at, metadata, state, visible_at, "
        "lease_epoch, is_gold) VALUES (:external_id, 'h', 'Done.', '{}', :category, 'low', "
        ":confidence, 0, :at, :at, '{}', 'decided', :at, 1, false)"
    )
    decision_sql = text(
        "INSERT INTO decision (draft_id, reviewer, label, final_text, reason, severity, "
        "review_seconds, decided_at, lease_epoch, idempotency_key, low_attention) "
        "SELECT id, :reviewer, :label, 'Done.', :reason, :severity, 12.0, :at, 1, :key, false "
        "FROM draft WHERE external_id = :external_id"
    )
    for start in range(0, decisions, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, decisions)):
            at = now - timedelta(seconds=span * (1 - n / decisions))
            label, reason, severity = "approved", None, None
            if n % 200 == 7:
                label, severity = "escalated", "medium"
            elif n % 20 == 3:
                label, reason = "rejected", "Wrong facts"
            rows.append(
                {
                    "external_id": f"d-{n}",
                    "category": category(n, dominant),
                    "confidence": 0.6 + (n % 40) / 100,
                    "at": at,
                    "reviewer": f"r{n % 8}",
                    "label": label,
                    "reason": reason,
                    "severity": severity,
                    "key": f"k-{n}",
                }
            )
        with desk.engines.write.begin() as conn:
            conn.execute(draft_sql, rows)
            conn.execute(decision_sql, rows)


def timed(call: Callable[[], object], runs: int) -> str:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return f"p50 {statistics.median(times):.0f} ms, max {max(times):.0f} ms"


def baselines(service: AlertService, runs: int) -> None:
    """The rate rules' figures alone: their baseline from the rollup (as evaluated), the same
    days counted from the decisions, and the window's decisions one by one."""
    settings = service.settings()
    now = service.desk.database_now()
    window = now - timedelta(minutes=settings.rate_window_minutes)
    first, last = baseline_days(settings, window)
    store = service.store
    labels = [label.value for label in STOPPING_LABELS]
    rollup = timed(lambda: store.baseline(first_day=first, last_day=last), runs)
    raw = timed(
        lambda: store.baseline_from_decisions(first_day=first, last_day=last, defect_labels=labels),
        runs,
    )
    window_read = timed(lambda: store.window(now=now, window=window), runs)
    print(
        f"           baseline ({first} to {last}) from the rollup: {rollup}; from the "
        f"decisions: {raw}; the window's decisions: {window_read}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--decisions", type=int, default=300_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--waiting", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--dominant", type=float, default=0.0, help="share of the decisions in one category"
    )
    args = parser.parse_args()
    base = postgres_base()
    print(f"Alert rules at scale, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"  command: {' '.join([os.path.relpath(sys.executable), *sys.argv])}")
    for engine in args.engines.split(","):
        schema = None
        if engine == "postgresql":
            url, schema = postgres_schema_url(base)
        else:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='reviewdesk-alerts-')}/queue.sqlite3"
        try:
            with ReviewDesk.open(url, upgrade=True) as desk:
                started = time.perf_counter()
                build(desk, args.decisions, args.days, args.waiting, args.dominant)
                built = time.perf_counter() - started
                service = AlertService(desk)
                times = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    evaluation = service.evaluate()
                    times.append((time.perf_counter() - start) * 1000)
                print(
                    f"{engine:<10} {args.decisions:,} decisions over {args.days:g} days, "
                    f"{args.waiting:,} waiting, dominant {args.dominant:g} (built in "
                    f"{built:.0f} s): evaluate p50 "
                    f"{statistics.median(times):.0f} ms, max {max(times):.0f} ms over "
                    f"{args.runs} runs; {len(evaluation.open)} alerts open",
                    flush=True,
                )
                baselines(service, args.runs)
        finally:
            if schema is not None:
                drop_schema(base, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
