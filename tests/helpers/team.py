"""Team members' logins on the test server, with unique names, dropped afterwards.

Roles are cluster-wide and other test runs share the server: every login made here has a
random suffix, and is dropped on leaving.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

from reviewdesk.storage import security_sql

PASSWORD = "team-test-password"


def login_url(schema_url: str, login: str) -> str:
    """``schema_url`` with ``login`` as its user (trust authentication on the test server)."""
    url = make_url(schema_url).set(username=login, password=PASSWORD)
    return url.render_as_string(hide_password=False)


@contextmanager
def team(schema_url: str, roles: dict[str, str]) -> Iterator[dict[str, str]]:
    """Logins for ``roles`` ({person: group}) on the installation at ``schema_url`` (upgraded).
    Yields {person: URL}; persons are named ``<person>_<suffix>``."""
    suffix = uuid.uuid4().hex[:8]
    engine = create_engine(schema_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []
    try:
        with engine.connect() as conn:
            inst = security_sql.installation(conn)
            urls = {}
            for person, group in roles.items():
                login = security_sql.add_member(conn, inst, f"{person}_{suffix}", group, PASSWORD)
                made.append(login)
                urls[person] = login_url(schema_url, login)
        yield urls
    finally:
        with engine.connect() as conn:
            for login in made:
                conn.execute(text(f"DROP ROLE IF EXISTS {security_sql.quote(login)}"))
        engine.dispose()


def person(urls: dict[str, str], name: str) -> str:
    """The login of ``name`` in a ``team``."""
    return str(make_url(urls[name]).username)
