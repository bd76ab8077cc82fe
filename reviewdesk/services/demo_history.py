"""A made-up team's twelve weeks of review on the demo drafts: the lead's side, to explore.

``build_team_demo`` fills a database of its own (by default ``team-demo.sqlite3`` in the user's
data folder; never the embedded one, and never one that holds other drafts) with:

- the history drafts (resources/demo/history.jsonl.gz), each decided on the day it came in by
  one of four reviewers, in review sessions, through the ``ReviewDesk`` API on a manual clock:
  the same claims, fenced decisions, triggers and rollups as real review;
- escalations resolved by the lead, a few of them late; five still open at the end (a critical
  one overdue);
- on three of the last days, one reviewer opening the day with a run of approvals faster than
  reading, which the queue flags low-attention (statistics leave them out and say so);
- the demo queue (resources/demo/drafts.jsonl.gz), waiting, as the team's backlog.

The drafts were created over the 84 days before the demo queue; the whole history is moved by
whole days so that it ends yesterday, and the open escalations come in the hours before now.

What the reviewers decide follows each draft: a draft with a mistake in the answer key
(resources/demo/mistakes.jsonl.gz) is caught (rejected for the matching reason, corrected, or
escalated) at the reviewer's catch rate and approved otherwise; a draft without one is approved
at the category's ``CLEAN_APPROVAL`` rate, else edited, rejected or escalated. With the drafts'
mistake shares this gives, in ``reviewdesk recommend`` and in the lead view (last 90 days):
contact and account ready for removal with spot checks, delivery and feedback for sampled
review, shipping_address and newsletter (the dataset's reply to unsubscribe requests explains how
to subscribe) too low for either, order declining since the newer model (it misreads order
numbers), refund and payment held by critical or high escalations, and invoice and
cancellation_fee short of the 500 reviews a high-risk category needs. The verdicts are drawn with
fixed seeds per draft: they illustrate the lead's screens and measure nothing.
"""

from __future__ import annotations

import functools
import heapq
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from reviewdesk.config import paths
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.errors import ConfigurationError
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.demo import (
    Mistake,
    answer_key,
    demo_records,
    history_records,
)
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.services.escalations import EscalationInbox, Resolution
from reviewdesk.storage.engine import defer_durability, resolve_target

REVIEWERS = ("ana", "ben", "chloé", "dev")
LEAD = "lea"
# How often a reviewer catches a draft's mistake, and the median seconds spent on a draft.
CATCH_RATE = {"ana": 0.97, "ben": 0.93, "chloé": 0.9, "dev": 0.8}
MEDIAN_SECONDS = {"ana": 38.0, "ben": 30.0, "chloé": 26.0, "dev": 13.0}
# Chance that a draft without a mistake is approved unchanged, by category.
CLEAN_APPROVAL = {
    "account": 0.998,
    "cancellation_fee": 0.93,
    "contact": 0.998,
    "delivery": 0.985,
    "feedback": 0.975,
    "invoice": 0.95,
    "newsletter": 0.97,
    "order": 0.985,
    "payment": 0.94,
    "refund": 0.9,
    "shipping_address": 0.92,
}
# What a caught mistake is rejected for.
REASON_OF_MISTAKE = {
    "wrong_detail": "factual_error",
    "unsupported_promise": "policy_violation",
    "wrong_intent": "off_topic",
    "missing_step": "incomplete",
    "dataset_wrong_intent": "off_topic",
}
# Where a promise the policy does not make is about money, a caught one may be escalated high
# or critical; everywhere else escalations are medium or low (and block no recommendation).
MONEY_CATEGORIES = ("refund", "payment")
# Review sessions a day: start times (hours, UTC) before the day is shifted; at most this many
# drafts each, within the default session limits.
SESSION_HOURS = (7.5, 10.0, 13.0, 15.5, 17.75)
SESSION_SIZE = 35
# The escalations still open at the end: (intent of the draft, severity, minutes before now,
# note). The drafts are the latest of their intent in the history.
OPEN_AT_END = (
    (
        "delete_account",
        "medium",
        300,
        "Closing an account: check whether the customer still has open orders first.",
    ),
    ("complaint", "low", 130, "Tone is fine, but a complaint should get a case number."),
    (
        "change_shipping_address",
        "medium",
        95,
        "Not sure the address can still change: the parcel may have left the warehouse.",
    ),
    (
        "payment_issue",
        "critical",
        24,
        "The customer disputes this charge; nothing may go out before billing checks it.",
    ),
    (
        "get_refund",
        "high",
        19,
        "The item never arrived, so no return is needed: the draft sends them to the returns "
        "page. Check with billing before it goes out.",
    ),
)
# On these days before the end, this reviewer opens the day approving a run of drafts faster
# than they can be read: the queue flags the run low-attention, and the lead's statistics leave
# it out and say so.
HURRIED, HURRIED_DAYS, HURRIED_RUN, HURRIED_SECONDS = "dev", (2, 4, 6), 6, 1.5
SEEDING_LIMITS = SessionLimits(gold_rate=0.0)
TEAM_DEMO_FILE = "team-demo.sqlite3"
_SEED = "reviewdesk-team-demo-1"

