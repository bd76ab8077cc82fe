"""Eight reviewer processes drain one queue: every draft decided exactly once, every call logged."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.core.sessions import SessionLimits
from tests.helpers.reviewer_process import review_until_empty
from tests.helpers.team import person, team

PROCESSES = 8
DRAFTS = 2000


@pytest.mark.slow
def test_eight_processes_decide_each_draft_exactly_once(db_url: str) -> None:
    with ReviewDesk.open(db_url, upgrade=True):
        pass
    drain(db_url, [(db_url, f"rev{i}") for i in range(PROCESSES)])


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.one_engine("logins are PostgreSQL roles: the embedded database is one person's")
def test_eight_logins_decide_each_draft_exactly_once(postgres_url: str) -> None:
    """The same with security on: each process logs in as its own reviewer or lead."""
    with ReviewDesk.open(postgres_url, upgrade=True):
        pass
    roles = {f"rev{i}": ("reviewer" if i % 2 else "lead") for i in range(PROCESSES)}
    with team(postgres_url, roles) as urls:
        drain(postgres_url, [(urls[name], person(urls, name)) for name in roles])


def drain(db_url: str, workers: list[tuple[str, str]]) -> None:
    """Fill the queue at ``db_url`` and let one process per (URL, reviewer) drain it."""
    with ReviewDesk.open(db_url) as desk:
        # 250 reviews each: far past a person's session limits, which this test is not about.
        desk.set_session_limits(SessionLimits.off())
        desk.submit(
            {"id": f"c{i}", "draft": f"draft {i}", "priority": i % 3} for i in range(DRAFTS)
        )

    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Event()
        with ctx.Pool(PROCESSES) as pool:
            pending = [
                pool.apply_async(review_until_empty, (url, reviewer, start))
                for url, reviewer in workers
            ]
            start.set()
            reports = [p.get(timeout=300) for p in pending]

    decided = [draft for r in reports for draft in r["decided"]]
    assert len(decided) == DRAFTS
    assert Counter(decided).most_common(1)[0][1] == 1
    # More than one process did real work: the claims really were concurrent.
    assert sum(1 for r in reports if r["decided"]) > 1

    with ReviewDesk.open(db_url) as desk:
        counts = desk.counts()
        assert (counts.pending, counts.leased, counts.decided) == (0, 0, DRAFTS)
        results = []
        cursor = 0
        while page := desk.results(unsettled=True, after=cursor, limit=500):
            results += page
            cursor = page[-1].cursor
        assert sorted(r.id for r in results) == sorted(decided)
        # The attempt log accounts for every decide call of every process.
        attempts = desk.attempts()
        assert len(attempts) == sum(r["calls"] for r in reports)
        per_reviewer = Counter(a["reviewer"] for a in attempts)
        assert per_reviewer == Counter({r["reviewer"]: r["calls"] for r in reports if r["calls"]})
        outcomes = Counter(a["outcome"] for a in attempts)
        assert outcomes["accepted"] == DRAFTS
        assert outcomes["refused"] == sum(r["refused"] for r in reports)


def test_writers_of_one_new_setting_never_collide(db_url: str) -> None:
    # A delete then insert let two writers of a key that was not there both insert it.
    with ReviewDesk.open(db_url, upgrade=True) as desk:
        store = desk._store
        rounds, writers = 30, 6
        errors: list[BaseException] = []
        barrier = threading.Barrier(writers)

        def write(number: int) -> None:
            try:
                for round_ in range(rounds):
                    barrier.wait()
                    store.put_setting(f"key-{round_}", [number])
            except BaseException as exc:  # reported below, with the thread's own traceback
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert store.get_setting(f"key-{rounds - 1}") in [[n] for n in range(writers)]
