"""Export at scale: records/s and peak memory of ``reviewdesk export`` over 1,000,000 decisions.

What it does:

1. Builds a database of ``--decisions`` decided drafts with bulk inserts (SQLite: executemany in
   one transaction; PostgreSQL: COPY), after ReviewDesk has created the schema. Texts are sampled
   from the Bitext customer-support data set (inputs, drafts, categories); labels are about 60%
   approved, 20% edited, 15% rejected, 5% escalated; 2% are low-attention (left out by default);
   12 reviewers; three model versions; risk low/medium/high.
2. For each format asked for, runs the export in a fresh child process (so that building the
   database does not count) and reports wall time, records written per second, how many
   processes exported (``--workers``: ``auto`` lets the export choose, 1 is serial), and peak
   resident memory. A parallel export runs in the child and in worker processes it starts, so
   the peak is summed over all of them: the child's own, each worker's (which it reports when
   it finishes), and that of any helper process still running at the end (multiprocessing's
   resource tracker). The sum of the peaks is an upper bound of what the export held at once;
   every figure includes the interpreter and the imported libraries of its process. Peaks are
   ``VmHWM`` from ``/proc/PID/status``, not ``getrusage``'s ``ru_maxrss``: Linux carries that
   over fork and exec, so a child's ``ru_maxrss`` starts at what its parent had resident (this
   script's, holding the texts it builds from, or an export's for its workers).

Targets (issue 6): JSON Lines at least 100,000 records/s; peak RSS at most 250 MB.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/export_scale.py                       # SQLite, all formats
    .venv/bin/python benchmarks/export_scale.py --postgres            # PostgreSQL too
    .venv/bin/python benchmarks/export_scale.py --decisions 100000 --formats jsonl
    .venv/bin/python benchmarks/export_scale.py --formats jsonl --workers 1,auto  # serial, parallel

PostgreSQL comes from ``--pg-url``, else ``REVIEWDESK_BENCH_POSTGRES_URL``, else
``postgresql+psycopg://root@127.0.0.1:5432/test``; the database is built in a schema of its own
(``bench_<uuid>``), dropped at the end. The OS keyring is never touched (the child uses the null
backend, so reviewer pseudonyms use a per-export salt, as they would without a keyring).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

# The shared data folder beside the repository (../shared/data), wherever the checkout is.
DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "bitext_customer_support_gpt3.5_6480.csv.gz"
)
DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
PG_URL_ENV = "REVIEWDESK_BENCH_POSTGRES_URL"
FORMATS = ("jsonl", "csv", "parquet", "hf", "inspect", "promptfoo", "openai-evals")
TARGET_RECORDS_PER_S = 100_000
TARGET_PEAK_MB = 250
SEED = 20_260_105
CHUNK = 50_000

DRAFT_COLUMNS = (
    "id, external_id, content_hash, draft, input, context, category, risk, model, confidence, "
    "thread, priority, created_at, submitted_at, metadata, state, visible_at, lease_epoch, is_gold"
)
DECISION_COLUMNS = (
    "id, draft_id, reviewer, label, final_text, reason, note, severity, review_seconds, "
    "decided_at, lease_epoch, idempotency_key, low_attention, edit_distance"
)


def read_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["response"].strip()]


def generate(
    rows: list[dict[str, str]], count: int, *, postgres: bool
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(draft row, decision row) pairs, deterministic for a given count."""
    rng = random.Random(SEED)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    reviewers = [f"reviewer-{n:02d}" for n in range(12)]
    models = ("support-bot-2025-11", "support-bot-2025-12", "support-bot-2026-01")
    risks = ("low", "low", "medium", "medium", "high")
    reasons = ("factual_error", "hallucination", "policy_violation", "wrong_tone", "incomplete")

    def stamp(at: datetime) -> str:
        # isoformat is C; strftime would be a third of the build time.
        text = at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return text + "+00" if postgres else text

    for i in range(1, count + 1):
        src = rows[rng.randrange(len(rows))]
        created = start + timedelta(seconds=i * 2)
        decided = created + timedelta(seconds=30 + i % 90)
        context = orjson.dumps(
            {
                "intent": src["intent"],
                "entity": {"type": src["entity_type"], "value": src["entity_value"]},
                "tags": src["tags"],
            }
        ).decode()
        draft = (
            i,
            f"bench-{i:07d}",
            "0" * 64,
            src["response"],
            src["instruction"],
            context,
            src["category"].lower(),
            risks[i % len(risks)],
            models[i % len(models)],
            round(rng.random(), 3),
            None,
            0,
            stamp(created),
            stamp(created),
            "{}",
            "decided",
            stamp(created),
            1,
            False,
        )
        roll = rng.random()
        final = reason = note = severity = edit = None
        if roll < 0.60:
            label, final = "approved", src["response"]
        elif roll < 0.80:
            label = "edited"
            final = src["response"] + " Is there anything else I can help you with?"
            edit = round(45 / len(final), 4)
        elif roll < 0.95:
            label, reason = "rejected", reasons[i % len(reasons)]
            note = "Promises a refund the policy does not allow." if i % 3 == 0 else None
        else:
            label, severity, note = "escalated", "high", "Legal threat: needs a specialist."
        decision = (
            i,
            i,
            reviewers[i % len(reviewers)],
            label,
            final,
            reason,
            note,
            severity,
            round(5 + rng.random() * 40, 3),
            stamp(decided),
            1,
            f"{i:032x}",
            rng.random() < 0.02,
            edit,
        )
        yield draft, decision


