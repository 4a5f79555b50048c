"""Pre-flight eligibility: can a VM take StartGuestNetwork_Task right now?

The one statement of the rule that the CLI (``guestnet start-network``) and the UI (the start
dialog, the task pane) both apply. A VM qualifies when its host is connected, it is poweredOn,
VMware Tools is running and guest operations are ready; checked in that order, the first failing
condition is reported. Plain Python on ``tui.vsphere.models.VM``; no I/O.

The reasons are worded for the UI's narrow columns (the start dialog's snapshot shows them) and
are the CLI's ``fault_message`` of a skipped VM too; ``code`` names the check for code that
branches on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from tui.vsphere.models import VM

IneligibleCode = Literal["connection", "power", "tools", "guestops"]

HINTS: Final[Mapping[IneligibleCode, str]] = {
    "connection": "Reconnect the VM's host in vCenter, then run again.",
    "power": "Power on the VM, then run again.",
    "tools": "Start VMware Tools in the guest (or wait for it to start), then run again.",
    "guestops": "Wait until guest operations are ready (guest.guestOperationsReady), then retry.",
}


@dataclass(frozen=True, slots=True)
class Ineligible:
    """Why a VM would be skipped: ``code`` (stable, for programs), ``reason`` (one line naming
    the state found) and ``hint`` (the usual remedy)."""

    code: IneligibleCode
    reason: str
    hint: str


def _found(code: IneligibleCode, reason: str) -> Ineligible:
    return Ineligible(code, reason, HINTS[code])


def check(vm: VM) -> Ineligible | None:
    """What keeps ``vm`` from taking StartGuestNetwork now, or None when it looks ready.

    An unknown host connection state (``None``) is not held against the VM; every other
    property must be known and good.
    """
    if vm.connection_state not in (None, "connected"):
        return _found("connection", f"host connection {vm.connection_state}")
    if vm.power_state != "poweredOn":
        return _found("power", f"not poweredOn ({vm.power_state or 'unknown'})")
    if vm.tools_running_status != "guestToolsRunning":
        status = vm.tools_running_status or "unknown"
        return _found("tools", f"tools not running ({status})")
    if vm.guest_operations_ready is not True:
        return _found("guestops", "guest operations not ready")
    return None


def preflight_reason(vm: VM) -> str | None:
    """Only the reason of :func:`check` (what the UI shows), or None when the VM looks ready."""
    found = check(vm)
    return None if found is None else found.reason
