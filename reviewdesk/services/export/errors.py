"""The export's errors (the package exports them; see runner.py for when each is raised)."""

from __future__ import annotations

from reviewdesk.core.errors import ReviewDeskError


class ExportError(ReviewDeskError):
    """The export cannot run as asked (bad options, an occupied folder, a missing extra)."""


class ExportCancelled(ReviewDeskError):
    """The export was cancelled; nothing was left at the destination."""
