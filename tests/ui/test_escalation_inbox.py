"""The escalation inbox of the lead view: by due time, overdue highlighted, and a lead's
resolution reaching the consumer's results. Real database (SQLite, and PostgreSQL where the
suite has one), manual clock, no SQL on the GUI thread."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QImage
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.domain import Label
from reviewdesk.services.escalations import EscalationInbox, Resolution
from reviewdesk.ui.lead.inbox import EscalationInboxView
from reviewdesk.ui.lead.models import KEY_ROLE, TEXT_ROLE, TONE_ROLE, EscalationModel
from reviewdesk.ui.lead.view import ESCALATIONS
from tests.conftest import DeskFactory
from tests.ui.lead_helpers import NO_LIMITS, LeadEnv, escalate, lead_env, open_view


@pytest.fixture
def desks(make_desk: DeskFactory, clock: ManualClock) -> tuple[ReviewDesk, ReviewDesk]:
    """The desk the view uses, with three escalations (the critical one overdue), and another
    on the same database for the test's own reading."""
    desk = make_desk(clock=clock)
    escalate(desk, clock, "low-1", "low")
    clock.advance(600)
    escalate(desk, clock, "medium-1", "medium")
    clock.advance(600)
    escalate(desk, clock, "critical-1", "critical", category="invoice")
    clock.advance(16 * 60)  # the critical one was due after 15 minutes
    return desk, make_desk(clock=clock)


def show_inbox(env: LeadEnv) -> EscalationInboxView:
    open_view(env)
    inbox = env.view.inbox
    with env.qtbot.waitSignal(inbox.loaded, timeout=20_000):
        env.view.tabs.setCurrentWidget(inbox)
    return inbox


def _cursors(model: EscalationModel) -> list[int]:
    return [model.index(r, 0).data(KEY_ROLE) for r in range(model.rowCount())]


def test_escalations_by_due_time_with_overdue_ones_highlighted(
    qtbot: QtBot, desks: tuple[ReviewDesk, ReviewDesk]
) -> None:
    desk, reference = desks
    expected = EscalationInbox.for_desk(reference).list()
    with lead_env(qtbot, desk) as env:
        inbox = show_inbox(env)
        model = inbox.model
        assert _cursors(model) == [e.cursor for e in expected]
        assert [model.index(r, 0).data(TEXT_ROLE) for r in range(3)] == [
            "Critical",
            "Medium",
            "Low",
        ]
        critical = 0
        assert model.index(critical, EscalationModel.STATE).data(TEXT_ROLE) == "overdue"
        assert "overdue by 1 min" in model.index(critical, EscalationModel.DUE).data(TEXT_ROLE)
        assert model.index(1, EscalationModel.DUE).data(TEXT_ROLE).endswith("in 3 h 34 min")
        # Every cell of an overdue row is tinted; the others are not.
        for column in range(model.columnCount()):
            assert model.index(critical, column).data(TONE_ROLE) == "overdue"
            assert model.index(1, column).data(TONE_ROLE) != "overdue"
        delegate = inbox.table.itemDelegate()
        tint: QColor = delegate.tones["overdue-bg"]  # type: ignore[attr-defined]
        assert tint.alpha() > 0
        assert inbox.summary.text() == "3 open escalations, 1 overdue"
        assert env.view.tabs.tabText(ESCALATIONS) == "Escalations (3, 1 overdue)"
        # The most urgent is chosen, shown in full, with the resolution form.
        panel = inbox.panel
        assert panel.escalation is not None and panel.escalation.id == "critical-1"
        assert panel.draft.toPlainText() == "Draft critical-1: your refund is on its way."
        assert panel.reviewer_note.text() == "Check critical-1."
        assert panel.form.isVisible() and not panel.resolve.isEnabled()


