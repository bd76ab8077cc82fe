"""One serialized background executor: every database call of the desk runs here, in order.

The GUI thread submits a callable with success and failure callbacks; a QObject living on one
QThread runs the callables one after another and hands each outcome back to the GUI thread by a
queued signal, where the callback runs. The callable never touches a widget; only its return
value (plain data) or its exception crosses back.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

SuccessCallback = Callable[[Any], None]
FailureCallback = Callable[[Exception], None]


@dataclass(eq=False)
class _Job:
    number: int
    label: str
    fn: Callable[[], Any]
    on_success: SuccessCallback | None
    on_failure: FailureCallback | None


_STOP = _Job(number=-1, label="stop", fn=lambda: None, on_success=None, on_failure=None)


class _Runner(QObject):
    """Lives on the worker thread and runs one job at a time."""

    done = Signal(object, object, object)  # job, result, error

    @Slot(object)
    def run(self, job: _Job) -> None:
        if job is _STOP:
            thread = self.thread()
            assert thread is not None
            thread.quit()
            return
        try:
            result = job.fn()
        except Exception as exc:  # handed to the job's failure callback on the GUI thread
            self.done.emit(job, None, exc)
        else:
            self.done.emit(job, result, None)


class Executor(QObject):
    """Runs submitted callables in order on one background thread.

    ``on_unhandled`` receives the errors of jobs submitted without a failure callback, so that
    no error vanishes. After ``stop()`` no callback runs any more.
    """

    idle = Signal()  # every submitted job has finished and its callback has run
    _post = Signal(object)

    def __init__(
        self,
        *,
        on_unhandled: Callable[[Exception], None],
        name: str = "reviewdesk-db",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._on_unhandled = on_unhandled
        self._numbers = itertools.count(1)
        self._pending = 0
        self._stopped = False
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._runner = _Runner()
        self._runner.moveToThread(self._thread)
        # Deleted on its own thread as that thread finishes.
        self._thread.finished.connect(self._runner.deleteLater)
        self._post.connect(self._runner.run)
        self._runner.done.connect(self._finished)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs submitted whose callbacks have not run yet."""
        return self._pending

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def submit(
        self,
        fn: Callable[[], Any],
        *,
        on_success: SuccessCallback | None = None,
        on_failure: FailureCallback | None = None,
        label: str = "",
    ) -> None:
        """Queue ``fn`` to run on the worker thread after everything submitted before it."""
        if self._stopped:
            raise RuntimeError(f"executor stopped; cannot run {label or fn!r}")
        job = _Job(
            next(self._numbers), label or getattr(fn, "__name__", "job"), fn, on_success, on_failure
        )
        self._pending += 1
        self._post.emit(job)

    def stop(self) -> None:
        """Run what is queued, then end the thread and wait for it. Callbacks no longer run."""
        if self._stopped:
            return
        self._stopped = True
        self._post.emit(_STOP)
        self._thread.wait()
        log.debug("executor stopped with %d callback(s) not delivered", self._pending)

    @Slot(object, object, object)
    def _finished(self, job: _Job, result: Any, error: Exception | None) -> None:
        self._pending -= 1
        if self._stopped:
            return
        try:
            if error is not None:
                if job.on_failure is not None:
                    job.on_failure(error)
                else:
                    log.error("background job %s failed: %s", job.label, error)
                    self._on_unhandled(error)
            elif job.on_success is not None:
                job.on_success(result)
        finally:
            if self._pending == 0:
                self.idle.emit()
