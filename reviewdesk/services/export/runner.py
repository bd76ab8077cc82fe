"""Run an export: choose, stream, write, card, and put the folder in place in one rename.

The passes: (1) the largest decision id fixes what this export covers, and a GROUP BY counts the
strata; (2) only with ``balance``: one pass over ids finds each stratum's cut-off; (3) the records
stream in keyset pages into the format's writer, in this process or, for a large export in a line
format, in several processes that each take one range of ids (parts.py). Nothing is written at
``out`` until the end: the files go to a hidden folder beside it, which is renamed into place when
complete, and deleted on failure or cancellation.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reviewdesk import __version__
from reviewdesk.config import paths
from reviewdesk.core.errors import DatabaseUnavailable
from reviewdesk.services.export.card import CardFacts, ExportStats, Shortfall, render_card
from reviewdesk.services.export.errors import ExportCancelled, ExportError
from reviewdesk.services.export.formats import (
    WRITERS,
    ExportFormat,
    FormatWriter,
    pyarrow_available,
    pyarrow_install_command,
)
from reviewdesk.services.export.parts import PartSpec, export_in_parts, write_records
from reviewdesk.services.export.privacy import Pseudonymizer, RedactionSettings, Redactor
from reviewdesk.services.export.records import make_converter
from reviewdesk.services.export.sampling import (
    BalancePlan,
    SplitSpec,
    Splitter,
    balance_target,
    plan_balance,
)
from reviewdesk.storage.engine import DatabaseTarget, create_engines
from reviewdesk.storage.export_sql import ExportFilter, ExportStore, unreachable_errors

CARD_NAME = "README.md"
MAX_SEED = (1 << 63) - 1
# A parallel export (workers=None: automatic) from this many decisions (by id span) on: below it,
# starting worker processes (about a second each) costs more than it saves.
PARALLEL_MIN_DECISIONS = 200_000
# Each process holds about 65 MB at its peak: three stay within the 250 MB target together.
MAX_AUTO_WORKERS = 3
MAX_WORKERS = 32


class CancelToken:
    """Thread-safe: a dialog's Cancel button calls ``cancel()``; the export stops at the next
    page (at most a few thousand records later)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class ExportProgress:
    """``phase``: starting, sampling, writing or finishing. ``done`` of ``total`` is how far the
    phase has gone through the decisions (by id: the fraction is right even when filters skip
    most of them); ``written`` counts the records written so far."""

    phase: str
    done: int
    total: int
    written: int = 0

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


ProgressCallback = Callable[[ExportProgress], None]


@dataclass(frozen=True)
class ExportOptions:
    out: Path
    format: ExportFormat = ExportFormat.JSONL
    filter: ExportFilter = field(default_factory=ExportFilter)
    balance: bool = False
    per_stratum: int | None = None  # with balance: the size of every stratum (default smallest)
    split: SplitSpec | None = None
    seed: int = 0
    redact: bool = False
    redaction: RedactionSettings = field(default_factory=RedactionSettings)
    force: bool = False  # replace a non-empty ``out`` (its contents are deleted)
    # Processes that export at once, this one included: None chooses (one per CPU, at most
    # MAX_AUTO_WORKERS, from PARALLEL_MIN_DECISIONS on); 1 exports here only. Line formats
    # without ``balance`` only: Parquet, hf and balanced exports always run in this process.
    workers: int | None = None


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote, for a person: the dialog and the CLI show it."""

    out: Path
    format: ExportFormat
    records: int
    splits: dict[str, int]
    files: dict[str, str]
    counts: dict[tuple[str, str], int]  # (category, label) -> records
    skipped: dict[str, int]  # why -> records the format could not use
    shortfalls: tuple[Shortfall, ...]
    pseudonym_scope: str  # "installation" or "export"
    redactions: dict[str, int]
    first_decided_at: str | None
    last_decided_at: str | None
    seconds: float
    card: str
    workers: int = 1  # processes that exported (1: this one only)
    # Peak resident memory of each worker process, in kilobytes (none when workers is 1): with
    # this process's own peak, what the export took.
    worker_peak_rss_kb: tuple[int, ...] = ()

    @property
    def card_path(self) -> Path:
        return self.out / CARD_NAME


def check_options(options: ExportOptions) -> None:
    """Raise ExportError naming what is wrong, before anything is read or written."""
    if options.format.needs_pyarrow and not pyarrow_available():
        raise ExportError(
            f"The {options.format.value} format needs pyarrow: {pyarrow_install_command()} "
            "(or choose jsonl or csv)."
        )
    if not 0 <= options.seed <= MAX_SEED:
        raise ExportError(f"--seed {options.seed}: use a whole number from 0 to {MAX_SEED}.")
    if options.workers is not None and not 1 <= options.workers <= MAX_WORKERS:
        raise ExportError(f"--workers {options.workers}: use a number from 1 to {MAX_WORKERS}.")
    if options.per_stratum is not None:
        if not options.balance:
            raise ExportError("--per-stratum only applies with --balance.")
        if options.per_stratum < 1:
            raise ExportError(f"--per-stratum {options.per_stratum}: must be at least 1.")
    flt = options.filter
    if flt.since and flt.until and flt.since >= flt.until:
        raise ExportError(
            f"--since {flt.since.isoformat()} is not before --until {flt.until.isoformat()}."
        )
    out = options.out
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out}: exists and is not a folder.")
    if out.is_dir() and any(out.iterdir()) and not options.force:
        raise ExportError(
            f"--out {out}: the folder is not empty. Choose another, or pass --force to "
            "replace it (everything in it is deleted)."
        )
    if not out.parent.exists():
        raise ExportError(f"--out {out}: the folder {out.parent} does not exist.")


def export_dataset(
    target: DatabaseTarget,
    options: ExportOptions,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Export the decisions on ``target`` (``desk.target``) as ``options`` say.

    Safe to run on a worker thread: it opens its own connections, reports through ``progress``
    and stops at the next page once ``cancel`` is set (raising ExportCancelled). Raises
    ExportError for unusable options, before anything is written.
    """
    check_options(options)
    started = time.monotonic()
    report = progress or (lambda _p: None)
    token = cancel or CancelToken()
    try:
        engines = create_engines(target)  # never creates the database it reads
    except DatabaseUnavailable as exc:
        raise type(exc)(f"{exc}; {_NOTHING_WRITTEN}") from exc
    unreachable = unreachable_errors(engines)
    try:
        store = ExportStore(engines)
        return _run(store, target, options, report, token, started, now)
    except DatabaseUnavailable as exc:  # as the storage layer reports it, naming the database
        if str(exc).endswith(_NOTHING_WRITTEN):  # a worker's, said already
            raise
        raise type(exc)(f"{exc}; {_NOTHING_WRITTEN}") from exc
    except unreachable as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise DatabaseUnavailable(
            f"Database {target.display} is unavailable: {first[0] if first else exc!r}; "
            + _NOTHING_WRITTEN
        ) from exc
    finally:
        engines.dispose()


