"""The ``reviewdesk`` command: the CLI, or the Qt desk for ``reviewdesk gui``.

This is the composition root above both front ends, so that the CLI never imports Qt.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from reviewdesk import cli


def main(argv: Sequence[str] | None = None) -> int:
    args = cli.build_parser().parse_args(argv)
    cli.configure_logging(getattr(args, "verbose", False))
    if args.command == "gui":
        from reviewdesk.ui.app import run_gui

        code: int = run_gui(args)
        return code
    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
