"""VI/JSON methods of VirtualMachineGuestCustomizationManager and Task."""

from __future__ import annotations

from typing import Any

from tui.sim import wire
from tui.sim.api.context import Ctx, DropConnection, Handler, hold, lookup_mor
from tui.sim.faults import SimFault, not_found
from tui.sim.objects import Task, VirtualMachine
from tui.sim.wire import JSON

GUEST_AUTH_TYPES = (
    "NamePasswordAuthentication",
    "SAMLTokenAuthentication",
    "SSPIAuthentication",
    "TicketedSessionAuthentication",
)


def _vm_and_auth(c: Ctx, w: str) -> tuple[VirtualMachine, str, str, bool]:
    """The ``{vm, auth}`` body of StartGuestNetwork_Task / AbortCustomization_Task."""
    assert c.session is not None
    wire.check_fields(c.body, {"vm", "auth"}, w)
    vm = lookup_mor(c.state, c.session, wire.req(c.body, "vm", w), f"{w}.vm")
    if not isinstance(vm, VirtualMachine):
        raise not_found("VirtualMachine", vm.moid)
    return (vm, *_guest_auth(c.body, w))


def _guest_auth(b: JSON, w: str) -> tuple[str, str, bool]:
    auth = wire.get_obj(b, "auth", w, GUEST_AUTH_TYPES)
    assert auth is not None
    aw = f"{w}.auth"
    interactive = wire.get_bool(auth, "interactiveSession", aw)
    if auth["_typeName"] != "NamePasswordAuthentication":
        raise SimFault(
            "InvalidArgument",
            f"{aw}: the simulator accepts only NamePasswordAuthentication, got {auth['_typeName']}",
            invalidProperty="auth",
        )
    wire.check_fields(auth, {"interactiveSession", "username", "password"}, aw)
    user = wire.get_str(auth, "username", aw)
    pw = wire.get_str(auth, "password", aw)
    assert user is not None and pw is not None and interactive is not None
    return user, pw, interactive


async def h_start_network(c: Ctx) -> Any:
    assert c.session is not None
    vm, user, pw, interactive = _vm_and_auth(c, "StartGuestNetworkRequestType")
    task = c.state.tasks.start_guest_network(c.session.user_name, vm, user, pw, interactive)
    if vm.lose_reply is not None:
        # the task exists and runs; the caller never learns it (SimServer.lose_start_reply)
        (mode, seconds), vm.lose_reply = vm.lose_reply, None
        c.state.stats["replies_lost"] += 1
        left = await hold(c.request, seconds)
        if mode == "drop" and not left:
            raise DropConnection(task.moid)
    return task.ref()


async def h_abort(c: Ctx) -> Any:
    assert c.session is not None
    vm, user, pw, interactive = _vm_and_auth(c, "AbortCustomizationRequestType")
    return c.state.tasks.abort_customization(c.session.user_name, vm, user, pw, interactive).ref()


async def h_cancel_task(c: Ctx) -> Any:
    assert isinstance(c.obj, Task)
    wire.check_fields(c.body, set(), "CancelTaskRequestType")
    c.state.tasks.cancel(c.obj)
    return None


# (type, http method, name) -> (handler, needs session)
ROUTES: dict[tuple[str, str, str], tuple[Handler, bool]] = {
    ("VirtualMachineGuestCustomizationManager", "POST", "StartGuestNetwork_Task"): (
        h_start_network,
        True,
    ),
    ("VirtualMachineGuestCustomizationManager", "POST", "AbortCustomization_Task"): (h_abort, True),
    ("Task", "POST", "CancelTask"): (h_cancel_task, True),
}
