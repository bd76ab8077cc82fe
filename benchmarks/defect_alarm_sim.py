"""The defect-rate alert's false alarms: how often the rule raises on a category at its usual rate.

Draws ``--decisions`` random outcomes at in-control rate p0 (seeded), slides the rule's window
(``--window`` decisions) along them, evaluating every ``--every`` decisions with
``reviewdesk.core.alerts.evaluate`` (the rule itself, at its default settings, the baseline
exactly p0), and counts the raises: evaluations where the alert appears while it was not open.
Then the same at 3 p0 (the rate the alarm is tuned to), for how soon it is raised.

    .venv/bin/python benchmarks/defect_alarm_sim.py
    .venv/bin/python benchmarks/defect_alarm_sim.py --rates 0.05 --windows 50,150,300
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime

from reviewdesk.core.alerts import AlertSettings, CategoryRates, Figures, Rule, evaluate
from reviewdesk.core.drift import IN_CONTROL_RUN_LENGTH, rates

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BASELINE = 100_000


def found(window: tuple[bool, ...], p0: float, settings: AlertSettings) -> bool:
    category = CategoryRates(
        "c", len(window), 0, sum(window), BASELINE, 0, round(p0 * BASELINE), window
    )
    figures = Figures(now=NOW, rates=(category,))
    return any(f.rule is Rule.DEFECT_RATE for f in evaluate(figures, settings))


def raises(p: float, p0: float, n: int, window: int, every: int, seed: int) -> int:
    settings = AlertSettings(defect_rate_floor=0.0)
    rng = random.Random(seed)
    outcomes = [rng.random() < p for _ in range(n)]
    count, was_open = 0, False
    for end in range(window, n + 1, every):
        now_open = found(tuple(outcomes[end - window : end]), p0, settings)
        count += now_open and not was_open
        was_open = now_open
    return count


def first_raise(p: float, p0: float, window: int, every: int, seed: int, runs: int) -> float:
    """Mean decisions from a step to p until the first raise (the window full of p0 before)."""
    settings = AlertSettings(defect_rate_floor=0.0)
    rng = random.Random(seed)
    total = 0
    for _ in range(runs):
        before = [rng.random() < p0 for _ in range(window)]
        after: list[bool] = []
        while True:
            after.extend(rng.random() < p for _ in range(every))
            if found(tuple((before + after)[-window:]), p0, settings):
                break
        total += len(after)
    return total / runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="0.01,0.05,0.2")
    parser.add_argument("--windows", default="50,150,300")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--decisions", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"Defect-rate alert at its usual rate, {time.strftime('%Y-%m-%d %H:%M UTC')}")
    print(f"  command: {' '.join([os.path.relpath(sys.executable), *sys.argv])}")
    print(f"  target: one false alarm per {IN_CONTROL_RUN_LENGTH:,} decisions (the drift alarm's)")
    print("p0      window  raises  decisions per raise  decisions to a raise at p1")
    for p0 in (float(r) for r in args.rates.split(",")):
        for window in (int(w) for w in args.windows.split(",")):
            count = raises(p0, p0, args.decisions, window, args.every, args.seed)
            per = f"{args.decisions / count:,.0f}" if count else "none"
            _, p1 = rates(p0)
            delay = first_raise(p1, p0, window, args.every, args.seed + 1, 200)
            print(f"{p0:<7g} {window:<7} {count:<7} {per:<20} {delay:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
