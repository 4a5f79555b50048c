"""Generated inventories (``--vms N --seed S``): realistic, mixed and deterministic per seed."""

from __future__ import annotations

import ipaddress
import random

from tui.sim.inventory import (
    FAULT_MODES,
    INJECTABLE_FAULTS,
    DatacenterSpec,
    FolderSpec,
    InjectedFault,
    Inventory,
    InventoryError,
    VMSpec,
)

_TEAMS = (
    "payments",
    "search",
    "checkout",
    "identity",
    "data",
    "mobile",
    "platform",
    "ml",
    "billing",
    "growth",
    "infra",
    "security",
    "support",
    "media",
    "ads",
    "maps",
)
_ROLES = ("web", "api", "db", "cache", "worker", "queue", "proxy", "batch")
_ENVS = ("prod", "staging", "dev")
_OS = (
    ("ubuntu64Guest", "Ubuntu Linux (64-bit)"),
    ("rhel9_64Guest", "Red Hat Enterprise Linux 9 (64-bit)"),
    ("debian12_64Guest", "Debian GNU/Linux 12 (64-bit)"),
    ("sles15_64Guest", "SUSE Linux Enterprise 15 (64-bit)"),
)


def generate_inventory(vms: int, seed: int = 1) -> Inventory:
    """A realistic mixed inventory of ``vms`` VMs, deterministic for a given seed.

    Layout: one datacenter per 20,000 VMs (``DC1``, ``DC2``…), one folder per team with ``prod`` /
    ``staging`` / ``dev`` sub-folders. Each folder holds a few instant-clone parents
    (``<team>-<role>-golden``, powered off like real templates-in-waiting) and their clones
    ``<team>-<role>-NNNN`` that still carry the parent's IP address (the identity collision
    StartGuestNetwork exists to fix). About 10 % of clones are powered off, 5 % have VMware Tools
    not running, and every 200th VM (plus a dozen among the first ~40) gets an injected fault,
    cycling through all six faults in both modes. The 50th, 150th, 250th … VM (a clone without a
    fault) is ``keep_ip``: its StartGuestNetwork succeeds but it keeps the parent's address.
    Every VM has its own MAC. Guest accounts come from the server-wide default.
    """
    if vms < 0:
        raise InventoryError(f"--vms must be 0 or more, got {vms}")
    dcs, buckets = _layout(vms)
    gen = _Generator(random.Random(seed), vms)
    bucket_idx = 0
    while gen.created < vms:
        team, bucket = buckets[bucket_idx % len(buckets)]
        bucket_idx += 1
        gen.batch(f"{team}-{bucket.name}", bucket_idx, bucket)
    return Inventory(dcs, None, "task", f"<generated --vms {vms} --seed {seed}>")


def _layout(vms: int) -> tuple[list[DatacenterSpec], list[tuple[str, FolderSpec]]]:
    """The datacenters and the (team, environment folder) buckets that VMs go to."""
    n_dc = max(1, -(-vms // 20000))
    dcs = [DatacenterSpec(f"DC{i + 1}", FolderSpec("vm")) for i in range(n_dc)]
    n_teams = max(1, min(len(_TEAMS) * 4, vms // 250 or 1))
    team_names = [
        _TEAMS[i % len(_TEAMS)] + ("" if i < len(_TEAMS) else f"-{i // len(_TEAMS) + 1}")
        for i in range(n_teams)
    ]
    buckets: list[tuple[str, FolderSpec]] = []
    for i, team in enumerate(team_names):
        tf = FolderSpec(team)
        for env in _ENVS:
            ef = FolderSpec(env)
            tf.folders.append(ef)
            buckets.append((team, ef))
        dcs[i % n_dc].vm_folder.folders.append(tf)
    return dcs, buckets


class _Generator:
    """Makes the VMs batch by batch: an instant-clone parent and its clones."""

    FAULT_EVERY = 200
    KEEP_IP_EVERY = 100  # the 50th, 150th … VM, when a clone without a fault

    def __init__(self, rng: random.Random, vms: int) -> None:
        self.rng = rng
        self.vms = vms
        self.created = 0
        self.faults = 0
        self.net_counter = 0

    def _next_addr(self) -> str:
        addr = _addr(self.net_counter)
        self.net_counter += 1
        return addr

    def batch(self, prefix: str, index: int, bucket: FolderSpec) -> None:
        rng = self.rng
        role = _ROLES[rng.randrange(len(_ROLES))]
        base = f"{prefix}-{role}-{index:04d}"
        guest_id, guest_full = _OS[rng.randrange(len(_OS))]
        parent_ip = self._next_addr()
        parent = VMSpec(
            f"{base}-golden",
            power="poweredOff" if rng.random() < 0.7 else "poweredOn",
            ip=parent_ip,
            guest_id=guest_id,
            guest_full_name=guest_full,
            acquire_ip=self._next_addr(),
        )
        if parent.power == "poweredOff":
            parent.ip = None
            parent.tools = "guestToolsNotRunning"
        bucket.vms.append(parent)
        self.created += 1
        for c in range(rng.randint(5, 40)):
            if self.created >= self.vms:
                break
            vm = VMSpec(
                f"{base}-ic-{c + 1:03d}",
                clone_parent=parent.name,
                ip=parent_ip,
                acquire_ip=self._next_addr(),
                guest_id=guest_id,
                guest_full_name=guest_full,
            )
            self._vary(vm)
            if vm.fault is None and self.created % self.KEEP_IP_EVERY == self.KEEP_IP_EVERY // 2:
                # its StartGuestNetwork "succeeds" but it keeps the parent's address
                vm.power, vm.tools, vm.ip, vm.keep_ip = (
                    "poweredOn",
                    "guestToolsRunning",
                    parent_ip,
                    True,
                )
            bucket.vms.append(vm)

    def _vary(self, vm: VMSpec) -> None:
        """Some clones are off or without tools; every 200th (and a dozen early) has a fault."""
        r = self.rng.random()
        if r < 0.10:
            vm.power = "poweredOff"
            vm.tools = "guestToolsNotRunning"
            vm.ip = None
        elif r < 0.15:
            vm.tools = "guestToolsNotRunning"
        self.created += 1
        faults = self.faults
        early = self.vms >= 40 and faults < _EARLY_FAULTS and self.created >= 3 * (faults + 1)
        if self.created % self.FAULT_EVERY == 0 or early:
            vm.power, vm.tools = "poweredOn", "guestToolsRunning"
            ftype = INJECTABLE_FAULTS[faults % len(INJECTABLE_FAULTS)]
            vm.fault = InjectedFault(ftype, FAULT_MODES[(faults // len(INJECTABLE_FAULTS)) % 2])
            self.faults += 1


# Every fault in both modes among the first ~40 VMs, so small inventories have them all.
_EARLY_FAULTS = 2 * len(INJECTABLE_FAULTS)


# 10.64.0.0/10 gives ~4 M addresses, far more than 50,000 VMs x 2 need.
_ADDR_BASE = int(ipaddress.IPv4Address("10.64.0.10"))


def _addr(n: int) -> str:
    # formatted by hand: parsing the base and building an IPv4Address per VM was most of the
    # generator's time (--vms 50000: 0.48 s, now 0.11 s)
    v = _ADDR_BASE + n
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"