def test_a_resolution_reaches_the_consumers_results(
    qtbot: QtBot, desks: tuple[ReviewDesk, ReviewDesk]
) -> None:
    desk, reference = desks
    reference.ack(reference.results(unsettled=True))
    with lead_env(qtbot, desk, lead="lea") as env:
        inbox = show_inbox(env)
        panel = inbox.panel
        cursor = panel.escalation.cursor if panel.escalation else None
        panel.choose(Resolution.SEND_EDITED)
        assert panel.edited.isVisible()
        assert panel.problem() == "The text is the draft unchanged: choose Send as is, or edit it."
        qtbot.keyClicks(panel.edited, " Amount checked: 20 EUR.")
        assert panel.problem() == "A note is required: say why."
        qtbot.keyClicks(panel.note, "Amount was wrong.")
        assert panel.resolve.isEnabled()
        with qtbot.waitSignal(inbox.resolved, timeout=20_000) as resolved:
            qtbot.mouseClick(panel.resolve, Qt.MouseButton.LeftButton)
        assert resolved.args[0].cursor == cursor
        qtbot.waitUntil(lambda: not inbox.busy and cursor not in _cursors(inbox.model))
        assert inbox.summary.text() == "2 open escalations"
        # The consumer gets the result again, now resolved, with the lead's text to send.
        results = reference.results(unsettled=True)
        assert [r.cursor for r in results] == [cursor]
        result = results[0]
        assert result.label is Label.ESCALATED and result.resolution == "send_edited"
        assert (
            result.final == "Draft critical-1: your refund is on its way. Amount checked: 20 EUR."
        )
        assert result.resolution_note == "Amount was wrong." and result.resolved_by == "lea"
        # Resolved ones are listed on request, with what was done.
        with qtbot.waitSignal(inbox.loaded, timeout=20_000):
            inbox.show_resolved.setChecked(True)
        assert _cursors(inbox.model)[-1] == cursor
        inbox.select(cursor)
        assert not panel.form.isVisible()
        assert panel.outcome.text().startswith("Resolved after its due time: send edited, by lea")
        # A resolution changes the figures too: the overview computes again.
        qtbot.waitUntil(lambda: not env.view.busy, timeout=20_000)


@pytest.mark.parametrize("outcome", [Resolution.SEND_AS_IS, Resolution.REJECT, Resolution.DISMISS])
def test_every_resolution_needs_only_a_note(
    qtbot: QtBot, desks: tuple[ReviewDesk, ReviewDesk], outcome: Resolution
) -> None:
    desk, reference = desks
    with lead_env(qtbot, desk) as env:
        inbox = show_inbox(env)
        panel = inbox.panel
        panel.choose(outcome)
        assert not panel.edited.isVisible() and not panel.resolve.isEnabled()
        qtbot.keyClicks(panel.note, "Handled.")
        request = panel.request()
        assert request is not None and request.outcome is outcome and request.text is None
        with qtbot.waitSignal(inbox.resolved, timeout=20_000):
            panel.resolve.click()
        qtbot.waitUntil(lambda: not inbox.busy)
    resolved = EscalationInbox.for_desk(reference).get(request.cursor)
    assert resolved is not None and resolved.resolution is outcome


def test_busy_while_resolving_and_a_refusal_is_said(
    qtbot: QtBot, desks: tuple[ReviewDesk, ReviewDesk], clock: ManualClock
) -> None:
    desk, reference = desks
    with lead_env(qtbot, desk) as env:
        inbox = show_inbox(env)
        panel = inbox.panel
        assert panel.escalation is not None
        cursor = panel.escalation.cursor
        # Someone else resolves it first.
        clock.advance(timedelta(minutes=1).total_seconds())
        EscalationInbox.for_desk(reference).resolve(cursor, "dismiss", note="Done.", lead="max")
        panel.choose(Resolution.REJECT)
        qtbot.keyClicks(panel.note, "Wrong.")
        notices: list[tuple[str, str]] = []
        env.view.notice.connect(lambda level, text: notices.append((level, text)))
        with env.worker_held():
            panel.resolve.click()
            assert inbox.busy and not panel.form.isEnabled()
            assert panel.hint.text() == "Resolving…"
        qtbot.waitUntil(lambda: not inbox.busy and bool(notices), timeout=20_000)
        level, text = notices[0]
        assert level == "error" and "already resolved" in text
        qtbot.waitUntil(lambda: cursor not in _cursors(inbox.model), timeout=20_000)
        assert panel.form.isEnabled()


