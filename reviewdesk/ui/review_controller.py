"""The review loop as an explicit state machine, between the window and the worker.

    LOADING ──claimed──▶ SHOWING ──decision key──▶ WRITING ──written──▶ SHOWING
       │                  │  ▲                          └──refused──▶ SHOWING + a notice
       └─none waits─▶ EMPTY  └── EDITING (E; Ctrl+Enter goes to WRITING, Esc back)

A decision key is honoured only in SHOWING (or EDITING for the edit). From that moment the
state is WRITING until the database has answered, and every decision key is ignored, so a
held or repeated key never decides twice. The next draft was claimed ahead of time and is put
on screen at once, without waiting on the database; the reviewer reads it while the decision
is written. If the write does not go through, the reviewer is told, and:

* lease lost (expired, taken over): nothing was recorded and nothing can be; said plainly,
  the desk stays on the next draft;
* anything else (database unreachable, refused): the draft comes back on screen with the
  reason, to be decided again (a retry reuses the idempotency key, so it cannot double).

    any state ──claim refused (break, daily cap) or End session──▶ BREAK ──break over──▶ LOADING

On a break the desk hands out nothing: the decision keys are off, the engine refuses claims
anyway, and the controller claims again on its own once the break is over (checked every second
on the injected clock, and at the time the refusal gave).

Review time is measured here (``ReviewTimer``): from the moment a draft is shown, only while the
window is visible, and with idle stretches capped; it goes with the decision as
``review_seconds``. After each decision the session's status is read, and the first time a limit
passes ``warn_at`` the reviewer gets a gentle notice. Caught known-answer drafts, and stops a lead
later confirmed, are celebrated once each; misses are never announced.

Leases are renewed every ttl/3 while held; the TTL is the team's setting, and the renewal
follows a change of it with the next lease claimed or renewed. The controller never touches a
widget and never calls the database itself: every database call is a job on the executor, and
only plain data comes back.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from reviewdesk.core.clock import Clock, SystemClock
from reviewdesk.core.domain import LABEL_OF_VERDICT, Decision, Label, Lease, Verdict
from reviewdesk.core.errors import (
    ClaimRefused,
    ConnectionLost,
    DatabaseUnavailable,
    InvalidDecision,
    LeaseLost,
    ReviewDeskError,
    UndoRefused,
)
from reviewdesk.core.review_timer import DEFAULT_IDLE_GRACE, ReviewTimer
from reviewdesk.core.sessions import LimitUse, SessionStatus
from reviewdesk.services.sessions import SessionSummary
from reviewdesk.storage.change_feed import Change
from reviewdesk.ui.operations import (
    DecisionRequest,
    EndedSession,
    LiveCounts,
    OpenDesk,
    Prepared,
    SessionInfo,
)
from reviewdesk.ui.text import one_line, reason_label
from reviewdesk.ui.worker import Executor

log = logging.getLogger(__name__)

# Claim the next draft this long after showing one, so that the claim does not compete with
# painting the draft on screen (both need the GIL); far shorter than any reading time.
PREFETCH_DELAY_MS = 40
EMPTY_POLL_MS = 10_000  # look for new drafts while the queue is empty
RETRY_MS = 5_000  # try again after the database was unreachable
COUNTS_REFRESH_MS = 30_000  # queue depth, for drafts others submit and decide
# Live (``set_live``): the database tells of changes; the polls above stop. Changes told within
# this long of each other are read once: longer than a SQLite feed's second look (100 ms), so a
# commit costs one round of reads, not two.
CHANGE_COALESCE_MS = 150
SKIP_MEMORY = 200  # skipped drafts passed over by later claims in this session
BREAK_CHECK_MS = 1_000  # on a break: whether it is over yet, on the desk's clock
# The database has not answered for this long while work waits on it (SQLite waits up to 30 s
# for a lock, a PostgreSQL statement for a lock or a slow disk): the status says so.
SLOW_DATABASE_MS = 3_000


class ReviewState(Enum):
    CONNECTING = "connecting"  # before a desk is attached (the window's own state)
    LOADING = "loading"
    SHOWING = "showing"
    EDITING = "editing"
    WRITING = "writing"
    EMPTY = "empty"
    BREAK = "break"  # on a break or done for the day: no drafts until it is over
    ERROR = "error"
    CLOSED = "closed"


@dataclass(frozen=True)
class Notice:
    """A message for the reviewer: ``level`` is info, warning or error.

    ``topic`` names what it reports (a draft's failed decision, a failed claim), so that it is
    taken down when that is resolved (``notice_resolved``); empty: it has none.
    """

    level: str
    text: str
    topic: str = ""


def decision_topic(lease_id: str) -> str:
    """The topic of a notice that a decision on this lease was not recorded."""
    return f"decision:{lease_id}"


CLAIM_TOPIC = "claim"  # a notice that the next draft cannot be had


@dataclass(frozen=True)
class BreakInfo:
    """Why the desk hands out no drafts now, until when, and the last session's summary.

    ``reason``: ``on_break``, ``daily_sessions``, ``daily_reviews`` (from the engine), or
    ``ended`` (the reviewer ended the session). ``until`` None: no break is required.
    """

    reason: str
    until: datetime | None
    message: str
    summary: SessionSummary | None = None

    @property
    def daily(self) -> bool:
        return self.reason in ("daily_sessions", "daily_reviews")


@dataclass(frozen=True)
class SessionEntry:
    """One line of this session's recent work."""

    draft_id: str
    outcome: str  # approved, edited, rejected, escalated, skipped, not recorded
    detail: str
    at: datetime
    undone: bool = False


RECORDED = frozenset(label.value for label in Label)


def _detail(decision: Decision) -> str:
    if decision.reason:
        return reason_label(decision.reason)
    if decision.severity:
        return decision.severity.value
    return ""


def _what(request: DecisionRequest, draft_id: str) -> str:
    """The decision in words, with anything the reviewer typed, so that none of it is lost."""
    words = {
        Verdict.APPROVE: f"approval of draft {draft_id}",
        Verdict.EDIT: f"edit of draft {draft_id}",
        Verdict.REJECT: f"rejection of draft {draft_id}",
        Verdict.ESCALATE: f"escalation of draft {draft_id}",
    }[request.verdict]
    if request.note:
        words += f' (your note: "{one_line(request.note, 300)}")'
    return words


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _now() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True)
class SessionProgress:
    """How far the session is, as the queue counts it: the one source of every figure of
    progress the desk shows (the status bar and the warnings alike).

    ``reviews``: decisions recorded in the open session (an undone one is taken back);
    ``allowed``: the session's cap on reviews, None when off; ``minutes_left``: counted review
    time left before the break, None when that limit is off.
    """

    reviews: int
    allowed: int | None
    minutes_left: float | None
    on_break: bool = False  # no session, and none may start yet
    started: bool = True  # False: none is open; the next draft starts one

    @classmethod
    def of(cls, status: SessionStatus) -> SessionProgress:
        if status.session is None:
            # A spent session is still reported (its last drafts may be on screen): only
            # without one is the reviewer on a break, or not started.
            if status.blocked is not None:
                return cls(0, None, None, on_break=True)
            return cls(0, None, None, started=False)
        reviews = status.session.reviews
        allowed: int | None = None
        minutes_left: float | None = None
        for use in status.uses:
            if use.limit == "reviews_per_session":
                allowed = int(use.allowed)
            elif use.limit == "minutes_per_session":
                minutes_left = max(use.allowed - use.used, 0.0)
        return cls(reviews, allowed, minutes_left)

    @property
    def reviews_text(self) -> str:
        if self.allowed is None:
            return f"{self.reviews} review{'s' if self.reviews != 1 else ''}"
        return f"{self.reviews} of {self.allowed} reviews"

    @property
    def text(self) -> str:
        """For the status bar: ``Session: 12 of 40 reviews · 31 min left``."""
        if self.on_break:
            return "Session: on a break"
        if not self.started:
            return "Session: starts with the next draft"
        text = f"Session: {self.reviews_text}"
        if self.minutes_left is not None:
            # Rounded up: "0 min left" while there is time left would read as none.
            text += f" · {math.ceil(self.minutes_left - 1e-9):d} min left"
        return text


