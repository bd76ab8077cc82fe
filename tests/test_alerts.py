"""Alert rules on constructed histories: each raised once while its condition holds,
acknowledged by a lead, cleared when the condition ends; the thresholds a team stores."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.core.alerts import (
    LOWEST_WATCHED_RATE,
    AlertSettings,
    CategoryRates,
    Figures,
    Rule,
    defect_alarm,
    evaluate,
)
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.control_limits import control_check
from reviewdesk.core.domain import STOPPING_LABELS, Label
from reviewdesk.core.drift import IN_CONTROL_RUN_LENGTH, Cusum
from reviewdesk.core.errors import ConfigurationError, InvalidArgument
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.alerts import ROLLUP_NOT_DEFECTS, AlertService, baseline_days
from reviewdesk.services.escalations import EscalationInbox
from reviewdesk.storage.alert_sql import AlertStore

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
    assert defect.figures["statistic"] >= defect.figures["limit"] == Cusum.for_rate(0.05).limit
    assert defect.figures["baseline_rate"] == 0.05 and defect.figures["baseline_decisions"] == 100
    assert "limit 5.15" in defect.message
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


def decide_batch(desk: ReviewDesk, defects: int, of: int) -> None:
    """``of`` decisions at the clock's time, the first ``defects`` of them rejections."""
    decide(desk, ["reject"] * defects + ["approve"] * (of - defects))


def usual_baseline(desk: ReviewDesk, clock: ManualClock) -> AlertService:
    """200 decisions two days before START, 1 in 20 a defect: the category's usual 5%."""
    clock.set(START - timedelta(days=2))
    for _ in range(10):
        decide_batch(desk, 1, 20)
    return AlertService(desk)


