"""The team demo: a made-up team's history decided through the real queue, with a
recommendation of every kind, a declining category, open escalations (one overdue), and a
database of its own that never takes in other work."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.cli.entry import main as cli_main
from reviewdesk.config import paths
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.errors import ConfigurationError
from reviewdesk.services.demo import demo_records, history_records
from reviewdesk.services.demo_history import (
    HURRIED_DAYS,
    HURRIED_RUN,
    OPEN_AT_END,
    REVIEWERS,
    TeamDemoState,
    build_team_demo,
    seed_team_history,
    team_demo_path,
    team_demo_state,
)
from reviewdesk.services.escalations import EscalationInbox
from reviewdesk.services.recommend import Outcome, RecommendationEngine, Rule
from reviewdesk.services.stats import StatsFilter, StatsService

NOW = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def team_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The whole shipped history, seeded once (about 15 to 25 seconds)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('team') / 'team.sqlite3'}"
    seed_team_history(url, now=NOW)
    return url


@pytest.mark.slow
def test_the_history_recommends_every_kind(team_url: str) -> None:
    with ReviewDesk.open(team_url) as desk:
        report = RecommendationEngine.for_desk(desk).recommend()
    verdicts = {r.category: r.verdict for r in report.categories}
    outcomes = {c: v.outcome for c, v in verdicts.items()}
    assert set(outcomes.values()) == set(Outcome)
    assert outcomes["contact"] is outcomes["account"] is Outcome.REMOVE
    assert outcomes["delivery"] is outcomes["feedback"] is Outcome.SAMPLE
    assert outcomes["invoice"] is outcomes["cancellation_fee"] is Outcome.NOT_ENOUGH
    # The drift: order drafts got worse since the newer model took half of them.
    assert verdicts["order"].rule is Rule.DECLINE
    assert [c for c, v in verdicts.items() if v.rule is Rule.DECLINE] == ["order"]
    assert {verdicts[c].rule for c in ("refund", "payment")} == {Rule.ESCALATION}
    with ReviewDesk.open(team_url) as desk:  # the newer model alone: its order drafts are worse
        newer = RecommendationEngine.for_desk(desk).recommend(
            models=["support-drafter-2026.11"], categories=["order"]
        )
    assert newer.categories[0].verdict.approval.value < verdicts["order"].trend.previous.value - 0.1


@pytest.mark.slow
def test_the_history_went_through_the_queue_and_leaves_escalations_open(team_url: str) -> None:
    history, queue = history_records(), demo_records()
    # Read at the moment the history ends: which escalation is overdue depends on the time.
    with ReviewDesk.open(team_url, clock=ManualClock(NOW)) as desk:
        counts = desk.counts()
        escalations = EscalationInbox.for_desk(desk).list()
        resolved = EscalationInbox.for_desk(desk).list(include_resolved=True)
        assert team_demo_state(desk) is TeamDemoState.READY
    assert counts.decided == len(history)
    assert counts.pending == len(queue)
    assert len(escalations) == len(OPEN_AT_END)
    assert any(e.overdue and e.severity == "critical" for e in escalations)
    assert any(not e.overdue for e in escalations)
    assert len(resolved) > len(escalations)  # the lead answered the others
    path = team_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        # Every decision is an accepted attempt, by one of the team, counted by the rollup
        # triggers, in review sessions: the paths real decisions take.
        attempts = conn.execute(
            "SELECT count(*) FROM decision_attempt WHERE outcome = 'accepted'"
        ).fetchone()[0]
        rollup = conn.execute("SELECT sum(n) FROM decision_rollup WHERE grain = 'a'").fetchone()[0]
        reviewers = {r for (r,) in conn.execute("SELECT DISTINCT reviewer FROM decision")}
        sessions = conn.execute("SELECT count(*) FROM review_session").fetchone()[0]
        last = conn.execute("SELECT max(decided_at) FROM decision").fetchone()[0]
    assert attempts == rollup == counts.decided
    assert reviewers == set(REVIEWERS)
    assert sessions > 300
    assert last < NOW.isoformat()


def test_a_database_with_other_drafts_is_refused_and_left_alone(db_url: str) -> None:
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        desk.submit([{"id": "ticket-1", "draft": "Your refund is on its way."}])
    with pytest.raises(ConfigurationError, match="already holds 1 drafts"):
        build_team_demo(db_url, now=NOW, days=2)
    with pytest.raises(ConfigurationError, match="not empty"):
        seed_team_history(db_url, now=NOW, days=2)
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        assert desk.counts().pending == 1
        assert desk.counts().decided == 0


def test_the_embedded_database_is_refused() -> None:
    embedded = paths.embedded_database_path()
    with pytest.raises(ConfigurationError, match="your embedded database"):
        build_team_demo(f"sqlite:///{embedded}", now=NOW, days=2)
    assert not embedded.exists()


def test_the_demo_file_is_built_whole_then_reused(capsys: pytest.CaptureFixture[str]) -> None:
    progress: list[tuple[int, int]] = []
    first = build_team_demo(now=NOW, days=2, progress=lambda d, t: progress.append((d, t)))
    path = team_demo_path()
    assert first.built and first.url == f"sqlite:///{path}"
    assert progress and progress[-1][0] == progress[-1][1] == first.decisions
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # nothing half-built
    again = build_team_demo(now=NOW, days=2)
    assert not again.built and again.decisions == first.decisions
    assert not paths.embedded_database_path().exists()
    # A database (here: the demo's own file) holding a team demo but nothing else is reused by
    # the CLI as well, and the command says how to open it.
    assert cli_main(["demo", "--team"]) == 0
    out = capsys.readouterr().out
    assert "reused" in out and "reviewdesk gui --demo-team" in out
    # The demo's own file holding something else (another version's demo, say): named, and
    # only --rebuild replaces it.
    path.unlink()
    with ReviewDesk.open(first.url, upgrade=True) as desk:
        desk.submit([{"id": "ticket-1", "draft": "Your refund is on its way."}])
    assert cli_main(["demo", "--team"]) == 1
    assert "'reviewdesk demo --team --rebuild' builds it afresh" in capsys.readouterr().err
    rebuilt = build_team_demo(now=NOW, days=2, rebuild=True)
    assert rebuilt.built and rebuilt.waiting == len(demo_records())


@pytest.mark.one_engine("the CLI's message; the refusal itself runs on every engine just above")
def test_demo_team_refuses_a_database_with_real_drafts(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ReviewDesk.open(sqlite_url, upgrade=True) as desk:
        desk.submit([{"id": "ticket-1", "draft": "Your refund is on its way."}])
    for rebuild in ([], ["--rebuild"]):  # rebuilding never replaces someone's file either
        assert cli_main(["demo", "--team", *rebuild, "--db", sqlite_url]) == 1
        captured = capsys.readouterr()
        assert "already holds 1 drafts that are not a complete team demo" in captured.err
        assert "Traceback" not in captured.err
    with ReviewDesk.open(sqlite_url) as desk:
        assert (desk.counts().pending, desk.counts().decided) == (1, 0)
    assert cli_main(["demo", "--rebuild"]) == 1
    assert "--rebuild goes with --team" in capsys.readouterr().err


def test_a_new_file_given_by_name_gets_the_team_demo(tmp_path: Path) -> None:
    target = tmp_path / "mine" / "team.sqlite3"
    demo = build_team_demo(f"sqlite:///{target}", now=NOW, days=2)
    assert demo.built and target.is_file()
    assert demo.waiting == len(demo_records())
    assert demo.open_escalations == len(OPEN_AT_END) and demo.overdue_escalations >= 1


@pytest.mark.slow
def test_the_history_has_hurried_runs_that_statistics_leave_out(team_url: str) -> None:
    with ReviewDesk.open(team_url) as desk:
        stats = StatsService.for_desk(desk)
        left_out = stats.compute().total.low_attention_left_out
        counted = stats.compute(filter=StatsFilter(include_low_attention=True)).total
    # Every hurried run is long enough to be flagged, and only approvals are left out.
    assert left_out == len(HURRIED_DAYS) * HURRIED_RUN
    assert counted.low_attention_left_out == 0
