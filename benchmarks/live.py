"""Live desk: queries of an idle desk, draft-to-desk latency, decision-to-``--follow`` latency.

Drives the real main window (offscreen, as ``reviewdesk gui`` builds it: DeskApp, the worker
thread, the change listener) on SQLite and on PostgreSQL, in two modes:

* ``poll``: the desk as it was before it was told of changes: the listener stopped and the
  controller polling (an empty queue every 10 s, the counts every 30 s);
* ``live``: as shipped: told of changes (PostgreSQL LISTEN/NOTIFY, SQLite's files watched).

For each it prints the statements per second the idle desk (empty queue) sends over
``--idle-seconds``, and the time from a draft submitted by another client (its commit) to the
desk showing it (``draft_shown``), over ``--samples`` drafts. Then, once per engine, it starts
``reviewdesk results --follow`` as a subprocess and times ``--follow-samples`` decisions from
the decision's commit to the result's line read from its standard output (undo window 0, so
that each result is deliverable at once).

    .venv/bin/python benchmarks/live.py
    .venv/bin/python benchmarks/live.py --engines sqlite --idle-seconds 20 --samples 3

PostgreSQL: $REVIEWDESK_BENCH_POSTGRES_URL, else $REVIEWDESK_TEST_POSTGRES_URL, else
postgresql+psycopg://root@127.0.0.1:5432/test, in a fresh schema dropped after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("REVIEWDESK_HOME", tempfile.mkdtemp(prefix="reviewdesk-bench-live-"))

from bench_pg import drop_schema
from bench_window import open_window, postgres_base, postgres_schema_url
from PySide6.QtTest import QTest
from sqlalchemy import event
from statement_count import psycopg_statements  # the script's folder is on sys.path

from reviewdesk import ReviewDesk
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.storage.engine import Engines
from reviewdesk.ui.review_controller import ReviewState

SHOW = False  # --show: print each statement the idle desk sends
_serial = iter(range(10**9))


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        QTest.qWait(2)
    return True


@contextmanager
def counting(engines: Engines, count: Callable[..., None]) -> Iterator[None]:
    """Call ``count`` for every statement sent meanwhile: SQLAlchemy's event for SQLite (every
    statement passes it), and psycopg's own execute methods for PostgreSQL, so that a statement
    sent straight to the driver is counted too."""
    if engines.target.dialect != "postgresql":
        event.listen(engines.write, "before_cursor_execute", count)
        try:
            yield
        finally:
            event.remove(engines.write, "before_cursor_execute", count)
        return
    with psycopg_statements(lambda query: count(None, None, query)):
        yield


def submit_one(url: str) -> float:
    """Submit one draft from a client of its own; the time its commit returned."""
    with ReviewDesk.open(url) as producer:
        producer.submit(
            [{"id": f"live-{next(_serial)}", "draft": "Thanks for writing.", "category": "misc"}]
        )
        return time.monotonic()


def desk_run(url: str, mode: str, idle_seconds: float, samples: int) -> dict[str, Any]:
    shell = open_window(url)
    window, desk_app, executor, errors = shell.window, shell.desk_app, shell.executor, shell.errors
    window.show()
    desk_app.open_desk()
    try:
        if not wait_until(
            lambda: window.controller is not None and window.controller.state is ReviewState.EMPTY,
            30,
        ):
            raise SystemExit("the desk did not open on an empty queue")
        controller = window.controller
        assert controller is not None and desk_app.session is not None
        if mode == "poll":
            assert desk_app.listener is not None
            desk_app.listener.stop()
            controller.set_live(False)
        QTest.qWait(2000)  # the start-up reads are over, and the worker idle:
        wait_until(lambda: executor.pending == 0, 30)
        QTest.qWait(500)
        engines = desk_app.session.desk.engines
        statements: list[float] = []
        start = time.monotonic()

        def count(*args: object) -> None:
            statements.append(time.monotonic())
            if SHOW:
                print(f"  {time.monotonic() - start:7.2f} s  {' '.join(str(args[2]).split())[:90]}")

        with counting(engines, count):
            QTest.qWait(int(idle_seconds * 1000))
        idle = len(statements)

        shown: list[float] = []
        controller.draft_shown.connect(lambda p: shown.append(time.monotonic()) if p else None)
        latencies = []
        for _ in range(samples):
            shown.clear()
            committed = submit_one(url)
            if not wait_until(lambda: bool(shown), 30):
                raise SystemExit(f"{mode}: a submitted draft did not reach the desk in 30 s")
            latencies.append((shown[0] - committed) * 1000)
            wait_until(lambda: controller.can_decide(), 10)
            controller.approve()
            if not wait_until(lambda: controller.state is ReviewState.EMPTY, 30):
                raise SystemExit(f"{mode}: the desk did not come back to an empty queue")
            QTest.qWait(300)
        if errors:
            raise SystemExit(f"errors during the run: {errors}")
        return {"idle_qps": idle / idle_seconds, "idle_statements": idle, "latency": latencies}
    finally:
        shell.close()


def follow_run(url: str, samples: int) -> list[float]:
    with ReviewDesk.open(url) as desk:
        desk.set_session_limits(SessionLimits.off().with_changes(undo_window_seconds=0))
        desk.submit(
            [
                {"id": f"follow-{next(_serial)}", "draft": "Your order shipped.", "category": "x"}
                for _ in range(samples)
            ]
        )
        earlier = desk.counts().undelivered
        proc = subprocess.Popen(
            [sys.executable, "-m", "reviewdesk", "results", "--follow", "--ack", "--db", url],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        seen: dict[str, float] = {}  # draft id -> when its line was read

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                seen.setdefault(json.loads(line)["id"], time.monotonic())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # Started: every result decided before is printed, then it listens.
        end = time.monotonic() + 60
        while len(seen) < earlier and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(1.0)
        latencies = []
        try:
            for _ in range(samples):
                lease = desk.claim("bench")
                assert lease is not None
                draft_id = lease.draft.id
                desk.decide(lease, "approve")
                decided = time.monotonic()
                end = decided + 10
                while draft_id not in seen and time.monotonic() < end:
                    time.sleep(0.0005)
                if draft_id not in seen:
                    raise SystemExit("a decision did not reach results --follow in 10 s")
                latencies.append((seen[draft_id] - decided) * 1000)
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(10)
        return latencies


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, max {max(values):.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--modes", default="poll,live")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--follow-samples", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print the idle desk's statements")
    args = parser.parse_args()
    global SHOW
    SHOW = args.show
    base = postgres_base()
    print(f"Live desk benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"  command: {' '.join([os.path.relpath(sys.executable), *sys.argv])}")
    for engine in args.engines.split(","):
        for mode in args.modes.split(","):
            schema = None
            if engine == "postgresql":
                url, schema = postgres_schema_url(base)
            else:
                url = f"sqlite:///{tempfile.mkdtemp(prefix='reviewdesk-live-')}/queue.sqlite3"
            try:
                with ReviewDesk.open(url, upgrade=True) as desk:
                    desk.set_session_limits(SessionLimits.off())
                result = desk_run(url, mode, args.idle_seconds, args.samples)
                print(
                    f"{engine:<10} {mode:<4} idle: {result['idle_statements']} statements in "
                    f"{args.idle_seconds:g} s ({result['idle_qps']:.2f}/s); draft to desk "
                    f"({args.samples}): {summary(result['latency'])}",
                    flush=True,
                )
                if mode == args.modes.split(",")[-1]:
                    follow = follow_run(url, args.follow_samples)
                    print(
                        f"{engine:<10} decision to results --follow ({args.follow_samples}): "
                        f"{summary(follow)}",
                        flush=True,
                    )
            finally:
                if schema is not None:
                    drop_schema(base, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
