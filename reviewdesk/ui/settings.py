"""The desk's own settings: an INI file under ``config_dir()``, never the native store.

Holds the database URL without its password, the reviewer's name, the key map, and the window
layout. The file carries a schema version; older files are migrated step by step on open.
Passwords live in the OS keyring (``reviewdesk.config.secrets``), never here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from reviewdesk.config import paths
from reviewdesk.storage.urls import mask_url, without_secrets

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "reviewdesk.ini"
VERSION_KEY = "schema_version"

Migration = Callable[[QSettings], None]


# Steps from settings version N to N + 1, run in order on open. Version 1 is the first; a file
# without a version (hand-written, or from before versioning) is read as version 0, which
# needs no change. Add a step here whenever a key is renamed or its meaning changes.
MIGRATIONS: Mapping[int, Migration] = {}


def strip_password(url: str) -> str:
    """``url`` without any password (userinfo or query), for storing. Raises ValueError if it
    is not a URL."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(f"Not a database URL: {mask_url(url)!r}") from None
    if parsed.password is None and parsed.query == without_secrets(parsed).query:
        return url
    return without_secrets(parsed).render_as_string(hide_password=False)


class UiSettings:
    """Typed access to ``reviewdesk.ini``."""

    def __init__(self, path: Path, *, migrations: Mapping[int, Migration] = MIGRATIONS) -> None:
        self.path = path
        if path.parent.is_dir():  # QSettings keeps the mode of the file it rewrites
            paths.create_private_file(path)
        self._qs = QSettings(str(path), QSettings.Format.IniFormat)
        self._migrate(migrations)
        self._remove_stored_password()

    @classmethod
    def open_default(cls) -> UiSettings:
        return cls(paths.config_dir() / FILE_NAME)

    def _migrate(self, migrations: Mapping[int, Migration]) -> None:
        found = self._int(VERSION_KEY, 0 if self._qs.allKeys() else SCHEMA_VERSION)
        if found > SCHEMA_VERSION:
            log.warning(
                "%s was written by a newer ReviewDesk (settings version %d); reading what this "
                "version knows and leaving the rest alone",
                self.path,
                found,
            )
            return
        for version in range(found, SCHEMA_VERSION):
            step = migrations.get(version)
            if step is not None:
                log.info("migrating %s from settings version %d", self.path, version)
                step(self._qs)
        self._qs.setValue(VERSION_KEY, SCHEMA_VERSION)
        self._qs.sync()

    def _remove_stored_password(self) -> None:
        """A file written by hand or by an older ReviewDesk may hold a password: drop it."""
        stored = self._str("database/url")
        if not stored:
            return
        try:
            bare = strip_password(stored)
        except ValueError:
            return  # not a URL: the desk says so when it opens it
        if bare != stored:
            self._qs.setValue("database/url", bare)
            self._qs.sync()
            log.warning(
                "%s held a password in its database URL; it was removed (settings never keep "
                "one): give it in the settings dialog to keep it in the OS keyring",
                self.path,
            )

    def _int(self, key: str, default: int) -> int:
        value: object = self._qs.value(key, default)
        try:
            return int(str(value))
        except (TypeError, ValueError):
            return default

    def _str(self, key: str) -> str | None:
        value = self._qs.value(key)
        return str(value) if value not in (None, "") else None

    @property
    def version(self) -> int:
        return self._int(VERSION_KEY, 0)

    # -- connection ---------------------------------------------------------------------------
    @property
    def database_url(self) -> str | None:
        """The database URL (no password), or None for the embedded database."""
        return self._str("database/url")

    @database_url.setter
    def database_url(self, url: str | None) -> None:
        if url:
            self._qs.setValue("database/url", strip_password(url))
        else:
            self._qs.remove("database/url")

    @property
    def reviewer(self) -> str | None:
        return self._str("review/reviewer")

    @reviewer.setter
    def reviewer(self, name: str | None) -> None:
        if name and name.strip():
            self._qs.setValue("review/reviewer", name.strip())
        else:
            self._qs.remove("review/reviewer")

    # -- keys ---------------------------------------------------------------------------------
    def keymap(self) -> dict[str, str]:
        """Action id → key sequence (portable text), for the actions the reviewer remapped."""
        self._qs.beginGroup("keys")
        try:
            return {key: str(self._qs.value(key)) for key in self._qs.childKeys()}
        finally:
            self._qs.endGroup()

    def set_keymap(self, keymap: Mapping[str, str]) -> None:
        self._qs.remove("keys")
        for action_id, sequence in keymap.items():
            self._qs.setValue(f"keys/{action_id}", sequence)

    # -- window layout ------------------------------------------------------------------------
    def layout_state(self, name: str) -> QByteArray | None:
        value = self._qs.value(f"window/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_layout_state(self, name: str, state: QByteArray) -> None:
        self._qs.setValue(f"window/{name}", state)

    @property
    def side_tab(self) -> int:
        """The tab shown beside the draft."""
        return self._int("window/sideTab", 0)

    @side_tab.setter
    def side_tab(self, index: int) -> None:
        self._qs.setValue("window/sideTab", index)

    def sync(self) -> None:
        self._qs.sync()
