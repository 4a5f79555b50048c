"""``SimServer``'s control API: change VMs and the inventory, read stats, tasks and VMs.

Every method is safe to call from any thread or event loop: it runs on the server's loop
(``call``) and waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tui.sim.errors import SimError
from tui.sim.inventory import (
    CONNECTION_STATES,
    FAULT_MODES,
    INJECTABLE_FAULTS,
    MAC_OF_PARENT,
    POWER_STATES,
    TOOLS_STATES,
    GuestAccount,
    InjectedFault,
    Inventory,
    VMSpec,
    mac_value,
)
from tui.sim.objects import VirtualMachine
from tui.sim.state import State

if TYPE_CHECKING:
    from tui.sim.app import Exchange, SimApp

T = TypeVar("T")


class Control:
    """The control methods of ``SimServer`` (which provides ``call``, ``state`` and the app)."""

    inventory: Inventory
    _app: SimApp | None
    # computed at start (see snapshot_faults)
    fault_vms: dict[str, list[str]]
    vm_faults: dict[str, tuple[str, str]]
    ok_vms: list[str]
    keep_ip_vms: list[str]

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    @property
    def state(self) -> State:
        raise NotImplementedError

    def _vm(self, ref: str) -> VirtualMachine:
        try:
            return self.state.registry.find_vm(ref)
        except KeyError as exc:
            raise SimError(str(exc.args[0])) from None

    def set_power(self, vm: str, power: str) -> None:
        if power not in POWER_STATES:
            raise SimError(f"power state must be one of {', '.join(POWER_STATES)}, got {power!r}")
        self.set_vm(vm, power=power)

    def set_tools(self, vm: str, tools: str) -> None:
        self.set_vm(vm, tools=tools)

    def set_ip(self, vm: str, ip: str | None) -> None:
        self.set_vm(vm, ip=ip)

    def set_vm(self, vm: str, **fields: Any) -> None:
        """Change VM fields: power, tools, connection, ip, acquire_ip, mac (a MAC, "parent" or
        None: its own), keep_ip, fault ((type, mode), type or None), task_seconds, hang,
        cancelable, auth_mode, guest_accounts. Tools that start running (power on, tools
        running) make guest operations ready ``guest_ops_lag`` seconds later."""

        def go() -> None:
            apply_fields(self.state, self._vm(vm), fields)

        self.call(go)

    def add_vm(self, name: str, folder: str | None = None, **fields: Any) -> str:
        """Add a VM (to ``folder``, an inventory path like ``/DC1/vm/team-a``; default the
        first datacenter's vm folder) and return its moid."""

        def go() -> str:
            st = self.state
            path = folder or f"/{self.inventory.datacenters[0].name}/vm"
            try:
                new = st.add_vm(path, VMSpec(name))
            except (KeyError, ValueError) as exc:
                raise SimError(str(exc.args[0])) from None
            apply_fields(st, new, fields)
            return new.moid

        return self.call(go)

    def clone_vm(
        self, parent: str, name: str | None = None, folder: str | None = None, **fields: Any
    ) -> str:
        """An instant clone of ``parent`` appears now (as ``clone_rate`` makes them): named
        ``name`` or ``<parent>-ic-<n>``, in ``folder`` (default ``clone_folder``, else the
        parent's), poweredOn with the parent's address and MAC, tools running after
        ``clone_tools_seconds``; ``fields`` as for ``set_vm`` (e.g. ``keep_ip=True``).
        Returns its moid."""

        def go() -> str:
            st = self.state
            p = self._vm(parent)
            try:
                target = st.registry.folder_by_path(folder) if folder is not None else None
                new = st.clones.clone(p, name, target)
            except (KeyError, ValueError) as exc:
                raise SimError(str(exc.args[0])) from None
            apply_fields(st, new, fields)
            return new.moid

        return self.call(go)

    def lose_start_reply(self, vm: str, mode: str = "drop", seconds: float = 0.0) -> None:
        """The next StartGuestNetwork_Task call on ``vm`` that creates a task loses its reply.

        The task is created and runs as usual, but the caller never learns its moId:
        ``"drop"`` closes the connection without an answer (after ``seconds``, or at once),
        ``"delay"`` holds the answer for ``seconds`` (make it longer than the client's timeout)
        or until the client gives up. Calls that fault synchronously answer normally and leave
        the setting armed. Counted in ``stats()["replies_lost"]``.
        """
        if mode not in ("drop", "delay"):
            raise SimError(f"mode must be drop or delay, got {mode!r}")
        if not 0 <= seconds <= 86400:
            raise SimError(f"seconds must be between 0 and 86400, got {seconds}")

        def go() -> None:
            self._vm(vm).lose_reply = (mode, float(seconds))

        self.call(go)

    def remove_vm(self, vm: str) -> None:
        def go() -> None:
            self._vm(vm)
            self.state.registry.remove_vm(vm)

        self.call(go)

    def expire_sessions(self) -> int:
        """Expire every session now (as an idle timeout would); returns how many."""
        return self.call(self.state.sessions.expire_all)

    def stats(self) -> dict[str, Any]:
        def go() -> dict[str, Any]:
            st = self.state
            out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in st.stats.items()}
            out["live"] = st.live_counts()
            return out

        return self.call(go)

    def tasks(self) -> list[dict[str, Any]]:
        return self.call(self.state.tasks.summaries)

    def task(self, moid: str) -> dict[str, Any]:
        for t in self.tasks():
            if t["task"] == moid:
                return t
        raise SimError(f"no task {moid!r}")

    def vm(self, ref: str) -> dict[str, Any]:
        """A snapshot of one VM (by name or moid)."""

        def go() -> dict[str, Any]:
            v = self._vm(ref)
            return {
                "moid": v.moid,
                "name": v.name,
                "path": self.state.registry.inventory_path(v),
                "power": v.power,
                "tools": v.tools,
                "ip": v.ip,
                "acquire_ip": v.acquire_ip,
                "fault": (v.fault.type, v.fault.mode) if v.fault else None,
                "running_task": v.running_task.moid if v.running_task else None,
                "recent_tasks": [t.moid for t in v.recent_tasks],
                "customization": v.cust_status,
                "instance_uuid": v.instance_uuid,
                "clone_parent": v.clone_parent,
                "mac": v.mac,
                "own_mac": v.own_mac,
                "keep_ip": v.keep_ip,
                "guest_ops_ready": v.guest_ops_ready,
            }

        return self.call(go)

    def vm_names(self) -> list[str]:
        return self.call(lambda: list(self.state.registry.vms_by_name))

    def exchanges(self) -> list[Exchange]:
        """Every recorded exchange so far (only with ``record=True``)."""
        return self.call(lambda: list(self._app.exchanges) if self._app else [])

    def clear_exchanges(self) -> None:
        self.call(lambda: self._app.exchanges.clear() if self._app else None)

    def snapshot_faults(self) -> None:
        def go() -> None:
            st = self.state
            fv: dict[str, list[str]] = {}
            self.vm_faults, self.ok_vms, self.keep_ip_vms = {}, [], []
            for v in st.registry.vms_by_name.values():
                if v.keep_ip:
                    self.keep_ip_vms.append(v.name)
                if v.fault is not None:
                    self.vm_faults[v.name] = (v.fault.type, v.fault.mode)
                    fv.setdefault(v.fault.type, []).append(v.name)
                    fv.setdefault(f"{v.fault.type}:{v.fault.mode}", []).append(v.name)
                elif v.power != "poweredOn":
                    fv.setdefault("InvalidPowerState", []).append(v.name)
                    fv.setdefault("InvalidPowerState:sync", []).append(v.name)
                elif v.tools != "guestToolsRunning":
                    fv.setdefault("InvalidState", []).append(v.name)
                    fv.setdefault("InvalidState:sync", []).append(v.name)
                elif not v.hang and not v.keep_ip and default_login_ok(st, v):
                    self.ok_vms.append(v.name)
            self.fault_vms = fv

        self.call(go)


