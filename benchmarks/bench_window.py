"""What the benchmarks that drive the real desk share: the main window as ``reviewdesk gui``
builds it (offscreen), and a fresh PostgreSQL schema per run.

Imported by the scripts beside it (their folder is on ``sys.path`` when they run).
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("REVIEWDESK_HOME", tempfile.mkdtemp(prefix="reviewdesk-bench-"))

from PySide6.QtWidgets import QApplication
from sqlalchemy import create_engine, text

from reviewdesk.ui.app import DeskApp, create_application
from reviewdesk.ui.main_window import MainWindow
from reviewdesk.ui.settings import UiSettings
from reviewdesk.ui.worker import Executor

DEFAULT_PG = "postgresql+psycopg://root@127.0.0.1:5432/test"


def postgres_base() -> str:
    """$REVIEWDESK_BENCH_POSTGRES_URL, else $REVIEWDESK_TEST_POSTGRES_URL, else the default."""
    return (
        os.environ.get("REVIEWDESK_BENCH_POSTGRES_URL")
        or os.environ.get("REVIEWDESK_TEST_POSTGRES_URL")
        or DEFAULT_PG
    )


@dataclass
class Window:
    """The desk's window, its executor and the DeskApp that attaches them to a database;
    ``errors`` collects what the executor and the app reported."""

    app: QApplication
    window: MainWindow
    desk_app: DeskApp
    executor: Executor
    errors: list[Exception]

    def close(self) -> None:
        self.desk_app.shutdown()
        self.executor.stop()
        self.window.close()
        self.window.deleteLater()


def open_window(url: str, reviewer: str = "bench") -> Window:
    """The main window on ``url`` as ``reviewdesk gui`` builds it, not yet shown nor opened
    (``window.show()``, then ``desk_app.open_desk()``)."""
    app = create_application(sys.argv[:1])
    home = Path(os.environ["REVIEWDESK_HOME"])
    settings = UiSettings(home / f"bench-{uuid.uuid4().hex[:6]}.ini")
    errors: list[Exception] = []
    executor = Executor(on_unhandled=errors.append)
    window = MainWindow(
        settings=settings,
        executor=executor,
        reviewer=reviewer,
        default_reviewer=reviewer,
        embedded_path="",
        remember_layout=False,
    )
    desk_app = DeskApp(
        settings=settings,
        executor=executor,
        window=window,
        report_error=errors.append,
        url=url,
        reviewer=reviewer,
        password="",  # the benchmark server needs none: do not ask for one
    )
    return Window(app, window, desk_app, executor, errors)


def postgres_schema_url(base: str) -> tuple[str, str]:
    """A fresh schema on ``base``'s database, and a URL whose search path is it."""
    schema = f"bench_ui_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema
