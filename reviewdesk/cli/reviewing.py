"""The review process: a reviewer's session, and the known-answer (gold) drafts leads set."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from typing import IO

from reviewdesk.core.domain import Label
from reviewdesk.core.errors import ConfigurationError
from reviewdesk.services.desk import ReviewDesk


def add_reviewing_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    session = sub.add_parser("session", help="a reviewer's session")
    session_sub = session.add_subparsers(dest="session_command", required=True, metavar="ACTION")
    for name, text in (("status", "limits used, warnings, breaks"), ("end", "end it now")):
        action = session_sub.add_parser(name, parents=[common], help=text)
        action.add_argument("--reviewer", required=True)
    summary = session_sub.add_parser("summary", parents=[common], help="the latest session")
    summary.add_argument("--reviewer", required=True)

    gold = sub.add_parser("gold", help="known-answer (gold) drafts")
    gold_sub = gold.add_subparsers(dest="gold_command", required=True, metavar="ACTION")
    mark = gold_sub.add_parser("mark", parents=[common], help="make a decided draft gold")
    mark.add_argument("id", help="the draft's id")
    mark.add_argument(
        "--expect",
        required=True,
        choices=[label.value for label in Label],
        help="the verdict a careful reviewer gives",
    )
    mark.add_argument("--note", help="why (shown to leads only)")
    mark.add_argument("--by", default=getpass.getuser(), help="the lead (default: you)")
    retire = gold_sub.add_parser("retire", parents=[common], help="stop serving a gold draft")
    retire.add_argument("id", help="the draft's id")
    gold_sub.add_parser("accuracy", parents=[common], help="gold accuracy per reviewer")


def cmd_session(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        if args.session_command == "status":
            status = desk.session_status(args.reviewer)
            if status.blocked is not None and status.until is not None:
                print(
                    f"{args.reviewer}: {status.blocked.value.replace('_', ' ')} until "
                    f"{status.until:%Y-%m-%d %H:%M} UTC",
                    file=out,
                )
            elif status.session is not None:
                print(
                    f"{args.reviewer}: in a session since {status.session.started_at:%H:%M} UTC",
                    file=out,
                )
            else:
                print(f"{args.reviewer}: ready to start a session", file=out)
            for use in status.uses:
                mark = "  <- nearly there" if use in status.warnings else ""
                print(f"  {use.limit:<22} {use.used:g} of {use.allowed:g}{mark}", file=out)
            print(
                f"  today: {status.sessions_today} session(s), {status.reviews_today} review(s)",
                file=out,
            )
            return 0
        summary = (
            desk.end_session(args.reviewer)
            if args.session_command == "end"
            else desk.session_summary(args.reviewer)
        )
        if summary is None:
            print(f"{args.reviewer} has no session.", file=out)
            return 0
        labels = ", ".join(f"{n} {label}" for label, n in sorted(summary.by_label.items()))
        median = f"{summary.median_seconds:.0f} s" if summary.median_seconds is not None else "-"
        print(
            f"session {summary.session.id} of {args.reviewer}: {labels or 'no reviews'}", file=out
        )
        print(
            f"  median time per draft: {median}; low attention: {summary.low_attention}", file=out
        )
        if summary.gold_answers:
            print(
                f"  known-answer checks: {summary.gold_correct} of {summary.gold_answers} right, "
                f"{summary.caught} caught",
                file=out,
            )
    return 0


def cmd_gold(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        if args.gold_command == "mark":
            desk.mark_gold(args.id, args.expect, by=args.by, note=args.note)
            print(f"{args.id} is a known-answer draft now (expected: {args.expect}).", file=out)
        elif args.gold_command == "retire":
            if not desk.retire_gold(args.id):
                raise ConfigurationError(f"{args.id} is not a gold draft.")
            print(f"{args.id} is no longer served as a known-answer draft.", file=out)
        else:
            for row in desk.gold_accuracy():
                share = row["correct"] / row["answers"] if row["answers"] else 0.0
                print(
                    f"{row['reviewer']:<20} {row['correct']}/{row['answers']} right "
                    f"({share:.0%}), {row['caught']} caught",
                    file=out,
                )
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, IO[str]], int]] = {
    "session": cmd_session,
    "gold": cmd_gold,
}
