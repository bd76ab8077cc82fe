"""Who a person is: one canonical spelling of a reviewer's name, on both engines.

"Ana", "ana " and "ANA" are one person. A name is compared and stored in its canonical form:
Unicode NFC, surrounding whitespace stripped, case folded (``str.casefold``, which also folds
e.g. German sharp s), and NFC again (folding can leave a string unnormalized). On a shared
PostgreSQL database the canonical name is also the person's login role (docs/security.md).
"""

from __future__ import annotations

import unicodedata

from reviewdesk.core.errors import InvalidArgument

NAME_MAX_LENGTH = 200
# PostgreSQL truncates identifiers beyond 63 bytes: a login role's name must fit.
ROLE_NAME_MAX_BYTES = 63


def canonical_name(name: str) -> str:
    """The canonical form of a person's name (see the module docstring); no validation."""
    folded = unicodedata.normalize("NFC", name).strip().casefold()
    return unicodedata.normalize("NFC", folded)


def reviewer_name(name: object, *, what: str = "reviewer") -> str:
    """A validated, canonical person's name. Raises InvalidArgument naming ``what``."""
    if not isinstance(name, str):
        raise InvalidArgument(f"A {what} name must be text, not {type(name).__name__}.")
    canonical = canonical_name(name)
    if not canonical or len(canonical) > NAME_MAX_LENGTH:
        raise InvalidArgument(f"A {what} name is required (1 to {NAME_MAX_LENGTH} characters).")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in canonical):
        raise InvalidArgument(f"A {what} name cannot contain control or invisible characters.")
    return canonical


def login_name(name: str) -> str:
    """A canonical name that can also be a PostgreSQL login role (``reviewdesk team add``)."""
    canonical = reviewer_name(name, what="team member")
    if len(canonical.encode()) > ROLE_NAME_MAX_BYTES:
        raise InvalidArgument(
            f"Team member name {canonical!r} is too long for a database login "
            f"(at most {ROLE_NAME_MAX_BYTES} bytes)."
        )
    if canonical.startswith("pg_"):
        raise InvalidArgument(
            f"Team member name {canonical!r} cannot start with 'pg_' (reserved by PostgreSQL)."
        )
    return canonical
