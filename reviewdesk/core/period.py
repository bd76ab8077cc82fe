"""``--since`` and ``--until`` as typed on the command line: one meaning in every command.

A date is a whole UTC day, included at either end; a time is an instant, the first one included
for ``--since`` and the first one left out for ``--until``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from reviewdesk.core.errors import ConfigurationError

# What --since and --until mean, in every command that takes them (stats, recommend, export).
SINCE_HELP = "from this UTC day (YYYY-MM-DD), included, or from this ISO 8601 time"
UNTIL_HELP = (
    "to this UTC day (YYYY-MM-DD), included: --until 2026-11-30 counts the 30th; "
    "or to this ISO 8601 time, excluded (2026-12-01T00:00 is the same end)"
)


def period_bound(raw: str | None, flag: str) -> datetime | None:
    """``--since`` or ``--until`` as an instant, in UTC: the first one included for --since,
    the first one excluded for --until.

    A date is a whole UTC day, included at either end: --since 2026-11-01 starts at its
    midnight, --until 2026-11-30 ends at the midnight after the 30th. A time (ISO 8601, UTC
    unless it says otherwise) is the instant itself. Raises ConfigurationError naming ``flag``.
    """
    if raw is None:
        return None
    try:
        if len(raw.strip()) == 10:
            day = date.fromisoformat(raw.strip())
            if flag == "--until":
                day += timedelta(days=1)
            return datetime.combine(day, time(), tzinfo=UTC)
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ConfigurationError(
            f"{flag} {raw!r}: not a date or time; use YYYY-MM-DD or ISO 8601 "
            "(2026-01-31T18:00:00+01:00)."
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def period_days(
    since: str | None, until: str | None, command: str
) -> tuple[date | None, date | None]:
    """``--since`` and ``--until`` for commands that count whole UTC days (stats, recommend):
    both days included. A time is taken where it falls on a UTC midnight, and refused with
    what to give instead elsewhere."""
    days: list[date | None] = []
    for raw, flag in ((since, "--since"), (until, "--until")):
        at = period_bound(raw, flag)
        if at is None:
            days.append(None)
            continue
        if at.time() != time():
            raise ConfigurationError(
                f"{flag} {raw!r}: {command} counts whole UTC days; give a date (YYYY-MM-DD) "
                "or a time at midnight UTC."
            )
        days.append(at.date() - timedelta(days=1) if flag == "--until" else at.date())
    first, last = days
    if first is not None and last is not None and first > last:
        raise ConfigurationError(f"--since {since} is after --until {until}: nothing to count.")
    return first, last
