"""Simulator state: managed objects, sessions, views, property collectors/filters, tasks.

Everything here runs on the server's event loop thread; other threads reach it through
``SimServer``'s control methods, which hop onto that loop.

Change tracking: every property change calls ``State.touch(moid)``, which adds the moid to the
``pending`` set of each filter that covers it and wakes that filter's collector. A
WaitForUpdatesEx therefore looks only at dirty objects, never at the whole inventory. Structural
changes (VMs added or removed) mark every filter for a re-resolve of its object set; a destroyed
view only the filters of its session that start from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.sim.inventory import GuestAccount, InjectedFault, Inventory
from tui.sim.wire import JSON, WireError, box, fmt_time, localizable, mor

RELEASES = ("8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0")
ABOUT_BY_RELEASE = {
    "8.0.1.0": ("8.0.1", "21560480"),
    "8.0.2.0": ("8.0.2", "22385739"),
    "8.0.3.0": ("8.0.3", "24022515"),
    "9.0.0.0": ("9.0.0", "24755230"),
}
DEFAULT_PAGE = 5000  # RetrievePropertiesEx page size when options.maxObjects is unset
RECENT_DONE_MAX = 200  # vCenter: recentTask keeps at most the last 200 completed tasks
CUSTOMIZE_DESC = "vm.GuestCustomizationManager.startNetwork"
ABORT_DESC = "vm.GuestCustomizationManager.abortCustomization"


# ----------------------------------------------------------------------------------------------
# Faults


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


def _msg_fault(type_name: str, key: str, message: str, **fields: Any) -> SimFault:
    return SimFault(type_name, message, faultMessage=[localizable(key, message)], **fields)


# ----------------------------------------------------------------------------------------------
# Managed objects


class MO:
    type = "ManagedObject"
    __slots__ = ("moid",)

    def __init__(self, moid: str) -> None:
        self.moid = moid

    def ref(self) -> JSON:
        return mor(self.type, self.moid)


class Entity(MO):
    __slots__ = ("name", "parent", "recent_tasks")

    def __init__(self, moid: str, name: str, parent: Entity | None) -> None:
        super().__init__(moid)
        self.name = name
        self.parent = parent
        # ManagedEntity.recentTask: queued/running tasks on this entity and the recently
        # finished ones (see State._task_retired), oldest first
        self.recent_tasks: list[Task] = []


class Folder(Entity):
    type = "Folder"
    __slots__ = ("child_type", "children")

    def __init__(self, moid: str, name: str, parent: Entity | None, child_type: list[str]) -> None:
        super().__init__(moid, name, parent)
        self.children: dict[str, Entity] = {}
        self.child_type = child_type


class Datacenter(Entity):
    type = "Datacenter"
    __slots__ = ("host_folder", "vm_folder")

    def __init__(self, moid: str, name: str, parent: Entity | None) -> None:
        super().__init__(moid, name, parent)
        self.vm_folder: Folder
        self.host_folder: Folder


class VirtualMachine(Entity):
    type = "VirtualMachine"
    __slots__ = (
        "accounts",
        "acquire_ip",
        "auth_mode",
        "blocker",
        "boot_time",
        "cancelable",
        "clone_parent",
        "connection",
        "cust_end",
        "cust_error",
        "cust_start",
        "cust_status",
        "fault",
        "guest_full_name",
        "guest_id",
        "hang",
        "host_name",
        "instance_uuid",
        "ip",
        "lose_reply",
        "mac",
        "power",
        "running_task",
        "task_seconds",
        "tools",
        "uuid",
    )

    def __init__(self, moid: str, name: str, parent: Entity | None) -> None:
        super().__init__(moid, name, parent)
        self.power = "poweredOn"
        self.connection = "connected"
        self.tools = "guestToolsRunning"
        self.ip: str | None = None
        self.acquire_ip: str | None = None
        self.clone_parent: str | None = None
        self.accounts: list[GuestAccount] | None = None
        self.fault: InjectedFault | None = None
        self.auth_mode: str | None = None
        self.task_seconds: float | None = None
        self.cancelable = True
        self.hang = False
        self.guest_id = "ubuntu64Guest"
        self.guest_full_name = "Ubuntu Linux (64-bit)"
        self.host_name: str | None = None
        h = hashlib.sha1(moid.encode()).hexdigest()
        self.uuid = f"4201{h[:4]}-{h[4:8]}-{h[8:12]}-{h[12:16]}-{h[16:28]}"
        self.instance_uuid = f"5001{h[20:24]}-{h[24:28]}-{h[28:32]}-{h[32:36]}-{h[:12]}"
        self.mac = "00:50:56:%s:%s:%s" % (h[0:2], h[2:4], h[4:6])  # noqa: UP031
        self.boot_time: float | None = None
        self.running_task: Task | None = None  # queued or running customization task
        self.blocker: Task | None = None  # task of an injected TaskInProgress
        self.cust_status = "TOOLSDEPLOYPKG_IDLE"
        self.cust_start: float | None = None
        self.cust_end: float | None = None
        self.cust_error: str | None = None
        # (mode, seconds): the next StartGuestNetwork_Task that creates a task loses its reply
        self.lose_reply: tuple[str, float] | None = None

    @property
    def tools_running(self) -> bool:
        return self.power == "poweredOn" and self.tools == "guestToolsRunning"


class Task(MO):
    type = "Task"
    __slots__ = (
        "aio",
        "cancel_fault",
        "cancelable",
        "cancelled",
        "complete_time",
        "description_id",
        "duration",
        "entity",
        "error",
        "event_chain_id",
        "method",
        "progress",
        "queue_time",
        "reason",
        "slot",
        "start_time",
        "state",
        "wait_fut",
    )

    def __init__(
        self,
        moid: str,
        method: str,
        description_id: str,
        entity: VirtualMachine,
        reason: JSON,
        cancelable: bool,
        event_chain_id: int,
    ) -> None:
        super().__init__(moid)
        self.method = method
        self.description_id = description_id
        self.entity = entity
        self.reason = reason
        self.cancelable = cancelable
        self.event_chain_id = event_chain_id
        self.state = "queued"
        self.cancelled = False
        self.progress: int | None = None
        self.error: SimFault | None = None
        self.queue_time = time.time()
        self.start_time: float | None = None
        self.complete_time: float | None = None
        self.duration = 0.0
        self.aio: asyncio.Task[None] | None = None
        self.wait_fut: asyncio.Future[None] | None = None
        self.slot = False  # holds one of the server-wide running-task slots
        self.cancel_fault: SimFault | None = None

    @property
    def done(self) -> bool:
        return self.state in ("success", "error")

    def info(self) -> JSON:
        d: JSON = {
            "_typeName": "TaskInfo",
            "key": self.moid,
            "task": self.ref(),
            "name": self.method,
            "descriptionId": self.description_id,
            "entity": self.entity.ref(),
            "entityName": self.entity.name,
            "state": self.state,
            "cancelled": self.cancelled,
            "cancelable": self.cancelable and not self.done,
        }
        if self.error is not None:
            d["error"] = self.error.bare()
        if self.progress is not None and self.state == "running":
            d["progress"] = self.progress
        d["reason"] = self.reason
        d["queueTime"] = fmt_time(self.queue_time)
        if self.start_time is not None:
            d["startTime"] = fmt_time(self.start_time)
        if self.complete_time is not None:
            d["completeTime"] = fmt_time(self.complete_time)
        d["eventChainId"] = self.event_chain_id
        return d


class Singleton(MO):
    """ServiceInstance, SessionManager, ViewManager, the customization manager."""

    __slots__ = ("_type",)

    def __init__(self, type_: str, moid: str) -> None:
        super().__init__(moid)
        self._type = type_

    def ref(self) -> JSON:
        return mor(self._type, self.moid)


class ContainerView(MO):
    type = "ContainerView"
    __slots__ = (
        "_cache",
        "_cache_version",
        "container",
        "destroyed",
        "recursive",
        "session",
        "state",
        "types",
    )

    def __init__(
        self,
        moid: str,
        state: State,
        session: Session,
        container: Entity,
        types: list[str],
        recursive: bool,
    ) -> None:
        super().__init__(moid)
        self.state = state
        self.session = session
        self.container = container
        self.types = types
        self.recursive = recursive
        self._cache: list[Entity] = []
        self._cache_version = -1
        self.destroyed = False

    def members(self) -> list[Entity]:
        if self.destroyed:
            return []
        state = self.state
        if self._cache_version != state.structure_version:
            self._cache = list(self._walk())
            self._cache_version = state.structure_version
        return self._cache

    def _walk(self) -> Iterable[Entity]:
        want = set(self.types)
        for child in _children(self.container):
            if not want or _isa(child.type, want):
                yield child
            if self.recursive:
                yield from self._walk_deep(child, want)

    def _walk_deep(self, e: Entity, want: set[str]) -> Iterable[Entity]:
        for child in _children(e):
            if not want or _isa(child.type, want):
                yield child
            yield from self._walk_deep(child, want)


def _children(e: Entity) -> Iterable[Entity]:
    if isinstance(e, Folder):
        return e.children.values()
    if isinstance(e, Datacenter):
        return (e.vm_folder, e.host_folder)
    return ()


_SUPERTYPES: dict[str, tuple[str, ...]] = {
    "Folder": ("Folder", "ManagedEntity", "ExtensibleManagedObject"),
    "Datacenter": ("Datacenter", "ManagedEntity", "ExtensibleManagedObject"),
    "VirtualMachine": ("VirtualMachine", "ManagedEntity", "ExtensibleManagedObject"),
    "Task": ("Task", "ExtensibleManagedObject"),
    "ContainerView": ("ContainerView", "ManagedObjectView", "View"),
    "PropertyFilter": ("PropertyFilter",),
    "PropertyCollector": ("PropertyCollector",),
}
# Entity types a PropertySpec may name with only the ManagedEntity properties (the simulator has
# no objects of the concrete ones; a client's generic specs still mention them).
PLAIN_ENTITY_TYPES = frozenset(
    {
        "ManagedEntity",
        "HostSystem",
        "ResourcePool",
        "ClusterComputeResource",
        "ComputeResource",
        "Datastore",
        "Network",
        "VirtualApp",
        "StoragePod",
        "DistributedVirtualSwitch",
    }
)
KNOWN_TYPES = frozenset(
    {
        "ExtensibleManagedObject",
        "ManagedObjectView",
        "View",
        *PLAIN_ENTITY_TYPES,
        *(t for ts in _SUPERTYPES.values() for t in ts),
        "ServiceInstance",
        "SessionManager",
        "ViewManager",
        "VirtualMachineGuestCustomizationManager",
    }
)


def _isa(type_: str, want: set[str] | frozenset[str]) -> bool:
    return any(t in want for t in _SUPERTYPES.get(type_, (type_,)))


# ----------------------------------------------------------------------------------------------
# Properties: path -> (getter returning the unboxed wire value or None, Any-slot box type)

Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Prop:
    get: Getter
    box: str | None  # None: the value carries its own _typeName (data object, MOR)


def _enc(p: Prop, raw: Any) -> Any:
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
    d["guestOperationsReady"] = vm.tools_running
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
    "guest.guestOperationsReady": Prop(lambda v: v.tools_running, "boolean"),
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


# ----------------------------------------------------------------------------------------------
# Sessions, collectors, filters


@dataclass(eq=False)
class Session:
    key: str
    token: str = field(repr=False)  # the vmware-api-session-id: a credential
    user_name: str
    login_time: float
    last_active: float
    locale: str
    ip: str
    user_agent: str
    call_count: int = 0
    in_flight: int = 0
    views: dict[str, ContainerView] = field(default_factory=dict)
    collectors: dict[str, Collector] = field(default_factory=dict)  # includes the default
    retrievals: dict[str, Retrieval] = field(default_factory=dict)
    next_token: int = 1

    def user_session(self) -> JSON:
        return {
            "_typeName": "UserSession",
            "key": self.key,
            "userName": self.user_name,
            "fullName": self.user_name.split("@")[0].capitalize(),
            "loginTime": fmt_time(self.login_time),
            "lastActiveTime": fmt_time(self.last_active),
            "locale": self.locale,
            "messageLocale": self.locale,
            "extensionSession": False,
            "ipAddress": self.ip,
            "userAgent": self.user_agent,
            "callCount": self.call_count,
        }


@dataclass(eq=False)
class Retrieval:
    """The remaining pages of a RetrievePropertiesEx."""

    objects: list[tuple[MO, tuple[str, ...]]]
    pos: int
    page: int


@dataclass(frozen=True, slots=True)
class ObjSpec:
    obj: MO
    skip: bool
    select: tuple[Sel, ...]


@dataclass(frozen=True, slots=True)
class Sel:
    """A TraversalSpec (type/path set) or a SelectionSpec reference by name (type None)."""

    name: str | None
    type: str | None
    path: str | None
    skip: bool
    select: tuple[Sel, ...]


@dataclass(frozen=True, slots=True)
class FilterSpec:
    props: dict[str, tuple[str, ...]]  # managed type -> paths (from PropertySpec)
    objects: tuple[ObjSpec, ...]
    names: dict[str, Sel]

    def paths_for(self, type_: str) -> tuple[str, ...] | None:
        paths: list[str] = []
        found = False
        for t in _SUPERTYPES.get(type_, (type_,)):
            if t in self.props:
                found = True
                for p in self.props[t]:
                    if p not in paths:
                        paths.append(p)
        return tuple(paths) if found else None


class Filter(MO):
    type = "PropertyFilter"

    def __init__(
        self, moid: str, collector: Collector, spec: FilterSpec, raw_spec: JSON, partial: bool
    ) -> None:
        super().__init__(moid)
        self.collector = collector
        self.spec = spec
        self.raw_spec = raw_spec
        self.partial = partial
        self.objects: dict[str, tuple[MO, tuple[str, ...]]] = {}
        self.known: dict[str, tuple[JSON, tuple[Any, ...]]] = {}  # moid -> (ref, values)
        self.pending: dict[str, None] = {}
        self.needs_resolve = False


class Collector(MO):
    type = "PropertyCollector"

    def __init__(self, moid: str, session: Session) -> None:
        super().__init__(moid)
        self.session = session
        self.filters: dict[str, Filter] = {}
        self.version = 0
        self.changed = asyncio.Event()
        self.waiting = 0  # WaitForUpdatesEx calls blocked on ``changed``
        self.cancel_gen = 0
        self.destroyed = False


# ----------------------------------------------------------------------------------------------
# Options


@dataclass
class SimOptions:
    vc_user: str = "administrator@vsphere.local"
    vc_password: str = field(default="VMware1!", repr=False)
    # more vCenter accounts (user name -> password), e.g. a second user whose tasks are not ours
    extra_users: dict[str, str] = field(default_factory=dict, repr=False)
    guest_user: str = "root"
    guest_password: str = field(default="guest-secret", repr=False)
    task_seconds: float = 3.0
    max_running_tasks: int = 640
    session_timeout: float = 1800.0
    latency_ms: float = 0.0
    hello: bool = True
    releases: tuple[str, ...] | None = None  # None: all four (hello) or only 8.0.1.0 (no hello)
    record: bool = False
    recent_task_seconds: float = 600.0  # how long a finished task stays in recentTask

    def supported_releases(self) -> tuple[str, ...]:
        if self.releases is not None:
            return self.releases
        return RELEASES if self.hello else ("8.0.1.0",)


# ----------------------------------------------------------------------------------------------
# State


class State:
    def __init__(self, inventory: Inventory, options: SimOptions) -> None:
        self.options = options
        self.inventory_auth_mode = inventory.auth_mode
        self.default_accounts = inventory.guest_accounts
        self.objects: dict[str, MO] = {}
        self.vms_by_name: dict[str, VirtualMachine] = {}
        self.sessions: dict[str, Session] = {}  # token -> session
        self.filters: dict[str, Filter] = {}
        self.structure_version = 0
        self.task_seq = itertools.count(1001)
        self.event_seq = itertools.count(90001)
        self.entity_seq = itertools.count(1)
        self.ip_seq = itertools.count(0)
        self.queue: list[Task] = []
        self.running = 0
        self.recent_done: deque[Task] = deque()  # finished and still recent, oldest first
        self.recent_done_max = RECENT_DONE_MAX
        self.stats: dict[str, Any] = {
            "logins": 0,
            "logouts": 0,
            "login_failures": 0,
            "not_authenticated": 0,
            "sessions_expired": 0,
            "requests": {},
            "wait_calls": 0,
            "wait_timeouts": 0,
            "tasks_started": 0,
            "replies_lost": 0,  # StartGuestNetwork_Task replies dropped/delayed on request
            "objects_evaluated": 0,  # objects WaitForUpdatesEx read properties of
        }
        self.instance_uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, "guestnet-sim"))
        self.closing = False
        self.api_version = max(self.options.supported_releases(), default="8.0.1.0")
        self.service_instance = Singleton("ServiceInstance", "ServiceInstance")
        self.session_manager = Singleton("SessionManager", "SessionManager")
        self.view_manager = Singleton("ViewManager", "ViewManager")
        self.cust_manager = Singleton(
            "VirtualMachineGuestCustomizationManager", "GuestCustomizationManager"
        )
        self.root = Folder("group-d1", "Datacenters", None, ["Folder", "Datacenter"])
        self.objects[self.root.moid] = self.root
        self._build(inventory)

    # -- inventory -------------------------------------------------------------------------

    def _new_moid(self, prefix: str) -> str:
        return f"{prefix}{next(self.entity_seq)}"

    def _build(self, inv: Inventory) -> None:
        from tui.sim.inventory import FolderSpec

        def add_folder(spec: FolderSpec, parent: Folder) -> None:
            for sub in spec.folders:
                f = Folder(
                    self._new_moid("group-v"), sub.name, parent, ["Folder", "VirtualMachine"]
                )
                parent.children[f.moid] = f
                self.objects[f.moid] = f
                add_folder(sub, f)
            for vs in spec.vms:
                self._add_vm(vs, parent)

        for dc_spec in inv.datacenters:
            dc = Datacenter(self._new_moid("datacenter-"), dc_spec.name, self.root)
            self.root.children[dc.moid] = dc
            self.objects[dc.moid] = dc
            dc.vm_folder = Folder(self._new_moid("group-v"), "vm", dc, ["Folder", "VirtualMachine"])
            dc.host_folder = Folder(
                self._new_moid("group-h"), "host", dc, ["Folder", "ComputeResource"]
            )
            self.objects[dc.vm_folder.moid] = dc.vm_folder
            self.objects[dc.host_folder.moid] = dc.host_folder
            add_folder(dc_spec.vm_folder, dc.vm_folder)

    def _add_vm(self, vs: Any, parent: Folder) -> VirtualMachine:
        vm = VirtualMachine(self._new_moid("vm-"), vs.name, parent)
        vm.power = vs.power
        vm.tools = vs.tools
        vm.connection = vs.connection
        vm.ip = vs.ip
        vm.acquire_ip = vs.acquire_ip
        vm.clone_parent = vs.clone_parent
        vm.accounts = vs.guest_accounts
        vm.fault = vs.fault
        vm.auth_mode = vs.auth_mode
        vm.task_seconds = vs.task_seconds
        vm.cancelable = vs.cancelable
        vm.hang = vs.hang
        vm.guest_id = vs.guest_id
        vm.guest_full_name = vs.guest_full_name
        vm.host_name = vs.host_name
        vm.boot_time = time.time() - 3600 if vm.power == "poweredOn" else None
        parent.children[vm.moid] = vm
        self.objects[vm.moid] = vm
        self.vms_by_name[vm.name] = vm
        if vm.fault is not None and vm.fault.type == "TaskInProgress":
            self._make_blocker(vm)
        return vm

    def _make_blocker(self, vm: VirtualMachine) -> None:
        """The long-running task another client left on a VM with an injected TaskInProgress."""
        t = self._new_task(
            "StartGuestNetwork_Task", CUSTOMIZE_DESC, vm, {"_typeName": "TaskReasonSystem"}, False
        )
        t.state = "running"
        t.progress = 50
        t.start_time = t.queue_time
        vm.blocker = t
        vm.cust_status = "TOOLSDEPLOYPKG_RUNNING"
        vm.cust_start = t.start_time

    def structure_changed(self) -> None:
        self.structure_version += 1
        for f in self.filters.values():
            f.needs_resolve = True
            f.collector.changed.set()

    def touch(self, moid: str) -> None:
        for f in self.filters.values():
            if moid in f.objects:
                f.pending[moid] = None
                f.collector.changed.set()

    def find_vm(self, ref: str) -> VirtualMachine:
        obj = self.objects.get(ref)
        if isinstance(obj, VirtualMachine):
            return obj
        vm = self.vms_by_name.get(ref)
        if vm is None:
            raise KeyError(f"no VM named or with moid {ref!r}")
        return vm

    def add_vm(self, folder_path: str, spec: Any) -> VirtualMachine:
        folder = self.folder_by_path(folder_path)
        if spec.name in self.vms_by_name:
            raise ValueError(f"a VM named {spec.name!r} already exists")
        vm = self._add_vm(spec, folder)
        self.structure_changed()
        return vm

    def remove_vm(self, ref: str) -> None:
        vm = self.find_vm(ref)
        if isinstance(vm.parent, Folder):
            vm.parent.children.pop(vm.moid, None)
        self.objects.pop(vm.moid, None)
        self.vms_by_name.pop(vm.name, None)
        self.structure_changed()

    def folder_by_path(self, path: str) -> Folder:
        parts = [p for p in path.strip("/").split("/") if p]
        if len(parts) < 2 or parts[1] != "vm":
            raise KeyError(f"folder path must look like /DC/vm[/folder...], got {path!r}")
        dc = next(
            (
                c
                for c in self.root.children.values()
                if isinstance(c, Datacenter) and c.name == parts[0]
            ),
            None,
        )
        if dc is None:
            raise KeyError(f"no datacenter named {parts[0]!r}")
        f: Folder = dc.vm_folder
        for name in parts[2:]:
            nxt = next(
                (c for c in f.children.values() if isinstance(c, Folder) and c.name == name), None
            )
            if nxt is None:
                raise KeyError(f"no folder {name!r} in {path!r}")
            f = nxt
        return f

    def inventory_path(self, e: Entity) -> str:
        parts: list[str] = []
        cur: Entity | None = e
        while cur is not None and cur is not self.root:
            parts.append(cur.name)
            cur = cur.parent
        return "/" + "/".join(reversed(parts))

    # -- content -----------------------------------------------------------------------------

    def about(self) -> JSON:
        version, build = ABOUT_BY_RELEASE.get(self.api_version, ("9.0.0", "24755230"))
        return {
            "_typeName": "AboutInfo",
            "name": "VMware vCenter Server",
            "fullName": f"VMware vCenter Server {version} build-{build} (guestnet simulator)",
            "vendor": "VMware, Inc.",
            "version": version,
            "build": build,
            "localeVersion": "INTL",
            "localeBuild": "000",
            "osType": "linux-x64",
            "productLineId": "vpx",
            "apiType": "VirtualCenter",
            "apiVersion": self.api_version,
            "instanceUuid": self.instance_uuid,
            "licenseProductName": "VMware VirtualCenter Server",
            "licenseProductVersion": version.split(".")[0] + ".0",
        }

    def content(self) -> JSON:
        return {
            "_typeName": "ServiceContent",
            "rootFolder": self.root.ref(),
            "propertyCollector": mor("PropertyCollector", "propertyCollector"),
            "viewManager": self.view_manager.ref(),
            "about": self.about(),
            "sessionManager": self.session_manager.ref(),
            "guestCustomizationManager": self.cust_manager.ref(),
        }

    # -- sessions ----------------------------------------------------------------------------

    def login(self, user: str, password: str, locale: str | None, ip: str, agent: str) -> Session:
        accounts = {self.options.vc_user: self.options.vc_password, **self.options.extra_users}
        name = next((n for n in accounts if n.casefold() == user.casefold()), None)
        expected = accounts[name] if name is not None else self.options.vc_password
        ok_pw = secrets.compare_digest(password.encode(), expected.encode())
        if name is None or not ok_pw:
            self.stats["login_failures"] += 1
            raise _msg_fault(
                "InvalidLogin",
                "vim.fault.InvalidLogin",
                "Cannot complete login due to an incorrect user name or password.",
            )
        now = time.time()
        s = Session(
            key=str(uuid.uuid4()),
            token=secrets.token_hex(20),
            user_name=name,
            login_time=now,
            last_active=now,
            locale=locale or "en",
            ip=ip,
            user_agent=agent or "unknown",
        )
        self.sessions[s.token] = s
        self.stats["logins"] += 1
        return s

    def session_for(self, token: str | None) -> Session | None:
        if not token:
            return None
        s = self.sessions.get(token)
        if s is None:
            return None
        if s.in_flight == 0 and time.time() - s.last_active > self.options.session_timeout:
            self.end_session(s, expired=True)
            return None
        return s

    def sweep(self) -> None:
        now = time.time()
        for s in list(self.sessions.values()):
            if s.in_flight == 0 and now - s.last_active > self.options.session_timeout:
                self.end_session(s, expired=True)

    def end_session(self, s: Session, expired: bool = False) -> None:
        if self.sessions.pop(s.token, None) is None:
            return
        if expired:
            self.stats["sessions_expired"] += 1
        # views are per session (see destroy_view): no other session's filter can start from one
        for v in s.views.values():
            v.destroyed = True
        for c in list(s.collectors.values()):
            self.destroy_collector(c)
        s.views.clear()
        s.retrievals.clear()

    def drop_sessions(self) -> None:
        """A server restart: every session is gone (not counted as an idle expiry)."""
        for s in list(self.sessions.values()):
            self.end_session(s)

    def expire_all(self) -> int:
        n = 0
        for s in list(self.sessions.values()):
            self.end_session(s, expired=True)
            n += 1
        return n

    # -- views -------------------------------------------------------------------------------

    def create_view(
        self, s: Session, container: Entity, types: list[str], recursive: bool
    ) -> ContainerView:
        v = ContainerView(f"session[{s.key}]{uuid.uuid4()}", self, s, container, types, recursive)
        s.views[v.moid] = v
        return v

    def destroy_view(self, s: Session, v: ContainerView) -> None:
        """Only filters that start from ``v`` change: a view is named only by its own session
        (``lookup``) and no TraversalSpec path leads to a view. Other views keep their cached
        members (a structure_changed() here made every filter in the server re-walk its views)."""
        s.views.pop(v.moid, None)
        v.destroyed = True
        for c in s.collectors.values():
            for f in c.filters.values():
                if any(o.obj is v for o in f.spec.objects):
                    f.needs_resolve = True
                    c.changed.set()

    # -- collectors & filters ----------------------------------------------------------------

    def collector(self, s: Session, moid: str) -> Collector:
        c = s.collectors.get(moid)
        if c is None:
            if moid != "propertyCollector":
                raise not_found("PropertyCollector", moid)
            c = Collector(moid, s)
            s.collectors[moid] = c
        return c

    def create_collector(self, s: Session) -> Collector:
        c = Collector(f"session[{s.key}]{uuid.uuid4()}", s)
        s.collectors[c.moid] = c
        return c

    def destroy_collector(self, c: Collector) -> None:
        for f in list(c.filters.values()):
            self.destroy_filter(f)
        c.destroyed = True
        c.session.collectors.pop(c.moid, None)
        c.changed.set()

    def create_filter(self, c: Collector, spec: FilterSpec, raw: JSON, partial: bool) -> Filter:
        f = Filter(f"session[{c.session.key}]{uuid.uuid4()}", c, spec, raw, partial)
        f.objects = self.resolve(spec)
        f.pending = dict.fromkeys(f.objects)
        c.filters[f.moid] = f
        self.filters[f.moid] = f
        c.changed.set()
        return f

    def destroy_filter(self, f: Filter) -> None:
        f.collector.filters.pop(f.moid, None)
        self.filters.pop(f.moid, None)

    def find_filter(self, s: Session, moid: str) -> Filter:
        f = self.filters.get(moid)
        if f is None or f.collector.session is not s:
            raise not_found("PropertyFilter", moid)
        return f

    # -- object set resolution ---------------------------------------------------------------

    def resolve(self, spec: FilterSpec) -> dict[str, tuple[MO, tuple[str, ...]]]:
        """moid -> (object, property paths) for every object the filter spec selects."""
        out: dict[str, tuple[MO, tuple[str, ...]]] = {}
        cache: dict[str, tuple[str, ...] | None] = {}

        def emit(o: MO) -> None:
            if o.moid in out:
                return
            t = _type_of(o)
            if t not in cache:
                cache[t] = spec.paths_for(t)
            paths = cache[t]
            if paths is not None:
                out[o.moid] = (o, paths)

        visited: set[tuple[str, int]] = set()

        def follow(o: MO, sels: tuple[Sel, ...]) -> None:
            for sel in sels:
                ts = sel if sel.type is not None else spec.names.get(sel.name or "")
                if ts is None or ts.type is None or ts.path is None:
                    continue
                if not _isa(_type_of(o), {ts.type}):
                    continue
                key = (o.moid, id(ts))
                if key in visited:
                    continue
                visited.add(key)
                for nxt in self._traverse(o, ts.path):
                    if not ts.skip:
                        emit(nxt)
                    if ts.select:
                        follow(nxt, ts.select)

        for os_ in spec.objects:
            if not os_.skip:
                emit(os_.obj)
            follow(os_.obj, os_.select)
        return out

    def _traverse(self, o: MO, path: str) -> Iterable[MO]:
        if isinstance(o, ContainerView) and path == "view":
            return o.members()
        if isinstance(o, Folder) and path == "childEntity":
            return list(o.children.values())
        if isinstance(o, Datacenter) and path == "vmFolder":
            return (o.vm_folder,)
        if isinstance(o, Datacenter) and path == "hostFolder":
            return (o.host_folder,)
        if isinstance(o, Entity) and path == "parent":
            return (o.parent,) if o.parent is not None else ()
        if isinstance(o, Task) and path == "info.entity":
            return (o.entity,) if o.entity.moid in self.objects else ()
        return ()

    # -- property values ---------------------------------------------------------------------

    def values(self, o: MO, paths: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(prop.get(o) for _, prop in _plan(_type_of(o), paths))

    def prop_set(self, o: MO, paths: tuple[str, ...]) -> list[JSON]:
        """DynamicProperty list, in path order (``paths`` are kept sorted), unset ones left out."""
        out = []
        for p, prop in _plan(_type_of(o), paths):
            raw = prop.get(o)
            if raw is not None:
                out.append({"_typeName": "DynamicProperty", "name": p, "val": _enc(prop, raw)})
        return out

    def read_property(self, o: MO, path: str) -> Any:
        props = PROPS_BY_TYPE.get(_type_of(o), {})
        if path not in props:
            raise invalid_property(path)
        return self.values(o, (path,))[0]

    # -- updates -----------------------------------------------------------------------------

    def collect_updates(self, c: Collector, max_updates: int | None) -> tuple[list[JSON], bool]:
        filter_sets: list[JSON] = []
        count = 0
        truncated = False
        for f in list(c.filters.values()):
            if f.needs_resolve:
                f.needs_resolve = False
                new = self.resolve(f.spec)
                for moid in new:
                    if moid not in f.objects:
                        f.pending[moid] = None
                for moid in f.objects:
                    if moid not in new:
                        f.pending[moid] = None
                f.objects = new
            updates: list[JSON] = []
            for moid in list(f.pending):
                if max_updates is not None and count >= max_updates:
                    truncated = True
                    break
                del f.pending[moid]
                self.stats["objects_evaluated"] += 1
                entry = f.objects.get(moid)
                if entry is None:
                    gone = f.known.pop(moid, None)
                    if gone is not None:
                        updates.append(
                            {"_typeName": "ObjectUpdate", "kind": "leave", "obj": gone[0]}
                        )
                        count += 1
                    continue
                o, paths = entry
                plan = _plan(_type_of(o), paths)
                vals = tuple(prop.get(o) for _, prop in plan)
                prev = f.known.get(moid)
                old = prev[1] if prev is not None else None
                changes: list[JSON] = []
                if old is None:
                    for (p, prop), raw in zip(plan, vals, strict=True):
                        if raw is not None:
                            changes.append(
                                {
                                    "_typeName": "PropertyChange",
                                    "name": p,
                                    "op": "assign",
                                    "val": _enc(prop, raw),
                                }
                            )
                    kind = "enter"
                else:
                    for (p, prop), raw, was in zip(plan, vals, old, strict=True):
                        if raw != was:
                            ch: JSON = {"_typeName": "PropertyChange", "name": p, "op": "assign"}
                            if raw is not None:
                                ch["val"] = _enc(prop, raw)
                            changes.append(ch)
                    kind = "modify"
                ref = prev[0] if prev is not None else o.ref()
                f.known[moid] = (ref, vals)
                if kind == "modify" and not changes:
                    continue
                u: JSON = {"_typeName": "ObjectUpdate", "kind": kind, "obj": ref}
                if changes:
                    u["changeSet"] = changes
                updates.append(u)
                count += 1
            if updates:
                filter_sets.append(
                    {"_typeName": "PropertyFilterUpdate", "filter": f.ref(), "objectSet": updates}
                )
            if truncated:
                break
        return filter_sets, truncated

    def reset_filters(self, c: Collector) -> None:
        for f in c.filters.values():
            f.known.clear()
            f.needs_resolve = False
            f.objects = self.resolve(f.spec)
            f.pending = dict.fromkeys(f.objects)

    # -- tasks -------------------------------------------------------------------------------

    def duration_for(self, vm: VirtualMachine) -> float:
        return vm.task_seconds if vm.task_seconds is not None else self.options.task_seconds

    def accounts_for(self, vm: VirtualMachine) -> list[GuestAccount]:
        if vm.accounts is not None:
            return vm.accounts
        if self.default_accounts is not None:
            return self.default_accounts
        return [GuestAccount(self.options.guest_user, self.options.guest_password, True)]

    def check_guest_login(
        self, vm: VirtualMachine, username: str, password: str, interactive: bool
    ) -> SimFault | None:
        acct = next((a for a in self.accounts_for(vm) if a.username == username), None)
        pw_ok = acct is not None and secrets.compare_digest(
            acct.password.encode(), password.encode()
        )
        if acct is None or not pw_ok:
            return _msg_fault(
                "InvalidGuestLogin",
                "vim.fault.InvalidGuestLogin",
                "Failed to authenticate with the guest operating system using the supplied "
                "credentials.",
            )
        if interactive:
            return _msg_fault(
                "InvalidGuestLogin",
                "vim.fault.InvalidGuestLogin.interactive",
                "An interactive session was requested but no user is logged in to the guest "
                "console.",
            )
        if not acct.permitted:
            return _msg_fault(
                "GuestPermissionDenied",
                "vim.fault.GuestPermissionDenied",
                f"Guest account {username!r} is not permitted to customize the guest network.",
            )
        return None

    def injected(self, vm: VirtualMachine) -> SimFault:
        assert vm.fault is not None
        t = vm.fault.type
        if t == "TaskInProgress":
            blocker = vm.blocker
            if blocker is None or blocker.done:
                self._make_blocker(vm)
                blocker = vm.blocker
            assert blocker is not None
            return _msg_fault(
                "TaskInProgress",
                "vim.fault.TaskInProgress",
                "Another task is already in progress.",
                task=blocker.ref(),
            )
        if t == "InvalidPowerState":
            return SimFault(
                "InvalidPowerState",
                "The attempted operation cannot be performed in the current state (Powered off).",
                requestedState="poweredOn",
                existingState="poweredOff",
            )
        if t == "InvalidState":
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
        if t == "InvalidGuestLogin":
            return _msg_fault(
                "InvalidGuestLogin",
                "vim.fault.InvalidGuestLogin",
                "Failed to authenticate with the guest operating system using the "
                "supplied credentials.",
            )
        if t == "GuestPermissionDenied":
            return _msg_fault(
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

    def precheck(self, vm: VirtualMachine) -> None:
        """Synchronous StartGuestNetwork / AbortCustomization state checks."""
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

    def start_guest_network(
        self, s: Session, vm: VirtualMachine, username: str, password: str, interactive: bool
    ) -> Task:
        busy = vm.running_task
        if busy is not None and not busy.done:
            raise _msg_fault(
                "TaskInProgress",
                "vim.fault.TaskInProgress",
                "Another task is already in progress.",
                task=busy.ref(),
            )
        self.precheck(vm)
        if vm.fault is not None and vm.fault.mode == "sync":
            raise self.injected(vm)
        login_fault = self._guest_login(vm, username, password, interactive)
        t = self._new_task(
            "StartGuestNetwork_Task", CUSTOMIZE_DESC, vm, _user_reason(s), vm.cancelable
        )
        t.duration = self.duration_for(vm)
        vm.running_task = t
        self.stats["tasks_started"] += 1
        fail: SimFault | None = login_fault
        if fail is None and vm.fault is not None and vm.fault.mode == "task":
            fail = self.injected(vm)
        t.aio = asyncio.get_running_loop().create_task(self._run_task(t, fail))
        return t

    def _slot_free(self) -> bool:
        return self.running < self.options.max_running_tasks

    async def _acquire_slot(self, t: Task) -> None:
        """Wait in the server-wide FIFO until a running-task slot is granted to ``t``."""
        if self._slot_free() and not self.queue:
            self.running += 1
            t.slot = True
            return
        t.wait_fut = asyncio.get_running_loop().create_future()
        self.queue.append(t)
        try:
            await t.wait_fut
        finally:
            if t in self.queue:
                self.queue.remove(t)

    def _start_next(self) -> None:
        while self.queue and self._slot_free():
            nxt = self.queue.pop(0)
            self.running += 1
            nxt.slot = True
            if nxt.wait_fut is not None and not nxt.wait_fut.done():
                nxt.wait_fut.set_result(None)

    def _release_slot(self, t: Task) -> None:
        if t.slot:
            t.slot = False
            self.running -= 1
            self._start_next()

    async def _run_task(self, t: Task, fail: SimFault | None) -> None:
        vm = t.entity
        try:
            await self._acquire_slot(t)
            t.state = "running"
            t.start_time = time.time()
            t.progress = 0
            vm.cust_status = "TOOLSDEPLOYPKG_RUNNING"
            vm.cust_start = t.start_time
            vm.cust_end = None
            vm.cust_error = None
            self.touch(t.moid)
            self.touch(vm.moid)
            steps = max(1, min(10, int(t.duration / 0.05)))
            step = t.duration / steps
            stop_at = 100
            if fail is not None:
                early = fail.type_name in ("InvalidGuestLogin", "GuestPermissionDenied")
                stop_at = 10 if early else 30
            dropped_ip = False
            for i in range(1, steps + 1):
                await asyncio.sleep(step)
                pct = i * 100 // steps
                if pct >= stop_at:
                    break
                if vm.hang and pct >= 50:
                    t.progress = 50
                    self.touch(t.moid)
                    await asyncio.Event().wait()  # until cancelled or aborted
                t.progress = pct
                self.touch(t.moid)
                if fail is None and not dropped_ip and pct >= 50 and vm.ip is not None:
                    # the guest network restarts: the old address goes away first
                    vm.ip = None
                    dropped_ip = True
                    self.touch(vm.moid)
            if fail is not None:
                self._finish(t, fail)
            else:
                if vm.acquire_ip is None:
                    vm.acquire_ip = _pool_addr(next(self.ip_seq))
                vm.ip = vm.acquire_ip
                vm.cust_status = "TOOLSDEPLOYPKG_SUCCEEDED"
                self._finish(t, None)
        except asyncio.CancelledError:
            if not t.done:
                if t.cancel_fault is not None:
                    self._finish(t, t.cancel_fault)
                else:
                    self._finish(t, _canceled(), cancelled=True)
            raise
        finally:
            self._release_slot(t)

    def _finish(self, t: Task, fault: SimFault | None, cancelled: bool = False) -> None:
        vm = t.entity
        t.complete_time = time.time()
        t.cancelled = cancelled
        if fault is not None:
            t.state = "error"
            t.error = fault
            if t.method == "StartGuestNetwork_Task":
                vm.cust_status = "TOOLSDEPLOYPKG_FAILED"
                vm.cust_error = fault.faultstring
        else:
            t.state = "success"
        if t.method == "StartGuestNetwork_Task":
            vm.cust_end = t.complete_time
        if vm.running_task is t:
            vm.running_task = None
        asyncio.get_running_loop().call_later(
            self.options.recent_task_seconds, self._task_retired, t
        )
        self.recent_done.append(t)
        while len(self.recent_done) > self.recent_done_max:
            self._task_retired(self.recent_done.popleft())
        self.touch(t.moid)
        self.touch(vm.moid)

    def _new_task(
        self, method: str, description_id: str, vm: VirtualMachine, reason: JSON, cancelable: bool
    ) -> Task:
        """A queued Task on ``vm``, registered and listed in the VM's recentTask."""
        t = Task(
            f"task-{next(self.task_seq)}",
            method,
            description_id,
            vm,
            reason,
            cancelable,
            next(self.event_seq),
        )
        self.objects[t.moid] = t
        vm.recent_tasks.append(t)
        self.touch(vm.moid)
        return t

    def _guest_login(
        self, vm: VirtualMachine, username: str, password: str, interactive: bool
    ) -> SimFault | None:
        """The guest login's fault: raised at once in ``sync`` auth mode, else for the task."""
        fault = self.check_guest_login(vm, username, password, interactive)
        if fault is not None and (vm.auth_mode or self.inventory_auth_mode) == "sync":
            raise fault
        return fault

    def _task_retired(self, t: Task) -> None:
        """A finished task leaves its entity's recentTask (the Task object stays readable):
        ``recent_task_seconds`` after it finished, or earlier when more than ``recent_done_max``
        finished tasks are recent server-wide (vCenter's 10 minutes / last 200 tasks)."""
        recent = t.entity.recent_tasks
        if t in recent:
            recent.remove(t)
            self.touch(t.entity.moid)

    def cancel_task(self, t: Task) -> None:
        if t.done:
            raise SimFault("InvalidState", "The task has already completed.")
        if not t.cancelable:
            raise SimFault("InvalidState", "The task cannot be cancelled.")
        if t.aio is not None and not t.aio.done():
            t.aio.cancel()
        else:
            self._finish(t, _canceled(), cancelled=True)

    def abort_customization(
        self, s: Session, vm: VirtualMachine, username: str, password: str, interactive: bool
    ) -> Task:
        self.precheck(vm)
        login_fault = self._guest_login(vm, username, password, interactive)
        t = self._new_task("AbortCustomization_Task", ABORT_DESC, vm, _user_reason(s), False)
        t.aio = asyncio.get_running_loop().create_task(self._run_abort(t, login_fault))
        return t

    async def _run_abort(self, t: Task, fail: SimFault | None) -> None:
        vm = t.entity
        t.state = "running"
        t.start_time = time.time()
        t.progress = 0
        self.touch(t.moid)
        await asyncio.sleep(min(0.5, self.duration_for(vm) / 4))
        if fail is not None:
            self._finish(t, fail)
            return
        aborted = SimFault(
            "CustomizationFault",
            "The guest customization was aborted.",
            faultMessage=[
                localizable(
                    "vim.fault.CustomizationFault.aborted",
                    "The guest customization was aborted by AbortCustomization_Task.",
                )
            ],
        )
        victims = [x for x in (vm.running_task, vm.blocker) if x is not None and not x.done]
        for v in victims:
            if v.aio is not None and not v.aio.done():
                v.cancel_fault = aborted
                v.aio.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await v.aio
            else:
                self._finish(v, aborted)
        vm.blocker = None
        if vm.fault is not None and vm.fault.type == "TaskInProgress":
            vm.fault = None  # the lock is gone
        vm.cust_status = "TOOLSDEPLOYPKG_IDLE"
        vm.cust_error = None
        self._finish(t, None)

    def shutdown(self) -> None:
        self.closing = True
        for s in self.sessions.values():
            for c in s.collectors.values():
                c.changed.set()

    def task_summaries(self) -> list[dict[str, Any]]:
        out = []
        for o in self.objects.values():
            if isinstance(o, Task):
                out.append(
                    {
                        "task": o.moid,
                        "method": o.method,
                        "vm": o.entity.name,
                        "vm_moid": o.entity.moid,
                        "state": o.state,
                        "progress": o.progress,
                        "error": o.error.type_name if o.error else None,
                        "cancelled": o.cancelled,
                        "queue_time": o.queue_time,
                        "start_time": o.start_time,
                        "complete_time": o.complete_time,
                    }
                )
        return out

    def live_counts(self) -> dict[str, int]:
        self.sweep()
        return {
            "sessions": len(self.sessions),
            "views": sum(len(s.views) for s in self.sessions.values()),
            "filters": len(self.filters),
            "collectors": sum(
                1 for s in self.sessions.values() for c in s.collectors if c != "propertyCollector"
            ),
            "retrievals": sum(len(s.retrievals) for s in self.sessions.values()),
            "pending_waits": sum(
                c.waiting for s in self.sessions.values() for c in s.collectors.values()
            ),
            "running_tasks": self.running,
            "queued_tasks": len(self.queue),
        }


@functools.cache
def _plan(type_: str, paths: tuple[str, ...]) -> tuple[tuple[str, Prop], ...]:
    """(path, Prop) pairs in path order: PropertyChange/DynamicProperty lists come sorted."""
    props = PROPS_BY_TYPE[type_]
    return tuple((p, props[p]) for p in sorted(paths))


def _type_of(o: MO) -> str:
    return o.ref()["type"] if isinstance(o, Singleton) else o.type


def _user_reason(s: Session) -> JSON:
    return {"_typeName": "TaskReasonUser", "userName": s.user_name}


def _canceled() -> SimFault:
    return _msg_fault(
        "RequestCanceled", "vim.fault.RequestCanceled", "The task was canceled by a user."
    )


def _power_word(p: str) -> str:
    return {"poweredOff": "Powered off", "suspended": "Suspended"}.get(p, p)


def _pool_addr(n: int) -> str:
    return f"10.200.{(n // 250) % 250}.{n % 250 + 2}"