Progress = Callable[[int, int], None]


class TeamDemoState(StrEnum):
    EMPTY = "empty"  # no draft has ever been queued: the history may go in
    READY = "ready"  # a complete team demo
    OTHER = "other"  # holds drafts that are not (all of) the team demo: never written to


@dataclass(frozen=True)
class TeamDemo:
    """A team demo database, as ``build_team_demo`` found or built it."""

    url: str
    display: str
    built: bool  # False: an existing one was reused
    decisions: int
    waiting: int
    open_escalations: int
    overdue_escalations: int
    seconds: float  # the build's wall time (0 when reused)


def team_demo_path() -> Path:
    """Where ``reviewdesk demo --team`` keeps its database: beside the embedded one."""
    return paths.data_dir() / TEAM_DEMO_FILE


def team_demo_url(path: Path | None = None) -> str:
    return f"sqlite:///{path or team_demo_path()}"


def team_demo_state(desk: ReviewDesk) -> TeamDemoState:
    """Whether ``desk``'s database is empty, a complete team demo, or something else."""
    counts = desk.counts()
    if not (counts.pending or counts.leased or counts.decided):
        return TeamDemoState.EMPTY
    # The history goes in first and the demo queue last, so both ends there mean it finished.
    for marker in _markers():
        try:
            desk.history(marker)
        except KeyError:
            return TeamDemoState.OTHER
    return TeamDemoState.READY


@functools.cache
def _markers() -> tuple[str, str]:
    """The last history draft's id and the last queue draft's."""
    return history_records()[-1]["id"], demo_records()[-1]["id"]


