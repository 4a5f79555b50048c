"""The inventory as managed objects: every object by moid, VMs by name, the folder tree.

Built from an ``Inventory`` (``tui.sim.inventory``: the YAML or generated description). A VM
added later is an *enter*: the ``enter_watchers`` get it and extend what they hold (views their
members, property filters their object sets) without walking the inventory, so a clone arriving
in a 50,000-VM inventory costs about the same as in a small one. A VM removed bumps
``structure_version`` and tells the ``watchers`` (filters re-resolve, views re-walk).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.sim.clock import Clock
from tui.sim.inventory import MAC_OF_PARENT
from tui.sim.objects import MO, Datacenter, Entity, Folder, VirtualMachine

if TYPE_CHECKING:
    from tui.sim.inventory import FolderSpec, Inventory, VMSpec


class Registry:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.objects: dict[str, MO] = {}
        self.vms_by_name: dict[str, VirtualMachine] = {}
        self.structure_version = 0
        # called after a VM was removed (a structural change)
        self.watchers: list[Callable[[], None]] = []
        # called with every VM added after the build
        self.enter_watchers: list[Callable[[VirtualMachine], None]] = []
        self.entity_seq = itertools.count(1)
        self._parent_macs: list[tuple[VirtualMachine, VMSpec]] = []  # mac: parent, at build
        self.root = Folder("group-d1", "Datacenters", None, ["Folder", "Datacenter"])
        self.objects[self.root.moid] = self.root

    def _new_moid(self, prefix: str) -> str:
        return f"{prefix}{next(self.entity_seq)}"

    def build(self, inv: Inventory) -> None:
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
            self._add_folder(dc_spec.vm_folder, dc.vm_folder)
        for vm, spec in self._parent_macs:
            parent = self.vms_by_name.get(spec.clone_parent or "")
            vm.mac = parent.mac if parent is not None else vm.own_mac
        self._parent_macs.clear()

    def _add_folder(self, spec: FolderSpec, parent: Folder) -> None:
        for sub in spec.folders:
            f = Folder(self._new_moid("group-v"), sub.name, parent, ["Folder", "VirtualMachine"])
            parent.children[f.moid] = f
            self.objects[f.moid] = f
            self._add_folder(sub, f)
        for vs in spec.vms:
            self._add_vm(vs, parent)

    def _add_vm(self, vs: VMSpec, parent: Folder) -> VirtualMachine:
        vm = VirtualMachine(self._new_moid("vm-"), vs.name, parent)
        vm.power = vs.power
        vm.tools = vs.tools
        vm.connection = vs.connection
        vm.ip = vs.ip
        vm.acquire_ip = vs.acquire_ip
        vm.clone_parent = vs.clone_parent
        vm.keep_ip = vs.keep_ip
        if vs.mac == MAC_OF_PARENT:
            self._parent_macs.append((vm, vs))
        elif vs.mac is not None:
            vm.mac = vs.mac
        vm.accounts = vs.guest_accounts
        vm.fault = vs.fault
        vm.auth_mode = vs.auth_mode
        vm.task_seconds = vs.task_seconds
        vm.cancelable = vs.cancelable
        vm.hang = vs.hang
        vm.guest_id = vs.guest_id
        vm.guest_full_name = vs.guest_full_name
        vm.host_name = vs.host_name
        vm.boot_time = self.clock.time() - 3600 if vm.power == "poweredOn" else None
        parent.children[vm.moid] = vm
        self.objects[vm.moid] = vm
        self.vms_by_name[vm.name] = vm
        return vm

    def structure_changed(self) -> None:
        self.structure_version += 1
        for watch in self.watchers:
            watch()

    def find_vm(self, ref: str) -> VirtualMachine:
        obj = self.objects.get(ref)
        if isinstance(obj, VirtualMachine):
            return obj
        vm = self.vms_by_name.get(ref)
        if vm is None:
            raise KeyError(f"no VM named or with moid {ref!r}")
        return vm

    def add_vm(self, folder: str | Folder, spec: VMSpec) -> VirtualMachine:
        """A VM enters the inventory (``folder``: an inventory path or the Folder itself)."""
        if not isinstance(folder, Folder):
            folder = self.folder_by_path(folder)
        if spec.name in self.vms_by_name:
            raise ValueError(f"a VM named {spec.name!r} already exists")
        if spec.mac == MAC_OF_PARENT:
            raise ValueError("mac 'parent' is for inventories; give the MAC itself")
        vm = self._add_vm(spec, folder)
        for watch in self.enter_watchers:
            watch(vm)
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
