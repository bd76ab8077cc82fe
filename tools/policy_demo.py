"""Put the team demo under review policies and run traffic through them (for screenshots).

    .venv/bin/reviewdesk demo --team
    .venv/bin/python tools/policy_demo.py --db sqlite:///PATH/team-demo.sqlite3

Three policies from the demo's recommendations, then rounds of drafts submitted and the
queued ones decided by made-up reviewers (seeded), one cell's AI getting worse near the end so
that its drift alarm fires. Illustrates the Policies tab; measures nothing.
"""

from __future__ import annotations

import argparse
import random

from reviewdesk import ReviewDesk
from reviewdesk.core.sessions import SessionLimits

BAD_RATE = {"account": 0.01, "contact": 0.005, "delivery": 0.03}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    rng = random.Random(11)
    with ReviewDesk.open(args.db, rng=random.Random(5)) as desk:
        desk.set_session_limits(SessionLimits.off())
        p = desk.policies
        p.set(
            "account",
            aoql=0.02,
            fraction=0.05,
            note="Recommendation: remove, 2% spot checks",
            by="lea",
            start_from_history=True,
        )
        p.set(
            "contact",
            aoql=0.05,
            fraction=0.1,
            note="Low risk, 98.7% approval",
            by="lea",
            start_from_history=True,
        )
        p.set("delivery", aoql=0.05, fraction=0.45, note="Recommendation: sample 45%", by="lea")
        n = 0
        for r in range(args.rounds):
            batch = []
            for category, bad in BAD_RATE.items():
                if category == "contact" and r >= args.rounds // 2:
                    bad = 0.12  # the contact drafts' AI gets worse
                for _ in range(40):
                    n += 1
                    batch.append(
                        {
                            "id": f"policy-demo-{n}",
                            "draft": f"Demo reply {n} about {category}.",
                            "category": category,
                            "model": "gpt-demo-2"
                            if r >= args.rounds // 2 and category == "account"
                            else "gpt-demo-1",
                            "metadata": {"bad": rng.random() < bad},
                        }
                    )
            desk.submit(batch)
            while (lease := desk.claim(f"rev{rng.randrange(4)}")) is not None:
                if lease.draft.metadata.get("bad"):
                    desk.decide(lease, "reject", reason="factual_error", review_seconds=20)
                else:
                    desk.decide(lease, "approve", review_seconds=20)
        for view in p.overview():
            print(
                view.policy.cell.describe(),
                [(c.model_key, c.phase.value, c.released, c.reviewed) for c in view.cells],
            )


if __name__ == "__main__":
    main()
