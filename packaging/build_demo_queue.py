"""Build the demo data in resources/demo/ from the Bitext customer-support data.

    .venv/bin/python packaging/build_demo_queue.py [--csv PATH] [--out DIR]

Writes three files, deterministically and offline (the same CSV always gives the same bytes):

- ``drafts.jsonl.gz``: the demo queue, 480 drafts balanced over the 11 categories, in the
  enqueue format, created over three days;
- ``history.jsonl.gz``: 4,790 more drafts from other rows, created over the 84 days before, for
  the team history that ``reviewdesk demo --team`` decides (services/demo_history.py);
- ``mistakes.jsonl.gz``: the answer key: which drafts of both carry a mistake, what it is, and
  the replacements that correct it.

What is the dataset's text: the customer's message (``input``), category, intent, entities,
tags, and the reply at the heart of each draft (one canned reply per intent: the dataset has
only 27) and the retrieved replies. What is composed or altered here (demo_text.py), for
demonstration and not measured: the rest of each draft (greeting, the sentence restating the
request, sympathy, closing), the customer's number, account type or amount written into the
reply, and, in a share of drafts per category and model (``MISTAKE_SHARE``), a mistake for
reviewers to catch. Assigned here, not measured: risk, model, confidence, thread, priority,
created_at and the choice of retrieved replies. No model was run and no person reviewed these
drafts.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_text  # beside this script, which runs as a file (not a package)

REPO = Path(__file__).resolve().parents[1]
CSV_NAME = "bitext_customer_support_gpt3.5_6480.csv.gz"


def _find_csv() -> Path:
    """shared/data/CSV_NAME beside the checkout, or beside a folder above it (a worktree)."""
    for folder in REPO.parents:
        candidate = folder / "shared" / "data" / CSV_NAME
        if candidate.is_file():
            return candidate
    return REPO.parent / "shared" / "data" / CSV_NAME


DEFAULT_CSV = _find_csv()
DEFAULT_OUT = REPO / "resources" / "demo"
QUEUE_FILE, HISTORY_FILE, MISTAKES_FILE = "drafts.jsonl.gz", "history.jsonl.gz", "mistakes.jsonl.gz"
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

# The team history: drafts per category (the rows the queue leaves are the limit: 200 for
# cancellation_fee, 179 for newsletter), created over HISTORY_DAYS days before WINDOW_END, in
# working hours. The newer model takes NEWER_MODEL_SHARE of drafts from ROLLOUT on; before, only
# the older one runs.
HISTORY_COUNTS = {
    "account": 700,
    "cancellation_fee": 190,
    "contact": 380,
    "delivery": 420,
    "feedback": 360,
    "invoice": 420,
    "newsletter": 170,
    "order": 720,
    "payment": 430,
    "refund": 620,
    "shipping_address": 380,
}
HISTORY_DAYS = 84
HISTORY_HOURS = (6.0, 17.5)
ROLLOUT = WINDOW_END - timedelta(days=30)

# Share of drafts with a composed mistake, by category, for the (older, newer) model: riskier
# topics go wrong more often. The newer model is a little better everywhere but at orders, where
# it misreads order numbers: the team history shows that drift. Counted per file, category and
# model, as round(share x drafts); the dataset's own wrong replies come on top (newsletter).
MISTAKE_SHARE = {
    "account": (0.02, 0.01),
    "cancellation_fee": (0.12, 0.1),
    "contact": (0.02, 0.01),
    "delivery": (0.04, 0.03),
    "feedback": (0.06, 0.05),
    "invoice": (0.1, 0.08),
    "newsletter": (0.03, 0.02),
    "order": (0.04, 0.25),
    "payment": (0.1, 0.08),
    "refund": (0.15, 0.12),
    "shipping_address": (0.1, 0.08),
}
# How likely each kind of mistake is, where it can be made; the newer model's order drafts mostly
# get the order number wrong.
KIND_WEIGHTS = {
    demo_text.WRONG_DETAIL: 3.0,
    demo_text.PROMISE: 2.0,
    demo_text.WRONG_INTENT: 2.0,
    demo_text.MISSING_STEP: 2.0,
}
NEWER_ORDER_WRONG_DETAIL = 12.0
# A reviewer's correction of the dataset's subscribe reply to an unsubscribe request.
UNSUBSCRIBE_REPLY = (
    "To unsubscribe, use the 'Unsubscribe' link at the bottom of any of our newsletters, or "
    "untick 'Newsletter' under 'My Account'. You will get no further newsletters from us."
)

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
# Triangular mode of the assigned confidence (range 0.55..0.99): riskier topics sit lower, and a
# draft with a mistake a little lower still (a model's confidence says something, not much).
CONFIDENCE_MODE = {"high": 0.62, "medium": 0.82, "low": 0.93}
MISTAKE_CONFIDENCE_DROP = 0.12

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


@dataclass(frozen=True)
class DemoData:
    queue: list[Record]
    history: list[Record]
    mistakes: list[Record]  # the answer key, queue first, in id order


def read_rows(path: Path = DEFAULT_CSV) -> list[Row]:
    """The CSV's data rows in file order; a row's index is its ``source_row``."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def build(csv_path: Path = DEFAULT_CSV) -> DemoData:
    """The demo data built from the CSV at ``csv_path``."""
    return build_data(read_rows(csv_path))


