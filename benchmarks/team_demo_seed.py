"""How long the team demo takes to build, and where the time goes.

``reviewdesk demo --team`` decides 4,790 drafts through the ReviewDesk API on a manual clock
(services/demo_history.py). This times ``seed_team_history`` into a new SQLite file in a
temporary folder, with its commits not waiting for the disk (as the command runs it) and, with
``--durable``, with every commit flushed (``synchronous=FULL``, as a reviewer's decisions are).
It prints the wall time and the time spent in each ReviewDesk call.

    .venv/bin/python benchmarks/team_demo_seed.py
    .venv/bin/python benchmarks/team_demo_seed.py --durable
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reviewdesk.services import demo_history
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.services.escalations import EscalationInbox

CALLS = {
    ReviewDesk: ("claim", "decide", "submit", "counts"),
    EscalationInbox: ("list", "get", "resolve"),
}


def timed(spent: Counter[str], calls: Counter[str], name: str, func: Callable[..., Any]) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started
            calls[name] += 1

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--durable", action="store_true", help="flush every commit (synchronous=FULL)"
    )
    args = parser.parse_args()
    if args.durable:
        demo_history.defer_durability = lambda engines: None  # type: ignore[assignment]
    spent: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for cls, names in CALLS.items():
        for name in names:
            setattr(cls, name, timed(spent, calls, name, getattr(cls, name)))
    with tempfile.TemporaryDirectory(prefix="team-demo-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'team.sqlite3'}"
        started = time.perf_counter()
        demo_history.seed_team_history(url)
        wall = time.perf_counter() - started
    mode = "every commit flushed" if args.durable else "commits not waiting for the disk"
    print(f"seed_team_history, {mode}: {wall:.1f} s")
    for name, seconds in spent.most_common():
        each = seconds / calls[name] * 1000
        print(f"  {name:<8} {seconds:6.2f} s  {calls[name]:5} calls  {each:.2f} ms each")
    print(f"  other    {wall - sum(spent.values()):6.2f} s")


if __name__ == "__main__":
    main()
