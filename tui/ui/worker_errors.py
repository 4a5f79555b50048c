"""A worker that failed with an unexpected error becomes a notification, never a crash.

Every worker of the UI runs with ``exit_on_error=False``; Textual posts its ``StateChanged`` to
the node that started it (the app or a screen) without bubbling, so each such node calls this.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.worker import Worker, WorkerState

Notify = Callable[..., object]


def notify_worker_error(event: Worker.StateChanged, notify: Notify) -> None:
    """On a worker's error, ``notify(message, title=worker name, severity="error")``."""
    err = event.worker.error
    if event.state == WorkerState.ERROR and err is not None:
        notify(f"{err.__class__.__name__}: {err}", title=event.worker.name, severity="error")