def create_schema(url: str) -> None:
    from reviewdesk import ReviewDesk

    with ReviewDesk.open(url, upgrade=True):
        pass


def build_sqlite(path: Path, rows: list[dict[str, str]], count: int) -> None:
    create_schema(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    # Building only: the export itself runs with ReviewDesk's own settings.
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    drafts: list[tuple[Any, ...]] = []
    decisions: list[tuple[Any, ...]] = []

    def flush() -> None:
        # Column lists are module constants; every value goes in as a parameter.
        conn.executemany(
            f"INSERT INTO draft ({DRAFT_COLUMNS}) VALUES ({','.join('?' * 19)})",  # noqa: S608
            drafts,
        )
        conn.executemany(
            f"INSERT INTO decision ({DECISION_COLUMNS}) VALUES ({','.join('?' * 14)})",  # noqa: S608
            decisions,
        )
        drafts.clear()
        decisions.clear()

    for draft, decision in generate(rows, count, postgres=False):
        drafts.append(draft)
        decisions.append(decision)
        if len(drafts) >= CHUNK:
            flush()
    flush()
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        from reviewdesk.storage.security_sql import drop_group_roles_sql

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            for statement in drop_group_roles_sql(url.database or "", schema):
                conn.execute(statement.encode())


def build_postgres(url: str, rows: list[dict[str, str]], count: int) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    create_schema(url)
    parsed = make_url(url)
    schema = parsed.query["options"].split("=", 1)[1]
    dsn = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        # The rows are consistent by construction: skip the per-row foreign-key triggers, which
        # PostgreSQL queues to the end of a COPY and which took longer than the COPY itself.
        conn.execute("SET session_replication_role = replica")
        # Generated twice (it is deterministic) rather than held: 1M pairs would take gigabytes.
        with conn.cursor().copy(f"COPY draft ({DRAFT_COLUMNS}) FROM STDIN") as copy:
            for draft, _ in generate(rows, count, postgres=True):
                copy.write_row(draft)
        with conn.cursor().copy(f"COPY decision ({DECISION_COLUMNS}) FROM STDIN") as copy:
            for _, decision in generate(rows, count, postgres=True):
                copy.write_row(decision)
        for table in ("draft", "decision"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"  # our two table names
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE draft")
        conn.execute("VACUUM ANALYZE decision")


def _proc_kb(pid: int | str, field: str) -> int:
    """A ``/proc/PID/status`` figure in kilobytes (VmHWM: peak resident, VmRSS: resident now);
    0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children() -> list[int]:
    """Pids of this process's live children (from /proc: no dependency for one benchmark)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == me:
            found.append(int(entry))
    return found


def child(args: argparse.Namespace) -> int:
    """Run one export in this (fresh) process and print its figures as JSON."""
    from reviewdesk.services.export import (
        ExportFormat,
        ExportOptions,
        ExportProgress,
        RedactionSettings,
        SplitSpec,
        export_dataset,
    )
    from reviewdesk.storage.engine import resolve_target

    options = ExportOptions(
        out=Path(args.out),
        format=ExportFormat(args.child),
        split=SplitSpec.parse(args.split) if args.split else None,
        balance=args.balance,
        redact=args.redact,
        redaction=RedactionSettings(),
        workers=None if args.child_workers == "auto" else int(args.child_workers),
    )
    # Resident memory now (not the peak) after each tenth of the decisions, this process and its
    # children together: flat means flat.
    profile: list[float] = []

    def progress(p: ExportProgress) -> None:
        if p.phase == "writing" and p.total and p.done * 10 >= p.total * (len(profile) + 1):
            now_kb = _proc_kb("self", "VmRSS") + sum(_proc_kb(c, "VmRSS") for c in _children())
            profile.append(round(now_kb / 1024, 1))

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = export_dataset(resolve_target(args.url), options, progress=progress)
    seconds = time.perf_counter() - started
    own_kb = _proc_kb("self", "VmHWM")
    workers_kb = list(result.worker_peak_rss_kb)
    helpers_kb = [_proc_kb(c, "VmHWM") for c in _children()]  # still running: resource tracker
    total_kb = own_kb + sum(workers_kb) + sum(helpers_kb)
    size = sum(p.stat().st_size for p in Path(args.out).rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "format": args.child,
                "workers": result.workers,
                "records": result.records,
                "seconds": round(seconds, 3),
                "records_per_s": round(result.records / seconds),
                "peak_rss_mb": round(total_kb / 1024, 1),
                "peak_rss_own_mb": round(own_kb / 1024, 1),
                "peak_rss_workers_mb": [round(kb / 1024, 1) for kb in workers_kb],
                "peak_rss_helpers_mb": [round(kb / 1024, 1) for kb in helpers_kb],
                "output_mb": round(size / 1e6, 1),
                "skipped": sum(result.skipped.values()),
                "rss_by_tenth_mb": profile,
                "load_before": round(load_before, 2),
                "load_after": round(os.getloadavg()[0], 2),
            }
        )
    )
    return 0


