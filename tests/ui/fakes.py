"""A deterministic in-memory stand-in for the client, for snapshot pictures and UI edge cases.

The flow tests use the real client against the simulator; this one exists because snapshots
need fixed data and fixed times, and some failures (a stream dying, a logout failing) are
easier to script here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tui.config.profiles import PasswordSource, Profile
from tui.vsphere.errors import GuestnetError
from tui.vsphere.models import (
    VM,
    About,
    ConnectSpec,
    Fault,
    FaultMessage,
    GuestCredentials,
    TaskEvent,
    VMBatch,
    VMChange,
)

T0 = datetime(2026, 1, 15, 9, 30, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return T0 + timedelta(seconds=30)


def make_vms(n: int, *, folders: int = 3) -> list[VM]:
    vms: list[VM] = []
    for i in range(n):
        folder = f"/DC/vm/team-{'abc'[i % folders] if folders <= 3 else i % folders}"
        name = f"clone-{i:03d}"
        off = i % 11 == 5
        no_tools = i % 13 == 7
        vms.append(
            VM(
                moid=f"vm-{100 + i}",
                name=name,
                path=f"{folder}/{name}",
                folder=folder,
                power_state="poweredOff" if off else "poweredOn",
                connection_state="connected",
                tools_running_status=(
                    "guestToolsNotRunning" if (off or no_tools) else "guestToolsRunning"
                ),
                guest_operations_ready=not (off or no_tools),
                ip_address=None if i % 4 == 0 else f"10.0.{i // 250}.{i % 250 + 1}",
                host_name=f"{name}.lab.example",
            )
        )
    return vms


def guest_login_fault() -> Fault:
    return Fault(
        type_name="InvalidGuestLogin",
        message="Failed to authenticate with the guest operating system using the supplied "
        "credentials.",
        messages=(
            FaultMessage(
                key="vix.error.VIX_E_GUEST_USER_PERMISSIONS",
                message="Invalid user name or password.",
                args=(("user", "root"),),
            ),
        ),
        cause=Fault(type_name="SystemError", message="PAM authentication failed", fields={}),
    )


def make_profile(name: str = "lab", read_only: bool = False, **kw: object) -> Profile:
    base = Profile(
        name=name,
        host="vc.lab.example",
        username="administrator@vsphere.local",
        password_source=PasswordSource(kind="env", env="FAKE_VC_PASSWORD"),
        guest_username="root",
        read_only=read_only,
        source=Path("/home/admin/.config/guestnet/profiles.yaml"),
        line=3,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@dataclass
class Script:
    """What a fake run does per VM name: a list of (state, progress, fault)."""

    fail: dict[str, Fault] = field(default_factory=dict)
    hold: set[str] = field(default_factory=set)  # stay running until cancelled
    step: float = 0.0
    break_after: int | None = None  # raise run_error after this many VMs
    run_error: GuestnetError | None = None
    exit_hangs: bool = False  # closing the run never finishes (a vCenter that stopped answering)
    keep_ip: set[str] = field(default_factory=set)  # succeed, but keep the launch address
    no_ip: set[str] = field(default_factory=set)  # succeed, and have no address afterwards


class FakeRun:
    def __init__(self, client: FakeClient, vms: Sequence[VM], creds: GuestCredentials) -> None:
        self.client = client
        self.vms = list(vms)
        self.creds = creds
        self.cancelled: set[str] = set()
        self.closed = False
        self._wake = asyncio.Event()

    async def __aenter__(self) -> FakeRun:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client.script.exit_hangs:
            await asyncio.Event().wait()
        self.closed = True

    async def cancel(self, vm_moid: str) -> bool:
        self.cancelled.add(vm_moid)
        self._wake.set()
        return True

    async def cancel_queued(self) -> int:
        self.cancelled.update(vm.moid for vm in self.vms)
        self._wake.set()
        return len(self.vms)

    def __aiter__(self) -> AsyncIterator[TaskEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[TaskEvent]:
        script = self.client.script
        self.client.runs.append(self)
        for i, vm in enumerate(self.vms):
            yield TaskEvent(vm.moid, vm.name, "queued", task=f"task-{i + 1}", queue_time=T0)
        for i, vm in enumerate(self.vms):
            if script.break_after is not None and i >= script.break_after:
                raise script.run_error or GuestnetError("connection lost")
            task = f"task-{i + 1}"
            start = T0 + timedelta(seconds=2)
            yield TaskEvent(
                vm.moid,
                vm.name,
                "running",
                task=task,
                progress=40,
                queue_time=T0,
                start_time=start,
                cancelable=True,
            )
            if script.step:
                await asyncio.sleep(script.step)
            while vm.name in script.hold and vm.moid not in self.cancelled:
                self._wake.clear()
                await self._wake.wait()
            done = start + timedelta(seconds=3)
            if vm.moid in self.cancelled:
                yield TaskEvent(
                    vm.moid,
                    vm.name,
                    "cancelled",
                    task=task,
                    queue_time=T0,
                    start_time=start,
                    complete_time=done,
                )
                continue
            fault = script.fail.get(vm.name)
            if fault is None and self.creds.password.reveal() != self.client.guest_password:
                fault = guest_login_fault()
            if fault is not None:
                yield TaskEvent(
                    vm.moid,
                    vm.name,
                    "failed",
                    task=task,
                    fault=fault,
                    queue_time=T0,
                    start_time=start,
                    complete_time=done,
                )
            else:
                yield TaskEvent(
                    vm.moid,
                    vm.name,
                    "succeeded",
                    task=task,
                    progress=100,
                    queue_time=T0,
                    start_time=start,
                    complete_time=done,
                )
                if vm.name in script.no_ip:
                    self.client.push_change(vm.moid, ip_address=None)
                elif vm.name not in script.keep_ip:
                    self.client.push_change(vm.moid, ip_address=f"192.168.50.{i + 10}")


class FakeClient:
    def __init__(
        self,
        vms: list[VM],
        *,
        tls_mode: str = "pinned",
        script: Script | None = None,
        guest_password: str = "guest-secret",
        watch_error: GuestnetError | None = None,
        close_error: Exception | None = None,
        close_hangs: bool = False,
    ) -> None:
        self.close_error = close_error
        self.close_hangs = close_hangs
        self.about = About(
            "VMware vCenter Server",
            "VMware vCenter Server 8.0.3 build-24022515",
            "8.0.3",
            "24022515",
            "8.0.3.0",
        )
        self.release = "8.0.3.0"
        self.host = "vc.lab.example"
        self.port = 443
        self.tls_mode = tls_mode
        self.thumbprint_sha256 = "AB:" * 31 + "CD"
        self.username = "administrator@vsphere.local"
        self.vms = {vm.moid: vm for vm in vms}
        self.script = script or Script()
        self.guest_password = guest_password
        self.watch_error = watch_error
        self.runs: list[FakeRun] = []
        self.aborted: list[str] = []
        self.closed = 0
        self.specs: list[ConnectSpec] = []
        self.watches = 0
        self._queues: list[asyncio.Queue[VMBatch]] = []

    def push_change(self, moid: str, **fields: object) -> None:
        vm = replace(self.vms[moid], **fields)  # type: ignore[arg-type]
        self.vms[moid] = vm
        batch = VMBatch((VMChange("modify", moid, vm, frozenset(fields)),))
        for q in self._queues:
            q.put_nowait(batch)

    async def watch_vms(
        self,
        root: str | None = None,
        on_status: Callable[[str], None] | None = None,
        *,
        moid_suffix: str = "",
    ) -> AsyncIterator[VMBatch]:
        self.watches += 1
        q: asyncio.Queue[VMBatch] = asyncio.Queue()
        self._queues.append(q)
        try:
            yield _tagged(
                VMBatch(tuple(VMChange("enter", m, vm) for m, vm in self.vms.items()), True),
                moid_suffix,
            )
            if self.watch_error is not None:
                if on_status is not None:
                    on_status("connection lost, retrying in 4 s")
                raise self.watch_error
            while True:
                yield _tagged(await q.get(), moid_suffix)
        finally:
            self._queues.remove(q)

    def start_guest_network(
        self, vms: Sequence[VM], creds: GuestCredentials, concurrency: int = 8
    ) -> FakeRun:
        return FakeRun(self, vms, creds)

    async def abort_customization(
        self, vm_moid: str, creds: GuestCredentials | None = None
    ) -> TaskEvent:
        self.aborted.append(vm_moid)
        vm = self.vms[vm_moid]
        return TaskEvent(
            vm_moid,
            vm.name,
            "succeeded",
            task="task-abort",
            queue_time=T0,
            start_time=T0,
            complete_time=T0,
        )

    async def close(self) -> None:
        self.closed += 1
        if self.close_hangs:  # a vCenter that stopped answering
            await asyncio.Event().wait()
        if self.close_error is not None:
            raise self.close_error


def _tagged(batch: VMBatch, tag: str) -> VMBatch:
    """``batch`` with ``tag`` after every moid, as the client's ``moid_suffix`` makes it."""
    if not tag:
        return batch
    return VMBatch(
        tuple(
            VMChange(
                c.kind, c.moid + tag, replace(c.vm, moid=c.moid + tag) if c.vm else None, c.changed
            )
            for c in batch.changes
        ),
        batch.resync,
    )


def connector_for(client: FakeClient) -> Callable[[ConnectSpec], Awaitable[FakeClient]]:
    async def connect(spec: ConnectSpec) -> FakeClient:
        client.specs.append(spec)
        return client

    return connect
