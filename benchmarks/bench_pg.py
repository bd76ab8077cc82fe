"""What the PostgreSQL benchmarks share without Qt: dropping a benchmark's schema with the
group roles ReviewDesk made for it and the logins the benchmark added."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import create_engine, text

from reviewdesk.storage.security_sql import drop_group_roles_sql, quote


def drop_schema(base: str, schema: str, logins: Iterable[str] = ()) -> None:
    """Drop ``schema``, the group roles ReviewDesk made for it, and ``logins``."""
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            for statement in drop_group_roles_sql(admin.url.database or "", schema):
                conn.execute(text(statement))
            for login in logins:
                conn.execute(text(f"DROP ROLE IF EXISTS {quote(login)}"))
    finally:
        admin.dispose()
