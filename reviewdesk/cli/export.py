"""``reviewdesk export``: labelled feedback as test sets evaluation tools load (docs/export.md).

A progress bar goes to stderr when stderr is a terminal; the summary and any minimum-size
shortfalls go to stdout and stderr respectively, so a script can read what was written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from reviewdesk.core.domain import Label, Risk
from reviewdesk.core.errors import ConfigurationError
from reviewdesk.core.period import SINCE_HELP, UNTIL_HELP, period_bound
from reviewdesk.services.export import (
    CancelToken,
    ExportCancelled,
    ExportFilter,
    ExportFormat,
    ExportOptions,
    ExportProgress,
    ExportResult,
    RedactionSettings,
    SplitSpec,
    export_dataset,
)
from reviewdesk.storage.engine import resolve_target

_FORMAT_HELP = (
    "jsonl (canonical), csv, parquet, hf (Hugging Face datasets folder), inspect (inspect-ai "
    "samples), promptfoo (test cases), openai-evals (samples); default jsonl"
)


def add_export_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``export`` on the CLI's subcommands (``common`` carries --db and -v)."""
    export = sub.add_parser(
        "export",
        parents=[common],
        help="export decisions as a test set (JSON Lines, CSV, Parquet, evaluation tools)",
        description="Export reviewer decisions as labelled test data. Gold drafts and undone "
        "decisions are never exported; reviewer names become pseudonyms. See docs/export.md.",
    )
    export.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    export.add_argument(
        "--format",
        default="jsonl",
        choices=[f.value for f in ExportFormat],
        metavar="FORMAT",
        help=_FORMAT_HELP,
    )
    export.add_argument(
        "--force",
        action="store_true",
        help="replace DIR if it is not empty: EVERYTHING IN IT IS DELETED",
    )
    export.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes that export at once, one range of decisions each (1: no worker "
        "processes); default: one per CPU, at most 3, from 200,000 decisions on. Line formats "
        "without --balance only; the output is the same either way",
    )
    chosen = export.add_argument_group("what goes in")
    chosen.add_argument("--since", metavar="WHEN", help=f"decided {SINCE_HELP}")
    chosen.add_argument("--until", metavar="WHEN", help=f"decided {UNTIL_HELP}")
    chosen.add_argument(
        "--category", action="append", default=[], metavar="NAME", help="only these (repeat or a,b)"
    )
    chosen.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="LABEL",
        help="only these: approved, edited, rejected, escalated (repeat or a,b)",
    )
    chosen.add_argument(
        "--model", action="append", default=[], metavar="VERSION", help="only these model versions"
    )
    chosen.add_argument(
        "--risk", action="append", default=[], metavar="LEVEL", help="only these: low, medium, high"
    )
    chosen.add_argument(
        "--include-low-attention",
        action="store_true",
        help="keep decisions flagged low-attention (marked low_attention=true)",
    )
    sample = export.add_argument_group("sampling")
    sample.add_argument(
        "--balance",
        action="store_true",
        help="at most the same number of records per (category, label): the smallest stratum's",
    )
    sample.add_argument(
        "--per-stratum", type=int, metavar="N", help="with --balance: at most N per stratum"
    )
    sample.add_argument(
        "--split",
        metavar="NAME=FRACTION",
        help="e.g. test=0.2 or test=0.2,validation=0.1; the rest is train",
    )
    sample.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of split and balance (default 0)"
    )
    privacy = export.add_argument_group("privacy")
    privacy.add_argument(
        "--redact",
        action="store_true",
        help="replace e-mail addresses, phone numbers, card numbers and IBANs in the texts",
    )
    privacy.add_argument(
        "--phone-region",
        action="append",
        default=[],
        metavar="CC",
        help="with --redact: country whose national phone formats to catch (default US; repeat)",
    )


def _values(raw: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for item in raw for v in item.split(",") if v.strip())


def _checked(raw: list[str], allowed: type[Label] | type[Risk], flag: str) -> tuple[str, ...]:
    values = _values(raw)
    known = {m.value for m in allowed}
    bad = [v for v in values if v not in known]
    if bad:
        raise ConfigurationError(
            f"{flag} {', '.join(bad)}: not one of {', '.join(m.value for m in allowed)}."
        )
    return values


def options_from_args(args: argparse.Namespace) -> ExportOptions:
    """ExportOptions from parsed arguments; ConfigurationError names the flag that is wrong."""
    try:
        split = SplitSpec.parse(args.split) if args.split else None
    except ValueError as exc:
        raise ConfigurationError(f"--split: {exc}.") from None
    try:
        redaction = RedactionSettings(
            phone_regions=tuple(r.upper() for r in _values(args.phone_region)) or ("US",)
        )
    except ValueError as exc:
        raise ConfigurationError(f"--phone-region: {exc}") from None
    return ExportOptions(
        out=args.out,
        format=ExportFormat(args.format),
        filter=ExportFilter(
            since=period_bound(args.since, "--since"),
            until=period_bound(args.until, "--until"),
            categories=_values(args.category),
            labels=_checked(args.label, Label, "--label"),
            models=_values(args.model),
            risks=_checked(args.risk, Risk, "--risk"),
            include_low_attention=args.include_low_attention,
        ),
        balance=args.balance,
        per_stratum=args.per_stratum,
        split=split,
        seed=args.seed,
        redact=args.redact,
        redaction=redaction,
        force=args.force,
        workers=args.workers,
    )


def _progress_bar(stream: IO[str]) -> tuple[Callable[[ExportProgress], None], Callable[[], None]]:
    """A tqdm bar on ``stream`` over the decisions' id range; (update, close)."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(p: ExportProgress) -> None:
        if p.phase not in ("sampling", "writing") or not p.total:
            return
        bar = bars.get(p.phase)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[p.phase] = tqdm(
                total=p.total,
                desc=p.phase,
                unit=" decisions",
                unit_scale=True,
                file=stream,
                leave=False,
                dynamic_ncols=True,
            )
        bar.update(p.done - bar.n)
        if p.phase == "writing":
            bar.set_postfix(written=p.written, refresh=False)

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return update, close


def cmd_export(args: argparse.Namespace, out: IO[str]) -> int:
    options = options_from_args(args)
    target = resolve_target(args.db)
    cancel = CancelToken()
    err = sys.stderr
    update, close = _progress_bar(err) if err.isatty() else (None, lambda: None)
    try:
        result = export_dataset(target, options, progress=update, cancel=cancel)
    except KeyboardInterrupt:
        # The export removed its partial folder on the way out.
        raise ExportCancelled("Export interrupted; nothing was written.") from None
    finally:
        close()
    print_summary(result, out, err)
    return 0


def print_summary(result: ExportResult, out: IO[str], err: IO[str]) -> None:
    splits = ", ".join(f"{name} {n}" for name, n in sorted(result.splits.items()))
    print(
        f"Exported {result.records} record(s) ({splits or 'none'}) as {result.format.value} "
        f"to {result.out} in {result.seconds:.1f} s; dataset card: {result.card_path}",
        file=out,
    )
    for why, n in sorted(result.skipped.items()):
        print(f"  not written by {result.format.value}, {why}: {n}", file=out)
    if result.pseudonym_scope == "export":
        print(
            "reviewdesk: no OS keyring here: reviewer pseudonyms are stable within this export "
            "only",
            file=err,
        )
    for shortfall in result.shortfalls:
        print(f"reviewdesk: below the minimum test-set size: {shortfall}", file=err)
