"""Counting the statements a client sends to PostgreSQL, whichever way it sends them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


@contextmanager
def psycopg_statements(count: Callable[[Any], None]) -> Iterator[None]:
    """Call ``count`` with the query of every statement psycopg sends meanwhile: its own execute
    methods are wrapped, so that a statement sent straight to the driver is counted too."""
    originals = {
        (cls, name): getattr(cls, name)
        for cls in (psycopg.Cursor, psycopg.Connection)
        for name in ("execute", "executemany")
        if hasattr(cls, name)
    }

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            count(query)
            return original(self, query, *args, **kwargs)

        return counted

    for (cls, name), original in originals.items():
        setattr(cls, name, wrap(original))
    try:
        yield
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)
