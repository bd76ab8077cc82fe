"""Build the demo queue, resources/demo/drafts.jsonl.gz, from the Bitext customer-support data.

    .venv/bin/python packaging/build_demo_queue.py [--csv PATH] [--out PATH]

Deterministic and offline: the same CSV always gives the same records (and the same bytes).
Drafts, inputs, intents, entities, tags and retrieved replies are the dataset's own text. Risk,
model, confidence, thread, priority, created_at and the choice of retrieved replies are assigned
here for demonstration; they are not measurements.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CSV_NAME = "bitext_customer_support_gpt3.5_6480.csv.gz"
DEFAULT_CSV = REPO.parent / "shared" / "data" / CSV_NAME
DEFAULT_OUT = REPO / "resources" / "demo" / "drafts.jsonl.gz"
SOURCE_LABEL = "Bitext customer-support dataset (CDLA-Sharing-1.0)"

SEED = "reviewdesk-demo-1"
DRAFT_COUNT = 480
THREADED_SHARE = 1 / 3
THREAD_SIZES = (2, 3, 4)
THREAD_SIZE_WEIGHTS = (5, 3, 2)
WINDOW_END = datetime(2026, 11, 20, tzinfo=UTC)
WINDOW = timedelta(days=3)
MODELS = ("support-drafter-2026.09", "support-drafter-2026.11")
NEWER_MODEL_SHARE = 0.55

RISK_OF_CATEGORY = {
    "refund": "high",
    "payment": "high",
    "cancellation_fee": "high",
    "invoice": "high",
    "account": "medium",
    "order": "medium",
    "shipping_address": "medium",
    "delivery": "medium",
    "contact": "low",
    "feedback": "low",
    "newsletter": "low",
}
# Triangular mode of the assigned confidence (range 0.55..0.99): riskier topics sit lower.
CONFIDENCE_MODE = {"high": 0.62, "medium": 0.82, "low": 0.93}

# Entity types that name one customer; the others (account type, city, amount) do not.
IDENTITY_ENTITIES = ("order_id", "invoice_id", "person_name")

# Letters from the dataset's TAGS.md and README (bitext/customer-support-llm-chatbot-training-
# dataset). "N" occurs in the data but is not documented there, so it is passed through as is.
TAG_NAMES = {
    "B": "basic syntax",
    "C": "coordinated syntax",
    "I": "interrogative",
    "M": "morphological variation",
    "L": "lexical variation",
    "E": "abbreviations",
    "P": "polite",
    "Q": "colloquial",
    "W": "offensive",
    "K": "keyword mode",
    "Z": "spelling or punctuation errors",
}

# Every intent has a single canned reply in this dataset, so a retrieved "earlier reply" of the
# same intent repeats the draft; replies of related intents give the reviewer something to compare.
# Categories with one intent borrow related intents from elsewhere.
RELATED_INTENTS = {
    "check_cancellation_fee": ("cancel_order", "check_refund_policy"),
    "newsletter_subscription": ("create_account", "contact_customer_service"),
}

Row = dict[str, str]
Record = dict[str, Any]


def read_rows(path: Path = DEFAULT_CSV) -> list[Row]:
    """The CSV's data rows in file order; a row's index is its ``source_row``."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def build(csv_path: Path = DEFAULT_CSV) -> list[Record]:
    """The demo records built from the CSV at ``csv_path``."""
    return build_records(read_rows(csv_path))


