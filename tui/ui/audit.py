"""The audit sink a session's screen writes to: each record names its vCenter session.

The app builds one ``SessionAudit`` per connected vCenter and hands it to that session's screen,
so a screen records actions without knowing the app, the audit file or the other sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


@dataclass(frozen=True)
class FleetAudit:
    """The audit sink of several vCenter sessions in one view (tui/ui/fleet.py): a record is
    split by the vCenter of its VMs (the site part of each qualified moid) and written by that
    vCenter's own ``SessionAudit``, with the vCenter's own moids, so every record names the
    vCenter of every VM it lists. A record listing no VM goes to every vCenter's log."""

    sinks: Mapping[str, AuditSink]  # site (profile name) -> its session's sink

    def __call__(self, action: str, **fields: Any) -> None:
        from tui.ui.fleet import local_moid, site_of

        def mine(site: str, value: Any) -> Any:
            if not isinstance(value, list):
                return value
            out: list[Any] = []
            for item in value:
                if isinstance(item, tuple) and len(item) == 2:  # (name, moid)
                    if site_of(item[1]) == site:
                        out.append((item[0], local_moid(item[1])))
                elif isinstance(item, dict) and "moid" in item:
                    if site_of(item["moid"]) == site:
                        out.append({**item, "moid": local_moid(item["moid"])})
                elif isinstance(item, str) and site_of(item):  # a task moid
                    if site_of(item) == site:
                        out.append(local_moid(item))
                else:
                    out.append(item)
            return out

        users = fields.pop("guest_users", None) or {}  # guest accounts asked per vCenter
        for site, sink in self.sinks.items():
            part = {key: mine(site, value) for key, value in fields.items()}
            if site in users:
                part["guest_user"] = users[site]
            listed = [part.get(k) for k in VM_FIELDS if k in fields]
            if listed and not any(listed):
                continue  # none of this record's VMs is on this vCenter
            sink(action, **part)


VM_FIELDS = ("vms", "skipped", "verdicts")  # the fields of a record that list its VMs
