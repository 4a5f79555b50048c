"""StartGuestNetwork_Task, CancelTask, AbortCustomization_Task: lifecycle, every fault in both
modes, guest credentials, server-wide concurrency. Every body registry-checked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.sim.poll import until
from tests.sim.vi import VI, mor
from tui.sim.server import SimServer

FAULTS = [
    "TaskInProgress",
    "InvalidPowerState",
    "InvalidState",
    "InvalidGuestLogin",
    "GuestPermissionDenied",
    "CustomizationFault",
]


def injected(sim: SimServer, fault: str, mode: str) -> str:
    """A VM whose inventory injects ``fault`` in ``mode`` (not merely powered off etc.)."""
    return next(
        n for n in sim.fault_vms[f"{fault}:{mode}"] if sim.vm_faults.get(n) == (fault, mode)
    )


async def _info_in(vi: VI, task: str, state: str) -> dict[str, Any] | None:
    """The task's info once it is in ``state`` (else None)."""
    info = await vi.task_info(task)
    return info if info["state"] == state else None


@pytest.fixture
async def vi(sim: SimServer) -> AsyncIterator[VI]:
    async with VI(sim) as client:
        await client.login()
        yield client


async def test_success_lifecycle_and_new_address(vi: VI, sim: SimServer) -> None:
    vm = sim.vm("web-05")
    r = await vi.start(vm["moid"])
    assert r.status == 200 and r.body["type"] == "Task"
    task = r.body["value"]
    seen_states, progress = [], []
    while True:
        info = await vi.task_info(task)
        seen_states.append(info["state"])
        if "progress" in info:
            progress.append(info["progress"])
        if info["state"] in ("success", "error"):
            break
        await asyncio.sleep(0.03)
    assert seen_states[0] in ("queued", "running") and seen_states[-1] == "success"
    assert progress == sorted(progress) and len(set(progress)) >= 2
    assert info["name"] == "StartGuestNetwork_Task"
    assert info["entity"] == mor("VirtualMachine", vm["moid"]) and info["entityName"] == "web-05"
    assert info["reason"] == {"_typeName": "TaskReasonUser", "userName": sim.username}
    assert "error" not in info and "result" not in info and info["cancelled"] is False
    assert info["queueTime"] <= info["startTime"] <= info["completeTime"]
    assert (await vi.get("VirtualMachine", vm["moid"], "guest.ipAddress")).body == "10.0.10.15"
    guest = (await vi.get("VirtualMachine", vm["moid"], "guest")).body
    assert guest["net"][0]["ipAddress"] == ["10.0.10.15"]
    assert guest["customizationInfo"]["customizationStatus"] == "TOOLSDEPLOYPKG_SUCCEEDED"


@pytest.mark.parametrize("fault", FAULTS)
async def test_injected_sync_fault(vi: VI, sim: SimServer, fault: str) -> None:
    name = injected(sim, fault, "sync")
    r = await vi.start(sim.vm(name)["moid"])
    assert r.status == 500 and r.fault == fault, r
    assert r.body["faultstring"]
    assert sim.guest_password not in r.text
    if fault == "TaskInProgress":
        blocker = await vi.task_info(r.body["task"]["value"])
        assert blocker["state"] == "running" and blocker["entityName"] == name
    if fault == "InvalidPowerState":
        assert r.body["existingState"] == "poweredOff"
    if fault == "CustomizationFault":
        assert r.body["faultCause"] == {
            "_typeName": "SystemError",
            "reason": "guest customization agent unavailable",
        }


@pytest.mark.parametrize("fault", FAULTS)
async def test_injected_task_fault(vi: VI, sim: SimServer, fault: str) -> None:
    name = injected(sim, fault, "task")
    vm = sim.vm(name)
    r = await vi.start(vm["moid"])
    assert r.status == 200, r
    info = await vi.wait_task(r.body["value"])
    assert info["state"] == "error" and info["cancelled"] is False
    err = info["error"]
    assert err["_typeName"] == fault and "faultstring" not in err
    assert "progress" not in info and "completeTime" in info
    assert sim.vm(name)["ip"] == vm["ip"]  # the address did not change
    guest = (await vi.get("VirtualMachine", vm["moid"], "guest")).body
    assert guest["customizationInfo"]["customizationStatus"] == "TOOLSDEPLOYPKG_FAILED"


