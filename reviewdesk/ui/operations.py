"""The desk's database work, run on the worker thread only (see ``worker.Executor``).

``OpenDesk`` wraps one open ``ReviewDesk`` and keeps the ledger of the leases this desk holds,
so that closing releases every one of them, whatever the GUI was doing at the time. Its methods
take and return plain data (frozen dataclasses); nothing here imports Qt or touches a widget.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import make_url

from reviewdesk.config import secrets
from reviewdesk.core.domain import Decision, History, Lease, QueueCounts, SubmitReport, Verdict
from reviewdesk.core.errors import LeaseLost, ReviewDeskError
from reviewdesk.core.sessions import SessionStatus
from reviewdesk.services.demo import load_demo_if_empty
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.services.live import next_lease_expiry, settings_stamp
from reviewdesk.services.sessions import SessionSummary
from reviewdesk.storage.engine import DatabaseTarget, resolve_target
from reviewdesk.storage.urls import query_password

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """A leased draft with what the desk shows beside it, fetched together."""

    lease: Lease
    history: History | None
    counts: QueueCounts | None
    # Read with each draft, so that reasons a lead changes reach an open desk with its next draft.
    reject_reasons: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LiveCounts:
    counts: QueueCounts
    expiry: datetime | None  # when the first lease held runs out
    settings: object | None = None  # the settings' stamp, when asked for (services/live.py)


@dataclass(frozen=True)
class SessionInfo:
    """What the GUI needs to know about an open desk, read once on the worker."""

    display: str
    embedded: bool
    lease_ttl: float
    undo_window: float
    reject_reasons: tuple[str, ...]
    counts: QueueCounts
    demo: SubmitReport | None
    # Where the desk is (plain, frozen data): the export dialog opens its own connections there.
    target: DatabaseTarget | None = None
    # On a shared database: the login the rules bind (None: SQLite, or the installation's own
    # login), its role, and whether this is the installation's login (owner or superuser).
    login: str | None = None
    role: str | None = None
    installation: bool = False


@dataclass(frozen=True)
class TargetCheck:
    """Whether a database URL needs a password asked for (no keyring to hold it)."""

    display: str
    keyring_account: str | None
    keyring_available: bool
    needs_password: bool


@dataclass(frozen=True)
class DecisionRequest:
    """A reviewer's decision, as the GUI collects it."""

    verdict: Verdict
    text: str | None = None
    reason: str | None = None
    note: str | None = None
    severity: str | None = None
    # Seconds the draft was looked at (visible, attended), measured by the desk.
    review_seconds: float | None = None


@dataclass(frozen=True)
class EndedSession:
    """A session ended early: its summary, and where the reviewer stands now (the break)."""

    summary: SessionSummary | None
    status: SessionStatus