def build_records(
    rows: Sequence[Row], *, count: int = DRAFT_COUNT, seed: str = SEED
) -> list[Record]:
    """Sample ``count`` rows balanced over categories and turn them into enqueue records."""
    by_intent: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_intent[row["intent"]].append(index)

    chosen = _sample(rows, count, random.Random(f"{seed}:sample"))
    threads = _threads(rows, chosen, random.Random(f"{seed}:threads"))
    times = _times(chosen, threads, random.Random(f"{seed}:times"))
    thread_of = {index: key for key, members in threads.items() for index in members}

    attrs = random.Random(f"{seed}:attributes")
    retrieval = random.Random(f"{seed}:retrieved")
    records: list[Record] = []
    for number, index in enumerate(sorted(chosen, key=lambda i: (times[i], i)), start=1):
        row = rows[index]
        category = row["category"].lower()
        risk = RISK_OF_CATEGORY[category]
        confidence = attrs.triangular(0.55, 0.99, CONFIDENCE_MODE[risk])
        model = MODELS[1] if attrs.random() < NEWER_MODEL_SHARE else MODELS[0]
        priority = _priority(risk, attrs.random())
        thread = thread_of[index]
        customer: dict[str, str] = {"id": thread}
        if row["entity_type"]:
            customer[row["entity_type"]] = row["entity_value"]
        records.append(
            {
                "id": f"demo-{number:04d}",
                "draft": row["response"],
                "input": row["instruction"],
                "category": category,
                "risk": risk,
                "model": model,
                "confidence": round(min(max(confidence, 0.55), 0.99), 2),
                "thread": thread,
                "priority": priority,
                "created_at": times[index].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "context": {
                    "intent": row["intent"],
                    "customer": customer,
                    "flags": _flags(row["tags"]),
                    "retrieved": _retrieved(rows, index, by_intent, retrieval),
                },
                "metadata": {"source_row": index, "intent": row["intent"]},
            }
        )
    return records


def _sample(rows: Sequence[Row], count: int, rng: random.Random) -> list[int]:
    """Row indices: ``count`` split evenly over categories (as many as a small one has), and
    within a category taken from its intents in turn.

    At most a few rows per identity value are taken, so that each order, invoice or named person
    can be one customer with a short thread.
    """
    intents: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, row in enumerate(rows):
        intents[row["category"]][row["intent"]].append(index)
    categories = sorted(intents)
    quota = _split(count, categories, rng)
    identity_cap: dict[str, int] = {}
    identity_used: Counter[str] = Counter()
    chosen: list[int] = []
    for category in categories:
        pools: list[list[int]] = []
        for name in sorted(intents[category]):
            pool = list(intents[category][name])
            rng.shuffle(pool)
            pools.append(pool)
        rng.shuffle(pools)
        taken = 0
        while taken < quota[category] and any(pools):
            for pool in pools:
                if taken == quota[category]:
                    break
                while pool:
                    index = pool.pop()
                    identity = _identity(rows[index])
                    if identity is not None:
                        cap = identity_cap.setdefault(identity, rng.choice(THREAD_SIZES))
                        if identity_used[identity] >= cap:
                            continue
                        identity_used[identity] += 1
                    chosen.append(index)
                    taken += 1
                    break
    return sorted(chosen)


def _split(total: int, names: Sequence[str], rng: random.Random) -> dict[str, int]:
    """``total`` shared as evenly as possible; the remainder goes to a seeded few."""
    base, extra = divmod(total, len(names))
    lucky = set(rng.sample(list(names), extra))
    return {name: base + (name in lucky) for name in names}


def _identity(row: Row) -> str | None:
    if row["entity_type"] in IDENTITY_ENTITIES and row["entity_value"]:
        return f"{row['entity_type']}={row['entity_value']}"
    return None


def _threads(
    rows: Sequence[Row], chosen: Sequence[int], rng: random.Random
) -> dict[str, list[int]]:
    """Customer key -> row indices, in the order the customer wrote them.

    Rows naming the same order, invoice or person are one customer. About a third of all drafts
    end up on threads of two to four; the rest of those threads are seeded groups of rows that
    name no such identity and do not contradict each other's entities.
    """
    threads: dict[str, list[int]] = {}
    anonymous: list[int] = []
    for index in chosen:
        identity = _identity(rows[index])
        if identity is None:
            anonymous.append(index)
        else:
            threads.setdefault(_slug(identity), []).append(index)
    for members in threads.values():
        rng.shuffle(members)

    threaded = sum(len(m) for m in threads.values() if len(m) > 1)
    target = round(len(chosen) * THREADED_SHARE)
    rng.shuffle(anonymous)
    number = 0
    while anonymous:
        size = 1
        if threaded < target:
            size = rng.choices(THREAD_SIZES, THREAD_SIZE_WEIGHTS)[0]
        group = [anonymous.pop()]
        for candidate in list(reversed(anonymous)):
            if len(group) == size:
                break
            if _compatible(rows, group, candidate):
                group.append(candidate)
                anonymous.remove(candidate)
        number += 1
        threads[f"cust-{number:04d}"] = group
        if len(group) > 1:
            threaded += len(group)
    return threads


