"""Administering: the schema, the stored password, the team's reject reasons and limits."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import IO

from reviewdesk.config import secrets
from reviewdesk.core.errors import ConfigurationError
from reviewdesk.core.sessions import SECONDS_BOUNDS, SessionLimits
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.storage import migrate
from reviewdesk.storage.engine import create_engines, resolve_target


def add_admin_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
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
    with ReviewDesk.open(args.db) as desk:
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
    with ReviewDesk.open(args.db) as desk:
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


COMMANDS: dict[str, Callable[[argparse.Namespace, IO[str]], int]] = {
    "db": cmd_db,
    "password": cmd_password,
    "reasons": cmd_reasons,
    "limits": cmd_limits,
}
