"""How long a durable commit's flush takes on this disk, alone and beside another writer.

A decision on the embedded database is shown as recorded only once SQLite has flushed it
(``fdatasync`` of the WAL), so the desk's slowest key is the disk's slowest flush. This measures
that flush directly: ``--flushes`` times, 10 ms apart, a 4 KiB write to a file and its
``fdatasync``, and prints p50 / p99 / p99.9 / max.

    .venv/bin/python benchmarks/disk_flush.py                      # the quiet disk
    .venv/bin/python benchmarks/disk_flush.py --beside-writer 256  # another program writing
    .venv/bin/python benchmarks/disk_flush.py --writer-only 120    # just the writer, 120 s

``--beside-writer MB`` runs a second process meanwhile that writes MB megabytes to a file of its
own and flushes them, every 10 s (as a database server's checkpoint does). ``--writer-only S``
runs that writer alone for S seconds, to put beside another benchmark (``ui_latency.py``). Files
go to ``--dir`` (default: the system's temporary folder) and are removed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path

BLOCK = 4096
CHUNK = 1 << 20  # the writer writes 1 MiB at a time


def writer(folder: str, megabytes: int, seconds: float) -> None:
    """Every 10 s: write ``megabytes`` MiB to a file and flush it; for ``seconds`` in all."""
    path = Path(folder) / f"writer-{os.getpid()}.bin"
    data = os.urandom(CHUNK)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            started = time.monotonic()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            try:
                for _ in range(megabytes):
                    os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            time.sleep(max(0.0, 10.0 - (time.monotonic() - started)))
    finally:
        path.unlink(missing_ok=True)


def flushes(folder: str, count: int) -> list[float]:
    """Milliseconds of ``count`` fdatasyncs of a 4 KiB write each, 10 ms apart."""
    path = Path(folder) / f"flush-{os.getpid()}.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    block = b"x" * BLOCK
    taken: list[float] = []
    try:
        for i in range(count):
            os.pwrite(fd, block, (i % 256) * BLOCK)
            started = time.perf_counter()
            os.fdatasync(fd)
            taken.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return taken


def at(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flushes", type=int, default=3000)
    parser.add_argument("--beside-writer", type=int, metavar="MB", default=0)
    parser.add_argument("--writer-only", type=float, metavar="SECONDS")
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    if args.writer_only:
        writer(args.dir, args.beside_writer or 256, args.writer_only)
        return 0
    other = None
    if args.beside_writer:
        # Long enough to outlast the flushes (about 11 ms each); stopped when they are done.
        seconds = args.flushes * 0.02 + 30
        other = mp.get_context("spawn").Process(
            target=writer, args=(args.dir, args.beside_writer, seconds)
        )
        other.start()
        time.sleep(1.0)
    try:
        taken = sorted(flushes(args.dir, args.flushes))
    finally:
        if other is not None:
            other.terminate()
            other.join()
    beside = f", beside a writer of {args.beside_writer} MB every 10 s" if other else ""
    print(
        f"fdatasync of 4 KiB x {len(taken)}{beside}: p50 {at(taken, 0.5):.2f} ms, "
        f"p99 {at(taken, 0.99):.2f} ms, p99.9 {at(taken, 0.999):.2f} ms, max {taken[-1]:.1f} ms; "
        f"over 20 ms: {sum(t > 20 for t in taken)}, over 50 ms: {sum(t > 50 for t in taken)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
