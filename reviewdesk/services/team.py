"""The team on a shared PostgreSQL database: who logs in, with which role (docs/security.md).

On SQLite there is no team: the database is one person's, who is reviewer and lead at once.
"""

from __future__ import annotations

from collections.abc import Callable

from reviewdesk.core.errors import ConfigurationError, NotPermitted
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.storage.security_sql import GROUPS, Member, TeamChangeFailed, TeamStore

ONE_PERSON = (
    "The database {name} is one person's (SQLite): that person is reviewer and lead at once, "
    "and there is no team to manage. A team shares a PostgreSQL database (--db URL)."
)
ADMIN_NEEDED = (
    "Managing the team needs an admin's login (a member of the admin role, which may create "
    "roles) or the installation's owner; {login!r} is neither."
)


def _shared(desk: ReviewDesk) -> None:
    if desk.target.dialect != "postgresql":
        raise ConfigurationError(ONE_PERSON.format(name=desk.target.display))


def members(desk: ReviewDesk) -> list[Member]:
    """Everyone on the team, with their role."""
    _shared(desk)
    desk.access.require("admin", "Listing the team")
    return TeamStore(desk.engines.write).members()


def _change(desk: ReviewDesk, action: str, change: Callable[[TeamStore], str]) -> str:
    """Run a team change; refusals say an admin is needed."""
    _shared(desk)
    try:
        return change(TeamStore(desk.engines.write))
    except NotPermitted:
        ident = desk.access.identity
        login = ident.login if ident else "this login"
        raise NotPermitted(ADMIN_NEEDED.format(login=login), needs="admin") from None
    except TeamChangeFailed as exc:
        raise ConfigurationError(f"{action} failed on {desk.target.display}: {exc.kind}") from None


def add(desk: ReviewDesk, name: str, role: str, password: str) -> str:
    """Add ``name`` (canonical) as ``role`` with an initial ``password``; returns the login."""
    return _change(desk, "Adding a team member", lambda team: team.add(name, role, password))


def set_role(desk: ReviewDesk, name: str, role: str) -> str:
    return _change(desk, "Changing a role", lambda team: team.set_role(name, role))


def remove(desk: ReviewDesk, name: str) -> str:
    return _change(desk, "Removing a team member", lambda team: team.remove(name))


__all__ = ["GROUPS", "Member", "add", "members", "remove", "set_role"]