def build_team_demo(
    url: str | None = None,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
    days: int | None = None,
) -> TeamDemo:
    """Open the team demo at ``url`` (None: ``team_demo_path()``), building it if needed.

    A SQLite file is built beside itself and moved into place when complete, so it is never
    found half-built; ``rebuild`` replaces a complete one (and, for the demo's own file, whatever
    it holds). Any other database must be empty (or a complete team demo, which is reused): one
    with other drafts is refused, and so is the embedded database. ``days``: seed only the
    history's last ``days`` days (tests).
    Raises ConfigurationError with what is wrong.
    """
    own = url is None  # the demo's own file: --rebuild may replace whatever it holds
    url = url or team_demo_url()
    target = resolve_target(url)
    now = now or datetime.now(UTC)
    if target.dialect == "sqlite":
        path = Path(target.url.database or "")
        if _same_file(path, paths.embedded_database_path()):
            raise ConfigurationError(
                f"{path} is your embedded database: the team demo never writes there. Leave "
                "out --db to use the demo's own file."
            )
        if path.is_dir():
            raise ConfigurationError(f"{path} is a folder, not a database file.")
        if path.is_file() and not (own and rebuild):
            existing = _existing(url, target.display, own=own)  # refuses other drafts
            if existing is not None and not rebuild:
                return existing
        return _build_file(path, progress=progress, now=now, days=days)
    with ReviewDesk.open(url) as desk:
        state = team_demo_state(desk)
        if state is TeamDemoState.READY and not rebuild:
            return _summary(desk, url, built=False, seconds=0.0)
        if state is not TeamDemoState.EMPTY:
            raise ConfigurationError(_refusal(target.display, desk, state, rebuild))
    started = time.monotonic()
    seed_team_history(url, now=now, progress=progress, days=days)
    with ReviewDesk.open(url) as desk:
        return _summary(desk, url, built=True, seconds=time.monotonic() - started)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _existing(url: str, display: str, *, own: bool = False) -> TeamDemo | None:
    """The complete team demo at ``url``; None if the file is an empty database (to build);
    raises ConfigurationError for anything else, which is never replaced."""
    with ReviewDesk.open(url) as desk:
        state = team_demo_state(desk)
        if state is TeamDemoState.READY:
            return _summary(desk, url, built=False, seconds=0.0)
        if state is TeamDemoState.EMPTY:
            return None
        if own:
            raise ConfigurationError(
                f"{display} does not hold the team demo this ReviewDesk builds (another version "
                "made it, or it was changed): 'reviewdesk demo --team --rebuild' builds it afresh."
            )
        raise ConfigurationError(_refusal(display, desk, state, rebuild=False))


def _refusal(display: str, desk: ReviewDesk, state: TeamDemoState, rebuild: bool) -> str:
    counts = desk.counts()
    held = counts.pending + counts.leased + counts.decided
    if state is TeamDemoState.READY:
        return (
            f"{display} holds a team demo; only a SQLite file can be rebuilt. Use a new, "
            "empty database."
        )
    return (
        f"{display} already holds {held} drafts that are not a complete team demo: the team "
        "history goes only into an empty database, so that no real work is mixed with made-up "
        "decisions. Leave out --db to use the demo's own file, or name a new one."
    )


