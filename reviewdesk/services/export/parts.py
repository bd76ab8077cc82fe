"""The record loop, and a parallel export: one contiguous range of decision ids per process, the
parts joined in id order into the very bytes one process writes.

``write_records`` is the export's hot loop, the same for a serial export and for every part of a
parallel one. ``export_in_parts`` starts N-1 worker processes with the ``spawn`` start method
(the desk calls the export from a thread of a Qt process, where ``fork`` is unsafe) and starts
exporting the first decisions itself while they start up (a new interpreter and its imports take
most of a second). When all of them are ready, the decisions it has not reached yet are shared
out in N contiguous ranges: the first stays with this process, each worker takes one of the
others and writes it with the format's own writer into a hidden folder of its own inside the
staging folder. Then, in id order, the first part of each split file is renamed into place and
the later ones are appended to it (a CSV header kept once): only line formats join like that
(``FormatWriter.joinable``).

A worker gets plain data (``PartSpec``, ``PartJob``): the database URL with the password the
calling process found, the pseudonym key it resolved, the options, its range. Workers never read
the keyring or a settings file. Progress and outcomes come back through one multiprocessing
queue, ranges go out through another; one event stops them all. The counts of the parts are
summed in id order, so every table, the first and last decision time, the skipped and redaction
counts come out as a serial export has them.
"""

from __future__ import annotations

import bisect
import errno
import multiprocessing
import os
import pickle
import queue
import shutil
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue as ProcessQueue
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any

from reviewdesk.services.export.errors import ExportError
from reviewdesk.services.export.formats import WRITERS, ExportFormat, FormatWriter
from reviewdesk.services.export.privacy import (
    Pseudonymizer,
    PseudonymScope,
    RedactionSettings,
    Redactor,
)
from reviewdesk.services.export.records import RowConverter, make_converter
from reviewdesk.services.export.sampling import SplitSpec, Splitter
from reviewdesk.storage.engine import DatabaseTarget, create_engines
from reviewdesk.storage.export_sql import ExportFilter, ExportStore, Page

# (split, category, label, risk, model, low_attention, resolution) -> records
Cells = Counter[tuple[Any, ...]]
OnPage = Callable[[int, int], None]  # (last decision id of the page, records written so far)

NONE_YET = "\uffff"  # sorts after every ISO 8601 time: the "first" of a range with no record
POLL_S = 0.1  # how often the calling process looks at cancel and at its workers while waiting
STOP_WAIT_S = 10.0  # how long stopped workers get to finish their page before they are killed
COPY_CHUNK = 1 << 24


def write_records(
    pages: Iterable[Page],
    writer: FormatWriter,
    convert: RowConverter,
    *,
    assign: Callable[[str], str] | None,
    keeps: Callable[[str, str, str], bool] | None,
    cells: Cells,
    skipped: Counter[str],
    on_page: OnPage,
) -> tuple[str, str]:
    """Convert and write every row of ``pages``; count what was written in ``cells`` (see
    card.ExportStats) and what the format skipped in ``skipped``; call ``on_page`` after each
    page. Returns the first and last ``decided_at`` written (NONE_YET and "" when none).

    A few microseconds per record, so the bookkeeping is inlined here.
    """
    write = writer.write
    first, last = NONE_YET, ""
    try:
        for page in pages:
            for row in page:
                if keeps is not None and not keeps(row[10], row[5], row[1]):
                    continue
                split = "data" if assign is None else assign(row[1])
                record = convert(row)
                why = write(split, record)
                if why is None:
                    cells[(split, row[10], row[5], row[11], row[12], bool(row[18]), row[19])] += 1
                    at = record["decided_at"]
                    if at < first:
                        first = at
                    if at > last:
                        last = at
                else:
                    skipped[why] += 1
            on_page(int(page[-1][0]), sum(cells.values()))
    finally:
        # Stopped early (cancelled, failed): stop the page reader now, before its connections
        # are disposed of, not whenever the generator is collected.
        close = getattr(pages, "close", None)
        if close is not None:
            close()
    return first, last


@dataclass(frozen=True)
class PartSpec:
    """What every part of one export shares: plain data, sent to each worker process."""

    target: DatabaseTarget  # its URL carries the password the calling process found, if any
    format: ExportFormat
    filter: ExportFilter
    split: SplitSpec | None
    seed: int
    redaction: RedactionSettings | None  # None: not redacted
    pseudonym_key: bytes
    pseudonym_scope: PseudonymScope
    page: int


@dataclass(frozen=True)
class PartJob:
    """One range of decision ids, and the folder its files go to."""

    index: int  # 0 is the calling process's own, the first ids
    after: int  # decision ids above this one ...
    upto: int  # ... up to and including this one
    folder: Path


