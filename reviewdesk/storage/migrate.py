"""Bring a database's schema to the version this ReviewDesk needs, through Alembic.

Alembic is imported only when a schema has to change: on an ordinary start the revision is read
with one query, which keeps start-up fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from reviewdesk.core.errors import SchemaOutOfDate
from reviewdesk.storage.failures import database_name

if TYPE_CHECKING:
    from alembic.config import Config

_SCRIPTS = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/versions; tests/test_storage.py checks it against Alembic.
HEAD_REVISION = "0021"


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def head_revision() -> str:
    return HEAD_REVISION


def script_head_revision() -> str:
    """The head as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def is_known(revision: str) -> bool:
    """Whether ``revision`` is one of this ReviewDesk's migrations (Alembic not imported)."""
    return any((_SCRIPTS / "versions").glob(f"{revision}_*.py"))


def unknown_schema(engine: Engine, revision: str) -> SchemaOutOfDate:
    """The error for a database at a revision this ReviewDesk does not have: one that a newer
    ReviewDesk upgraded, which Alembic could neither upgrade nor read."""
    return SchemaOutOfDate(
        f"Database {database_name(engine)} is at schema {revision}, which this ReviewDesk does "
        f"not know (its newest is {HEAD_REVISION}): use the newer ReviewDesk that upgraded it."
    )


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(value) if value is not None else None


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade to ``revision``; returns (revision before, revision after)."""
    before = current_revision(engine)
    if revision in ("head", HEAD_REVISION) and before == HEAD_REVISION:
        return before, before
    if before is not None and not is_known(before):
        raise unknown_schema(engine, before)
    from alembic import command

    cfg = _config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
    return before, current_revision(engine) or ""


def downgrade(engine: Engine, revision: str) -> tuple[str | None, str]:
    """Downgrade to ``revision`` (tests and benchmarks); returns (revision before, after)."""
    from alembic import command

    before = current_revision(engine)
    cfg = _config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()
    return before, current_revision(engine) or ""
