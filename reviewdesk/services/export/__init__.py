"""Export reviewer decisions as test sets that evaluation tools load directly (docs/export.md).

    from reviewdesk.services.export import ExportOptions, export_dataset
    result = export_dataset(desk.target, ExportOptions(out=Path("feedback")))

No Qt here: a dialog drives it from a worker thread through ``progress`` and a ``CancelToken``.
"""

from reviewdesk.services.export.card import RISK_MINIMUMS, Shortfall
from reviewdesk.services.export.errors import ExportCancelled, ExportError
from reviewdesk.services.export.formats import (
    ExportFormat,
    pyarrow_available,
    pyarrow_install_command,
)
from reviewdesk.services.export.privacy import RedactionSettings
from reviewdesk.services.export.records import FIELD_NAMES, FIELDS
from reviewdesk.services.export.runner import (
    CancelToken,
    ExportOptions,
    ExportProgress,
    ExportResult,
    check_options,
    export_dataset,
)
from reviewdesk.services.export.sampling import SplitSpec
from reviewdesk.storage.export_sql import ExportFilter

__all__ = [
    "FIELDS",
    "FIELD_NAMES",
    "RISK_MINIMUMS",
    "CancelToken",
    "ExportCancelled",
    "ExportError",
    "ExportFilter",
    "ExportFormat",
    "ExportOptions",
    "ExportProgress",
    "ExportResult",
    "RedactionSettings",
    "Shortfall",
    "SplitSpec",
    "check_options",
    "export_dataset",
    "pyarrow_available",
    "pyarrow_install_command",
]
