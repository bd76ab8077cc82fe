"""The lead view's Policies tab and Start a policy: what they show comes from the services, the
way back to full review takes a note, and no SQL runs on the GUI thread."""

from __future__ import annotations

import random

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.sampling_plan import Phase, plan_for_review_share
from reviewdesk.services.recommend import Outcome
from reviewdesk.ui.lead.jobs import LeadQuery, PolicyRequest
from reviewdesk.ui.lead.models import KEY_ROLE
from reviewdesk.ui.lead.policies import ANY_MODEL, StartPolicyDialog
from reviewdesk.ui.lead.view import POLICIES, RECOMMENDATIONS
from reviewdesk.ui.operations import OpenDesk
from tests.conftest import DeskFactory
from tests.ui.lead_helpers import NO_LIMITS, LeadEnv, lead_env, open_view, seed


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
        view = env.view
        view.tabs.setCurrentIndex(RECOMMENDATIONS)
        rows = view.recommendation_rows
        gift = next(
            r for r in range(rows.rowCount()) if rows.index(r, 0).data(KEY_ROLE)[0] == "gift"
        )
        view.recommendation_table.selectRow(gift)
        assert (
            f"{report.released} drafts of this category were released in the period"
            in view.why.text()
        )
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


def _start_dialog(
    qtbot: QtBot,
    env: LeadEnv,
    desk: ReviewDesk,
    category: str,
    evidence: str,
    models: tuple[str, ...] = (),
) -> StartPolicyDialog:
    """The view open, and Start a policy for ``category`` (AOQL 5%, f = 1/2) once previewed."""
    open_view(env)
    request = PolicyRequest(category=category, aoql=0.05, fraction=0.5)
    dialog = StartPolicyDialog(
        env.executor, OpenDesk(desk), request, evidence, env.view, models=models
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=20_000)
    return dialog


def test_start_a_policy_previews_the_plan_then_starts_it(
    qtbot: QtBot, seeded: ReviewDesk, reference: ReviewDesk
) -> None:
    with lead_env(qtbot, seeded) as env:
        dialog = _start_dialog(qtbot, env, seeded, "gift", "evidence text")
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


def test_a_recommendation_to_sample_or_remove_offers_to_start_a_policy(
    qtbot: QtBot, seeded: ReviewDesk, reference: ReviewDesk, clock: ManualClock
) -> None:
    seeded.set_session_limits(NO_LIMITS)
    seeded.submit(
        [{"id": f"n{i}", "draft": "Noted, thanks.", "category": "notes", "risk": "low"}
         for i in range(80)]
    )  # fmt: skip
    while (lease := seeded.claim("ana")) is not None:
        seeded.decide(lease, "approve", review_seconds=10)
    with lead_env(qtbot, seeded) as env:
        open_view(env)
        data = env.compute(LeadQuery(days=None))
        view = env.view
        verdicts = {r.category: r.verdict for r in data.recommendations.categories}
        assert verdicts["notes"].outcome in (Outcome.SAMPLE, Outcome.REMOVE)
        view.tabs.setCurrentIndex(RECOMMENDATIONS)
        rows = view.recommendation_rows
        enabled = {}
        for row in range(rows.rowCount()):
            view.recommendation_table.selectRow(row)
            key = rows.index(row, 0).data(KEY_ROLE)
            enabled[key[0]] = view.start_policy.isEnabled()
        assert enabled["notes"] and not enabled["refund"]
        notes_row = next(
            r for r in range(rows.rowCount()) if rows.index(r, 0).data(KEY_ROLE)[0] == "notes"
        )
        view.recommendation_table.selectRow(notes_row)
        dialog = view.open_start_policy()
        assert dialog is not None
        v = verdicts["notes"]
        rate = v.sampling_rate if v.outcome is Outcome.SAMPLE else v.spot_check_rate
        assert dialog.fraction.value() == pytest.approx(rate * 100)
        assert "notes, the whole category" in dialog.evidence.text()
        qtbot.waitUntil(lambda: dialog.preview is not None, timeout=20_000)
        assert "Recent history clears screening" in dialog.plan.text()
        dialog.from_history.setChecked(True)
        dialog.note.setText("approval 100% over 80 drafts")
        with qtbot.waitSignal(view.policies.status_changed, timeout=20_000):
            dialog.accept()
        assert view.tabs.currentWidget() is view.policies
    policy = reference.policies.show("notes")[0]
    assert policy.cells[0].phase is Phase.SAMPLING
    assert policy.history[0].note == "approval 100% over 80 drafts"


def test_start_a_policy_by_review_share_for_one_model_version(
    qtbot: QtBot, seeded: ReviewDesk, reference: ReviewDesk
) -> None:
    with lead_env(qtbot, seeded) as env:
        dialog = _start_dialog(qtbot, env, seeded, "shipping", "evidence", ("", "m1", "m2"))
        assert dialog.model.currentText() == ANY_MODEL and dialog.chosen_model() is None
        assert [dialog.model.itemText(i) for i in range(dialog.model.count())] == [
            ANY_MODEL,
            "m1",
            "m2",
        ]
        assert not dialog.max_share.isEnabled()
        dialog.model.setCurrentIndex(dialog.model.findText("m2"))
        dialog.by_share.setChecked(True)
        assert dialog.max_share.isEnabled() and not dialog.fraction.isEnabled()
        # Far too little review for a cell with a defect in five: no plan, and no start.
        dialog.max_share.setValue(1.0)
        qtbot.waitUntil(lambda: dialog.preview is None, timeout=20_000)
        qtbot.waitUntil(lambda: "No plan with AOQL" in dialog.plan.text(), timeout=20_000)
        dialog.note.setText("shipping on m2")
        assert not dialog.start_button.isEnabled()
        dialog.max_share.setValue(90.0)
        qtbot.waitUntil(lambda: dialog.preview is not None, timeout=20_000)
        preview = dialog.preview
        assert preview is not None and preview.cell.model == "m2"
        assert preview.defect_rate is not None and preview.decisions == 21
        expected = plan_for_review_share(0.05, 0.9, preview.defect_rate)
        assert preview.plan == expected
        text = dialog.plan.text()
        assert f"Sampling fraction f = {expected.fraction:.3g}" in text
        assert f"expected review share {expected.afi(preview.defect_rate):.0%}" in text
        assert f"outgoing quality {expected.aoq(preview.defect_rate):.2%}" in text
        request = dialog.request()
        assert (request.fraction, request.max_review_share, request.model) == (None, 0.9, "m2")
        assert dialog.start_button.isEnabled()
        started: list[object] = []
        dialog.start("lea", started.append)
        qtbot.waitUntil(lambda: bool(started), timeout=20_000)
    view = reference.policies.show("shipping")[0]
    assert view.policy.cell.model == "m2" and view.policy.plan == expected