def run_child(
    url: str,
    fmt: str,
    out: Path,
    home: Path,
    *,
    split: str | None,
    balance: bool,
    redact: bool,
    workers: str,
) -> dict[str, Any]:
    env = {
        **os.environ,
        "REVIEWDESK_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    cmd = [sys.executable, __file__, "--child", fmt, "--url", url, "--out", str(out)]
    cmd += ["--child-workers", workers]
    if split:
        cmd += ["--split", split]
    if balance:
        cmd.append("--balance")
    if redact:
        cmd.append("--redact")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"export {fmt} failed:\n{done.stderr}")
    shutil.rmtree(out, ignore_errors=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def measure(
    engine: str, url: str, formats: list[str], tmp: Path, extras: bool, workers: list[str]
) -> list[dict[str, Any]]:
    results = []
    runs: list[tuple[str, str | None, bool, bool]] = [(f, None, False, False) for f in formats]
    if extras:
        runs += [
            ("jsonl", "test=0.2", False, False),
            ("jsonl", "test=0.2", True, False),
            ("jsonl", None, False, True),
        ]
    for (fmt, split, balance, redact), asked in [(r, w) for r in runs for w in workers]:
        figures = run_child(
            url,
            fmt,
            tmp / f"out-{engine}-{fmt}",
            tmp / "home",
            split=split,
            balance=balance,
            redact=redact,
            workers=asked,
        )
        figures.update(
            engine=engine, split=split, balance=balance, redact=redact, workers_asked=asked
        )
        results.append(figures)
        variant = " ".join(
            v
            for v in (
                f"split {split}" if split else "",
                "balance" if balance else "",
                "redact" if redact else "",
            )
            if v
        )
        parts = " + ".join(
            str(mb)
            for mb in [
                figures["peak_rss_own_mb"],
                *figures["peak_rss_workers_mb"],
                *figures["peak_rss_helpers_mb"],
            ]
        )
        print(
            f"{engine:<10} {fmt:<13} {variant:<26} workers {asked:>4} -> {figures['workers']} "
            f"{figures['records']:>9} records {figures['seconds']:>7.2f} s "
            f"{figures['records_per_s']:>9} rec/s peak RSS {figures['peak_rss_mb']:>6.1f} MB "
            f"({parts})  output {figures['output_mb']} MB  "
            f"load {figures['load_before']}->{figures['load_after']}",
            flush=True,
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--postgres", action="store_true", help="also measure on PostgreSQL")
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--pg-url", default=os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="the Bitext CSV (gz); default: shared/data beside the repository",
    )
    parser.add_argument("--tmpdir", type=Path, default=None)
    parser.add_argument(
        "--extras", action="store_true", help="also JSON Lines with split, balance, redaction"
    )
    parser.add_argument("--json", type=Path, help="write all figures to this file")
    parser.add_argument(
        "--workers",
        default="auto",
        help="comma list of worker settings to measure each format with: auto (the export "
        "chooses) or a number (1: serial); default auto",
    )
    # internal: the child process
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--split", help=argparse.SUPPRESS)
    parser.add_argument("--balance", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--redact", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-workers", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    workers = [w.strip() for w in args.workers.split(",") if w.strip()]
    if not workers or any(w != "auto" and not w.isdigit() for w in workers):
        parser.error("--workers: a comma list of auto and numbers, e.g. 1,auto")

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        parser.error(f"--formats: unknown {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    rows = read_rows(args.data)
    print(
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.machine()}, {os.cpu_count()} cores; {args.decisions} decisions; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="rd-export-bench-", dir=args.tmpdir))
    try:
        if args.sqlite:
            db = tmp / "bench.sqlite3"
            started = time.perf_counter()
            build_sqlite(db, rows, args.decisions)
            print(
                f"sqlite: built in {time.perf_counter() - started:.1f} s "
                f"({db.stat().st_size / 1e6:.0f} MB)",
                flush=True,
            )
            results += measure("sqlite", f"sqlite:///{db}", formats, tmp, args.extras, workers)
            db.unlink()
        if args.postgres:
            with postgres_schema(args.pg_url) as url:
                started = time.perf_counter()
                build_postgres(url, rows, args.decisions)
                print(f"postgresql: built in {time.perf_counter() - started:.1f} s", flush=True)
                results += measure("postgresql", url, formats, tmp, args.extras, workers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failed = [
        r
        for r in results
        if r["peak_rss_mb"] > TARGET_PEAK_MB
        or (
            r["format"] == "jsonl"
            and not (r["split"] or r["balance"] or r["redact"])
            and r["records_per_s"] < TARGET_RECORDS_PER_S
        )
    ]
    for r in failed:
        print(f"MISSED TARGET: {r}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
