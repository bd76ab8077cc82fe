"""The team lead's commands: ``stats``, ``recommend`` and ``escalations``.

Wired into ``reviewdesk.cli.entry`` by ``add_lead_commands(sub, common)`` and ``LEAD_COMMANDS``.
Tables are for people; ``--json`` prints one JSON document for programs.
"""

from __future__ import annotations

import argparse
import difflib
import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO

from reviewdesk.cli.text import DEFAULT_WIDTH, output_width, wrapped
from reviewdesk.core.domain import Severity
from reviewdesk.core.errors import ConfigurationError, UnknownDraft
from reviewdesk.core.identity import canonical_name
from reviewdesk.core.period import SINCE_HELP, UNTIL_HELP, period_days
from reviewdesk.services.desk import ReviewDesk
from reviewdesk.services.escalations import Escalation, EscalationInbox, Resolution
from reviewdesk.services.recommend import (
    Outcome,
    RecommendationEngine,
    RecommendationReport,
    RecommendSettings,
    Verdict,
)
from reviewdesk.services.stats import (
    BANDS,
    DEFAULT_TRIVIAL_EDIT,
    Dimension,
    GroupStats,
    Rate,
    StatsFilter,
    StatsReport,
    StatsService,
)


def _dimensions(value: str) -> list[Dimension]:
    out = []
    for part in value.split(","):
        name = part.strip()
        if not name:
            continue
        try:
            out.append(Dimension(name))
        except ValueError:
            choices = ", ".join(d.value for d in Dimension)
            raise argparse.ArgumentTypeError(f"unknown grouping {name!r}: use {choices}") from None
    return out


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return number


