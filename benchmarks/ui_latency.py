"""Reviewer's desk latency: from a decision key to the next draft's text painted on screen.

Drives the real main window (offscreen) through N decisions on SQLite and on PostgreSQL, the
way ``reviewdesk gui`` builds it (DeskApp, the background executor, prefetching), and prints
p50 / p95 / max of the time from the key event to the first paint of the next draft's text.
The mix is 7 approvals, 1 rejection (Enter in the dialog), 1 escalation (Ctrl+Enter in the
dialog) and 1 edit (Ctrl+Enter in the editor) in every 10; the clock starts at the key that
records the decision. Between decisions the driver waits until the desk is idle (the next
draft prefetched) plus a short think time, as a reader would.

    .venv/bin/python benchmarks/ui_latency.py                      # SQLite and PostgreSQL
    .venv/bin/python benchmarks/ui_latency.py --backend sqlite --decisions 500
    .venv/bin/python benchmarks/ui_latency.py --startup 5           # start-up time instead
    .venv/bin/python benchmarks/ui_latency.py --backend sqlite --stalls 50

``--stalls MS`` samples every thread's Python stack every 2 ms while a key waits for its paint,
and prints, for each decision slower than MS, where the GUI thread and the others were.

PostgreSQL: $REVIEWDESK_BENCH_POSTGRES_URL, else $REVIEWDESK_TEST_POSTGRES_URL, else
postgresql+psycopg://root@127.0.0.1:5432/test; the run uses a fresh schema, dropped after.
Start-up: runs ``python -m reviewdesk gui --screenshot`` with a fresh REVIEWDESK_HOME (first
start: schema + demo queue) and again on the same home (a later start), and times from process
launch to the first draft painted (the app prints the moment when REVIEWDESK_STARTUP_PROBE is
set).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("REVIEWDESK_HOME", tempfile.mkdtemp(prefix="reviewdesk-bench-ui-"))

from bench_pg import drop_schema
from bench_window import open_window, postgres_base, postgres_schema_url
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from reviewdesk import ReviewDesk
from reviewdesk.services.demo import demo_records
from reviewdesk.ui.dialogs.decision import EscalateDialog, RejectDialog
from reviewdesk.ui.main_window import MainWindow
from reviewdesk.ui.review_controller import ReviewController, ReviewState
from reviewdesk.ui.worker import Executor

REPO = Path(__file__).resolve().parents[1]
MIX = ("approve",) * 7 + ("reject", "escalate", "edit")
THINK_MS = 30
IDLE_WAIT_LIMIT_S = 20.0  # a desk not idle for this long is stuck: report it, do not hang


def seed_records(count: int) -> list[dict[str, Any]]:
    """``count`` real demo drafts (cycled, ids made unique), all claimable at once."""
    base = demo_records()
    records = []
    for n in range(count):
        record = dict(base[n % len(base)])
        record["id"] = f"bench-{n:05d}"
        record["priority"] = 0
        record.pop("thread", None)
        records.append(record)
    return records


def unlimited(desk: ReviewDesk) -> None:
    """Switch the reviewer-fatigue limits off, if this queue has them: the benchmark measures
    the desk, not break times."""
    if not hasattr(desk, "set_session_limits"):
        return
    from reviewdesk.core.sessions import SessionLimits

    desk.set_session_limits(
        SessionLimits(
            reviews_per_session=None,
            minutes_per_session=None,
            sessions_per_day=None,
            reviews_per_day=None,
            max_same_category=None,
            gold_rate=0.0,
        )
    )


@dataclass
class Sample:
    verb: str
    total_ms: float  # key to the next draft's text painted: the figure
    gui_cpu_ms: float  # CPU time the GUI thread spent in that interval (the rest is waiting)
    side_ms: float = 0.0  # key to the side tab in view showing the new draft's context
    stacks: list[tuple[float, str]] = field(default_factory=list)  # (ms after key, stacks)


class StackSampler:
    """Every 2 ms while ``active``, every thread's innermost frames (``--stalls``)."""

    def __init__(self, depth: int = 8) -> None:
        self.depth = depth
        self.active = False
        self.t0 = 0.0
        self.taken: list[tuple[float, str]] = []
        self._gui = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        names: dict[int | None, str] = {}
        while not self._stop.wait(0.002):
            if not self.active:
                continue
            at = (time.perf_counter() - self.t0) * 1000
            names.update((t.ident, t.name) for t in threading.enumerate())
            parts = []
            for ident, frame in sys._current_frames().items():
                if ident == threading.get_ident():
                    continue
                name = "GUI" if ident == self._gui else names.get(ident, str(ident))
                frames = traceback.extract_stack(frame)[-self.depth :]
                where = " < ".join(
                    f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames)
                )
                parts.append(f"    {name}: {where}")
            self.taken.append((at, "\n".join(sorted(parts))))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Driver(QObject):
    """Presses the keys and times them, driven by signals (no nested event loops)."""

    window: MainWindow
    executor: Executor
    decisions: int
    sampler: StackSampler | None = None
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()
        self.controller: ReviewController | None = None
        self._t0 = 0.0
        self._cpu0 = 0.0
        self._verb = ""
        self._previous: str | None = None
        self._waiting_paint = False
        self._side_early = 0.0  # the side tab filled in before the paint (ms after the key)
        self._idle_wait = 0.0  # since when the desk has not been idle (time.monotonic())
        self.stuck: str | None = None
        self.window.draft_view.painted.connect(self._painted)
        self.window.side_refreshed.connect(self._side)

    def start(self, controller: ReviewController) -> None:
        self.controller = controller
        self._when_idle()

    # -- pacing -------------------------------------------------------------------------------
    def _when_idle(self) -> None:
        controller = self.controller
        assert controller is not None
        idle = (
            self.executor.pending == 0
            and not controller.prefetching
            and controller.state is ReviewState.SHOWING
            and (not self.samples or self.samples[-1].side_ms > 0)
        )
        if not idle:
            now = time.monotonic()
            self._idle_wait = self._idle_wait or now
            if now - self._idle_wait > IDLE_WAIT_LIMIT_S:
                self.stuck = (
                    f"not idle for {IDLE_WAIT_LIMIT_S:.0f} s after decision {len(self.samples)}: "
                    f"executor pending {self.executor.pending}, prefetching "
                    f"{controller.prefetching}, state {controller.state.value}, side tab "
                    f"{self.samples[-1].side_ms if self.samples else None} ms"
                )
                QApplication.quit()
                return
            QTimer.singleShot(2, self._when_idle)
            return
        self._idle_wait = 0.0
        if len(self.samples) >= self.decisions:
            QApplication.quit()
            return
        QTimer.singleShot(THINK_MS, self._decide)

    def _focus(self) -> QWidget:
        top = QApplication.activeModalWidget() or self.window
        return top.focusWidget() or top

    def _decide(self) -> None:
        controller = self.controller
        assert controller is not None and controller.current is not None
        self._previous = controller.current.lease.draft.id
        self._verb = MIX[len(self.samples) % len(MIX)]
        if self._verb == "approve":
            self._press(Qt.Key.Key_A)
        elif self._verb == "reject":
            self.window.open_reject()
            self._when_dialog(RejectDialog, lambda: self._press(Qt.Key.Key_Return))
        elif self._verb == "escalate":
            self.window.open_escalate()

            def confirm() -> None:
                dialog = self.window.active_dialog
                assert isinstance(dialog, EscalateDialog)
                QTest.keyClick(self._focus(), Qt.Key.Key_4)  # low: no note needed
                self._press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

            self._when_dialog(EscalateDialog, confirm)
        else:
            self.window.begin_edit()
            QTest.keyClicks(self.window.editor.editor, " Thanks for your patience.")
            self._press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    def _when_dialog(self, kind: type, then: Any) -> None:
        dialog = self.window.active_dialog
        if isinstance(dialog, kind) and dialog.isActiveWindow():
            then()
        else:
            QTimer.singleShot(1, lambda: self._when_dialog(kind, then))

    def _press(
        self, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
    ) -> None:
        self._waiting_paint = True
        self._side_early = 0.0
        self._t0 = time.perf_counter()
        self._cpu0 = time.thread_time()
        if self.sampler is not None:
            self.sampler.taken = []
            self.sampler.t0 = self._t0
            self.sampler.active = True
        QTest.keyClick(self._focus(), key, modifier)

    # -- measuring ----------------------------------------------------------------------------
    def _painted(self) -> None:
        controller = self.controller
        if not self._waiting_paint or controller is None or controller.current is None:
            return
        if controller.current.lease.draft.id == self._previous:
            return
        if self.window.draft_view.raw_text != controller.current.lease.draft.draft:
            return
        now, cpu = time.perf_counter(), time.thread_time()
        self._waiting_paint = False
        sample = Sample(
            self._verb, (now - self._t0) * 1000, (cpu - self._cpu0) * 1000, self._side_early
        )
        if self.sampler is not None:
            self.sampler.active = False
            sample.stacks = self.sampler.taken
        self.samples.append(sample)
        self._when_idle()

    def _side(self) -> None:
        controller = self.controller
        shown = controller.current if controller is not None else None
        if shown is None or shown.lease.draft.id == self._previous:
            return  # a refresh for the draft just decided
        side_ms = (time.perf_counter() - self._t0) * 1000
        if self._waiting_paint:
            # The side tab can be filled before the draft's first paint is seen (a closing
            # dialog can hold the paint back): keep it for the sample to come.
            self._side_early = self._side_early or side_ms
        elif self.samples and self.samples[-1].side_ms == 0:
            self.samples[-1].side_ms = side_ms


