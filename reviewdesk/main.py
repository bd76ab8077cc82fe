"""The ``reviewdesk`` command: the CLI, or the Qt desk for ``reviewdesk gui``.

This is the composition root above both front ends, so that the CLI never imports Qt, and the
desk never imports the other commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reviewdesk.cli.args import command_word, configure_logging, gui_parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if command_word(words) == "gui":
        args = gui_parser().parse_args(words)
        configure_logging(args.verbose)
        from reviewdesk.ui import system_libraries

        if (problem := system_libraries.check()) is not None:
            print(problem, file=sys.stderr)
            return 1
        if args.demo_team and (problem := _open_team_demo(args)) is not None:
            print(problem, file=sys.stderr)
            return 1
        from reviewdesk.ui.app import run_gui

        code: int = run_gui(args)
        return code
    from reviewdesk.cli import entry

    args = entry.build_parser().parse_args(words)
    configure_logging(getattr(args, "verbose", False))
    return entry.run(args)


def _open_team_demo(args: argparse.Namespace) -> str | None:
    """``gui --demo-team``: build or reuse the team demo on the terminal, before the window
    opens, and point ``args.db`` at it. Returns what went wrong, if anything."""
    if args.db:
        return "reviewdesk: --demo-team opens the team demo's own database; leave out --db."
    from reviewdesk.cli.demo import prepare_team_demo
    from reviewdesk.core.errors import ReviewDeskError

    try:
        args.db = prepare_team_demo(None, rebuild=False, err=sys.stderr).url
    except ReviewDeskError as exc:
        return f"reviewdesk: {exc}"
    except KeyboardInterrupt:
        return "\nreviewdesk: stopped; no team demo was kept."
    return None


if __name__ == "__main__":
    sys.exit(main())
