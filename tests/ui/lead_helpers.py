"""Shared by the lead view's and the escalation inbox's GUI tests: decisions made through the
real ``ReviewDesk`` API on a manual clock, and a ``LeadView`` on its own executor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pytestqt.qtbot import QtBot

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.ui.lead.jobs import LeadData, LeadQuery
from reviewdesk.ui.lead.view import LeadView
from reviewdesk.ui.operations import OpenDesk
from reviewdesk.ui.worker import Executor
from tests.ui.conftest import SqlThreadSpy

DAY0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
DAYS = 21
NO_LIMITS = SessionLimits(
    reviews_per_session=None,
    minutes_per_session=None,
    sessions_per_day=None,
    reviews_per_day=None,
    gold_rate=0.0,
    max_same_category=None,
)
# Per category: (model, verdicts cycled day by day). A approve, E edit, R reject, X escalate.
PLAN = {
    "refund": ("m1", "AARAEAAARA"),
    "shipping": ("m2", "AAAAEAAAAX"),
    "gift": (None, "AAAAAAAAAR"),
}
TEXT = "Your parcel left our warehouse and will arrive within three working days."


def seed(desk: ReviewDesk, clock: ManualClock) -> None:
    """Three decisions a day (one per category) for three weeks, by ana and bob; the clock
    ends an hour after the last one, on the last day."""
    desk.set_session_limits(NO_LIMITS)
    reasons = desk.reject_reasons()
    n = 0
    for day in range(DAYS):
        for category, (model, pattern) in PLAN.items():
            n += 1
            clock.set(DAY0 + timedelta(days=day, minutes=n))
            record: dict[str, object] = {
                "id": f"{category}-{day:02d}",
                "draft": TEXT,
                "category": category,
                "confidence": 0.97 if day % 2 else 0.72,
            }
            if model is not None:
                record["model"] = model
            desk.submit([record])
            reviewer = "ana" if n % 2 else "bob"
            lease = desk.claim(reviewer)
            assert lease is not None and lease.draft.id == record["id"]
            verdict = pattern[day % len(pattern)]
            if verdict == "A":
                desk.decide(lease, "approve", review_seconds=12)
            elif verdict == "E":
                desk.decide(lease, "edit", text=TEXT + " Thank you.", review_seconds=30)
            elif verdict == "R":
                desk.decide(lease, "reject", reason=reasons[day % 3], review_seconds=20)
            else:
                desk.decide(lease, "escalate", severity="low", review_seconds=25)
    clock.set(DAY0 + timedelta(days=DAYS - 1, hours=1))


def escalate(
    desk: ReviewDesk, clock: ManualClock, draft_id: str, severity: str, *, category: str = "refund"
) -> None:
    desk.set_session_limits(NO_LIMITS)
    desk.submit([{"id": draft_id, "draft": f"Draft {draft_id}: your refund is on its way.",
                  "category": category}])  # fmt: skip
    lease = desk.claim("ana")
    assert lease is not None and lease.draft.id == draft_id
    desk.decide(lease, "escalate", severity=severity, note=f"Check {draft_id}.")


@dataclass
class LeadEnv:
    qtbot: QtBot
    desk: ReviewDesk
    view: LeadView
    executor: Executor
    spy: SqlThreadSpy
    errors: list[Exception] = field(default_factory=list)

    def compute(self, query: LeadQuery, timeout: int = 20_000) -> LeadData:
        with self.qtbot.waitSignal(self.view.computed, timeout=timeout) as blocker:
            self.view.set_query(query)
        data = blocker.args[0]
        assert isinstance(data, LeadData)
        return data

    @contextmanager
    def worker_held(self) -> Iterator[None]:
        """Keep the worker busy (inside the block) so that the GUI's waiting state shows."""
        release = threading.Event()
        self.executor.submit(lambda: release.wait(10), label="hold")
        try:
            yield
        finally:
            release.set()


@contextmanager
def lead_env(qtbot: QtBot, desk: ReviewDesk, *, lead: str = "lea") -> Iterator[LeadEnv]:
    """A shown lead view on ``desk`` (already seeded); no SQL may run on the GUI thread."""
    spy = SqlThreadSpy()
    spy.attach(desk)
    errors: list[Exception] = []
    executor = Executor(on_unhandled=errors.append)
    view = LeadView(executor, lead=lead)
    view.resize(1280, 760)
    env = LeadEnv(qtbot, desk, view, executor, spy, errors)
    try:
        yield env
    finally:
        view.stop()
        view.set_session(None)
        executor.stop()
        view.close()
        view.deleteLater()
    assert spy.on_gui_thread == [], "SQL ran on the GUI thread"
    assert errors == []


def open_view(env: LeadEnv) -> None:
    env.view.set_session(OpenDesk(env.desk))
    with env.qtbot.waitSignal(env.view.computed, timeout=20_000):
        env.view.show()
