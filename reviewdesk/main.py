"""The ``reviewdesk`` command: the CLI, or the Qt desk for ``reviewdesk gui``.

This is the composition root above both front ends, so that the CLI never imports Qt, and the
desk never imports the other commands.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from reviewdesk.cli_args import configure_logging, gui_parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["gui"]:
        args = gui_parser().parse_args(words)
        configure_logging(args.verbose)
        from reviewdesk.ui import system_libraries

        if (problem := system_libraries.check()) is not None:
            print(problem, file=sys.stderr)
            return 1
        from reviewdesk.ui.app import run_gui

        code: int = run_gui(args)
        return code
    from reviewdesk import cli

    args = cli.build_parser().parse_args(words)
    configure_logging(getattr(args, "verbose", False))
    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
