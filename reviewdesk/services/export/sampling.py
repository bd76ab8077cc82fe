"""Seeded, memory-flat choices: which split a record goes to, which records a balanced export keeps.

Both are decided by a keyed hash of the record's id (BLAKE2b, 64 bits, keyed by the seed), never
by a random generator's state, so that a record's fate depends only on (seed, id): the same record
lands in the same split in every export with the same seed, whatever the filters or the order of
the rows, and a test set does not leak into a later training set.

Balanced sampling keeps, in each (category, label) stratum, the ``k`` records with the smallest
hash: a uniform random sample of exactly ``k``, found without holding the stratum in memory. The
stratum sizes ``n`` come from a GROUP BY; the k-th smallest of ``n`` uniform hashes lies within a
few standard deviations of ``k / n``, so one streaming pass counts the hashes below a window
around it and keeps only the hashes inside the window (a few times sqrt(k) per stratum), from
which the exact cut-off follows. If the window missed (odds below one in a million), the pass is
repeated with the whole range.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from reviewdesk.core.errors import InvalidArgument

HASH_RANGE = 1 << 64
Stratum = tuple[str, str]  # (category, label)


class KeyedHash:
    """64-bit hashes of record ids keyed by ``seed``; ``purpose`` keeps the split and the
    balance independent of each other."""

    def __init__(self, seed: int, purpose: bytes) -> None:
        # Keying costs a compression of its own: key once, copy the keyed state per id (five
        # times faster than keying each call).
        self._keyed = hashlib.blake2b(digest_size=8, key=str(seed).encode(), person=purpose)

    def __call__(self, record_id: str) -> int:
        h = self._keyed.copy()
        h.update(record_id.encode())
        return int.from_bytes(h.digest(), "big")


def keyed_hash(seed: int, purpose: bytes, record_id: str) -> int:
    """One keyed hash (see KeyedHash, which is faster for many)."""
    return KeyedHash(seed, purpose)(record_id)


SPLIT_PURPOSE = b"rd-split"
BALANCE_PURPOSE = b"rd-balance"
SPLIT_NAME_RE = r"^[a-z][a-z0-9_]{0,31}$"


@dataclass(frozen=True)
class SplitSpec:
    """Named shares of the export; whatever is left over is ``train``."""

    shares: tuple[tuple[str, float], ...]

    @classmethod
    def parse(cls, text: str) -> SplitSpec:
        """``test=0.2`` or ``test=0.2,validation=0.1``. Raises InvalidArgument (a ValueError)
        saying what is wrong."""

        shares: list[tuple[str, float]] = []
        for part in text.split(","):
            name, sep, raw = part.strip().partition("=")
            name = name.strip()
            if not sep or not name:
                raise InvalidArgument(f"split {part.strip()!r}: write NAME=FRACTION, e.g. test=0.2")
            if not re.match(SPLIT_NAME_RE, name) or name == "train":
                raise InvalidArgument(
                    f"split name {name!r}: use lower-case letters, digits and _ (train is "
                    "the remainder and takes no fraction)"
                )
            try:
                share = float(raw)
            except ValueError:
                raise InvalidArgument(f"split {name}: {raw.strip()!r} is not a number") from None
            if not 0 < share < 1:
                raise InvalidArgument(f"split {name}: fraction {share:g} must be between 0 and 1")
            if name in dict(shares):
                raise InvalidArgument(f"split {name} is given twice")
            shares.append((name, share))
        spec = cls(tuple(shares))
        spec.validate()
        return spec

    def validate(self) -> None:
        total = sum(s for _, s in self.shares)
        if total >= 1:
            raise InvalidArgument(
                f"split fractions add up to {total:g}: they must leave something for train"
            )

    @property
    def names(self) -> tuple[str, ...]:
        return ("train", *(n for n, _ in self.shares))

    def __str__(self) -> str:
        return ",".join(f"{n}={s:g}" for n, s in self.shares)


class Splitter:
    """Assigns a record id to a split by its seeded hash."""

    def __init__(self, spec: SplitSpec | None, seed: int) -> None:
        self.seed = seed
        self._hash = KeyedHash(seed, SPLIT_PURPOSE)
        self._bounds: list[tuple[int, str]] = []
        if spec is not None:
            edge = 0.0
            for name, share in spec.shares:
                edge += share
                self._bounds.append((int(edge * HASH_RANGE), name))

    def __call__(self, record_id: str) -> str:
        if not self._bounds:
            return "data"
        h = self._hash(record_id)
        for bound, name in self._bounds:
            if h < bound:
                return name
        return "train"


@dataclass(frozen=True)
class Cutoff:
    """Keep a record if (hash, id) is at or below (hash, id) here; ``record_id`` None: strictly
    below ``hash``."""

    hash: int
    record_id: str | None


class BalancePlan:
    """Which records a balanced export keeps: per stratum, all of it or those under a cut-off."""

    def __init__(self, seed: int, target: int, cutoffs: Mapping[Stratum, Cutoff]) -> None:
        self.seed = seed
        self._hash = KeyedHash(seed, BALANCE_PURPOSE)
        self.target = target
        self._cutoffs = dict(cutoffs)

    def keeps(self, category: str, label: str, record_id: str) -> bool:
        cutoff = self._cutoffs.get((category, label))
        if cutoff is None:  # a stratum no bigger than the target is kept whole
            return True
        h = self._hash(record_id)
        if h != cutoff.hash:
            return h < cutoff.hash
        return cutoff.record_id is not None and record_id <= cutoff.record_id


KeyPages = Callable[[], Iterable[Sequence[Sequence[object]]]]


def balance_target(counts: Mapping[Stratum, int], per_stratum: int | None) -> int:
    """The size every stratum is brought down to: ``per_stratum``, else the smallest stratum."""
    if per_stratum is not None:
        return per_stratum
    return min(counts.values()) if counts else 0


def plan_balance(
    counts: Mapping[Stratum, int],
    target: int,
    seed: int,
    key_pages: KeyPages,
    *,
    on_page: Callable[[int], None] | None = None,
) -> BalancePlan:
    """Find each oversized stratum's exact cut-off in one streaming pass over the keys.

    ``key_pages`` yields pages of (cursor, id, category, label) rows; calling it again starts
    a new pass (only needed in the rare case that a window missed). ``on_page`` gets the last
    cursor of each page.
    """
    windows: dict[Stratum, tuple[int, int]] = {}
    for stratum, n in counts.items():
        if n > target:
            windows[stratum] = _window(target, n)
    cutoffs: dict[Stratum, Cutoff] = {}
    hash_of = KeyedHash(seed, BALANCE_PURPOSE)
    while windows:
        seen: dict[Stratum, int] = dict.fromkeys(windows, 0)
        below: dict[Stratum, int] = dict.fromkeys(windows, 0)
        inside: dict[Stratum, list[tuple[int, str]]] = {s: [] for s in windows}
        for page in key_pages():
            for row in page:
                stratum = (str(row[2]), str(row[3]))
                window = windows.get(stratum)
                if window is None:
                    continue
                seen[stratum] += 1
                record_id = str(row[1])
                h = hash_of(record_id)
                if h < window[0]:
                    below[stratum] += 1
                elif h < window[1]:
                    inside[stratum].append((h, record_id))
            if on_page is not None and page:
                on_page(int(str(page[-1][0])))
        missed: dict[Stratum, tuple[int, int]] = {}
        for stratum, (lo, _hi) in windows.items():
            need = target - below[stratum]
            found = sorted(inside[stratum])
            if seen[stratum] <= target:
                cutoffs.pop(stratum, None)  # shrank to the target since counting: keep it all
            elif need == 0:
                cutoffs[stratum] = Cutoff(lo, None)
            elif 0 < need <= len(found):
                h, record_id = found[need - 1]
                cutoffs[stratum] = Cutoff(h, record_id)
            else:
                missed[stratum] = (0, HASH_RANGE)
        windows = missed
    return BalancePlan(seed, target, cutoffs)


def _window(k: int, n: int) -> tuple[int, int]:
    # The k-th smallest of n uniform values has mean k/(n+1) and a standard deviation below
    # sqrt(k)/n; eight of them (plus slack for tiny k) miss with odds far below one in a million.
    spread = 8 * math.sqrt(k) + 16
    lo = max(0.0, (k - spread) / n)
    hi = min(1.0, (k + spread) / n)
    return int(lo * HASH_RANGE), min(HASH_RANGE, int(hi * HASH_RANGE) + 1)
