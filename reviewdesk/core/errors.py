"""The exceptions ReviewDesk raises. Each says what went wrong and where, in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ReviewDeskError(Exception):
    """Base class of every error ReviewDesk raises on purpose."""


@dataclass(frozen=True)
class InputProblem:
    """One problem in submitted input: where it is and what is wrong."""

    source: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}"
        if self.field:
            where += f": field '{self.field}'"
        return f"{where}: {self.message}"


class InvalidInput(ReviewDeskError):
    """Submitted drafts failed validation; nothing was written."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{len(problems)} problem(s) in the input; nothing was written:\n{shown}{more}"
        )


@dataclass(frozen=True)
class Conflict:
    """A submitted id that is already queued with different content."""

    source: str
    line: int
    draft_id: str

    def __str__(self) -> str:
        return (
            f"{self.source}:{self.line}: field 'id': '{self.draft_id}' is already queued "
            "with different content"
        )


class SubmitConflict(ReviewDeskError):
    """Some ids are already queued with different content; nothing was written."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        shown = "\n".join(str(c) for c in conflicts[:50])
        more = f"\n... and {len(conflicts) - 50} more" if len(conflicts) > 50 else ""
        super().__init__(f"{len(conflicts)} conflicting id(s); nothing was written:\n{shown}{more}")


class InvalidDecision(ReviewDeskError, ValueError):
    """A decision's arguments are wrong (unknown verdict, missing text, reason or note)."""


class LeaseLost(ReviewDeskError):
    """The lease on a draft is no longer held: expired, taken over, or the draft was decided.

    Nothing was written except the refused attempt in the attempt log.
    """

    def __init__(self, draft_id: str, why: str) -> None:
        self.draft_id = draft_id
        self.why = why
        reasons = {
            "expired": "the lease expired",
            "taken_over": "another reviewer has claimed it since",
            "already_decided": "it has already been decided",
            "missing": "the draft no longer exists",
        }
        super().__init__(
            f"Lease on draft '{draft_id}' was lost ({reasons.get(why, why)}); nothing was recorded."
        )


class ClaimRefused(ReviewDeskError):
    """The reviewer may not take a draft now: on a break, or done for the day.

    ``until`` says when that changes; ``reason`` is ``on_break``, ``daily_sessions`` or
    ``daily_reviews``. Raised by the queue itself, so no client can bypass the limits.
    """

    def __init__(self, reviewer: str, reason: str, until: datetime, message: str) -> None:
        self.reviewer = reviewer
        self.reason = reason
        self.until = until
        super().__init__(message)


class UndoRefused(ReviewDeskError):
    """There is no decision the reviewer may undo (none, window passed, or delivered)."""


class SchemaOutOfDate(ReviewDeskError):
    """The database schema is older than this version of ReviewDesk needs."""


class DatabaseUnavailable(ReviewDeskError):
    """The database could not be reached, opened or used (server down, wrong host, port or
    database name, refused login, no permission, a file that is not a database). The message
    names the database, with its password masked. Unless it is a ConnectionLost, nothing the
    call was to write was written."""


class ConnectionLost(DatabaseUnavailable):
    """The connection dropped while a statement was under way: what the call was to write may
    or may not have been written. Reads can simply be repeated; ``decide`` repeats itself once
    with the same idempotency key, and raises this only when that fails too, with the key in
    ``idempotency_key`` so that the caller can find out later what was recorded."""

    def __init__(self, message: str, *, idempotency_key: str | None = None) -> None:
        self.idempotency_key = idempotency_key
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only state survives pickling (errors cross process boundaries in exports).
        return (_connection_lost, (str(self), self.idempotency_key))


def _connection_lost(message: str, idempotency_key: str | None) -> ConnectionLost:
    return ConnectionLost(message, idempotency_key=idempotency_key)


class DatabaseNotFound(DatabaseUnavailable):
    """A SQLite file named by URL does not exist; only ``reviewdesk db upgrade`` creates one."""


class NotPermitted(ReviewDeskError):
    """The database refused the action to this login: its role does not allow it, or it acted
    under another person's name (docs/security.md). Nothing was written; on PostgreSQL the
    refusal is in the ``refusal`` log under the login. ``needs`` names the role the action
    needs, when it is known. ``logged``: the database logged the refusal itself (a function
    that refused the call), so the client does not log it again."""

    def __init__(self, message: str, *, needs: str | None = None, logged: bool = False) -> None:
        self.needs = needs
        self.logged = logged
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_not_permitted, (str(self), self.needs, self.logged))


def _not_permitted(message: str, needs: str | None, logged: bool = False) -> NotPermitted:
    return NotPermitted(message, needs=needs, logged=logged)


class ConfigurationError(ReviewDeskError):
    """A setting or URL is malformed."""


class InvalidArgument(ReviewDeskError, ValueError):
    """An argument to a call is out of range or malformed (an empty reviewer name, a limit
    below 1, a repeated reject reason); nothing was done."""


class UnknownDraft(ReviewDeskError, KeyError):
    """No draft has the given id."""

    def __init__(self, draft_id: str) -> None:
        self.draft_id = draft_id
        super().__init__(draft_id)

    def __str__(self) -> str:
        # Not KeyError's own, which would print just the quoted id.
        return f"No draft with id {self.draft_id!r}."
