"""Lead statistics at scale: build a database of 1,000,000 decisions, time every statistics query.

What it does, on SQLite and on PostgreSQL:

1. Builds a database at schema head (``reviewdesk db upgrade`` path) holding ``--decisions`` live
   decisions on as many drafts, plus 1% gold drafts with decisions (which statistics must
   skip) and, for 1% of the drafts, an undone decision before the live one (history, which
   statistics must skip too). The mix is
   generated once with a fixed seed, so both engines hold identical rows: 12 categories with
   their own approval rates and risk levels, 3 model versions, 40 reviewers, model confidence
   (5% unknown) that predicts approval, review times (log-normal), edit sizes (mostly small),
   reject reasons, escalation severities with lead resolutions, 3% low-attention decisions,
   decisions spread over 180 days. Draft texts are 200 to 900 characters, as customer-support
   answers are, and an approved decision stores its final text as the queue does, so rows have
   their real width. Audit events and attempts are not generated: statistics never read them.
   SQLite is loaded with ``executemany`` in batches of 20,000; PostgreSQL with ``COPY``. Both
   are then analyzed (``ANALYZE``; PostgreSQL ``VACUUM ANALYZE``, as autovacuum would).
2. Runs each statistics query of the lead's workspace ``--repeat`` times and prints the
   median and worst wall time: ``stats`` with no grouping and by each dimension, two-dimension
   groupings, filtered ones, the reviewer with the model or the confidence band (grains d, w,
   m and x of migration 0004), the escalation inbox, and the recommendation.
3. Checks ``--by reviewer,model`` against a direct count of the decisions, and times the
   upgrade from migration 0003 (down to 0003, then up again: the backfill of grains d, w, m
   and x), which must give back the rollup the triggers kept.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/stats_scale.py
    .venv/bin/python benchmarks/stats_scale.py --engines sqlite --decisions 100000

PostgreSQL comes from ``--pg-url``, else ``REVIEWDESK_BENCH_POSTGRES_URL``, else
``postgresql+psycopg://root@127.0.0.1:5432/test``; the database lives in a schema of its own
(``bench_<uuid>``), dropped at the end unless ``--keep``. The SQLite file goes to a temporary
folder (``--tmpdir``), removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import DEFAULT_REJECT_REASONS
from reviewdesk.services.escalations import EscalationInbox
from reviewdesk.services.recommend import RecommendationEngine
from reviewdesk.services.stats import Dimension, StatsFilter, StatsService
from reviewdesk.storage import migrate
from reviewdesk.storage.engine import Engines, create_engines, resolve_target
from reviewdesk.storage.security_sql import drop_group_roles_sql

DEFAULT_PG = "postgresql+psycopg://root@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAYS = 180
SEED = 20261127

# name, risk, approval share, edit share, reject share (the rest escalates)
CATEGORIES = [
    ("order_status", "low", 0.985, 0.010, 0.004),
    ("shipping", "low", 0.960, 0.025, 0.010),
    ("returns", "medium", 0.930, 0.045, 0.017),
    ("refund", "medium", 0.900, 0.060, 0.030),
    ("billing", "medium", 0.880, 0.070, 0.035),
    ("account", "low", 0.950, 0.030, 0.012),
    ("password_reset", "low", 0.990, 0.006, 0.002),
    ("product_info", "low", 0.940, 0.040, 0.015),
    ("complaint", "high", 0.700, 0.200, 0.060),
    ("cancellation", "medium", 0.910, 0.055, 0.025),
    ("legal", "high", 0.600, 0.250, 0.080),
    ("technical", "medium", 0.850, 0.100, 0.035),
]
CATEGORY_WEIGHTS = [14, 10, 9, 9, 8, 8, 7, 9, 6, 7, 2, 11]
MODELS = ["gpt-support-2026-03", "gpt-support-2026-07", "gpt-support-2026-10"]
REVIEWERS = [f"reviewer{i:02d}" for i in range(40)]
REASONS = list(DEFAULT_REJECT_REASONS)
SEVERITIES = ["low", "medium", "high", "critical"]
SEVERITY_WEIGHTS = [50, 35, 12, 3]
RESPONSE = {"critical": 900, "high": 3600, "medium": 14400, "low": 86400}
RESOLUTIONS = ["send_as_is", "send_edited", "reject", "dismiss"]
WORDS = [
    "thank",
    "you",
    "for",
    "reaching",
    "out",
    "we",
    "have",
    "checked",
    "your",
    "order",
    "and",
    "the",
    "parcel",
    "left",
    "our",
    "warehouse",
    "yesterday",
    "you",
    "will",
    "receive",
    "a",
    "tracking",
    "link",
    "by",
    "email",
    "within",
    "the",
    "next",
    "hours",
    "please",
    "let",
    "us",
    "know",
    "if",
    "anything",
    "else",
    "comes",
    "up",
    "your",
    "refund",
    "was",
    "approved",
    "and",
    "will",
    "show",
    "on",
    "your",
    "statement",
    "in",
    "three",
    "to",
    "five",
    "business",
    "days",
    "the",
    "subscription",
    "renews",
    "on",
    "the",
    "first",
    "of",
    "each",
    "month",
]


@dataclass(frozen=True)
class Rows:
    drafts: list[tuple[Any, ...]]
    decisions: list[tuple[Any, ...]]


DRAFT_COLS = (
    "id, external_id, content_hash, draft, input, context, category, risk, model, confidence, "
    "thread, priority, created_at, submitted_at, metadata, state, visible_at, lease_epoch, is_gold"
)
DECISION_COLS = (
    "id, draft_id, reviewer, label, final_text, reason, note, severity, review_seconds, "
    "decided_at, lease_epoch, idempotency_key, undone_at, delivered_at, low_attention, "
    "edit_distance, resolution, resolution_text, resolution_note, resolved_by, resolved_at"
)


def generate(decisions: int) -> Rows:
    """Identical rows for both engines (fixed seed); times as aware UTC datetimes."""
    rng = random.Random(SEED)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(35, 160))) for _ in range(500)]
    gold = decisions // 100
    undone = decisions // 100  # of the live decisions, this many replace an undone one
    total = decisions + gold
    drafts: list[tuple[Any, ...]] = []
    out: list[tuple[Any, ...]] = []
    start = NOW - timedelta(days=DAYS)
    dec_id = 0
    for i in range(1, total + 1):
        c = rng.choices(range(len(CATEGORIES)), CATEGORY_WEIGHTS)[0]
        name, risk, p_app, p_edit, p_rej = CATEGORIES[c]
        model = rng.choices(MODELS, [2, 3, 5])[0]
        conf: float | None = None
        if rng.random() >= 0.05:
            conf = min(0.999, max(0.01, rng.betavariate(8, 2)))
        # Newer models and higher confidence approve more often.
        shift = (MODELS.index(model) - 1) * 0.01 + ((conf or 0.8) - 0.8) * 0.25
        approve_p = min(0.999, max(0.05, p_app + shift))
        rest = 1 - approve_p
        scale = rest / (1 - p_app)
        p_e, p_r = p_edit * scale, p_rej * scale
        decided = start + timedelta(seconds=rng.random() * DAYS * 86400)
        created = decided - timedelta(seconds=rng.random() * 3600)
        body = texts[rng.randrange(len(texts))]
        is_gold = i <= gold
        drafts.append(
            (
                i, f"bench-{i}", f"{i:064x}", body, None, "{}", name, risk, model, conf,
                None, 0, created, created, "{}", "decided", created, 1, is_gold,
            )
        )  # fmt: skip
        u = rng.random()
        label = (
            "approved"
            if u < approve_p
            else "edited"
            if u < approve_p + p_e
            else "rejected"
            if u < approve_p + p_e + p_r
            else "escalated"
        )
        final = body if label in ("approved", "edited") else None
        reason = rng.choice(REASONS) if label == "rejected" else None
        severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0] if label == "escalated" else None
        note = "needs a lead" if severity else None
        seconds = round(rng.lognormvariate(math.log(35), 0.7), 3)
        distance = None
        if label == "edited":
            # Most edits are small touch-ups; some are rewrites.
            distance = round(min(1.0, rng.expovariate(1 / 0.06)), 4)
        low_attention = label == "approved" and rng.random() < 0.03
        resolution = resolved_by = resolved_at = res_text = None
        if severity is not None and rng.random() < 0.95:
            resolution = rng.choice(RESOLUTIONS)
            resolved_by = "lead"
            late = rng.random() < 0.1
            lag = RESPONSE[severity] * (1.5 if late else rng.random() * 0.9)
            resolved_at = decided + timedelta(seconds=lag)
            res_text = body if resolution in ("send_as_is", "send_edited") else None
        extra = 1 if i > total - undone else 0
        for copy in range(1 + extra):
            dec_id += 1
            out.append(
                (
                    dec_id, i, rng.choice(REVIEWERS), label, final, reason, note, severity,
                    seconds, decided, 1, uuid.UUID(int=rng.getrandbits(128)).hex,
                    decided + timedelta(seconds=30) if copy == 0 and extra else None,
                    decided + timedelta(seconds=600), low_attention, distance, resolution,
                    res_text, None, resolved_by, resolved_at,
                )
            )  # fmt: skip
    return Rows(drafts, out)


def _naive(value: Any) -> Any:
    # The queue stores SQLite times as naive UTC text in one fixed format (storage/types.py).
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(engines: Engines, rows: Rows) -> None:
    raw = engines.write.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA synchronous=OFF")  # loading only; the queue itself runs FULL
        cur.execute("BEGIN")
        for table, cols, data in (
            ("draft", DRAFT_COLS, rows.drafts),
            ("decision", DECISION_COLS, rows.decisions),
        ):
            marks = ", ".join("?" for _ in cols.split(", "))
            sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
            for start in range(0, len(data), 20_000):
                cur.executemany(
                    sql, [tuple(_naive(v) for v in r) for r in data[start : start + 20_000]]
                )
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
        cur.execute("PRAGMA synchronous=FULL")
    finally:
        raw.close()


def load_postgres(engines: Engines, rows: Rows) -> None:
    raw = engines.write.raw_connection()
    try:
        cur = raw.cursor()
        for table, cols, data in (
            ("draft", DRAFT_COLS, rows.drafts),
            ("decision", DECISION_COLS, rows.decisions),
        ):
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for r in data:
                    copy.write_row(r)
        raw.commit()
    finally:
        raw.close()
    with engines.statement.connect() as conn:
        conn.execute(text("VACUUM ANALYZE draft"))
        conn.execute(text("VACUUM ANALYZE decision"))
        conn.execute(text("VACUUM ANALYZE decision_rollup"))


@dataclass(frozen=True)
class Timing:
    name: str
    median_s: float
    worst_s: float
    # This process's CPU time: on SQLite that is the query itself, and unlike wall time it
    # barely moves when other programs load the machine. (PostgreSQL works in its own process.)
    cpu_median_s: float
    rows: int


def timed(name: str, repeat: int, fn: Callable[[], int]) -> Timing:
    times = []
    cpu = []
    rows = 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        rows = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return Timing(name, statistics.median(times), max(times), statistics.median(cpu), rows)


def queries(engines: Engines, repeat: int) -> list[Timing]:
    clock = ManualClock(NOW)
    stats = StatsService(engines, clock=clock)
    inbox = EscalationInbox(engines, clock=clock)
    engine = RecommendationEngine(engines, clock=clock)
    since = (NOW - timedelta(days=30)).date()
    # From the second day of the first whole month to the last but one of the last whole
    # month: on this data, the period whose cover sums the most rows.
    first_month = ((NOW - timedelta(days=DAYS)).replace(day=28) + timedelta(days=4)).date()
    mid_start = first_month.replace(day=2)
    mid_end = NOW.date().replace(day=1) - timedelta(days=2)
    plans: list[tuple[str, Callable[[], int]]] = [
        ("stats (no grouping)", lambda: len(stats.compute().groups)),
        ("stats --by category", lambda: len(stats.compute(by=[Dimension.CATEGORY]).groups)),
        ("stats --by model", lambda: len(stats.compute(by=[Dimension.MODEL]).groups)),
        ("stats --by reviewer", lambda: len(stats.compute(by=[Dimension.REVIEWER]).groups)),
        ("stats --by confidence", lambda: len(stats.compute(by=[Dimension.CONFIDENCE]).groups)),
        ("stats --by day", lambda: len(stats.compute(by=[Dimension.DAY]).groups)),
        ("stats --by week", lambda: len(stats.compute(by=[Dimension.WEEK]).groups)),
        (
            "stats --by category,confidence",
            lambda: len(stats.compute(by=[Dimension.CATEGORY, Dimension.CONFIDENCE]).groups),
        ),
        (
            "stats --by week,category",
            lambda: len(stats.compute(by=[Dimension.WEEK, Dimension.CATEGORY]).groups),
        ),
        (
            "stats --by category --since (30 days)",
            lambda: len(
                stats.compute(by=[Dimension.CATEGORY], filter=StatsFilter(since=since)).groups
            ),
        ),
        (
            "stats --by reviewer --category refund",
            lambda: len(
                stats.compute(
                    by=[Dimension.REVIEWER], filter=StatsFilter(categories=("refund",))
                ).groups
            ),
        ),
        # The reviewer with the model or the confidence band (grains d, w, m, x; migration 0004).
        (
            "stats --by reviewer,model",
            lambda: len(stats.compute(by=[Dimension.REVIEWER, Dimension.MODEL]).groups),
        ),
        (
            "stats --by reviewer,confidence",
            lambda: len(stats.compute(by=[Dimension.REVIEWER, Dimension.CONFIDENCE]).groups),
        ),
        (
            "stats --by reviewer --category refund --model (newest)",
            lambda: len(
                stats.compute(
                    by=[Dimension.REVIEWER],
                    filter=StatsFilter(categories=("refund",), models=(MODELS[-1],)),
                ).groups
            ),
        ),
        (
            "stats --by reviewer,model --since (30 days)",
            lambda: len(
                stats.compute(
                    by=[Dimension.REVIEWER, Dimension.MODEL], filter=StatsFilter(since=since)
                ).groups
            ),
        ),
        (
            # Both ends inside a month: the most days and weeks a period adds up (see
            # docs/benchmarks.md).
            "stats --by reviewer,category,model --since --until",
            lambda: len(
                stats.compute(
                    by=[Dimension.REVIEWER, Dimension.CATEGORY, Dimension.MODEL],
                    filter=StatsFilter(since=mid_start, until=mid_end),
                ).groups
            ),
        ),
        (
            "stats --by week,reviewer,model",
            lambda: len(
                stats.compute(by=[Dimension.WEEK, Dimension.REVIEWER, Dimension.MODEL]).groups
            ),
        ),
        (
            # 180 days x 40 reviewers x 3 models: building that many groups is the cost here.
            "stats --by day,reviewer,model",
            lambda: len(
                stats.compute(by=[Dimension.DAY, Dimension.REVIEWER, Dimension.MODEL]).groups
            ),
        ),
        ("escalations (open inbox)", lambda: len(inbox.list())),
        ("recommend", lambda: len(engine.recommend().categories)),
    ]
    return [timed(name, repeat, fn) for name, fn in plans]


def median_check(engines: Engines) -> None:
    """How far the histogram median is from the exact one (percentile_cont on every row)."""
    stats = StatsService(engines, clock=ManualClock(NOW))
    for dim, column in ((Dimension.CATEGORY, "d.category"), (Dimension.REVIEWER, "dec.reviewer")):
        with engines.write.connect() as conn:
            exact = dict(
                conn.execute(
                    text(
                        f"SELECT {column}, percentile_cont(0.5) WITHIN GROUP "  # noqa: S608
                        "(ORDER BY dec.review_seconds) FROM decision dec "
                        "JOIN draft d ON d.id = dec.draft_id "
                        f"WHERE dec.undone_at IS NULL AND NOT d.is_gold GROUP BY {column}"
                    )
                ).all()
            )
        errors = [
            abs((g.median_review_seconds or 0) - exact[g.key[0]])
            for g in stats.compute([dim]).groups
        ]
        print(
            f"  median review time by {dim.value}: histogram estimate vs exact, "
            f"largest difference {max(errors):.2f} s over {len(errors)} groups "
            f"(exact medians {min(exact.values()):.1f} to {max(exact.values()):.1f} s)"
        )


def scan_check(engines: Engines) -> None:
    """The reviewer x model figures from the rollup against a direct count of the decisions."""
    stats = StatsService(engines, clock=ManualClock(NOW))
    with engines.write.connect() as conn:
        direct = {
            (reviewer, model): (int(n), int(approved or 0), int(low or 0))
            for reviewer, model, n, approved, low in conn.execute(
                text(
                    "SELECT dec.reviewer, d.model, count(*), "
                    "sum(CASE WHEN dec.label = 'approved' THEN 1 ELSE 0 END), "
                    "sum(CASE WHEN dec.low_attention THEN 1 ELSE 0 END) "
                    "FROM decision dec JOIN draft d ON d.id = dec.draft_id "
                    "WHERE dec.undone_at IS NULL AND NOT d.is_gold GROUP BY dec.reviewer, d.model"
                )
            )
        }
    # The direct count includes low-attention approvals, which statistics leave out unless asked.
    everything = StatsFilter(include_low_attention=True)
    report = stats.compute([Dimension.REVIEWER, Dimension.MODEL], filter=everything)
    rollup = {g.key: (g.decided, g.approved.count, g.low_attention.count) for g in report.groups}
    same = "the same" if rollup == direct else "NOT the same"
    print(f"  stats --by reviewer,model against a direct count: {same} ({len(direct)} groups)")


def upgrade_check(engines: Engines) -> float:
    """Down to 0003 (grains a and r only) and up again: the upgrade's backfill of grains d, w,
    m and x from the decisions, timed, must give back the rows the triggers kept."""

    def grains() -> list[tuple[Any, ...]]:
        with engines.write.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    text(
                        "SELECT grain, count(*), sum(n), sum(approved), sum(edited), "
                        "sum(trivial), sum(low_attention), sum(h0), sum(h8), sum(h15) "
                        "FROM decision_rollup WHERE n <> 0 GROUP BY grain ORDER BY grain"
                    )
                )
            ]

    before = grains()
    migrate.downgrade(engines.write, "0003")
    t0 = time.perf_counter()
    migrate.upgrade(engines.write)
    took = time.perf_counter() - t0
    same = "the same" if grains() == before else "NOT the same"
    print(f"  rollup rows per grain: {', '.join(f'{g[0]} {g[1]:,}' for g in before)}")
    print(f"  upgrade 0003 -> head (backfill of d, w, m, x): {took:.1f} s, rollup {same}")
    return took


@dataclass(frozen=True)
class EngineRun:
    engine: str
    build_s: float
    database_bytes: int | None
    timings: list[Timing]
    load_after_queries: float


def run_sqlite(rows: Rows, tmpdir: str | None, repeat: int, keep: bool) -> EngineRun:
    folder = tempfile.mkdtemp(prefix="reviewdesk-stats-", dir=tmpdir)
    path = Path(folder) / "stats.sqlite3"
    engines = create_engines(resolve_target(f"sqlite:///{path}"), create=True)
    try:
        t0 = time.perf_counter()
        migrate.upgrade(engines.write)
        load_sqlite(engines, rows)
        build = time.perf_counter() - t0
        timings = queries(engines, repeat)
        load = os.getloadavg()[0]
        scan_check(engines)
        upgrade_check(engines)
        return EngineRun("sqlite", build, path.stat().st_size, timings, load)
    finally:
        engines.dispose()
        if keep:
            print(f"kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class _Schema:
    url: str
    name: str


def _pg_schema(base: str) -> Iterator[_Schema]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield _Schema(f"{base}{sep}options=-csearch_path%3D{name}", name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
            for statement in drop_group_roles_sql(admin.url.database or "", name):
                conn.execute(text(statement))
        admin.dispose()


def run_postgres(rows: Rows, base: str, repeat: int, keep: bool) -> EngineRun:
    schemas = _pg_schema(base)
    schema = next(schemas)
    engines = create_engines(resolve_target(schema.url))
    try:
        t0 = time.perf_counter()
        migrate.upgrade(engines.write)
        load_postgres(engines, rows)
        build = time.perf_counter() - t0
        with engines.write.connect() as conn:
            size = conn.execute(
                text(
                    "SELECT sum(pg_total_relation_size(quote_ident(:s) || '.' || relname)) "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :s AND c.relkind = 'r'"
                ),
                {"s": schema.name},
            ).scalar()
        timings = queries(engines, repeat)
        load = os.getloadavg()[0]
        median_check(engines)
        scan_check(engines)
        upgrade_check(engines)
        return EngineRun("postgresql", build, int(size or 0), timings, load)
    finally:
        engines.dispose()
        if keep:
            print(f"kept schema {schema.name}", file=sys.stderr)
        else:
            schemas.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--pg-url", default=os.environ.get("REVIEWDESK_BENCH_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--tmpdir")
    parser.add_argument("--keep", action="store_true", help="keep the databases for inspection")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()

    t0 = time.perf_counter()
    rows = generate(args.decisions)
    print(
        f"generated {len(rows.drafts):,} drafts and {len(rows.decisions):,} decisions "
        f"({args.decisions:,} live non-gold) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    runs: list[EngineRun] = []
    for name in args.engines.split(","):
        if name == "sqlite":
            runs.append(run_sqlite(rows, args.tmpdir, args.repeat, args.keep))
        elif name in ("postgresql", "postgres"):
            runs.append(run_postgres(rows, args.pg_url, args.repeat, args.keep))
        else:
            parser.error(f"unknown engine {name}")
        run = runs[-1]
        size = f"{run.database_bytes / 2**20:,.0f} MiB" if run.database_bytes else "?"
        print(f"\n{run.engine}: built in {run.build_s:.1f} s, {size}", flush=True)
        print(f"  {'query':<54} {'median':>9} {'worst':>9} {'cpu':>8} {'rows':>6}")
        for t in run.timings:
            flag = "" if t.worst_s < 1.0 else "  (over 1 s)"
            print(
                f"  {t.name:<54} {t.median_s:>8.3f}s {t.worst_s:>8.3f}s "
                f"{t.cpu_median_s:>7.3f}s {t.rows:>6}{flag}"
            )
        print(f"  load average after the queries: {run.load_after_queries:.1f}")
    machine = f"{platform.platform()}, {os.cpu_count()} cores"
    print(f"\nmachine: {machine}, Python {platform.python_version()}")
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "engine": r.engine,
                        "build_s": r.build_s,
                        "database_bytes": r.database_bytes,
                        "timings": [t.__dict__ for t in r.timings],
                    }
                    for r in runs
                ],
                indent=2,
            )
        )
    slow = [t for r in runs for t in r.timings if t.worst_s >= 1.0]
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