@dataclass(frozen=True)
class PartOutcome:
    """What one part wrote, counted as the serial loop counts it."""

    index: int
    files: dict[str, str]
    cells: Cells
    skipped: Counter[str]
    redactions: Counter[str]
    first: str
    last: str
    peak_rss_kb: int


def part_bounds(low: int, upto: int, parts: int) -> list[int]:
    """``parts`` + 1 boundaries: part k holds the decision ids above b[k] up to b[k + 1]."""
    span = upto - low + 1
    return [low - 1 + span * k // parts for k in range(parts)] + [upto]


def peak_rss_kb() -> int:
    """This process's peak resident memory so far, in kilobytes (0 where unknown).

    On Linux, VmHWM: this program's own. ``getrusage``'s ``ru_maxrss`` also holds what the
    process that started this one had resident (it is kept across fork and exec).
    """
    try:
        with open("/proc/self/status", encoding="utf-8", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes there, kilobytes on Linux


# -- a worker process --------------------------------------------------------------------------

READY, PROGRESS, DONE, FAILED = "ready", "progress", "done", "failed"
Message = tuple[str, int, Any]  # (kind, worker, payload)


class _Stopped(Exception):
    """The calling process stopped the workers (cancelled, failed, done, or gone)."""


@dataclass(frozen=True)
class _Failure:
    """A worker's exception, pickled when it can be, with its traceback as text."""

    pickled: bytes | None
    kind: str
    message: str
    traceback: str


def _portable(exc: BaseException) -> _Failure:
    pickled: bytes | None
    try:
        pickled = pickle.dumps(exc)
        pickle.loads(pickled)  # some exceptions pickle but do not unpickle
    except Exception:
        pickled = None
    return _Failure(
        pickled,
        f"{type(exc).__module__}.{type(exc).__qualname__}",
        str(exc),
        "".join(traceback.format_exception(exc)),
    )


def export_part(store: ExportStore, spec: PartSpec, job: PartJob, on_page: OnPage) -> PartOutcome:
    """Export one range into ``job.folder``, as the calling process exports its own."""
    writer = WRITERS[spec.format](job.folder)
    redactor = Redactor(spec.redaction) if spec.redaction is not None else None
    pseudonym = Pseudonymizer(spec.pseudonym_key, spec.pseudonym_scope)
    convert = make_converter(pseudonym=pseudonym, redactor=redactor, context=writer.context)
    cells: Cells = Counter()
    skipped: Counter[str] = Counter()
    try:
        first, last = write_records(
            store.stream_records(spec.filter, upto=job.upto, after=job.after),
            writer,
            convert,
            assign=Splitter(spec.split, spec.seed) if spec.split else None,
            keeps=None,
            cells=cells,
            skipped=skipped,
            on_page=on_page,
        )
        writer.close_files()
    except BaseException:
        writer.abort()
        raise
    return PartOutcome(
        index=job.index,
        files=dict(writer.files),
        cells=cells,
        skipped=skipped,
        redactions=Counter(redactor.counts) if redactor else Counter(),
        first=first,
        last=last,
        peak_rss_kb=peak_rss_kb(),
    )


def _work(
    worker: int,
    spec: PartSpec,
    jobs: ProcessQueue[PartJob],
    messages: ProcessQueue[Message],
    stop: ProcessEvent,
) -> None:
    """A worker process: say when ready, take one range, report each page, then the outcome
    or the error."""
    # Ctrl+C reaches the whole process group: the calling process decides, and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def check() -> None:
        if stop.is_set() or os.getppid() != parent:
            raise _Stopped

    try:
        # The URL is complete: this process never asks the keyring for the password.
        engines = create_engines(spec.target, password_from_keyring=False)
        try:
            store = ExportStore(engines, page=spec.page)
            messages.put((READY, worker, None))
            while True:
                check()
                try:
                    job = jobs.get(timeout=POLL_S)
                    break
                except queue.Empty:
                    continue

            def on_page(last_id: int, written: int) -> None:
                check()
                messages.put((PROGRESS, worker, (job.index, last_id - job.after, written)))

            outcome = export_part(store, spec, job, on_page)
        finally:
            engines.dispose()
        messages.put((DONE, worker, outcome))
        messages.close()
        messages.join_thread()  # the outcome is in the pipe
    except _Stopped:
        messages.cancel_join_thread()  # nobody needs what is still queued: exit at once
    except BaseException as exc:
        messages.put((FAILED, worker, _portable(exc)))
    else:
        # Done, files closed, connections closed, outcome sent: skip the interpreter's teardown
        # (a fifth of a second that the calling process would wait for).
        os._exit(0)


# -- the calling process -----------------------------------------------------------------------

# The calling process starts on the first decisions while the workers start up (most of a
# second: a new interpreter and its imports), and the decisions it has not reached when they are
# all ready are shared out then, so that nobody waits for the others at the end. False: the
# ranges are equal and fixed when the workers are ready (tests, which need every part used).
HEAD_START = True


class _RemoteTraceback(Exception):
    """The worker's traceback, chained to the error it raised there (as concurrent.futures)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _until(pages: Iterable[Page], limit: Callable[[], int]) -> Iterator[Page]:
    """``pages`` up to the decision id ``limit()``, which may come down while they are read."""
    try:
        for page in pages:
            end = limit()
            if page[-1][0] <= end:
                yield page
                continue
            head = page[: bisect.bisect_right(page, end, key=lambda row: int(row[0]))]
            if head:
                yield head
            return
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def export_in_parts(
    *,
    spec: PartSpec,
    store: ExportStore,
    low: int,
    upto: int,
    parts: int,
    writer: FormatWriter,
    convert: RowConverter,
    cells: Cells,
    skipped: Counter[str],
    redactor: Redactor | None,
    on_progress: Callable[[int, int], None],
    check: Callable[[], None],
) -> tuple[str, str, int, tuple[int, ...]]:
    """Export the decision ids ``low``..``upto`` in up to ``parts`` processes into ``writer``'s
    folder: this one and ``parts - 1`` workers.

    This process writes the first range with ``writer``; the counts of every part end up in
    ``cells``, ``skipped`` and ``redactor.counts``, and the joined files in ``writer.files``,
    as a serial export leaves them (the caller then calls ``writer.finish()``).
    ``on_progress(done, written)`` gets the decision ids gone through and the records written by
    all parts; ``check()`` raises to cancel, and is called at least every POLL_S seconds. An
    error of a worker is raised here as that worker raised it. Returns the first and last
    ``decided_at`` (as ``write_records``), how many processes exported (1 when this one was
    through before the workers were ready), and each worker's peak resident memory (kilobytes).
    """
    workers = parts - 1
    ctx = multiprocessing.get_context("spawn")
    messages: ProcessQueue[Message] = ctx.Queue()
    jobs: ProcessQueue[PartJob] = ctx.Queue()
    stop = ctx.Event()
    processes: list[SpawnProcess] = []
    ready: set[int] = set()
    finished: set[int] = set()  # workers whose outcome arrived
    outcomes: dict[int, PartOutcome] = {}  # part -> what it wrote
    assigned: list[PartJob] = []
    done = {0: 0}  # part -> decision ids gone through
    written = {0: 0}  # part -> records written
    limit = upto  # the last decision id of this process's own range
    position = low - 1  # the last decision id this process has gone through

    def handle(message: Message) -> None:
        kind, worker, payload = message
        if kind == READY:
            ready.add(worker)
        elif kind == PROGRESS:
            part, done[part], written[part] = payload
        elif kind == DONE:
            outcome: PartOutcome = payload
            finished.add(worker)
            outcomes[outcome.index] = outcome
            job = assigned[outcome.index - 1]
            done[outcome.index] = job.upto - job.after
            written[outcome.index] = sum(outcome.cells.values())
        else:
            failure: _Failure = payload
            cause = _RemoteTraceback(f'\n"""\n{failure.traceback}"""')
            if failure.pickled is None:
                raise ExportError(
                    f"An export worker process failed: {failure.kind}: {failure.message}; "
                    "nothing was written."
                ) from cause
            raise pickle.loads(failure.pickled) from cause

    def drain(timeout: float | None) -> bool:
        """Handle every message waiting (after up to ``timeout`` s for the first one)."""
        got = False
        while True:
            try:
                message = messages.get(timeout=timeout) if timeout else messages.get_nowait()
            except queue.Empty:
                return got
            handle(message)
            got, timeout = True, None

    def alive(expected: Callable[[int], bool]) -> None:
        """Raise if a worker that ``expected`` more from ended without sending it."""
        for worker, process in enumerate(processes, start=1):
            if process.exitcode is not None and expected(worker):
                drain(None)  # what it sent before it ended is in the pipe by now
                if expected(worker):
                    raise ExportError(
                        f"An export worker process ended without finishing (exit code "
                        f"{process.exitcode}); nothing was written."
                    )

    def split() -> None:
        """Share the decision ids this process has not reached out to it and the workers."""
        nonlocal limit
        bounds = part_bounds(position + 1, upto, parts)
        limit = bounds[1]
        for k in range(1, parts):
            job = PartJob(k, bounds[k], bounds[k + 1], writer.folder / f".part-{k}")
            job.folder.mkdir()
            assigned.append(job)
            jobs.put(job)

    def own_page(last_id: int, records: int) -> None:
        nonlocal position
        position = last_id
        done[0], written[0] = last_id - (low - 1), records
        drain(None)
        if not assigned:
            alive(lambda w: w not in ready)
            if len(ready) == workers:
                split()
        on_progress(sum(done.values()), sum(written.values()))

    try:
        for worker in range(1, parts):
            process = ctx.Process(
                target=_work,
                args=(worker, spec, jobs, messages, stop),
                name=f"reviewdesk-export-{worker}",
                daemon=True,  # never outlives this process
            )
            process.start()
            processes.append(process)
        if not HEAD_START:
            while len(ready) < workers:
                if not drain(POLL_S):
                    check()
                alive(lambda w: w not in ready)
            split()
        first, last = write_records(
            _until(store.stream_records(spec.filter, upto=upto, after=low - 1), lambda: limit),
            writer,
            convert,
            assign=Splitter(spec.split, spec.seed) if spec.split else None,
            keeps=None,
            cells=cells,
            skipped=skipped,
            on_page=own_page,
        )
        done[0] = limit - (low - 1)  # its last pages may have held no decision it selects
        writer.close_files()
        if not assigned:
            # Through every decision before the workers were ready: they have nothing to do.
            stop.set()
            _end(processes, wait=0.0)
            on_progress(sum(done.values()), sum(written.values()))
            return first, last, 1, ()
        while len(outcomes) < workers:
            if drain(POLL_S):
                on_progress(sum(done.values()), sum(written.values()))
            else:
                check()
            alive(lambda w: w not in finished)
        on_progress(sum(done.values()), sum(written.values()))  # every range gone through
        for job in assigned:
            # In id order, as a serial export meets them: the tables' orders come out the same.
            outcome = outcomes[job.index]
            cells.update(outcome.cells)
            skipped.update(outcome.skipped)
            if redactor is not None:
                redactor.counts.update(outcome.redactions)
            first, last = min(first, outcome.first), max(last, outcome.last)
            join_part(writer.folder, job.folder, outcome.files, writer.files, writer.header)
            shutil.rmtree(job.folder)
        _end(processes, wait=STOP_WAIT_S)
    except BaseException:
        stop.set()
        jobs.cancel_join_thread()
        _stop(processes, messages)
        raise
    finally:
        messages.close()
        jobs.close()
    return first, last, parts, tuple(outcomes[job.index].peak_rss_kb for job in assigned)


def _end(processes: list[SpawnProcess], *, wait: float) -> None:
    """Join workers that are done; terminate those still running after ``wait`` seconds (they
    hold nothing: at most an interpreter starting up)."""
    deadline = time.monotonic() + wait
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.terminate()
            process.join()


def _stop(processes: list[SpawnProcess], messages: ProcessQueue[Message]) -> None:
    """Wait for the stopped workers (they stop at their next page), reading what they still
    send so that none blocks on a full pipe; kill those that do not stop in time."""
    deadline = time.monotonic() + STOP_WAIT_S
    for process in processes:
        while process.is_alive() and time.monotonic() < deadline:
            try:
                while True:
                    messages.get_nowait()
            except (queue.Empty, OSError, EOFError, pickle.UnpicklingError):
                pass
            process.join(0.05)
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join()


def join_part(
    folder: Path,
    part: Path,
    files: Mapping[str, str],
    joined: dict[str, str],
    header: bytes,
) -> None:
    """Join the files of ``part`` (split -> path relative to it) to those in ``folder``:
    a split's first file is renamed into place, later ones are appended, ``header`` kept once.
    ``joined`` (split -> relative path) gains the new splits, in the order met."""
    for split, relative in files.items():
        source, target = part / relative, folder / relative
        if split not in joined:
            joined[split] = relative
            target.parent.mkdir(parents=True, exist_ok=True)
            source.rename(target)
        else:
            _append(source, target, header)


def _append(source: Path, target: Path, header: bytes) -> None:
    with source.open("rb", buffering=0) as src, target.open("r+b", buffering=0) as dst:
        if header and src.read(len(header)) != header:
            raise ExportError(f"{source}: a part without the format's header; nothing was written.")
        dst.seek(0, os.SEEK_END)
        _copy(src.fileno(), dst.fileno())


# copy_file_range refuses some pairs of files (other file systems, old kernels, sandboxes):
# then the bytes go through this process.
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


def _copy(src: int, dst: int) -> None:
    """Copy the rest of ``src`` to ``dst`` from their current offsets; in the kernel if it can."""
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            while copy_range(src, dst, COPY_CHUNK):
                pass
            return
        except OSError as exc:
            if exc.errno not in _NO_COPY_RANGE:
                raise
    while chunk := os.read(src, COPY_CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view) :]
