"""What redaction catches and what it leaves, as documented in docs/export.md, and pseudonyms."""

from __future__ import annotations

import pytest

from reviewdesk.services.export.privacy import (
    Pseudonymizer,
    RedactionSettings,
    Redactor,
    iban_valid,
    luhn_valid,
)

CAUGHT = [
    # e-mail addresses
    ("write to ana@example.com today", "write to [EMAIL] today"),
    ("ana.perez+refunds@mail.example.co.uk.", "[EMAIL]."),
    ("<jörg_ö@bücher.example>", "<[EMAIL]>"),
    # payment card numbers (Luhn valid, 13 to 19 digits, spaces or hyphens)
    ("visa 4111111111111111", "visa [CARD]"),
    ("card: 4111 1111 1111 1111.", "card: [CARD]."),
    ("mc 5555-5555-5555-4444 ok", "mc [CARD] ok"),
    ("amex 3782 822463 10005", "amex [CARD]"),
    # IBANs (mod-97 valid), solid or in groups of four
    ("IBAN DE89 3704 0044 0532 0130 00, thanks", "IBAN [IBAN], thanks"),
    ("GB82 WEST 1234 5698 7654 32", "[IBAN]"),
    ("to NL91ABNA0417164300.", "to [IBAN]."),
    ("FR76 3000 6000 0112 3456 7890 189 ABCD", "[IBAN] ABCD"),
    # phone numbers: international anywhere, national formats of the configured region (US)
    ("call +44 20 7946 0958 now", "call [PHONE] now"),
    ("call (415) 555-0132 now", "call [PHONE] now"),
    ("+1-415-555-0132", "[PHONE]"),
    ("Berlin: +49 30 901820", "Berlin: [PHONE]"),
]

LEFT_ALONE = [
    # Not Luhn valid: an order number of card length
    "order 1234 5678 9012 3456",
    # Too short for a card, no phone either
    "ticket 113542617",
    # Dates and times
    "on 2026-01-05 at 09:30",
    # IBAN with a wrong check digit, and lower-case IBANs (documented: not caught)
    "DE00 3704 0044 0532 0130 00",
    "de89 3704 0044 0532 0130 00",
    # A national number of a region not configured (German format, region US)
    "Ruf an: 030 901820",
    # Obfuscated e-mail addresses (documented: not caught)
    "ana at example dot com",
    # Names and street addresses (documented: not caught)
    "Ana Pérez, 12 Main Street, Springfield",
]


@pytest.mark.parametrize(("text", "expected"), CAUGHT)
def test_redaction_catches(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_redaction_leaves(text: str) -> None:
    assert Redactor().text(text) == text


def test_national_formats_of_configured_regions() -> None:
    redactor = Redactor(RedactionSettings(phone_regions=("US", "DE")))
    assert redactor.text("Ruf an: 030 901820") == "Ruf an: [PHONE]"
    assert redactor.text("call (415) 555-0132") == "call [PHONE]"
    assert redactor.counts["phone"] == 2


def test_unknown_regions_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Unknown phone region"):
        RedactionSettings(phone_regions=("XX",))


def test_redaction_walks_nested_context_and_counts() -> None:
    redactor = Redactor()
    context = {
        "customer": {"email": "a@b.example", "cards": ["4111 1111 1111 1111", 42, None]},
        "note@key": "keys stay",
        "ok": True,
    }
    assert redactor.value(context) == {
        "customer": {"email": "[EMAIL]", "cards": ["[CARD]", 42, None]},
        "note@key": "keys stay",
        "ok": True,
    }
    assert redactor.counts == {"email": 1, "card": 1}


def test_check_digit_algorithms() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE88370400440532013000")
    assert not iban_valid("DE89")


def test_pseudonyms_are_keyed_and_stable() -> None:
    one = Pseudonymizer(b"k" * 32, "installation")
    assert one("ana") == one("ana") == Pseudonymizer(b"k" * 32, "installation")("ana")
    assert one("ana") != one("bo")
    assert one("ana") != Pseudonymizer(b"other", "installation")("ana")
    assert one("ana").startswith("r-") and len(one("ana")) == 18