_NOTHING_WRITTEN = "nothing was written."


def _check(token: CancelToken) -> None:
    if token.cancelled:
        raise ExportCancelled("Export cancelled; nothing was written.")


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _parts_for(options: ExportOptions, span: int, writer: FormatWriter) -> int:
    """How many processes export: 1, or more for a line format without balancing."""
    if options.balance or not writer.joinable or span < 2:
        return 1
    wanted = options.workers
    if wanted is None:
        if span < PARALLEL_MIN_DECISIONS:
            return 1
        wanted = min(usable_cpus(), MAX_AUTO_WORKERS)
    if multiprocessing.current_process().daemon:  # a daemonic process may not start processes
        return 1
    return min(wanted, span)


def _run(
    store: ExportStore,
    target: DatabaseTarget,
    options: ExportOptions,
    report: ProgressCallback,
    token: CancelToken,
    started: float,
    now: datetime | None,
) -> ExportResult:
    flt = options.filter
    report(ExportProgress("starting", 0, 0))
    low, upto = store.decision_id_range()
    span = upto - low + 1 if upto else 0
    _check(token)

    plan: BalancePlan | None = None
    balance_text: str | None = None
    if options.balance:
        counts: dict[tuple[str, str], int] = {}
        for category, label, _risk, n in store.strata(flt, upto=upto):
            counts[(category, label)] = counts.get((category, label), 0) + n
        k = balance_target(counts, options.per_stratum)

        def sampled(position: int) -> None:
            _check(token)
            report(ExportProgress("sampling", position - low + 1, span))

        plan = plan_balance(
            counts, k, options.seed, lambda: store.stream_keys(flt, upto=upto), on_page=sampled
        )
        how = f"per-stratum {options.per_stratum}" if options.per_stratum else "smallest stratum"
        balance_text = (
            f"yes: at most {k} records per (category, label) stratum ({how}), "
            f"chosen by a hash of the id seeded with {options.seed}"
        )

    pseudonym = Pseudonymizer.for_database(target)
    redactor = Redactor(options.redaction) if options.redact else None
    splitter = Splitter(options.split, options.seed)
    # Minimum sizes hold for the test split; without one, for everything exported.
    stats = ExportStats("test" if options.split and "test" in options.split.names else None)

    out = options.out.absolute()
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        # 0700 while it is written: nobody else reaches the files, whatever their mode.
        staging.mkdir(mode=paths.PRIVATE_DIR)
        os.chmod(staging, paths.PRIVATE_DIR)
    except OSError as exc:
        raise ExportError(f"--out {out}: cannot write in {out.parent}: {exc.strerror}.") from exc
    writer = WRITERS[options.format](staging)
    parts = _parts_for(options, span, writer)
    worker_peaks: tuple[int, ...] = ()
    try:
        convert = make_converter(pseudonym=pseudonym, redactor=redactor, context=writer.context)

        def written(done: int, records: int) -> None:
            report(ExportProgress("writing", done, span, records))
            _check(token)

        report(ExportProgress("writing", 0, span))
        _check(token)
        if parts > 1:
            first, last, parts, worker_peaks = export_in_parts(
                spec=PartSpec(
                    # The URL with the password found here: workers never read the keyring.
                    target=DatabaseTarget(store.engines.write.url, target.embedded),
                    format=options.format,
                    filter=flt,
                    split=options.split,
                    seed=options.seed,
                    redaction=options.redaction if redactor else None,
                    pseudonym_key=pseudonym.key,
                    pseudonym_scope=pseudonym.scope,
                    page=store.page,
                ),
                store=store,
                low=low,
                upto=upto,
                parts=parts,
                writer=writer,
                convert=convert,
                cells=stats.cells,
                skipped=stats.skipped,
                redactor=redactor,
                on_progress=written,
                check=lambda: _check(token),
            )
        else:
            first, last = write_records(
                store.stream_records(flt, upto=upto),
                writer,
                convert,
                assign=splitter if options.split else None,
                keeps=plan.keeps if plan is not None else None,
                cells=stats.cells,
                skipped=stats.skipped,
                on_page=lambda last_id, records: written(last_id - low + 1, records),
            )
            writer.close_files()
        if last:
            stats.seen(first)
            stats.seen(last)
        _check(token)
        report(ExportProgress("finishing", span, span, stats.written))
        writer.finish()
        facts = CardFacts(
            format=options.format.value,
            created_at=now or datetime.now(UTC),
            database=_database_name(target),
            filters=_describe_filter(flt),
            seed=options.seed,
            split=str(options.split) if options.split else None,
            balance=balance_text,
            pseudonyms=pseudonym.scope,
            redaction=_describe_redaction(options.redaction) if redactor else None,
            redaction_counts=dict(redactor.counts) if redactor else {},
            files=dict(writer.files),
            hf_context_dtype=_hf_context_dtype(options.format),
            version=__version__,
        )
        card = render_card(facts, stats)
        (staging / "README.md").write_text(card, encoding="utf-8")
        _check(token)
        paths.make_private(staging)  # writers and libraries follow the umask
        _put_in_place(staging, out)
    except BaseException as exc:
        writer.abort()
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a vanished folder: say where, plainly
            raise ExportError(
                f"Writing the export to {out} failed ({exc.strerror or exc}); nothing was written."
            ) from exc
        raise
    return ExportResult(
        out=out,
        format=options.format,
        records=stats.written,
        splits=dict(stats.by_split),
        files=dict(writer.files),
        counts=dict(stats.by_category_label),
        skipped=dict(stats.skipped),
        shortfalls=tuple(stats.shortfalls()),
        pseudonym_scope=pseudonym.scope,
        redactions=dict(redactor.counts) if redactor else {},
        first_decided_at=stats.first,
        last_decided_at=stats.last,
        seconds=time.monotonic() - started,
        card=card,
        workers=parts,
        worker_peak_rss_kb=worker_peaks,
    )


