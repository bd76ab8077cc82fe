"""Turning drafts and records into text a reviewer reads. Pure functions, no Qt.

Everything a producer sends is shown as plain text. Characters that would hide or reorder what
is shown (control characters, bidirectional overrides) are made visible instead of obeyed, so
that a reviewer approves exactly what they saw.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta

from reviewdesk.core.domain import Severity

# C0 controls (except tab and newline) and DEL become their visible "control pictures".
_CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\t\n"}
_CONTROL_PICTURES[0x7F] = "\u2421"
# C1 controls have no pictures: show the code point.
_C1 = {code: f"\u27e6U+{code:04X}\u27e7" for code in range(0x80, 0xA0)}
# Bidirectional embeddings, overrides and isolates can make text read differently from what it
# is ("Trojan source"): show them as tags rather than obey them.
_BIDI_NAMES = {
    0x202A: "LRE",
    0x202B: "RLE",
    0x202C: "PDF",
    0x202D: "LRO",
    0x202E: "RLO",
    0x2066: "LRI",
    0x2067: "RLI",
    0x2068: "FSI",
    0x2069: "PDI",
}
_BIDI = {code: f"\u27e6{name}\u27e7" for code, name in _BIDI_NAMES.items()}
_VISIBLE = {**_CONTROL_PICTURES, **_C1, **_BIDI}


def display_text(text: str) -> str:
    """``text`` as shown to a reviewer: line breaks normalized, hidden controls made visible."""
    text = text.replace("\r\n", "\n")
    return text.translate(_VISIBLE)


_HIDDEN = re.compile(
    "[" + "".join(re.escape(chr(code)) for code in sorted(_VISIBLE) if code != 0x0D) + "]|\r(?!\n)"
)


def has_hidden_characters(text: str) -> bool:
    """Whether ``display_text`` had to make something visible (CR of CRLF aside)."""
    return _HIDDEN.search(text) is not None


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
