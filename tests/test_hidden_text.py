"""Characters that can hide or reorder text are shown, one symbol or tag each, and counted: the
one definition (reviewdesk.core.hidden_text) behind everything the desk and the lead view show.
(The desk's window and the lead's inbox: tests/ui/test_hidden_characters.py.)"""

from __future__ import annotations

import pytest

from reviewdesk.core.hidden_text import hidden_characters, hidden_count, reveal

# Every class, with each of its code points.
CLASSES: dict[str, list[int]] = {
    "C0 controls": [c for c in range(0x20) if chr(c) not in "\t\n"],
    "DEL and C1 controls": [0x7F, *range(0x80, 0xA0)],
    "bidi marks": [0x200E, 0x200F, 0x061C],
    "bidi embeddings and overrides": list(range(0x202A, 0x202F)),
    "bidi isolates": list(range(0x2066, 0x206A)),
    "zero-width characters": [0x200B, 0x200C, 0x200D],
    "word joiner": [0x2060],
    "zero-width no-break space (BOM)": [0xFEFF],
    "soft hyphen": [0x00AD],
    "tag characters": list(range(0xE0000, 0xE0080)),
}


@pytest.mark.parametrize("name", CLASSES)
def test_each_hidden_character_is_shown_and_counted(name: str) -> None:
    for code in CLASSES[name]:
        text = f"pay{chr(code)}now"
        shown = reveal(text)
        assert chr(code) not in shown, f"U+{code:04X} ({name}) is not revealed"
        assert shown.startswith("pay") and shown.endswith("now")
        assert hidden_count(text) == 1, f"U+{code:04X} ({name}) is not counted"
        assert hidden_characters(text) == {shown[3:-3]: 1}
        # What is shown holds nothing that is itself hidden.
        assert hidden_count(shown) == 0


def test_the_visible_forms() -> None:
    assert reveal("a\u200eb\u200fc\u061cd") == "a⟦LRM⟧b⟦RLM⟧c⟦ALM⟧d"
    assert reveal("\u202a\u202b\u202c\u202d\u202e") == "⟦LRE⟧⟦RLE⟧⟦PDF⟧⟦LRO⟧⟦RLO⟧"
    assert reveal("\u2066\u2067\u2068\u2069") == "⟦LRI⟧⟦RLI⟧⟦FSI⟧⟦PDI⟧"
    assert reveal("a\u200bb\u200cc\u200dd\u2060e\ufefff\u00adg") == (
        "a⟦ZWSP⟧b⟦ZWNJ⟧c⟦ZWJ⟧d⟦WJ⟧e⟦BOM⟧f⟦SHY⟧g"
    )
    # Tag characters spell ASCII that no one sees: show which.
    smuggled = "".join(chr(0xE0000 + ord(c)) for c in "Hi 5")
    assert reveal(f"ok\U000e0001{smuggled}\U000e007f") == (
        "ok⟦LANGUAGE TAG⟧⟦TAG H⟧⟦TAG i⟧⟦TAG SPACE⟧⟦TAG 5⟧⟦CANCEL TAG⟧"
    )
    assert reveal("\U000e0000\U000e001f") == "⟦U+E0000⟧⟦U+E001F⟧"
    assert reveal("\x1b[31m\x7f\x85") == "␛[31m␡⟦U+0085⟧"


def test_counted_by_kind_with_crlf_a_line_break() -> None:
    text = "a\u202eb\u202ec\u200b\r\nd\re"
    assert reveal(text) == "a⟦RLO⟧b⟦RLO⟧c⟦ZWSP⟧\nd␍e"
    assert hidden_count(text) == 4
    assert hidden_characters(text) == {"⟦RLO⟧": 2, "⟦ZWSP⟧": 1, "␍": 1}


def test_ordinary_text_is_left_as_it_is() -> None:
    ordinary = (
        "Tab\tand newline\n, café, naïve, 東京, مرحبا بك, שלום, Ελληνικά, emoji 😀👍, "
        "no-break\u00a0space, em—dash, “quotes”, ½ ≠ ⅓, ➜ ⟦brackets⟧"
    )
    assert reveal(ordinary) == ordinary and hidden_count(ordinary) == 0
