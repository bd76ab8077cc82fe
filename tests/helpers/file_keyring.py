"""A keyring backend kept in a JSON file named by FILE_KEYRING_ENV, for processes a test starts
(PYTHON_KEYRING_BACKEND): what one command stores, the next one finds, as with the OS keyring,
which tests never touch."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_KEYRING_ENV = "REVIEWDESK_TEST_KEYRING_FILE"


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @staticmethod
    def _path() -> Path:
        return Path(os.environ[FILE_KEYRING_ENV])

    def _load(self) -> dict[str, str]:
        path = self._path()
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def _save(self, entries: dict[str, str]) -> None:
        self._path().write_text(json.dumps(entries), encoding="utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\t{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._save({**self._load(), f"{service}\t{username}": password})

    def delete_password(self, service: str, username: str) -> None:
        entries = self._load()
        if entries.pop(f"{service}\t{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self._save(entries)