def _build_file(
    path: Path, *, progress: Progress | None, now: datetime, days: int | None
) -> TeamDemo:
    """Seed a new file beside ``path``, make it durable, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    for leftover in (building, *_sidecars(building)):
        leftover.unlink(missing_ok=True)
    started = time.monotonic()
    try:
        seed_team_history(f"sqlite:///{building}", now=now, progress=progress, days=days)
        # Closing the last connection checkpointed the WAL into the file: flush it, then swap.
        if any(sidecar.exists() for sidecar in _sidecars(building)):
            raise ConfigurationError(f"{building} is still in use; the team demo was not kept.")
        with building.open("rb+") as handle:
            os.fsync(handle.fileno())
        for stale in _sidecars(path):
            stale.unlink(missing_ok=True)
        os.replace(building, path)
        _fsync_folder(path.parent)
    except BaseException:
        for leftover in (building, *_sidecars(building)):
            leftover.unlink(missing_ok=True)
        raise
    url = f"sqlite:///{path}"
    with ReviewDesk.open(url) as desk:
        return _summary(desk, url, built=True, seconds=time.monotonic() - started)


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder; its rename is durable as is
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _summary(desk: ReviewDesk, url: str, *, built: bool, seconds: float) -> TeamDemo:
    counts = desk.counts()
    escalations = EscalationInbox.for_desk(desk).list()
    return TeamDemo(
        url=url,
        display=desk.target.display,
        built=built,
        decisions=counts.decided,
        waiting=counts.pending + counts.leased,
        open_escalations=len(escalations),
        overdue_escalations=sum(1 for e in escalations if e.overdue),
        seconds=seconds,
    )


# -- seeding ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Verdict:
    verdict: str
    text: str | None = None
    reason: str | None = None
    note: str | None = None
    severity: str | None = None


def seed_team_history(
    url: str,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    days: int | None = None,
    records: Sequence[Mapping[str, Any]] | None = None,
    queue: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Fill the empty database at ``url`` (created if missing); see the module's docstring.

    ``days``: only the history's last ``days`` days. ``records``/``queue``: other history and
    queue drafts than the shipped ones. ``progress(done, total)`` after every draft decided.
    Commits do not wait for the disk (``defer_durability``): the caller keeps or throws away
    the result as a whole.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    records = list(history_records() if records is None else records)
    queue = list(demo_records() if queue is None else queue)
    key = answer_key()
    # Move by whole days, so that the drafts came in up to yesterday (the queue's last three
    # days, the history's last 84) and review ended yesterday evening.
    end_day = max(_time(r["created_at"]) for r in queue).date() + timedelta(days=1)
    shift = now.date() - end_day
    if days is not None:
        first = now.date() - timedelta(days=days)
        records = [r for r in records if (_time(r["created_at"]) + shift).date() >= first]
    tail, flow = _split_tail(records)
    total = len(records)
    done = 0
    clock = ManualClock(_time(flow[0]["created_at"]) + shift - timedelta(hours=1))
    with ReviewDesk.open(url, clock=clock, rng=random.Random(5), upgrade=True) as desk:
        if team_demo_state(desk) is not TeamDemoState.EMPTY:
            raise ConfigurationError(f"{desk.target.display} is not empty: no history written.")
        defer_durability(desk.engines)
        desk.set_session_limits(SEEDING_LIMITS)
        team = _Team(desk, clock, key, now)
        schedule = random.Random(f"{_SEED}:sessions")
        by_day: dict[date, list[Mapping[str, Any]]] = {}
        for record in flow:
            moved = _moved(record, shift)
            by_day.setdefault(_time(moved["created_at"]).date(), []).append(moved)
        hurried = {now.date() - timedelta(days=d) for d in HURRIED_DAYS}
        for day in sorted(by_day):
            arriving = by_day[day]
            for hour in SESSION_HOURS:
                start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                    hours=hour, minutes=schedule.uniform(-20, 20)
                )
                due = [r for r in arriving if _time(r["created_at"]) <= start]
                arriving = arriving[len(due) :]
                team.resolve_due(start)
                clock.set(max(start, clock.now()))
                if due:
                    desk.submit(due, source="demo history")
                reviewer, size = schedule.choice(REVIEWERS), SESSION_SIZE
                if day in hurried:  # the day's first session: a hurried run, then reading
                    hurried.discard(day)
                    reviewer, size = HURRIED, SESSION_SIZE - HURRIED_RUN
                    done += team.session(reviewer, HURRIED_RUN, hurried_seconds=HURRIED_SECONDS)
                done += team.session(reviewer, size)
                if progress is not None:
                    progress(done, total)
            if arriving:  # after the last session: the first one tomorrow takes them
                desk.submit(arriving, source="demo history")
        while desk.counts().pending:  # a late arrival on the last day; never the same hand
            done += team.session(_other(REVIEWERS, team.last_reviewer, schedule), SESSION_SIZE)
        tail_start = now - timedelta(minutes=max(spec[2] for spec in OPEN_AT_END) + 5)
        team.resolve_due(tail_start)
        for number, (record, (_intent, severity, minutes, note)) in enumerate(tail):
            clock.set(max(now - timedelta(minutes=minutes), clock.now()))
            desk.submit([_moved(record, shift)], source="demo history")
            # Each by another reviewer: one just back from a session would be on a break.
            team.escalate_next(REVIEWERS[number % len(REVIEWERS)], severity, note)
            done += 1
            if progress is not None:
                progress(done, total)
        clock.set(now)
        desk.submit([_moved(r, shift) for r in queue], source="demo queue")
        # The desk opens on the team's backlog with the ordinary limits.
        desk.set_session_limits(SessionLimits())


def _other(names: Sequence[str], last: str | None, rng: random.Random) -> str:
    return rng.choice([n for n in names if n != last])


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _moved(record: Mapping[str, Any], shift: timedelta) -> dict[str, Any]:
    moved = dict(record)
    moved["created_at"] = (_time(record["created_at"]) + shift).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moved


def _split_tail(
    records: Sequence[Mapping[str, Any]],
) -> tuple[list[tuple[Mapping[str, Any], tuple[str, str, int, str]]], list[Mapping[str, Any]]]:
    """The drafts escalated at the end (the latest of each intent in ``OPEN_AT_END``), each
    with its plan, and the rest in order."""
    tail: list[tuple[Mapping[str, Any], tuple[str, str, int, str]]] = []
    taken: set[str] = set()
    for spec in OPEN_AT_END:
        record = next(
            r
            for r in reversed(records)
            if r["metadata"]["intent"] == spec[0] and r["id"] not in taken
        )
        taken.add(record["id"])
        tail.append((record, spec))
    tail.sort(key=lambda item: -item[1][2])
    return tail, [r for r in records if r["id"] not in taken]


class _Team:
    """The reviewers and the lead, deciding through ``desk`` on ``clock``."""

    def __init__(
        self, desk: ReviewDesk, clock: ManualClock, key: Mapping[str, Mistake], now: datetime
    ) -> None:
        self.desk = desk
        self.clock = clock
        self.key = key
        self.now = now
        self.inbox = EscalationInbox.for_desk(desk)
        self.reasons = desk.reject_reasons()
        # (resolve at, cursor, draft id): the lead's answers, in time order.
        self.pending: list[tuple[datetime, int, str]] = []
        self.last_reviewer: str | None = None

    def session(self, reviewer: str, size: int, *, hurried_seconds: float | None = None) -> int:
        """``reviewer`` decides up to ``size`` drafts in one session; returns how many.

        ``hurried_seconds``: approve each without reading it, in that many seconds."""
        decided = 0
        while decided < size:
            lease = self.desk.claim(reviewer)
            if lease is None:
                break
            draft = lease.draft
            rng = random.Random(f"{_SEED}:{draft.id}")
            # Within the lease: a desk would renew it for a longer read.
            seconds = min(MEDIAN_SECONDS[reviewer] * rng.lognormvariate(0, 0.45), 110.0)
            if hurried_seconds is not None:
                seconds = hurried_seconds
            self.clock.advance(seconds)
            verdict = self._verdict(reviewer, draft.id, draft.category, draft.draft, rng)
            if hurried_seconds is not None:
                verdict = _Verdict("approve")
            decision = self.desk.decide(
                lease,
                verdict.verdict,
                text=verdict.text,
                reason=verdict.reason,
                note=verdict.note,
                severity=verdict.severity,
                review_seconds=seconds,
            )
            if verdict.verdict == "escalate":
                self._schedule(draft.id, decision.severity or "medium", rng)
            decided += 1
            self.clock.advance(rng.uniform(2, 9))
            self.resolve_due(self.clock.now())
        if decided:
            # No end_session: the reviewer just stops, and the next claim ends the session as
            # idle (what a closed desk leaves too), at its last activity.
            self.last_reviewer = reviewer
        return decided

    def escalate_next(self, reviewer: str, severity: str, note: str) -> None:
        """Claim the next draft and escalate it, left open."""
        lease = self.desk.claim(reviewer)
        if lease is None:
            raise AssertionError("the tail draft was not claimable")  # pragma: no cover
        self.clock.advance(40)
        self.desk.decide(lease, "escalate", severity=severity, note=note, review_seconds=40)

    def _verdict(
        self, reviewer: str, draft_id: str, category: str, text: str, rng: random.Random
    ) -> _Verdict:
        mistake = self.key.get(draft_id)
        if mistake is not None:
            if rng.random() >= CATCH_RATE[reviewer]:
                return _Verdict("approve")  # missed
            roll = rng.random()
            if roll < 0.3:
                return _Verdict("edit", text=mistake.corrected(text))
            if roll < 0.9:
                return _Verdict(
                    "reject", reason=REASON_OF_MISTAKE[mistake.kind], note=_note(mistake)
                )
            severity = "medium"
            if category in MONEY_CATEGORIES and mistake.kind == "unsupported_promise":
                severity = "critical" if rng.random() < 0.25 else "high"
            return _Verdict("escalate", severity=severity, note=_note(mistake))
        if rng.random() < CLEAN_APPROVAL[category]:
            return _Verdict("approve")
        roll = rng.random()
        if roll < 0.5:
            return _Verdict("edit", text=_style_edit(text, rng))
        if roll < 0.9:
            reason = rng.choice(
                [r for r in ("wrong_tone", "incomplete", "other") if r in self.reasons]
                or list(self.reasons)
            )
            return _Verdict("reject", reason=reason)
        return _Verdict(
            "escalate",
            severity=rng.choice(("low", "medium")),
            note="Probably fine, but I would like a second opinion on the wording.",
        )

    def _schedule(self, draft_id: str, severity: str, rng: random.Random) -> None:
        open_now = self.inbox.list()
        cursor = next(e.cursor for e in open_now if e.id == draft_id)
        allowed = {"critical": 15, "high": 60, "medium": 240, "low": 1440}[severity]
        late = rng.random() < 0.15
        minutes = allowed * (rng.uniform(1.1, 2.0) if late else rng.uniform(0.2, 0.9))
        heapq.heappush(
            self.pending, (self.clock.now() + timedelta(minutes=minutes), cursor, draft_id)
        )

    def resolve_due(self, until: datetime) -> None:
        """The lead answers every escalation due by ``until``, each at its time (or now, if
        the clock is past it)."""
        while self.pending and self.pending[0][0] <= until:
            at, cursor, draft_id = heapq.heappop(self.pending)
            self.clock.set(max(at, self.clock.now()))
            rng = random.Random(f"{_SEED}:resolve:{draft_id}")
            escalation = self.inbox.get(cursor)
            assert escalation is not None
            mistake = self.key.get(draft_id)
            if mistake is not None:
                outcome = rng.choices(
                    (Resolution.SEND_EDITED, Resolution.REJECT, Resolution.DISMISS), (5, 4, 1)
                )[0]
            else:
                outcome = rng.choices(
                    (Resolution.SEND_AS_IS, Resolution.SEND_EDITED, Resolution.DISMISS), (6, 2, 2)
                )[0]
            text = None
            if outcome is Resolution.SEND_EDITED:
                text = (
                    mistake.corrected(escalation.draft)
                    if mistake is not None
                    else _style_edit(escalation.draft, rng)
                )
            self.inbox.resolve(
                cursor, outcome, note=_RESOLUTION_NOTES[outcome], lead=LEAD, text=text
            )


def _note(mistake: Mistake) -> str:
    return f"The draft {mistake.what}."


def _style_edit(text: str, rng: random.Random) -> str:
    """A reviewer's touch to a sound draft: a typo-sized fix, or a sentence more."""
    if rng.random() < 0.4:
        if text.startswith("Hi,"):
            return "Hello," + text[3:]
        end = text.rstrip()[-1:]
        return text.rstrip()[:-1] + {".": "!", "!": "."}[end] if end in ".!" else text + "."
    return text.rstrip() + " " + rng.choice(_ADDED)


_ADDED = (
    "If anything else comes up, just reply to this message.",
    "You can also find this in our help centre.",
    "Our team is available seven days a week if you need us.",
)
_RESOLUTION_NOTES = {
    Resolution.SEND_AS_IS: "Checked with the team: the draft is right.",
    Resolution.SEND_EDITED: "Corrected the reply; it goes out in this form.",
    Resolution.REJECT: "Wrong for this customer; they get a call from us instead.",
    Resolution.DISMISS: "Already handled by phone.",
}
