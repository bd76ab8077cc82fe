"""Privacy of exports: pseudonymous reviewers and optional redaction of personal data.

Pseudonyms are HMAC-SHA256 of the reviewer's name, keyed by a secret that this installation keeps
in the OS keyring per database; without a keyring, by a random salt made for one export (then the
pseudonyms are stable within that export only, and the dataset card says so).

Redaction replaces what it finds with a placeholder ("[EMAIL]", "[IBAN]", "[CARD]", "[PHONE]").
Card numbers must pass the Luhn check and IBANs the ISO 13616 mod-97 check, so that order numbers
and dates are left alone; phone numbers are found by Google's libphonenumber rules
(``phonenumbers``), which run offline. docs/export.md lists what is caught and what is not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as random_secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import phonenumbers

from reviewdesk.config import secrets
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.storage.engine import DatabaseTarget

PSEUDONYM_ACCOUNT = "export-pseudonym-key@{identity}"
PSEUDONYM_PREFIX = "r-"
PseudonymScope = Literal["installation", "export"]


def database_identity(target: DatabaseTarget) -> str:
    """Names the database, not the person connecting: no user name, no password."""
    url = target.url
    if target.dialect == "sqlite":
        return f"sqlite:{Path(url.database or '').resolve()}"
    return f"postgresql://{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


class _PseudonymTable(dict[str, str]):
    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._key = key

    def __missing__(self, name: str) -> str:
        digest = hmac.new(self._key, name.encode(), hashlib.sha256).hexdigest()
        found = self[name] = PSEUDONYM_PREFIX + digest[:16]
        return found


class Pseudonymizer:
    """Turns reviewer names into stable pseudonyms, ``r-`` and 16 hex digits (64 bits)."""

    def __init__(self, key: bytes, scope: PseudonymScope) -> None:
        self.key = key  # handed to a parallel export's worker processes, which use the same
        self.scope = scope
        # Names seen so far: a handful of reviewers, looked up once per record.
        self.table: dict[str, str] = _PseudonymTable(key)

    @classmethod
    def for_database(cls, target: DatabaseTarget) -> Pseudonymizer:
        """Keyed by this installation's secret for ``target``, else by a per-export salt."""
        secret = secrets.get_or_create_secret(
            PSEUDONYM_ACCOUNT.format(identity=database_identity(target))
        )
        if secret is None:
            return cls(random_secrets.token_bytes(32), "export")
        return cls(secret.encode(), "installation")

    def __call__(self, name: str) -> str:
        return self.table[name]


# -- redaction -------------------------------------------------------------------------------

EMAIL = "[EMAIL]"
IBAN = "[IBAN]"
CARD = "[CARD]"
PHONE = "[PHONE]"
REDACTION_KINDS = ("email", "iban", "card", "phone")

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
# Two letters, two check digits, then 11..30 letters or digits: written solid, or in the usual
# groups of four separated by single spaces.
_IBAN_RE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}"
    r"(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)(?![A-Za-z0-9])"
)
_DIGIT_RE = re.compile(r"\d")
# 13 to 19 digits, optionally in groups separated by single spaces or hyphens.
_CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# libphonenumber only judges the stretches that could be a phone number (it is slow on whole
# texts): seven or more digits with the usual punctuation between, a leading + or (.
_PHONE_CANDIDATE_RE = re.compile(r"[+(]?\d(?:[ \t().\-/]{0,3}\d){6,}\)?")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 == 1."""
    if not 15 <= len(iban) <= 34:
        return False
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


@dataclass(frozen=True)
class RedactionSettings:
    """``phone_regions``: countries whose national formats count as phone numbers (numbers
    written with +country code are found whatever the list)."""

    phone_regions: tuple[str, ...] = ("US",)

    def __post_init__(self) -> None:
        supported = phonenumbers.SUPPORTED_REGIONS
        bad = [r for r in self.phone_regions if r not in supported]
        if bad:
            raise InvalidArgument(
                f"Unknown phone region(s) {', '.join(bad)}: use two-letter country codes "
                "such as US, GB, DE, FR."
            )


class Redactor:
    """Replaces e-mail addresses, IBANs, payment card numbers and phone numbers in text."""

    def __init__(self, settings: RedactionSettings | None = None) -> None:
        self.settings = settings or RedactionSettings()
        self.counts: Counter[str] = Counter()

    def text(self, value: str) -> str:
        if not value:
            return value
        if "@" in value:
            value, n = _EMAIL_RE.subn(EMAIL, value)
            self.counts["email"] += n
        if _DIGIT_RE.search(value) is None:
            return value
        value = _IBAN_RE.sub(self._iban, value)
        value = _CARD_RE.sub(self._card, value)
        return self._phones(value)

    def value(self, value: Any) -> Any:
        """Strings anywhere inside JSON-like data (dict keys stay as they are)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def _iban(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        # A word of four capitals after an IBAN written in groups looks like one more group:
        # drop trailing groups until the checksum holds.
        parts = raw.split(" ")
        while parts:
            if iban_valid("".join(parts)):
                self.counts["iban"] += 1
                rest = raw[len(" ".join(parts)) :]
                return IBAN + rest
            if len(parts) <= 3:
                break
            parts.pop()
        return raw

    def _card(self, match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            self.counts["card"] += 1
            return CARD
        return match.group(0)

    def _phones(self, value: str) -> str:
        return _PHONE_CANDIDATE_RE.sub(self._phone, value)

    def _phone(self, match: re.Match[str]) -> str:
        candidate = match.group(0)
        for region in self.settings.phone_regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                self.counts["phone"] += 1
                return PHONE
        return candidate