def test_a_step_in_defects_is_raised_once_held_open_and_cleared_when_it_ends(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    alerts = usual_baseline(desk, clock)
    raised, open_ids = [], []
    # Every 5 minutes 10 decisions, 4 of them defects (40%), for half an hour: the statistic
    # climbs 3.7 a batch, so the second batch takes it over the limit (5.15 at 5%).
    for minute in range(0, 35, 5):
        clock.set(START + timedelta(minutes=minute))
        decide_batch(desk, 4, 10)
        evaluation = alerts.evaluate()
        raised += [a for a in evaluation.raised if a.rule == Rule.DEFECT_RATE.value]
        open_ids += [a.id for a in evaluation.open if a.rule == Rule.DEFECT_RATE.value]
    assert len(raised) == 1  # raised once, after the second batch, and open since
    assert open_ids == [raised[0].id] * 6
    assert raised[0].figures["statistic"] >= raised[0].figures["limit"] == 5.15
    # The step ends: 1 defect in 20 again. The alert holds while the window still holds the
    # step's evidence (the last bad batch alone, at 4.4, is under the limit).
    for minute, still_open in ((35, True), (40, True), (45, False), (50, False)):
        clock.set(START + timedelta(minutes=minute))
        decide_batch(desk, *((1, 20) if minute % 10 == 0 else (0, 10)))
        evaluation = alerts.evaluate()
        assert not [a for a in evaluation.raised if a.rule == Rule.DEFECT_RATE.value]
        assert ((Rule.DEFECT_RATE.value, "billing") in rules(alerts)) is still_open, minute
        if not still_open and minute == 45:
            assert evaluation.cleared == [raised[0].id]


def test_a_stable_history_at_its_baseline_raises_nothing(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    alerts = usual_baseline(desk, clock)
    # Three hours as usual, a batch of 20 (one defect) every 15 minutes, evaluated each time.
    for minute in range(0, 180, 15):
        clock.set(START + timedelta(minutes=minute))
        decide_batch(desk, 1, 20)
        assert [a.rule for a in alerts.evaluate().raised] == [], minute


def test_the_defect_rule_false_alarm_rate_is_the_drift_alarms() -> None:
    """At the usual rate the rule raises about once per IN_CONTROL_RUN_LENGTH decisions of a
    category (docs/alerts.md): 100,000 random outcomes at 5%, windows of 150 decisions
    evaluated every 10."""
    settings = AlertSettings()
    rng = random.Random(7)
    outcomes = [rng.random() < 0.05 for _ in range(100_000)]
    raises, was_open = 0, False
    for end in range(150, len(outcomes) + 1, 10):
        window = tuple(outcomes[end - 150 : end])
        rates = CategoryRates("c", len(window), 0, sum(window), 1000, 950, 50, window)
        found = any(
            f.rule is Rule.DEFECT_RATE
            for f in evaluate(Figures(now=START, rates=(rates,)), settings)
        )
        raises += found and not was_open
        was_open = found
    expected = len(outcomes) / IN_CONTROL_RUN_LENGTH  # 20
    assert 0.5 * expected <= raises <= 1.5 * expected


def test_the_defect_alarm_is_in_control_at_the_baseline_or_the_floor() -> None:
    settings = AlertSettings()
    usual = CategoryRates("c", 0, 0, 0, 1000, 900, 100)
    assert defect_alarm(usual, settings) == Cusum.for_rate(0.10)
    better = CategoryRates("c", 0, 0, 0, 1000, 990, 10)  # 1%: watched from the floor, 5%
    assert defect_alarm(better, settings) == Cusum.for_rate(0.05)
    floorless = settings.with_changes(defect_rate_floor=0.0)
    none_yet = CategoryRates("c", 0, 0, 0, 1000, 1000, 0)
    assert defect_alarm(none_yet, floorless) == Cusum.for_rate(LOWEST_WATCHED_RATE)
    assert defect_alarm(CategoryRates("c", 0, 0, 0, 1000, 300, 700), settings) is None
    assert defect_alarm(CategoryRates("c", 0, 0, 0, 99, 90, 9), settings) is None  # too few


def decide_mix(desk: ReviewDesk, category: str, verdicts: str) -> None:
    """One draft of ``category`` decided per letter: a(pprove), e(dit), r(eject), x (escalate)."""
    submit(desk, len(verdicts), category=category)
    for letter in verdicts:
        lease = desk.claim("ana")
        assert lease is not None
        extra: dict[str, str] = {
            "a": {},
            "e": {"text": "Edited."},
            "r": {"reason": desk.reject_reasons()[0]},
            "x": {"severity": "low"},
        }[letter]
        desk.decide(
            lease, {"a": "approve", "e": "edit", "r": "reject", "x": "escalate"}[letter], **extra
        )


def test_the_baseline_from_the_rollup_equals_the_decisions_counted_one_by_one(
    desk: ReviewDesk, clock: ManualClock
) -> None:
    desk.set_session_limits(SessionLimits.off().with_changes(undo_window_seconds=600))
    day = START.replace(hour=0)
    history = [  # (when, category, verdicts)
        (day - timedelta(days=8), "billing", "rrrr"),  # before the baseline
        (day - timedelta(days=7), "billing", "aaer"),  # its first second
        (day - timedelta(days=7, seconds=1), "billing", "xxx"),  # the second before it
        (day - timedelta(days=4, hours=5), "billing", "aaaaeerx"),
        (day - timedelta(days=4, hours=5), "shipping", "aaax"),
        (day - timedelta(days=2), "refunds", "eeer"),
        (day - timedelta(seconds=1), "shipping", "arrx"),  # the baseline's last second
        (day, "billing", "xxxx"),  # today, before the window: not in it
        (START, "shipping", "rrra"),  # the window
    ]
    for at, category, verdicts in history:
        clock.set(at)
        decide_mix(desk, category, verdicts)
    clock.set(day - timedelta(days=3))
    decide_mix(desk, "refunds", "rr")
    desk.undo("ana")  # an undone decision counts nowhere
    clock.set(START)
    settings = AlertSettings()
    window = START - timedelta(minutes=settings.rate_window_minutes)
    first, last = baseline_days(settings, window)
    assert (first, last) == ((day - timedelta(days=7)).date(), (day - timedelta(days=1)).date())
    rates = AlertService(desk).category_rates(settings, now=START, window=window)
    from_rollup = {
        r.category: (r.baseline_decisions, r.baseline_approved, r.baseline_defects)
        for r in rates
        if r.baseline_decisions
    }
    counted = AlertStore(desk.engines).baseline_from_decisions(
        first_day=first, last_day=last, defect_labels=[label.value for label in STOPPING_LABELS]
    )  # the same days' decisions, one by one
    raw = {row["category"]: (row["decisions"], row["approved"], row["defects"]) for row in counted}
    assert (
        from_rollup
        == raw
        == {
            "billing": (12, 6, 3),
            "shipping": (8, 4, 4),
            "refunds": (5, 0, 2),
        }
    )
    assert {r.category: r.outcomes for r in rates if r.outcomes} == {
        "shipping": (True, True, True, False)
    }


def test_the_rollup_leaves_out_of_its_total_exactly_the_labels_that_are_not_defects() -> None:
    assert set(ROLLUP_NOT_DEFECTS) == set(Label) - set(STOPPING_LABELS)


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
