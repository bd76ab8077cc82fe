"""``ReviewDesk``: the public Python API of the review queue. The CLI and the UI go through it.

desk = ReviewDesk.open()                       # embedded default, or a URL
desk.submit([{"id": "t-1", "draft": "Hello"}])
lease = desk.claim(reviewer="ana")
desk.decide(lease, "approve")
for result in desk.results(): ...
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from reviewdesk.core.clock import Clock
from reviewdesk.core.domain import (
    DEFAULT_REJECT_REASONS,
    AckReport,
    Decision,
    Draft,
    DraftState,
    Event,
    EventKind,
    History,
    Label,
    Lease,
    QueueCounts,
    Released,
    Result,
    Retraction,
    Severity,
    SubmitReport,
    ThreadEntry,
    Verdict,
    clean_reject_reasons,
    text_to_send,
)
from reviewdesk.core.errors import (
    ConfigurationError,
    Conflict,
    ConnectionLost,
    DatabaseUnavailable,
    InputProblem,
    InvalidArgument,
    InvalidDecision,
    InvalidInput,
    LeaseLost,
    SchemaOutOfDate,
    SubmitConflict,
    UndoRefused,
    UnknownDraft,
)
from reviewdesk.core.identity import reviewer_name
from reviewdesk.core.intake import DraftSubmission, parse_jsonl, validate_records
from reviewdesk.core.sessions import (
    LEASE_TTL_BOUNDS,
    UNDO_WINDOW_BOUNDS,
    SessionLimits,
    SessionStatus,
    counted_seconds,
    fast_run_flagged,
    gold_answer_caught,
    is_fast_approval,
    seconds_problem,
)
from reviewdesk.core.verdicts import checked_review_seconds, verdict_content
from reviewdesk.services.access import Access
from reviewdesk.services.live import follow_results
from reviewdesk.services.policies import PolicyService, routing_of
from reviewdesk.services.sessions import SessionKeeper, SessionSummary
from reviewdesk.storage import migrate
from reviewdesk.storage.change_feed import ChangeFeed, open_feed
from reviewdesk.storage.engine import (
    DatabaseTarget,
    Engines,
    create_engines,
    resolve_target,
)
from reviewdesk.storage.policy_sql import ReleasedDraft
from reviewdesk.storage.queue_contract import (
    DecisionRecord,
    DecisionWrite,
    QueuedDraft,
    QueueStore,
)
from reviewdesk.storage.queues import open_queue_store
from reviewdesk.storage.reads import read_now
from reviewdesk.storage.session_sql import SessionStore

log = logging.getLogger(__name__)
_F = TypeVar("_F", bound=Callable[..., Any])

REJECT_REASONS_KEY = "reject_reasons"


def _needs(role: str, action: str) -> Callable[[_F], _F]:
    """The method needs ``role``: a refusal by the database says so and is logged."""

    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def guarded(self: ReviewDesk, *args: Any, **kwargs: Any) -> Any:
            with self._access.needs(role, action):
                return method(self, *args, **kwargs)

        return cast("_F", guarded)

    return wrap


class ReviewDesk:
    """A review queue on one database. Thread-safe: each call uses its own pooled connection.

    Every call raises only ReviewDeskError subclasses (docs/api.md): the storage layer turns the
    driver's errors into DatabaseUnavailable and ConnectionLost.
    """

    def __init__(
        self,
        engines: Engines,
        *,
        clock: Clock | None = None,
        lease_ttl: float | None = None,
        undo_window: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        # The team's settings (SessionLimits) apply; these override them for this desk only,
        # within the same bounds, and the undo window only ever shorter (see the properties).
        _check_overrides(lease_ttl, undo_window)
        self._engines = engines
        self._store: QueueStore = open_queue_store(engines, clock)
        self._sessions = SessionKeeper(self._store, SessionStore(engines, self._store, clock), rng)
        self._access = Access(self._store)
        self._policies = PolicyService(engines, clock, rng, access=self._access)
        self._clock = clock
        self._lease_ttl = None if lease_ttl is None else float(lease_ttl)
        self._undo_window = None if undo_window is None else float(undo_window)

    # -- lifecycle ------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        lease_ttl: float | None = None,
        undo_window: float | None = None,
        upgrade: bool | None = None,
        rng: random.Random | None = None,
    ) -> ReviewDesk:
        """Open the queue at ``url`` (None: ``REVIEWDESK_DATABASE_URL``, else the embedded file).

        A SQLite file (single user, local) is upgraded to the current schema on open
        (``upgrade=None``); a shared PostgreSQL database is only checked, unless
        ``upgrade=True``: upgrading a server others use is done on purpose, with
        ``reviewdesk db upgrade``. A SQLite file named by URL must exist (DatabaseNotFound):
        only ``upgrade=True`` creates one, and the embedded default is created on first use.

        The lease TTL and the undo window are the team's settings (``session_limits()``).
        ``lease_ttl`` and ``undo_window`` override them for this desk only, within the same
        bounds (ConfigurationError outside them); the undo window can only be shortened, since
        consumers' settled results wait out the team's.
        """
        _check_overrides(lease_ttl, undo_window)  # before any connection is made
        target = resolve_target(url)
        engines = create_engines(target, create=bool(upgrade))
        try:
            if upgrade or (upgrade is None and target.dialect == "sqlite"):
                before, after = migrate.upgrade(engines.write)
                if before != after:
                    log.info("upgraded %s from %s to %s", target.display, before, after)
            else:
                current, head = migrate.current_revision(engines.write), migrate.head_revision()
                if current is not None and current != head and not migrate.is_known(current):
                    raise migrate.unknown_schema(engines.write, current)
                if current != head:
                    raise SchemaOutOfDate(
                        f"Database {target.display} is at schema {current or 'none'}, this "
                        f"ReviewDesk needs {head}: run 'reviewdesk db upgrade --db URL'."
                    )
        except BaseException:
            engines.dispose()
            raise
        return cls(engines, clock=clock, lease_ttl=lease_ttl, undo_window=undo_window, rng=rng)

    def close(self) -> None:
        try:
            self._store.close()
        finally:
            self._engines.dispose()

    def __enter__(self) -> ReviewDesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def target(self) -> DatabaseTarget:
        return self._engines.target

    @property
    def lease_ttl(self) -> float:
        """Seconds a claim holds a draft: the team's setting, unless this desk overrides it."""
        if self._lease_ttl is not None:
            return self._lease_ttl
        return float(self._sessions.limits().lease_ttl_seconds)

    @property
    def undo_window(self) -> float:
        """Seconds in which a decision of this desk's reviewers can be undone: the team's
        setting, or this desk's shorter one."""
        team = float(self._sessions.limits().undo_window_seconds)
        return team if self._undo_window is None else min(self._undo_window, team)

    @property
    def access(self) -> Access:
        """Who this desk acts as: the login and its role on a shared database."""
        return self._access

    @property
    def engines(self) -> Engines:
        """The database engines, for services that read in bulk (statistics, export)."""
        return self._engines

    @property
    def policies(self) -> PolicyService:
        """Review policies: less review with a limit on what goes out bad (docs/policies.md)."""
        return self._policies

    @property
    def clock(self) -> Clock | None:
        """The injected clock, or None for the database's own."""
        return self._clock

    # -- producers ------------------------------------------------------------------------------
    @_needs("producer", "Submitting drafts")
    def submit(
        self, records: Iterable[Mapping[str, Any]], *, source: str = "<records>"
    ) -> SubmitReport:
        """Queue drafts given as dicts with the enqueue fields; all or nothing.

        Raises InvalidInput (every problem, with its record number and field) or SubmitConflict
        (ids queued before with other content); in both cases nothing is written.
        """
        valid, problems = validate_records(records, source=source)
        return self._submit(valid, problems, source)

    @_needs("producer", "Submitting drafts")
    def submit_jsonl(self, lines: Iterable[bytes], *, source: str) -> SubmitReport:
        """Queue drafts from JSON Lines given as raw byte lines; all or nothing."""
        valid, problems = parse_jsonl(lines, source=source)
        return self._submit(valid, problems, source)

    def _submit(
        self, valid: list[DraftSubmission], problems: list[InputProblem], source: str
    ) -> SubmitReport:
        if problems:
            raise InvalidInput(problems)
        # Drafts of cells under a sampling policy are routed in the same transaction.
        router = self._policies.router()
        submitted = self._store.submit(valid, router)
        if submitted.conflicts:
            raise SubmitConflict([Conflict(source, c.line, c.id) for c in submitted.conflicts])
        return SubmitReport(
            submitted=submitted.queued,
            duplicates=submitted.duplicates,
            routings=tuple(router.routings),
        )

    # -- reviewers ------------------------------------------------------------------------------
    @_needs("reviewer", "Claiming a draft")
    def claim(self, reviewer: str, *, exclude: Sequence[int] = ()) -> Lease | None:
        """Lease the next draft (priority first, then age) to ``reviewer``; None when none waits.

        The claim counts against the reviewer's review session (opened as needed) and its
        limits: on a break or past a daily cap it raises ClaimRefused. After a run of one
        category it prefers another at the same priority; now and then it serves a
        known-answer draft. ``exclude`` holds draft keys to pass over, e.g. ones just skipped.
        """
        reviewer = self._access.person(reviewer)
        fence = self._sessions.fence(reviewer)
        ttl = self.lease_ttl
        for attempt in range(2):
            if self._sessions.serve_gold():
                gold = self._store_sessions.serve_gold(
                    reviewer=reviewer,
                    session=fence,
                    lease_id=str(uuid.uuid4()),
                    ttl=ttl,
                    start=self._sessions.random_start(),
                    exclude=exclude,
                )
                if gold is not None:
                    return _lease(gold.draft, reviewer, fence.session_id, ttl, gold.gold_item_id)
            claimed = self._store.claim(
                reviewer=reviewer,
                lease_id=str(uuid.uuid4()),
                ttl=ttl,
                session=fence,
                exclude=exclude,
            )
            if claimed.session_open:
                if claimed.draft is None:
                    return None
                return _lease(claimed.draft, reviewer, fence.session_id, ttl)
            if attempt == 0:
                # The session ended or is spent: look closer (may open a new one, or refuse).
                fence = self._sessions.fence(reviewer, fresh=True)
        raise AssertionError("a fresh session fence cannot fail twice")  # pragma: no cover

    @property
    def _store_sessions(self) -> SessionStore:
        return self._sessions._store

    @_needs("reviewer", "Renewing a lease")
    def renew(self, lease: Lease) -> Lease:
        """Extend the lease by the TTL from now. Raises LeaseLost if it is no longer held."""
        ttl = self.lease_ttl
        if lease.gold_item_id is not None:
            expires, why = self._store_sessions.renew_gold(
                lease_id=lease.lease_id, reviewer=lease.reviewer, ttl=ttl
            )
        else:
            renewal = self._store.renew(
                draft_key=lease.draft_key,
                lease_id=lease.lease_id,
                reviewer=lease.reviewer,
                ttl=ttl,
            )
            expires, why = renewal.expires_at, renewal.why
        if expires is None:
            raise LeaseLost(lease.draft.id, why or "missing")
        return dataclasses.replace(lease, expires_at=expires, ttl_seconds=ttl)

    @_needs("reviewer", "Releasing a draft")
    def release(self, lease: Lease) -> None:
        """Give the draft back (skip): it is claimable again at once and no longer counts
        against the session. Raises LeaseLost if the lease was no longer held (then there was
        nothing to give back)."""
        if lease.gold_item_id is not None:
            why = self._store_sessions.release_gold(
                lease_id=lease.lease_id, reviewer=lease.reviewer
            )
            if why is not None:
                raise LeaseLost(lease.draft.id, why)
            return
        why = self._store.release(
            draft_key=lease.draft_key,
            lease_id=lease.lease_id,
            reviewer=lease.reviewer,
            session_id=lease.session_id,
        )
        if why is not None:
            raise LeaseLost(lease.draft.id, why)

    @_needs("reviewer", "Deciding")
    def decide(
        self,
        lease: Lease,
        verdict: str | Verdict,
        *,
        text: str | None = None,
        reason: str | None = None,
        note: str | None = None,
        severity: str | Severity | None = None,
        review_seconds: float | None = None,
        idempotency_key: str | None = None,
    ) -> Decision:
        """Record the decision on a leased draft, fenced on the lease.

        approve: the draft as is; edit: ``text`` (must differ from the draft); reject: ``reason``
        from ``reject_reasons()`` and an optional note; escalate: ``severity`` and a note
        (required for critical and high). ``review_seconds`` defaults to the time since the
        claim. A retry with the same ``idempotency_key`` returns the first outcome and writes
        nothing new. Raises LeaseLost (logged as refused) or InvalidDecision.

        A connection that drops under the decision is retried once with the same key: a
        decision that had committed comes back as replayed. If the retry fails too, ConnectionLost
        says so and carries the key.
        """
        write = self._decision_write(
            lease,
            verdict,
            text=text,
            reason=reason,
            note=note,
            severity=severity,
            review_seconds=review_seconds,
            key=idempotency_key or uuid.uuid4().hex,
        )
        if lease.gold_item_id is not None:
            return self._answer_gold(lease, write)
        retried = False
        try:
            written = self._store.decide(write)
        except ConnectionLost as lost:
            # Perhaps after the decision committed: with the same key, the retry reports that
            # first outcome (replayed) instead of recording the decision twice.
            log.warning("deciding on %s: %s; retrying once", lease.draft.id, lost)
            retried = True
            try:
                written = self._store.decide(write)
            except DatabaseUnavailable as again:
                raise ConnectionLost(
                    f"Lost the connection while recording the decision on draft "
                    f"{lease.draft.id!r}, and the retry failed ({again}). Whether it was "
                    f"recorded is unknown: decide again with idempotency_key={write.key!r} to "
                    "find out.",
                    idempotency_key=write.key,
                ) from again
        if written.outcome == "refused":
            raise LeaseLost(lease.draft.id, written.why or "missing")
        if written.outcome == "replayed":
            assert written.decision is not None
            if retried:  # this call's own decision, recorded by the attempt that lost its reply
                self._sessions.decided(lease.reviewer, lease.draft.category)
            return dataclasses.replace(written.decision.decision, replayed=True)
        assert written.decided_at is not None
        self._sessions.decided(lease.reviewer, lease.draft.category)
        nudge = self._attention(write, written.fast_run, written.was_nudged)
        # Built from what was written rather than read back: one round trip less per decision.
        return _written_decision(
            lease,
            write,
            decided_at=written.decided_at,
            low_attention=written.low_attention or nudge,
            nudge=nudge,
        )

    def _attention(self, write: DecisionWrite, fast_run: int | None, was_nudged: bool) -> bool:
        """When a run of fast approvals first reaches the threshold, flag the whole run and
        nudge once per session. Returns whether to nudge."""
        if write.session_id is None or not fast_run_flagged(fast_run, write.fast_flag_at):
            return False
        if fast_run == write.fast_flag_at:
            try:
                self._store.flag_low_attention(session_id=write.session_id, last=fast_run)
            except DatabaseUnavailable as exc:
                # The decision itself has committed: report it as recorded, and say what is
                # missing (the run's earlier decisions are not flagged).
                log.warning(
                    "session %s: the run of %s fast approvals could not be flagged as low "
                    "attention: %s",
                    write.session_id,
                    fast_run,
                    exc,
                )
        return not was_nudged

    def _answer_gold(self, lease: Lease, write: DecisionWrite) -> Decision:
        assert lease.gold_item_id is not None
        answered = self._store_sessions.answer_gold(write=write, gold_item_id=lease.gold_item_id)
        if answered.outcome == "refused":
            raise LeaseLost(lease.draft.id, answered.why or "missing")
        assert answered.answered_at is not None and answered.label is not None
        assert answered.expected is not None
        expected = answered.expected
        correct = bool(answered.correct)
        caught = gold_answer_caught(expected, correct)
        if answered.outcome == "replayed":
            first = dataclasses.replace(write, label=answered.label)
            return _written_decision(
                lease,
                first,
                decided_at=answered.answered_at,
                replayed=True,
                gold_correct=correct,
                caught=caught,
            )
        self._sessions.decided(lease.reviewer, lease.draft.category)
        fast_run = answered.fast_run
        nudge = fast_run_flagged(fast_run, write.fast_flag_at) and not answered.was_nudged
        return _written_decision(
            lease,
            write,
            decided_at=answered.answered_at,
            nudge=nudge,
            gold_correct=correct,
            caught=caught,
        )

    def _decision_write(
        self,
        lease: Lease,
        verdict: str | Verdict,
        *,
        text: str | None,
        reason: str | None,
        note: str | None,
        severity: str | Severity | None,
        review_seconds: float | None,
        key: str,
    ) -> DecisionWrite:
        content = verdict_content(
            verdict,
            draft=lease.draft.draft,
            text=text,
            reason=reason,
            note=note,
            severity=severity,
            reject_reasons=self.reject_reasons() if verdict == Verdict.REJECT else (),
        )
        if review_seconds is None:
            review_seconds = time.monotonic() - lease.claimed_monotonic
        recorded = checked_review_seconds(review_seconds)
        limits = self._sessions.limits()
        return DecisionWrite(
            draft_key=lease.draft_key,
            lease_id=lease.lease_id,
            reviewer=lease.reviewer,
            verdict=content.verdict.value,
            label=content.label.value,
            final_text=content.final_text,
            reason=content.reason,
            note=content.note,
            severity=content.severity.value if content.severity else None,
            review_seconds=recorded,
            key=key,
            edit_distance=content.edit_distance,
            session_id=lease.session_id,
            counted_seconds=counted_seconds(review_seconds, limits),
            category=lease.draft.category,
            fast=is_fast_approval(content.verdict.value, lease.draft.draft, review_seconds, limits),
            fast_flag_at=limits.fast_approvals_to_flag,
        )

    @_needs("reviewer", "Undoing a decision")
    def undo(self, reviewer: str) -> Lease:
        """Undo ``reviewer``'s latest decision if it is within the undo window and its result has
        not been delivered; the draft comes back leased to the same reviewer."""
        reviewer = self._access.person(reviewer)
        window, ttl = self.undo_window, self.lease_ttl
        undone = self._store.undo_last(
            reviewer=reviewer,
            window=window,
            lease_id=str(uuid.uuid4()),
            ttl=ttl,
        )
        queued, why = undone.draft, undone.why
        if queued is None:
            messages = {
                "nothing": f"{reviewer} has no decision to undo.",
                "delivered": "The last decision was already delivered to the consumer; "
                "it cannot be undone.",
                "window": f"The last decision is older than the undo window ({window:g} s).",
                "resolved": "A lead already resolved this escalation; it cannot be undone.",
            }
            raise UndoRefused(messages.get(why or "", why or "cannot undo"))
        current = self._store_sessions.open_session(reviewer)
        return _lease(queued, reviewer, current.id if current else None, ttl)

    # -- consumers ------------------------------------------------------------------------------
    @_needs("producer", "Reading results")
    def results(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        include_delivered: bool = False,
        unsettled: bool = False,
    ) -> list[Result]:
        """Decided drafts in decision order, after cursor ``after``.

        Only settled decisions, which can no longer be undone: past the undo window, delivered,
        or resolved by a lead. ``unsettled`` includes those still inside the undo window, which
        their reviewer may take back: check them with ``retracted()`` or ``ack()`` before acting
        on them. Undelivered only, unless ``include_delivered``. Delivery is at least once: a
        result stays here until acknowledged with ``ack``.
        """
        if limit < 1:
            raise InvalidArgument(f"limit must be at least 1, not {limit}")
        settled_before = None
        if not unsettled:
            # The team's window, not this desk's: any reviewer may undo within it.
            window = self._sessions.limits().undo_window_seconds
            settled_before = read_now(self._engines, self._store.clock) - timedelta(seconds=window)
        decisions = self._store.results(
            after=after,
            limit=limit,
            include_delivered=include_delivered,
            settled_before=settled_before,
        )
        # Released drafts (docs/policies.md) are settled at once; one cursor order for both.
        released = self._policies.released_results(
            after=after, limit=limit, include_delivered=include_delivered
        )
        merged = [_result(d) for d in decisions] + [_released_result(r) for r in released]
        if released:
            merged.sort(key=lambda r: r.cursor)
        return merged[:limit]

    def follow(
        self,
        *,
        after: int = 0,
        include_delivered: bool = False,
        stop: threading.Event | None = None,
    ) -> Iterator[Result]:
        """Results as they become deliverable, as ``results()`` gives them, waiting for more
        (services/live.py): until ``stop`` is set, or for good. Acknowledge with ``ack``."""
        return follow_results(self, after=after, include_delivered=include_delivered, stop=stop)

    def changes(self) -> ChangeFeed:
        """A feed that wakes a waiting thread when the queue changes (close it when done)."""
        return open_feed(self._engines)

    def database_now(self) -> datetime:
        """The time as the queue reads it (the database's, or the injected clock's)."""
        with self._engines.write.connect() as conn:
            return self._store.tx_now(conn)

    def retracted(self, results: Iterable[Result | int]) -> list[Retraction]:
        """Those of ``results`` (or cursors) that their reviewer has undone since they were
        read, oldest first: do not send them. Only unsettled results can be."""
        cursors = sorted({r.cursor if isinstance(r, Result) else int(r) for r in results})
        return [Retraction(cursor, id_) for cursor, id_ in self._store.undone_of(cursors)]

    @_needs("producer", "Acknowledging results")
    def ack(self, results: Iterable[Result | int]) -> AckReport:
        """Mark results delivered (ending their undo window). Results undone in the meantime
        come back in ``undone`` (cursors) and ``retractions``: do not send those. Escalations a
        lead resolved after they were read come back in ``resolved_since_read`` and are
        delivered again."""
        items = list(results)
        cursors = sorted({r.cursor if isinstance(r, Result) else int(r) for r in items})
        # Released drafts first: what they do not hold are decisions.
        released, released_before = self._policies.ack_released(cursors)
        if released or released_before:
            known = {*released, *released_before}
            cursors = [c for c in cursors if c not in known]
        # A Result read before a lead resolved it must not swallow the resolution; a bare
        # cursor acknowledges the result as it is now.
        unresolved = [r.cursor for r in items if isinstance(r, Result) and r.resolution is None]
        acked = self._store.ack(cursors, unresolved)
        return AckReport(
            acknowledged=acked.acknowledged + len(released),
            already_delivered=acked.already_delivered + len(released_before),
            undone=[cursor for cursor, _ in acked.undone],
            resolved_since_read=acked.resolved_since_read,
            retractions=[Retraction(cursor, id_) for cursor, id_ in acked.undone],
        )

    # -- reading --------------------------------------------------------------------------------
    def history(self, draft: str | Draft | Lease, *, limit: int = 50) -> History:
        """The draft's thread (earlier drafts on it, with their decisions) and its audit trail.

        For a known-answer lease the trail is the one a fresh draft shows: its submission, then
        this lease's own events, as its first lease.
        """
        external_id = (
            draft.draft.id
            if isinstance(draft, Lease)
            else (draft.id if isinstance(draft, Draft) else draft)
        )
        queued = self._store.draft_by_external_id(external_id)
        if queued is None:
            raise UnknownDraft(external_id)
        current = queued.draft
        thread: list[ThreadEntry] = []
        if current.thread:
            thread = self._store.thread_history(
                thread=current.thread,
                draft_key=queued.key,
                created_at=current.created_at,
                limit=limit,
            )
        events = self._store.events(draft_key=queued.key)
        if isinstance(draft, Lease) and draft.gold_item_id is not None:
            events = _as_first_lease(events, draft.epoch)
        return History(draft=current, thread=thread, events=events)

    def state(self, draft_id: str) -> DraftState:
        """Where the draft ``draft_id`` stands: pending, in review (and by whom), or decided,
        with its live decision as ``results()`` gives it. Raises UnknownDraft."""
        queued = self._store.draft_by_external_id(draft_id)
        if queued is None:
            raise UnknownDraft(draft_id)
        release = self._policies.release_of(queued.key)
        if release is not None:
            return DraftState(
                draft=queued.draft,
                state="released",
                holder=None,
                result=_released_result(release),
                delivered=release.delivered_at is not None,
            )
        now, decision = self._store.live_decision(draft_key=queued.key)
        if decision is not None:
            return DraftState(
                draft=queued.draft,
                state="decided",
                holder=None,
                result=_result(decision),
                delivered=decision.delivered_at is not None,
            )
        held = queued.lease_owner is not None and queued.visible_at > now
        return DraftState(
            draft=queued.draft,
            state="in review" if held else "pending",
            holder=queued.lease_owner if held else None,
            result=None,
            delivered=False,
        )

    # -- sessions and attention ------------------------------------------------------------------
    def session_limits(self) -> SessionLimits:
        return self._sessions.limits()

    @_needs("lead", "Setting the team's limits")
    def set_session_limits(self, limits: SessionLimits) -> None:
        """Store the team's limits (in this database); desks pick them up within 30 s."""
        self._sessions.set_limits(limits)

    def session_status(self, reviewer: str, *, fresh: bool = False) -> SessionStatus:
        """The reviewer's session, limit use and warnings, or why they cannot review now.
        ``fresh``: read the team's limits (with the lease TTL and the undo window) again first,
        instead of within 30 s of their last read: a desk told that a setting changed asks so."""
        if fresh:
            self._sessions.forget_limits()
        return self._sessions.status(self._access.person(reviewer))

    def end_session(self, reviewer: str) -> SessionSummary | None:
        """End the reviewer's session early; the break starts now. Release held leases first."""
        return self._sessions.end(self._access.person(reviewer))

    def session_summary(
        self, reviewer: str, session_id: int | None = None
    ) -> SessionSummary | None:
        """Reviews by verdict, catches, gold accuracy, median time and the trend over the
        reviewer's recent sessions; the latest session unless ``session_id`` says otherwise."""
        return self._sessions.summary(self._access.person(reviewer), session_id)

    @_needs("lead", "Marking a gold draft")
    def mark_gold(
        self, draft_id: str, expected: str | Label, *, by: str, note: str | None = None
    ) -> None:
        """Make a decided draft a known-answer check, expecting ``expected`` (a label)."""
        try:
            label = Label(expected)
        except ValueError:
            raise InvalidDecision(
                "Expected verdict must be approved, edited, rejected or escalated, "
                f"not {expected!r}."
            ) from None
        self._access.require("lead", "Marking a gold draft")
        problem = self._store_sessions.mark_gold(
            external_id=draft_id,
            expected_label=label.value,
            by=self._access.person(by, what="lead"),
            note=note,
        )
        if problem is not None:
            raise InvalidDecision(problem[0].upper() + problem[1:] + ".")

    @_needs("lead", "Retiring a gold draft")
    def retire_gold(self, draft_id: str) -> bool:
        """Stop serving a gold draft (it stays out of statistics and exports)."""
        self._access.require("lead", "Retiring a gold draft")
        return self._store_sessions.set_gold_active(external_id=draft_id, active=False)

    def gold_accuracy(self, reviewer: str | None = None) -> list[dict[str, Any]]:
        """Per reviewer: gold answers, correct ones, and stops caught."""
        who = None if reviewer is None else reviewer_name(reviewer)
        return [dict(r) for r in self._store_sessions.gold_accuracy(who)]

    def confirmed_catches(
        self, reviewer: str, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The reviewer's rejections and escalations that a lead's gold mark or a peer's gold
        answer has since confirmed."""
        who = reviewer_name(reviewer)
        return [dict(r) for r in self._store_sessions.confirmed_catches(who, since)]

    def counts(self) -> QueueCounts:
        return QueueCounts(**self._store.counts())

    def attempts(self) -> list[dict[str, Any]]:
        """The append-only log of decision attempts, oldest first."""
        return [dataclasses.asdict(a) for a in self._store.attempts()]

    def reject_reasons(self) -> tuple[str, ...]:
        stored = self._store.get_setting(REJECT_REASONS_KEY)
        return tuple(stored) if stored else DEFAULT_REJECT_REASONS

    @_needs("lead", "Setting the reject reasons")
    def set_reject_reasons(self, reasons: Sequence[str]) -> tuple[str, ...]:
        """Replace the team's reject reasons; returns them as stored.

        Raises ConfigurationError for an empty list, an empty, overlong (over 100 characters) or
        repeated reason, or a control character, and then stores nothing.
        """
        cleaned = clean_reject_reasons(reasons)
        self._store.put_setting(REJECT_REASONS_KEY, list(cleaned))
        return cleaned


def _check_overrides(lease_ttl: float | None, undo_window: float | None) -> None:
    for name, value, bounds in (
        ("lease_ttl", lease_ttl, LEASE_TTL_BOUNDS),
        ("undo_window", undo_window, UNDO_WINDOW_BOUNDS),
    ):
        if value is not None and (problem := seconds_problem(name, value, bounds)):
            raise ConfigurationError(f"ReviewDesk.open: {problem}.")


def _lease(
    queued: QueuedDraft,
    reviewer: str,
    session_id: int | None,
    ttl: float,
    gold_item_id: int | None = None,
) -> Lease:
    """The lease a claim, a gold serve or an undo just took on ``queued``."""
    assert queued.lease_id is not None and queued.leased_at is not None
    return Lease(
        draft=queued.draft,
        draft_key=queued.key,
        lease_id=queued.lease_id,
        epoch=queued.lease_epoch,
        reviewer=reviewer,
        expires_at=queued.visible_at,
        claimed_at=queued.leased_at,
        claimed_monotonic=time.monotonic(),
        session_id=session_id,
        gold_item_id=gold_item_id,
        ttl_seconds=ttl,
    )


_LEASE_TRAIL = (EventKind.CLAIMED, EventKind.RENEWED, EventKind.RELEASED)


def _as_first_lease(events: list[Event], epoch: int) -> list[Event]:
    """A served gold draft's trail as a fresh draft's looks: the submission, then the serve's
    own claim and renewals as lease 1. Its earlier leases and decision stay in the audit trail
    (``history(draft_id)``), but a reviewer looking at the draft must not tell it apart."""
    submitted = [e for e in events if e.kind is EventKind.SUBMITTED][:1]
    serve = [
        dataclasses.replace(e, epoch=1)
        for e in events
        if e.epoch == epoch and e.kind in _LEASE_TRAIL
    ]
    return submitted + serve


def _written_decision(
    lease: Lease, write: DecisionWrite, *, decided_at: datetime, **outcome: Any
) -> Decision:
    """The Decision a write recorded on ``lease``'s draft; ``outcome``: the flags it earned."""
    return Decision(
        draft_id=lease.draft.id,
        label=Label(write.label),
        final=write.final_text,
        draft=lease.draft.draft,
        reason=write.reason,
        note=write.note,
        severity=Severity(write.severity) if write.severity else None,
        reviewer=lease.reviewer,
        decided_at=decided_at,
        review_seconds=write.review_seconds,
        edit_distance=write.edit_distance,
        **outcome,
    )


def _released_result(released: ReleasedDraft) -> Result:
    """A draft a review policy released: out unreviewed, its text as it was."""
    return Result(
        cursor=released.cursor,
        id=released.draft_id,
        label=Released.RELEASED,
        final=released.draft,
        draft=released.draft,
        reason=None,
        note=None,
        severity=None,
        reviewer="",
        decided_at=released.routed_at,
        review_seconds=None,
        category=released.category,
        model=released.model,
        routing=routing_of(released),
    )


def _result(record: DecisionRecord) -> Result:
    decision = record.decision
    return Result(
        cursor=record.cursor,
        id=decision.draft_id,
        label=decision.label,
        final=text_to_send(decision.final, record.resolution, record.resolution_text),
        draft=decision.draft,
        reason=decision.reason,
        note=decision.note,
        severity=decision.severity,
        reviewer=decision.reviewer,
        decided_at=decision.decided_at,
        review_seconds=decision.review_seconds,
        category=record.category,
        model=record.model,
        resolution=record.resolution,
        resolution_note=record.resolution_note,
        resolved_by=record.resolved_by,
        resolved_at=record.resolved_at,
    )
