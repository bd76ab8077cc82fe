"""The edit's changes, word by word (plain Python, no Qt)."""

from __future__ import annotations

import itertools

import pytest

from reviewdesk.ui.word_diff import Piece, word_diff


def _rebuilt(pieces: list[Piece], dropped: str) -> str:
    return "".join(p.text for p in pieces if p.kind != dropped)


def test_a_changed_word_is_marked_alone() -> None:
    assert word_diff("Your refund was issued on 3 May.", "Your refund was issued on 5 May.") == [
        Piece("same", "Your refund was issued on "),
        Piece("deleted", "3"),
        Piece("inserted", "5"),
        Piece("same", " May."),
    ]


def test_a_changed_comma_leaves_its_word_alone() -> None:
    assert word_diff("Hello, Anna", "Hello Anna") == [
        Piece("same", "Hello"),
        Piece("deleted", ","),
        Piece("same", " Anna"),
    ]


@pytest.mark.parametrize(
    ("original", "edited"),
    [
        ("", "New text."),
        ("Old text.", ""),
        ("same", "same"),
        ("a b a b a", "b a b a b"),
        ("one\ntwo\nthree", "one\n2\nthree\nfour"),
        ("x" * 3000, "x" * 2999 + "y"),
        ("Dear Anna, your order 1234 ships today.", "Dear Ana, your order 12345 ships tomorrow!"),
    ],
)
def test_the_pieces_give_back_both_texts(original: str, edited: str) -> None:
    pieces = word_diff(original, edited)
    assert _rebuilt(pieces, "inserted") == original
    assert _rebuilt(pieces, "deleted") == edited
    assert all(p.text for p in pieces)
    assert all(a.kind != b.kind for a, b in itertools.pairwise(pieces))
    if original == edited:
        assert all(p.kind == "same" for p in pieces)
