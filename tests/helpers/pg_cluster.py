"""A PostgreSQL server of a test's own, to stop and restart: never the shared one.

``initdb`` and ``pg_ctl`` come from the server's installation (``/usr/lib/postgresql/*/bin``,
else ``PATH``). PostgreSQL refuses to run as root, so when the tests run as root the cluster
belongs to the ``postgres`` user, in a folder of its own under the system's temporary folder
(root's pytest folders are closed to other users).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

_SERVER_USER = "postgres"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def free_port() -> int:
    """A TCP port nothing listens on now (the OS's choice, so parallel runs do not collide)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    """One cluster: ``start``, ``stop``, ``restart``; ``url(database)`` names it."""

    def __init__(self, root: Path, *, password: str | None = None) -> None:
        """``password``: connections over TCP must give it (scram-sha-256) for the superuser
        ``reviewdesk`` and every login; the server's own socket stays trusted, for set-up."""
        bindir = _binaries()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL's initdb and pg_ctl were not found")
        self.bin = bindir
        self.user: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam(_SERVER_USER)
            root = Path(tempfile.mkdtemp(prefix="reviewdesk-pg-"))
            os.chown(root, account.pw_uid, account.pw_gid)
            self.user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        auth = ["--auth=trust"]
        if password is not None:
            pwfile = root / "pwfile"
            pwfile.write_text(password + "\n", encoding="utf-8")
            os.chown(pwfile, self.user.get("user", -1), self.user.get("group", -1))
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        self._pg("initdb", "-D", str(self.data), "-U", "reviewdesk", *auth, "-E", "UTF8")
        self.start()
        self.psql("postgres", "CREATE DATABASE reviews")

    def psql(self, database: str, sql: str) -> None:
        """Runs ``sql`` as the superuser over the server's own socket (trusted)."""
        self._pg(
            "psql", "-h", str(self.root), "-p", str(self.port), "-U", "reviewdesk", "-d",
            database, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql,
        )  # fmt: skip

    def url(self, database: str = "reviews", *, port: int | None = None) -> str:
        return f"postgresql+psycopg://reviewdesk@127.0.0.1:{port or self.port}/{database}"

    def _pg(self, program: str, *args: str) -> None:
        path = self.bin / program
        if not path.exists():
            path = Path(shutil.which(program) or program)
        subprocess.run(
            [str(path), *args], check=True, capture_output=True, cwd=self.root, **self.user
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.root / "server.log")
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """As an operator restarts a server: every session is ended, with a goodbye."""
        self.stop()
        self.start()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