def run_window(url: str, decisions: int, stalls_ms: float | None = None) -> list[Sample]:
    """Seed ``url``, open the real window on it, make ``decisions`` decisions; the samples."""
    with ReviewDesk.open(url, upgrade=True) as desk:
        unlimited(desk)
        desk.submit(seed_records(decisions + 20))
    shell = open_window(url)
    shell.window.resize(1280, 800)
    sampler = StackSampler() if stalls_ms is not None else None
    driver = Driver(shell.window, shell.executor, decisions, sampler)
    shell.desk_app.attached.connect(driver.start)
    shell.window.show()
    shell.window.activateWindow()
    shell.desk_app.open_desk()
    shell.app.exec()
    if sampler is not None:
        sampler.stop()
        print_stalls(driver.samples, stalls_ms or 0.0)
    shell.close()
    if shell.errors:
        raise SystemExit(f"errors during the run: {shell.errors}")
    if driver.stuck:
        raise SystemExit(f"the desk got stuck: {driver.stuck}")
    with ReviewDesk.open(url) as desk:
        decided = desk.counts().decided
    if decided != decisions:
        raise SystemExit(f"expected {decisions} decisions in the database, found {decided}")
    return driver.samples


def print_stalls(samples: list[Sample], over_ms: float) -> None:
    """Where every thread was while a slow decision waited for its paint (consecutive equal
    stacks shown once, with the time they were first and last seen)."""
    for number, sample in enumerate(samples, 1):
        if sample.total_ms <= over_ms:
            continue
        print(
            f"decision {number} ({sample.verb}): {sample.total_ms:.1f} ms, GUI-thread CPU "
            f"{sample.gui_cpu_ms:.1f} ms, {len(sample.stacks)} stack samples"
        )
        runs: list[list[Any]] = []
        for at, stacks in sample.stacks:
            if runs and runs[-1][2] == stacks:
                runs[-1][1] = at
            else:
                runs.append([at, at, stacks])
        for first, last, stacks in runs:
            print(f"  {first:7.1f}-{last:7.1f} ms\n{stacks}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def report(name: str, samples: list[Sample]) -> None:
    totals = [s.total_ms for s in samples]
    cpu = [s.gui_cpu_ms for s in samples]
    side = [s.side_ms for s in samples if s.side_ms]
    print(
        f"{name:<11} {len(samples):>5}  p50 {percentile(totals, 0.50):6.1f} ms  "
        f"p95 {percentile(totals, 0.95):6.1f} ms  max {max(totals):6.1f} ms"
    )
    print(
        f"  GUI-thread CPU in that time: p50 {percentile(cpu, 0.5):5.1f} ms, "
        f"p95 {percentile(cpu, 0.95):5.1f} ms; side tab filled in: p50 "
        f"{percentile(side, 0.5):5.1f} ms, p95 {percentile(side, 0.95):5.1f} ms after the key"
    )
    for verb in ("approve", "reject", "escalate", "edit"):
        mine = [s.total_ms for s in samples if s.verb == verb]
        if mine:
            print(
                f"  {verb:<9} {len(mine):>5}  p50 {percentile(mine, 0.5):6.1f} ms  "
                f"p95 {percentile(mine, 0.95):6.1f} ms  max {max(mine):6.1f} ms"
            )


def startup(runs: int) -> None:
    """Launch to first draft painted, first start (fresh home) and later starts."""
    firsts: list[float] = []
    laters: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="reviewdesk-start-") as home:
            for bucket in (firsts, laters):
                bucket.append(_launch(Path(home)))
    for name, values in (("first start", firsts), ("later start", laters)):
        print(
            f"{name:<12} {len(values)} runs  median {statistics.median(values):6.0f} ms  "
            f"max {max(values):6.0f} ms  ({', '.join(f'{v:.0f}' for v in values)})"
        )


