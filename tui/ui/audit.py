"""The audit sink a session's screen writes to: each record names its vCenter session.

The app builds one ``SessionAudit`` per connected vCenter and hands it to that session's screen,
so a screen records actions without knowing the app, the audit file or the other sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class AuditSink(Protocol):
    """Record one action (``start-guest-network``, ``abort-customization`` …) with its fields."""

    def __call__(self, action: str, **fields: Any) -> None: ...


@dataclass(frozen=True)
class SessionAudit:
    """The audit sink of one vCenter session: every record carries the session's profile, host
    and vCenter user. A write failure goes to ``warn``, never up to the caller."""

    profile: str
    host: str
    vc_user: str
    warn: Callable[[str], None]
    write: Callable[..., Any] | None = None  # None: the audit log file (tui.config.audit)

    def __call__(self, action: str, **fields: Any) -> None:
        try:
            write = self.write
            if write is None:
                from tui.config.audit import AuditLog

                write = AuditLog().record
            write(
                action=action,
                profile=self.profile,
                host=self.host,
                vc_user=self.vc_user,
                **fields,
            )
        except (OSError, TypeError, ValueError) as exc:
            self.warn(f"Audit log not written: {exc}")
