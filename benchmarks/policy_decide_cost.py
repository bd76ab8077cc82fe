"""What counting decisions toward review policies costs a reviewer's claim+decide cycle.

Every decision on PostgreSQL first looks whether a policy routed its draft (one primary-key read
of ``policy_routing``), then counts it if so. One client, 1,500 claim+decide cycles with that
step on, then off (``PolicyService.count_decision`` replaced by a no-op), twice, alternating;
in a schema of its own, dropped at the end. No policy exists, as on most cells.

    .venv/bin/python benchmarks/policy_decide_cost.py
"""

import time
import uuid

import psycopg

from reviewdesk import ReviewDesk
from reviewdesk.core.sessions import SessionLimits
from reviewdesk.services.policies import PolicyService

schema = "bench_" + uuid.uuid4().hex[:8]
with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as c:
    c.execute(f"CREATE SCHEMA {schema}")
url = f"postgresql+psycopg://root@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
try:
    with ReviewDesk.open(url, upgrade=True) as desk:
        desk.set_session_limits(SessionLimits.off())
        n = 3000
        desk.submit({"id": f"d{i}", "draft": f"t {i}", "category": "c"} for i in range(2 * n))
        orig = PolicyService.count_decision
        res = {}
        for label in ["counting on", "counting off", "counting on ", "counting off "]:
            if "off" in label:
                PolicyService.count_decision = lambda self, *a, **k: None
            else:
                PolicyService.count_decision = orig
            t0 = time.perf_counter()
            for _ in range(n // 2):
                lease = desk.claim("r")
                assert lease is not None
                desk.decide(lease, "approve", review_seconds=10)
            res[label] = (n // 2) / (time.perf_counter() - t0)
            print(label, f"{res[label]:.0f} claim+decide cycles/s", flush=True)
finally:
    with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")