def _put_in_place(staging: Path, out: Path) -> None:
    """Rename the finished folder to ``out``; an existing ``out`` (empty, or replaced with
    --force) is moved aside first and deleted after."""
    if not out.exists():
        staging.rename(out)
        return
    os.chmod(staging, stat.S_IMODE(out.stat().st_mode))  # a folder the user made keeps its mode
    aside = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    out.rename(aside)
    try:
        staging.rename(out)
    except BaseException:
        aside.rename(out)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _database_name(target: DatabaseTarget) -> str:
    """For the card: a server's URL without its password; a SQLite file by name only (its
    path may name a person's home folder)."""
    if target.dialect != "sqlite":
        return target.display
    if target.embedded:
        return "the embedded SQLite database"
    return f"SQLite file {Path(target.url.database or '').name}"


def _describe_filter(flt: ExportFilter) -> list[tuple[str, str]]:
    described: list[tuple[str, str]] = []
    if flt.since:
        described.append(("decided from", flt.since.isoformat()))
    if flt.until:
        described.append(("decided before", flt.until.isoformat()))
    for name, values in (
        ("categories", flt.categories),
        ("labels", flt.labels),
        ("models", flt.models),
        ("risk", flt.risks),
    ):
        if values:
            described.append((name, ", ".join(values)))
    described.append(
        (
            "low-attention approvals",
            "included, flagged" if flt.include_low_attention else "left out",
        )
    )
    return described


def _describe_redaction(settings: RedactionSettings) -> str:
    regions = ", ".join(settings.phone_regions)
    return (
        "e-mail addresses, IBANs (mod-97 checked), payment card numbers (Luhn checked) and "
        f"phone numbers (international, and national formats of {regions})"
    )


def _hf_context_dtype(fmt: ExportFormat) -> str | None:
    if fmt is ExportFormat.JSONL:
        return "json"
    if fmt.has_record_schema:
        return "string"
    return None