def build_data(
    rows: Sequence[Row],
    *,
    count: int = DRAFT_COUNT,
    history: dict[str, int] | None = None,
    seed: str = SEED,
) -> DemoData:
    """The queue (``count`` rows balanced over categories), the history (``history`` rows per
    category, from the rows the queue left) and the answer key."""
    replies: dict[str, str] = {}
    for row in rows:
        replies.setdefault(row["intent"], row["response"])
    used: set[str] = set()
    queue = build_records(rows, count=count, seed=seed, replies=replies, used=used)
    taken = {r["metadata"]["source_row"] for r in queue}
    past = _history_records(
        rows, history or HISTORY_COUNTS, taken, seed=seed, replies=replies, used=used
    )
    mistakes = [r.pop("_mistake") for r in [*queue, *past] if "_mistake" in r]
    return DemoData(queue, past, mistakes)


def build_records(
    rows: Sequence[Row],
    *,
    count: int = DRAFT_COUNT,
    seed: str = SEED,
    replies: dict[str, str] | None = None,
    used: set[str] | None = None,
) -> list[Record]:
    """Sample ``count`` rows balanced over categories and turn them into enqueue records (with
    the answer key's entry under ``_mistake`` where the draft carries one)."""
    if replies is None:
        replies = {}
        for row in rows:
            replies.setdefault(row["intent"], row["response"])
    used = set() if used is None else used
    by_intent: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_intent[row["intent"]].append(index)

    chosen = _sample(rows, count, random.Random(f"{seed}:sample"))
    threads = _threads(rows, chosen, random.Random(f"{seed}:threads"))
    times = _times(chosen, threads, random.Random(f"{seed}:times"))
    thread_of = {index: key for key, members in threads.items() for index in members}
    order = sorted(chosen, key=lambda i: (times[i], i))

    attrs = random.Random(f"{seed}:attributes")
    models = {i: _model(attrs, times[i]) for i in order}
    drafts = _drafts(rows, order, models, f"{seed}:queue", replies, used)
    retrieval = random.Random(f"{seed}:retrieved")
    records: list[Record] = []
    for number, index in enumerate(order, start=1):
        row = rows[index]
        text, key = drafts[index]
        category = row["category"].lower()
        risk = RISK_OF_CATEGORY[category]
        thread = thread_of[index]
        customer: dict[str, str] = {"id": thread}
        if row["entity_type"]:
            customer[row["entity_type"]] = row["entity_value"]
        record: Record = {
            "id": f"demo-{number:04d}",
            "draft": text,
            "input": row["instruction"],
            "category": category,
            "risk": risk,
            "model": models[index],
            "confidence": _confidence(attrs, risk, key is not None),
            "thread": thread,
            "priority": _priority(risk, attrs.random()),
            "created_at": _stamp(times[index]),
            "context": {
                "intent": row["intent"],
                "customer": customer,
                "flags": _flags(row["tags"]),
                "retrieved": _retrieved(rows, index, by_intent, retrieval),
            },
            "metadata": {"source_row": index, "intent": row["intent"]},
        }
        if key is not None:
            record["_mistake"] = {"id": record["id"], **key}
        records.append(record)
    return records


