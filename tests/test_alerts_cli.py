"""``reviewdesk alerts``, ``alerts --check``, ``alerts ack``, ``metrics`` and ``watch`` with a
webhook on a real local HTTP server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reviewdesk import ReviewDesk
from reviewdesk.core.clock import ManualClock
from reviewdesk.main import main
from reviewdesk.storage.urls import mask_webhook_url

SECRET = "T0KEN-s3cret"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def overdue_db(db_url: str) -> str:
    """A critical escalation made 20 minutes ago: past its 15 minutes."""
    clock = ManualClock(datetime.now(UTC) - timedelta(minutes=20))
    with ReviewDesk.open(db_url, upgrade=True, clock=clock) as desk:
        desk.submit([{"id": "d-1", "draft": "We refund twice.", "category": "billing"}])
        lease = desk.claim("ana")
        assert lease is not None
        desk.decide(lease, "escalate", severity="critical", note="A refund we never give.")
    return db_url


def test_check_exits_non_zero_while_a_critical_alert_is_open(
    overdue_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "alerts", "--check", "--db", overdue_db)
    assert code == 2, err
    assert "CRITICAL" in out and "escalation_overdue [d-1]" in out
    code, out, _ = run(capsys, "alerts", "--json", "--no-evaluate", "--db", overdue_db)
    alerts = json.loads(out)["alerts"]
    assert code == 0 and [a["rule"] for a in alerts] == ["escalation_overdue"]
    assert alerts[0]["figures"]["severity"] == "critical"
    alert_id = str(alerts[0]["id"])
    code, out, _ = run(capsys, "alerts", "ack", alert_id, "--by", "lea", "--db", overdue_db)
    assert code == 0 and "acknowledged by lea" in out
    code, _, err = run(capsys, "alerts", "ack", alert_id, "--by", "max", "--db", overdue_db)
    assert code == 1 and "acknowledged already, by lea" in err and "Traceback" not in err
    # Acknowledged is not resolved: the check still fails until the escalation is answered.
    assert run(capsys, "alerts", "--check", "--db", overdue_db)[0] == 2


def test_check_passes_without_a_critical_alert(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ReviewDesk.open(db_url, upgrade=True).close()
    code, out, _ = run(capsys, "alerts", "--check", "--db", db_url)
    assert (code, out.strip()) == (0, "No open alert.")


def test_metrics_parse_as_prometheus_text(
    overdue_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "alerts", "--db", overdue_db)
    code, out, _ = run(capsys, "metrics", "--db", overdue_db)
    assert code == 0
    families = {f.name: f for f in text_string_to_metric_families(out)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert samples[("reviewdesk_escalations_open", (("severity", "critical"),))] == 1
    key = ("reviewdesk_alerts_open", (("rule", "escalation_overdue"), ("severity", "critical")))
    assert samples[key] == 1
    assert all(f.type == "gauge" and f.documentation for f in families.values())


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, object]]]] = []
    failures_left = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.failures_left:
            cls.failures_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.received.append((self.path, json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    _Hook.received = []
    _Hook.failures_left = 1  # the first attempt fails: the retry delivers
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/{SECRET}?token={SECRET}"
    server.shutdown()
    server.server_close()


def test_watch_posts_each_new_alert_to_a_webhook_and_masks_its_secret(
    overdue_db: str, hook: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "watch", "--once", "--webhook", hook, "--db", overdue_db)
    assert code == 0, err
    assert [body["alert"]["rule"] for _, body in _Hook.received] == ["escalation_overdue"]  # type: ignore[index]
    assert _Hook.received[0][0].startswith(f"/services/{SECRET}")
    assert SECRET not in out + err
    assert mask_webhook_url(hook) in out
    # Raised once: the next evaluation posts nothing new.
    run(capsys, "watch", "--once", "--webhook", hook, "--db", overdue_db)
    assert len(_Hook.received) == 1


def test_watch_reports_an_unreachable_webhook_and_goes_on(
    overdue_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:9/hook/{SECRET}"  # the discard port: nothing listens
    code, out, err = run(capsys, "watch", "--once", "--webhook", url, "--db", overdue_db)
    assert code == 0
    assert "not delivered" in err and "after 3 attempt(s)" in err
    assert SECRET not in out + err and "Traceback" not in err


def test_a_webhook_url_is_masked() -> None:
    assert mask_webhook_url("https://hooks.example/services/T0/B0/XYZ") == (
        "https://hooks.example/services/***"
    )
    assert mask_webhook_url("https://u:pw@h.example/hook?token=abc&x=1") == (
        "https://u:***@h.example/hook?token=***&x=***"
    )


@pytest.mark.one_engine("how the watch process ends; the engine does not matter")
def test_watch_ends_cleanly_on_sigterm(sqlite_url: str) -> None:
    """systemd stops the watch with SIGTERM: it ends between evaluations, with status 0."""
    ReviewDesk.open(sqlite_url, upgrade=True).close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reviewdesk", "watch", "--interval", "30", "--db", sqlite_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Watching ")  # the handler is in place
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
