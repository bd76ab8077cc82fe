"""Lost leases, renewals, an unreachable database, an empty queue: said plainly, nothing lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.errors import ConnectionLost, DatabaseUnavailable, ReviewDeskError
from reviewdesk.ui.operations import OpenDesk
from reviewdesk.ui.review_controller import Notice, ReviewState
from tests.ui.conftest import Harness, HarnessFactory, drafts, session_opener

Key = Qt.Key
CTRL = Qt.KeyboardModifier.ControlModifier


def notices(h: Harness) -> list[Notice]:
    seen: list[Notice] = []
    h.controller.notice.connect(seen.append)
    return seen


def window_notices(h: Harness) -> list[tuple[str, str]]:
    """Every notice the window shows from now on (a later one replaces it on screen)."""
    shown: list[tuple[str, str]] = []
    bar = h.window.notice_bar
    show = bar.show_notice

    def spy(level: str, text: str, topic: str = "") -> None:
        shown.append((level, text))
        show(level, text, topic)

    bar.show_notice = spy  # type: ignore[method-assign]
    return shown


def other_reviewer(h: Harness, clock: ManualClock) -> ReviewDesk:
    return ReviewDesk.open(h.url, clock=clock, lease_ttl=30)


LOCKED = "Database sqlite:///queue is unavailable: database is locked"
IO_ERROR = "Database sqlite:///queue is unavailable: disk I/O error"


def fail_once(monkeypatch: pytest.MonkeyPatch, desk: object, method: str, message: str) -> None:
    """The desk's ``method`` raises DatabaseUnavailable(message) once, then works again."""
    real = getattr(desk, method)
    failures = [DatabaseUnavailable(message)]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(desk, method, flaky)


def test_a_decision_on_a_lost_lease_writes_nothing_and_moves_on(
    desk_harness: HarnessFactory, clock: ManualClock
) -> None:
    h = desk_harness(drafts(3), clock=clock, lease_ttl=30)
    h.wait_for_draft("d-01")
    h.wait_idle()
    said = notices(h)
    clock.advance(31)  # ana's leases ran out (a laptop lid closed, say) ...
    with other_reviewer(h, clock) as bob:
        taken = bob.claim("bob")  # ... and bob took d-01 over
        assert taken is not None and taken.draft.id == "d-01"
        h.press(Key.Key_A)
        h.qtbot.waitUntil(lambda: bool(said))
        assert said[0].level == "warning"
        assert said[0].text == (
            "Not recorded: your approval of draft d-01. Lease on draft 'd-01' was lost (another "
            "reviewer has claimed it since); nothing was recorded."
        )
        h.qtbot.waitUntil(
            lambda: h.shown_id() == "d-02" and h.controller.state is ReviewState.SHOWING
        )
        assert h.window.notice_bar.isVisible()
        assert (h.controller.entries[0].draft_id, h.controller.entries[0].outcome) == (
            "d-01",
            "not recorded",
        )
        h.wait_idle()
        assert bob.results(unsettled=True, include_delivered=True) == []
        refused = [a for a in bob.attempts() if a["reviewer"] == "ana"]
        assert [(a["outcome"], a["detail"]) for a in refused] == [("refused", "taken_over")]


def test_renewal_keeps_the_lease_while_the_draft_is_open(
    desk_harness: HarnessFactory, clock: ManualClock
) -> None:
    h = desk_harness(drafts(2), clock=clock, lease_ttl=30)
    h.wait_for_draft("d-01")
    h.wait_idle()
    assert h.controller._renew_timer.interval() == 10_000  # ttl / 3
    said = notices(h)
    clock.advance(20)
    h.controller.renew_now()
    h.wait_idle()
    clock.advance(20)  # 40 s after the claim, 20 s after the renewal
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    h.wait_idle()
    assert said == []
    with h.verify() as check:
        assert [r.id for r in check.results(unsettled=True, include_delivered=True)] == ["d-01"]


