"""Fatigue-aware sessions at the desk: review time, warnings, breaks, ending early, catches.

Time is driven, never waited for: a ManualClock is the desk's clock (breaks end by it) and a
fake monotonic clock is the review clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import Decision
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.ui.review_controller import Notice, ReviewState
from reviewdesk.ui.widgets.status_page import countdown_text
from tests.ui.conftest import Harness, HarnessFactory, drafts

Key = Qt.Key
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# Limits without the checks these tests are not about.
QUIET = SessionLimits(
    reviews_per_session=None,
    minutes_per_session=None,
    max_same_category=None,
    gold_rate=0.0,
    fast_approvals_to_flag=100,
)


class FakeMonotonic:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def notices(h: Harness) -> list[Notice]:
    said: list[Notice] = []
    h.controller.notice.connect(said.append)
    return said


def approve(h: Harness) -> Decision:
    """Press A on the draft on screen; the decision as recorded."""
    with h.qtbot.waitSignal(h.controller.decision_recorded, timeout=10_000) as blocker:
        h.press(Key.Key_A)
    decision = blocker.args[0]
    assert isinstance(decision, Decision)
    return decision


# -- review time ------------------------------------------------------------------------------
def test_the_activity_watch_steps_aside_for_a_while_after_input(qtbot: QtBot) -> None:
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QLineEdit

    from reviewdesk.ui.main_window import ActivityWatch

    class Counting:
        seen = 0

        def activity(self) -> None:
            self.seen += 1

    field = QLineEdit()
    qtbot.addWidget(field)
    counting = Counting()
    watch = ActivityWatch(rest_ms=100)
    watch.start(counting)  # type: ignore[arg-type]
    QTest.keyClick(field, Key.Key_A)
    assert counting.seen == 1
    assert not watch.installed  # the next events (paints, timers) skip Python
    QTest.keyClick(field, Key.Key_B)
    assert counting.seen == 1
    qtbot.waitUntil(lambda: watch.installed, timeout=2000)
    QTest.keyClick(field, Key.Key_C)
    assert counting.seen == 2
    watch.stop()
    qtbot.wait(150)
    assert not watch.installed
    QTest.keyClick(field, Key.Key_D)
    assert counting.seen == 2
    assert field.text() == "abcd"  # the watch never eats input


def test_review_time_counts_from_shown_and_pauses(desk_harness: HarnessFactory) -> None:
    mono = FakeMonotonic()
    h = desk_harness(drafts(5), monotonic=mono, limits=QUIET)
    h.wait_for_draft("d-01")
    h.wait_idle()  # d-02 is claimed ahead now, and waits unseen

    mono.t += 30
    assert approve(h).review_seconds == pytest.approx(30, abs=0.01)

    # d-02 waited 30 s claimed ahead: only the time it was on screen counts.
    h.wait_for_draft("d-02")
    h.wait_idle()
    mono.t += 12
    assert approve(h).review_seconds == pytest.approx(12, abs=0.01)

    # Away from the keys for ten minutes: only the idle grace (60 s) counts.
    h.wait_for_draft("d-03")
    mono.t += 600
    assert approve(h).review_seconds == pytest.approx(60, abs=0.01)

    # Hidden for five minutes in the middle: not counted.
    h.wait_for_draft("d-04")
    mono.t += 5
    h.window.hide()
    assert not h.controller.visible
    mono.t += 300
    h.window.show()
    h.qtbot.waitExposed(h.window)
    # A window manager makes the app active again (applicationStateChanged); the offscreen
    # platform does not, so do its part.
    h.window._visibility_changed()
    if not h.controller.visible:
        h.controller.set_visible(True)
    mono.t += 3
    with h.qtbot.waitSignal(h.controller.decision_recorded) as blocker:
        assert h.controller.approve()
    assert blocker.args[0].review_seconds == pytest.approx(8, abs=0.01)


# -- warnings, breaks, summary ----------------------------------------------------------------
def test_warning_once_then_break_then_drafts_again(
    desk_harness: HarnessFactory, db_url: str
) -> None:
    clock = ManualClock(START)
    mono = FakeMonotonic()
    limits = QUIET.with_changes(reviews_per_session=5, break_minutes=5.0)
    h = desk_harness(drafts(8), url=db_url, clock=clock, monotonic=mono, limits=limits)
    said = notices(h)
    for n in range(1, 6):
        h.wait_for_draft(f"d-{n:02d}")
        h.wait_idle()
        mono.t += 20
        clock.advance(20)
        approve(h)
        h.wait_idle()

    # The break: after five reviews, the page says so and counts down.
    h.wait_for_state(ReviewState.BREAK)
    page = h.window.status_page
    assert h.window.pages.currentWidget() is page
    assert page.title.text() == "Time for a break"
    assert page.countdown.isVisible()
    assert page.counting_down
    h.qtbot.waitUntil(lambda: page.summary_view.summary is not None)
    summary = page.summary_view.summary
    assert summary is not None
    assert summary.by_label == {"approved": 5}
    assert page.summary_view.reviews.value.text() == "5 drafts"
    assert "5 approved" in page.summary_view.reviews.detail.text()
    assert page.summary_view.median.value.text() == "20 s"
    assert page.summary_view.gold.isHidden()  # no known-answer drafts this session

    # The 80% warning came once (when the fourth draft was handed out), gently, and in the
    # figures of the status bar: three reviews done.
    warnings = [n for n in said if "a break is coming up" in n.text]
    assert [(n.level, n.text) for n in warnings] == [
        ("info", "3 of 5 reviews in this session — a break is coming up.")
    ]
    assert not [n for n in said if n.level == "error"]

    # No way around the break: A does nothing, and nothing is claimed.
    assert not h.window.shortcuts.actions["approve"].isEnabled()
    assert not h.window.shortcuts.actions["end_session"].isEnabled()
    h.press(Key.Key_A)
    h.window.refresh()
    assert not h.controller.resume()
    h.wait_idle()
    assert h.controller.state is ReviewState.BREAK
    assert h.controller.current is None
    assert h.controller.decided_count == 5

    # The countdown follows the desk's clock, each second.
    info = h.controller.on_break
    assert info is not None and info.reason == "on_break" and info.until is not None
    until = info.until
    assert 0 < (until - clock.now()).total_seconds() <= 5 * 60
    clock.advance(60)
    expected = countdown_text((until - clock.now()).total_seconds())
    h.qtbot.waitUntil(lambda: page.countdown.text() == expected, timeout=3_000)

    # The break ends: the desk claims again on its own, and the page's timer stops.
    clock.set(until)
    h.wait_for_draft("d-06", timeout=5_000)
    h.qtbot.waitUntil(lambda: not page.counting_down)
    approve(h)
    h.wait_for_draft("d-07")


def test_session_progress_shows_all_along_and_agrees_with_the_warning(
    desk_harness: HarnessFactory, db_url: str
) -> None:
    """Reviews done of the cap and the time left are in the status bar from the first draft
    on, and the limit warning says the same figure the status bar shows at that moment."""
    mono = FakeMonotonic()
    limits = QUIET.with_changes(reviews_per_session=5, minutes_per_session=10.0, warn_at=0.8)
    h = desk_harness(drafts(8), url=db_url, monotonic=mono, limits=limits)
    h.wait_idle()
    assert h.window.status_text["session"] == "Session: 0 of 5 reviews · 10 min left"
    bar_at_warning: list[tuple[str, str]] = []
    h.controller.notice.connect(
        lambda n: bar_at_warning.append((n.text, h.window.status_text["session"]))
    )
    for n in range(1, 5):
        h.wait_for_draft(f"d-{n:02d}")
        mono.t += 45  # counted: 45 s each (under the idle grace)
        approve(h)
        h.wait_idle()
        left = 10 - 0.75 * n
        assert h.window.status_text["session"] == (
            f"Session: {n} of 5 reviews · {int(-(-left // 1))} min left"
        )
    warned = [(text, bar) for text, bar in bar_at_warning if "break is coming" in text]
    assert len(warned) == 1
    text, bar = warned[0]
    reviews = bar.removeprefix("Session: ").split(" · ")[0]
    assert text.startswith(reviews + " in this session")


def test_countdown_text() -> None:
    assert countdown_text(299.2) == "05:00"
    assert countdown_text(61) == "01:01"
    assert countdown_text(0) == "00:00"
    assert countdown_text(-5) == "00:00"
    assert countdown_text(3 * 3600 + 5) == "3:00:05"


def test_end_session_gives_drafts_back_and_shows_summary(
    desk_harness: HarnessFactory, db_url: str
) -> None:
    clock = ManualClock(START)
    limits = QUIET.with_changes(break_minutes=2.0)
    h = desk_harness(drafts(4), url=db_url, clock=clock, limits=limits)
    h.wait_for_draft("d-01")
    approve(h)
    h.wait_for_draft("d-02")
    h.wait_idle()
    assert len(h.controller.held_leases) == 2  # on screen and claimed ahead

    action = h.window.shortcuts.actions["end_session"]
    assert action.shortcut().toString() == "Ctrl+Shift+E"
    h.press(Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    h.qtbot.waitUntil(lambda: h.window.end_session_box is not None)
    box = h.window.end_session_box
    assert box is not None
    box.button(QMessageBox.StandardButton.Yes).click()

    h.wait_for_state(ReviewState.BREAK)
    page = h.window.status_page
    h.qtbot.waitUntil(lambda: page.summary_view.summary is not None)
    summary = page.summary_view.summary
    assert summary is not None and summary.by_label == {"approved": 1}
    assert page.title.text() == "Session ended: time for a break"
    assert "You ended the session" in page.text.text()
    assert page.countdown.text() == "02:00"
    h.wait_idle()
    verify = h.verify()
    try:
        counts = verify.counts()
        assert counts.leased == 0  # both drafts held went back
        assert counts.pending == 3
    finally:
        verify.close()

    clock.advance(121)
    h.wait_for_draft("d-02", timeout=5_000)


def test_end_session_cancelled_keeps_reviewing(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(3), limits=QUIET)
    h.wait_for_draft("d-01")
    h.window.end_session()
    box = h.window.end_session_box
    assert box is not None
    box.button(QMessageBox.StandardButton.Cancel).click()
    h.qtbot.waitUntil(lambda: h.window.end_session_box is None)
    assert h.controller.state is ReviewState.SHOWING
    approve(h)
    h.wait_for_draft("d-02")


# -- catches ----------------------------------------------------------------------------------
def _gold_first_draft(desk: ReviewDesk) -> None:
    """A lead decided d-01 and marked it a known-answer check that must be stopped."""
    lease = desk.claim("lead")
    assert lease is not None and lease.draft.id == "d-01"
    desk.decide(lease, "reject", reason=desk.reject_reasons()[0], review_seconds=30)
    desk.mark_gold("d-01", "rejected", by="lead")


def test_a_caught_gold_draft_is_celebrated(desk_harness: HarnessFactory, db_url: str) -> None:
    limits = QUIET.with_changes(gold_rate=0.5)
    h = desk_harness(
        drafts(10),
        url=db_url,
        limits=limits,
        rng=random.Random(7),
        seed=_gold_first_draft,
    )
    said = notices(h)
    reason = h.controller.info.reject_reasons[0]
    for _ in range(9):
        h.wait_idle()
        h.qtbot.waitUntil(lambda: h.controller.state is ReviewState.SHOWING)
        current = h.controller.current
        assert current is not None
        if current.lease.draft.id == "d-01":  # the known-answer draft: stop it
            with h.qtbot.waitSignal(h.controller.decision_recorded) as blocker:
                h.controller.reject(current.lease.lease_id, reason, None)
            assert blocker.args[0].caught
            break
        approve(h)
    else:
        pytest.fail("the gold draft was never served")
    h.qtbot.waitUntil(lambda: any("Good catch" in n.text for n in said))
    assert h.window.notice_bar.level == "info"
    assert "known-answer check" in h.window.notice_bar.text.text()


def test_a_confirmed_stop_is_celebrated_once(desk_harness: HarnessFactory) -> None:
    h = desk_harness(drafts(4), limits=QUIET)
    said = notices(h)
    h.wait_for_draft("d-01")
    reason = h.controller.info.reject_reasons[0]
    current = h.controller.current
    assert current is not None
    with h.qtbot.waitSignal(h.controller.decision_recorded):
        h.controller.reject(current.lease.lease_id, reason, None)
    h.wait_for_draft("d-02")
    h.wait_idle()

    verify = h.verify()  # a lead, on another desk
    try:
        verify.mark_gold("d-01", "rejected", by="lead")
    finally:
        verify.close()
    h.controller.refresh()  # what the 30-second refresh does
    h.qtbot.waitUntil(lambda: any("confirmed by a lead" in n.text for n in said))
    h.controller.refresh()
    h.wait_idle()
    assert len([n for n in said if "confirmed by a lead" in n.text]) == 1
    assert "d-01" in h.window.notice_bar.text.text()


def test_the_status_bar_says_a_break_is_no_session() -> None:
    from reviewdesk.core.sessions import Blocker, SessionStatus
    from reviewdesk.ui.review_controller import SessionProgress

    on_break = SessionStatus("ana", None, Blocker.ON_BREAK, START)
    assert SessionProgress.of(on_break).text == "Session: on a break"
    none_open = SessionStatus("ana", None, None, None)
    assert SessionProgress.of(none_open).text == "Session: starts with the next draft"
    assert SessionProgress(0, 40, 0.99).text == "Session: 0 of 40 reviews · 1 min left"
    assert SessionProgress(1, None, None).text == "Session: 1 review"