def _history_records(
    rows: Sequence[Row],
    counts: dict[str, int],
    taken: set[int],
    *,
    seed: str,
    replies: dict[str, str],
    used: set[str],
) -> list[Record]:
    """``counts[category]`` rows of each category not in ``taken``, as drafts created over the
    HISTORY_DAYS before the queue's window, in working hours."""
    rng = random.Random(f"{seed}:history")
    by_category: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if index not in taken:
            by_category[row["category"].lower()].append(index)
    chosen: list[int] = []
    for category in sorted(counts):
        chosen += rng.sample(by_category[category], counts[category])
    first_day = WINDOW_END - timedelta(days=HISTORY_DAYS)
    low, high = (int(h * 3600) for h in HISTORY_HOURS)
    seconds = rng.sample(range(HISTORY_DAYS * (high - low)), len(chosen))
    times = {
        index: first_day + timedelta(days=s // (high - low), seconds=low + s % (high - low))
        for index, s in zip(sorted(chosen), seconds, strict=True)
    }
    order = sorted(chosen, key=lambda i: (times[i], i))
    attrs = random.Random(f"{seed}:history-attributes")
    models = {i: _model(attrs, times[i]) for i in order}
    drafts = _drafts(rows, order, models, f"{seed}:history", replies, used)
    records: list[Record] = []
    for number, index in enumerate(order, start=1):
        row = rows[index]
        text, key = drafts[index]
        category = row["category"].lower()
        risk = RISK_OF_CATEGORY[category]
        # No flags: these drafts are decided before anyone sees them, and the file stays small.
        context: dict[str, Any] = {"intent": row["intent"]}
        if row["entity_type"]:
            context["customer"] = {row["entity_type"]: row["entity_value"]}
        record: Record = {
            "id": f"team-{number:05d}",
            "draft": text,
            "input": row["instruction"],
            "category": category,
            "risk": risk,
            "model": models[index],
            "confidence": _confidence(attrs, risk, key is not None),
            "priority": _priority(risk, attrs.random()),
            "created_at": _stamp(times[index]),
            "context": context,
            "metadata": {"source_row": index, "intent": row["intent"]},
        }
        if key is not None:
            record["_mistake"] = {"id": record["id"], **key}
        records.append(record)
    return records


def _model(rng: random.Random, created: datetime) -> str:
    if created < ROLLOUT:
        return MODELS[0]
    return MODELS[1] if rng.random() < NEWER_MODEL_SHARE else MODELS[0]


def _confidence(rng: random.Random, risk: str, wrong: bool) -> float:
    mode = CONFIDENCE_MODE[risk] - (MISTAKE_CONFIDENCE_DROP if wrong else 0.0)
    return round(min(max(rng.triangular(0.55, 0.99, max(mode, 0.55)), 0.55), 0.99), 2)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _drafts(
    rows: Sequence[Row],
    order: Sequence[int],
    models: dict[int, str],
    seed: str,
    replies: dict[str, str],
    used: set[str],
) -> dict[int, tuple[str, dict[str, Any] | None]]:
    """Each row's draft text, and its answer-key entry (None: no mistake).

    Per category and model, round(MISTAKE_SHARE x drafts) drafts get a composed mistake, spread
    evenly over time from a seeded start (a model's error rate is steady; a cluster of mistakes
    would look like a change); the dataset's own wrong replies (unsubscribe requests answered
    with how to subscribe) are keyed as they are and get none on top.
    """
    said: Counter[str] = Counter()
    composed = {
        i: demo_text.compose(rows[i], replies, random.Random(f"{seed}:text:{i}"), used, said)
        for i in order
    }
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in order:
        groups[(rows[i]["category"].lower(), models[i])].append(i)
    pick = random.Random(f"{seed}:mistakes")
    out: dict[int, tuple[str, dict[str, Any] | None]] = {}
    for i in order:
        draft = composed[i]
        if draft.unsubscribe:
            key = {
                "kind": demo_text.DATASET_WRONG_INTENT,
                "what": "the dataset's reply explains how to subscribe; the customer asked to "
                "unsubscribe",
                "fix": [[replies[draft.intent], UNSUBSCRIBE_REPLY]],
                "origin": "dataset",
            }
            out[i] = (draft.text, key)
        else:
            out[i] = (draft.text, None)
    for (category, model), members in sorted(groups.items()):
        share = MISTAKE_SHARE[category][MODELS.index(model)]
        wanted = round(share * len(members))
        eligible = [i for i in members if not composed[i].unsubscribe]
        for i in _spread(eligible, min(wanted, len(eligible)), pick):
            draft = composed[i]
            kinds = demo_text.mistake_kinds(draft)
            weights = [KIND_WEIGHTS[k] for k in kinds]
            if category == "order" and model == MODELS[1] and demo_text.WRONG_DETAIL in kinds:
                weights[kinds.index(demo_text.WRONG_DETAIL)] = NEWER_ORDER_WRONG_DETAIL
            rng = random.Random(f"{seed}:mistake:{i}")
            while kinds:
                kind = rng.choices(kinds, weights)[0]
                made = demo_text.mistake(draft, kind, replies, rng, used)
                if made is not None:
                    text, key = made
                    out[i] = (text, {**key, "origin": "composed"})
                    break
                weights.pop(kinds.index(kind))
                kinds.remove(kind)
    return out


def _spread(members: Sequence[int], wanted: int, rng: random.Random) -> list[int]:
    """``wanted`` of ``members`` (in time order), one in every len/wanted from a seeded start."""
    if not wanted:
        return []
    step = len(members) / wanted
    start = rng.random()
    return [members[int((k + start) * step)] for k in range(wanted)]


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


def summary(data: DemoData) -> str:
    queue = data.queue
    keyed = Counter(m["id"].split("-")[0] for m in data.mistakes)
    composed = Counter(m["id"].split("-")[0] for m in data.mistakes if m["origin"] == "composed")
    categories = Counter(r["category"] for r in queue)
    history = Counter(r["category"] for r in data.history)
    sizes = Counter(r["thread"] for r in queue)
    shared = sum(1 for r in queue if sizes[r["thread"]] > 1)
    distinct = len({r["draft"] for r in [*queue, *data.history]})
    lines = [f"{len(queue)} queue drafts, {len(data.history)} history drafts ({distinct} texts)"]
    lines += [f"  {name:<17} {n:>4} {history[name]:>5}" for name, n in sorted(categories.items())]
    lines.append(
        f"  threads: {len(sizes)} customers, {sum(1 for n in sizes.values() if n > 1)} with more "
        f"than one draft, holding {shared} drafts"
    )
    lines.append(
        f"  mistakes: queue {keyed['demo']} ({composed['demo']} composed), history "
        f"{keyed['team']} ({composed['team']} composed)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="the Bitext CSV (.csv.gz)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the folder to write to")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        print(f"build_demo_queue: no such file: {args.csv}", file=sys.stderr)
        return 2
    data = build(args.csv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(summary(data))
    for name, records in (
        (QUEUE_FILE, data.queue),
        (HISTORY_FILE, data.history),
        (MISTAKES_FILE, data.mistakes),
    ):
        encoded = encode(records)
        (args.out / name).write_bytes(encoded)
        print(f"wrote {args.out / name} ({len(encoded):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
