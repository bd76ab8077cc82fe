"""A keyring backend that records every use in the file named by TRIPWIRE_ENV: a test installs it
for the processes it starts (PYTHON_KEYRING_BACKEND) to prove that they never use a keyring."""

from __future__ import annotations

import os

from keyring.backend import KeyringBackend

TRIPWIRE_ENV = "REVIEWDESK_TEST_KEYRING_TRIPWIRE"


class TripwireKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def _trip(self, what: str) -> None:
        with open(os.environ[TRIPWIRE_ENV], "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {what}\n")

    def get_password(self, service: str, username: str) -> str | None:
        self._trip(f"get {service} {username}")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._trip(f"set {service} {username}")

    def delete_password(self, service: str, username: str) -> None:
        self._trip(f"delete {service} {username}")
