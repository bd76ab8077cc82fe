"""Turning drafts and records into text a reviewer reads. Pure functions, no Qt.

Everything a producer sends is shown as plain text. Characters that would hide or reorder what
is shown (control characters, bidirectional marks and overrides, zero-width and tag characters)
are made visible instead of obeyed, so that a reviewer approves exactly what they saw.
"""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta

from reviewdesk.core.domain import Severity
from reviewdesk.core.hidden_text import hidden_characters, hidden_count, reveal


def display_text(text: str) -> str:
    """``text`` as shown to a reviewer: line breaks normalized, hidden characters made visible
    (``reviewdesk.core.hidden_text`` says which, and how)."""
    return reveal(text)


def has_hidden_characters(text: str) -> bool:
    """Whether ``display_text`` had to make something visible (CR of CRLF aside)."""
    return hidden_count(text) > 0


def hidden_summary(text: str) -> str:
    """The hidden characters of ``text`` as a reviewer is told of them: ``⟦RLO⟧ ×1, ␛ ×2``."""
    return ", ".join(f"{shown} ×{n}" for shown, n in hidden_characters(text).most_common())


def one_line(text: str, limit: int = 120) -> str:
    """A one-line preview of ``text``."""
    flat = " ".join(display_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def reason_label(reason: str) -> str:
    """``factual_error`` → ``Factual error``."""
    words = reason.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def duration(delta: timedelta) -> str:
    """A short, human duration: ``45 s``, ``12 min``, ``3 h 05 min``, ``4 days``."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def response_time(severity: Severity) -> str:
    """How soon an escalation must be answered: ``in under 15 minutes``, ``within 1 hour``."""
    minutes = int(severity.response_time.total_seconds() // 60)
    if minutes < 60:
        return f"in under {minutes} minutes"
    hours = minutes // 60
    return "within 1 hour" if hours == 1 else f"within {hours} hours"


def local_time(when: datetime, *, now: datetime | None = None) -> str:
    """``14:03`` today, else ``17 Nov 14:03``, in the machine's time zone."""
    local = when.astimezone()
    today = (now or datetime.now().astimezone()).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%d %b %H:%M}"


def unified_diff(original: str, edited: str) -> str:
    """A line diff of the edit, for the reviewer to check before it is submitted."""
    lines = list(
        difflib.unified_diff(
            original.splitlines(),
            edited.splitlines(),
            fromfile="draft",
            tofile="your edit",
            lineterm="",
            n=2,
        )
    )
    return "\n".join(lines)


def scalar_text(value: object) -> str:
    """A JSON scalar as a reviewer reads it."""
    if value is None:
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return display_text(str(value))
