"""How the lead view writes figures. Pure functions, no Qt."""

from __future__ import annotations

import html
from datetime import date, datetime

from reviewdesk.services.recommend import Outcome, Recommendation, Verdict
from reviewdesk.services.stats import Dimension, Rate
from reviewdesk.ui.text import display_text, duration

DASH = "–"


def percent(value: float | None, digits: int = 1) -> str:
    """A share in [0, 1] as ``82.4%``; ``–`` when there is none."""
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def rate_text(rate: Rate | None, *, interval: bool = True) -> str:
    """``82.4% (79.1–85.3)``: the rate and its 95% Wilson interval."""
    if rate is None or rate.value is None:
        return DASH
    text = percent(rate.value)
    if interval:
        text += f" ({rate.low * 100:.1f}–{rate.high * 100:.1f})"
    return text


def rate_tip(rate: Rate | None, what: str) -> str:
    if rate is None or rate.value is None:
        return f"No {what} to count."
    return (
        f"{rate.count} of {rate.total} {what}: {percent(rate.value)}; 95% Wilson interval "
        f"{percent(rate.low)} to {percent(rate.high)}."
    )


def rate_value(rate: Rate | None) -> float | None:
    """The rate in percent (0–100), as models hand it to tables and charts."""
    return None if rate is None or rate.value is None else rate.value * 100


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def count_text(value: int) -> str:
    return f"{value:,}"


def left_out_text(count: int) -> str:
    """How many low-attention approvals the figures leave out."""
    return f"{count_text(count)} low-attention approval{'' if count == 1 else 's'} left out"


def key_text(value: str | None, *, none: str = "(none)") -> str:
    """A category, model or reviewer name from a producer, safe to show as plain text."""
    return display_text(value) if value else none


def chart_text(value: str) -> str:
    """Text for QtCharts labels and legends, which render HTML: always escaped."""
    return html.escape(" ".join(display_text(value).split()))


def period_text(since: date | None, until: date) -> str:
    start = f"{since:%d %b %Y}" if since else "the first decision"
    return f"{start} to {until:%d %b %Y}"


def grain_text(grain: Dimension) -> str:
    return "week" if grain is Dimension.WEEK else "day"


OUTCOME_TITLES = {
    Outcome.KEEP_FULL: "Keep full review",
    Outcome.SAMPLE: "Sampled review",
    Outcome.REMOVE: "Review can be removed",
    Outcome.NOT_ENOUGH: "Not enough evidence",
}
# The tone of each outcome, as the stylesheet names them.
OUTCOME_TONES = {
    Outcome.KEEP_FULL: "red",
    Outcome.SAMPLE: "amber",
    Outcome.REMOVE: "green",
    Outcome.NOT_ENOUGH: "muted",
}


def outcome_text(verdict: Verdict) -> str:
    text = OUTCOME_TITLES[verdict.outcome]
    if verdict.sampling_rate is not None:
        text += f" ({percent(verdict.sampling_rate, 0)})"
    if verdict.spot_check_rate is not None:
        text += f", spot-check {percent(verdict.spot_check_rate, 0)}"
    return text


def escalations_text(counts: dict[str, int]) -> str:
    parts = [f"{n} {severity}" for severity, n in counts.items() if n]
    return ", ".join(parts) if parts else "none"


def trend_text(verdict: Verdict) -> str:
    trend = verdict.trend
    if not trend.tested:
        return "not tested"
    text = f"{percent(trend.previous.value, 0)} → {percent(trend.current.value, 0)}"
    if trend.p_value is not None:
        text += f" (p = {trend.p_value:.2f})"
    return text


def rule_text(recommendation: Recommendation) -> str:
    return recommendation.verdict.rule.value.replace("_", " ")


def due_text(due: datetime, now: datetime, *, resolved: bool = False) -> str:
    """``14:05, in 12 min`` or ``14:05, overdue by 1 h 05 min`` (local time)."""
    local = due.astimezone()
    when = f"{local:%H:%M}" if local.date() == now.astimezone().date() else f"{local:%d %b %H:%M}"
    if resolved:
        return when
    if due >= now:
        return f"{when}, in {duration(due - now)}"
    return f"{when}, overdue by {duration(now - due)}"
