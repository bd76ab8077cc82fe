"""Producing: an AI system queues drafts and collects what reviewers made of them.

``enqueue``, ``results``, ``status``, ``history`` and ``show``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, BinaryIO

from reviewdesk.cli.live import add_follow_argument, cmd_follow
from reviewdesk.cli.policy import released_line
from reviewdesk.cli.text import output_width, wrapped
from reviewdesk.core.domain import DraftState, History
from reviewdesk.core.errors import ConfigurationError, InvalidInput, SubmitConflict
from reviewdesk.services.desk import ReviewDesk


def add_producing_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    enqueue = sub.add_parser(
        "enqueue", parents=[common], help="queue drafts from JSON Lines (FILE, or - for stdin)"
    )
    enqueue.add_argument("file", metavar="FILE", help="JSON Lines file, or - for standard input")

    results = sub.add_parser("results", parents=[common], help="print decided drafts as JSON Lines")
    results.add_argument(
        "--after", type=int, default=0, metavar="CURSOR", help="continue after this cursor"
    )
    results.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N results (default 100)"
    )
    results.add_argument("--ack", action="store_true", help="mark the printed results delivered")
    results.add_argument(
        "--include-delivered", action="store_true", help="also print results acknowledged before"
    )
    results.add_argument(
        "--unsettled",
        action="store_true",
        help="also print decisions still inside the undo window; one undone while this runs is "
        'followed by a retraction line, {"id", "cursor", "retracted": true}, and exit status 3',
    )

    add_follow_argument(results)

    status = sub.add_parser(
        "status",
        parents=[common],
        help="print the queue's state: pending, in review, decided, undelivered",
    )
    status.add_argument(
        "--json",
        action="store_true",
        help="as JSON, with the same names: pending, in_review, decided, undelivered "
        "(and leased, the old name of in_review, kept for older readers)",
    )

    history = sub.add_parser("history", parents=[common], help="a draft's thread and audit trail")
    history.add_argument("id", help="the draft's id")

    show = sub.add_parser(
        "show",
        parents=[common],
        help="one draft: its text, input, context, decision or state, thread and audit trail",
    )
    show.add_argument("id", help="the draft's id, as submitted")
    show.add_argument("--json", action="store_true", help="as JSON")


def _input_file(source: str) -> AbstractContextManager[BinaryIO]:
    """The drafts to read, opened before the database so that a wrong FILE changes nothing."""
    if source == "-":
        # A closed standard input (`<&-`) is None; the caller's own stream is never closed.
        if sys.stdin is None:
            raise ConfigurationError(
                "<stdin>: standard input is closed; give a FILE or pipe one in"
            )
        return nullcontext(sys.stdin.buffer)
    path = Path(source)
    if path.is_dir():
        raise ConfigurationError(f"{source}: is a directory, not a JSON Lines file")
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ConfigurationError(f"{source}: no such file") from None
    except OSError as exc:
        raise ConfigurationError(f"{source}: cannot be opened: {exc.strerror or exc}") from None


def cmd_enqueue(args: argparse.Namespace, out: IO[str]) -> int:
    source = "<stdin>" if args.file == "-" else args.file
    with _input_file(args.file) as handle, ReviewDesk.open(args.db) as desk:
        try:
            report = desk.submit_jsonl(handle, source=source)
        except (InvalidInput, SubmitConflict) as exc:
            items = exc.problems if isinstance(exc, InvalidInput) else exc.conflicts
            for item in items:
                print(f"reviewdesk: {item}", file=sys.stderr)
            print(
                f"reviewdesk: {len(items)} problem(s) in {source}; nothing was written",
                file=sys.stderr,
            )
            return 1
    print(f"{source}: {report}", file=out)
    return 0


# The exit status of `results` when it printed a result that was then undone, and retracted it.
RETRACTED_EXIT = 3


def cmd_results(args: argparse.Namespace, out: IO[str]) -> int:
    if args.follow:
        return cmd_follow(args, out)
    with ReviewDesk.open(args.db) as desk:
        results = desk.results(
            after=args.after,
            limit=args.limit,
            include_delivered=args.include_delivered,
            unsettled=args.unsettled,
        )
        for result in results:
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        out.flush()
        if not results and not args.unsettled:
            waiting = desk.results(
                after=args.after, limit=1, include_delivered=args.include_delivered, unsettled=True
            )
            if waiting:
                print(
                    "reviewdesk: nothing settled yet; decisions inside the undo window "
                    f"({desk.undo_window:g} s) are held back until it has passed "
                    "(--unsettled prints them now)",
                    file=sys.stderr,
                )
        # Acknowledge only what was written out: delivery stays at least once.
        if args.ack and results:
            retractions = desk.ack(results).retractions
        elif args.unsettled and results:
            retractions = desk.retracted(results)
        else:
            retractions = []
        # Undone after it was printed: a consumer reading the stream learns it there.
        for retraction in retractions:
            out.write(json.dumps(retraction.to_json(), ensure_ascii=False) + "\n")
        out.flush()
    if retractions:
        n = len(retractions)
        print(
            f"reviewdesk: {n} printed result{' was' if n == 1 else 's were'} undone by "
            f"{'its reviewer' if n == 1 else 'their reviewers'} and retracted (do not send): "
            + ", ".join(f"{r.id} (cursor {r.cursor})" for r in retractions),
            file=sys.stderr,
        )
        return RETRACTED_EXIT
    return 0


def cmd_status(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        counts = desk.counts()
        # One vocabulary for text and JSON: a draft claimed by a reviewer is "in review".
        shown = {
            "pending": counts.pending,
            "in review": counts.leased,
            "decided": counts.decided,
            "undelivered": counts.undelivered,
        }
        if args.json:
            document: dict[str, object] = {"database": desk.target.display}
            document.update({name.replace(" ", "_"): n for name, n in shown.items()})
            document["leased"] = counts.leased  # the name before in_review, for older readers
            out.write(json.dumps(document) + "\n")
        else:
            print(f"database:    {desk.target.display}", file=out)
            for name, n in shown.items():
                print(f"{name + ':':<12} {n}", file=out)
    return 0


def cmd_history(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        history = desk.history(args.id)
    print(
        f"draft {history.draft.id} ({history.draft.category}, "
        f"thread {history.draft.thread or '-'})",
        file=out,
    )
    _print_trail(history, out)
    return 0


def _print_trail(history: History, out: IO[str]) -> None:
    for entry in history.thread:
        verdict = entry.decision.label.value if entry.decision else "pending"
        print(
            f"  thread: {entry.draft.created_at:%Y-%m-%d %H:%M} {entry.draft.id}: {verdict}",
            file=out,
        )
    for event in history.events:
        print(f"  {event.at:%Y-%m-%d %H:%M:%S} {event.kind.value:<9} {event.actor or ''}", file=out)


def cmd_show(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        state = desk.state(args.id)
        history = desk.history(args.id)
    draft, result = state.draft, state.result
    if args.json:
        document = {
            "id": draft.id,
            "state": state.state,
            "in_review_by": state.holder,
            "draft": draft.draft,
            "input": draft.input,
            "context": draft.context,
            "category": draft.category,
            "risk": draft.risk.value,
            "model": draft.model,
            "confidence": draft.confidence,
            "thread": draft.thread,
            "submitted_at": draft.submitted_at.isoformat(),
            "result": result.to_json() if result else None,
            "delivered": state.delivered,
            "thread_before": [
                {
                    "id": e.draft.id,
                    "label": e.decision.label.value if e.decision else None,
                    "created_at": e.draft.created_at.isoformat(),
                }
                for e in history.thread
            ],
            "trail": [
                {"kind": e.kind.value, "at": e.at.isoformat(), "actor": e.actor}
                for e in history.events
            ],
        }
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        return 0
    facts = [draft.category, f"risk {draft.risk.value}"]
    facts += [f"model {draft.model}"] if draft.model else []
    facts += [f"confidence {draft.confidence:.2f}"] if draft.confidence is not None else []
    facts += [f"thread {draft.thread}"] if draft.thread else []
    print(f"draft {draft.id} ({', '.join(facts)})", file=out)
    print(f"submitted {draft.submitted_at:%Y-%m-%d %H:%M} UTC", file=out)
    width = output_width(out)
    print(wrapped(f"state: {_state_line(state)}", width - 2).replace("\n", "\n  "), file=out)
    _print_block("Draft", draft.draft, out, width)
    _print_block("Input", draft.input, out, width)
    if draft.context:
        _print_block("Context", json.dumps(draft.context, indent=2, ensure_ascii=False), out)
    if result is not None and result.final is not None and result.final != draft.draft:
        _print_block("Final text (sent as the result)", result.final, out, width)
    print("\nTrail:", file=out)
    _print_trail(history, out)
    return 0


def _state_line(state: DraftState) -> str:
    result = state.result
    if result is None:
        return state.state + (f" by {state.holder}" if state.holder else "")
    if result.routing is not None:
        return released_line(result, delivered=state.delivered)
    line = (
        f"decided: {result.label.value} by {result.reviewer} "
        f"on {result.decided_at:%Y-%m-%d %H:%M} UTC"
    )
    details = [f"reason {result.reason}"] if result.reason else []
    details += [f"severity {result.severity.value}"] if result.severity else []
    details += [f"note {result.note!r}"] if result.note else []
    if result.resolution:
        details.append(f"resolved by {result.resolved_by}: {result.resolution}")
    details.append("delivered" if state.delivered else "not delivered yet")
    return line + "; " + "; ".join(details)


def _print_block(title: str, text: str | None, out: IO[str], width: int | None = None) -> None:
    """``text`` indented under ``title``; its long lines wrapped at ``width``, if given."""
    print(f"\n{title}:", file=out)
    if text is None or not text.strip():
        print("  (none)", file=out)
        return
    for line in text.splitlines():
        if width is not None and len(line) + 2 > width:
            print(wrapped(line, width, "  "), file=out)
        else:
            print(f"  {line}".rstrip(), file=out)


COMMANDS: dict[str, Callable[[argparse.Namespace, IO[str]], int]] = {
    "enqueue": cmd_enqueue,
    "results": cmd_results,
    "status": cmd_status,
    "history": cmd_history,
    "show": cmd_show,
}