def add_lead_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``stats``, ``recommend`` and ``escalations`` to the ``reviewdesk`` parser."""
    period = argparse.ArgumentParser(add_help=False)
    period.add_argument("--since", metavar="WHEN", help=SINCE_HELP)
    period.add_argument("--until", metavar="WHEN", help=UNTIL_HELP)
    period.add_argument(
        "--category", action="append", default=[], metavar="NAME", help="only this category"
    )
    period.add_argument(
        "--model", action="append", default=[], metavar="VERSION", help="only this model version"
    )
    period.add_argument(
        "--trivial-edit",
        type=_fraction,
        default=DEFAULT_TRIVIAL_EDIT,
        metavar="DIST",
        help=f"edits up to this normalized distance are trivial (default {DEFAULT_TRIVIAL_EDIT})",
    )
    period.add_argument(
        "--include-low-attention",
        action="store_true",
        help="count low-attention approvals (approvals faster than reading) too; by default "
        "they are left out, as exports leave them out, and the count left out is shown",
    )
    period.add_argument("--json", action="store_true", help="print JSON")

    stats = sub.add_parser(
        "stats",
        parents=[common, period],
        help="approval, edits, rejections, escalations, review time (gold drafts excluded)",
    )
    stats.add_argument(
        "--by",
        type=_dimensions,
        default=[],
        metavar="DIMS",
        help="group by any of category,model,reviewer,confidence and one of day,week",
    )
    stats.add_argument(
        "--reviewer", action="append", default=[], metavar="NAME", help="only this reviewer"
    )
    stats.add_argument(
        "--band",
        action="append",
        default=[],
        choices=[b.label for b in BANDS],
        help="only this confidence band",
    )

    recommend = sub.add_parser(
        "recommend",
        parents=[common, period],
        help="where review could be reduced or removed, with the evidence",
    )
    defaults = RecommendSettings()
    recommend.add_argument(
        "--target",
        type=_fraction,
        default=defaults.target,
        help=f"approval the bound must reach for removal (default {defaults.target})",
    )
    recommend.add_argument(
        "--edit-adjusted", action="store_true", help="count trivial edits as approvals"
    )
    recommend.add_argument(
        "--trend-days",
        type=int,
        default=defaults.trend_days,
        metavar="DAYS",
        help=f"length of the trend periods (default {defaults.trend_days})",
    )

    reviewers = sub.add_parser(
        "reviewers",
        parents=[common],
        help="each reviewer with decisions in the last days: how many, approval rate, median "
        "time, last active",
    )
    reviewers.add_argument(
        "--days",
        type=int,
        default=30,
        metavar="N",
        help="the last N UTC days, today included (default 30)",
    )
    reviewers.add_argument(
        "--include-low-attention",
        action="store_true",
        help="count low-attention approvals too (left out by default, as in stats)",
    )
    reviewers.add_argument("--json", action="store_true", help="print JSON")

    esc = sub.add_parser("escalations", parents=[common], help="the escalation inbox")
    esc_sub = esc.add_subparsers(dest="escalations_command", metavar="ACTION")
    esc.set_defaults(escalations_command="list", all=False, severity=[])
    esc.add_argument("--json", action="store_true", help="with no action: list, as JSON")
    listing = esc_sub.add_parser("list", parents=[common], help="open escalations by due time")
    listing.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument(
        "--severity",
        action="append",
        default=[],
        choices=[s.value for s in Severity],
        help="only this severity",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    resolve = esc_sub.add_parser(
        "resolve",
        parents=[common],
        help="resolve one escalation",
        description="Resolve the escalation of a draft, named by the id its producer gave it "
        "(the list's draft column). #N picks by the number in the list's # column instead "
        "(its result cursor), unless a draft has the id #N itself.",
    )
    resolve.add_argument(
        "draft", metavar="ID", help="the draft's id, as submitted (or #N: the list's number)"
    )
    resolve.add_argument("outcome", choices=[r.value for r in Resolution])
    resolve.add_argument("--note", required=True, help="why (required)")
    resolve.add_argument("--text", help="the text to send, for send_edited")
    resolve.add_argument(
        "--text-file", type=Path, metavar="PATH", help="read the text to send from a file"
    )
    resolve.add_argument("--lead", required=True, help="your name, as recorded")
    resolve.add_argument("--json", action="store_true", help="print JSON")


# -- formatting -----------------------------------------------------------------------------------
def _pct(rate: Rate | None, interval: bool = True) -> str:
    if rate is None or rate.value is None:
        return "-"
    text = f"{rate.value * 100:.1f}%"
    if interval:
        text += f" [{rate.low * 100:.1f}-{rate.high * 100:.1f}]"
    return text


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    out: IO[str],
    *,
    width: int = DEFAULT_WIDTH,
    keys: int = 1,
    notes: Sequence[str] | None = None,
) -> None:
    """Columns aligned: text left, numbers right. Wider than ``width``, the columns after the
    first ``keys`` go into as many sections as they need, each with the key columns again.
    ``notes[i]``, when not empty, is wrapped under row i (of the first section)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def numeric(i: int) -> bool:
        cells = [r[i] for r in rows if r[i] != "-"]
        return bool(cells) and all(c[:1].isdigit() or c[:1] == "-" for c in cells)

    right = [numeric(i) for i in range(len(headers))]

    def span(columns: Sequence[int]) -> int:
        return sum(widths[c] for c in columns) + 2 * (len(columns) - 1)

    key_columns = list(range(min(keys, len(headers))))
    sections: list[list[int]] = [[]]
    for column in range(len(key_columns), len(headers)):
        if sections[-1] and span([*key_columns, *sections[-1], column]) > width:
            sections.append([])
        sections[-1].append(column)

    def line(cells: Sequence[str], columns: Sequence[int]) -> str:
        return "  ".join(
            cells[c].rjust(widths[c]) if right[c] else cells[c].ljust(widths[c]) for c in columns
        ).rstrip()

    for number, section in enumerate(sections):
        columns = [*key_columns, *section]
        if number:
            print(file=out)
        print(line(headers, columns), file=out)
        print("  ".join("-" * widths[c] for c in columns), file=out)
        for i, row in enumerate(rows):
            print(line(row, columns), file=out)
            if notes and notes[i] and number == 0:
                print(wrapped(notes[i], width, "    "), file=out)


def _key_cells(report: StatsReport, g: GroupStats) -> list[str]:
    return [k if k is not None else "(none)" for k in g.key] if report.dimensions else ["all"]