def test_renewal_follows_the_teams_lease_ttl(
    desk_harness: HarnessFactory, clock: ManualClock
) -> None:
    h = desk_harness(drafts(4), clock=clock)  # the team's TTL: 120 s
    h.wait_for_draft("d-01")
    h.wait_idle()
    assert h.controller._renew_timer.interval() == 40_000

    def set_ttl(seconds: float) -> None:
        """A lead changes the team's TTL; this desk's settings cache has it at once."""
        change = threading.Thread(
            target=lambda: h.desk.set_session_limits(
                h.desk.session_limits().with_changes(lease_ttl_seconds=seconds)
            )
        )
        change.start()
        change.join()

    set_ttl(30)
    h.controller.renew_now()  # what the 40-second timer does: the leases get 30 s now ...
    h.wait_idle()
    assert h.controller._renew_timer.interval() == 10_000  # ... so they are renewed every 10
    said = notices(h)
    clock.advance(25)  # past the next renewal, before the 30 s run out
    h.controller.renew_now()
    h.wait_idle()
    clock.advance(25)
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    h.wait_idle()
    assert said == []
    set_ttl(90)  # longer again: once every held lease has it, renewals slow down
    h.controller.renew_now()
    h.wait_idle()
    assert h.controller._renew_timer.interval() == 30_000
    with h.verify() as check:
        assert [r.id for r in check.results(unsettled=True, include_delivered=True)] == ["d-01"]


def test_a_lease_lost_while_reading_is_said_and_the_desk_moves_on(
    desk_harness: HarnessFactory, clock: ManualClock
) -> None:
    h = desk_harness(drafts(2), clock=clock, lease_ttl=30)
    h.wait_for_draft("d-01")
    h.wait_idle()
    said = notices(h)
    clock.advance(31)
    with other_reviewer(h, clock) as bob:
        assert bob.claim("bob").draft.id == "d-01"  # type: ignore[union-attr]
        h.controller.renew_now()  # what the ttl/3 timer does
        h.qtbot.waitUntil(lambda: len(said) >= 1)
        assert (
            "Lease on draft 'd-01' was lost (another reviewer has claimed it since)" in said[0].text
        )
        # The prefetched d-02 had expired too: said as well, then claimed afresh.
        h.wait_for_draft("d-02")
        h.wait_idle()
        assert h.controller.state is ReviewState.SHOWING
        assert bob.results(unsettled=True, include_delivered=True) == []
    assert ("d-01", "not recorded") in [(e.draft_id, e.outcome) for e in h.controller.entries]


