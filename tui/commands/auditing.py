"""Writing an audit record from a command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from tui.commands.base import err, fail

if TYPE_CHECKING:
    from tui.config.profiles import Profile


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


def refuse_read_only(profiles: Sequence[Profile], action: str) -> NoReturn:
    """Every target of ``action`` is read-only: audit each refusal, then stop (exit 2)."""
    for p in profiles:
        record(
            action=action,
            profile=p.name,
            host=p.host,
            vc_user=p.username,
            outcome="refused",
            reason="read_only profile",
        )
    if len(profiles) == 1:
        fail(f"profile {profiles[0].name!r} is read_only: {action} refused")
    names = ", ".join(p.name for p in profiles)
    fail(f"every profile ({names}) is read_only: {action} refused")