def low_attention_text(included: bool, left_out: int) -> str:
    """What happened to low-attention approvals, for the line under a table."""
    if included:
        return "Low-attention approvals counted (--include-low-attention)."
    return (
        f"{left_out} low-attention approval{'' if left_out == 1 else 's'} left out, as exports "
        "leave them out (--include-low-attention counts them)."
    )


def print_stats(report: StatsReport, out: IO[str], width: int = DEFAULT_WIDTH) -> None:
    keys = [d.value for d in report.dimensions] or ["decisions"]
    rows = [*report.groups] if report.dimensions else []
    rows.append(report.total)
    key_rows = [
        _key_cells(report, g) if g is not report.total else ["total"] + [""] * (len(keys) - 1)
        for g in rows
    ]
    # Shown when something was left out: the decided column counts without them.
    left_out = not report.filter.include_low_attention and report.total.low_attention_left_out
    # Two tables of a few columns each rather than one too wide for a terminal; the intervals
    # of every rate are in --json.
    _table(
        [
            *keys,
            "decided",
            *(["left out"] if left_out else []),
            "approved [95% CI]",
            "edited",
            "rejected",
            "escalated",
            "SLA late",
        ],
        [
            [
                *k,
                str(g.decided),
                *([str(g.low_attention_left_out)] if left_out else []),
                _pct(g.approved),
                _pct(g.edited, False),
                _pct(g.rejected, False),
                _pct(g.escalated, False),
                f"{g.sla_breaches.count}/{g.sla_breaches.total}" if g.sla_breaches.total else "-",
            ]
            for k, g in zip(key_rows, rows, strict=True)
        ],
        out,
        width=width,
        keys=len(keys),
    )
    print("\nEdits, time and attention:", file=out)
    _table(
        [*keys, "trivial edits", "edit distance", "median s", "low attention", "gold accuracy"],
        [
            [
                *k,
                _pct(g.trivial_edits, False),
                _number(g.mean_edit_distance, 3),
                _number(g.median_review_seconds),
                _pct(g.low_attention, False),
                _pct(g.gold_accuracy, False),
            ]
            for k, g in zip(key_rows, rows, strict=True)
        ],
        out,
        width=width,
        keys=len(keys),
    )
    print(
        "\n"
        + wrapped(
            "Gold drafts excluded. SLA late: escalations answered after their due time, or "
            "still open past it, of all escalations. Trivial edit: normalized distance <= "
            f"{report.trivial_edit_threshold:g}. Intervals: 95% Wilson (of every rate in "
            "--json). Median review time: estimated from a histogram. Low attention: share of "
            "all decisions, left out or not. "
            + low_attention_text(
                report.filter.include_low_attention, report.total.low_attention_left_out
            ),
            width,
        ),
        file=out,
    )
    reasons = sorted({r for g in rows for r in g.rejected_by_reason})
    if reasons:
        print("\nRejections by reason (share of decided):", file=out)
        _table(
            [*keys, *reasons],
            [
                [*k, *(_pct(g.rejected_by_reason.get(r), False) for r in reasons)]
                for k, g in zip(key_rows, rows, strict=True)
            ],
            out,
            width=width,
            keys=len(keys),
        )
    severities = [s.value for s in Severity]
    if any(g.escalated.count for g in rows):
        print("\nEscalations by severity (share of decided):", file=out)
        _table(
            [*keys, *severities, "open"],
            [
                [
                    *k,
                    *(_pct(g.escalated_by_severity.get(s), False) for s in severities),
                    str(g.escalations_open),
                ]
                for k, g in zip(key_rows, rows, strict=True)
            ],
            out,
            width=width,
            keys=len(keys),
        )


def _action(v: Verdict) -> str:
    if v.outcome is Outcome.REMOVE:
        spot = f", {v.spot_check_rate * 100:.0f}% spot checks" if v.spot_check_rate else ""
        return "remove" + spot if spot else "remove review"
    if v.outcome is Outcome.SAMPLE and v.sampling_rate is not None:
        return f"sample {v.sampling_rate * 100:.0f}%"
    return v.outcome.value.replace("_", " ")


