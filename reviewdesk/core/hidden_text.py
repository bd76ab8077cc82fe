"""Characters that can hide or reorder text, and the visible form each is shown in instead.

A reviewer approves what they saw, so what they see must be what is there. Control characters,
bidirectional marks and overrides ("Trojan source"), zero-width characters and Unicode tag
characters (which spell invisible ASCII, a way to smuggle instructions to a model) are shown as
symbols or tags such as ``␛``, ``⟦RLO⟧`` or ``⟦TAG a⟧``, never obeyed. This is the one
definition; the desk, the lead view and anything else that shows producer text use it through
``reviewdesk.ui.text.display_text``.

Legitimate text uses some of these (a zero-width joiner inside an emoji sequence, a
non-joiner in Persian, tag characters in a subdivision flag): they are revealed too, since the
same characters can hide text elsewhere, and revealing never changes what is stored or sent.
"""

from __future__ import annotations

import re
from collections import Counter

# C0 controls (except tab and newline) and DEL become their visible "control pictures".
_CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\t\n"}
_CONTROL_PICTURES[0x7F] = "\u2421"


def _tag(name: str) -> str:
    return f"\u27e6{name}\u27e7"


# C1 controls have no pictures: show the code point.
_C1 = {code: _tag(f"U+{code:04X}") for code in range(0x80, 0xA0)}
# Marks, embeddings, overrides and isolates that make text read differently from what it is.
_BIDI_NAMES = {
    0x061C: "ALM",
    0x200E: "LRM",
    0x200F: "RLM",
    0x202A: "LRE",
    0x202B: "RLE",
    0x202C: "PDF",
    0x202D: "LRO",
    0x202E: "RLO",
    0x2066: "LRI",
    0x2067: "RLI",
    0x2068: "FSI",
    0x2069: "PDI",
}
# Characters that take no room: text can hide between them, and look-alike strings differ.
_INVISIBLE_NAMES = {
    0x00AD: "SHY",  # soft hyphen
    0x200B: "ZWSP",
    0x200C: "ZWNJ",
    0x200D: "ZWJ",
    0x2060: "WJ",  # word joiner
    0xFEFF: "BOM",  # zero-width no-break space, the byte order mark
}


def _tag_character(code: int) -> str:
    """U+E0020..U+E007E mirror printable ASCII: show which letter they spell."""
    if code == 0xE0001:
        return _tag("LANGUAGE TAG")
    if code == 0xE007F:
        return _tag("CANCEL TAG")
    if 0xE0021 <= code <= 0xE007E:
        return _tag(f"TAG {chr(code - 0xE0000)}")
    if code == 0xE0020:
        return _tag("TAG SPACE")
    return _tag(f"U+{code:05X}")


_TAGS = {code: _tag_character(code) for code in range(0xE0000, 0xE0080)}

# Code point -> what is shown instead.
REVEALED: dict[int, str] = {
    **_CONTROL_PICTURES,
    **_C1,
    **{code: _tag(name) for code, name in _BIDI_NAMES.items()},
    **{code: _tag(name) for code, name in _INVISIBLE_NAMES.items()},
    **_TAGS,
}

_HIDDEN = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(REVEALED)) + "]")


def reveal(text: str) -> str:
    """``text`` as shown: CRLF line breaks as newlines, every hidden character made visible."""
    return text.replace("\r\n", "\n").translate(REVEALED)


def hidden_characters(text: str) -> Counter[str]:
    """What ``reveal`` makes visible in ``text``, by its visible form (the CR of a CRLF is a
    line break, not hidden)."""
    return Counter(REVEALED[ord(c)] for c in _HIDDEN.findall(text.replace("\r\n", "\n")))


def hidden_count(text: str) -> int:
    """How many characters ``reveal`` makes visible in ``text``."""
    return len(_HIDDEN.findall(text.replace("\r\n", "\n")))