def default_login_ok(st: State, v: VirtualMachine) -> bool:
    return any(
        a.username == st.options.guest_user
        and a.password == st.options.guest_password
        and a.permitted
        for a in st.guests.accounts_for(v)
    )


def apply_fields(st: State, v: VirtualMachine, fields: dict[str, Any]) -> None:
    """Apply control-call fields to ``v``; tools that start running lag their guest ops."""
    was_running = v.tools_running
    for key, value in fields.items():
        apply_field(st, v, key, value)
    st.guestops.tools_changed(v, was_running)
    st.collectors.touch(v.moid)


def apply_field(st: State, v: VirtualMachine, key: str, value: Any) -> None:
    if key == "power":
        if value not in POWER_STATES:
            raise SimError(f"power must be one of {', '.join(POWER_STATES)}, got {value!r}")
        if value == "poweredOn" and v.power != "poweredOn":
            v.boot_time = st.clock.time()
        v.power = value
    elif key == "tools":
        if value not in TOOLS_STATES:
            raise SimError(f"tools must be running, notRunning or executingScripts, got {value!r}")
        v.tools = TOOLS_STATES[value]
    elif key == "connection":
        if value not in CONNECTION_STATES:
            raise SimError(
                f"connection must be one of {', '.join(CONNECTION_STATES)}, got {value!r}"
            )
        v.connection = value
    elif key in ("ip", "acquire_ip"):
        setattr(v, key, value)
        st.guests.reserve(value)
    elif key == "mac":
        v.mac = _mac_for(st, v, value)
    elif key == "keep_ip":
        v.keep_ip = bool(value)
    elif key == "fault":
        if value is None:
            v.fault = None
        else:
            parts = tuple(value) if isinstance(value, tuple | list) else (value, "task")
            if len(parts) != 2 or parts[0] not in INJECTABLE_FAULTS or parts[1] not in FAULT_MODES:
                raise SimError(f"fault must be a fault type or (type, sync|task), got {value!r}")
            v.fault = InjectedFault(*parts)
    elif key == "auth_mode":
        if value is not None and value not in FAULT_MODES:
            raise SimError(f"auth_mode must be one of {', '.join(FAULT_MODES)} or None")
        v.auth_mode = value
    elif key in ("task_seconds", "hang", "cancelable"):
        setattr(v, key, value)
    elif key == "guest_accounts":
        v.accounts = (
            [a if isinstance(a, GuestAccount) else GuestAccount(*a) for a in value]
            if value is not None
            else None
        )
    else:
        raise SimError(f"unknown VM field {key!r}")


def _mac_for(st: State, v: VirtualMachine, value: Any) -> str:
    """A ``mac`` field: None is the VM's own, "parent" its clone parent's, else a MAC."""
    if value is None:
        return v.own_mac
    try:
        mac = mac_value(value)
    except ValueError as exc:
        raise SimError(f"mac: {exc}") from None
    if mac != MAC_OF_PARENT:
        return mac
    parent = st.registry.vms_by_name.get(v.clone_parent or "")
    if parent is None:
        raise SimError(f"mac 'parent': {v.name!r} has no clone parent in the inventory")
    return parent.mac
