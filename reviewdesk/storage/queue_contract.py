"""The queue's contract: what every engine's queue store does, with typed inputs and outputs.

One module per engine implements it (storage/queue_pg.py, storage/queue_sqlite.py) on a shared
base (storage/queue_common.py); ``open_queue_store`` (storage/queues.py) picks one by dialect.
The contract tests (tests marked ``contract``, run on the ``db_url`` fixture) are its
definition: every engine must pass them.

Every lease-dependent write is fenced on (draft, lease_id), state 'pending' and an unexpired
lease (queue_common.LEASE_HELD). Time comes from one clock: PostgreSQL's now() in production,
or an injected clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from reviewdesk.core.clock import Clock
from reviewdesk.core.domain import Decision, Draft, Event, ThreadEntry
from reviewdesk.core.intake import DraftSubmission
from reviewdesk.core.policy_cells import Routing
from reviewdesk.storage.engine import Engines
from reviewdesk.storage.security_sql import Identity

# The submit's open transaction as services see it: handed back to storage, never used there.
SubmitTransaction = Connection


class SubmitRouting(Protocol):
    """Review policies' part of a submit (storage/policy_sql.py), in its transaction. Where the
    engine routes in the client (SQLite): which of the new drafts go out unreviewed (inserted
    as released), then the record of every routing. Where the database routes (PostgreSQL's
    rd_submit): the routings it made."""

    def released(
        self, conn: Connection, now: datetime, fresh: Sequence[DraftSubmission]
    ) -> Set[str]: ...

    def record(self, conn: Connection, now: datetime, keys: Mapping[str, int]) -> None: ...

    def routed(self, routings: Sequence[Routing]) -> None: ...


# -- inputs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionWrite:
    draft_key: int
    lease_id: str
    reviewer: str
    verdict: str
    label: str
    final_text: str | None
    reason: str | None
    note: str | None
    severity: str | None
    review_seconds: float | None
    key: str
    edit_distance: float | None = None
    session_id: int | None = None
    counted_seconds: float = 0.0
    category: str = ""
    fast: bool = False
    fast_flag_at: int = 5


@dataclass(frozen=True)
class SessionFence:
    """The open session a claim counts against, and the category its next claim passes over
    (the variety rule, the desk's). How much the session may still hand out is the database's
    to say, from the team's stored limits (queue_common.session_open)."""

    session_id: int
    avoid_category: str | None = None


# -- records: what the reads and outcomes hold, built from rows in one place each
# (queue_common.queued_draft, decision_record, attempt_record, thread_entry, event_record) ------
@dataclass(frozen=True)
class QueuedDraft:
    """A draft as the queue holds it: its key, the draft itself, and where its lease stands
    (the lease fields are None when no one holds or held it since its last release)."""

    key: int
    draft: Draft
    lease_id: str | None
    lease_epoch: int
    lease_owner: str | None
    leased_at: datetime | None
    visible_at: datetime


@dataclass(frozen=True)
class DecisionRecord:
    """A live decision as results are read from it: the decision, its draft's category and
    model, a lead's resolution of an escalation, and its delivery."""

    cursor: int
    decision: Decision
    category: str
    model: str | None
    session_id: int | None
    resolution: str | None
    resolution_text: str | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    # None while undelivered, and on a replayed decision (its read leaves delivery out).
    delivered_at: datetime | None


@dataclass(frozen=True)
class Attempt:
    """One entry of the append-only log of decision attempts."""

    id: int
    draft_id: int
    lease_id: str
    reviewer: str
    verdict: str
    idempotency_key: str
    outcome: str  # accepted | refused | replayed
    detail: str | None
    attempted_at: datetime


# -- outputs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClaimOutcome:
    """A claim: the leased draft (None when nothing was claimable), and whether the session
    fence held. A claim that finds the session closed or spent changes nothing."""

    draft: QueuedDraft | None
    session_open: bool


@dataclass(frozen=True)
class Renewal:
    """A renewal: the lease's new expiry, or None and why the lease is lost."""

    expires_at: datetime | None
    why: str | None = None


@dataclass(frozen=True)
class DecisionWritten:
    outcome: str  # accepted | refused | replayed
    why: str | None
    # A replay: the first decision, read back. An accepted decision is what the write asked
    # for, plus ``decided_at`` and ``low_attention``, which the database decided.
    decision: DecisionRecord | None = None
    fast_run: int | None = None  # the session's run of fast approvals after this decision
    was_nudged: bool = False
    decided_at: datetime | None = None
    low_attention: bool = False


@dataclass(frozen=True)
class Undone:
    """An undo: the draft, leased again to its reviewer, or None and why not (nothing,
    delivered, resolved, window)."""

    draft: QueuedDraft | None
    why: str | None = None


@dataclass(frozen=True)
class Acknowledged:
    """An acknowledgement of result cursors."""

    acknowledged: int
    already_delivered: int
    undone: list[tuple[int, str]]  # (cursor, draft id) of the ones undone since they were read
    resolved_since_read: list[int]  # cursors a lead resolved after they were read


@dataclass(frozen=True)
class Submitted:
    """A submit, all-or-nothing: with any conflict nothing is written."""

    queued: int
    duplicates: int
    conflicts: list[DraftSubmission]


class QueueStore(Protocol):
    """The queue's operations on one database, whatever the engine."""

    engines: Engines
    # None means "the database's now()" (PostgreSQL only).
    clock: Clock | None

    # -- time and connections
    def tx_now(self, conn: Connection) -> datetime:
        """The time to use inside a multi-statement transaction."""
        ...

    def close(self) -> None:
        """Give back any kept connection (before the engines are disposed)."""
        ...

    # -- lease operations
    def claim(
        self,
        *,
        reviewer: str,
        lease_id: str,
        ttl: float,
        session: SessionFence,
        exclude: Sequence[int] = (),
    ) -> ClaimOutcome: ...

    def renew(self, *, draft_key: int, lease_id: str, reviewer: str, ttl: float) -> Renewal: ...

    def release(
        self, *, draft_key: int, lease_id: str, reviewer: str, session_id: int | None
    ) -> str | None:
        """None when released, or why the lease was already lost."""
        ...

    def decide(self, write: DecisionWrite) -> DecisionWritten: ...

    def flag_low_attention(self, *, session_id: int, last: int) -> None: ...

    def undo_last(self, *, reviewer: str, window: float, lease_id: str, ttl: float) -> Undone: ...

    # -- results and delivery
    def results(
        self, *, after: int, limit: int, include_delivered: bool, settled_before: datetime | None
    ) -> list[DecisionRecord]: ...

    def ack(self, cursors: Sequence[int], read_unresolved: Sequence[int] = ()) -> Acknowledged: ...

    def undone_of(self, cursors: Sequence[int]) -> list[tuple[int, str]]: ...

    # -- producers
    def submit(
        self, records: Sequence[DraftSubmission], routing: SubmitRouting | None = None
    ) -> Submitted: ...

    # -- reads
    def draft_by_external_id(self, external_id: str) -> QueuedDraft | None: ...

    def thread_history(
        self, *, thread: str, draft_key: int, created_at: datetime, limit: int
    ) -> list[ThreadEntry]: ...

    def live_decision(self, *, draft_key: int) -> tuple[datetime, DecisionRecord | None]: ...

    def events(self, *, draft_key: int) -> list[Event]: ...

    def counts(self) -> dict[str, int]: ...

    def attempts(self) -> list[Attempt]: ...

    # -- settings
    def get_setting(self, key: str) -> Any: ...

    def put_setting(self, key: str, value: Any) -> None: ...

    # -- identity
    @property
    def row_security(self) -> bool: ...

    def identity(self) -> Identity | None: ...

    def record_refusal(self, action: str, detail: str) -> None: ...
