"""``reviewdesk team``: who may log in to a shared database, and with which role.

Wired into ``reviewdesk.cli`` by ``add_team_command(sub, common)`` and ``TEAM_COMMANDS``.
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from typing import IO

from reviewdesk.core.errors import ConfigurationError
from reviewdesk.services import team
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.storage.security_sql import new_password


def add_team_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``team`` on the CLI's subcommands (``common`` carries --db and -v)."""
    parser = sub.add_parser(
        "team",
        help="team members and their roles on a shared PostgreSQL database (admins)",
        description="Each person logs in with their own database role; its group (reviewer, "
        "lead, producer, admin) says what they may do. See docs/security.md.",
    )
    team_sub = parser.add_subparsers(dest="team_command", required=True)
    add = team_sub.add_parser("add", parents=[common], help="add a person with a role")
    add.add_argument("name", help="the person's name, which becomes their login")
    add.add_argument("--role", required=True, choices=team.GROUPS)
    add.add_argument(
        "--generate-password",
        action="store_true",
        help="generate the initial password and show it once (default: ask for it)",
    )
    team_sub.add_parser("list", parents=[common], help="everyone, with their role")
    set_role = team_sub.add_parser("set-role", parents=[common], help="change a person's role")
    set_role.add_argument("name")
    set_role.add_argument("role", choices=team.GROUPS)
    remove = team_sub.add_parser("remove", parents=[common], help="take a person off the team")
    remove.add_argument("name")


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(the initial password, whether it was generated)."""
    if args.generate_password:
        return new_password(), True
    first = getpass.getpass(f"Initial password for {args.name}: ")
    if not first:
        raise ConfigurationError("No password given; nobody was added.")
    if getpass.getpass("Again: ") != first:
        raise ConfigurationError("The two passwords differ; nobody was added.")
    return first, False


def cmd_team(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        if args.team_command == "list":
            members = team.members(desk)
            if not members:
                print("Nobody is on the team yet: add people with 'reviewdesk team add'.", file=out)
            for member in members:
                login = "" if member.can_login else "  (cannot log in)"
                print(f"{member.name}\t{member.role}{login}", file=out)
            return 0
        if args.team_command == "add":
            team.members(desk)  # a SQLite database says so before a password is asked for
            password, generated = _password(args)
            login = team.add(desk, args.name, args.role, password)
            print(f"Added {login} as {args.role}.", file=out)
            if generated:
                print(f"Initial password (shown once): {password}", file=out)
            print(
                f"{login} connects with --db URL as user {login!r} and stores the password "
                "with 'reviewdesk password set'.",
                file=out,
            )
            return 0
        if args.team_command == "set-role":
            login = team.set_role(desk, args.name, args.role)
            print(f"{login} is now {args.role}.", file=out)
            return 0
        login = team.remove(desk, args.name)
        print(f"Removed {login} from the team; their history stays, under their name.", file=out)
        return 0


TEAM_COMMANDS: dict[str, Callable[[argparse.Namespace, IO[str]], int]] = {"team": cmd_team}
