"""``reviewdesk alerts``, ``metrics`` and ``watch``: alerts outside the app.

Wired into ``reviewdesk.cli`` by ``add_alert_commands(sub, common)`` and ``ALERT_COMMANDS``.

* ``alerts`` evaluates the rules (unless ``--no-evaluate``) and lists the open alerts, and those
  raised in the last day with ``--all``; ``--json`` prints one JSON document. ``--check`` exits
  with status 2 when a critical alert is open, for cron and monitoring systems.
* ``alerts ack ID`` acknowledges one, as ``--by`` (default: the OS user).
* ``metrics`` prints the queue's and the alerts' figures in the Prometheus text format.
* ``watch`` evaluates every ``--interval`` seconds until stopped (Ctrl+C, or SIGTERM from
  systemd), printing each new alert and POSTing it as JSON to ``--webhook`` (or
  ``REVIEWDESK_WEBHOOK_URL``), whose secret parts are masked wherever the URL is printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import IO

from reviewdesk.core.domain import Severity
from reviewdesk.core.errors import ConfigurationError, DatabaseUnavailable
from reviewdesk.services.alerts import Alert, AlertService
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.services.metrics import prometheus_text
from reviewdesk.services.webhook import WebhookFailed, check_webhook_url, post_json
from reviewdesk.storage.urls import mask_webhook_url

WEBHOOK_ENV = "REVIEWDESK_WEBHOOK_URL"
CRITICAL_EXIT = 2  # alerts --check: a critical alert is open
INTERRUPTED_EXIT = 130
INTERVAL_BOUNDS = (1.0, 24 * 3600.0)


def _interval(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    low, high = INTERVAL_BOUNDS
    if not low <= seconds <= high:
        raise argparse.ArgumentTypeError(f"between {low:g} and {high:g} seconds, not {value}")
    return seconds


def add_alert_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    alerts = sub.add_parser(
        "alerts",
        parents=[common],
        help="evaluate the alert rules and list the open alerts (ack ID acknowledges one)",
    )
    alerts.add_argument("--json", action="store_true", help="print JSON")
    alerts.add_argument(
        "--check",
        action="store_true",
        help=f"exit with status {CRITICAL_EXIT} when a critical alert is open (for cron)",
    )
    alerts.add_argument(
        "--all", action="store_true", help="also the alerts raised in the last 24 hours"
    )
    alerts.add_argument(
        "--no-evaluate",
        action="store_true",
        help="only read the alerts, without evaluating the rules first",
    )
    alerts_sub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION")
    ack = alerts_sub.add_parser("ack", parents=[common], help="acknowledge an alert")
    ack.add_argument("id", type=int, metavar="ID", help="the alert's id, as listed")
    ack.add_argument("--by", metavar="NAME", help="who acknowledges (default: the OS user)")

    sub.add_parser(
        "metrics",
        parents=[common],
        help="print the queue's and the alerts' figures in the Prometheus text format",
    )

    watch = sub.add_parser(
        "watch",
        parents=[common],
        help="evaluate the alert rules periodically and report each new alert",
    )
    watch.add_argument(
        "--interval",
        type=_interval,
        default=60.0,
        metavar="SECONDS",
        help="seconds between evaluations (default 60)",
    )
    watch.add_argument(
        "--webhook",
        metavar="URL",
        help=f"POST each new alert as JSON to URL (default: ${WEBHOOK_ENV}; keep the URL, a "
        "secret, out of the command line where others can read it)",
    )
    watch.add_argument("--once", action="store_true", help="evaluate once, then stop")


def _line(alert: Alert) -> str:
    state = alert.state
    if alert.acknowledged_by and alert.cleared_at is None:
        state = f"acknowledged by {alert.acknowledged_by}"
    return (
        f"#{alert.id} {alert.severity.value.upper():<8} {alert.rule} [{alert.subject}] "
        f"since {alert.raised_at:%Y-%m-%d %H:%M} UTC, {state}\n    {alert.message}"
    )


def cmd_alerts(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        service = AlertService(desk)
        if args.alerts_command == "ack":
            alert = service.acknowledge(args.id, by=args.by or getpass.getuser())
            print(f"Alert #{alert.id} acknowledged by {alert.acknowledged_by}.", file=out)
            return 0
        if not args.no_evaluate:
            service.evaluate()
        alerts = service.recent_alerts() if args.all else service.open_alerts()
    critical = any(a.open and a.severity is Severity.CRITICAL for a in alerts)
    if args.json:
        print(json.dumps({"alerts": [a.to_json() for a in alerts]}, indent=2), file=out)
    elif not alerts:
        print("No open alert." if not args.all else "No alert in the last 24 hours.", file=out)
    else:
        for alert in alerts:
            print(_line(alert), file=out)
    return CRITICAL_EXIT if args.check and critical else 0


def cmd_metrics(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        out.write(prometheus_text(desk, AlertService(desk)))
    return 0


def cmd_watch(args: argparse.Namespace, out: IO[str]) -> int:
    webhook = args.webhook or os.environ.get(WEBHOOK_ENV) or None
    if webhook is not None:
        check_webhook_url(webhook)
    stop = threading.Event()
    previous = _stop_on_sigterm(stop)
    try:
        with ReviewDesk.open(args.db) as desk:
            service = AlertService(desk)
            target = f", posting to {mask_webhook_url(webhook)}" if webhook else ""
            print(
                f"Watching {desk.target.display} every {args.interval:g} s{target}.",
                file=out,
                flush=True,
            )
            while not stop.is_set():
                try:
                    raised = service.evaluate().raised
                except DatabaseUnavailable as exc:  # the server restarts: try again later
                    print(f"reviewdesk: {exc}", file=sys.stderr, flush=True)
                    raised = []
                for alert in raised:
                    print(_line(alert), file=out, flush=True)
                    if webhook is not None:
                        _post(webhook, alert, out)
                if args.once:
                    break
                stop.wait(args.interval)
    except KeyboardInterrupt:
        return INTERRUPTED_EXIT
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _post(webhook: str, alert: Alert, out: IO[str]) -> None:
    try:
        post_json(webhook, {"source": "reviewdesk", "alert": alert.to_json()})
    except WebhookFailed as exc:  # reported, and the watch goes on
        print(f"reviewdesk: alert #{alert.id} not delivered: {exc}", file=sys.stderr, flush=True)
    else:
        print(f"    posted to {mask_webhook_url(webhook)}", file=out, flush=True)


def _stop_on_sigterm(stop: threading.Event) -> Callable[[int, FrameType | None], object] | int:
    """systemd stops a service with SIGTERM: end the watch between evaluations, cleanly."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    try:
        return signal.signal(signal.SIGTERM, handler) or signal.SIG_DFL
    except ValueError:  # not the main thread (tests calling run()): no handler
        raise ConfigurationError("reviewdesk watch must run on the main thread") from None


ALERT_COMMANDS: dict[str, Callable[[argparse.Namespace, IO[str]], int]] = {
    "alerts": cmd_alerts,
    "metrics": cmd_metrics,
    "watch": cmd_watch,
}
