"""The command line's shared options and the ``gui`` command's arguments.

Apart from entry.py so that ``reviewdesk gui`` parses its arguments without importing every
command's services (export, statistics): the desk's start-up time is a reviewer's wait.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from reviewdesk import __version__


def base_parser() -> tuple[
    argparse.ArgumentParser,
    argparse._SubParsersAction[argparse.ArgumentParser],
    argparse.ArgumentParser,
]:
    """The top-level parser, its sub-command set, and the options every command takes."""
    db_help = (
        "database URL (sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB); "
        "default: $REVIEWDESK_DATABASE_URL, else the embedded database"
    )
    # --db and -v go before the command or after it. After it, SUPPRESS keeps a sub-command's
    # parser from overwriting a value given before with its own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=db_help)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log what happens"
    )

    parser = argparse.ArgumentParser(
        prog="reviewdesk",
        description="Put a person between an AI system and its users.",
    )
    parser.add_argument("--version", action="version", version=f"reviewdesk {__version__}")
    parser.add_argument("--db", metavar="URL", help=db_help)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, sub, common


def add_gui_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    gui = sub.add_parser("gui", parents=[common], help="open the reviewer's desk")
    gui.add_argument("--reviewer", help="reviewer name (default: from settings, else the OS user)")
    gui.add_argument(
        "--demo-team",
        action="store_true",
        help="open the team demo (built first if needed, see 'reviewdesk demo --team') with the "
        "lead view on, for this run only; your own database and settings are not touched",
    )
    gui.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="wait for the first draft, save a PNG of the window to PATH, and exit",
    )


def command_word(words: Sequence[str]) -> str | None:
    """The command in ``words``, past the options every command takes before it (--db, -v)."""
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word == "--db":
            skip_next = True
        elif word in ("-v", "--verbose") or word.startswith("--db="):
            continue
        else:
            return word
    return None


def gui_parser() -> argparse.ArgumentParser:
    """A parser that knows only ``gui``: what ``reviewdesk gui ...`` needs."""
    parser, sub, common = base_parser()
    add_gui_command(sub, common)
    return parser


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
