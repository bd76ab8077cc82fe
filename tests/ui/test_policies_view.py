"""The lead view's Policies tab and Start a policy: what they show comes from the services, the
way back to full review takes a note, and no SQL runs on the GUI thread."""

from __future__ import annotations

import random

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.sampling_plan import Phase
from reviewdesk.ui.lead.jobs import PolicyRequest
from reviewdesk.ui.lead.policies import StartPolicyDialog
from reviewdesk.ui.lead.view import POLICIES
from reviewdesk.ui.operations import OpenDesk
from tests.conftest import DeskFactory
from tests.ui.lead_helpers import NO_LIMITS, lead_env, open_view, seed


@pytest.fixture
def seeded(make_desk: DeskFactory, clock: ManualClock) -> ReviewDesk:
    desk = make_desk(clock=clock, rng=random.Random(3))
    seed(desk, clock)
    return desk


@pytest.fixture
def reference(seeded: ReviewDesk, make_desk: DeskFactory, clock: ManualClock) -> ReviewDesk:
    return make_desk(clock=clock)


def test_policies_tab_shows_each_cell_and_goes_back_to_full_review(
    qtbot: QtBot, seeded: ReviewDesk, reference: ReviewDesk
) -> None:
    seeded.set_session_limits(NO_LIMITS)
    seeded.submit([{"id": f"h{i}", "draft": "Thanks!", "category": "gift"} for i in range(5)])
    for _ in range(5):
        lease = seeded.claim("ana")
        assert lease is not None
        seeded.decide(lease, "approve", review_seconds=10)
    # With AOQL 5% and f = 1/2, i = 5: the last five gift decisions clear it.
    seeded.policies.set(
        "gift", aoql=0.05, fraction=0.5, note="high approval", by="lea", start_from_history=True
    )
    report = seeded.submit(
        [{"id": f"g{i}", "draft": "Thanks!", "category": "gift"} for i in range(20)]
    )
    assert report.released > 0
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        # The recommendations say how many drafts were released (not in their figures).
        assert env.view.data is not None
        assert env.view.data.released == {"gift": report.released}
        tab = env.view.policies
        with qtbot.waitSignal(tab.status_changed, timeout=20_000):
            env.view.tabs.setCurrentWidget(tab)
        assert tab.table.rowCount() == 1
        cells = [tab.table.item(0, c).text() for c in range(tab.table.columnCount())]
        assert cells[0] == "gift" and cells[3] == "sampling"
        assert cells[4] == str(report.released) and cells[5] == str(20 - report.released)
        assert "policy created by lea: high approval" in tab.history.toPlainText()
        asked: list[str] = []
        tab.ask_note = lambda what: asked.append(what) or "the AI was updated"
        with qtbot.waitSignal(tab.changed, timeout=20_000):
            tab.back_to_full_review(selected=True)
        assert asked and "gift" in asked[0]
        qtbot.waitUntil(lambda: tab.table.item(0, 3).text() == "screening 0 of 5 clear")
        # No note, no change.
        tab.ask_note = lambda what: None
        tab.back_to_full_review(selected=False)
    state = reference.policies.show("gift")[0]
    assert state.cells[0].phase is Phase.SCREENING
    assert [e.kind for e in state.history][:2] == ["reset", "created"]
    assert state.history[0].note == "the AI was updated"


def test_start_a_policy_previews_the_plan_then_starts_it(
    qtbot: QtBot, seeded: ReviewDesk, reference: ReviewDesk
) -> None:
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        session = OpenDesk(seeded)
        request = PolicyRequest(category="gift", aoql=0.05, fraction=0.5)
        dialog = StartPolicyDialog(env.executor, session, request, "evidence text", env.view)
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: dialog.preview is not None, timeout=20_000)
        assert "Clearance number i = 5" in dialog.plan.text()
        assert "evidence text" in dialog.evidence.text()
        assert not dialog.start_button.isEnabled()  # no note yet
        dialog.note.setText("approval 90%")
        assert dialog.start_button.isEnabled()
        started: list[object] = []
        dialog.start("lea", started.append)
        qtbot.waitUntil(lambda: bool(started), timeout=20_000)
    view = reference.policies.show("gift")[0]
    assert view.policy.plan.clearance == 5 and view.history[0].note == "approval 90%"


def test_a_drift_alarm_is_shown_to_the_lead(qtbot: QtBot, seeded: ReviewDesk) -> None:
    seeded.policies.set("gift", aoql=0.05, fraction=0.5, note="n", by="lea")
    seeded.submit([{"id": "g", "draft": "Thanks!", "category": "gift"}])
    with seeded.engines.write.begin() as conn:
        conn.execute(text("UPDATE policy_state SET phase = 'held'"))
    with lead_env(qtbot, seeded) as env:
        notices: list[tuple[str, str]] = []
        env.view.notice.connect(lambda level, message: notices.append((level, message)))
        open_view(env)
        assert env.view.tabs.tabText(POLICIES) == "Policies (1 alarm)"
        assert notices and notices[-1][0] == "warning" and "gift" in notices[-1][1]
