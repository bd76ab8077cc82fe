"""ReviewDesk: put a person between an AI system and its users.

The public Python API is ``ReviewDesk`` (see docs/api.md).
"""

from typing import TYPE_CHECKING, Any

from reviewdesk.core.domain import (
    AckReport,
    Decision,
    Draft,
    DraftState,
    Event,
    History,
    Label,
    Lease,
    Result,
    Retraction,
    Risk,
    Severity,
    SubmitReport,
    Verdict,
)
from reviewdesk.core.errors import (
    ClaimRefused,
    ConfigurationError,
    ConnectionLost,
    DatabaseUnavailable,
    InvalidArgument,
    InvalidDecision,
    InvalidInput,
    LeaseLost,
    ReviewDeskError,
    SchemaOutOfDate,
    SubmitConflict,
    UndoRefused,
    UnknownDraft,
)

if TYPE_CHECKING:
    from reviewdesk.services.desk import ReviewDesk


def __getattr__(name: str) -> Any:
    # ReviewDesk is imported on first use, so that what needs only a part of the package (the
    # worker processes of a parallel export) starts without the desk's SQLModel and pydantic:
    # a third of a second and 20 MB less per process.
    if name == "ReviewDesk":
        from reviewdesk.services.desk import ReviewDesk

        return ReviewDesk
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "AckReport",
    "ClaimRefused",
    "ConfigurationError",
    "ConnectionLost",
    "DatabaseUnavailable",
    "Decision",
    "Draft",
    "DraftState",
    "Event",
    "History",
    "InvalidArgument",
    "InvalidDecision",
    "InvalidInput",
    "Label",
    "Lease",
    "LeaseLost",
    "Result",
    "Retraction",
    "ReviewDesk",
    "ReviewDeskError",
    "Risk",
    "SchemaOutOfDate",
    "Severity",
    "SubmitConflict",
    "SubmitReport",
    "UndoRefused",
    "UnknownDraft",
    "Verdict",
    "__version__",
]
