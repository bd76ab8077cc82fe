"""Claim and decide times as the queue grows, for category mixes that stress the variety rule.

    .venv/bin/python benchmarks/claim_scale.py                       # every mix, both engines
    .venv/bin/python benchmarks/claim_scale.py --engines sqlite --mixes one --sizes 100000

One reviewer through the public API (``ReviewDesk.claim`` then ``decide``), session caps and
gold off, the variety rule on at its default (at most 5 drafts of one category in a row). For
each engine and mix the queue is filled to each size in turn (100,000, 300,000, 1,000,000
pending drafts by default, added in bulk with ``submit``), then ``--cycles`` claim+decide cycles
are timed and their claim p50/p99 and decide p50 printed. The target: a flat curve (the largest
size within 2x of the smallest) and a claim p50 of at most 3 ms at 1,000,000.

Mixes (the category of each draft, in submit order, seeded):
- ``one``: every draft in one category (each sixth claim is a varied claim that finds nothing);
- ``dominant``: two categories, 99:1;
- ``even``: eleven categories, equally many;
- ``many``: 500 small categories;
- ``exhausted``: one category, plus ten whose every draft was decided before the timing (the
  variety rule looks for them and finds them gone).

Drafts are synthetic one-line texts: a claim's cost does not depend on the text. PostgreSQL
from ``--pg-url`` (default ``$REVIEWDESK_BENCH_POSTGRES_URL``, else the local test server), in
a schema of its own, dropped after; SQLite in a temporary file under ``--tmpdir``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import queue_throughput as qt

from reviewdesk import ReviewDesk
from reviewdesk.core.sessions import SessionLimits

SIZES = (100_000, 300_000, 1_000_000)
BATCH = 50_000
REVIEW_SECONDS = 20.0


def _one(_: int, __: random.Random) -> str:
    return "refund"


def _dominant(_: int, rng: random.Random) -> str:
    return "order" if rng.random() < 0.01 else "refund"


def _even(number: int, _: random.Random) -> str:
    return f"cat{number % 11:02d}"


def _many(_: int, rng: random.Random) -> str:
    return f"topic{rng.randrange(500):03d}"


MIXES: dict[str, Callable[[int, random.Random], str]] = {
    "one": _one,
    "dominant": _dominant,
    "even": _even,
    "many": _many,
    "exhausted": _one,  # plus the decided minor categories, see _exhaust
}


def _records(start: int, count: int, mix: str, rng: random.Random) -> list[dict[str, Any]]:
    category = MIXES[mix]
    return [
        {"id": f"d{n}", "draft": f"Draft number {n}.", "category": category(n, rng)}
        for n in range(start, start + count)
    ]


def _fill(desk: ReviewDesk, have: int, want: int, mix: str, rng: random.Random) -> float:
    began = time.perf_counter()
    while have < want:
        count = min(BATCH, want - have)
        desk.submit(_records(have, count, mix, rng))
        have += count
    return time.perf_counter() - began


def _exhaust(desk: ReviewDesk) -> None:
    """Ten minor categories, queued and then all decided: gone from the pending queue."""
    desk.submit(
        [
            {"id": f"minor{n}", "draft": "x", "category": f"minor{n % 10}", "priority": 9}
            for n in range(200)
        ]
    )
    for _ in range(200):
        lease = desk.claim("cleaner")
        assert lease is not None and lease.draft.category.startswith("minor")
        desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)


def _time_cycles(desk: ReviewDesk, cycles: int) -> tuple[list[float], list[float], int]:
    claims, decides, varied = [], [], 0
    last, run = None, 0
    for _ in range(cycles):
        t0 = time.perf_counter()
        lease = desk.claim("r0")
        t1 = time.perf_counter()
        if lease is None:
            raise RuntimeError("the queue ran out")
        desk.decide(lease, "approve", review_seconds=REVIEW_SECONDS)
        t2 = time.perf_counter()
        claims.append((t1 - t0) * 1000)
        decides.append((t2 - t1) * 1000)
        category = lease.draft.category
        run = run + 1 if category == last else 1
        varied += run == 1 and last is not None
        last = category
    return claims, decides, varied


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(engine: str, mix: str, sizes: list[int], cycles: int, args: argparse.Namespace) -> None:
    limits = SessionLimits.off().with_changes(max_same_category=SessionLimits().max_same_category)
    rng = random.Random(f"{mix}:7")
    with (
        qt.fresh_database(engine, args.pg_url, args.tmpdir) as (url, _dsn),
        ReviewDesk.open(url, upgrade=True) as desk,
    ):
        desk.set_session_limits(limits)
        if mix == "exhausted":
            _exhaust(desk)
        have = 0
        for size in sizes:
            # Timed cycles use drafts up: top the queue up to the size first.
            pending = desk.counts().pending
            seconds = _fill(desk, have, have + size - pending, mix, rng)
            have += size - pending
            _time_cycles(desk, 50)  # warm caches and the kept connection
            claims, decides, varied = _time_cycles(desk, cycles)
            print(
                f"{engine:<10} {mix:<9} {size:>9,} pending  claim p50 {_pct(claims, 0.5):6.2f}"
                f"  p99 {_pct(claims, 0.99):6.2f}  max {max(claims):7.2f} ms   decide p50 "
                f"{statistics.median(decides):5.2f} ms   category changes {varied:>3}/"
                f"{cycles}   (filled in {seconds:5.1f} s)",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--engines", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--mixes", nargs="+", default=list(MIXES), choices=list(MIXES))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--cycles", type=int, default=600, help="timed cycles per size")
    parser.add_argument("--pg-url", default=os.environ.get(qt.PG_URL_ENV) or qt.DEFAULT_PG_URL)
    parser.add_argument("--tmpdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reviewdesk-bench-home-") as home:
        qt.hermetic_env(home)
        for engine in args.engines:
            for mix in args.mixes:
                measure(engine, mix, sorted(args.sizes), args.cycles, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
