"""Who is acting: canonical names, the login's identity, and refusals that name the role.

On SQLite the database is one person's, who is reviewer and lead at once: names are made
canonical and nothing else is checked. On PostgreSQL the database enforces the roles
(storage/security_sql.py); here a name passed to the API is checked against the login first,
so that the refusal is clear and early, and a refusal by the database is logged under the login
and reported with the role the action needs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from reviewdesk.core.errors import NotPermitted, ReviewDeskError
from reviewdesk.core.identity import reviewer_name
from reviewdesk.storage.queue_contract import QueueStore
from reviewdesk.storage.security_sql import Identity

ROLE_WORDS = {
    "reviewer": "a reviewer (or lead)",
    "lead": "a lead",
    "producer": "a producer",
    "admin": "an admin",
}


# The groups whose members may do what needs a role (a lead is a reviewer too).
_SATISFIES = {
    "reviewer": ("reviewer", "lead"),
    "lead": ("lead",),
    "producer": ("producer",),
    "admin": ("admin",),
}


class Access:
    """The identity of one desk's connections, read once."""

    def __init__(self, store: QueueStore) -> None:
        self._store = store
        self._identity: Identity | None = None
        self._read = False
        self._lock = threading.Lock()

    @property
    def identity(self) -> Identity | None:
        """The login and its role on PostgreSQL; None on SQLite (one person's database)."""
        with self._lock:
            if not self._read:
                self._identity = self._store.identity()
                self._read = True
            return self._identity

    @property
    def shared(self) -> bool:
        """Whether the rules bind this connection (a team member's login on PostgreSQL)."""
        ident = self.identity
        return ident is not None and ident.enforced

    def person(self, name: object, *, what: str = "reviewer") -> str:
        """``name`` in canonical form; on a shared database it must be the login's own."""
        canonical = reviewer_name(name, what=what)
        ident = self.identity
        if ident is not None and ident.enforced and canonical != ident.login:
            raise NotPermitted(
                f"Connected as {ident.login!r}: cannot act as {what} {canonical!r}. On a shared "
                f"database each person is their login; {canonical!r} must connect as "
                "themselves."
            )
        return canonical

    def require(self, role: str, action: str) -> None:
        """Refuse ``action`` at once unless the login has ``role``: for actions whose rows
        row-level security hides from other roles, which would otherwise read as "not found"."""
        ident = self.identity
        if ident is not None and ident.enforced and ident.role not in _SATISFIES[role]:
            self._record(action, "role")
            has = ident.role or "no team role"
            raise NotPermitted(
                f"{action} needs {ROLE_WORDS[role]} role; {ident.login!r} has {has}.", needs=role
            )

    @contextmanager
    def needs(self, role: str, action: str) -> Iterator[None]:
        """Run ``action``, which needs ``role``; a refusal is logged and names the role."""
        try:
            yield
        except NotPermitted as exc:
            ident = self.identity
            if exc.needs is not None or exc.logged:
                raise  # refused by ``require`` or a function, which logged it
            self._record(action, str(exc))
            if ident is not None and ident.role in _SATISFIES[role]:
                raise  # the role allows it: refused for another reason, which it names
            login = ident.login if ident else "this login"
            has = f"{ident.role}" if ident and ident.role else "no team role"
            raise NotPermitted(
                f"{action} needs {ROLE_WORDS.get(role, role)} role; {login!r} has {has}. {exc}",
                needs=role,
            ) from exc

    def _record(self, action: str, detail: str) -> None:
        # The refusal itself stands; its log entry is best effort.
        with contextlib.suppress(ReviewDeskError):
            self._store.record_refusal(action, detail)