def _verdict_cells(v: Verdict) -> list[str]:
    return [
        _action(v),
        str(v.n),
        _pct(v.approval),
        f"{v.bound * 100:.1f}%",
        "-" if v.more_reviews_needed is None else str(v.more_reviews_needed),
    ]


def _verdict_details(v: Verdict, *, always: bool) -> str:
    """What does not fit a column, for the line under a row: escalations, the trend, trivial
    edits and the rule (``always``), else only escalations and a tested trend."""
    parts = []
    escalations = ", ".join(f"{n} {s}" for s, n in sorted(v.escalations.items()) if n)
    if escalations:
        parts.append(f"escalations {escalations}")
    if v.trend.tested and v.trend.z is not None:
        trend = f"{_pct(v.trend.previous, False)} -> {_pct(v.trend.current, False)}"
        trend += f" (p={v.trend.p_value:.2f})" if v.trend.p_value is not None else ""
        parts.append(f"trend {trend}")
    if always:
        parts.append(f"trivial edits {_pct(v.trivial_edits, False)}")
        parts.append(f"rule {v.rule.value}")
    return "; ".join(parts)


_VERDICT_HEADERS = ["recommendation", "n", "approval [95% CI]", "bound", "more needed"]


def _released_text(released: int) -> str:
    if not released:
        return ""
    return (
        f" {released} draft{'' if released == 1 else 's'} released unreviewed by review "
        "policies while sampling (column released): not decisions, in no other figure."
    )


def print_recommendations(
    report: RecommendationReport, out: IO[str], width: int = DEFAULT_WIDTH
) -> None:
    s = report.settings
    since = report.since.isoformat() if report.since else "the start"
    released = sum(r.verdict.released for r in report.categories)
    print(
        wrapped(
            f"Decisions from {since} to {report.until.isoformat()}"
            + (f", models {', '.join(report.models)}" if report.models else "")
            + f". Removal needs the anytime-valid bound to reach {s.target * 100:g}% "
            f"(alpha {s.alpha:g})"
            + (", trivial edits counted as approvals" if s.edit_adjusted else "")
            + ". "
            + low_attention_text(report.include_low_attention, report.low_attention_left_out)
            + _released_text(released),
            width,
        )
        + "\n",
        file=out,
    )

    def cells(v: Verdict) -> list[str]:
        found = _verdict_cells(v)
        return [*found[:2], str(v.released), *found[2:]] if released else found

    headers = _VERDICT_HEADERS[:2] + ["released"] * bool(released) + _VERDICT_HEADERS[2:]
    print("By category:", file=out)
    notes = []
    for r in report.categories:
        left = r.verdict.low_attention_left_out
        note = (
            f" ({left} low-attention approval{'' if left == 1 else 's'} left out.)" if left else ""
        )
        notes.append(f"{_verdict_details(r.verdict, always=True)}. {r.verdict.explanation}{note}")
    _table(
        ["category", "risk", *headers],
        [[r.category, r.verdict.risk.value, *cells(r.verdict)] for r in report.categories],
        out,
        width=width,
        notes=notes,
    )
    print("\nBy category and confidence band:", file=out)
    _table(
        ["category", "band", *headers],
        [[r.category, r.band or "", *cells(r.verdict)] for r in report.bands],
        out,
        width=width,
        keys=2,
        notes=[_verdict_details(r.verdict, always=False) for r in report.bands],
    )
    print("\nConfidence threshold above which review could be skipped:", file=out)
    _table(
        ["category", "threshold", "share skipped", "n", "approval [95% CI]", "bound"],
        [
            [
                t.category,
                f">= {t.threshold:.2f}" if t.threshold is not None else "none",
                _pct(t.skip_share, False),
                str(t.verdict.n) if t.verdict else "-",
                _pct(t.verdict.approval) if t.verdict else "-",
                f"{t.verdict.bound * 100:.1f}%" if t.verdict else "-",
            ]
            for t in report.thresholds
        ],
        out,
        width=width,
    )


