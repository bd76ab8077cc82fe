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
        # The desk window is not built yet: show the queue it would open on.
        args.json = False
        args.command = "status"
    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
