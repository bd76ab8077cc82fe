"""Derive the drift alarm's limits (reviewdesk/core/drift.py LIMITS) by simulation.

For each AOQL, the limit h whose Bernoulli CUSUM, at defect rate p0 = AOQL, runs on average
IN_CONTROL_RUN_LENGTH sampled outcomes before a false alarm. Bisection on h with the same
random numbers for every candidate (the mean run length then grows with h).

    .venv/bin/python tools/cusum_limits.py [--runs 500] [--rates 0.3,0.5]
"""

from __future__ import annotations

import argparse

from reviewdesk.core.drift import (
    IN_CONTROL_RUN_LENGTH,
    LIMITS,
    Cusum,
    mean_run_length,
    rates,
)


def derive(aoql: float, runs: int, seed: int) -> tuple[float, float]:
    p0, p1 = rates(aoql)
    lo, hi = 0.5, 15.0
    for _ in range(14):
        mid = (lo + hi) / 2
        if mean_run_length(Cusum(p0, p1, mid), p0, runs, seed) < IN_CONTROL_RUN_LENGTH:
            lo = mid
        else:
            hi = mid
    h = round(hi, 2)
    return h, mean_run_length(Cusum(p0, p1, h), p0, runs, seed + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rates", help="derive these in-control rates only (comma-separated; default: LIMITS')"
    )
    args = parser.parse_args()
    wanted = [float(r) for r in args.rates.split(",")] if args.rates else [a for a, _ in LIMITS]
    print(f"in-control mean run length target: {IN_CONTROL_RUN_LENGTH} sampled outcomes")
    print("aoql    p0      p1      h      ARL0 (fresh runs)  ARL1 at p1")
    for aoql in wanted:
        h, check = derive(aoql, args.runs, args.seed)
        p0, p1 = rates(aoql)
        arl1 = mean_run_length(Cusum(p0, p1, h), p1, args.runs, args.seed + 2)
        print(f"{aoql:<7g} {p0:<7.4f} {p1:<7.4f} {h:<6.2f} {check:<18.0f} {arl1:.0f}", flush=True)


if __name__ == "__main__":
    main()