def test_an_unreachable_database_keeps_the_decision_for_a_retry(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = desk_harness(drafts(3))
    h.wait_for_draft("d-01")
    h.wait_idle()
    real_decide = h.desk.decide
    calls: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append("decide")
        if len(calls) == 1:
            raise DatabaseUnavailable("Database sqlite:///queue is unavailable: disk I/O error")
        return real_decide(*args, **kwargs)

    monkeypatch.setattr(h.desk, "decide", flaky)
    said = notices(h)
    h.press(Key.Key_A)
    h.qtbot.waitUntil(lambda: bool(said))
    assert said[0].level == "error"
    assert said[0].text == (
        "Not recorded: your approval of draft d-01. Database sqlite:///queue is unavailable: "
        "disk I/O error. The draft is back on screen: decide again."
    )
    h.wait_for_draft("d-01")
    # The dot turned Offline with the failure; a live desk may read the queue again at once and
    # be Connected before this line runs, so the state after the retry is what is checked.
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    assert h.window.status_text["connection"] == "● Connected"
    h.wait_idle()
    with h.verify() as check:
        assert [r.id for r in check.results(unsettled=True, include_delivered=True)] == ["d-01"]


def test_a_decision_whose_connection_was_lost_is_decided_again_and_recorded_once(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = desk_harness(drafts(3))
    h.wait_for_draft("d-01")
    h.wait_idle()
    real_decide = h.desk.decide
    keys: list[str] = []

    def committed_but_unheard(*args: Any, **kwargs: Any) -> Any:
        # The first decision commits, then its connection (and the desk's retry) fails.
        keys.append(kwargs["idempotency_key"])
        decision = real_decide(*args, **kwargs)
        if len(keys) == 1:
            raise ConnectionLost("Lost the connection", idempotency_key=keys[0])
        return decision

    monkeypatch.setattr(h.desk, "decide", committed_but_unheard)
    said = notices(h)
    h.press(Key.Key_A)
    h.qtbot.waitUntil(lambda: bool(said))
    assert (said[0].level, said[0].text) == (
        "error",
        "Perhaps not recorded: your approval of draft d-01. The connection to the database was "
        "lost while it was being written. The draft is back on screen: decide again.",
    )
    h.wait_for_draft("d-01")
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    h.wait_idle()
    assert keys[0] == keys[1]
    with h.verify() as check:
        assert [r.id for r in check.results(include_delivered=True, unsettled=True)] == ["d-01"]
        assert [a["outcome"] for a in check.attempts()] == ["accepted", "replayed"]


def test_an_edit_that_could_not_be_written_comes_back_into_the_editor(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = desk_harness(drafts(3))
    h.wait_for_draft("d-01")
    h.wait_idle()
    fail_once(
        monkeypatch, h.desk, "decide", "Database sqlite:///queue is unavailable: database is locked"
    )
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    h.window.editor.editor.selectAll()
    h.type_text(h.window.editor.editor, "A better answer.")
    h.press(Key.Key_Return, CTRL)
    # Back on d-01, in the editor, with the text as typed.
    h.wait_for_state(ReviewState.EDITING)
    assert h.shown_id() == "d-01"
    assert h.window.editor.editor.toPlainText() == "A better answer."
    assert "Not recorded: your edit of draft d-01." in h.window.notice_bar.text.text()
    h.press(Key.Key_Return, CTRL)
    h.wait_for_draft("d-02")
    h.wait_idle()
    with h.verify() as check:
        assert [(r.id, r.final) for r in check.results(unsettled=True, include_delivered=True)] == [
            ("d-01", "A better answer.")
        ]


def test_a_database_that_cannot_be_opened_is_said_with_retry_and_settings(
    desk_harness: HarnessFactory, sqlite_url: str
) -> None:
    h = desk_harness(
        drafts(1),
        url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        seed_url=sqlite_url,
        opener=OpenDesk.open,
        wait=None,
    )
    page = h.window.status_page
    h.qtbot.waitUntil(lambda: page.title.text() == "Cannot open the database", timeout=20_000)
    assert h.window.pages.currentWidget() is page
    assert "127.0.0.1" in page.text.text()
    assert (page.primary.text(), page.secondary.text()) == ("Retry", "Settings…")
    assert h.window.status_text["connection"] == "● Offline"
    # The server is back (here: the desk opens the seeded database): Retry opens it.
    h.desk_app.opener = session_opener(h.desk)
    page.primary.click()
    h.qtbot.waitUntil(lambda: h.window.controller is not None)
    h.wait_for_draft("d-01")


def test_an_empty_queue_says_so_and_refresh_finds_new_drafts(
    desk_harness: HarnessFactory,
) -> None:
    h = desk_harness([], wait=ReviewState.EMPTY)
    page = h.window.status_page
    assert page.title.text() == "All caught up"
    assert page.primary.text() == "Refresh (F5)"
    with h.verify() as producer:  # a producer, on its own connection
        producer.submit(drafts(1, prefix="new"))
    h.press(Key.Key_F5)
    h.wait_for_draft("new-01")


class OnBreak(ReviewDeskError):
    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__("Time for a break: you can take drafts again at 10:45.")


def test_a_queue_that_refuses_a_claim_is_said_not_treated_as_an_error(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = desk_harness(drafts(2))
    h.wait_for_draft("d-01")
    h.wait_idle()
    real_claim = h.desk.claim
    refusing = [True]

    def claim(*args: Any, **kwargs: Any) -> Any:
        if refusing[0]:
            raise OnBreak(datetime.now(UTC) + timedelta(minutes=10))
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(h.desk, "claim", claim)
    h.press(Key.Key_A)  # d-02 was prefetched: it shows
    h.wait_for_draft("d-02")
    h.wait_idle()
    h.press(Key.Key_A)
    h.wait_for_state(ReviewState.EMPTY)
    page = h.window.status_page
    h.qtbot.waitUntil(lambda: page.title.text() == "No draft for you right now")
    assert "Time for a break" in page.text.text()
    assert h.errors == []


def test_an_edit_whose_lease_is_lost_while_typing_is_kept_on_the_clipboard(
    desk_harness: HarnessFactory, clock: ManualClock
) -> None:
    h = desk_harness(drafts(2), clock=clock, lease_ttl=30)
    h.wait_for_draft("d-01")
    h.wait_idle()
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    h.window.editor.editor.selectAll()
    h.type_text(h.window.editor.editor, "Half an hour of careful rewriting.")
    shown = window_notices(h)
    clock.advance(31)
    with other_reviewer(h, clock) as bob:
        assert bob.claim("bob").draft.id == "d-01"  # type: ignore[union-attr]
        h.controller.renew_now()  # the renewal finds the lease gone: the editor must close
        h.wait_for_draft("d-02")
        h.wait_idle()
        assert QGuiApplication.clipboard().text() == "Half an hour of careful rewriting."
        assert (
            "warning",
            "Your edit of draft d-01 was not recorded: the draft's lease was lost. The text you "
            "wrote is on the clipboard.",
        ) in shown
        assert bob.results(unsettled=True, include_delivered=True) == []


def test_an_edit_refused_for_a_lost_lease_is_kept_on_the_clipboard(
    desk_harness: HarnessFactory, clock: ManualClock
) -> None:
    h = desk_harness(drafts(2), clock=clock, lease_ttl=30)
    h.wait_for_draft("d-01")
    h.wait_idle()
    QGuiApplication.clipboard().setText("")
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    h.window.editor.editor.selectAll()
    h.type_text(h.window.editor.editor, "The corrected reply.")
    shown = window_notices(h)
    clock.advance(31)
    with other_reviewer(h, clock) as bob:
        assert bob.claim("bob").draft.id == "d-01"  # type: ignore[union-attr]
        h.press(Key.Key_Return, CTRL)  # submitted, then refused: taken over
        h.wait_for_draft("d-02")
        h.wait_idle()
        assert QGuiApplication.clipboard().text() == "The corrected reply."
        assert any("Your edit of draft d-01 was not recorded" in text for _, text in shown)


def test_an_edit_cancelled_by_the_reviewer_leaves_the_clipboard_alone(
    desk_harness: HarnessFactory,
) -> None:
    h = desk_harness(drafts(2))
    h.wait_for_draft("d-01")
    h.wait_idle()
    QGuiApplication.clipboard().setText("mine")
    h.press(Key.Key_E)
    h.wait_for_state(ReviewState.EDITING)
    h.type_text(h.window.editor.editor, " more")
    h.press(Key.Key_Escape)
    h.wait_for_state(ReviewState.SHOWING)
    assert QGuiApplication.clipboard().text() == "mine"


# -- banners and the status say the truth at every moment -------------------------------------
def test_a_not_recorded_banner_goes_when_the_retry_is_recorded(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = desk_harness(drafts(4))
    h.wait_for_draft("d-01")
    h.wait_idle()
    fail_once(
        monkeypatch, h.desk, "decide", "Database sqlite:///queue is unavailable: database is locked"
    )
    bar = h.window.notice_bar
    h.press(Key.Key_A)
    h.qtbot.waitUntil(lambda: bar.isVisible() and bar.level == "error")
    assert bar.text.text().startswith("Not recorded: your approval of draft d-01.")
    h.wait_for_draft("d-01")
    h.press(Key.Key_A)  # the retry is recorded: what the banner said is no longer true
    h.wait_for_draft("d-02")
    assert not bar.isVisible()
    assert h.window.status_text["connection"] == "● Connected"


def test_a_banner_about_another_matter_stays_when_a_decision_is_recorded(
    desk_harness: HarnessFactory,
) -> None:
    h = desk_harness(drafts(3))
    h.wait_for_draft("d-01")
    h.wait_idle()
    bar = h.window.notice_bar
    bar.show_notice("warning", "Something else the reviewer should read.")
    h.press(Key.Key_A)
    h.wait_for_draft("d-02")
    assert bar.isVisible()


def test_a_write_waiting_on_a_locked_database_says_so_until_it_is_recorded(
    desk_harness: HarnessFactory, sqlite_url: str
) -> None:
    import sqlite3

    h = desk_harness(drafts(3), url=sqlite_url)
    h.wait_for_draft("d-01")
    h.wait_idle()
    h.controller.slow_database_ms = 100  # "a few seconds", shortened for the test
    blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock (SQLite waits 30 s)
        h.press(Key.Key_A)
        h.qtbot.waitUntil(
            lambda: h.window.status_text["connection"] == "◐ Waiting for the database"
        )
        assert h.window.saving.text() == "Saving… (slow)"
        assert h.controller.state is ReviewState.WRITING
        assert h.shown_id() == "d-01"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    h.wait_for_draft("d-02")
    assert h.window.status_text["connection"] == "● Connected"
    assert h.window.saving.text() == ""
    h.wait_idle()
    with h.verify() as check:
        assert [r.id for r in check.results(unsettled=True, include_delivered=True)] == ["d-01"]


def test_a_cannot_get_the_next_draft_banner_goes_when_a_draft_comes(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = desk_harness([], wait=ReviewState.EMPTY)
    h.wait_idle()
    fail_once(
        monkeypatch, h.desk, "claim", "Database sqlite:///queue is unavailable: disk I/O error"
    )
    bar = h.window.notice_bar
    h.press(Key.Key_F5)
    h.wait_for_state(ReviewState.ERROR)
    assert bar.isVisible() and bar.text.text().startswith("Cannot get the next draft:")
    with h.verify() as producer:
        producer.submit(drafts(1))
    h.press(Key.Key_F5)
    h.wait_for_draft("d-01")
    assert not bar.isVisible()
    assert h.window.status_text["connection"] == "● Connected"


def test_refresh_while_a_claim_is_on_its_way_brings_the_skipped_draft_back(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F5 on an empty queue gives the skipped drafts back. A claim already on its way then (the
    database told of a change just before) still passes them over: its empty answer must not
    leave the desk empty."""
    h = desk_harness(drafts(2))
    h.wait_for_draft("d-01")
    h.press(Key.Key_S)
    h.wait_for_draft("d-02")
    h.press(Key.Key_A)
    h.wait_for_state(ReviewState.EMPTY)
    h.wait_idle()
    real_claim = h.desk.claim
    gate = threading.Event()
    held: list[tuple[int, ...]] = []

    def slow_claim(*args: Any, **kwargs: Any) -> Any:
        if not held:
            held.append(tuple(kwargs.get("exclude", ())))
            gate.wait(10)
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(h.desk, "claim", slow_claim)
    h.controller.database_changed()  # a change told: the empty desk looks again
    h.qtbot.waitUntil(lambda: bool(held))
    assert held[0] != ()  # this claim still passes the skipped draft over
    h.press(Key.Key_F5)
    gate.set()
    h.wait_for_draft("d-01")


def test_a_draft_submitted_while_a_claim_is_on_its_way_reaches_an_empty_desk(
    desk_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database tells of a new draft while the empty desk's claim is on its way, having
    already looked and found none: that claim's empty answer must not leave the desk empty."""
    h = desk_harness([], wait=ReviewState.EMPTY)
    h.wait_idle()
    real_claim = h.desk.claim
    looked, gate = threading.Event(), threading.Event()

    def slow_answer(*args: Any, **kwargs: Any) -> Any:
        lease = real_claim(*args, **kwargs)
        if not looked.is_set():
            looked.set()
            gate.wait(10)
        return lease

    monkeypatch.setattr(h.desk, "claim", slow_answer)
    h.controller.database_changed()  # the empty desk looks again
    h.qtbot.waitUntil(looked.is_set)
    told: list[object] = []
    assert h.desk_app.listener is not None
    h.desk_app.listener.changed.connect(told.append)  # after the controller's own slot
    with h.verify() as producer:
        producer.submit(drafts(1, prefix="new"))
    # Told of it, and the change read (after the coalescing wait), while the claim is out.
    h.qtbot.waitUntil(lambda: bool(told) and not h.controller._change_timer.isActive())
    gate.set()
    h.wait_for_draft("new-01")