@pytest.mark.slow
def test_the_inbox_screenshot_is_generated(tmp_path: Path) -> None:
    """``REVIEWDESK_SCREENSHOT_VIEW=inbox`` (docs/screenshots/README.md) still works: it seeds
    a team's decisions, opens the lead view and its inbox, and saves the window."""
    shot = tmp_path / "inbox.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "REVIEWDESK_SCREENSHOT_VIEW": "inbox",
        "REVIEWDESK_HOME": str(tmp_path / "home"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "reviewdesk", "gui", "--reviewer", "lea", "--screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"reviewdesk: saved {shot} (inbox)" in done.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) >= (1280, 800)
    # The lead role was for the shot only: no settings file says so.
    settings = list((tmp_path / "home").rglob("reviewdesk.ini"))
    assert all("leadRole" not in p.read_text() for p in settings)


class FakeMonotonic:
    """The panel's monotonic clock, moved by the test (the time left counts from it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _threaded(desk: ReviewDesk, clock: ManualClock) -> None:
    """An earlier answer on a customer's thread, then a high escalation of the next draft on it,
    with the customer's input and the retrieved context."""
    desk.set_session_limits(NO_LIMITS)
    desk.submit(
        [{"id": "earlier-1", "draft": "We have received your return.", "category": "refund",
          "thread": "customer-311", "input": "Did you get my parcel back?"}]
    )  # fmt: skip
    lease = desk.claim("bob")
    assert lease is not None
    desk.decide(lease, "approve")
    clock.advance(600)
    desk.submit(
        [{"id": "asked-2", "draft": "Your refund of 20 EUR was issued on 3 May.",
          "category": "refund", "thread": "customer-311", "input": "Where is my refund?",
          "context": {"retrieved": [{"title": "Refund policy", "text": "Refunds in 5 days."}]}}]
    )  # fmt: skip
    lease = desk.claim("ana")
    assert lease is not None and lease.draft.id == "asked-2"
    desk.decide(lease, "escalate", severity="high", note="Is 20 EUR right?")
    clock.advance(60)


def test_the_chosen_escalation_shows_what_the_reviewer_saw_and_its_time_left(
    qtbot: QtBot, make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock=clock)
    _threaded(desk, clock)
    with lead_env(qtbot, desk) as env:
        inbox = env.view.inbox
        panel = inbox.panel
        ticks = FakeMonotonic()
        panel.monotonic = ticks
        show_inbox(env)
        assert panel.escalation is not None and panel.escalation.id == "asked-2"
        # Everything the reviewer saw: the draft, the note and severity, and (read on the
        # worker) the customer's input, the retrieved context and the thread's earlier answer.
        assert panel.draft.toPlainText() == "Your refund of 20 EUR was issued on 3 May."
        assert panel.reviewer_note.text() == "Is 20 EUR right?"
        assert "high" in panel.note_title.text()
        qtbot.waitUntil(lambda: "Where is my refund?" in panel.context.toPlainText())
        context = panel.context.toPlainText()
        assert "Refund policy" in context and "Refunds in 5 days." in context
        history = panel.history.toPlainText()
        assert "earlier-1" in history and "We have received your return." in history
        assert panel.sections.isVisible()
        # The time left against the response time (high: 1 hour), ticking each second from the
        # clock the inbox was read by, with no database read per tick.
        assert panel.ticker.isActive() and panel.ticker.interval() == 1000
        assert panel.time_left.text() == "59 min 00 s left of 1 h"
        statements = env.spy.elsewhere
        ticks.now += 65
        panel.ticker.timeout.emit()
        assert panel.time_left.text() == "57 min 55 s left of 1 h"
        ticks.now += 3600
        panel.ticker.timeout.emit()
        assert panel.time_left.text() == "Overdue by 2 min 05 s (1 h response time)"
        assert env.spy.elsewhere == statements
        # Away from the inbox, it stops ticking.
        env.view.tabs.setCurrentIndex(0)
        assert not panel.ticker.isActive()


def test_a_lead_resolves_from_the_keyboard(
    qtbot: QtBot, desks: tuple[ReviewDesk, ReviewDesk]
) -> None:
    from reviewdesk.ui.lead.inbox import RESOLVE_KEYS, key_label

    desk, reference = desks
    with lead_env(qtbot, desk) as env:
        inbox = show_inbox(env)
        panel = inbox.panel
        # The keys are data, and each is shown on its button.
        for spec in RESOLVE_KEYS:
            shown = panel.resolve if spec.resolution is None else panel.options[spec.resolution]
            assert f"({key_label(spec.key)})" in shown.text()
            assert inbox.findChild(QAction, f"inbox_{spec.id}") is not None
        assert [k.key for k in RESOLVE_KEYS] == ["A", "E", "R", "D", "Ctrl+Return"]
        # The inbox opens with the focus on its list: a key chooses, the note takes the typing.
        assert inbox.table.hasFocus() or inbox.isAncestorOf(QApplication.focusWidget())
        assert panel.escalation is not None
        cursor = panel.escalation.cursor
        qtbot.keyClick(inbox.table, Qt.Key.Key_R)
        assert panel.resolution is Resolution.REJECT and panel.note.hasFocus()
        # Letters typed into the note are text, not keys.
        qtbot.keyClicks(panel.note, "Wrong amount; asked billing.")
        assert panel.resolution is Resolution.REJECT
        assert panel.note.toPlainText() == "Wrong amount; asked billing."
        with qtbot.waitSignal(inbox.resolved, timeout=20_000) as resolved:
            qtbot.keyClick(panel.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert resolved.args[0].cursor == cursor
        qtbot.waitUntil(lambda: not inbox.busy and cursor not in _cursors(inbox.model))
        # The focus is back on the list, and the next escalation chosen. Send edited goes
        # straight into the text to send.
        assert inbox.table.hasFocus() and panel.escalation is not None
        assert panel.escalation.cursor != cursor
        qtbot.keyClick(inbox.table, Qt.Key.Key_E)
        assert panel.resolution is Resolution.SEND_EDITED and panel.edited.hasFocus()
    done = EscalationInbox.for_desk(reference).get(cursor)
    assert done is not None and done.resolution is Resolution.REJECT
    assert done.resolution_note == "Wrong amount; asked billing."


def test_the_last_resolution_leaves_an_empty_state(
    qtbot: QtBot, make_desk: DeskFactory, clock: ManualClock
) -> None:
    desk = make_desk(clock=clock)
    escalate(desk, clock, "only-1", "medium")
    with lead_env(qtbot, desk) as env:
        inbox = show_inbox(env)
        panel = inbox.panel
        panel.choose(Resolution.DISMISS)
        qtbot.keyClicks(panel.note, "Handled by phone.")
        with qtbot.waitSignal(inbox.resolved, timeout=20_000):
            panel.resolve.click()
        qtbot.waitUntil(lambda: not inbox.busy and inbox.model.rowCount() == 0)
        assert inbox.summary.text() == "No open escalation"
        # One message, its lines together in the middle: no labels floating apart.
        labels = sorted(
            (
                label.mapTo(inbox, label.rect().topLeft()).y(),
                label.mapTo(inbox, label.rect().bottomLeft()).y(),
                label.text(),
            )
            for label in inbox.findChildren(QLabel)
            if label.isVisible() and label.text() and label is not inbox.summary
        )
        line = inbox.fontMetrics().height()
        assert len(labels) >= 2
        for (_top, bottom, _text), (top, _bottom, _next) in itertools.pairwise(labels):
            assert top - bottom <= 2 * line, labels
        assert not panel.isVisible()
        assert labels[0][0] > inbox.height() // 4  # centred, not stuck to the top
        assert "Nothing waits for a lead." in " ".join(text for *_pos, text in labels)
        # Whole: each label as tall as its text needs at its width.
        for label in inbox.findChildren(QLabel):
            if label.isVisible() and label.wordWrap() and label.text():
                assert label.height() >= label.heightForWidth(label.width()), label.text()
