"""Simulator inventory: its description (``Inventory``, ``VMSpec`` …) and the YAML loader
(one-line errors naming file:line and key); ``generate.py`` makes ``--vms N --seed S`` ones.

The format is documented in docs/simulator.md; ``tui/sim/inventory.example.yaml`` is a complete
example (and the default inventory of the ``sim`` test fixture).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui.sim.yamlcheck import (
    Ctx,
    InventoryError,
    Loader,
    check_keys,
    choice,
    tname,
    want_bool,
    want_ip,
    want_list,
    want_map,
    want_str,
)

POWER_STATES = ("poweredOn", "poweredOff", "suspended")
TOOLS_STATES = {
    "running": "guestToolsRunning",
    "notRunning": "guestToolsNotRunning",
    "executingScripts": "guestToolsExecutingScripts",
    # the enum values themselves are accepted too
    "guestToolsRunning": "guestToolsRunning",
    "guestToolsNotRunning": "guestToolsNotRunning",
    "guestToolsExecutingScripts": "guestToolsExecutingScripts",
}
CONNECTION_STATES = ("connected", "disconnected", "orphaned", "inaccessible", "invalid")
# Faults StartGuestNetwork_Task can be configured to raise (InvalidPowerState is a subtype of the
# declared InvalidState).
INJECTABLE_FAULTS = (
    "TaskInProgress",
    "InvalidPowerState",
    "InvalidState",
    "InvalidGuestLogin",
    "GuestPermissionDenied",
    "CustomizationFault",
)
FAULT_MODES = ("sync", "task")
EXAMPLE_PATH = Path(__file__).with_name("inventory.example.yaml")
MAC_OF_PARENT = "parent"  # a VM's ``mac``: the one its clone parent has
_MAC = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}")


def mac_value(v: Any) -> str:
    """A VM's ``mac`` setting: ``"parent"`` or a MAC (``aa:bb:…`` / ``aa-bb-…``), lower-case
    with colons; ValueError says why not."""
    if isinstance(v, str) and v == MAC_OF_PARENT:
        return v
    if not isinstance(v, str) or not _MAC.fullmatch(v.lower()):
        raise ValueError(f"expected a MAC address like 00:50:56:aa:bb:cc or 'parent', got {v!r}")
    return v.lower().replace("-", ":")


@dataclass(slots=True)
class GuestAccount:
    username: str
    password: str
    permitted: bool = True

    def __repr__(self) -> str:  # never show the password
        return f"GuestAccount(username={self.username!r}, permitted={self.permitted})"


@dataclass(slots=True)
class InjectedFault:
    type: str
    mode: str = "task"


@dataclass(slots=True)
class VMSpec:
    name: str
    power: str = "poweredOn"
    tools: str = "guestToolsRunning"
    connection: str = "connected"
    ip: str | None = None  # current guest.ipAddress (None = unset)
    acquire_ip: str | None = None  # address after StartGuestNetwork (None = allocate one)
    clone_parent: str | None = None  # instant-clone parent name
    # guest.net MAC now: None = the VM's own (unique), "parent" = its clone parent's, or a MAC;
    # a successful StartGuestNetwork gives the VM its own
    mac: str | None = None
    keep_ip: bool = False  # StartGuestNetwork "succeeds" but the address and MAC stay
    guest_accounts: list[GuestAccount] | None = None  # None = the server-wide default account
    fault: InjectedFault | None = None
    auth_mode: str | None = None  # when guest credential faults are raised: sync | task
    task_seconds: float | None = None
    cancelable: bool = True
    hang: bool = False  # the customization never completes on its own (needs Cancel/Abort)
    guest_id: str = "ubuntu64Guest"
    guest_full_name: str = "Ubuntu Linux (64-bit)"
    host_name: str | None = None


@dataclass(slots=True)
class FolderSpec:
    name: str
    folders: list[FolderSpec] = field(default_factory=list)
    vms: list[VMSpec] = field(default_factory=list)


@dataclass(slots=True)
class DatacenterSpec:
    name: str
    vm_folder: FolderSpec


@dataclass(slots=True)
class Inventory:
    datacenters: list[DatacenterSpec]
    guest_accounts: list[GuestAccount] | None = None  # default for VMs without their own
    auth_mode: str = "task"
    source: str = "<generated>"

    def iter_vms(self) -> list[tuple[list[str], VMSpec]]:
        """Every VM with its folder path (``[dc, "vm", folder, ...]``)."""
        out: list[tuple[list[str], VMSpec]] = []

        def walk(path: list[str], f: FolderSpec) -> None:
            for vm in f.vms:
                out.append((path, vm))
            for sub in f.folders:
                walk([*path, sub.name], sub)

        for dc in self.datacenters:
            walk([dc.name, "vm"], dc.vm_folder)
        return out

    def vm_count(self) -> int:
        return len(self.iter_vms())


_example_cache: Inventory | None = None


def example_inventory() -> Inventory:
    """The shipped example inventory, parsed once (the simulator never mutates an Inventory)."""
    global _example_cache
    if _example_cache is None:
        _example_cache = load_inventory(EXAMPLE_PATH)
    return _example_cache


def load_inventory(source: str | Path | dict[str, Any]) -> Inventory:
    """Load an inventory from a YAML file path or an already-parsed mapping."""
    if isinstance(source, dict):
        return _build(source, Ctx("inventory"))
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{path}: inventory file not found") from None
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read inventory: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InventoryError(f"{path}: inventory is not UTF-8 text") from None
    return parse_inventory(text, str(path))


def parse_inventory(text: str, source: str = "inventory") -> Inventory:
    try:
        data = yaml.load(text, Loader=Loader)
    except InventoryError as exc:
        raise InventoryError(f"{source}:{exc}") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise InventoryError(f"{source}:{line}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{source}: invalid YAML: {exc}") from None
    inv = _build(data, Ctx(source))
    inv.source = source
    return inv


_TOP_KEYS = {"defaults", "datacenters"}
_DEFAULT_KEYS = {"guest_accounts", "auth_mode"}
_DC_KEYS = {"name", "folders", "vms"}
_FOLDER_KEYS = {"name", "folders", "vms"}
_VM_KEYS = {
    "name",
    "power",
    "tools",
    "connection",
    "ip",
    "acquire_ip",
    "parent",
    "mac",
    "keep_ip",
    "guest_accounts",
    "fault",
    "auth_mode",
    "task_seconds",
    "cancelable",
    "hang",
    "guest_id",
    "guest_full_name",
    "host_name",
}


def _build(data: Any, ctx: Ctx) -> Inventory:
    if not isinstance(data, dict):
        raise InventoryError(f"{ctx.source}: the inventory must be a mapping with 'datacenters'")
    check_keys(ctx, data, _TOP_KEYS, "")
    accounts: list[GuestAccount] | None = None
    auth_mode = "task"
    if "defaults" in data:
        d = want_map(ctx, data, "defaults", data["defaults"], "defaults")
        check_keys(ctx, d, _DEFAULT_KEYS, "defaults")
        if "guest_accounts" in d:
            accounts = _accounts(ctx, d, "guest_accounts", "defaults.guest_accounts")
        if "auth_mode" in d:
            auth_mode = choice(ctx, d, "auth_mode", FAULT_MODES, "defaults.auth_mode")
    if "datacenters" not in data:
        raise InventoryError(f"{ctx.source}: missing key 'datacenters'")
    dcs_raw = want_list(ctx, data, "datacenters", data["datacenters"], "datacenters")
    if not dcs_raw:
        raise ctx.fail(data, "datacenters", "datacenters", "at least one datacenter is needed")
    dcs: list[DatacenterSpec] = []
    seen_vm: dict[str, str] = {}
    seen_dc: set[str] = set()
    for i, raw in enumerate(dcs_raw):
        path = f"datacenters[{i}]"
        d = want_map(ctx, dcs_raw, i, raw, path)
        check_keys(ctx, d, _DC_KEYS, path)
        if "name" not in d:
            raise ctx.fail(dcs_raw, i, path, "missing key 'name'")
        name = want_str(ctx, d, "name", d["name"], f"{path}.name")
        if name in seen_dc:
            raise ctx.fail(d, "name", f"{path}.name", f"duplicate datacenter name {name!r}")
        seen_dc.add(name)
        root = FolderSpec("vm")
        _fill_folder(ctx, d, root, path, seen_vm)
        dcs.append(DatacenterSpec(name, root))
    inv = Inventory(dcs, accounts, auth_mode)
    for _, vm in inv.iter_vms():
        if vm.mac == MAC_OF_PARENT and vm.clone_parent not in seen_vm:
            raise InventoryError(
                f"{ctx.source}: {seen_vm[vm.name]}.mac: 'parent' but its parent "
                f"{vm.clone_parent!r} is not in the inventory"
            )
    return inv


def _fill_folder(
    ctx: Ctx, d: dict[str, Any], folder: FolderSpec, path: str, seen_vm: dict[str, str]
) -> None:
    if "folders" in d:
        subs = want_list(ctx, d, "folders", d["folders"], f"{path}.folders")
        names: set[str] = set()
        for j, raw in enumerate(subs):
            fpath = f"{path}.folders[{j}]"
            fd = want_map(ctx, subs, j, raw, fpath)
            check_keys(ctx, fd, _FOLDER_KEYS, fpath)
            if "name" not in fd:
                raise ctx.fail(subs, j, fpath, "missing key 'name'")
            fname = want_str(ctx, fd, "name", fd["name"], f"{fpath}.name")
            if "/" in fname:
                raise ctx.fail(fd, "name", f"{fpath}.name", "folder names cannot contain '/'")
            if fname in names:
                raise ctx.fail(fd, "name", f"{fpath}.name", f"duplicate folder name {fname!r}")
            names.add(fname)
            sub = FolderSpec(fname)
            _fill_folder(ctx, fd, sub, fpath, seen_vm)
            folder.folders.append(sub)
    if "vms" in d:
        vms = want_list(ctx, d, "vms", d["vms"], f"{path}.vms")
        for j, raw in enumerate(vms):
            vpath = f"{path}.vms[{j}]"
            vd = want_map(ctx, vms, j, raw, vpath)
            vm = _vm(ctx, vms, j, vd, vpath)
            if vm.name in seen_vm:
                raise ctx.fail(
                    vd,
                    "name",
                    f"{vpath}.name",
                    f"duplicate VM name {vm.name!r} (first at {seen_vm[vm.name]})",
                )
            seen_vm[vm.name] = vpath
            folder.vms.append(vm)


def _accounts(ctx: Ctx, d: dict[str, Any], key: str, path: str) -> list[GuestAccount]:
    raw = want_list(ctx, d, key, d[key], path)
    out: list[GuestAccount] = []
    for i, item in enumerate(raw):
        ipath = f"{path}[{i}]"
        a = want_map(ctx, raw, i, item, ipath)
        check_keys(ctx, a, {"username", "password", "permitted"}, ipath)
        for k in ("username", "password"):
            if k not in a:
                raise ctx.fail(raw, i, ipath, f"missing key {k!r}")
        user = want_str(ctx, a, "username", a["username"], f"{ipath}.username")
        pw = a["password"]
        if isinstance(pw, int | float) and not isinstance(pw, bool):
            pw = str(pw)
        if not isinstance(pw, str):
            raise ctx.fail(a, "password", f"{ipath}.password", "expected a string")
        permitted = (
            want_bool(ctx, a, "permitted", f"{ipath}.permitted") if "permitted" in a else True
        )
        out.append(GuestAccount(user, pw, permitted))
    return out


def _vm_identity(ctx: Ctx, d: dict[str, Any], vm: VMSpec, path: str) -> None:
    """The keys of a VM's network identity: ip, acquire_ip, parent, mac, keep_ip."""
    if "ip" in d:
        vm.ip = want_ip(ctx, d, "ip", f"{path}.ip")
    if "acquire_ip" in d:
        vm.acquire_ip = want_ip(ctx, d, "acquire_ip", f"{path}.acquire_ip")
    if "parent" in d:
        vm.clone_parent = want_str(ctx, d, "parent", d["parent"], f"{path}.parent")
    if "mac" in d:
        try:
            vm.mac = mac_value(d["mac"])
        except ValueError as exc:
            raise ctx.fail(d, "mac", f"{path}.mac", str(exc)) from None
        if vm.mac == MAC_OF_PARENT and vm.clone_parent is None:
            raise ctx.fail(d, "mac", f"{path}.mac", "'parent' needs the VM's 'parent' key")
    if "keep_ip" in d:
        vm.keep_ip = want_bool(ctx, d, "keep_ip", f"{path}.keep_ip")