def _escalation_row(e: Escalation) -> list[str]:
    state = e.resolution.value if e.resolution else ("OVERDUE" if e.overdue else "open")
    return [
        e.id,
        f"#{e.cursor}",
        e.severity.value,
        f"{e.due_at:%Y-%m-%d %H:%M}",
        state + (" (late)" if e.resolution and e.breached else ""),
        e.category,
        e.reviewer,
    ]


def _escalation_cursor(inbox: EscalationInbox, given: str) -> int:
    """The result cursor of the escalation ``given`` names: a draft id, or #N (the list's
    number) when no draft has that id. ConfigurationError says what is wrong."""
    number = given[1:] if given.startswith("#") else None
    try:
        item = inbox.for_draft(given)
    except UnknownDraft:
        if number is not None and number.isdigit():
            return int(number)
        hint = (
            f"; to pick by the list's number, write #{given}"
            if given.isdigit() and inbox.get(int(given)) is not None
            else ""
        )
        raise ConfigurationError(
            f"escalations resolve: no draft with id {given!r}{hint}"
            " (the ids are in the list's draft column)."
        ) from None
    if item is None:
        raise ConfigurationError(f"escalations resolve: draft {given!r} is not escalated.")
    return item.cursor


def check_known(service: StatsService, named: dict[str, Sequence[str]]) -> None:
    """Refuse a --category, --model or --reviewer that no decision has: a filter that matches
    nothing would print zeros as if they were the figures. Names the known ones, closest
    first."""
    flags = {
        "--category": Dimension.CATEGORY,
        "--model": Dimension.MODEL,
        "--reviewer": Dimension.REVIEWER,
    }
    if not any(named.values()):
        return
    known = service.known()
    for flag, values in named.items():
        dim = flags[flag]
        for value in values:
            if value in known[dim]:
                continue
            what = {"--model": "model version"}.get(flag, dim.value)
            close = difflib.get_close_matches(value, known[dim], n=3, cutoff=0.5)
            if not known[dim]:
                listing = f"no {what} has decisions yet"
            elif close:
                listing = (
                    f"did you mean {' or '.join(repr(c) for c in close)}? Known: "
                    + ", ".join(known[dim][:20])
                )
            else:
                listing = "known: " + ", ".join(known[dim][:20])
            more = f" and {len(known[dim]) - 20} more" if len(known[dim]) > 20 else ""
            raise ConfigurationError(
                f"{flag} {value!r}: no decision has this {what}; {listing}{more}."
            )