@pytest.mark.parametrize(
    ("name", "power", "fault"),
    [
        ("off-01", "poweredOff", "InvalidPowerState"),
        ("suspended-01", "suspended", "InvalidPowerState"),
        ("notools-01", None, "InvalidState"),
    ],
)
async def test_state_faults_are_synchronous(
    vi: VI, sim: SimServer, name: str, power: str | None, fault: str
) -> None:
    r = await vi.start(sim.vm(name)["moid"])
    assert r.fault == fault
    if power:
        assert r.body["existingState"] == power and r.body["requestedState"] == "poweredOn"
    assert not [t for t in sim.tasks() if t["vm"] == name]


async def test_disconnected_vm_is_invalid_state(vi: VI, sim: SimServer) -> None:
    sim.set_vm("db-02", connection="disconnected")
    r = await vi.start(sim.vm("db-02")["moid"])
    assert r.fault == "InvalidState"
    assert "disconnected" in r.body["faultMessage"][0]["message"]
    got = await vi.get("VirtualMachine", sim.vm("db-02")["moid"], "runtime.connectionState")
    assert got.body == "disconnected"


async def test_second_start_is_task_in_progress_then_cancel(vi: VI, sim: SimServer) -> None:
    vm = sim.vm("slow-01")
    first = (await vi.start(vm["moid"])).body
    r = await vi.start(vm["moid"])
    assert r.fault == "TaskInProgress" and r.body["task"] == first
    info = await until(lambda: _info_in(vi, first["value"], "running"), "slow-01's task runs")
    assert info["state"] == "running" and info["cancelable"] is True
    r = await vi.post("Task", first["value"], "CancelTask")
    assert r.status == 204
    info = await vi.wait_task(first["value"], within=2)
    assert info["state"] == "error" and info["cancelled"] is True
    assert info["error"]["_typeName"] == "RequestCanceled" and info["cancelable"] is False
    r = await vi.post("Task", first["value"], "CancelTask")  # already finished
    assert r.fault == "InvalidState"
    assert (await vi.start(vm["moid"])).status == 200  # the VM is free again


async def test_non_cancelable_task(vi: VI, sim: SimServer) -> None:
    task = (await vi.start(sim.vm("noncancel-01")["moid"])).body["value"]
    info = await vi.task_info(task)
    assert info["cancelable"] is False
    r = await vi.post("Task", task, "CancelTask")
    assert r.fault == "InvalidState"
    assert (await vi.task_info(task))["state"] in ("queued", "running")


@pytest.mark.parametrize(
    ("vm_name", "user", "password", "interactive", "outcome"),
    [
        ("web-06", None, "wrong", False, "InvalidGuestLogin"),
        ("web-06", "nobody", None, False, "InvalidGuestLogin"),
        ("web-06", None, None, True, "InvalidGuestLogin"),
        ("creds-denied", "root", "guest-secret", False, "GuestPermissionDenied"),
        ("creds-denied", "admin", "s3cret!", False, "success"),
        ("creds-custom", "admin", "s3cret!", False, "success"),
        ("creds-custom", None, None, False, "InvalidGuestLogin"),
    ],
)
async def test_guest_credentials_in_task(
    vi: VI,
    sim: SimServer,
    vm_name: str,
    user: str | None,
    password: str | None,
    interactive: bool,
    outcome: str,
) -> None:
    r = await vi.start(sim.vm(vm_name)["moid"], user, password, interactive)
    assert r.status == 200
    info = await vi.wait_task(r.body["value"])
    if outcome == "success":
        assert info["state"] == "success"
    else:
        assert info["state"] == "error" and info["error"]["_typeName"] == outcome
        assert (password or sim.guest_password) not in str(info)


async def test_guest_credentials_checked_synchronously(vi: VI, sim: SimServer) -> None:
    r = await vi.start(sim.vm("creds-sync")["moid"], password="nope-nope")
    assert r.fault == "InvalidGuestLogin" and "nope-nope" not in r.text
    r = await vi.start(sim.vm("creds-sync")["moid"])
    assert r.status == 200