def _compatible(rows: Sequence[Row], group: Sequence[int], candidate: int) -> bool:
    """Whether ``candidate`` can join ``group`` without one customer having two account types."""
    kind, value = rows[candidate]["entity_type"], rows[candidate]["entity_value"]
    return not kind or all(
        rows[i]["entity_type"] != kind or rows[i]["entity_value"] == value for i in group
    )


def _slug(identity: str) -> str:
    kind, value = identity.split("=", 1)
    prefix = {"order_id": "order", "invoice_id": "invoice", "person_name": "person"}[kind]
    return f"cust-{prefix}-" + re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _times(
    chosen: Sequence[int], threads: dict[str, list[int]], rng: random.Random
) -> dict[int, datetime]:
    """Distinct whole-second times in the window; on a thread, in the customer's order."""
    start = WINDOW_END - WINDOW
    seconds = rng.sample(range(int(WINDOW.total_seconds())), len(chosen))
    at = {index: start + timedelta(seconds=s) for index, s in zip(chosen, seconds, strict=True)}
    for members in threads.values():
        for index, moment in zip(members, sorted(at[i] for i in members), strict=True):
            at[index] = moment
    return at


def _priority(risk: str, draw: float) -> int:
    if risk != "high":
        return 0
    if draw < 0.06:
        return 2
    return 1 if draw < 0.22 else 0


def _flags(tags: str) -> list[str]:
    return [TAG_NAMES.get(letter, letter) for letter in tags]


def _retrieved(
    rows: Sequence[Row], index: int, by_intent: dict[str, list[int]], rng: random.Random
) -> list[dict[str, str]]:
    """Two or three real replies from the dataset: one of the same intent, the rest related."""
    intent = rows[index]["intent"]
    category = rows[index]["category"]
    siblings = sorted(
        name for name, members in by_intent.items() if rows[members[0]]["category"] == category
    )
    related = [name for name in siblings if name != intent] + list(RELATED_INTENTS.get(intent, ()))
    picked = rng.sample(related, min(len(related), rng.choice((1, 2))))
    documents: list[dict[str, str]] = []
    for name in [intent, *picked]:
        candidates = [i for i in by_intent[name] if i != index]
        row_index = rng.choice(candidates)
        documents.append(
            {
                "title": f"Earlier reply: {name} #{row_index}",
                "source": f"{SOURCE_LABEL}, row {row_index}",
                "text": rows[row_index]["response"],
            }
        )
    return documents


def encode(records: Sequence[Record]) -> bytes:
    """The records as gzip-compressed JSON Lines, byte-for-byte reproducible (no timestamp)."""
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buffer.getvalue()


def summary(records: Sequence[Record]) -> str:
    categories = Counter(r["category"] for r in records)
    sizes = Counter(r["thread"] for r in records)
    shared = sum(1 for r in records if sizes[r["thread"]] > 1)
    lines = [f"{len(records)} drafts"]
    lines += [f"  {name:<17} {n}" for name, n in sorted(categories.items())]
    lines.append(
        f"  threads: {len(sizes)} customers, {sum(1 for n in sizes.values() if n > 1)} with more "
        f"than one draft, holding {shared} drafts"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="the Bitext CSV (.csv.gz)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the queue")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        print(f"build_demo_queue: no such file: {args.csv}", file=sys.stderr)
        return 2
    records = build(args.csv)
    data = encode(records)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(summary(records))
    print(f"wrote {args.out} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
