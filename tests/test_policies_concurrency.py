"""Eight producers and eight reviewers at once on PostgreSQL: one plan state, every draft
routed once, no clear decision lost from the clear-run count."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import text

from reviewdesk import ReviewDesk
from reviewdesk.core.sampling_plan import Phase
from reviewdesk.core.sessions import SessionLimits

WORKERS = 8
BATCHES = 6
BATCH = 5
PER_ROUND = WORKERS * BATCHES * BATCH  # 240


def run_round(url: str, prefix: str) -> tuple[list[str], Counter[str]]:
    """Producers submit, reviewers approve what they can claim, all at once."""
    start = threading.Barrier(2 * WORKERS)
    producing = [True]
    produced = threading.Semaphore(0)
    decided: list[str] = []
    routes: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def producer(n: int) -> None:
        try:
            with ReviewDesk.open(url) as desk:
                start.wait()
                for b in range(BATCHES):
                    report = desk.submit(
                        {
                            "id": f"{prefix}{n}-{b}-{k}",
                            "draft": f"text {n} {b} {k}",
                            "category": "billing",
                        }
                        for k in range(BATCH)
                    )
                    with lock:
                        routes.update(r.route.value for r in report.routings)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            produced.release()

    def reviewer(n: int) -> None:
        try:
            with ReviewDesk.open(url) as desk:
                start.wait()
                while True:
                    lease = desk.claim(f"rev{n}")
                    if lease is None:
                        if not producing[0]:
                            return
                        continue
                    desk.decide(lease, "approve", review_seconds=30)
                    with lock:
                        decided.append(lease.draft.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(WORKERS)]
    threads += [threading.Thread(target=reviewer, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for _ in range(WORKERS):
        produced.acquire()
    producing[0] = False
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    return decided, routes


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.one_engine(
    "row locks shared by concurrent processes: the embedded database has one writer"
)
def test_eight_producers_and_eight_reviewers_share_one_plan_state(postgres_url: str) -> None:
    with ReviewDesk.open(postgres_url, upgrade=True) as desk:
        desk.set_session_limits(SessionLimits.off())
        desk.submit({"id": f"h{i}", "draft": f"h {i}", "category": "billing"} for i in range(30))
        while (lease := desk.claim("lead")) is not None:
            desk.decide(lease, "approve", review_seconds=30)
        # AOQL 1%, f = 1/100: i = 262, more than a round's drafts: all stay in screening.
        desk.policies.set("billing", aoql=0.01, fraction=0.01, note="n", by="lead")

    decided, routes = run_round(postgres_url, "s")
    assert routes == Counter({"review": PER_ROUND})
    assert len(decided) == PER_ROUND and len(set(decided)) == PER_ROUND
    with ReviewDesk.open(postgres_url) as desk:
        state = desk.policies.show("billing")[0].cells[0]
        # Every clear decision counted once: none lost to a concurrent update.
        assert (state.phase, state.clear_run) == (Phase.SCREENING, PER_ROUND)
        # History (270 clear decisions) now clears i = 262: start sampling a fifth.
        desk.policies.set(
            "billing", aoql=0.05, fraction=0.2, note="n", by="lead", start_from_history=True
        )
        assert desk.policies.show("billing")[0].cells[0].phase is Phase.SAMPLING

    decided, routes = run_round(postgres_url, "t")
    assert routes["review"] + routes["released"] == PER_ROUND
    assert 0 < routes["released"] < PER_ROUND
    assert sorted(decided) == sorted(set(decided)) and len(decided) == routes["review"]
    with ReviewDesk.open(postgres_url) as desk:
        with desk.engines.write.connect() as conn:
            rows = conn.execute(
                text(
                    """SELECT r.route, d.state, count(*) FROM policy_routing r
                       JOIN draft d ON d.id = r.draft_id
                       WHERE d.external_id LIKE 't%' GROUP BY r.route, d.state"""
                )
            ).all()
            assert dict(((route, st), n) for route, st, n in rows) == {
                ("review", "decided"): routes["review"],
                ("released", "released"): routes["released"],
            }
            unrouted = conn.execute(
                text(
                    """SELECT count(*) FROM draft d WHERE d.external_id LIKE 't%'
                       AND NOT EXISTS (SELECT 1 FROM policy_routing r WHERE r.draft_id = d.id)"""
                )
            ).scalar()
            assert unrouted == 0
        released = [r for r in desk.results(limit=10_000) if r.label.value == "released"]
        assert len(released) == routes["released"]
