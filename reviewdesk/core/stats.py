"""What the lead's statistics count by: groupings, confidence bands, the review-time histogram,
the filter, and which decisions are left out.

Plain rules, shared by the statistics and recommendation services and by the storage reads
that count for them (``reviewdesk/storage/stats_sql.py``).

Confidence bands (of the model's ``confidence``, half-open ``[low, high)``)::

    <0.50  0.50-0.70  0.70-0.80  0.80-0.90  0.90-0.95  >=0.95  unknown (no confidence given)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from reviewdesk.core.errors import InvalidArgument

# Review-time histogram (seconds): bucket i is [edge[i-1], edge[i]); the last is open.
# Migrations 0003 and 0004 hold the same edges in their triggers.
REVIEW_TIME_EDGES: tuple[int, ...] = (2, 4, 6, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
HISTOGRAM = tuple(f"h{i}" for i in range(len(REVIEW_TIME_EDGES) + 1))


@dataclass(frozen=True)
class Band:
    """A confidence band: model confidence in [low, high), in 5% buckets ``first..last-1``."""

    label: str
    low: float | None
    high: float | None
    first: int
    last: int

    @property
    def buckets(self) -> range:
        return range(self.first, self.last)


# Migration 0004 keeps grains d, w, m and x by band, as each band's first bucket: keep the two
# in step.
BANDS: tuple[Band, ...] = (
    Band("<0.50", 0.0, 0.5, 0, 10),
    Band("0.50-0.70", 0.5, 0.7, 10, 14),
    Band("0.70-0.80", 0.7, 0.8, 14, 16),
    Band("0.80-0.90", 0.8, 0.9, 16, 18),
    Band("0.90-0.95", 0.9, 0.95, 18, 19),
    Band(">=0.95", 0.95, None, 19, 20),
    Band("unknown", None, None, -1, 0),
)
BAND_BY_LABEL = {b.label: b for b in BANDS}


def left_out(low_attention_approval: bool, *, include_low_attention: bool) -> bool:
    """Whether decisions (rollup rows) that are low-attention approvals, or not, are left out of
    the figures: the one rule of statistics and recommendations, as exports apply it."""
    return bool(low_attention_approval) and not include_low_attention


class Dimension(StrEnum):
    CATEGORY = "category"
    MODEL = "model"
    REVIEWER = "reviewer"
    CONFIDENCE = "confidence"
    DAY = "day"
    WEEK = "week"


PERIODS = (Dimension.DAY, Dimension.WEEK)


@dataclass(frozen=True)
class StatsFilter:
    """Which decisions count. Dates are UTC days, both ends included."""

    since: date | None = None
    until: date | None = None
    categories: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    bands: tuple[str, ...] = ()
    # Count low-attention approvals too; by default they are left out (see ``left_out``).
    include_low_attention: bool = False

    def __post_init__(self) -> None:
        unknown = [b for b in self.bands if b not in BAND_BY_LABEL]
        if unknown:
            raise InvalidArgument(
                f"unknown confidence band(s) {', '.join(unknown)}: use "
                + ", ".join(b.label for b in BANDS)
            )

    @property
    def buckets(self) -> list[int]:
        """The 5% confidence buckets of the filter's bands (empty: any)."""
        return [i for b in self.bands for i in BAND_BY_LABEL[b].buckets]


def used_dimensions(dims: Sequence[Dimension], flt: StatsFilter) -> set[Dimension]:
    """The dimensions a statistic groups or filters by."""
    return set(dims) | {
        d
        for d, values in (
            (Dimension.CATEGORY, flt.categories),
            (Dimension.MODEL, flt.models),
            (Dimension.REVIEWER, flt.reviewers),
            (Dimension.CONFIDENCE, flt.bands),
        )
        if values
    }


def histogram_median(counts: Sequence[int]) -> float | None:
    """The median of grouped data: linear interpolation inside the bucket holding the middle.

    Exact medians need every value sorted, which no engine does for a million rows in under a
    second; the estimate stays within its bucket (docs/benchmarks.md measures how close it
    is). Past the last edge (10 minutes) the estimate is that edge.
    """
    total = sum(counts)
    if total == 0:
        return None
    half = total / 2
    below = 0
    lows = (0, *REVIEW_TIME_EDGES)
    for i, count in enumerate(counts):
        if count and below + count >= half:
            if i == len(REVIEW_TIME_EDGES):
                return float(lows[i])
            width = REVIEW_TIME_EDGES[i] - lows[i]
            return lows[i] + (half - below) / count * width
        below += count
    return float(REVIEW_TIME_EDGES[-1])
