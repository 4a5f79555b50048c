"""The property table: for each managed type, path -> how to read it and how to box it.

Getters return the unboxed wire value or None (unset). The ``_vm_*`` encoders build the
VirtualMachine data objects (runtime, guest, summary, config) from the VM's plain fields; dotted
paths read the same values as the whole objects. ``values`` / ``prop_set`` / ``read_property``
read an object's properties in path order (what RetrieveProperties, WaitForUpdatesEx and a
property GET answer).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.sim.faults import invalid_property
from tui.sim.objects import MO, VirtualMachine, type_of
from tui.sim.wire import JSON, box, fmt_time

# Properties: path -> (getter returning the unboxed wire value or None, Any-slot box type)

Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Prop:
    get: Getter
    box: str | None  # None: the value carries its own _typeName (data object, MOR)


def encode(p: Prop, raw: Any) -> Any:
    return raw if p.box is None else box(p.box, raw)


def _vm_runtime(vm: VirtualMachine) -> JSON:
    d: JSON = {
        "_typeName": "VirtualMachineRuntimeInfo",
        "connectionState": vm.connection,
        "powerState": vm.power,
        "faultToleranceState": "notConfigured",
        "toolsInstallerMounted": False,
    }
    if vm.boot_time is not None and vm.power == "poweredOn":
        d["bootTime"] = fmt_time(vm.boot_time)
    d.update(
        {
            "maxCpuUsage": 4600,
            "maxMemoryUsage": 4096,
            "numMksConnections": 0,
            "recordReplayState": "inactive",
            "onlineStandby": False,
            "consolidationNeeded": False,
        }
    )
    return d


def _tools_running_status(vm: VirtualMachine) -> str:
    return vm.tools if vm.power == "poweredOn" else "guestToolsNotRunning"


def _heartbeat(vm: VirtualMachine) -> str:
    return "green" if vm.tools_running else "gray"


def _tools_status(vm: VirtualMachine) -> str:
    return "toolsOk" if vm.tools_running else "toolsNotRunning"


def _guest_state(vm: VirtualMachine) -> str:
    if vm.power != "poweredOn":
        return "notRunning"
    return "running" if vm.tools_running else "unknown"


def _vm_ip(vm: VirtualMachine) -> str | None:
    return vm.ip if vm.tools_running else None


def _vm_hostname(vm: VirtualMachine) -> str | None:
    return (vm.host_name or vm.name) if vm.tools_running else None


def _vm_net(vm: VirtualMachine) -> list[JSON] | None:
    if not vm.tools_running:
        return None
    nic: JSON = {"_typeName": "GuestNicInfo", "network": "VM Network"}
    if vm.ip:
        nic["ipAddress"] = [vm.ip]
    nic.update({"macAddress": vm.mac, "connected": True, "deviceConfigId": 4000})
    return [nic]


def _vm_cust(vm: VirtualMachine) -> JSON:
    d: JSON = {"_typeName": "GuestInfoCustomizationInfo", "customizationStatus": vm.cust_status}
    if vm.cust_start is not None:
        d["startTime"] = fmt_time(vm.cust_start)
    if vm.cust_end is not None:
        d["endTime"] = fmt_time(vm.cust_end)
    if vm.cust_error:
        d["errorMsg"] = vm.cust_error
    return d


def _vm_guest(vm: VirtualMachine) -> JSON:
    d: JSON = {"_typeName": "GuestInfo", "toolsStatus": _tools_status(vm)}
    d["toolsVersionStatus2"] = "guestToolsCurrent"
    d["toolsRunningStatus"] = _tools_running_status(vm)
    d["toolsVersion"] = "12389"
    d["guestId"] = vm.guest_id
    d["guestFamily"] = "linuxGuest"
    d["guestFullName"] = vm.guest_full_name
    for key, val in (
        ("hostName", _vm_hostname(vm)),
        ("ipAddress", _vm_ip(vm)),
        ("net", _vm_net(vm)),
    ):
        if val is not None:
            d[key] = val
    d["guestState"] = _guest_state(vm)
    d["guestOperationsReady"] = vm.guest_ops_ready
    d["interactiveGuestOperationsReady"] = False
    d["customizationInfo"] = _vm_cust(vm)
    return d


def _vm_guest_summary(vm: VirtualMachine) -> JSON:
    d: JSON = {
        "_typeName": "VirtualMachineGuestSummary",
        "guestId": vm.guest_id,
        "guestFullName": vm.guest_full_name,
        "toolsStatus": _tools_status(vm),
        "toolsVersionStatus2": "guestToolsCurrent",
        "toolsRunningStatus": _tools_running_status(vm),
    }
    for key, val in (("hostName", _vm_hostname(vm)), ("ipAddress", _vm_ip(vm))):
        if val is not None:
            d[key] = val
    return d


def _vm_config_summary(vm: VirtualMachine) -> JSON:
    return {
        "_typeName": "VirtualMachineConfigSummary",
        "name": vm.name,
        "template": False,
        "vmPathName": f"[datastore1] {vm.name}/{vm.name}.vmx",
        "memorySizeMB": 4096,
        "numCpu": 2,
        "numEthernetCards": 1,
        "numVirtualDisks": 1,
        "uuid": vm.uuid,
        "instanceUuid": vm.instance_uuid,
        "guestId": vm.guest_id,
        "guestFullName": vm.guest_full_name,
    }


def _vm_summary(vm: VirtualMachine) -> JSON:
    return {
        "_typeName": "VirtualMachineSummary",
        "vm": vm.ref(),
        "runtime": _vm_runtime(vm),
        "guest": _vm_guest_summary(vm),
        "config": _vm_config_summary(vm),
        "quickStats": {
            "_typeName": "VirtualMachineQuickStats",
            "guestHeartbeatStatus": _heartbeat(vm),
        },
        "overallStatus": "green",
    }


def _vm_config(vm: VirtualMachine) -> JSON:
    return {
        "_typeName": "VirtualMachineConfigInfo",
        "changeVersion": "2026-01-01T00:00:00.000000Z",
        "modified": "1970-01-01T00:00:00.000Z",
        "name": vm.name,
        "guestFullName": vm.guest_full_name,
        "version": "vmx-21",
        "uuid": vm.uuid,
        "instanceUuid": vm.instance_uuid,
        "template": False,
        "guestId": vm.guest_id,
        "alternateGuestName": "",
        "annotation": f"instant clone of {vm.clone_parent}" if vm.clone_parent else "",
        "files": {
            "_typeName": "VirtualMachineFileInfo",
            "vmPathName": f"[datastore1] {vm.name}/{vm.name}.vmx",
        },
        "flags": {"_typeName": "VirtualMachineFlagInfo"},
        "defaultPowerOps": {"_typeName": "VirtualMachineDefaultPowerOpInfo"},
        "hardware": {"_typeName": "VirtualHardware", "numCPU": 2, "memoryMB": 4096},
    }


def _entity_props() -> dict[str, Prop]:
    return {
        "name": Prop(lambda o: o.name, "string"),
        "parent": Prop(lambda o: o.parent.ref() if o.parent is not None else None, None),
        "overallStatus": Prop(lambda o: "green", "ManagedEntityStatus"),
        "configStatus": Prop(lambda o: "green", "ManagedEntityStatus"),
        "recentTask": Prop(
            lambda o: [t.ref() for t in o.recent_tasks] or None, "ArrayOfManagedObjectReference"
        ),
    }


ENTITY_PROPS = tuple(_entity_props())

VM_PROPS: dict[str, Prop] = {
    **_entity_props(),
    "runtime": Prop(_vm_runtime, None),
    "runtime.powerState": Prop(lambda v: v.power, "VirtualMachinePowerState"),
    "runtime.connectionState": Prop(lambda v: v.connection, "VirtualMachineConnectionState"),
    "runtime.bootTime": Prop(
        lambda v: fmt_time(v.boot_time) if v.boot_time and v.power == "poweredOn" else None,
        "dateTime",
    ),
    "guest": Prop(_vm_guest, None),
    "guest.toolsRunningStatus": Prop(_tools_running_status, "string"),
    "guest.toolsStatus": Prop(_tools_status, "VirtualMachineToolsStatus"),
    "guest.ipAddress": Prop(_vm_ip, "string"),
    "guest.hostName": Prop(_vm_hostname, "string"),
    "guest.guestState": Prop(_guest_state, "string"),
    "guest.guestOperationsReady": Prop(lambda v: v.guest_ops_ready, "boolean"),
    "guest.guestId": Prop(lambda v: v.guest_id, "string"),
    "guest.guestFullName": Prop(lambda v: v.guest_full_name, "string"),
    "guest.net": Prop(_vm_net, "ArrayOfGuestNicInfo"),
    "guest.customizationInfo": Prop(_vm_cust, None),
    "guestHeartbeatStatus": Prop(_heartbeat, "ManagedEntityStatus"),
    "summary": Prop(_vm_summary, None),
    "summary.runtime": Prop(_vm_runtime, None),
    "summary.runtime.powerState": Prop(lambda v: v.power, "VirtualMachinePowerState"),
    "summary.guest": Prop(_vm_guest_summary, None),
    "summary.guest.ipAddress": Prop(_vm_ip, "string"),
    "summary.guest.hostName": Prop(_vm_hostname, "string"),
    "summary.guest.toolsRunningStatus": Prop(_tools_running_status, "string"),
    "summary.config": Prop(_vm_config_summary, None),
    "summary.config.name": Prop(lambda v: v.name, "string"),
    "summary.config.uuid": Prop(lambda v: v.uuid, "string"),
    "summary.config.instanceUuid": Prop(lambda v: v.instance_uuid, "string"),
    "summary.overallStatus": Prop(lambda v: "green", "ManagedEntityStatus"),
    "config": Prop(_vm_config, None),
    "config.name": Prop(lambda v: v.name, "string"),
    "config.uuid": Prop(lambda v: v.uuid, "string"),
    "config.instanceUuid": Prop(lambda v: v.instance_uuid, "string"),
    "config.guestId": Prop(lambda v: v.guest_id, "string"),
    "config.guestFullName": Prop(lambda v: v.guest_full_name, "string"),
    "config.template": Prop(lambda v: False, "boolean"),
    "config.annotation": Prop(
        lambda v: f"instant clone of {v.clone_parent}" if v.clone_parent else "", "string"
    ),
}
FOLDER_PROPS: dict[str, Prop] = {
    **_entity_props(),
    "childEntity": Prop(
        lambda f: [c.ref() for c in f.children.values()] or None, "ArrayOfManagedObjectReference"
    ),
    "childType": Prop(lambda f: list(f.child_type), "ArrayOfString"),
}
DATACENTER_PROPS: dict[str, Prop] = {
    **_entity_props(),
    "vmFolder": Prop(lambda d: d.vm_folder.ref(), None),
    "hostFolder": Prop(lambda d: d.host_folder.ref(), None),
}
TASK_PROPS: dict[str, Prop] = {
    "info": Prop(lambda t: t.info(), None),
    "info.key": Prop(lambda t: t.moid, "string"),
    "info.task": Prop(lambda t: t.ref(), None),
    "info.name": Prop(lambda t: t.method, "string"),
    "info.descriptionId": Prop(lambda t: t.description_id, "string"),
    "info.entity": Prop(lambda t: t.entity.ref(), None),
    "info.entityName": Prop(lambda t: t.entity.name, "string"),
    "info.state": Prop(lambda t: t.state, "TaskInfoState"),
    "info.cancelled": Prop(lambda t: t.cancelled, "boolean"),
    "info.cancelable": Prop(lambda t: t.cancelable and not t.done, "boolean"),
    "info.error": Prop(lambda t: t.error.bare() if t.error is not None else None, None),
    "info.progress": Prop(lambda t: t.progress if t.state == "running" else None, "int"),
    "info.reason": Prop(lambda t: t.reason, None),
    "info.queueTime": Prop(lambda t: fmt_time(t.queue_time), "dateTime"),
    "info.startTime": Prop(
        lambda t: fmt_time(t.start_time) if t.start_time is not None else None, "dateTime"
    ),
    "info.completeTime": Prop(
        lambda t: fmt_time(t.complete_time) if t.complete_time is not None else None, "dateTime"
    ),
    "info.eventChainId": Prop(lambda t: t.event_chain_id, "int"),
}
VIEW_PROPS: dict[str, Prop] = {
    "view": Prop(lambda v: [m.ref() for m in v.members()] or None, "ArrayOfManagedObjectReference"),
    "container": Prop(lambda v: v.container.ref(), None),
    "type": Prop(lambda v: list(v.types) or None, "ArrayOfString"),
    "recursive": Prop(lambda v: v.recursive, "boolean"),
}
PROPS_BY_TYPE: dict[str, dict[str, Prop]] = {
    "VirtualMachine": VM_PROPS,
    "Folder": FOLDER_PROPS,
    "Datacenter": DATACENTER_PROPS,
    "Task": TASK_PROPS,
    "ContainerView": VIEW_PROPS,
}
# Top-level properties returned for PropertySpec.all = true.
ALL_PROPS: dict[str, tuple[str, ...]] = {
    t: tuple(p for p in props if "." not in p) for t, props in PROPS_BY_TYPE.items()
}
# Properties that can be traversed (TraversalSpec.path) and how.
TRAVERSABLE = {
    ("ContainerView", "view"),
    ("Folder", "childEntity"),
    ("Datacenter", "vmFolder"),
    ("Datacenter", "hostFolder"),
    ("Folder", "parent"),
    ("Datacenter", "parent"),
    ("VirtualMachine", "parent"),
    ("Task", "info.entity"),
}


@functools.cache
def plan(type_: str, paths: tuple[str, ...]) -> tuple[tuple[str, Prop], ...]:
    """(path, Prop) pairs in path order: PropertyChange/DynamicProperty lists come sorted."""
    props = PROPS_BY_TYPE[type_]
    return tuple((p, props[p]) for p in sorted(paths))


def values(o: MO, paths: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(prop.get(o) for _, prop in plan(type_of(o), paths))


def prop_set(o: MO, paths: tuple[str, ...]) -> list[JSON]:
    """DynamicProperty list, in path order (``paths`` are kept sorted), unset ones left out."""
    out = []
    for p, prop in plan(type_of(o), paths):
        raw = prop.get(o)
        if raw is not None:
            out.append({"_typeName": "DynamicProperty", "name": p, "val": encode(prop, raw)})
    return out


def read_property(o: MO, path: str) -> Any:
    props = PROPS_BY_TYPE.get(type_of(o), {})
    if path not in props:
        raise invalid_property(path)
    return values(o, (path,))[0]
