"""How long a reviewer looked at one draft: visible time, with idle stretches capped.

Plain Python with the time passed in (a monotonic clock in seconds), so that the desk and its
tests drive it alike. The clock starts when the draft is shown, not when it was claimed: a draft
claimed ahead of time waits unseen. It stops while the window is hidden, minimized or inactive,
and a stretch without any key or mouse input counts at most ``idle_grace`` seconds: the clock
pauses when the reviewer is away.
"""

from __future__ import annotations

DEFAULT_IDLE_GRACE = 60.0


class ReviewTimer:
    """Counts the visible, attended time of the draft on screen."""

    def __init__(self, idle_grace: float = DEFAULT_IDLE_GRACE) -> None:
        if idle_grace < 0:
            raise ValueError("idle_grace cannot be negative")
        self.idle_grace = idle_grace
        self._running = False
        self._visible = True
        self._counted = 0.0  # settled time, up to self._mark
        self._mark = 0.0  # the last input or the moment the draft became visible

    @property
    def running(self) -> bool:
        return self._running

    @property
    def visible(self) -> bool:
        return self._visible

    def _pending(self, t: float) -> float:
        if not self._running or not self._visible:
            return 0.0
        return min(max(t - self._mark, 0.0), self.idle_grace)

    def _settle(self, t: float) -> None:
        self._counted += self._pending(t)
        self._mark = max(t, self._mark)

    def start(self, t: float, *, visible: bool = True) -> None:
        """A draft is shown (from now on its time counts, if the window is visible)."""
        self._running = True
        self._visible = visible
        self._counted = 0.0
        self._mark = t

    def stop(self) -> None:
        """No draft on screen."""
        self._running = False
        self._counted = 0.0

    def activity(self, t: float) -> None:
        """Key or mouse input: the reviewer is there."""
        self._settle(t)

    def hidden(self, t: float) -> None:
        """The window was hidden, minimized or left: the clock stops."""
        if self._visible:
            self._settle(t)
            self._visible = False

    def shown_again(self, t: float) -> None:
        """The window is back in front: the clock runs again from now."""
        if not self._visible:
            self._visible = True
            self._mark = t

    def elapsed(self, t: float) -> float:
        """Seconds the draft has been looked at, up to ``t``."""
        if not self._running:
            return 0.0
        return self._counted + self._pending(t)
