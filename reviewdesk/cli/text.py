"""Text for a terminal, a file or a pipe: the width to fit, paragraphs wrapped to it."""

from __future__ import annotations

import shutil
import textwrap
from typing import IO

# Tables fit this many columns when the output is not a terminal (a file, a pipe, a test).
DEFAULT_WIDTH = 100


def output_width(out: IO[str]) -> int:
    """The terminal's width when ``out`` is one, else DEFAULT_WIDTH."""
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return max(60, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return DEFAULT_WIDTH


def wrapped(text: str, width: int, indent: str = "") -> str:
    return textwrap.fill(
        text, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    )
