"""The command line: parse, run one command, report errors as one clear line each.

Every command takes ``--db URL`` before or after its name, else ``REVIEWDESK_DATABASE_URL``, else
the embedded database. Errors go to stderr as one clear message each; the exit code is 1. The
commands live one group a module beside this one: producing, reviewing, leading, export, admin,
demo, policy, alerts (and live: results --follow), team.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import IO

from reviewdesk.cli import admin, alerts, demo, export, leading, policy, producing, reviewing, team
from reviewdesk.cli.args import add_gui_command, base_parser, configure_logging
from reviewdesk.core.errors import ReviewDeskError

Command = Callable[[argparse.Namespace, IO[str]], int]


def build_parser() -> argparse.ArgumentParser:
    parser, sub, common = base_parser()
    add_gui_command(sub, common)
    producing.add_producing_commands(sub, common)
    demo.add_demo_command(sub, common)
    admin.add_admin_commands(sub, common)
    reviewing.add_reviewing_commands(sub, common)
    export.add_export_command(sub, common)
    leading.add_lead_commands(sub, common)
    policy.add_policy_command(sub, common)
    alerts.add_alert_commands(sub, common)
    team.add_team_command(sub, common)
    return parser


COMMANDS: dict[str, Command] = {
    **producing.COMMANDS,
    "demo": demo.cmd_demo,
    **admin.COMMANDS,
    **reviewing.COMMANDS,
    "export": export.cmd_export,
    **leading.LEAD_COMMANDS,
    "policy": policy.cmd_policy,
    **alerts.ALERT_COMMANDS,
    **team.TEAM_COMMANDS,
}


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
