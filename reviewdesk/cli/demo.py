"""``reviewdesk demo``: the demo queue, or (``--team``) a made-up team's history to explore.

``prepare_team_demo`` is shared with ``reviewdesk gui --demo-team``, which builds the team demo
the same way (with the same progress on the terminal) before the window opens.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import IO, Any

from reviewdesk.core.errors import ConfigurationError
from reviewdesk.services.demo_history import TeamDemo, build_team_demo, team_demo_path

# Without a terminal (a log, a pipe), a progress line every this many decisions.
PROGRESS_LINES_EVERY = 1000


def add_demo_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="load the demo queue (idempotent), or --team: a made-up team's history to explore",
        description=(
            "Without --team: queue the demo drafts in the database (loading them again writes "
            "nothing). With --team: build (or reuse) a database of its own in your data folder "
            "holding twelve weeks of a made-up team's decisions on more demo drafts, to try the "
            "lead's side (reviewdesk gui --demo-team); your own database is never touched."
        ),
    )
    demo.add_argument(
        "--team",
        action="store_true",
        help="the team demo (its own database: team-demo.sqlite3 in your data folder)",
    )
    demo.add_argument(
        "--rebuild",
        action="store_true",
        help="with --team: build it afresh, ending yesterday (close the app on it first)",
    )


def cmd_demo(args: argparse.Namespace, out: IO[str]) -> int:
    if args.rebuild and not args.team:
        raise ConfigurationError("demo: --rebuild goes with --team.")
    if not args.team:
        from reviewdesk.services.demo import load_demo_queue
        from reviewdesk.services.desk import ReviewDesk

        with ReviewDesk.open(args.db) as desk:
            report = load_demo_queue(desk)
        print(f"demo queue: {report}", file=out)
        return 0
    try:
        demo = prepare_team_demo(args.db, rebuild=args.rebuild, err=sys.stderr)
    except KeyboardInterrupt:
        print("\nreviewdesk: stopped; no team demo was kept.", file=sys.stderr)
        return 130
    print(describe(demo), file=out)
    return 0


def prepare_team_demo(url: str | None, *, rebuild: bool, err: IO[str]) -> TeamDemo:
    """Build or reuse the team demo at ``url`` (None: its own file), with progress on ``err``."""
    where = url or str(team_demo_path())
    update, close = _progress(err)
    try:
        return build_team_demo(url, rebuild=rebuild, progress=_announced(update, where, err))
    finally:
        close()


def describe(demo: TeamDemo) -> str:
    """What the team demo holds, where, and how to open it."""
    how = f"built in {demo.seconds:.0f} s" if demo.built else "reused; --rebuild builds it afresh"
    overdue = f", {demo.overdue_escalations} overdue" if demo.overdue_escalations else ""
    db = demo.display
    return "\n".join(
        (
            f"Team demo ({how}): {demo.decisions:,} decisions by a made-up team of four over "
            f"twelve weeks, {demo.waiting} drafts waiting, {demo.open_escalations} escalations "
            f"open{overdue}.",
            f"  database: {db}",
            "Open it in the app, with the lead view on for this database only:",
            "  reviewdesk gui --demo-team",
            "Or from the command line:",
            f"  reviewdesk recommend --db {db}",
            f"  reviewdesk escalations list --db {db}",
            "Your own database and settings are not touched.",
        )
    )


def _announced(
    update: Callable[[int, int], None], where: str, err: IO[str]
) -> Callable[[int, int], None]:
    """``update``, after saying once (when seeding starts) what is being built."""
    said = False

    def progress(done: int, total: int) -> None:
        nonlocal said
        if not said:
            said = True
            print(
                f"Building the team demo in {where}: {total:,} decisions through the review "
                "queue (15 to 30 seconds)...",
                file=err,
                flush=True,
            )
        update(done, total)

    return progress


def _progress(err: IO[str]) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A tqdm bar on a terminal, else a line every PROGRESS_LINES_EVERY decisions; (update,
    close)."""
    if not err.isatty():
        last = [0]

        def lines(done: int, total: int) -> None:
            if done - last[0] >= PROGRESS_LINES_EVERY or (done == total and done != last[0]):
                last[0] = done
                print(f"  {done:,} of {total:,} decisions", file=err, flush=True)

        return lines, lambda: None

    from tqdm import tqdm

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(
                tqdm(
                    total=total,
                    desc="team demo",
                    unit=" decisions",
                    file=err,
                    leave=False,
                    dynamic_ncols=True,
                )
            )
        bar[0].update(done - bar[0].n)

    def close() -> None:
        for b in bar:
            b.close()

    return update, close
