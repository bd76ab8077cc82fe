"""``reviewdesk policy list|show|set|reset``: review policies from the command line.

Wired into ``reviewdesk.cli`` by ``add_policy_command(sub, common)`` and ``cmd_policy``.
Tables are for people; ``--json`` prints one JSON document for programs. docs/policies.md.
"""

from __future__ import annotations

import argparse
import json
from typing import IO

from reviewdesk.core.domain import Result
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.services.policies import CellState, PolicyView


def _share(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.02, got {value!r}") from None


def add_policy_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    policy = sub.add_parser(
        "policy",
        parents=[common],
        help="review policies: sampled review with a limit on what goes out bad",
        description="A policy puts a cell (a category, optionally a confidence floor and a "
        "model version) under a continuous sampling plan: every draft is reviewed until i in a "
        "row are clear, then a share f at random, back to all at the first defect. AOQL is the "
        "most bad drafts, as a share of the cell's, that can go out unreviewed in the long run.",
    )
    actions = policy.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="every policy and its state")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = actions.add_parser(
        "show", parents=[common], help="a category's policies, their state and history"
    )
    show.add_argument("category", metavar="CATEGORY")
    show.add_argument("--json", action="store_true", help="print JSON")
    put = actions.add_parser(
        "set",
        parents=[common],
        help="put a cell under a sampling plan (or --full-review)",
        description="Computes the clearance number i for the AOQL and f (or the f whose "
        "expected review share at the cell's measured defect rate is at most "
        "--max-review-share), and starts the cell in screening.",
    )
    put.add_argument("category", metavar="CATEGORY")
    put.add_argument("--aoql", type=_share, help="the promised limit, e.g. 0.02 for 2%%")
    how = put.add_mutually_exclusive_group()
    how.add_argument("--fraction", type=_share, metavar="F", help="share reviewed when sampling")
    how.add_argument(
        "--max-review-share",
        type=_share,
        metavar="SHARE",
        help="instead of F: the most review the plan may cost at the cell's defect rate",
    )
    how.add_argument(
        "--full-review", action="store_true", help="stop sampling: review every draft again"
    )
    put.add_argument(
        "--min-confidence", type=_share, metavar="FLOOR", help="only drafts at or above"
    )
    put.add_argument("--model", metavar="VERSION", help="only this model version")
    put.add_argument(
        "--trivial-edits-count", action="store_true", help="count trivial edits as defects too"
    )
    put.add_argument(
        "--from-history",
        action="store_true",
        help="start sampling at once if the cell's last i decisions are all clear",
    )
    put.add_argument("--note", required=True, help="why (required, kept in the history)")
    put.add_argument("--lead", required=True, help="your name, as recorded")
    put.add_argument("--json", action="store_true", help="print JSON")
    reset = actions.add_parser(
        "reset",
        parents=[common],
        help="back to full review for the next draft (one category or --all)",
    )
    which = reset.add_mutually_exclusive_group(required=True)
    which.add_argument("category", metavar="CATEGORY", nargs="?")
    which.add_argument("--all", action="store_true", help="every policy")
    reset.add_argument("--note", required=True, help="why (required, kept in the history)")
    reset.add_argument("--lead", required=True, help="your name, as recorded")
    reset.add_argument("--json", action="store_true", help="print JSON")


def cmd_policy(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        service = desk.policies
        action = args.policy_command
        if action == "reset":
            ids = service.reset(None if args.all else args.category, note=args.note, by=args.lead)
            if args.json:
                out.write(json.dumps({"reset": ids}) + "\n")
            else:
                print(
                    f"{len(ids)} polic{'y' if len(ids) == 1 else 'ies'} back to full review "
                    "(screening) from the next draft submitted.",
                    file=out,
                )
            return 0
        if action == "set":
            if args.full_review:
                views = [
                    service.stop(
                        args.category,
                        note=args.note,
                        by=args.lead,
                        min_confidence=args.min_confidence,
                        model=args.model,
                    )
                ]
            else:
                if args.aoql is None:
                    raise InvalidArgument("policy set needs --aoql (or --full-review).")
                views = [
                    service.set(
                        args.category,
                        aoql=args.aoql,
                        fraction=args.fraction,
                        max_review_share=args.max_review_share,
                        min_confidence=args.min_confidence,
                        model=args.model,
                        trivial_edits_count=args.trivial_edits_count,
                        start_from_history=args.from_history,
                        note=args.note,
                        by=args.lead,
                    )
                ]
        elif action == "show":
            views = service.show(args.category)
        else:
            views = service.overview()
    if args.json:
        document = [v.to_json() for v in views]
        out.write(json.dumps(document if action != "set" else document[0]) + "\n")
        return 0
    if not views:
        print("No policies: every draft is reviewed.", file=out)
    for view in views:
        print_view(view, out, history=action == "show")
    return 0


def released_line(result: Result, *, delivered: bool) -> str:
    """``reviewdesk show``'s state line for a draft a policy released."""
    routing = result.routing or {}
    return (
        f"released unreviewed by review policy #{routing.get('policy')} on "
        f"{result.decided_at:%Y-%m-%d %H:%M} UTC ({routing.get('phase')}, probability of review "
        f"{routing.get('probability_of_review')}); "
        + ("delivered" if delivered else "not delivered yet")
    )


def _state_line(view: PolicyView, state: CellState) -> str:
    plan = view.policy.plan
    if state.phase.value == "screening":
        phase = f"screening {state.clear_run}/{plan.clearance} clear"
    elif state.phase.value == "held":
        phase = "full review after a drift alarm (reset to resume)"
    else:
        phase = "sampling"
    share = "-" if state.review_share is None else f"{state.review_share:.1%}"
    aoq = state.outgoing_quality()
    quality = "-" if aoq.value is None else f"{aoq.value:.2%} [{aoq.low:.2%}-{aoq.high:.2%}]"
    model = state.model_key or "(no model)"
    return (
        f"  {model:<14} {phase:<26} released {state.released}, reviewed {state.reviewed} "
        f"({share}), sampled defects {state.sampled_defects}/{state.sampled_decided}, "
        f"out bad {quality} of {view.policy.aoql:.2%} promised"
    )


def print_view(view: PolicyView, out: IO[str], *, history: bool) -> None:
    p = view.policy
    head = f"#{p.id} {p.cell.describe()}: "
    if p.mode.value == "full":
        head += "full review"
    else:
        head += f"sampling plan i={p.plan.clearance}, f={p.plan.fraction:g}, AOQL {p.aoql:.2%}"
    print(head, file=out)
    for state in view.cells:
        print(_state_line(view, state), file=out)
    if not view.cells and p.mode.value == "sampling":
        print("  no draft routed yet: the first ones start the screening phase", file=out)
    if view.alarm_count:
        last = f", last {view.alarms[0].at:%Y-%m-%d %H:%M}" if view.alarms else ""
        print(f"  drift alarms: {view.alarm_count}{last}", file=out)
    if history:
        for e in view.history:
            print(f"  {e.at:%Y-%m-%d %H:%M} {e.text}", file=out)
