"""A live desk: told of changes by the database, it makes no query while nothing changes, shows
a new draft within a second, and keeps the status bar's counts current."""

from __future__ import annotations

import time

from pytestqt.qtbot import QtBot
from sqlalchemy import event

from reviewdesk.core.clock import ManualClock
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.ui.review_controller import ReviewState
from tests.conftest import DeskFactory
from tests.ui.conftest import HarnessFactory
from tests.ui.lead_helpers import lead_env
from tests.ui.test_escalation_inbox import FakeMonotonic, _threaded, show_inbox


def _record(i: int) -> dict[str, str]:
    return {"id": f"d-{i}", "draft": f"Draft number {i}", "category": "billing"}


def test_an_idle_desk_makes_no_query_and_shows_a_new_draft_within_a_second(
    desk_harness: HarnessFactory, db_url: str
) -> None:
    h = desk_harness(url=db_url, wait=ReviewState.EMPTY)
    assert h.window.controller is not None and h.window.controller.live
    h.wait_idle()
    h.qtbot.wait(1000)  # the listener's first read, and SQLite's second look
    h.wait_idle()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(h.desk.engines.write, "before_cursor_execute", count)
    event.listen(h.desk.engines.statement, "before_cursor_execute", count)
    h.qtbot.wait(3000)
    assert statements == []  # idle: not one query in 3 s
    with h.verify() as producer:
        start = time.monotonic()
        producer.submit([_record(1), _record(2), _record(3)])
        h.qtbot.waitUntil(lambda: h.window.controller.state is ReviewState.SHOWING, timeout=5000)
        assert time.monotonic() - start < 1.0
        # One on screen, one claimed ahead, one waiting: the counts follow.
        h.qtbot.waitUntil(lambda: h.window.queue_label.text().startswith("1 waiting"), timeout=3000)


def test_the_inbox_list_ticks_its_due_times_and_counts_a_newly_overdue_escalation(
    qtbot: QtBot, make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock=clock)
    _threaded(desk, clock)  # a high escalation, 59 minutes left
    with lead_env(qtbot, desk) as env:
        inbox = env.view.inbox
        ticks = FakeMonotonic()
        inbox._monotonic = ticks
        show_inbox(env)
        inbox._read_mono = ticks.now
        assert inbox._clock_timer.isActive()
        row = inbox.model.rows[0]
        assert not row.escalation.overdue
        statements = env.spy.elsewhere
        ticks.now += 3600
        inbox._clock_timer.timeout.emit()
        row = inbox.model.rows[0]
        assert row.escalation.overdue and "overdue" in row.due
        assert "1 overdue" in inbox.summary.text()
        assert env.spy.elsewhere == statements  # no database read per tick


def test_a_team_setting_changed_elsewhere_reaches_an_idle_desk_without_a_decision(
    desk_harness: HarnessFactory, db_url: str
) -> None:
    limits = SessionLimits.off().with_changes(reviews_per_session=40)
    h = desk_harness([_record(i) for i in range(3)], url=db_url, limits=limits)
    h.qtbot.waitUntil(lambda: h.controller._progress is not None, timeout=5000)
    assert h.controller._progress is not None and h.controller._progress.allowed == 40
    h.wait_idle()
    h.qtbot.wait(1000)  # SQLite's second look at its files
    h.wait_idle()
    with h.verify() as lead:  # another client: a lead's desk, or `reviewdesk team` in a shell
        lead.set_session_limits(limits.with_changes(reviews_per_session=7))
    # No decision on this desk: told of the change, it reads its limits again.
    h.qtbot.waitUntil(lambda: h.controller._progress.allowed == 7, timeout=3000)  # type: ignore[union-attr]
    h.wait_idle()
    h.qtbot.wait(1000)
    h.wait_idle()
    statements: list[str] = []
    event.listen(h.desk.engines.write, "before_cursor_execute", lambda *a: statements.append(a[2]))
    h.qtbot.wait(2000)
    assert statements == []  # and idle again: not one query
