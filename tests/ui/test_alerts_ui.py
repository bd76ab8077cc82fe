"""Alerts in the app: a lead sees them with their evidence and acknowledges them; a critical
one reaches the desktop while the window is in the background; reviewers are told of those
that concern them."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import QWidget

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.alerts import AlertService
from reviewdesk.ui.review_controller import ReviewState
from tests.ui.conftest import HarnessFactory

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _escalate(desk: ReviewDesk, draft_id: str) -> None:
    desk.submit([{"id": draft_id, "draft": "We refund twice.", "category": "billing"}])
    lease = desk.claim("ben")
    assert lease is not None and lease.draft.id == draft_id
    desk.decide(lease, "escalate", severity="critical", note="A refund we never give.")


def test_a_lead_sees_an_alert_with_its_evidence_acknowledges_it_and_is_told_on_the_desktop(
    desk_harness: HarnessFactory,
) -> None:
    clock = ManualClock(START)

    def seed(desk: ReviewDesk) -> None:
        desk.set_session_limits(SessionLimits.off())
        _escalate(desk, "d-1")
        clock.advance(16 * 60)  # past its 15 minutes

    h = desk_harness(clock=clock, seed=seed, team_demo=True, wait=ReviewState.EMPTY)
    view = h.window.lead_view.alerts
    h.qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10_000)
    alert = view.current()
    assert alert is not None and alert.rule == "escalation_overdue" and alert.subject == "d-1"
    assert "critical" in view.title.text().lower()
    assert "Due at: " in view.evidence.toPlainText()
    view.ack_button.click()
    h.qtbot.waitUntil(
        lambda: (c := view.current()) is not None and c.acknowledged_by == "ana", timeout=10_000
    )
    assert AlertService(h.verify()).open_alerts()[0].acknowledged_by == "ana"
    assert h.window.desktop_notices == []  # seen in the lead view: nothing on the desktop

    # Another window in front: a new critical alert goes to the desktop.
    other = QWidget()
    other.show()
    other.activateWindow()
    h.qtbot.waitUntil(lambda: not h.window.isActiveWindow())
    with ReviewDesk.open(h.url, clock=clock) as desk:
        _escalate(desk, "d-2")
    clock.advance(16 * 60)
    assert h.desk_app.alerts is not None
    h.desk_app.alerts.refresh()
    h.qtbot.waitUntil(lambda: len(h.window.desktop_notices) == 1, timeout=10_000)
    title, message = h.window.desktop_notices[0]
    assert "critical" in title and "d-2" in message
    other.close()


def test_a_reviewer_is_told_of_an_alert_that_concerns_reviewers(
    desk_harness: HarnessFactory,
) -> None:
    # On the embedded database the one person is reviewer and lead: the desk also evaluates.
    h = desk_harness(wait=ReviewState.EMPTY)
    assert h.desk_app.alerts is not None
    shown: list[str] = []
    h.window.notice_bar.show_notice = lambda level, text, topic="": shown.append(text)  # type: ignore[method-assign]
    with h.verify() as desk:
        desk.submit(
            [
                {"id": f"d-{i}", "draft": "Hello.", "category": "billing", "confidence": 0.4}
                for i in range(12)
            ]
        )
        AlertService(desk).evaluate()  # e.g. by the lead's desk or the watch
    h.qtbot.waitUntil(lambda: any("confidence" in t for t in shown), timeout=10_000)
