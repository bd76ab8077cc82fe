"""Database passwords in the OS keyring: never in a settings file, never in a log.

The keyring entry is service ``reviewdesk``, username ``user@host:port/database``. Exports keep
their pseudonym key there too (``export-pseudonym-key@<database>``, see docs/export.md).
"""

from __future__ import annotations

import logging
from secrets import token_hex
from types import ModuleType

SERVICE = "reviewdesk"
log = logging.getLogger(__name__)


def _keyring() -> ModuleType:
    """The keyring package, imported on first use: the embedded database never needs it, and
    finding a backend costs the desk's start-up time."""
    import keyring
    import keyring.errors

    return keyring


def keyring_available() -> bool:
    """Whether a real keyring backend exists (not the 'fail' or 'null' placeholder)."""
    keyring = _keyring()
    backend = keyring.get_keyring()
    name = type(backend).__module__ + "." + type(backend).__name__
    if name.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return False
    try:
        return float(getattr(backend, "priority", 1)) > 0
    except Exception:  # a backend whose priority check itself fails is not usable
        return False


def get_password(account: str) -> str | None:
    keyring = _keyring()
    try:
        password: str | None = keyring.get_password(SERVICE, account)
        return password
    except keyring.errors.KeyringError as exc:
        log.info("keyring unavailable, continuing without a stored password: %s", exc)
        return None


def set_password(account: str, password: str) -> None:
    keyring = _keyring()
    keyring.set_password(SERVICE, account, password)


def delete_password(account: str) -> bool:
    keyring = _keyring()
    try:
        keyring.delete_password(SERVICE, account)
    except keyring.errors.PasswordDeleteError:
        return False
    return True


def get_or_create_secret(account: str) -> str | None:
    """A random secret stored under ``account``, created on first use; None without a keyring.

    None also when the keyring refuses to store it: callers fall back to something that needs
    no stored secret, and say so.
    """
    if not keyring_available():
        return None
    keyring = _keyring()
    try:
        existing: str | None = keyring.get_password(SERVICE, account)
        if existing:
            return existing
        secret = token_hex(32)
        keyring.set_password(SERVICE, account, secret)
    except keyring.errors.KeyringError as exc:
        log.info("keyring unusable for %s, continuing without it: %s", account, exc)
        return None
    return secret
