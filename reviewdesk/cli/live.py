"""``reviewdesk results --follow``: results streamed as they become deliverable.

Wired into ``reviewdesk.cli`` by ``add_follow_argument`` and ``cmd_follow``. Ctrl+C stops it
(exit status 130) and a reader that goes away (``| head``) ends it (exit status 0), both without
a traceback; a result printed is acknowledged (``--ack``) only after it was written out.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import IO

from reviewdesk.core.errors import ConfigurationError
from reviewdesk.services.desk import ReviewDesk

INTERRUPTED_EXIT = 130


def add_follow_argument(results: argparse.ArgumentParser) -> None:
    results.add_argument(
        "--follow",
        action="store_true",
        help="keep printing results as they are decided and settle, until Ctrl+C "
        "(--limit does not apply)",
    )


def cmd_follow(args: argparse.Namespace, out: IO[str]) -> int:
    if args.unsettled:
        raise ConfigurationError(
            "results: --follow prints settled results only; leave out --unsettled."
        )
    # Ctrl+C sets a flag that the wait checks, rather than raising wherever the interpreter
    # happens to be: inside the connection pool's clean-up, an interrupt is logged with a
    # traceback by the pool itself.
    stop = threading.Event()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set()) if main_thread else None
    try:
        with ReviewDesk.open(args.db) as desk:
            for result in desk.follow(
                after=args.after, include_delivered=args.include_delivered, stop=stop
            ):
                out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
                out.flush()
                if args.ack:
                    desk.ack([result])
                if stop.is_set():
                    break
    except KeyboardInterrupt:
        return INTERRUPTED_EXIT
    except BrokenPipeError:
        _silence(out)
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return INTERRUPTED_EXIT if stop.is_set() else 0


def _silence(out: IO[str]) -> None:
    """The reader went away: what is left in the buffer goes nowhere, instead of raising again
    as Python flushes standard output on its way out."""
    if out is sys.stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
