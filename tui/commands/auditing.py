"""Writing an audit record from a command."""

from __future__ import annotations

from typing import Any

from tui.commands.base import err, fail


def record(*, required: bool = True, **fields: Any) -> None:
    """Append to the audit log. Before acting, a failure stops everything (``required``); after
    the action it is only a warning, so the results still reach the user."""
    from tui.config.audit import AuditLog

    log = AuditLog()
    try:
        log.record(**fields)
    except OSError as exc:
        message = f"cannot write the audit log {log.path}: {exc.strerror}"
        if required:
            fail(message)
        err(f"warning: {message}")
