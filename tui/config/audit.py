"""Append-only audit trail: one JSON object per line at ``paths.audit_file()`` (mode 0600).

Each record: ``time`` (UTC, ISO 8601), ``os_user``, ``action``, ``profile``, ``host``, ``vc_user``,
``vms`` ([{name, moid}]), ``tasks``, ``outcome``, ``faults`` and any extra JSON-safe keys.
A ``Secret`` anywhere in a record is refused, so a password can never be written.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tui.config import paths
from tui.config.files import append_line
from tui.vsphere.secret import Secret


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, Secret):
        raise TypeError(f"audit record {where}: a Secret is never written to the audit log")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"audit record {where}: {type(value).__name__} is not JSON data")


@dataclass(frozen=True, slots=True)
class AuditRead:
    entries: list[dict[str, Any]]
    skipped: int  # malformed lines


_REL_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``7d``, ``1w``, ``2026-11-30`` or ``2026-11-30T08:00[:00][Z|+01:00]``.

    Raises ``ValueError`` with a one-line explanation.
    """
    value = text.strip()
    m = _REL_RE.match(value)
    if m:
        base = now or datetime.now(UTC)
        return base - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {text!r}: expected a duration like 30m, 2h, 7d, 1w or a date/time like "
            "2026-11-30 or 2026-11-30T08:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # local time, as an admin types it
    return parsed.astimezone(UTC)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class AuditLog:
    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else paths.audit_file()

    def record(
        self,
        *,
        action: str,
        profile: str | None = None,
        host: str | None = None,
        vc_user: str | None = None,
        vms: Iterable[tuple[str, str]] = (),
        tasks: Sequence[str] = (),
        outcome: str | None = None,
        faults: Sequence[str] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        """Append one record and return it. Raises ``OSError`` if the log cannot be written."""
        entry: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "os_user": _os_user(),
            "action": action,
            "profile": profile,
            "host": host,
            "vc_user": vc_user,
            "vms": [{"name": name, "moid": moid} for name, moid in vms],
            "tasks": list(tasks),
            "outcome": outcome,
            "faults": list(faults),
        }
        for key, value in extra.items():
            if key in entry:
                raise TypeError(f"audit record: {key!r} is a reserved field")
            entry[key] = value
        entry = _jsonable(entry, "")
        append_line(self.path, json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
        return entry

    def read(self, since: datetime | None = None) -> AuditRead:
        """All records (oldest first), optionally only those at or after ``since``."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return AuditRead([], 0)
        entries: list[dict[str, Any]] = []
        skipped = 0
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                skipped += 1
                continue
            if not isinstance(entry, dict):
                skipped += 1
                continue
            if since is not None:
                when = _parse_time(entry.get("time"))
                if when is None or when < since:
                    continue
            entries.append(entry)
        return AuditRead(entries, skipped)
