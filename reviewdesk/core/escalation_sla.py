"""When an escalation is due, and when it breached its service level.

An escalation is due ``Severity.response_time`` after it was decided. It is overdue while it is
open past that time, and it breached when it was resolved after that time or is still open past
it. The statistics count breaches in the database with the same times
(``reviewdesk/storage/rules_sql.py``, ``response_seconds``).
"""

from __future__ import annotations

from datetime import datetime

from reviewdesk.core.domain import Severity


def due_at(decided_at: datetime, severity: Severity) -> datetime:
    """When an escalation decided at ``decided_at`` must be answered."""
    return decided_at + severity.response_time


def is_overdue(due: datetime, resolved_at: datetime | None, now: datetime) -> bool:
    """Open past its due time."""
    return resolved_at is None and now > due


def is_breached(due: datetime, resolved_at: datetime | None, now: datetime) -> bool:
    """Resolved after its due time, or still open past it."""
    return resolved_at > due if resolved_at is not None else now > due
