"""ReviewDesk: put a person between an AI system and its users.

The public Python API is ``ReviewDesk`` (see docs/api.md).
"""

from reviewdesk.core.domain import (
    AckReport,
    Decision,
    Draft,
    Event,
    History,
    Label,
    Lease,
    Result,
    Risk,
    Severity,
    SubmitReport,
    Verdict,
)
from reviewdesk.core.errors import (
    ConfigurationError,
    DatabaseUnavailable,
    InvalidDecision,
    InvalidInput,
    LeaseLost,
    ReviewDeskError,
    SchemaOutOfDate,
    SubmitConflict,
    UndoRefused,
)
from reviewdesk.services.desk import ReviewDesk

__version__ = "0.1.0"

__all__ = [
    "AckReport",
    "ConfigurationError",
    "DatabaseUnavailable",
    "Decision",
    "Draft",
    "Event",
    "History",
    "InvalidDecision",
    "InvalidInput",
    "Label",
    "Lease",
    "LeaseLost",
    "Result",
    "ReviewDesk",
    "ReviewDeskError",
    "Risk",
    "SchemaOutOfDate",
    "Severity",
    "SubmitConflict",
    "SubmitReport",
    "UndoRefused",
    "Verdict",
    "__version__",
]
