"""Error rates of the "remove review" recommendation, by simulation.

Each simulated run is one category reviewed 2,000 times, each review an approval with the true
probability p, 20 reviews a day. After every 50 reviews the recommendation is checked with
the real rules (``reviewdesk.services.recommend.evaluate``, default settings: target 95%,
alpha 5%, minimum 50/200/500 reviews by risk, 28-day trend periods). Reported, with run counts
and a 95% Wilson interval for each share:

- false removal: the share of runs with p = 94% (and p = 95%, the boundary) in which any of
  the 40 checks recommended removing review. The claim is at most 5%.
- power: the share of runs with p = 99% in which removal was recommended at some check up to
  500 reviews. The claim is at least 90%.
- for contrast, the same shares for the naive rule the method replaces: a single-look 95%
  Wilson lower bound at or above 95% (after the same minimum), checked after every 50 reviews.

Plain ``random`` with a fixed seed: the same command prints the same figures.

    .venv/bin/python benchmarks/recommendation_sim.py
    .venv/bin/python benchmarks/recommendation_sim.py --runs 2000 --json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reviewdesk.core.domain import Risk
from reviewdesk.services.recommend import Evidence, Outcome, RecommendSettings, evaluate
from reviewdesk.services.stats import wilson_interval

SEED = 5
REVIEWS = 2000
EVERY = 50
PER_DAY = 20


@dataclass(frozen=True)
class Scenario:
    name: str
    p: float
    risk: Risk
    horizon: int  # a run counts if removal was recommended at a check <= horizon


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    rule: str
    runs: int
    hits: int
    low: float
    high: float
    seconds: float

    @property
    def share(self) -> float:
        return self.hits / self.runs


Rule = Callable[[list[int], int, RecommendSettings, Risk], bool]


def method_rule(outcomes: list[int], n: int, s: RecommendSettings, risk: Risk) -> bool:
    """The real rules, fed the evidence a database would hold after n reviews."""
    last_day = (n - 1) // PER_DAY
    current_from = last_day - s.trend_days + 1
    previous_from = current_from - s.trend_days

    def window(start_day: int, end_day: int) -> tuple[int, int]:
        lo = max(0, start_day * PER_DAY)
        hi = min(n, end_day * PER_DAY)
        if hi <= lo:
            return 0, 0
        return hi - lo, sum(outcomes[lo:hi])

    cur_n, cur_a = window(current_from, last_day + 1)
    prev_n, prev_a = window(previous_from, current_from)
    evidence = Evidence(
        n=n,
        approved=sum(outcomes[:n]),
        current_n=cur_n,
        current_approved=cur_a,
        previous_n=prev_n,
        previous_approved=prev_a,
        risk=risk,
    )
    return evaluate(evidence, s).outcome is Outcome.REMOVE


def naive_rule(outcomes: list[int], n: int, s: RecommendSettings, risk: Risk) -> bool:
    """What a fixed threshold checked repeatedly does: one-look 95% Wilson bound >= target."""
    return n >= s.min_reviews(risk) and wilson_interval(sum(outcomes[:n]), n)[0] >= s.target


def simulate(scenario: Scenario, rule: Rule, name: str, runs: int, seed: int) -> Result:
    rng = random.Random(seed)
    settings = RecommendSettings()
    hits = 0
    start = time.perf_counter()
    for _ in range(runs):
        outcomes = [1 if rng.random() < scenario.p else 0 for _ in range(REVIEWS)]
        for n in range(EVERY, scenario.horizon + 1, EVERY):
            if rule(outcomes, n, settings, scenario.risk):
                hits += 1
                break
    low, high = wilson_interval(hits, runs)
    return Result(scenario, name, runs, hits, low, high, time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs per scenario")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    plan: list[tuple[Scenario, Rule, str]] = []
    for risk in Risk:
        plan.append((Scenario("false removal", 0.94, risk, REVIEWS), method_rule, "method"))
    plan.append((Scenario("false removal", 0.95, Risk.LOW, REVIEWS), method_rule, "method"))
    for risk in Risk:
        plan.append((Scenario("power", 0.99, risk, 500), method_rule, "method"))
    plan.append((Scenario("false removal", 0.94, Risk.LOW, REVIEWS), naive_rule, "naive"))
    plan.append((Scenario("false removal", 0.95, Risk.LOW, REVIEWS), naive_rule, "naive"))
    plan.append((Scenario("power", 0.99, Risk.LOW, 500), naive_rule, "naive"))

    results = []
    print(
        f"{REVIEWS} reviews per run, checked every {EVERY}, {PER_DAY} reviews a day; "
        f"{args.runs:,} runs per line; seed {args.seed}\n"
    )
    print(f"{'what':<15} {'rule':<7} {'true p':>6} {'risk':<6} {'within':>6} "
          f"{'runs':>7} {'removed':>8} {'share':>7}  95% interval")  # fmt: skip
    for i, (scenario, rule, name) in enumerate(plan):
        r = simulate(scenario, rule, name, args.runs, args.seed + i)
        results.append(r)
        print(
            f"{scenario.name:<15} {name:<7} {scenario.p:>6.2f} {scenario.risk.value:<6} "
            f"{scenario.horizon:>6} {r.runs:>7,} {r.hits:>8,} {r.share:>7.2%}  "
            f"[{r.low:.2%}, {r.high:.2%}]",
            flush=True,
        )
    print(f"\nPython {platform.python_version()} on {platform.platform()}")
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "what": r.scenario.name,
                        "rule": r.rule,
                        "p": r.scenario.p,
                        "risk": r.scenario.risk.value,
                        "within": r.scenario.horizon,
                        "runs": r.runs,
                        "removed": r.hits,
                        "share": r.share,
                        "low": r.low,
                        "high": r.high,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    method = [r for r in results if r.rule == "method"]
    false_ok = all(r.share <= 0.05 for r in method if r.scenario.p < 0.95)
    power_ok = all(r.share >= 0.90 for r in method if r.scenario.p == 0.99)
    return 0 if false_ok and power_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
