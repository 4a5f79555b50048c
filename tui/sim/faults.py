"""vSphere faults the simulator answers with: ``SimFault`` and the builders of each kind.

A ``SimFault`` is raised by a handler (HTTP 500 with the fault body) or stored in a Task's
``info.error`` (the bare fault). The builders here hold the fault texts in one place: the
synchronous StartGuestNetwork/AbortCustomization state checks (``precheck``), the faults injected
by the inventory (``injected_fault``), the guest login faults and the task endings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui.sim.wire import JSON, WireError, localizable, mor

if TYPE_CHECKING:
    from tui.sim.objects import Task, VirtualMachine


class SimFault(Exception):
    """A vSphere fault to send as HTTP 500 (or to store in TaskInfo.error)."""

    def __init__(self, type_name: str, faultstring: str, **fields: Any) -> None:
        super().__init__(faultstring)
        self.type_name = type_name
        self.faultstring = faultstring
        self.fields = fields

    def body(self) -> JSON:
        """The 500 response body: the fault object plus the top-level ``faultstring``."""
        return {"_typeName": self.type_name, "faultstring": self.faultstring, **self.fields}

    def bare(self) -> JSON:
        """The fault as a MethodFault value (TaskInfo.error, faultCause): no faultstring."""
        return {"_typeName": self.type_name, **self.fields}


def fault_from_wire(err: WireError) -> SimFault:
    if err.fault == "InvalidRequest":
        return SimFault("InvalidRequest", err.message)
    fields: dict[str, Any] = {}
    if err.where:
        fields["invalidProperty"] = err.where
    return SimFault("InvalidArgument", err.message, **fields)


def not_found(type_: str, moid: str) -> SimFault:
    return SimFault(
        "ManagedObjectNotFound",
        f"The object '{type_}:{moid}' has already been deleted or has not been completely created",
        obj=mor(type_, moid),
    )


def invalid_property(name: str) -> SimFault:
    return SimFault("InvalidProperty", f"Invalid property: {name!r}", name=name)


def msg_fault(type_name: str, key: str, message: str, **fields: Any) -> SimFault:
    """A fault with one LocalizableMessage in ``faultMessage``."""
    return SimFault(type_name, message, faultMessage=[localizable(key, message)], **fields)


def task_in_progress(task: Task) -> SimFault:
    return msg_fault(
        "TaskInProgress",
        "vim.fault.TaskInProgress",
        "Another task is already in progress.",
        task=task.ref(),
    )


def canceled() -> SimFault:
    return msg_fault(
        "RequestCanceled", "vim.fault.RequestCanceled", "The task was canceled by a user."
    )


def aborted() -> SimFault:
    """What a customization ended by AbortCustomization_Task fails with."""
    return SimFault(
        "CustomizationFault",
        "The guest customization was aborted.",
        faultMessage=[
            localizable(
                "vim.fault.CustomizationFault.aborted",
                "The guest customization was aborted by AbortCustomization_Task.",
            )
        ],
    )


# ----------------------------------------------------------------------------------------------
# Guest login


def invalid_guest_login() -> SimFault:
    return msg_fault(
        "InvalidGuestLogin",
        "vim.fault.InvalidGuestLogin",
        "Failed to authenticate with the guest operating system using the supplied credentials.",
    )


def no_console_user() -> SimFault:
    return msg_fault(
        "InvalidGuestLogin",
        "vim.fault.InvalidGuestLogin.interactive",
        "An interactive session was requested but no user is logged in to the guest console.",
    )


def guest_permission_denied(username: str) -> SimFault:
    return msg_fault(
        "GuestPermissionDenied",
        "vim.fault.GuestPermissionDenied",
        f"Guest account {username!r} is not permitted to customize the guest network.",
    )


# ----------------------------------------------------------------------------------------------
# StartGuestNetwork / AbortCustomization state checks and injected faults


def precheck(vm: VirtualMachine, guest_ops_strict: bool = False) -> None:
    """Synchronous StartGuestNetwork / AbortCustomization state checks (``guest_ops_strict``:
    also that guest operations are ready)."""
    if vm.connection != "connected":
        raise SimFault(
            "InvalidState",
            "The operation is not allowed in the current state.",
            faultMessage=[
                localizable(
                    "vim.fault.InvalidState.notConnected",
                    f"The virtual machine is {vm.connection}.",
                    {"vm": vm.name},
                )
            ],
        )
    if vm.power != "poweredOn":
        raise SimFault(
            "InvalidPowerState",
            "The attempted operation cannot be performed in the current state "
            f"({_power_word(vm.power)}).",
            requestedState="poweredOn",
            existingState=vm.power,
        )
    if vm.tools != "guestToolsRunning":
        raise SimFault(
            "InvalidState",
            "The operation is not allowed in the current state.",
            faultMessage=[
                localizable(
                    "vim.fault.InvalidState.toolsNotRunning",
                    "VMware Tools is not running in the guest.",
                    {"vm": vm.name},
                )
            ],
        )
    if guest_ops_strict and not vm.guest_ops_ready:
        raise guest_ops_not_ready(vm)


def guest_ops_not_ready(vm: VirtualMachine) -> SimFault:
    """InvalidState: the guest operations agent is not ready (tools up, guest ops not yet)."""
    return SimFault(
        "InvalidState",
        "The operation is not allowed in the current state.",
        faultMessage=[
            localizable(
                "vim.fault.InvalidState.toolsNotReady",
                "The operation is not allowed in the current state: the guest operations "
                "agent is not ready.",
                {"vm": vm.name},
            )
        ],
    )


def injected_fault(vm: VirtualMachine, blocker: Task | None) -> SimFault:
    """The fault the inventory injected on ``vm`` (``blocker``: the task holding the VM, for
    TaskInProgress)."""
    assert vm.fault is not None
    t = vm.fault.type
    if t == "TaskInProgress":
        assert blocker is not None
        return task_in_progress(blocker)
    if t == "InvalidPowerState":
        return SimFault(
            "InvalidPowerState",
            "The attempted operation cannot be performed in the current state (Powered off).",
            requestedState="poweredOn",
            existingState="poweredOff",
        )
    if t == "InvalidState":
        return guest_ops_not_ready(vm)
    if t == "InvalidGuestLogin":
        return invalid_guest_login()
    if t == "GuestPermissionDenied":
        return msg_fault(
            "GuestPermissionDenied",
            "vim.fault.GuestPermissionDenied",
            "Operation not permitted for the guest account.",
        )
    return SimFault(
        "CustomizationFault",
        "A general customization error occurred.",
        faultCause={
            "_typeName": "SystemError",
            "reason": "guest customization agent unavailable",
        },
        faultMessage=[
            localizable(
                "vim.fault.CustomizationFault",
                "Guest customization failed: the customization engine did not respond. See "
                "/var/log/vmware-gosc/instant_clone_customization.log in the guest.",
            )
        ],
    )


def _power_word(p: str) -> str:
    return {"poweredOff": "Powered off", "suspended": "Suspended"}.get(p, p)
