"""Logging in with a password from the keyring, on a server that asks for one.

The shared test server trusts every connection, so a password there proves nothing. Here a
server of the test's own asks every TCP connection for its password (scram-sha-256); each
command runs in its own process at a terminal (so ``getpass`` really prompts) with a keyring
kept in a file: what ``password set`` stores, the next command must find, or be refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.conftest import postgres_base_url
from tests.helpers.file_keyring import FILE_KEYRING_ENV
from tests.helpers.pg_cluster import PgCluster

pytestmark = pytest.mark.postgres

ADMIN_PASSWORD = "owner-Secret-7f3a"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgCluster]:
    postgres_base_url()  # skipped, like every PostgreSQL test, without a test server
    try:
        server = PgCluster(tmp_path_factory.mktemp("pg"), password=ADMIN_PASSWORD)
    except FileNotFoundError as exc:
        pytest.skip(f"{exc}: this test needs its own server")
    yield server
    server.destroy()


def _own_terminal() -> None:
    # A new session whose controlling terminal is the pty on stdin: getpass opens /dev/tty.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def at_terminal(
    env: dict[str, str], *argv: str, answers: tuple[str, ...] = (), timeout: float = 60
) -> tuple[int, str]:
    """Runs ``reviewdesk ARGV`` at a terminal, typing each of ``answers`` at a password prompt.
    Returns (exit code, everything the terminal showed)."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reviewdesk", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=REPO,
        preexec_fn=_own_terminal,
    )
    os.close(slave)
    shown = b""
    typed = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the command ended and closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            prompts = len(re.findall(rb"[Pp]assword[^\n]*: ", shown))
            if typed < min(prompts, len(answers)):
                os.write(master, answers[typed].encode() + b"\n")
                typed += 1
        else:
            process.kill()
            pytest.fail(f"reviewdesk {' '.join(argv)} did not finish: {shown.decode()!r}")
        code = process.wait(timeout=timeout)
    finally:
        os.close(master)
    return code, shown.decode(errors="replace").replace("\r\n", "\n")


def test_each_person_connects_with_the_password_the_keyring_holds(
    cluster: PgCluster, tmp_path: Path
) -> None:
    keyring_file = tmp_path / "keyring.json"
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "tests.helpers.file_keyring.FileKeyring",
        FILE_KEYRING_ENV: str(keyring_file),
        "PYTHONPATH": str(REPO),
    }
    env.pop("REVIEWDESK_DATABASE_URL", None)
    admin = cluster.url()  # no password in it: it must come from the keyring

    # Without a stored password the server refuses, and the message says what to do.
    code, shown = at_terminal(env, "db", "upgrade", "--db", admin)
    assert code != 0
    assert "Traceback" not in shown
    assert f"reviewdesk password set --db {admin}" in shown

    code, shown = at_terminal(env, "password", "set", "--db", admin, answers=(ADMIN_PASSWORD,))
    assert code == 0, shown
    assert ADMIN_PASSWORD not in shown  # typed without echo
    code, shown = at_terminal(env, "db", "upgrade", "--db", admin)
    assert code == 0, shown

    logins: dict[str, str] = {}
    for name, role in (("ana", "reviewer"), ("bot", "producer")):
        code, shown = at_terminal(
            env, "team", "add", name, "--role", role, "--generate-password", "--db", admin
        )
        assert code == 0, shown
        found = re.search(r"Initial password \(shown once\): (\S+)", shown)
        assert found, shown
        logins[name] = found.group(1)
    url = {name: make_url(admin).set(username=name).render_as_string() for name in logins}
    for name, password in logins.items():
        code, shown = at_terminal(env, "password", "set", "--db", url[name], answers=(password,))
        assert code == 0, shown

    # The producer submits and the reviewer reads their own session, each as themselves.
    drafts = tmp_path / "drafts.jsonl"
    drafts.write_text(json.dumps({"id": "p-1", "draft": "Hello"}) + "\n", encoding="utf-8")
    code, shown = at_terminal(env, "enqueue", str(drafts), "--db", url["bot"])
    assert code == 0, shown
    code, shown = at_terminal(env, "session", "status", "--reviewer", "ana", "--db", url["ana"])
    assert code == 0, shown
    assert "ana" in shown
    # Another person's name is refused by the login, not taken on trust.
    code, shown = at_terminal(env, "session", "status", "--reviewer", "bob", "--db", url["ana"])
    assert code != 0 and "ana" in shown and "Traceback" not in shown

    # A wrong stored password: refused with a message that shows no password.
    wrong = "not-" + logins["ana"]
    code, shown = at_terminal(env, "password", "set", "--db", url["ana"], answers=(wrong,))
    assert code == 0, shown
    code, shown = at_terminal(env, "status", "--db", url["ana"])
    assert code != 0
    assert "Traceback" not in shown
    assert "password authentication failed" in shown
    assert f"reviewdesk password set --db {url['ana']}" in shown
    for secret in (wrong, ADMIN_PASSWORD, *logins.values()):
        assert secret not in shown

    # The keyring holds the passwords; nothing else the commands wrote does.
    stored = json.loads(keyring_file.read_text(encoding="utf-8"))
    assert sorted(key.split("\t")[1].split("@")[0] for key in stored) == [
        "ana",
        "bot",
        "reviewdesk",
    ]
    home = Path(os.environ["REVIEWDESK_HOME"])
    for path in home.rglob("*") if home.exists() else ():
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert all(secret not in text for secret in (ADMIN_PASSWORD, *logins.values()))