class OpenDesk:
    """One open desk and the leases it holds. Call its methods on the worker thread only."""

    def __init__(self, desk: ReviewDesk) -> None:
        self.desk = desk
        self._held: dict[str, Lease] = {}

    # -- opening and closing ------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | None, *, load_demo: bool = True) -> tuple[OpenDesk, SessionInfo]:
        """Open the desk at ``url`` (None: the embedded database, with the demo queue on first
        use) and read what the GUI shows first."""
        desk = ReviewDesk.open(url)
        try:
            demo = None
            if load_demo and desk.target.embedded:
                demo = load_demo_if_empty(desk)
                if demo is not None:
                    log.info("loaded the demo queue: %s", demo)
            session = cls(desk)
            return session, session.info(demo=demo)
        except BaseException:
            desk.close()
            raise

    def info(self, *, demo: SubmitReport | None = None) -> SessionInfo:
        identity = self.desk.access.identity
        enforced = identity is not None and identity.enforced
        return SessionInfo(
            login=identity.login if identity is not None and enforced else None,
            role=identity.role if identity is not None else None,
            installation=identity is not None and not enforced,
            display=self.desk.target.display,
            embedded=self.desk.target.embedded,
            lease_ttl=self.desk.lease_ttl,
            undo_window=self.desk.undo_window,
            reject_reasons=self.desk.reject_reasons(),
            counts=self.desk.counts(),
            demo=demo,
            target=self.desk.target,
        )

    def close(self) -> None:
        """Give back every lease still held (prefetched or open), then close the database."""
        try:
            for lease in list(self._held.values()):
                try:
                    self.desk.release(lease)
                except LeaseLost:
                    pass
                except ReviewDeskError as exc:
                    log.warning("could not release draft %s on close: %s", lease.draft.id, exc)
                    break  # the database is gone: the remaining leases expire on their own
            self._held.clear()
        finally:
            self.desk.close()

    @property
    def held(self) -> tuple[Lease, ...]:
        return tuple(self._held.values())

    # -- the review loop ----------------------------------------------------------------------
    def claim_next(self, reviewer: str, exclude: Sequence[int] = ()) -> Prepared | None:
        """Lease the next draft, with its history and the queue's counts; None when none waits."""
        lease = self.desk.claim(reviewer, exclude=exclude)
        if lease is None:
            return None
        self._held[lease.lease_id] = lease
        return self._prepare(lease)

    def _prepare(self, lease: Lease) -> Prepared:
        # The lease is held now: a failure to read around it must not lose it.
        try:
            history = self.desk.history(lease)
            counts = self.desk.counts()
            reasons = self.desk.reject_reasons()
        except (ReviewDeskError, KeyError) as exc:
            log.warning("draft %s: could not read its history: %s", lease.draft.id, exc)
            return Prepared(lease, None, None)
        return Prepared(lease, history, counts, reasons)

    def history(self, lease: Lease) -> History:
        return self.desk.history(lease)

    def counts(self) -> QueueCounts:
        return self.desk.counts()

    def live_counts(self, *, settings: bool = False) -> LiveCounts:
        """The counts, when the first lease held now runs out (the counts change then), and
        with ``settings`` the settings' stamp."""
        stamp = settings_stamp(self.desk) if settings else None
        return LiveCounts(self.desk.counts(), next_lease_expiry(self.desk), stamp)

    def decide(self, lease: Lease, request: DecisionRequest, *, idempotency_key: str) -> Decision:
        try:
            decision = self.desk.decide(
                lease,
                request.verdict,
                text=request.text,
                reason=request.reason,
                note=request.note,
                severity=request.severity,
                review_seconds=request.review_seconds,
                idempotency_key=idempotency_key,
            )
        except LeaseLost:
            self._held.pop(lease.lease_id, None)
            raise
        self._held.pop(lease.lease_id, None)
        return decision

    def release(self, lease: Lease) -> None:
        with contextlib.suppress(LeaseLost):  # not held any more: nothing to give back
            self.desk.release(lease)
        self._held.pop(lease.lease_id, None)

    def renew(self, lease: Lease) -> Lease:
        try:
            renewed = self.desk.renew(lease)
        except LeaseLost:
            self._held.pop(lease.lease_id, None)
            raise
        if lease.lease_id in self._held:
            self._held[lease.lease_id] = renewed
        return renewed

    # -- sessions (limits, breaks, summaries) ---------------------------------------------------
    def session_status(self, reviewer: str, *, fresh: bool = False) -> SessionStatus:
        return self.desk.session_status(reviewer, fresh=fresh)

    def session_summary(self, reviewer: str) -> SessionSummary | None:
        return self.desk.session_summary(reviewer)

    def end_session(self, reviewer: str) -> EndedSession:
        """Give back every draft this desk holds, end the session (the break starts now), and
        read its summary and the break."""
        for lease in list(self._held.values()):
            self.release(lease)
        summary = self.desk.end_session(reviewer)
        if summary is None:  # no open session: the last one's summary
            summary = self.desk.session_summary(reviewer)
        return EndedSession(summary, self.desk.session_status(reviewer))

    def confirmed_catches(self, reviewer: str, since: datetime | None) -> tuple[str, ...]:
        """Draft ids of the reviewer's stops confirmed since ``since``."""
        rows = self.desk.confirmed_catches(reviewer, since)
        return tuple(str(row["external_id"]) for row in rows)

    def undo(self, reviewer: str) -> Prepared:
        lease = self.desk.undo(reviewer)
        self._held[lease.lease_id] = lease
        return self._prepare(lease)


# -- connecting (no desk open yet) ------------------------------------------------------------
def check_target(url: str | None) -> TargetCheck:
    """Resolve ``url`` and say whether a password must be asked for at start.

    A PostgreSQL URL without a password normally finds it in the OS keyring; where no keyring
    exists the desk asks for it at each start instead of writing it anywhere.
    """
    target = resolve_target(url)
    if target.dialect != "postgresql":
        return TargetCheck(target.display, None, False, needs_password=False)
    available = secrets.keyring_available()
    needs = target.url.password is None and query_password(target.url) is None and not available
    return TargetCheck(target.display, target.keyring_account, available, needs_password=needs)


def with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` in it (in memory only; never stored)."""
    if not password:
        return url
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def probe_connection(url: str | None) -> str:
    """Open the database at ``url`` without changing it and say what is there."""
    desk = ReviewDesk.open(url, upgrade=False) if url else ReviewDesk.open(None)
    try:
        counts = desk.counts()
        return (
            f"Connected to {desk.target.display}: {counts.pending} draft(s) waiting, "
            f"{counts.leased} in review."
        )
    finally:
        desk.close()


def store_password(account: str, password: str) -> None:
    secrets.set_password(account, password)


def keyring_available() -> bool:
    return secrets.keyring_available()


Opener = Callable[[str | None], tuple[OpenDesk, SessionInfo]]