def _launch(home: Path) -> float:
    env = {
        **os.environ,
        "REVIEWDESK_HOME": str(home),
        "REVIEWDESK_STARTUP_PROBE": "1",
        "QT_QPA_PLATFORM": "offscreen",
    }
    env.pop("REVIEWDESK_DATABASE_URL", None)
    shot = home / "shot.png"
    launched = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "reviewdesk", "gui", "--screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )
    probes = [
        line.split() for line in done.stderr.splitlines() if line.startswith("startup-probe ")
    ]
    if done.returncode != 0 or not probes or probes[0][1] != "draft":
        raise SystemExit(f"start-up run failed ({done.returncode}):\n{done.stderr}")
    return (float(probes[0][2]) - launched) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--startup", type=int, metavar="RUNS", help="measure start-up instead")
    parser.add_argument(
        "--stalls", type=float, metavar="MS", help="show where the threads were in slower keys"
    )
    args = parser.parse_args()
    if args.startup:
        startup(args.startup)
        return 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{args.decisions} decisions per backend; think time {THINK_MS} ms; offscreen; "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at start"
    )
    if args.backend in ("sqlite", "both"):
        path = Path(os.environ["REVIEWDESK_HOME"]) / f"bench-{uuid.uuid4().hex[:6]}.sqlite3"
        report("SQLite", run_window(f"sqlite:///{path}", args.decisions, args.stalls))
    if args.backend in ("postgresql", "both"):
        base = postgres_base()
        url, schema = postgres_schema_url(base)
        try:
            report("PostgreSQL", run_window(url, args.decisions, args.stalls))
        finally:
            drop_schema(base, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