async def test_unsupported_guest_auth_and_unknown_vm(vi: VI, sim: SimServer) -> None:
    r = await vi.post(
        "VirtualMachineGuestCustomizationManager",
        "GuestCustomizationManager",
        "StartGuestNetwork_Task",
        {
            "vm": mor("VirtualMachine", sim.vm("web-01")["moid"]),
            "auth": {
                "_typeName": "SAMLTokenAuthentication",
                "interactiveSession": False,
                "token": "<saml/>",
            },
        },
    )
    assert r.fault == "InvalidArgument"
    r = await vi.start("vm-999999")
    assert r.fault == "ManagedObjectNotFound"
    r = await vi.post(
        "VirtualMachineGuestCustomizationManager",
        "GuestCustomizationManager",
        "StartGuestNetwork_Task",
        {
            "vm": mor("VirtualMachine", "group-d1"),
            "auth": {
                "_typeName": "NamePasswordAuthentication",
                "interactiveSession": False,
                "username": "root",
                "password": "x",
            },
        },
    )
    assert r.fault == "ManagedObjectNotFound"


async def test_server_wide_concurrency_queues_extra_tasks(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(max_running_tasks=2, task_seconds=0.6)
    async with VI(sim) as vi:
        await vi.login()
        names = sim.ok_vms[:5]
        tasks = [(await vi.start(sim.vm(n)["moid"])).body["value"] for n in names]
        live = sim.stats()["live"]
        assert (live["running_tasks"], live["queued_tasks"]) == (2, 3)
        states = [(await vi.task_info(t))["state"] for t in tasks]
        assert states == ["running", "running", "queued", "queued", "queued"]
        infos = [await vi.wait_task(t, within=5) for t in tasks]
        assert all(i["state"] == "success" for i in infos)
        # never more than two ran at once
        spans = sorted((i["startTime"], i["completeTime"]) for i in infos)
        for i, (start, _) in enumerate(spans):
            overlapping = sum(1 for s, e in spans[:i] if e > start)
            assert overlapping <= 1
        # a queued task can be cancelled before it starts
        more = [(await vi.start(sim.vm(n)["moid"])).body["value"] for n in sim.ok_vms[5:8]]
        queued = await until(lambda: sim.stats()["live"]["queued_tasks"], "the third one queues")
        assert queued == 1 and (await vi.task_info(more[2]))["state"] == "queued"
        assert (await vi.post("Task", more[2], "CancelTask")).status == 204
        info = await vi.wait_task(more[2], within=2)
        assert info["error"]["_typeName"] == "RequestCanceled" and "startTime" not in info


async def test_abort_customization_unsticks_a_hung_task(vi: VI, sim: SimServer) -> None:
    vm = sim.vm("hang-01")
    task = (await vi.start(vm["moid"])).body["value"]

    async def at_half() -> dict[str, Any] | None:
        info = await vi.task_info(task)
        return info if info.get("progress") == 50 else None

    info = await until(at_half, "hang-01's task stops at 50 %")
    assert info["state"] == "running" and info["progress"] == 50
    r = await vi.abort(vm["moid"])
    assert r.status == 200
    abort = await vi.wait_task(r.body["value"])
    assert abort["state"] == "success" and abort["name"] == "AbortCustomization_Task"
    info = await vi.task_info(task)
    assert info["state"] == "error" and info["error"]["_typeName"] == "CustomizationFault"
    assert sim.vm("hang-01")["running_task"] is None


async def test_abort_customization_clears_a_stale_lock(vi: VI, sim: SimServer) -> None:
    vm = sim.vm("sync-taskinprogress")
    assert (await vi.start(vm["moid"])).fault == "TaskInProgress"
    r = await vi.abort(vm["moid"])
    assert (await vi.wait_task(r.body["value"]))["state"] == "success"
    r = await vi.start(vm["moid"])
    assert r.status == 200
    assert (await vi.wait_task(r.body["value"]))["state"] == "success"


async def test_new_address_arrives_through_wait_for_updates(vi: VI, sim: SimServer) -> None:
    from tests.sim.vi import make_watch, updates

    w = await make_watch(vi, ["guest.ipAddress"])
    await w.wait()
    vm = sim.vm("web-03")
    task = (await vi.start(vm["moid"])).body["value"]
    seen: list[object] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not seen or seen[-1] != "10.0.10.13"):
        r = await w.wait(max_wait=2)
        if r.status == 200:
            got = updates(r).get(vm["moid"])
            if got:
                seen.append(got[1]["guest.ipAddress"])
    # the old address goes away while the guest network restarts, then the new one arrives
    assert seen == [None, "10.0.10.13"]
    assert (await vi.task_info(task))["state"] == "success"
