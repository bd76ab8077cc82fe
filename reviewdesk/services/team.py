"""The team on a shared PostgreSQL database: who logs in, with which role (docs/security.md).

On SQLite there is no team: the database is one person's, who is reviewer and lead at once.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from reviewdesk.core.errors import ConfigurationError, NotPermitted
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.storage import security_sql
from reviewdesk.storage.security_sql import GROUPS, Member

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
    with desk.engines.write.connect() as conn:
        return security_sql.members(conn, security_sql.installation(conn))


def _change(desk: ReviewDesk, action: str, change: object) -> str:
    """Run a team change in one transaction; refusals say an admin is needed."""
    _shared(desk)
    try:
        with desk.engines.write.begin() as conn:
            inst = security_sql.installation(conn)
            return str(change(conn, inst))  # type: ignore[operator]
    except NotPermitted:
        ident = desk.access.identity
        login = ident.login if ident else "this login"
        raise NotPermitted(ADMIN_NEEDED.format(login=login), needs="admin") from None
    except DBAPIError as exc:
        # Never the driver's own message: its statement may carry the password.
        raise ConfigurationError(
            f"{action} failed on {desk.target.display}: {type(exc.orig).__name__}"
        ) from None


def add(desk: ReviewDesk, name: str, role: str, password: str) -> str:
    """Add ``name`` (canonical) as ``role`` with an initial ``password``; returns the login."""
    return _change(
        desk,
        "Adding a team member",
        lambda conn, inst: security_sql.add_member(conn, inst, name, role, password),
    )


def set_role(desk: ReviewDesk, name: str, role: str) -> str:
    return _change(
        desk,
        "Changing a role",
        lambda conn, inst: security_sql.set_member_role(conn, inst, name, role),
    )


def remove(desk: ReviewDesk, name: str) -> str:
    return _change(
        desk,
        "Removing a team member",
        lambda conn, inst: security_sql.remove_member(conn, inst, name),
    )


__all__ = ["GROUPS", "Member", "add", "members", "remove", "set_role"]
