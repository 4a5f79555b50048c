"""Plain-text tables and the JSON form of values the commands print."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.vsphere.models import VM

VM_JSON_KEYS = (
    "name",
    "moid",
    "path",
    "power_state",
    "connection_state",
    "tools_running_status",
    "guest_operations_ready",
    "ip_address",
    "host_name",
    "instance_uuid",
    "ip_addresses",
    "mac_addresses",
    "annotation",
)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; the last column is not padded."""
    data = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in data) for i in range(len(headers))]
    lines = []
    for r in data:
        cells = [c.ljust(widths[i]) if i < len(r) - 1 else c for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def dash(value: object) -> str:
    """A table cell: ``-`` for nothing, ``yes``/``no`` for booleans."""
    if value is None or value == "":
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def iso(value: Any) -> str | None:
    """A datetime as UTC ISO 8601 with ``Z``; None stays None."""
    if value is None:
        return None
    from datetime import UTC

    return str(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))


def vm_json(vm: VM) -> dict[str, Any]:
    return {key: list(v) if isinstance(v := getattr(vm, key), tuple) else v for key in VM_JSON_KEYS}
