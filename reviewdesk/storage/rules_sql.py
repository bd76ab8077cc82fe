"""Core rules that the database must also apply, to count or order many rows at once: each
written here once, as SQL generated from core's constants, for every engine."""

from __future__ import annotations

from reviewdesk.core.domain import Label, Severity


def response_seconds(severity: str) -> str:
    """An escalation's response time in seconds (``Severity.response_time``), for the
    severity in column ``severity``."""
    whens = " ".join(
        f"WHEN '{s.value}' THEN {int(s.response_time.total_seconds())}" for s in Severity
    )
    return f"CASE {severity} {whens} END"


# What a result sends (core.domain.text_to_send), for decision ``dec``.
TEXT_TO_SEND = "CASE WHEN dec.resolution IS NULL THEN dec.final_text ELSE dec.resolution_text END"

# A low-attention approval: an approval flagged as faster than reading (core.sessions,
# is_fast_approval and fast_run_flagged). Left out of exports and statistics unless asked for
# (core.stats.left_out); migration 0007's triggers keep the rollup's rows apart by it.
LOW_ATTENTION_APPROVAL = f"(dec.label = '{Label.APPROVED.value}' AND dec.low_attention)"
