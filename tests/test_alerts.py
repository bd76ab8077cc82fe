"""Alert rules on constructed histories: each raised once while its condition holds,
acknowledged by a lead, cleared when the condition ends; the thresholds a team stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.core.alerts import AlertSettings, Rule
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.control_limits import control_check
from reviewdesk.core.errors import ConfigurationError, InvalidArgument
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.alerts import AlertService
from reviewdesk.services.escalations import EscalationInbox

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def desk(db_url: str, clock: ManualClock) -> Iterator[ReviewDesk]:
    with ReviewDesk.open(db_url, upgrade=True, clock=clock) as desk:
        desk.set_session_limits(SessionLimits.off())
        yield desk


_serial = iter(range(1_000_000))


def submit(desk: ReviewDesk, n: int, *, category: str = "billing", **fields: object) -> None:
    desk.submit(
        [
            {"id": f"d-{next(_serial)}", "draft": "Thanks for writing.", "category": category}
            | fields
            for _ in range(n)
        ]
    )


def decide(desk: ReviewDesk, verdicts: list[str], *, category: str = "billing") -> None:
    """Submit and decide one draft per verdict, at the clock's time."""
    submit(desk, len(verdicts), category=category)
    for verdict in verdicts:
        lease = desk.claim("ana")
        assert lease is not None
        extra: dict[str, str] = {}
        if verdict == "reject":
            extra = {"reason": desk.reject_reasons()[0]}
        elif verdict == "escalate":
            extra = {"severity": "low"}
        desk.decide(lease, verdict, **extra)


def rules(alerts: AlertService) -> set[tuple[str, str]]:
    return {(a.rule, a.subject) for a in alerts.open_alerts()}


def test_the_control_limit_holds_chance_and_flags_a_shift() -> None:
    usual = control_check(2, 25, 20, 1000)  # 8% of 25 against 2%: within chance
    assert usual is not None and not usual.above
    shifted = control_check(10, 25, 20, 1000)  # 40%
    assert shifted is not None and shifted.above
    assert control_check(3, 0, 1, 10) is None  # no evidence either way


def test_a_defect_rate_beyond_its_control_limit_is_raised_once_acknowledged_and_cleared(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    alerts = AlertService(desk)
    clock.set(START - timedelta(days=2))
    decide(desk, ["approve"] * 95 + ["reject"] * 5)  # the usual: 5% defects
    clock.set(START)
    decide(desk, ["approve"] * 14 + ["reject"] * 8 + ["escalate"] * 3)  # 44% in 15 minutes
    first = alerts.evaluate()
    assert {(a.rule, a.subject) for a in first.raised} >= {
        (Rule.DEFECT_RATE.value, "billing"),
        (Rule.APPROVAL_RATE.value, "billing"),
    }
    defect = next(a for a in first.raised if a.rule == Rule.DEFECT_RATE.value)
    assert defect.figures["count"] == 11 and defect.figures["decisions"] == 25
    assert defect.figures["rate"] > defect.figures["upper_limit"]
    assert alerts.evaluate().raised == []  # open: not raised twice
    acked = alerts.acknowledge(defect.id, by="lea")
    assert acked.acknowledged_by == "lea" and acked.state == "acknowledged"
    with pytest.raises(InvalidArgument, match="acknowledged already, by lea"):
        alerts.acknowledge(defect.id, by="max")
    with pytest.raises(InvalidArgument, match="no alert 999"):
        alerts.acknowledge(999, by="lea")
    clock.advance(16 * 60)  # the bad window has passed
    later = alerts.evaluate()
    assert defect.id in later.cleared
    assert (Rule.DEFECT_RATE.value, "billing") not in rules(alerts)


def test_a_category_as_usual_raises_nothing(desk: ReviewDesk, clock: ManualClock) -> None:
    alerts = AlertService(desk)
    clock.set(START - timedelta(days=2))
    decide(desk, ["approve"] * 90 + ["reject"] * 10)
    clock.set(START)
    decide(desk, ["approve"] * 22 + ["reject"] * 3)
    assert alerts.evaluate().raised == []


def test_low_model_confidence_is_raised_and_cleared(desk: ReviewDesk, clock: ManualClock) -> None:
    alerts = AlertService(desk)
    submit(desk, 12, confidence=0.55)
    raised = alerts.evaluate().raised
    assert [(a.rule, a.figures["drafts"]) for a in raised] == [(Rule.LOW_CONFIDENCE.value, 12)]
    clock.advance(61 * 60)
    submit(desk, 12, confidence=0.9)
    evaluation = alerts.evaluate()
    assert raised[0].id in evaluation.cleared
    assert (Rule.LOW_CONFIDENCE.value, "queue") not in rules(alerts)


def test_an_escalation_spike_against_its_baseline(desk: ReviewDesk, clock: ManualClock) -> None:
    alerts = AlertService(desk)
    clock.set(START - timedelta(days=3))
    decide(desk, ["escalate"] * 2)
    clock.set(START)
    decide(desk, ["escalate"] * 4)
    spike = [a for a in alerts.evaluate().raised if a.rule == Rule.ESCALATION_SPIKE.value]
    assert spike and spike[0].figures["last_hour"] == 4
    clock.advance(2 * 3600)
    assert spike[0].id in alerts.evaluate().cleared


def test_an_escalation_past_its_response_time_until_a_lead_resolves_it(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    alerts = AlertService(desk)
    submit(desk, 1)
    lease = desk.claim("ana")
    assert lease is not None
    desk.decide(lease, "escalate", severity="critical", note="Promises a refund we do not give.")
    clock.advance(14 * 60)
    assert alerts.evaluate().raised == []  # 15 minutes for a critical one
    clock.advance(2 * 60)
    raised = alerts.evaluate().raised
    overdue = [a for a in raised if a.rule == Rule.ESCALATION_OVERDUE.value]
    assert [(a.subject, a.severity.value) for a in overdue] == [(lease.draft.id, "critical")]
    inbox = EscalationInbox(desk.engines, clock=clock)
    cursor = inbox.list()[0].cursor
    inbox.resolve(cursor, "dismiss", note="Handled by phone.", lead="lea")
    assert overdue[0].id in alerts.evaluate().cleared


def test_the_oldest_waiting_draft_and_drafts_per_active_reviewer(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    alerts = AlertService(desk)
    alerts.set_settings(AlertSettings(waiting_per_reviewer=10))
    submit(desk, 25)
    raised = {a.rule for a in alerts.evaluate().raised}
    assert raised == {Rule.WAITING_PER_REVIEWER.value}  # 25 waiting for no one
    clock.advance(61 * 60)
    assert {a.rule for a in alerts.evaluate().raised} == {Rule.OLDEST_WAITING.value}
    for reviewer in ("ana", "ben", "cy"):
        desk.claim(reviewer)  # three at work: 22 waiting is 7.3 each
    cleared = alerts.evaluate().cleared
    assert len(cleared) == 1
    assert {a.rule for a in alerts.open_alerts()} == {Rule.OLDEST_WAITING.value}


def test_thresholds_are_the_teams_and_bounded(desk: ReviewDesk) -> None:
    alerts = AlertService(desk)
    assert alerts.settings() == AlertSettings()
    alerts.set_settings(AlertSettings(confidence_floor=0.8))
    assert AlertService(desk).settings().confidence_floor == 0.8
    with pytest.raises(ConfigurationError, match="confidence_floor must be between 0 and 1"):
        AlertSettings(confidence_floor=1.5)
    with pytest.raises(ConfigurationError, match="unknown setting"):
        AlertSettings.from_json({"nope": 1})
