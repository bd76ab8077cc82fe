"""What an edit changed, word by word: the text in one flow, each piece kept, deleted or
inserted. Plain Python; the editor colours the pieces.

Words, runs of white space and single punctuation marks are the tokens, so that a changed word
is marked alone and a changed comma does not take its word along.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

PieceKind = Literal["same", "deleted", "inserted"]
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Piece:
    kind: PieceKind
    text: str


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(original: str, edited: str) -> list[Piece]:
    """``original`` turned into ``edited``: deleted pieces come before the inserted ones that
    replace them. Joining the same and deleted pieces gives ``original``; the same and inserted
    ones give ``edited``."""
    before, after = tokens(original), tokens(edited)
    # An edit is usually local: what is the same at both ends is not compared (difflib's cost
    # grows with the product of the lengths compared, and a draft may be long).
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(before), len(after)) - head
        and before[len(before) - 1 - tail] == after[len(after) - 1 - tail]
    ):
        tail += 1
    pieces: list[Piece] = []
    _add(pieces, "same", before[:head])
    middle_before = before[head : len(before) - tail]
    middle_after = after[head : len(after) - tail]
    matcher = difflib.SequenceMatcher(None, middle_before, middle_after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            _add(pieces, "same", middle_before[i1:i2])
        else:
            _add(pieces, "deleted", middle_before[i1:i2])
            _add(pieces, "inserted", middle_after[j1:j2])
    _add(pieces, "same", before[len(before) - tail :])
    return pieces


def _add(pieces: list[Piece], kind: PieceKind, parts: list[str]) -> None:
    text = "".join(parts)
    if not text:
        return
    if pieces and pieces[-1].kind == kind:
        pieces[-1] = Piece(kind, pieces[-1].text + text)
    else:
        pieces.append(Piece(kind, text))


def changed(pieces: list[Piece]) -> bool:
    return any(piece.kind != "same" for piece in pieces)
