"""Control limits of a rate (a p-chart): is the rate of a recent window out of line with its
baseline, or within what chance gives?

The limits are the Wilson score interval of the baseline rate at the window's size: where the
window's rate would fall, ``z`` standard errors either side, if nothing had changed. Unlike
p0 ± z·sqrt(p0 (1 - p0) / n), they stay inside [0, 1] and keep their coverage near 0 and 1,
where approval and defect rates live, and on the small windows a category has in 15 minutes.

The approval-rate alert judges its window with it: an approval rate may move either way, and is
judged on the window's share. The defect-rate alert runs the drift alarm instead (core/drift.py:
a CUSUM adds up evidence decision by decision); the two answer different questions. The Wilson
interval is also the statistics' and the recommendations'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
Z_CONTROL = 3.0  # a p-chart's usual limits: a false alarm about once in 370 windows


def wilson_interval(successes: int | float, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927).

    With p = successes / n, the bounds are the two roots of |p - q| = z * sqrt(q (1 - q) / n):

        (p + z²/2n ± z * sqrt(p (1 - p) / n + z² / 4n²)) / (1 + z²/n)

    Unlike p ± z * se it stays inside [0, 1] and keeps close to its nominal coverage near 0 and
    1, where approval rates live. ``z`` = 1.96 gives the two-sided 95% interval (tested against
    statsmodels' ``proportion_confint(method="wilson")``). n = 0 gives (0, 1): no evidence.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ControlCheck:
    """A window's rate against its baseline's control limits."""

    rate: float
    baseline: float
    lower: float
    upper: float

    @property
    def above(self) -> bool:
        return self.rate > self.upper

    @property
    def below(self) -> bool:
        return self.rate < self.lower


def control_check(
    count: int, n: int, baseline_count: int, baseline_n: int, *, z: float = Z_CONTROL
) -> ControlCheck | None:
    """``count`` of ``n`` in the window against ``baseline_count`` of ``baseline_n`` before it;
    None when either is empty (no evidence either way)."""
    if n <= 0 or baseline_n <= 0:
        return None
    p0 = baseline_count / baseline_n
    lower, upper = wilson_interval(p0 * n, n, z=z)
    return ControlCheck(rate=count / n, baseline=p0, lower=lower, upper=upper)