# -- handlers -------------------------------------------------------------------------------------
def cmd_stats(args: argparse.Namespace, out: IO[str]) -> int:
    since, until = period_days(args.since, args.until, "stats")
    try:
        flt = StatsFilter(
            since=since,
            until=until,
            categories=tuple(args.category),
            models=tuple(args.model),
            reviewers=tuple(canonical_name(r) for r in args.reviewer),  # one spelling
            bands=tuple(args.band),
            include_low_attention=args.include_low_attention,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    with ReviewDesk.open(args.db) as desk:
        service = StatsService.for_desk(desk)
        check_known(
            service,
            {"--category": flt.categories, "--model": flt.models, "--reviewer": flt.reviewers},
        )
        try:
            report = service.compute(args.by, filter=flt, trivial_edit_threshold=args.trivial_edit)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    if args.json:
        out.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
    else:
        print_stats(report, out, output_width(out))
    return 0


def cmd_recommend(args: argparse.Namespace, out: IO[str]) -> int:
    since, until = period_days(args.since, args.until, "recommend")
    try:
        settings = RecommendSettings(
            target=args.target,
            edit_adjusted=args.edit_adjusted,
            trivial_edit_threshold=args.trivial_edit,
            trend_days=args.trend_days,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    with ReviewDesk.open(args.db) as desk:
        check_known(
            StatsService.for_desk(desk), {"--category": args.category, "--model": args.model}
        )
        report = RecommendationEngine.for_desk(desk, settings).recommend(
            since=since,
            until=until,
            models=args.model,
            categories=args.category,
            include_low_attention=args.include_low_attention,
        )
    if args.json:
        out.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
    else:
        print_recommendations(report, out, output_width(out))
    return 0


def cmd_reviewers(args: argparse.Namespace, out: IO[str]) -> int:
    if not 1 <= args.days <= 3660:
        raise ConfigurationError(f"--days {args.days}: give a number of days from 1 to 3660.")
    with ReviewDesk.open(args.db) as desk:
        service = StatsService.for_desk(desk)
        today = service.now().date()
        since = today - timedelta(days=args.days - 1)
        report = service.compute(
            [Dimension.REVIEWER],
            filter=StatsFilter(since=since, include_low_attention=args.include_low_attention),
        )
        last_active = service.last_active()
    rows = [g for g in report.groups if g.decided or g.low_attention_left_out]
    if args.json:
        document = {
            "since": since.isoformat(),
            "until": today.isoformat(),
            "include_low_attention": args.include_low_attention,
            "reviewers": [
                {
                    "reviewer": g.key[0],
                    "decided": g.decided,
                    "approved": g.approved.to_json(),
                    "median_review_seconds": g.median_review_seconds,
                    "low_attention_left_out": g.low_attention_left_out,
                    "last_active": (
                        last_active[g.key[0]].isoformat() if g.key[0] in last_active else None
                    ),
                }
                for g in rows
            ],
        }
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        return 0
    if not rows:
        print(f"No decisions from {since} to {today} (UTC).", file=out)
        return 0
    print(f"Reviewers with decisions from {since} to {today} (UTC):", file=out)
    width = output_width(out)
    _table(
        ["reviewer", "decided", "approved [95% CI]", "median s", "last active"],
        [
            [
                g.key[0] or "",
                str(g.decided),
                _pct(g.approved),
                _number(g.median_review_seconds),
                str(last_active.get(g.key[0] or "", "-")),
            ]
            for g in rows
        ],
        out,
        width=width,
    )
    print(
        "\n"
        + wrapped(
            "Gold drafts excluded. Median review time: estimated from a histogram. "
            + low_attention_text(args.include_low_attention, report.total.low_attention_left_out),
            width,
        ),
        file=out,
    )
    return 0


def cmd_escalations(args: argparse.Namespace, out: IO[str]) -> int:
    with ReviewDesk.open(args.db) as desk:
        inbox = EscalationInbox.for_desk(desk)
        if args.escalations_command == "resolve":
            text = args.text
            if args.text_file is not None:
                if text is not None:
                    raise ConfigurationError("give --text or --text-file, not both")
                try:
                    text = args.text_file.read_text(encoding="utf-8")
                except OSError as exc:
                    raise ConfigurationError(f"{args.text_file}: {exc.strerror}") from None
            cursor = _escalation_cursor(inbox, args.draft)
            try:
                item = inbox.resolve(
                    cursor, args.outcome, note=args.note, text=text, lead=args.lead
                )
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
            if args.json:
                out.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
            else:
                late = " after its due time" if item.breached else ""
                print(
                    f"Escalation of {item.id} (#{item.cursor}) resolved{late}: "
                    f"{item.resolution.value if item.resolution else '?'}; the result goes to "
                    "the consumer again.",
                    file=out,
                )
            return 0
        items = inbox.list(include_resolved=args.all, severities=args.severity)
    if args.json:
        out.write(json.dumps([e.to_json() for e in items], ensure_ascii=False) + "\n")
        return 0
    if not items:
        print("No open escalations." if not args.all else "No escalations.", file=out)
        return 0
    _table(
        ["draft", "#", "severity", "due (UTC)", "state", "category", "reviewer"],
        [_escalation_row(e) for e in items],
        out,
        width=output_width(out),
        notes=[" ".join((e.note or "").split()) for e in items],
    )
    overdue = sum(e.overdue for e in items)
    if overdue:
        print(f"\n{overdue} overdue.", file=out)
    return 0


LEAD_COMMANDS: dict[str, Callable[[argparse.Namespace, IO[str]], int]] = {
    "stats": cmd_stats,
    "recommend": cmd_recommend,
    "escalations": cmd_escalations,
    "reviewers": cmd_reviewers,
}
