"""The simulator's managed objects: entities (folders, datacenters, VMs), tasks, views.

Plain data with the few derived values every concern needs (``Task.info``, a view's members);
what a property path reads is in ``properties``, how tasks run is in ``tasks``. ``isa`` /
``type_of`` answer the managed-type questions (subtypes: a VM is a ManagedEntity).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tui.sim.inventory import GuestAccount, InjectedFault
from tui.sim.wire import JSON, fmt_time, mor

if TYPE_CHECKING:
    from tui.sim.clock import Timer
    from tui.sim.faults import SimFault
    from tui.sim.registry import Registry
    from tui.sim.sessions import Session


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
        # finished ones (see Tasks.retire), oldest first
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
        "keep_ip",
        "lose_reply",
        "mac",
        "ops_ready",
        "ops_timer",
        "own_mac",
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
        # the NIC's own MAC; ``mac`` is what guest.net shows (a fresh instant clone: its
        # parent's, until StartGuestNetwork restarts its network)
        self.own_mac = own_mac(moid)
        self.mac = self.own_mac
        self.keep_ip = False  # StartGuestNetwork "succeeds" but address and MAC stay
        # guest.guestOperationsReady: lags the tools (re)starting (see guestops.py)
        self.ops_ready = True
        self.ops_timer: Timer | None = None
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

    @property
    def guest_ops_ready(self) -> bool:
        return self.tools_running and self.ops_ready


def own_mac(moid: str) -> str:
    """A VM's own MAC in VMware's static range 00:50:56:00:00:00-3f:ff:ff: from the number of
    its moid ``vm-N`` (unique up to 4 M entities), else from a hash of the moid."""
    tail = moid.rpartition("-")[2]
    n = int(tail) if tail.isdigit() and int(tail) < 1 << 22 else None
    if n is None:
        n = int(hashlib.sha1(moid.encode()).hexdigest()[:6], 16) & 0x3FFFFF
    return f"00:50:56:{n >> 16:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}"


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
        queue_time: float,
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
        self.queue_time = queue_time
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
        "registry",
        "session",
        "types",
    )

    def __init__(
        self,
        moid: str,
        registry: Registry,
        session: Session,
        container: Entity,
        types: list[str],
        recursive: bool,
    ) -> None:
        super().__init__(moid)
        self.registry = registry
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
        registry = self.registry
        if self._cache_version != registry.structure_version:
            self._cache = list(self._walk())
            self._cache_version = registry.structure_version
        return self._cache

    def covers(self, vm: VirtualMachine) -> bool:
        """Whether ``vm`` is (or would be) one of the members, without walking the container."""
        if self.destroyed or (self.types and not isa(vm.type, set(self.types))):
            return False
        if not self.recursive:
            return vm.parent is self.container
        cur = vm.parent
        while cur is not None:
            if cur is self.container:
                return True
            cur = cur.parent
        return False

    def entered(self, vm: VirtualMachine) -> bool:
        """A VM entered the inventory: add it to the cached members if it is one (no re-walk).
        Whether it is a member."""
        if not self.covers(vm):
            return False
        if self._cache_version == self.registry.structure_version:
            self._cache.append(vm)
        return True

    def _walk(self) -> Iterable[Entity]:
        want = set(self.types)
        for child in children(self.container):
            if not want or isa(child.type, want):
                yield child
            if self.recursive:
                yield from self._walk_deep(child, want)

    def _walk_deep(self, e: Entity, want: set[str]) -> Iterable[Entity]:
        for child in children(e):
            if not want or isa(child.type, want):
                yield child
            yield from self._walk_deep(child, want)


def children(e: Entity) -> Iterable[Entity]:
    if isinstance(e, Folder):
        return e.children.values()
    if isinstance(e, Datacenter):
        return (e.vm_folder, e.host_folder)
    return ()


SUPERTYPES: dict[str, tuple[str, ...]] = {
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
        *(t for ts in SUPERTYPES.values() for t in ts),
        "ServiceInstance",
        "SessionManager",
        "ViewManager",
        "VirtualMachineGuestCustomizationManager",
    }
)


def isa(type_: str, want: set[str] | frozenset[str]) -> bool:
    return any(t in want for t in SUPERTYPES.get(type_, (type_,)))


def type_of(o: MO) -> str:
    return o.ref()["type"] if isinstance(o, Singleton) else o.type
