"""The fault catalogue: what a vSphere fault means for an admin and what to do about it.

Facts from ../shared/notes/admins.md (with the upstream issues cited there).
"""

from __future__ import annotations

from tui.vsphere.models import Fault, Hint

_CATALOGUE: dict[str, Hint] = {
    "InvalidGuestLogin": Hint(
        title="Guest login rejected",
        explanation="The guest operating system did not accept the guest username and password.",
        remedy=(
            "Check the guest account and password. If they are right, look at the guest's PAM "
            "configuration for VMware Tools (/etc/pam.d/vmtoolsd), Windows account policy, or an "
            "expired guest password."
        ),
    ),
    "GuestPermissionDenied": Hint(
        title="Guest account lacks permission",
        explanation=(
            "The guest account logged in but is not allowed to restart the network inside the "
            "guest. This is about the guest OS account, not a vCenter privilege."
        ),
        remedy="Use a guest account with administrative rights (root / Administrator).",
    ),
    "NoPermission": Hint(
        title="vCenter privilege missing",
        explanation=(
            "Your vCenter user lacks a privilege on this object. For starting the guest network "
            "that is VirtualMachine.Provisioning.Customize — a vCenter role, not the guest account."
        ),
        remedy=(
            "Ask a vCenter administrator to grant a role with "
            "VirtualMachine.Provisioning.Customize on the VMs (or their folder)."
        ),
    ),
    "InvalidPowerState": Hint(
        title="VM is not powered on",
        explanation="The guest network can only be started on a powered-on VM.",
        remedy="Power the VM on, wait for VMware Tools to run, then try again.",
    ),
    "InvalidState": Hint(
        title="VM not ready",
        explanation=(
            "The VM is in a state that does not allow the operation, most often because VMware "
            "Tools is not running or guest operations are not ready yet."
        ),
        remedy=(
            "Wait until the VM shows guest operations ready (guest.guestOperationsReady) and "
            "VMware Tools running, then retry."
        ),
    ),
    "GuestOperationsUnavailable": Hint(
        title="Guest operations not ready",
        explanation="VMware Tools in the guest is not ready for guest operations yet.",
        remedy="Wait for guest.guestOperationsReady to become true, then retry.",
    ),
    "TaskInProgress": Hint(
        title="Another task is running on the VM",
        explanation="vSphere allows one task per VM at a time; another one is still in progress.",
        remedy="Wait for the other task to finish and retry (guestnet retries a few times).",
    ),
    "CustomizationFault": Hint(
        title="Guest customization failed",
        explanation=(
            "The customization engine in the guest reported an error, or a customization lock was "
            "left behind by an earlier failed run."
        ),
        remedy=(
            "Read /var/log/vmware-gosc/ in the guest (instant_clone_customization.log). "
            "AbortCustomization_Task clears a stuck customization lock; retry afterwards."
        ),
    ),
    "NotAuthenticated": Hint(
        title="Session expired",
        explanation=(
            "The vCenter session is no longer valid (idle timeout, typically 30 minutes, or a "
            "vCenter restart)."
        ),
        remedy="Log in again; guestnet re-logs in once by itself and keeps the session alive.",
    ),
    "InvalidLogin": Hint(
        title="vCenter login failed",
        explanation="vCenter rejected the username or password.",
        remedy=(
            "Check the vCenter username (e.g. administrator@vsphere.local) and password, and "
            "whether the account is locked."
        ),
    ),
    "ManagedObjectNotFound": Hint(
        title="Object no longer exists",
        explanation="The VM, task or other object was deleted or its reference has expired.",
        remedy="Refresh the inventory and retry on the current objects.",
    ),
    "RequestCanceled": Hint(
        title="Cancelled",
        explanation="The task was cancelled before it completed.",
        remedy="Start it again if the cancellation was not intended.",
    ),
    "NotSupported": Hint(
        title="Not supported",
        explanation=(
            "vCenter or the guest does not support this operation. Starting the guest network "
            "of a running VM is Linux-only and needs the customization engine in the parent."
        ),
        remedy="Check the guest OS and VMware Tools version.",
    ),
    "SystemError": Hint(
        title="vCenter internal error",
        explanation="vCenter or the host reported an internal error.",
        remedy="Retry; if it persists, check the vCenter and host logs (vpxd.log, hostd.log).",
    ),
    "GuestOperationsFault": Hint(
        title="Guest operation failed",
        explanation="VMware Tools in the guest could not carry out the operation.",
        remedy="Check that VMware Tools is running and up to date in the guest, then retry.",
    ),
    "ToolsUnavailable": Hint(
        title="VMware Tools not running",
        explanation="VMware Tools is not running in the guest, so vCenter cannot reach it.",
        remedy="Start VMware Tools (open-vm-tools) in the guest and wait until it reports running.",
    ),
    "HostCommunication": Hint(
        title="Host unreachable",
        explanation="vCenter cannot talk to the ESXi host of the VM.",
        remedy="Check the host's connection state in vCenter, then retry.",
    ),
    "HostNotConnected": Hint(
        title="Host not connected",
        explanation="The ESXi host of the VM is not connected to vCenter.",
        remedy="Reconnect the host in vCenter, then retry.",
    ),
}

# Supertypes (from VMware's type registry) of some faults, so that a subtype we do not list still
# gets the hint of its nearest listed ancestor.
_PARENT: dict[str, str] = {
    "InvalidPowerState": "InvalidState",
    "InvalidGuestLogin": "GuestOperationsFault",
    "GuestPermissionDenied": "GuestOperationsFault",
    "GuestAuthenticationChallenge": "GuestOperationsFault",
    "GuestComponentsOutOfDate": "GuestOperationsFault",
    "GuestOperationsUnavailable": "GuestOperationsFault",
    "NotAuthenticated": "NoPermission",
    "HostNotConnected": "HostCommunication",
    "HostNotReachable": "HostCommunication",
}


def explain(type_name: str) -> Hint:
    """The catalogue entry for a fault type (or the nearest known supertype; a generic fallback)."""
    t: str | None = type_name
    seen: set[str] = set()
    while t and t not in seen:
        seen.add(t)
        hint = _CATALOGUE.get(t)
        if hint is not None:
            return hint
        t = _PARENT.get(t)
    name = type_name or "Unknown"
    return Hint(
        title=name,
        explanation=f"vCenter reported the fault {name}.",
        remedy="Read the fault message and the task details in the vSphere Client.",
    )


def explain_fault(fault: Fault) -> Hint:
    """The hint for the most specific catalogued fault in a fault's cause chain."""
    for f in fault.chain():
        if f.type_name in _CATALOGUE:
            return _CATALOGUE[f.type_name]
    return explain(fault.type_name)


def known_faults() -> frozenset[str]:
    return frozenset(_CATALOGUE)