def warning_text(use: LimitUse, progress: SessionProgress) -> str:
    """A gentle word about a limit nearly reached. The session's reviews are said as the status
    bar says them (``progress``), not as the limit counts them (claims, the draft on screen and
    the one fetched ahead included)."""
    used, allowed = int(use.used), int(use.allowed)
    if use.limit == "reviews_per_session":
        return f"{progress.reviews_text} in this session — a break is coming up."
    if use.limit == "minutes_per_session":
        return (
            f"{use.used:.0f} of {use.allowed:g} minutes of review in this session — a break is "
            "coming up."
        )
    if use.limit == "reviews_per_day":
        return f"{used} of {allowed} reviews today — the day's reviewing is nearly done."
    return f"{use.limit}: {use.used:g} of {use.allowed:g} — nearly reached."


class ReviewController(QObject):
    """One reviewer working through the queue of one open desk."""

    state_changed = Signal(object)  # ReviewState
    draft_shown = Signal(object)  # Prepared, or None while there is none to show
    history_loaded = Signal(object)  # History of the shown draft, refreshed
    counts_changed = Signal(object)  # QueueCounts
    session_changed = Signal(object)  # tuple[SessionEntry, ...], newest first
    notice = Signal(object)  # Notice
    connection_changed = Signal(bool)
    decision_returned = Signal(object, object)  # Prepared, DecisionRequest: back to decide again
    edit_not_recorded = Signal(str, str)  # draft id, the edited text: its lease was lost
    decision_recorded = Signal(object)  # Decision, as the database recorded it
    break_changed = Signal(object)  # BreakInfo while on a break (its summary may come later)
    progress_changed = Signal(object)  # SessionProgress, read from the queue
    notice_resolved = Signal(str)  # the topic of a notice whose matter is resolved
    waiting_changed = Signal(bool)  # the database has been slow to answer (or answers again)

    def __init__(
        self,
        session: OpenDesk,
        info: SessionInfo,
        executor: Executor,
        reviewer: str,
        *,
        report_error: Callable[[Exception], None],
        prefetch_delay_ms: int = PREFETCH_DELAY_MS,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        idle_grace: float = DEFAULT_IDLE_GRACE,
        slow_database_ms: int = SLOW_DATABASE_MS,
        parent: QObject | None = None,
    ) -> None:
        """``clock``: the desk's wall clock (breaks end by it); ``monotonic``: the clock of
        review time, in seconds. Tests pass fakes of both."""
        super().__init__(parent)
        self.info = info
        self.reviewer = reviewer
        self._session = session
        self._executor = executor
        self._report_error = report_error
        self._state = ReviewState.LOADING
        self._current: Prepared | None = None  # on screen
        self._buffer: deque[Prepared] = deque()  # claimed ahead, shown next
        self._writing: Prepared | None = None  # its decision is being written
        self._claiming = False
        self._claim_again = False  # claim once more if the claim on its way finds none
        self._renewing: set[str] = set()
        self._skipped: deque[int] = deque(maxlen=SKIP_MEMORY)
        self._keys: dict[str, str] = {}  # lease id -> idempotency key of its decision
        self._decisions = 0  # decisions written or undone: dates prefetched histories
        self._fetched_at: dict[str, int] = {}  # lease id -> self._decisions when claimed
        self._entries: deque[SessionEntry] = deque(maxlen=200)
        self._recorded = 0
        self._online = True
        self._refusal: str | None = None
        self._clock = clock or SystemClock()
        self._monotonic = monotonic
        self._review_timer = ReviewTimer(idle_grace)
        self._visible = True
        self._break: BreakInfo | None = None
        self._ending = False  # End session is on its way to the worker
        self._warned: set[tuple[int, str]] = set()  # (session id, limit) already warned of
        self._celebrated: set[str] = set()  # draft ids whose confirmed catch was celebrated
        self._started_at = self._clock.now()
        self._progress: SessionProgress | None = None  # None until the queue has said

        self._renew_timer = self._timer(_renew_interval_ms(info.lease_ttl), self._renew_all)
        self._poll_timer = self._timer(EMPTY_POLL_MS, self._claim)
        self._retry_timer = self._timer(RETRY_MS, self._claim, single=True)
        self._counts_timer = self._timer(COUNTS_REFRESH_MS, self._refresh_counts)
        self._prefetch_timer = self._timer(prefetch_delay_ms, self._prefetch, single=True)
        self._break_timer = self._timer(BREAK_CHECK_MS, self._check_break)
        self._jobs = 0  # submitted to the worker, not answered yet
        self._waiting = False
        self._slow_timer = self._timer(slow_database_ms, self._database_slow, single=True)
        self._live = False  # the database tells of changes: no polling
        self._settings_changed = False  # a team setting changed since the counts were read
        # The settings' stamp when last read, and whether the next counts read takes it: a
        # change the feed cannot name (SQLite's, or after a reconnect) may be a setting's.
        self._settings_stamp: object | None = None
        self._stamp_wanted = True
        self._change_timer = self._timer(CHANGE_COALESCE_MS, self._read_changes, single=True)
        self._expiry_timer = self._timer(0, self._read_changes, single=True)

    def _timer(self, interval_ms: int, slot: Callable[[], None], *, single: bool = False) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(interval_ms)
        timer.setSingleShot(single)
        timer.timeout.connect(slot)
        return timer

    # -- what the window reads ----------------------------------------------------------------
    @property
    def session(self) -> OpenDesk:
        """The open desk, for other views that read it on the same executor (the lead's)."""
        return self._session

    @property
    def state(self) -> ReviewState:
        return self._state

    @property
    def current(self) -> Prepared | None:
        return self._current

    @property
    def entries(self) -> tuple[SessionEntry, ...]:
        return tuple(self._entries)

    @property
    def decided_count(self) -> int:
        """Decisions recorded in this session and not undone."""
        return self._recorded

    @property
    def progress(self) -> SessionProgress | None:
        """The session's progress as last read from the queue (None before the first read)."""
        return self._progress

    @property
    def prefetching(self) -> bool:
        """A claim for the next draft is scheduled or on its way."""
        return self._claiming or self._prefetch_timer.isActive()

    @property
    def skipped_count(self) -> int:
        return len(self._skipped)

    @property
    def refusal(self) -> str | None:
        """Why the queue last refused to hand out a draft, until it hands one out again."""
        return self._refusal

    @property
    def held_leases(self) -> tuple[Lease, ...]:
        """The leases to keep: the draft on screen and the ones claimed ahead."""
        held = [self._current] if self._current else []
        return tuple(p.lease for p in (*held, *self._buffer))

    @property
    def on_break(self) -> BreakInfo | None:
        """Why no drafts are handed out now, while on a break."""
        return self._break if self._state is ReviewState.BREAK else None

    def now(self) -> datetime:
        """The desk's wall clock (what breaks end by)."""
        return self._clock.now()

    @property
    def visible(self) -> bool:
        """Whether the window is in front (the review clock runs)."""
        return self._visible

    def review_seconds(self) -> float:
        """How long the draft on screen has been looked at, so far."""
        return self._review_timer.elapsed(self._monotonic())

    @property
    def closed(self) -> bool:
        return self._state is ReviewState.CLOSED

    def can_decide(self) -> bool:
        return self._state is ReviewState.SHOWING and self._current is not None

    # -- small helpers ------------------------------------------------------------------------
    def _set_state(self, state: ReviewState) -> None:
        if state is self._state:
            return
        log.debug("review state %s -> %s", self._state.value, state.value)
        self._state = state
        if state is ReviewState.EMPTY and not self._live:
            self._poll_timer.start()
        else:
            self._poll_timer.stop()
        if state is ReviewState.BREAK:
            self._break_timer.start()
        else:
            self._break_timer.stop()
            self._break = None
        self.state_changed.emit(state)

    def _say(self, level: str, text: str, *, topic: str = "") -> None:
        getattr(log, "info" if level == "info" else "warning")("notice: %s", text)
        self.notice.emit(Notice(level, text, topic))

    def _set_online(self, online: bool) -> None:
        if online != self._online:
            self._online = online
            self.connection_changed.emit(online)

    def _submit(
        self,
        fn: Callable[[], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[Exception], None],
        label: str,
    ) -> None:
        def succeeded(result: Any) -> None:
            self._answered()
            on_success(result)

        def failed(exc: Exception) -> None:
            self._answered()
            on_failure(exc)

        self._jobs += 1
        if not self._slow_timer.isActive() and not self._waiting:
            self._slow_timer.start()
        self._executor.submit(fn, on_success=succeeded, on_failure=failed, label=label)

    @property
    def slow_database_ms(self) -> int:
        """How long work may wait on the database before the desk says it is slow."""
        return self._slow_timer.interval()

    @slow_database_ms.setter
    def slow_database_ms(self, ms: int) -> None:
        self._slow_timer.setInterval(ms)

    @property
    def waiting(self) -> bool:
        """Work has waited on the database longer than ``slow_database_ms`` with no answer."""
        return self._waiting

    def _answered(self) -> None:
        """The worker answered one job: the database is not stuck. The wait is timed again
        from now while others still wait (the worker runs them one after another)."""
        self._jobs -= 1
        if self.closed:
            return  # the timer may be gone with the controller
        self._slow_timer.stop()
        if self._jobs > 0:
            self._slow_timer.start()
        if self._waiting:
            self._waiting = False
            self.waiting_changed.emit(False)

    def _database_slow(self) -> None:
        if self._jobs > 0 and not self._waiting and not self.closed:
            log.warning("the database has not answered for %d ms", self._slow_timer.interval())
            self._waiting = True
            self.waiting_changed.emit(True)

    def _log_failure(self, exc: Exception) -> None:
        """A background read or a renewal failed: the next one will try again."""
        if isinstance(exc, DatabaseUnavailable):
            self._set_online(False)
            log.warning("background call failed: %s", exc)
        else:
            self._report_error(exc)

    def _record(self, entry: SessionEntry) -> None:
        self._entries.appendleft(entry)
        self.session_changed.emit(self.entries)

    # -- start and stop -----------------------------------------------------------------------
    def start(self) -> None:
        self.counts_changed.emit(self.info.counts)
        self._renew_timer.start()
        if not self._live:
            self._counts_timer.start()
        self._set_state(ReviewState.LOADING)
        self._claim()
        self._check_limits()

    def shutdown(self) -> None:
        """Stop; callbacks still in flight are ignored. A decision already sent to the worker
        is written before the session closes (the worker runs in order); the session gives
        every lease back when it is closed (``OpenDesk.close``)."""
        for timer in (
            self._renew_timer,
            self._poll_timer,
            self._retry_timer,
            self._counts_timer,
            self._prefetch_timer,
            self._break_timer,
            self._slow_timer,
            self._change_timer,
            self._expiry_timer,
        ):
            timer.stop()
        self._current = None
        self._writing = None
        self._buffer.clear()
        self._set_state(ReviewState.CLOSED)

    # -- showing drafts -----------------------------------------------------------------------
    def _advance(self) -> None:
        """Put the next claimed draft on screen (None while there is none yet)."""
        self._prefetch_timer.stop()
        prepared = self._buffer.popleft() if self._buffer else None
        self._current = prepared
        if prepared is not None:
            self._review_timer.start(self._monotonic(), visible=self._visible)
        else:
            self._review_timer.stop()
        self.draft_shown.emit(prepared)
        if prepared is not None:
            fetched = self._fetched_at.pop(prepared.lease.lease_id, self._decisions)
            if prepared.lease.draft.thread and fetched != self._decisions:
                # Decisions were made since its history was read: one may be on its thread.
                self._reload_history(prepared)
            if not self._buffer:
                self._prefetch_timer.start()
        else:
            self._claim()
        self._settle()

    def _settle(self) -> None:
        """The resting state, unless a decision is still being written."""
        if self._writing is not None or self.closed:
            return
        if self._current is not None:
            self._set_state(ReviewState.SHOWING)
        else:
            self._set_state(ReviewState.LOADING)
            self._claim()

    def _reload_history(self, prepared: Prepared) -> None:
        session, lease = self._session, prepared.lease

        def loaded(history: Any) -> None:
            current = self._current
            if current is not None and current.lease.lease_id == lease.lease_id:
                self._current = dataclasses.replace(current, history=history)
                self.history_loaded.emit(history)

        self._submit(lambda: session.history(lease), loaded, self._log_failure, "history")

    # -- claiming -----------------------------------------------------------------------------
    def _claim(self, *, again: bool = False) -> None:
        """Claim the next draft. ``again``: something changed (a draft told of, skipped drafts
        given back) after a claim already on its way may have looked, so if that one finds
        none, it is asked once more."""
        if self._claiming:
            self._claim_again = self._claim_again or again
            return
        if self.closed or self._ending:
            return
        self._claiming = True
        self._retry_timer.stop()
        session, reviewer, exclude = self._session, self.reviewer, tuple(self._skipped)
        serial = self._decisions
        self._submit(
            lambda: session.claim_next(reviewer, exclude),
            partial(self._claimed, serial),
            self._claim_failed,
            "claim",
        )

    def _prefetch(self) -> None:
        if not self._buffer:
            self._claim()

    def _claimed(self, serial: int, prepared: Prepared | None) -> None:
        self._claiming = False
        again, self._claim_again = self._claim_again, False
        if self.closed or self._ending:
            return  # ending the session gave its lease back
        self._set_online(True)
        self._refusal = None
        self.notice_resolved.emit(CLAIM_TOPIC)
        if prepared is None and again:
            self._claim()  # its "none" may predate the change
            return
        if prepared is None:
            if self._current is None and not self._buffer and self._writing is None:
                if self._state is not ReviewState.EMPTY:
                    self.draft_shown.emit(None)
                self._set_state(ReviewState.EMPTY)
            return
        if self._state is ReviewState.BREAK:
            self._check_limits()  # a new session has opened
        self._fetched_at[prepared.lease.lease_id] = serial
        if prepared.counts is not None:
            self.counts_changed.emit(prepared.counts)
        reasons = prepared.reject_reasons
        if reasons is not None and reasons != self.info.reject_reasons:
            self.info = dataclasses.replace(self.info, reject_reasons=reasons)
        self._buffer.append(prepared)
        self._follow_lease_ttl()
        if self._current is None and self._state is not ReviewState.EDITING:
            self._advance()

    def _claim_failed(self, exc: Exception) -> None:
        self._claiming = False
        self._claim_again = False  # the retry claims afresh
        if self.closed or self._ending:
            return
        if isinstance(exc, ReviewDeskError) and not isinstance(exc, DatabaseUnavailable):
            self._refused(exc)
            return
        if isinstance(exc, DatabaseUnavailable):
            self._set_online(False)
        else:
            self._report_error(exc)
        if self._current is None and not self._buffer and self._writing is None:
            self._say(
                "error",
                f"Cannot get the next draft: {exc} Retrying every few seconds.",
                topic=CLAIM_TOPIC,
            )
            self.draft_shown.emit(None)
            self._set_state(ReviewState.ERROR)
        else:
            log.warning("claiming ahead failed, retrying: %s", exc)
        self._retry_timer.start(RETRY_MS)

    def _refused(self, exc: ReviewDeskError) -> None:
        """The queue will not hand out a draft now (e.g. the reviewer is due a break): say why,
        and look again when it says that changes, or at the next poll."""
        self._set_online(True)
        self._refusal = str(exc)
        until = getattr(exc, "until", None)
        if isinstance(until, datetime):
            wait_ms = (until - self._clock.now()).total_seconds() * 1000
            self._retry_timer.start(int(min(max(wait_ms, 1000), 2**31 - 1)))
        idle = self._current is None and not self._buffer and self._writing is None
        if isinstance(exc, ClaimRefused):
            if idle:
                self._enter_break(BreakInfo(exc.reason, exc.until, str(exc)))
            else:
                log.info("the next draft was refused for now: %s", exc)
            return
        if idle:
            if self._state is ReviewState.EMPTY:
                self.state_changed.emit(ReviewState.EMPTY)  # the page shows the refusal
            else:
                self.draft_shown.emit(None)
                self._set_state(ReviewState.EMPTY)
        else:
            log.info("the next draft was refused for now: %s", exc)

    # -- deciding -----------------------------------------------------------------------------
    def approve(self) -> bool:
        return self._decide(DecisionRequest(Verdict.APPROVE))

    def reject(self, lease_id: str, reason: str, note: str | None) -> bool:
        return self._decide(DecisionRequest(Verdict.REJECT, reason=reason, note=note), lease_id)

    def escalate(self, lease_id: str, severity: str, note: str | None) -> bool:
        request = DecisionRequest(Verdict.ESCALATE, severity=severity, note=note)
        return self._decide(request, lease_id)

    def begin_edit(self) -> bool:
        if not self.can_decide():
            return False
        self._set_state(ReviewState.EDITING)
        return True

    def cancel_edit(self) -> None:
        if self._state is ReviewState.EDITING:
            self._set_state(ReviewState.SHOWING)

    def submit_edit(self, lease_id: str, text: str) -> bool:
        request = DecisionRequest(Verdict.EDIT, text=text)
        return self._decide(request, lease_id, from_state=ReviewState.EDITING)

    def _decide(
        self,
        request: DecisionRequest,
        lease_id: str | None = None,
        *,
        from_state: ReviewState = ReviewState.SHOWING,
    ) -> bool:
        """Write one decision on the draft on screen, then show the next; False (and nothing
        written) if the desk is not ready for one, e.g. while the last one is being written.

        The next draft appears only once the database has committed the decision: what the desk
        shows as done is durably recorded. It is already claimed and loaded (prefetched), so
        showing it costs no database wait beyond the commit itself.
        """
        prepared = self._current
        if self._state is not from_state or prepared is None:
            log.debug("ignored %s in state %s", request.verdict.value, self._state.value)
            return False
        lease = prepared.lease
        if lease_id is not None and lease_id != lease.lease_id:
            log.debug("ignored %s for a draft no longer shown", request.verdict.value)
            return False
        key = self._keys.setdefault(lease.lease_id, uuid.uuid4().hex)
        if request.review_seconds is None:
            seconds = round(self._review_timer.elapsed(self._monotonic()), 3)
            request = dataclasses.replace(request, review_seconds=seconds)
        session = self._session
        self._writing = prepared
        self._set_state(ReviewState.WRITING)
        self._submit(
            lambda: session.decide(lease, request, idempotency_key=key),
            partial(self._decided, prepared, request),
            partial(self._decide_failed, prepared, request),
            f"decide {request.verdict.value}",
        )
        return True

    def _decided(self, prepared: Prepared, request: DecisionRequest, decision: Decision) -> None:
        if self.closed:
            return
        self._writing = None
        self._keys.pop(prepared.lease.lease_id, None)
        self.notice_resolved.emit(decision_topic(prepared.lease.lease_id))  # a retry that worked
        self._set_online(True)
        self._decisions += 1
        self._recorded += 1
        self._record(
            SessionEntry(decision.draft_id, decision.label.value, _detail(decision), _now())
        )
        self.decision_recorded.emit(decision)
        if self._ending:
            return  # the session is ending: no next draft
        # The next draft was read before this decision, so _advance reloads its history,
        # which may now hold this decision.
        self._advance()  # recorded: now the next draft
        if decision.nudge:  # once a session, after a run of approvals faster than reading
            self._say(
                "info",
                "Your last few approvals came faster than the drafts can be read. Take the time "
                "each one needs: a careful look is the point of this desk.",
            )
        if decision.replayed and decision.label is not LABEL_OF_VERDICT[request.verdict]:
            self._say(
                "info",
                f"Draft {decision.draft_id} had already been recorded as {decision.label.value} "
                "(your earlier attempt did reach the database).",
            )
        if decision.caught:
            self._celebrated.add(decision.draft_id)
            self._say(
                "info",
                "Good catch — that draft was a known-answer check, and you stopped it.",
            )
        self._check_limits()
        self._settle()

    def _decide_failed(self, prepared: Prepared, request: DecisionRequest, exc: Exception) -> None:
        if self.closed or self._ending:
            return
        self._writing = None
        draft_id = prepared.lease.draft.id
        if isinstance(exc, LeaseLost):
            # Nothing was recorded and nothing can be: say so, and go on to the next draft.
            self._set_online(True)
            self._keys.pop(prepared.lease.lease_id, None)
            self._record(SessionEntry(draft_id, "not recorded", "lease lost", _now()))
            self._say("warning", f"Not recorded: your {_what(request, draft_id)}. {exc}")
            if request.verdict is Verdict.EDIT and request.text:
                self.edit_not_recorded.emit(draft_id, request.text)  # the typing is kept
            self._advance()  # nothing more can be done with it: move on
            return
        outcome = "Not recorded"
        if isinstance(exc, InvalidDecision):
            reason = str(exc)
        elif isinstance(exc, ConnectionLost):
            # It may have committed; deciding again with the same key finds out, never twice.
            self._set_online(False)
            outcome = "Perhaps not recorded"
            reason = "The connection to the database was lost while it was being written"
        elif isinstance(exc, DatabaseUnavailable):
            self._set_online(False)
            reason = str(exc)
        else:
            reason = f"an unexpected error: {exc}"
            self._report_error(exc)
        # The draft stays on screen, to be decided again (with the same idempotency key).
        self._set_state(ReviewState.SHOWING)
        self._say(
            "error",
            f"{outcome}: your {_what(request, draft_id)}. {_sentence(reason)} The draft is "
            "back on screen: decide again.",
            topic=decision_topic(prepared.lease.lease_id),
        )
        self.decision_returned.emit(prepared, request)

    # -- skip and undo ------------------------------------------------------------------------
    def skip(self) -> bool:
        """Give the draft on screen back to the queue and show the next one."""
        prepared = self._current
        if not self.can_decide() or prepared is None:
            return False
        lease = prepared.lease
        self._skipped.append(lease.draft_key)
        self._keys.pop(lease.lease_id, None)
        self._record(SessionEntry(lease.draft.id, "skipped", "", _now()))
        self.notice_resolved.emit(decision_topic(lease.lease_id))  # no longer to decide again
        session = self._session

        def failed(exc: Exception) -> None:
            self._log_failure(exc)
            if isinstance(exc, DatabaseUnavailable) and not self.closed:
                self._say(
                    "warning",
                    f"Draft {lease.draft.id} could not be given back now ({exc}); it returns "
                    "to the queue when its lease runs out.",
                )

        self._submit(lambda: session.release(lease), lambda _: None, failed, "release")
        self._advance()
        return True

    def undo(self) -> bool:
        """Take back this reviewer's last decision; its draft comes back on screen."""
        if self._state not in (ReviewState.SHOWING, ReviewState.EMPTY, ReviewState.ERROR):
            return False
        back_to = self._state
        self._set_state(ReviewState.WRITING)
        session, reviewer = self._session, self.reviewer
        self._submit(
            lambda: session.undo(reviewer),
            self._undone,
            partial(self._undo_failed, back_to),
            "undo",
        )
        return True

    def _undone(self, prepared: Prepared) -> None:
        if self.closed:
            return
        self._set_online(True)
        self._decisions += 1
        draft_id = prepared.lease.draft.id
        for index, entry in enumerate(self._entries):
            if entry.draft_id == draft_id and entry.outcome in RECORDED and not entry.undone:
                self._entries[index] = dataclasses.replace(entry, undone=True)
                self._recorded -= 1
                break
        self.session_changed.emit(self.entries)
        if self._current is not None:
            self._buffer.appendleft(self._current)
        self._buffer.appendleft(prepared)
        self._say("info", f"Undone: draft {draft_id} is back for you to decide again.")
        self._advance()
        self._check_limits()  # the undone review is taken back

    def _undo_failed(self, back_to: ReviewState, exc: Exception) -> None:
        if self.closed:
            return
        if isinstance(exc, UndoRefused):
            # A refusal, not a success: it stays until dismissed, in the warning style.
            self._say("warning", f"Nothing undone: {exc}")
        elif isinstance(exc, DatabaseUnavailable):
            self._set_online(False)
            self._say("error", f"Nothing undone: {exc}")
        else:
            self._say("error", f"Nothing undone, because of an unexpected error: {exc}")
            self._report_error(exc)
        self._set_state(back_to)

    def refresh(self) -> None:
        """Look for drafts now: after an empty queue, also bring skipped drafts back."""
        if self._state is ReviewState.EMPTY and self._skipped:
            self._skipped.clear()
        if self._state in (ReviewState.EMPTY, ReviewState.ERROR):
            self._claim(again=True)
        self._refresh_counts()

    # -- keeping leases -----------------------------------------------------------------------
    def renew_now(self) -> None:
        """Renew every held lease now (the timer does this every ttl/3)."""
        self._renew_all()

    def _renew_all(self) -> None:
        if self.closed:
            return
        for lease in self.held_leases:
            if lease.lease_id in self._renewing:
                continue  # the last renewal is still on its way
            self._renewing.add(lease.lease_id)
            self._submit(
                partial(self._session.renew, lease),
                self._renewed,
                partial(self._renew_failed, lease.lease_id),
                "renew",
            )

    def _renewed(self, lease: Lease) -> None:
        self._renewing.discard(lease.lease_id)
        if self.closed:
            return
        self._set_online(True)
        if self._current is not None and self._current.lease.lease_id == lease.lease_id:
            self._current = dataclasses.replace(self._current, lease=lease)
        for index, held in enumerate(self._buffer):
            if held.lease.lease_id == lease.lease_id:
                self._buffer[index] = dataclasses.replace(held, lease=lease)
        self._follow_lease_ttl()

    def _follow_lease_ttl(self) -> None:
        """Renew every third of the shortest TTL the held leases were given: a lead may change
        the team's TTL while this desk runs. A held lease keeps its TTL until it is renewed."""
        ttls = [lease.ttl_seconds for lease in self.held_leases if lease.ttl_seconds]
        interval = _renew_interval_ms(min(ttls) if ttls else self.info.lease_ttl)
        if interval != self._renew_timer.interval():
            self._renew_timer.setInterval(interval)  # restarts it: sooner, or just renewed

    def _renew_failed(self, lease_id: str, exc: Exception) -> None:
        self._renewing.discard(lease_id)
        if self.closed:
            return
        if not isinstance(exc, LeaseLost):
            self._log_failure(exc)
            return
        current = self._current
        if current is not None and current.lease.lease_id == lease_id:
            self._record(SessionEntry(current.lease.draft.id, "not recorded", "lease lost", _now()))
            self._keys.pop(lease_id, None)
            self._say("warning", f"{exc} Here is the next draft.")
            self._advance()
            return
        for held in list(self._buffer):
            if held.lease.lease_id == lease_id:
                log.info("a draft claimed ahead was lost: %s", exc)
                self._buffer.remove(held)
        if not self._buffer and self._current is not None:
            self._prefetch_timer.start()

    # -- live: told of changes instead of polling ----------------------------------------------
    @property
    def live(self) -> bool:
        return self._live

    def set_live(self, live: bool) -> None:
        """``True``: the database tells this desk of changes (``database_changed``), so the
        empty queue and the counts are no longer polled, and an idle desk makes no query."""
        self._live = live
        if live:
            self._poll_timer.stop()
            self._counts_timer.stop()
        elif not self.closed:
            self._counts_timer.start()
            if self._state is ReviewState.EMPTY:
                self._poll_timer.start()

    def database_changed(self, change: Change | None = None) -> None:
        """The database changed (a draft submitted, claimed, decided; a setting): look for a
        draft if none is on screen, and read the counts again. A burst is read once. The
        session's limits are read again only when a setting changed: otherwise after each
        decision, as without changes told."""
        if self.closed:
            return
        if change is None or change.everything:
            # SQLite cannot tell what changed: the counts' read takes the settings' stamp too,
            # and the limits are read again if it moved (no read at all while nothing changes).
            self._stamp_wanted = True
        elif change.touches("setting"):
            self._settings_changed = True
        if not self._change_timer.isActive():
            self._change_timer.start()

    def _read_changes(self) -> None:
        if self.closed:
            return
        if self._state in (ReviewState.EMPTY, ReviewState.ERROR):
            self._claim(again=True)
        changed, self._settings_changed = self._settings_changed, False
        self._refresh_counts(limits=changed or not self._live, fresh=changed)

    def _refresh_counts(self, *, limits: bool = True, fresh: bool = False) -> None:
        if self.closed:
            return
        self._check_catches()

        session, stamp = self._session, self._stamp_wanted
        self._stamp_wanted = False

        def done(answer: LiveCounts) -> None:
            if self.closed:
                return
            self._set_online(True)
            self.counts_changed.emit(answer.counts)
            if self._live and answer.expiry is not None:
                # No write tells of a lease running out: the desk looks again then.
                wait_ms = (answer.expiry - self._clock.now()).total_seconds() * 1000 + 50
                self._expiry_timer.start(int(min(max(wait_ms, 50), 2**31 - 1)))
            if answer.settings is not None:
                moved = self._settings_stamp not in (None, answer.settings)
                self._settings_stamp = answer.settings
                if moved and self._state is not ReviewState.BREAK:
                    self._check_limits(fresh=True)  # a team setting was written meanwhile

        def failed(exc: Exception) -> None:
            self._stamp_wanted = self._stamp_wanted or stamp  # take it with the next read
            self._log_failure(exc)

        self._submit(lambda: session.live_counts(settings=stamp), done, failed, "counts")
        if limits and self._state is not ReviewState.BREAK:
            self._check_limits(fresh=fresh)  # a lead may have changed the limits meanwhile

    # -- review time --------------------------------------------------------------------------
    def activity(self) -> None:
        """Key or mouse input in the desk: the reviewer is there."""
        self._review_timer.activity(self._monotonic())

    def set_visible(self, visible: bool) -> None:
        """The window was hidden, minimized or left (False), or is back in front (True)."""
        if visible == self._visible:
            return
        self._visible = visible
        if visible:
            self._review_timer.shown_again(self._monotonic())
        else:
            self._review_timer.hidden(self._monotonic())

    # -- sessions: breaks, warnings, catches --------------------------------------------------
    def _enter_break(self, info: BreakInfo) -> None:
        """No drafts until ``info.until``: show the break and the last session's summary."""
        fetch = info.summary is None and (
            self._break is None or self._state is not ReviewState.BREAK
        )
        self._prefetch_timer.stop()
        self._review_timer.stop()
        if self._state is not ReviewState.BREAK:
            self.draft_shown.emit(None)
        self._set_state(ReviewState.BREAK)
        if self._break is not None and info.summary is None:
            info = dataclasses.replace(info, summary=self._break.summary)
        self._break = info
        self.break_changed.emit(info)
        if fetch:
            session, reviewer = self._session, self.reviewer
            self._submit(
                lambda: session.session_summary(reviewer),
                self._summary_loaded,
                self._log_failure,
                "session summary",
            )

    def _summary_loaded(self, summary: SessionSummary | None) -> None:
        if self.closed or self._break is None or self._state is not ReviewState.BREAK:
            return
        self._break = dataclasses.replace(self._break, summary=summary)
        self.break_changed.emit(self._break)

    def break_over(self) -> bool:
        info = self._break
        return info is None or info.until is None or self._clock.now() >= info.until

    def _check_break(self) -> None:
        """Every second on a break: once it is over, look for a draft again."""
        info = self._break
        if info is not None and info.reason == "ended" and info.until is None:
            return  # no break is due: the reviewer starts the next session (``resume``)
        if self._state is ReviewState.BREAK and self.break_over() and not self._claiming:
            self._claim()

    def resume(self) -> bool:
        """Start the next session now, if no break is due (never around one)."""
        if self._state is not ReviewState.BREAK or not self.break_over():
            return False
        self._claim()
        return True

    def can_end_session(self) -> bool:
        return (
            self._state
            not in (
                ReviewState.BREAK,
                ReviewState.CLOSED,
                ReviewState.CONNECTING,
            )
            and not self._ending
        )

    def end_session(self) -> bool:
        """End the session now: every held draft goes back, and the break starts."""
        if not self.can_end_session():
            return False
        self._ending = True
        self._prefetch_timer.stop()
        self._retry_timer.stop()
        self._review_timer.stop()
        for held in (self._current, *self._buffer):
            if held is not None:
                self._keys.pop(held.lease.lease_id, None)
        self._current = None
        self._buffer.clear()
        self.draft_shown.emit(None)
        self._set_state(ReviewState.LOADING)
        session, reviewer = self._session, self.reviewer
        self._submit(
            lambda: session.end_session(reviewer),
            self._session_ended,
            self._end_failed,
            "end session",
        )
        return True

    def _session_ended(self, ended: EndedSession) -> None:
        self._ending = False
        self._writing = None
        if self.closed:
            return
        self._set_online(True)
        status = ended.status
        until = status.until if status.blocked is not None else None
        if until is not None:
            message = f"Session ended. Your break runs until {until.astimezone():%H:%M}."
        else:
            message = "Session ended. Start the next one whenever you are ready."
        self._enter_break(BreakInfo("ended", until, message, ended.summary))
        self._refresh_counts()  # the drafts it held are back in the queue
        self._check_limits()

    def _end_failed(self, exc: Exception) -> None:
        self._ending = False
        self._writing = None
        if self.closed:
            return
        self._log_failure(exc)
        self._say("error", f"The session could not be ended: {_sentence(str(exc))}")
        self._set_state(ReviewState.LOADING)
        self._claim()

    def _check_limits(self, *, fresh: bool = False) -> None:
        """At the start and after each decision, undo or session end: the session's progress
        for the status bar, and a gentle warning, once a session, of each limit passing
        ``warn_at``. Both come from this one read, so that they never disagree. ``fresh``: a
        team setting changed, so the limits are read again, not taken from the last 30 s."""
        session, reviewer = self._session, self.reviewer

        def done(status: SessionStatus) -> None:
            if self.closed:
                return
            progress = SessionProgress.of(status)
            self._progress = progress
            self.progress_changed.emit(progress)
            if status.session is None:
                return
            for use in status.warnings:
                key = (status.session.id, use.limit)
                if key not in self._warned:
                    self._warned.add(key)
                    self._say("info", warning_text(use, progress))

        self._submit(
            lambda: session.session_status(reviewer, fresh=fresh), done, self._log_failure, "status"
        )

    def _check_catches(self) -> None:
        """Stops of this reviewer that a lead has since confirmed: celebrated once each."""
        session, reviewer, since = self._session, self.reviewer, self._started_at

        def done(draft_ids: tuple[str, ...]) -> None:
            if self.closed:
                return
            for draft_id in draft_ids:
                if draft_id not in self._celebrated:
                    self._celebrated.add(draft_id)
                    self._say(
                        "info",
                        f"Your stop of draft {draft_id} was confirmed by a lead. Well spotted!",
                    )

        self._submit(
            lambda: session.confirmed_catches(reviewer, since),
            done,
            self._log_failure,
            "confirmed catches",
        )


def _renew_interval_ms(ttl_seconds: float) -> int:
    return max(1, int(ttl_seconds * 1000 / 3))
