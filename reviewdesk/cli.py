"""The command line: producers enqueue drafts and collect results; operators manage databases.

Every command takes ``--db URL`` after its name, else ``REVIEWDESK_DATABASE_URL``, else the
embedded database. Errors go to stderr as one clear message each; the exit code is 1.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import IO, BinaryIO

from reviewdesk import cli_args
from reviewdesk.cli_args import configure_logging
from reviewdesk.cli_demo import add_demo_command, cmd_demo
from reviewdesk.cli_export import add_export_command, cmd_export
from reviewdesk.cli_lead import LEAD_COMMANDS, add_lead_commands, output_width, wrapped
from reviewdesk.cli_team import TEAM_COMMANDS, add_team_command
from reviewdesk.config import secrets
from reviewdesk.core.domain import DraftState, History, Label
from reviewdesk.core.errors import ConfigurationError, InvalidInput, ReviewDeskError, SubmitConflict
from reviewdesk.core.sessions import SECONDS_BOUNDS, SessionLimits
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.storage import migrate
from reviewdesk.storage.engine import create_engines, resolve_target

log = logging.getLogger("reviewdesk")


def build_parser() -> argparse.ArgumentParser:
    parser, sub, common = cli_args.base_parser()
    cli_args.add_gui_command(sub, common)

    enqueue = sub.add_parser(
        "enqueue", parents=[common], help="queue drafts from JSON Lines (FILE, or - for stdin)"
    )
    enqueue.add_argument("file", metavar="FILE", help="JSON Lines file, or - for standard input")

    results = sub.add_parser("results", parents=[common], help="print decided drafts as JSON Lines")
    results.add_argument(
        "--after", type=int, default=0, metavar="CURSOR", help="continue after this cursor"
    )
    results.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N results (default 100)"
    )
    results.add_argument("--ack", action="store_true", help="mark the printed results delivered")
    results.add_argument(
        "--include-delivered", action="store_true", help="also print results acknowledged before"
    )
    results.add_argument(
        "--unsettled",
        action="store_true",
        help="also print decisions still inside the undo window; one undone while this runs is "
        'followed by a retraction line, {"id", "cursor", "retracted": true}, and exit status 3',
    )

    status = sub.add_parser(
        "status",
        parents=[common],
        help="print the queue's state: pending, in review, decided, undelivered",
    )
    status.add_argument(
        "--json",
        action="store_true",
        help="as JSON, with the same names: pending, in_review, decided, undelivered "
        "(and leased, the old name of in_review, kept for older readers)",
    )

    history = sub.add_parser("history", parents=[common], help="a draft's thread and audit trail")
    history.add_argument("id", help="the draft's id")

    show = sub.add_parser(
        "show",
        parents=[common],
        help="one draft: its text, input, context, decision or state, thread and audit trail",
    )
    show.add_argument("id", help="the draft's id, as submitted")
    show.add_argument("--json", action="store_true", help="as JSON")

    add_demo_command(sub, common)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", parents=[common], help="bring the database to the current schema")
    db_sub.add_parser("current", parents=[common], help="print the schema revision")

    password = sub.add_parser("password", help="the database password in the OS keyring")
    pw_sub = password.add_subparsers(dest="password_command", required=True, metavar="ACTION")
    pw_sub.add_parser(
        "set", parents=[common], help="store the password for --db (asked for, never echoed)"
    )
    pw_sub.add_parser("delete", parents=[common], help="forget the stored password for --db")

    reasons = sub.add_parser("reasons", help="the team's reject reasons")
    reasons_sub = reasons.add_subparsers(dest="reasons_command", required=True, metavar="ACTION")
    reasons_sub.add_parser("list", parents=[common], help="print them, one a line")
    reasons_set = reasons_sub.add_parser(
        "set", parents=[common], help="replace them all, in the order given"
    )
    reasons_set.add_argument("reasons", nargs="+", metavar="REASON")
    reasons_add = reasons_sub.add_parser("add", parents=[common], help="add one at the end")
    reasons_add.add_argument("reason", metavar="REASON")
    reasons_remove = reasons_sub.add_parser(
        "remove", parents=[common], help="stop offering one (past decisions keep it)"
    )
    reasons_remove.add_argument("reason", metavar="REASON")

    limits = sub.add_parser(
        "limits",
        parents=[common],
        help="show or set the team's session limits, lease TTL and undo window",
        description="The team's session limits, lease TTL and undo window (docs/sessions.md). "
        "Without an action: show.",
    )
    limits_sub = limits.add_subparsers(dest="limits_command", metavar="ACTION")
    limits.set_defaults(limits_command="show")
    limits.add_argument("--json", action="store_true", help="with no action: show, as JSON")
    limits_show = limits_sub.add_parser("show", parents=[common], help="print them all")
    limits_show.add_argument("--json", action="store_true", help="as JSON")
    limits_set = limits_sub.add_parser(
        "set",
        parents=[common],
        help="change some; prints each changed one's old and new value",
        description="Change limits by name. A value that is malformed or out of bounds is "
        "refused with what is wrong, and then none of the changes is stored.",
    )
    limits_set.add_argument(
        "changes",
        nargs="+",
        metavar="NAME=VALUE",
        help="e.g. reviews_per_session=30 minutes_per_session=off timezone=Europe/Berlin "
        "lease_ttl_seconds=90 undo_window_seconds=120 (off: no limit; timezone=off: each "
        "reviewer's local zone)",
    )
    limits_set.add_argument(
        "--json", action="store_true", help='as JSON: {"changed": {NAME: [OLD, NEW]}, "limits"}'
    )

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

    add_export_command(sub, common)
    add_lead_commands(sub, common)
    add_team_command(sub, common)
    return parser


def _open(args: argparse.Namespace) -> ReviewDesk:
    return ReviewDesk.open(args.db)


def _input_file(source: str) -> AbstractContextManager[BinaryIO]:
    """The drafts to read, opened before the database so that a wrong FILE changes nothing."""
    if source == "-":
        # A closed standard input (`<&-`) is None; the caller's own stream is never closed.
        if sys.stdin is None:
            raise ConfigurationError(
                "<stdin>: standard input is closed; give a FILE or pipe one in"
            )
        return nullcontext(sys.stdin.buffer)
    path = Path(source)
    if path.is_dir():
        raise ConfigurationError(f"{source}: is a directory, not a JSON Lines file")
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ConfigurationError(f"{source}: no such file") from None
    except OSError as exc:
        raise ConfigurationError(f"{source}: cannot be opened: {exc.strerror or exc}") from None


def cmd_enqueue(args: argparse.Namespace, out: IO[str]) -> int:
    source = "<stdin>" if args.file == "-" else args.file
    with _input_file(args.file) as handle, _open(args) as desk:
        try:
            report = desk.submit_jsonl(handle, source=source)
        except (InvalidInput, SubmitConflict) as exc:
            items = exc.problems if isinstance(exc, InvalidInput) else exc.conflicts
            for item in items:
                print(f"reviewdesk: {item}", file=sys.stderr)
            print(
                f"reviewdesk: {len(items)} problem(s) in {source}; nothing was written",
                file=sys.stderr,
            )
            return 1
    print(f"{source}: {report}", file=out)
    return 0


# The exit status of `results` when it printed a result that was then undone, and retracted it.
RETRACTED_EXIT = 3


def cmd_results(args: argparse.Namespace, out: IO[str]) -> int:
    with _open(args) as desk:
        results = desk.results(
            after=args.after,
            limit=args.limit,
            include_delivered=args.include_delivered,
            unsettled=args.unsettled,
        )
        for result in results:
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        out.flush()
        if not results and not args.unsettled:
            waiting = desk.results(
                after=args.after, limit=1, include_delivered=args.include_delivered, unsettled=True
            )
            if waiting:
                print(
                    "reviewdesk: nothing settled yet; decisions inside the undo window "
                    f"({desk.undo_window:g} s) are held back until it has passed "
                    "(--unsettled prints them now)",
                    file=sys.stderr,
                )
        # Acknowledge only what was written out: delivery stays at least once.
        if args.ack and results:
            retractions = desk.ack(results).retractions
        elif args.unsettled and results:
            retractions = desk.retracted(results)
        else:
            retractions = []
        # Undone after it was printed: a consumer reading the stream learns it there.
        for retraction in retractions:
            out.write(json.dumps(retraction.to_json(), ensure_ascii=False) + "\n")
        out.flush()
    if retractions:
        n = len(retractions)
        print(
            f"reviewdesk: {n} printed result{' was' if n == 1 else 's were'} undone by "
            f"{'its reviewer' if n == 1 else 'their reviewers'} and retracted (do not send): "
            + ", ".join(f"{r.id} (cursor {r.cursor})" for r in retractions),
            file=sys.stderr,
        )
        return RETRACTED_EXIT
    return 0


def cmd_status(args: argparse.Namespace, out: IO[str]) -> int:
    with _open(args) as desk:
        counts = desk.counts()
        # One vocabulary for text and JSON: a draft claimed by a reviewer is "in review".
        shown = {
            "pending": counts.pending,
            "in review": counts.leased,
            "decided": counts.decided,
            "undelivered": counts.undelivered,
        }
        if args.json:
            document: dict[str, object] = {"database": desk.target.display}
            document.update({name.replace(" ", "_"): n for name, n in shown.items()})
            document["leased"] = counts.leased  # the name before in_review, for older readers
            out.write(json.dumps(document) + "\n")
        else:
            print(f"database:    {desk.target.display}", file=out)
            for name, n in shown.items():
                print(f"{name + ':':<12} {n}", file=out)
    return 0


def cmd_history(args: argparse.Namespace, out: IO[str]) -> int:
    with _open(args) as desk:
        history = desk.history(args.id)
    print(
        f"draft {history.draft.id} ({history.draft.category}, "
        f"thread {history.draft.thread or '-'})",
        file=out,
    )
    _print_trail(history, out)
    return 0


def _print_trail(history: History, out: IO[str]) -> None:
    for entry in history.thread:
        verdict = entry.decision.label.value if entry.decision else "pending"
        print(
            f"  thread: {entry.draft.created_at:%Y-%m-%d %H:%M} {entry.draft.id}: {verdict}",
            file=out,
        )
    for event in history.events:
        print(f"  {event.at:%Y-%m-%d %H:%M:%S} {event.kind.value:<9} {event.actor or ''}", file=out)


def cmd_show(args: argparse.Namespace, out: IO[str]) -> int:
    with _open(args) as desk:
        state = desk.state(args.id)
        history = desk.history(args.id)
    draft, result = state.draft, state.result
    if args.json:
        document = {
            "id": draft.id,
            "state": state.state,
            "in_review_by": state.holder,
            "draft": draft.draft,
            "input": draft.input,
            "context": draft.context,
            "category": draft.category,
            "risk": draft.risk.value,
            "model": draft.model,
            "confidence": draft.confidence,
            "thread": draft.thread,
            "submitted_at": draft.submitted_at.isoformat(),
            "result": result.to_json() if result else None,
            "delivered": state.delivered,
            "thread_before": [
                {
                    "id": e.draft.id,
                    "label": e.decision.label.value if e.decision else None,
                    "created_at": e.draft.created_at.isoformat(),
                }
                for e in history.thread
            ],
            "trail": [
                {"kind": e.kind.value, "at": e.at.isoformat(), "actor": e.actor}
                for e in history.events
            ],
        }
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        return 0
    facts = [draft.category, f"risk {draft.risk.value}"]
    facts += [f"model {draft.model}"] if draft.model else []
    facts += [f"confidence {draft.confidence:.2f}"] if draft.confidence is not None else []
    facts += [f"thread {draft.thread}"] if draft.thread else []
    print(f"draft {draft.id} ({', '.join(facts)})", file=out)
    print(f"submitted {draft.submitted_at:%Y-%m-%d %H:%M} UTC", file=out)
    width = output_width(out)
    print(wrapped(f"state: {_state_line(state)}", width - 2).replace("\n", "\n  "), file=out)
    _print_block("Draft", draft.draft, out, width)
    _print_block("Input", draft.input, out, width)
    if draft.context:
        _print_block("Context", json.dumps(draft.context, indent=2, ensure_ascii=False), out)
    if result is not None and result.final is not None and result.final != draft.draft:
        _print_block("Final text (sent as the result)", result.final, out, width)
    print("\nTrail:", file=out)
    _print_trail(history, out)
    return 0


def _state_line(state: DraftState) -> str:
    result = state.result
    if result is None:
        return state.state + (f" by {state.holder}" if state.holder else "")
    line = (
        f"decided: {result.label.value} by {result.reviewer} "
        f"on {result.decided_at:%Y-%m-%d %H:%M} UTC"
    )
    details = [f"reason {result.reason}"] if result.reason else []
    details += [f"severity {result.severity.value}"] if result.severity else []
    details += [f"note {result.note!r}"] if result.note else []
    if result.resolution:
        details.append(f"resolved by {result.resolved_by}: {result.resolution}")
    details.append("delivered" if state.delivered else "not delivered yet")
    return line + "; " + "; ".join(details)


def _print_block(title: str, text: str | None, out: IO[str], width: int | None = None) -> None:
    """``text`` indented under ``title``; its long lines wrapped at ``width``, if given."""
    print(f"\n{title}:", file=out)
    if text is None or not text.strip():
        print("  (none)", file=out)
        return
    for line in text.splitlines():
        if width is not None and len(line) + 2 > width:
            print(wrapped(line, width, "  "), file=out)
        else:
            print(f"  {line}".rstrip(), file=out)


def cmd_db(args: argparse.Namespace, out: IO[str]) -> int:
    target = resolve_target(args.db)
    engines = create_engines(target, create=args.db_command == "upgrade")
    try:
        if args.db_command == "upgrade":
            before, after = migrate.upgrade(engines.write)
            if before == after:
                print(f"{target.display}: already at schema {after}", file=out)
            else:
                print(f"{target.display}: upgraded from {before or 'empty'} to {after}", file=out)
        else:
            current = migrate.current_revision(engines.write)
            head = migrate.head_revision()
            state = "current" if current == head else f"needs upgrade to {head}"
            if current is not None and not migrate.is_known(current):
                raise migrate.unknown_schema(engines.write, current)
            print(f"{target.display}: schema {current or 'none'} ({state})", file=out)
    finally:
        engines.dispose()
    return 0


def cmd_password(args: argparse.Namespace, out: IO[str]) -> int:
    target = resolve_target(args.db)
    if target.dialect != "postgresql":
        raise ConfigurationError("Only PostgreSQL databases have a password; give --db URL.")
    account = target.keyring_account
    if not secrets.keyring_available():
        raise ConfigurationError(
            "No OS keyring is available here, so the password cannot be stored; "
            "ReviewDesk will ask for it instead of writing it anywhere."
        )
    if args.password_command == "set":
        password = getpass.getpass(f"Password for {account}: ")
        if not password:
            raise ConfigurationError("No password given; nothing stored.")
        secrets.set_password(account, password)
        print(f"Stored the password for {account} in the OS keyring.", file=out)
    else:
        removed = secrets.delete_password(account)
        print(
            f"{'Removed' if removed else 'There was no'} stored password for {account}.", file=out
        )
    return 0


def cmd_reasons(args: argparse.Namespace, out: IO[str]) -> int:
    with _open(args) as desk:
        before = desk.reject_reasons()
        if args.reasons_command == "list":
            for reason in before:
                print(reason, file=out)
            return 0
        if args.reasons_command == "set":
            wanted = list(args.reasons)
        elif args.reasons_command == "add":
            wanted = [*before, args.reason]
        else:
            matches = [r for r in before if r.casefold() == args.reason.strip().casefold()]
            if not matches:
                raise ConfigurationError(
                    f"reasons remove: {args.reason!r} is not a reject reason; they are: "
                    + ", ".join(before)
                )
            wanted = [r for r in before if r != matches[0]]
        after = desk.set_reject_reasons(wanted)
        _print_reason_change(before, after, out)
    return 0


def _print_reason_change(before: Sequence[str], after: Sequence[str], out: IO[str]) -> None:
    """The reasons now, marked + where new, and - for the ones no longer offered."""
    if tuple(before) == tuple(after):
        print("Reject reasons unchanged:", file=out)
    else:
        print(f"Reject reasons changed ({len(before)} before, {len(after)} now):", file=out)
    for reason in after:
        print(f"{'+' if reason not in before else ' '} {reason}", file=out)
    for reason in before:
        if reason not in after:
            print(f"- {reason}", file=out)
    kept = [r for r in after if r in before]
    if kept != [r for r in before if r in after]:
        print("(the order changed)", file=out)


def parse_limit_changes(changes: Sequence[str], current: SessionLimits) -> SessionLimits:
    """``current`` with ``NAME=VALUE`` changes applied, as typed on the command line.

    Raises ConfigurationError naming the change that is malformed or out of bounds.
    """
    parsed: dict[str, object] = {}
    known = set(current.to_json())
    for change in changes:
        name, sep, raw = change.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise ConfigurationError(
                f"limits: {change!r} is not NAME=VALUE with NAME one of " + ", ".join(sorted(known))
            )
        if name in parsed:
            raise ConfigurationError(f"limits: {name} is given twice; give it once.")
        parsed[name] = _parse_limit(name, raw.strip(), current)
    return current.with_changes(**parsed)


def _parse_limit(name: str, raw: str, current: SessionLimits) -> object:
    value = getattr(current, name)
    if raw.lower() in ("off", "none"):
        if name in SECONDS_BOUNDS:
            raise ConfigurationError(f"limits: {name} cannot be off; give a number of seconds.")
        if name not in _MAY_BE_OFF:
            raise ConfigurationError(f"limits: {name} cannot be off; give a number.")
        return None
    if name == "timezone":
        return raw
    try:
        number = float(raw)
    except ValueError:
        raise ConfigurationError(f"limits: {name}={raw!r} is not a number (or 'off').") from None
    if not math.isfinite(number):
        raise ConfigurationError(f"limits: {name}={raw} is not a finite number.")
    if isinstance(value, int) or name in _INTEGER_LIMITS:
        if not number.is_integer():
            raise ConfigurationError(f"limits: {name} takes a whole number, not {raw}.")
        return int(number)
    return number


# The limits whose field takes None (off); the rest always hold a number.
_MAY_BE_OFF = {f.name for f in fields(SessionLimits) if "None" in str(f.type)}
_INTEGER_LIMITS = {
    "reviews_per_session",
    "sessions_per_day",
    "reviews_per_day",
    "max_same_category",
    "fast_approvals_to_flag",
    "day_starts_hour",
}


def cmd_limits(args: argparse.Namespace, out: IO[str]) -> int:
    with _open(args) as desk:
        before = desk.session_limits()
        after = before
        if args.limits_command == "set":
            # Parsed and checked whole before anything is stored: a refused change stores none.
            after = parse_limit_changes(args.changes, before)
            desk.set_session_limits(after)
    old, new = before.to_json(), after.to_json()
    changed = {name: (old[name], new[name]) for name in new if old[name] != new[name]}
    if args.json:
        document: dict[str, object] = new
        if args.limits_command == "set":
            document = {"changed": {n: list(v) for n, v in changed.items()}, "limits": new}
        out.write(json.dumps(document) + "\n")
    elif args.limits_command == "set":
        _print_limit_changes(changed, out)
    else:
        for name, value in new.items():
            print(f"{name:<24} {_limit_text(name, value)}", file=out)
    return 0


def _limit_text(name: str, value: object) -> str:
    if value is not None:
        return str(value)
    if name == "timezone":
        # Review days are computed where the desk runs, in that machine's zone.
        return f"off: each reviewer's local zone (here {local_zone_name()})"
    return "off"


def _print_limit_changes(changed: dict[str, tuple[object, object]], out: IO[str]) -> None:
    if not changed:
        print("Limits unchanged.", file=out)
        return
    print(f"Limits changed ({len(changed)}):", file=out)
    for name, (before, after) in changed.items():
        print(f"  {name:<24} {_limit_text(name, before)} -> {_limit_text(name, after)}", file=out)


def local_zone_name() -> str:
    """This machine's time zone by its IANA name where it can be found (TZ, /etc/localtime),
    else as the system names it, with its offset."""
    configured = os.environ.get("TZ", "").removeprefix(":")
    if configured and "/" in configured and not configured.startswith("/"):
        return configured
    localtime = Path(configured or "/etc/localtime")
    try:
        target = str(localtime.resolve(strict=True))
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        return target.split("zoneinfo/", 1)[1]
    now = datetime.now().astimezone()
    return f"{now.tzname()}, UTC{now:%z}"


def cmd_session(args: argparse.Namespace, out: IO[str]) -> int:
    with _open(args) as desk:
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
    with _open(args) as desk:
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
    "enqueue": cmd_enqueue,
    "results": cmd_results,
    "status": cmd_status,
    "history": cmd_history,
    "show": cmd_show,
    "demo": cmd_demo,
    "db": cmd_db,
    "password": cmd_password,
    "reasons": cmd_reasons,
    "limits": cmd_limits,
    "session": cmd_session,
    "gold": cmd_gold,
    "export": cmd_export,
}
COMMANDS.update(LEAD_COMMANDS)
COMMANDS.update(TEAM_COMMANDS)


def run(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """Run a parsed non-GUI command; returns the exit code."""
    out = out or sys.stdout
    try:
        return COMMANDS[args.command](args, out)
    except ReviewDeskError as exc:
        print(f"reviewdesk: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of ours
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(getattr(args, "verbose", False))
    return run(args)