def _vm(ctx: Ctx, parent: Any, idx: int, d: dict[str, Any], path: str) -> VMSpec:
    check_keys(ctx, d, _VM_KEYS, path)
    if "name" not in d:
        raise ctx.fail(parent, idx, path, "missing key 'name'")
    name = d["name"]
    if isinstance(name, int | float) and not isinstance(name, bool):
        name = str(name)
    name = want_str(ctx, d, "name", name, f"{path}.name")
    if "/" in name:
        raise ctx.fail(d, "name", f"{path}.name", "VM names cannot contain '/'")
    vm = VMSpec(name)
    if "power" in d:
        vm.power = choice(ctx, d, "power", POWER_STATES, f"{path}.power")
    if "tools" in d:
        t = d["tools"]
        if not isinstance(t, str) or t not in TOOLS_STATES:
            raise ctx.fail(
                d,
                "tools",
                f"{path}.tools",
                f"expected one of running, notRunning, executingScripts, got {tname(t)}",
            )
        vm.tools = TOOLS_STATES[t]
    if "connection" in d:
        vm.connection = choice(ctx, d, "connection", CONNECTION_STATES, f"{path}.connection")
    _vm_identity(ctx, d, vm, path)
    if "guest_accounts" in d:
        vm.guest_accounts = _accounts(ctx, d, "guest_accounts", f"{path}.guest_accounts")
    if "fault" in d:
        f = d["fault"]
        fpath = f"{path}.fault"
        if isinstance(f, str):
            vm.fault = InjectedFault(choice(ctx, d, "fault", INJECTABLE_FAULTS, fpath))
        else:
            fd = want_map(ctx, d, "fault", f, fpath)
            check_keys(ctx, fd, {"type", "mode"}, fpath)
            if "type" not in fd:
                raise ctx.fail(d, "fault", fpath, "missing key 'type'")
            ftype = choice(ctx, fd, "type", INJECTABLE_FAULTS, f"{fpath}.type")
            mode = choice(ctx, fd, "mode", FAULT_MODES, f"{fpath}.mode") if "mode" in fd else "task"
            vm.fault = InjectedFault(ftype, mode)
    if "auth_mode" in d:
        vm.auth_mode = choice(ctx, d, "auth_mode", FAULT_MODES, f"{path}.auth_mode")
    if "task_seconds" in d:
        v = d["task_seconds"]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 86400:
            raise ctx.fail(
                d,
                "task_seconds",
                f"{path}.task_seconds",
                f"expected seconds between 0 and 86400, got {tname(v)}",
            )
        vm.task_seconds = float(v)
    if "cancelable" in d:
        vm.cancelable = want_bool(ctx, d, "cancelable", f"{path}.cancelable")
    if "hang" in d:
        vm.hang = want_bool(ctx, d, "hang", f"{path}.hang")
    for key, attr in (
        ("guest_id", "guest_id"),
        ("guest_full_name", "guest_full_name"),
        ("host_name", "host_name"),
    ):
        if key in d:
            setattr(vm, attr, want_str(ctx, d, key, d[key], f"{path}.{key}"))
    return vm
