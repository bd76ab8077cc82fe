"""Which policy a draft falls under: policies, their cells, and the records that cross layers.

A cell is a category, optionally only drafts with confidence at least a floor, optionally one
model version. A draft falls under the most specific policy whose cell holds it: one naming its
model before one for any model, then the highest floor it reaches. A policy for any model keeps
its plan's state per model version, so a new version starts its own screening.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from reviewdesk.core.errors import InvalidArgument
from reviewdesk.core.sampling_plan import Phase, Plan, Route


class Mode(StrEnum):
    FULL = "full"  # every draft reviewed: the default for every cell
    SAMPLING = "sampling"  # continuous sampling plan CSP-1


# The model key of drafts without a model version.
NO_MODEL = ""
# A producer's prompt version in a draft's metadata: a change of it, like a new model version,
# starts the cell's plan afresh in screening.
PROMPT_VERSION = "prompt_version"


def model_key(model: str | None, metadata: Mapping[str, Any] | None = None) -> str:
    """The version a plan's state is kept per: the model version, and the prompt version when
    the producer gives one in ``metadata`` (a string, a number or a boolean, as Python writes
    it; a list or an object is no version). PostgreSQL routes by the same rule written in SQL
    (storage/policy_sql.py ``MODEL_KEY_PG``; tests/test_routing_sql.py compares them)."""
    key = model or NO_MODEL
    prompt = (metadata or {}).get(PROMPT_VERSION)
    if isinstance(prompt, (str, int, float)) and str(prompt).strip():
        key = f"{key} prompt {str(prompt).strip()}".strip()[:200]
    return key


@dataclass(frozen=True)
class Cell:
    category: str
    min_confidence: float | None = None
    model: str | None = None

    def key(self) -> str:
        """One string per cell: the policy table's unique key."""
        floor = "" if self.min_confidence is None else repr(float(self.min_confidence))
        return "\x1f".join((self.category, floor, self.model or ""))

    def holds(self, category: str, confidence: float | None, model: str | None) -> bool:
        if category != self.category:
            return False
        if self.model is not None and model != self.model:
            return False
        if self.min_confidence is not None:
            return confidence is not None and confidence >= self.min_confidence
        return True

    def describe(self) -> str:
        parts = [self.category]
        if self.min_confidence is not None:
            parts.append(f"confidence >= {self.min_confidence:g}")
        if self.model is not None:
            parts.append(f"model {self.model}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "min_confidence": self.min_confidence,
            "model": self.model,
        }


def check_cell(category: str, min_confidence: float | None, model: str | None) -> Cell:
    if not isinstance(category, str) or not category.strip() or len(category) > 200:
        raise InvalidArgument("A policy needs a category (1 to 200 characters).")
    if min_confidence is not None and (
        not isinstance(min_confidence, (int, float))
        or not math.isfinite(min_confidence)
        or not 0 <= min_confidence <= 1
    ):
        raise InvalidArgument(
            f"The confidence floor must be between 0 and 1, not {min_confidence!r}."
        )
    if model is not None and (not model.strip() or len(model) > 200):
        raise InvalidArgument("A model version must be 1 to 200 characters.")
    return Cell(category, None if min_confidence is None else float(min_confidence), model)


@dataclass(frozen=True)
class Policy:
    id: int
    cell: Cell
    mode: Mode
    aoql: float
    plan: Plan
    trivial_edits_count: bool
    updated_at: datetime
    updated_by: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.cell.to_json(),
            "mode": self.mode.value,
            "aoql": self.aoql,
            "fraction": self.plan.fraction,
            "clearance": self.plan.clearance,
            "trivial_edits_count": self.trivial_edits_count,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


def policy_for(
    policies: Iterable[Policy], category: str, confidence: float | None, model: str | None
) -> Policy | None:
    """The most specific sampling policy whose cell holds the draft, if any."""
    best: Policy | None = None
    best_rank: tuple[int, float] = (-1, -1.0)
    for policy in policies:
        if policy.mode is not Mode.SAMPLING or not policy.cell.holds(category, confidence, model):
            continue
        floor = policy.cell.min_confidence
        rank = (int(policy.cell.model is not None), -1.0 if floor is None else floor)
        if rank > best_rank:
            best, best_rank = policy, rank
    return best


@dataclass(frozen=True)
class Routing:
    """How one draft was routed at submit, and under what."""

    id: str
    route: Route
    policy_id: int
    phase: Phase
    clear_run: int
    probability: float
    # The model version whose plan state routed it ('' for none).
    model_key: str = NO_MODEL

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "route": self.route.value,
            "policy": self.policy_id,
            "phase": self.phase.value,
            "clear_run": self.clear_run,
            "probability": self.probability,
        }


@dataclass(frozen=True)
class RoutingReport:
    """Routings of one submission: only drafts of cells under a sampling policy appear."""

    routings: tuple[Routing, ...] = field(default_factory=tuple)

    @property
    def released(self) -> int:
        return sum(r.route is Route.RELEASED for r in self.routings)

    @property
    def reviewed(self) -> int:
        return sum(r.route is Route.REVIEW for r in self.routings)
