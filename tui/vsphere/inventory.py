"""Inventory: ContainerView + paged RetrievePropertiesEx, folder paths, VM values.

``list_vms`` costs ``ceil((N + folders) / max_objects) + 2`` requests for the whole inventory
(one view over VirtualMachine, Folder and Datacenter, its pages, DestroyView) and three more
when a root path is given (a Folder/Datacenter retrieval to resolve the path).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from tui.vsphere.errors import BadResponse, InventoryPathError
from tui.vsphere.gcpause import gc_paused
from tui.vsphere.models import VM
from tui.vsphere.property import props_of, retrieve_pages
from tui.vsphere.services import ServiceRefs
from tui.vsphere.transport import Transport
from tui.vsphere.view import create_view, destroy_view_quietly, view_spec

# VM property path -> VM field. Exactly what the table shows, nothing more.
VM_PROPERTIES: dict[str, str] = {
    "name": "name",
    "parent": "folder",
    "runtime.powerState": "power_state",
    "runtime.connectionState": "connection_state",
    "guest.toolsRunningStatus": "tools_running_status",
    "guest.guestOperationsReady": "guest_operations_ready",
    "guest.ipAddress": "ip_address",
    "guest.hostName": "host_name",
    "summary.config.instanceUuid": "instance_uuid",
    "guest.net": "ip_addresses",  # and mac_addresses: both come from the NIC list
    "config.annotation": "annotation",
}
# VM property path → every VM field its value drives (a live update names the fields it changed).
FIELDS_OF_PATH: dict[str, frozenset[str]] = {
    **{p: frozenset({f}) for p, f in VM_PROPERTIES.items()},
    "name": frozenset({"name", "path"}),
    "parent": frozenset({"folder", "path"}),
    "guest.ipAddress": frozenset({"ip_address", "ip_addresses"}),
    "guest.net": frozenset({"ip_addresses", "mac_addresses"}),
}
CONTAINER_TYPES = ("Folder", "Datacenter")
CONTAINER_PROPERTIES = ("name", "parent")
DEFAULT_MAX_OBJECTS = 1000
_SLICE = 200  # objects parsed between two turns of the event loop


@dataclass(slots=True)
class FolderMap:
    """Folder/Datacenter moid → (name, parent moid); paths like ``/DC/vm/team-a``."""

    root: str
    nodes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    _paths: dict[str, str] = field(default_factory=dict)

    def set(self, moid: str, name: str | None, parent: str | None, kind: str = "Folder") -> None:
        self.kinds[moid] = kind
        old = self.nodes.get(moid)
        new = (name if name is not None else (old[0] if old else moid), parent)
        if old != new:
            self.nodes[moid] = new
            self._paths.clear()

    def remove(self, moid: str) -> None:
        self.kinds.pop(moid, None)
        if self.nodes.pop(moid, None) is not None:
            self._paths.clear()

    def path(self, moid: str | None) -> str:
        """Inventory path of a container; the root folder is ``""``; unknown → ``""``."""
        if moid is None or moid == self.root:
            return ""
        cached = self._paths.get(moid)
        if cached is not None:
            return cached
        parts: list[str] = []
        cur: str | None = moid
        seen: set[str] = set()
        while cur is not None and cur != self.root and cur not in seen:
            seen.add(cur)
            node = self.nodes.get(cur)
            if node is None:
                break
            parts.append(node[0])
            cur = node[1]
        p = "/" + "/".join(reversed(parts)) if parts else ""
        self._paths[moid] = p
        return p

    def find(self, path: str) -> str:
        """The moid of the container at ``path`` (``/`` is the root folder)."""
        norm = normalize_path(path)
        if norm == "":
            return self.root
        for moid in self.nodes:
            if self.path(moid) == norm:
                return moid
        raise InventoryPathError(f"inventory path not found: {path} (no such folder or datacenter)")


def normalize_path(path: str) -> str:
    p = path.strip()
    if not p.startswith("/"):
        raise InventoryPathError(f"inventory path must start with '/': {path!r}")
    parts = [s for s in p.split("/") if s]
    return "/" + "/".join(parts) if parts else ""


def inventory_prop_sets() -> list[tuple[str, Iterable[str]]]:
    return [
        ("VirtualMachine", VM_PROPERTIES),
        ("Folder", CONTAINER_PROPERTIES),
        ("Datacenter", CONTAINER_PROPERTIES),
    ]


# Position of each VM property in a record (a list, cheaper than a dict per VM).
_VM_INDEX: dict[str, int] = {path: i for i, path in enumerate(VM_PROPERTIES)}
_N_PROPS = len(VM_PROPERTIES)
(
    _I_NAME,
    _I_PARENT,
    _I_POWER,
    _I_CONN,
    _I_TOOLS,
    _I_READY,
    _I_IP,
    _I_HOST,
    _I_UUID,
    _I_NET,
    _I_NOTE,
) = range(_N_PROPS)

# Listing 50,000 VMs builds 50,000 frozen dataclasses; the generated __init__ of a frozen
# dataclass pays object.__setattr__ per field. The slot descriptors set the same slots directly
# (about twice as fast); the result is an ordinary, equal VM (a test checks this).
_new_vm = object.__new__
(
    _set_moid,
    _set_name,
    _set_path,
    _set_folder,
    _set_power,
    _set_conn,
    _set_tools,
    _set_ready,
    _set_ip,
    _set_host,
    _set_uuid,
    _set_ips,
    _set_macs,
    _set_note,
) = (getattr(VM, f).__set__ for f in VM.__dataclass_fields__)


def vm_record(obj_content: Mapping[str, Any]) -> tuple[Any, ...]:
    """A VirtualMachine ObjectContent → its property values in VM_PROPERTIES order.

    A tuple of plain values: the garbage collector stops tracking such tuples, so holding
    50,000 of them until the page loop ends does not make each collection slower.
    """
    rec: list[Any] = [None] * _N_PROPS
    index = _VM_INDEX
    for p in obj_content.get("propSet") or ():
        i = index.get(p["name"])
        if i is None:
            continue
        v = p.get("val")
        if type(v) is dict:
            v = v["_value"] if "_value" in v else v.get("value")  # boxed value, or MOR → moid
        rec[i] = v
    return tuple(rec)


def build_vm(moid: str, rec: Sequence[Any], folders: FolderMap, tag: str = "") -> VM:
    """``tag`` is appended to the VM's moid (``VM.moid`` is ``moid + tag``): see
    ``Client.watch_vms(moid_suffix=…)``."""
    name = rec[_I_NAME]
    if name is None:
        name = moid
    folder = folders.path(rec[_I_PARENT])
    ready = rec[_I_READY]
    vm = _new_vm(VM)
    _set_moid(vm, moid + tag)
    _set_name(vm, name)
    _set_path(vm, f"{folder}/{name}")
    _set_folder(vm, folder)
    _set_power(vm, rec[_I_POWER])
    _set_conn(vm, rec[_I_CONN])
    _set_tools(vm, rec[_I_TOOLS])
    _set_ready(vm, ready if type(ready) is bool else None)
    _set_ip(vm, rec[_I_IP])
    _set_host(vm, rec[_I_HOST])
    _set_uuid(vm, rec[_I_UUID])
    ips, macs = nic_addresses(rec[_I_IP], rec[_I_NET])
    _set_ips(vm, ips)
    _set_macs(vm, macs)
    _set_note(vm, rec[_I_NOTE] or None)
    return vm


def nic_addresses(primary: str | None, nics: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """guest.net (a GuestNicInfo list) → (every IP address, primary first; every MAC), in order."""
    ips: list[str] = [primary] if primary else []
    macs: list[str] = []
    if type(nics) is dict:  # still boxed (ArrayOfGuestNicInfo)
        nics = nics.get("_value")
    for nic in nics or ():
        if type(nic) is not dict:
            continue
        mac = str(nic.get("macAddress") or "").lower()
        if mac and mac not in macs:
            macs.append(mac)
        for ip in nic.get("ipAddress") or ():
            if ip not in ips:
                ips.append(ip)
    return tuple(ips), tuple(macs)


def vm_of(moid: str, d: Mapping[str, Any], folders: FolderMap, tag: str = "") -> VM:
    """A VM from a {property path: value} dict (the live-update state)."""
    return build_vm(moid, [d.get(p) for p in VM_PROPERTIES], folders, tag)


async def load_folders(t: Transport, refs: ServiceRefs, max_objects: int, scope: int) -> FolderMap:
    """One retrieval of every Folder/Datacenter name + parent (for paths and root resolution)."""
    folders = FolderMap(root=refs.root_folder)
    view = await create_view(
        t, refs.view_manager, refs.root_folder, CONTAINER_TYPES, "Folder", scope
    )

    async def parse(page: list[dict[str, Any]]) -> None:
        for oc in page:
            _add_container(folders, oc)

    prop_sets = [(ct, CONTAINER_PROPERTIES) for ct in CONTAINER_TYPES]
    await _retrieve_view(t, refs, view, prop_sets, max_objects, scope, parse)
    return folders


def _add_container(folders: FolderMap, oc: Mapping[str, Any]) -> None:
    d = props_of(oc)
    obj = oc["obj"]
    folders.set(obj["value"], d.get("name"), d.get("parent"), obj["type"])


async def _retrieve_view(
    t: Transport,
    refs: ServiceRefs,
    view: str,
    prop_sets: Iterable[tuple[str, Iterable[str]]],
    max_objects: int,
    scope: int,
    parse: Callable[[list[dict[str, Any]]], Awaitable[None]],
) -> None:
    """Hand every page of a retrieval over ``view`` to ``parse`` (a malformed page is
    BadResponse), then destroy the view."""
    try:
        spec = view_spec(view, prop_sets)
        pages = retrieve_pages(t, refs.property_collector, spec, max_objects, scope)
        async with aclosing(pages):
            async for page in pages:
                try:
                    await parse(page)
                except (KeyError, TypeError, AttributeError):
                    raise BadResponse(
                        f"malformed RetrievePropertiesEx answer from {t.host}"
                    ) from None
    finally:
        await destroy_view_quietly(t, view)


def container_type(folders: FolderMap, moid: str) -> str:
    return folders.kinds.get(moid, "Folder")


async def resolve_root(
    t: Transport, refs: ServiceRefs, root: str | None, max_objects: int, scope: int
) -> tuple[str, str, FolderMap]:
    """(container moid, container type, folder map prefilled with its ancestors)."""
    if root is None or normalize_path(root) == "":
        return refs.root_folder, "Folder", FolderMap(root=refs.root_folder)
    folders = await load_folders(t, refs, max_objects, scope)
    moid = folders.find(root)
    return moid, container_type(folders, moid), folders


async def create_inventory_view(
    t: Transport, refs: ServiceRefs, container: str, ctype: str, scope: int
) -> str:
    """A recursive view over the VMs, Folders and Datacenters under ``container``."""
    types = ("VirtualMachine", *CONTAINER_TYPES)
    return await create_view(t, refs.view_manager, container, types, ctype, scope)


async def list_vms(
    t: Transport,
    refs: ServiceRefs,
    root: str | None = None,
    max_objects: int = DEFAULT_MAX_OBJECTS,
) -> list[VM]:
    scope = t.session_gen  # a renewed session mid-way raises SessionRenewed: list again
    container, ctype, folders = await resolve_root(t, refs, root, max_objects, scope)
    view = await create_inventory_view(t, refs, container, ctype, scope)
    # Records (tuples of plain values, which the garbage collector stops tracking) while the
    # pages come in; VMs once all folders are known. Building 50,000 dataclasses during the
    # paging would make every full GC pass walk them again and again.
    out: list[tuple[str, tuple[Any, ...]]] = []

    async def parse(page: list[dict[str, Any]]) -> None:
        for i, oc in enumerate(page):
            if i % _SLICE == _SLICE - 1:
                # give the request for the next page (already under way) a turn, so it
                # reaches the server while this page is being parsed
                await asyncio.sleep(0)
            obj = oc["obj"]
            if obj["type"] == "VirtualMachine":
                out.append((obj["value"], vm_record(oc)))
            else:
                _add_container(folders, oc)

    await _retrieve_view(t, refs, view, inventory_prop_sets(), max_objects, scope, parse)
    with gc_paused():  # the VMs built here are all kept: a collection would only walk them
        return [build_vm(moid, rec, folders) for moid, rec in out]
