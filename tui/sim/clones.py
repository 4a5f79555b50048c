"""Instant clones appearing over time (``clone_rate``) or one at a time (``SimServer.clone_vm``).

A clone is named ``<parent>-ic-<n>`` (``n`` counts per parent and skips names in use) and enters
the inventory poweredOn, in its parent's folder (or ``clone_folder``), with the parent's
identity: its guest address and, in ``guest.net``, its MAC (the collision an instant clone
wakes up with). Its VMware Tools come up ``clone_tools_seconds`` later and its guest operations
``guest_ops_lag`` after that (``guestops.py``). A successful StartGuestNetwork gives it an
address of its own and its own MAC (``tasks.py``), unless it is ``keep_ip``. Its annotation
says ``instant clone of <parent>``; its moid, instanceUuid and own MAC are its own.

A clone is an *enter* for the views and property filters (``Registry.add_vm``): no inventory
walk, so 2,000 clones into 50,000 VMs cost what they cost into 50.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from typing import Any, Protocol

from tui.sim.clock import Clock
from tui.sim.errors import SimError
from tui.sim.guestops import GuestOps
from tui.sim.inventory import Inventory, VMSpec
from tui.sim.objects import Folder, VirtualMachine
from tui.sim.options import SimOptions
from tui.sim.registry import Registry

log = logging.getLogger("tui.sim.events")


class _VMLike(Protocol):
    """What choosing parents reads: an inventory ``VMSpec`` or a live ``VirtualMachine``."""

    @property
    def name(self) -> str: ...
    @property
    def power(self) -> str: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def clone_parent(self) -> str | None: ...


def parent_names(vms: Iterable[_VMLike], pattern: str | None) -> list[str]:
    """The VMs clones come from, in inventory order: those matching ``pattern`` (a name or
    glob), else the powered-on parents with an address (named as some VM's ``parent`` or
    called ``*-golden``), else every powered-on VM with an address."""
    vms = list(vms)
    if pattern is not None:
        return [v.name for v in vms if fnmatchcase(v.name, pattern)]
    named = {v.clone_parent for v in vms if v.clone_parent}
    up = [v for v in vms if v.power == "poweredOn" and v.ip is not None]
    golden = [v.name for v in up if v.name in named or v.name.endswith("-golden")]
    return golden or [v.name for v in up]


def check_clone_options(options: SimOptions, inventory: Inventory) -> None:
    """SimError (one line) when ``clone_parent`` / ``clone_rate`` / ``clone_folder`` cannot work
    with this inventory."""
    if options.clone_rate > 0 or options.clone_parent is not None:
        names = parent_names((v for _, v in inventory.iter_vms()), options.clone_parent)
        if not names and options.clone_parent is not None:
            raise SimError(f"clone_parent {options.clone_parent!r} matches no VM")
        if not names:
            raise SimError(
                "clone_rate: no VM to clone from (no powered-on VM with an address); "
                "name one with clone_parent"
            )
    if options.clone_folder is not None and not _has_folder(inventory, options.clone_folder):
        raise SimError(
            f"clone_folder: no folder {options.clone_folder!r} in the inventory "
            "(a path like /DC1/vm/pool)"
        )


def _has_folder(inventory: Inventory, path: str) -> bool:
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 2 or parts[1] != "vm":
        return False
    dc = next((d for d in inventory.datacenters if d.name == parts[0]), None)
    folder = dc.vm_folder if dc is not None else None
    for name in parts[2:]:
        if folder is None:
            return False
        folder = next((f for f in folder.folders if f.name == name), None)
    return folder is not None


class Clones:
    def __init__(
        self,
        options: SimOptions,
        registry: Registry,
        guestops: GuestOps,
        clock: Clock,
        add_vm: Callable[[Folder, VMSpec], VirtualMachine],
        stats: dict[str, Any],
    ) -> None:
        self.options = options
        self.registry = registry
        self.guestops = guestops
        self.clock = clock
        self.add_vm = add_vm
        self.stats = stats
        self.seq: dict[str, int] = {}  # parent name -> last clone number
        self.made_by_rate = 0

    def clone(
        self,
        parent: VirtualMachine,
        name: str | None = None,
        folder: Folder | None = None,
        at: float | None = None,
    ) -> VirtualMachine:
        """One instant clone of ``parent`` (``at``: the monotonic time it appears, default
        now). ValueError when ``name`` is taken."""
        if folder is None:
            folder = self.default_folder(parent)
        spec = VMSpec(
            name or self._name_for(parent),
            power="poweredOn",
            tools="guestToolsNotRunning",
            ip=parent.ip,
            clone_parent=parent.name,
            mac=parent.mac,
            guest_accounts=parent.accounts,
            auth_mode=parent.auth_mode,
            guest_id=parent.guest_id,
            guest_full_name=parent.guest_full_name,
        )
        vm = self.add_vm(folder, spec)
        vm.boot_time = self.clock.time()
        self.stats["clones"] += 1
        start = self.clock.monotonic() if at is None else at
        self.guestops.start_tools_at(vm, start + self.options.clone_tools_seconds)
        log.info("clone %s of %s (%s) appeared", vm.name, parent.name, parent.ip or "no address")
        return vm

    def default_folder(self, parent: VirtualMachine) -> Folder:
        """``clone_folder``, else the parent's folder."""
        if self.options.clone_folder is not None:
            return self.registry.folder_by_path(self.options.clone_folder)
        assert isinstance(parent.parent, Folder)
        return parent.parent

    def _name_for(self, parent: VirtualMachine) -> str:
        n = self.seq.get(parent.name, 0) + 1
        while f"{parent.name}-ic-{n}" in self.registry.vms_by_name:
            n += 1
        self.seq[parent.name] = n
        return f"{parent.name}-ic-{n}"

    async def run(self) -> None:
        """Clone at ``clone_rate`` per minute on the clock, taking the parents in turn, until
        ``clone_limit`` clones were made (0: forever). Each clone appears at its own deadline,
        so a ManualClock advanced by a minute makes a minute's clones at their times."""
        rate, limit = self.options.clone_rate, self.options.clone_limit
        if rate <= 0:
            return
        vms = self.registry.vms_by_name
        parents = [vms[n] for n in parent_names(vms.values(), self.options.clone_parent)]
        folder = (
            self.registry.folder_by_path(self.options.clone_folder)
            if self.options.clone_folder is not None
            else None
        )
        interval = 60.0 / rate
        start = self.clock.monotonic()
        while parents and (limit == 0 or self.made_by_rate < limit):
            due = start + (self.made_by_rate + 1) * interval
            await self.clock.sleep_until(due)
            parent = parents[self.made_by_rate % len(parents)]
            if parent.moid not in self.registry.objects:
                parents.remove(parent)  # removed meanwhile: the next parent takes its turn
                continue
            self.clone(parent, folder=folder, at=due)
            self.made_by_rate += 1
