"""ManagedEntity.recentTask, ServiceInstance.CurrentTime and lost StartGuestNetwork_Task replies.

Every body goes through the VI helper, which checks it against VMware's type registry.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.oracle import validate_property
from tests.sim.poll import until
from tests.sim.vi import VI, mor, props
from tui.sim.clock import ManualClock
from tui.sim.server import SimError, SimServer

RECENT = 0.5  # recent_task_seconds of these tests


@pytest.fixture
def sim(sim_factory) -> SimServer:
    return sim_factory(recent_task_seconds=RECENT)


@pytest.fixture
async def vi(sim: SimServer) -> AsyncIterator[VI]:
    async with VI(sim) as client:
        await client.login()
        yield client


def recent_spec(vm_moid: str, type_: str = "VirtualMachine") -> dict[str, Any]:
    return {
        "_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": type_, "pathSet": ["recentTask"]}],
        "objectSet": [{"_typeName": "ObjectSpec", "obj": mor("VirtualMachine", vm_moid)}],
    }


async def _run_on(clock: ManualClock, vi: VI, task: str) -> dict[str, Any]:
    """Let ``task`` run to its end on the simulator's clock (tasks take 0.3 s there)."""

    async def started() -> bool:
        return (await vi.task_info(task))["state"] == "running"

    await until(started, f"{task} runs")
    clock.advance(1.0)
    return await vi.wait_task(task)


async def test_recent_task_lists_running_and_recently_finished_tasks(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    sim = sim_factory(recent_task_seconds=RECENT, clock=clock)
    async with VI(sim) as vi:
        await vi.login()
        vm = sim.vm("web-01")["moid"]
        r = await vi.get("VirtualMachine", vm, "recentTask")
        assert r.status == 204  # no task yet: unset
        first = (await vi.start(vm)).body
        r = await vi.get("VirtualMachine", vm, "recentTask")
        assert r.status == 200 and r.body == [first]
        validate_property("VirtualMachine", "recentTask", r.body)
        await _run_on(clock, vi, first["value"])
        r = await vi.get("VirtualMachine", vm, "recentTask")
        assert r.body == [first]  # finished, still recent
        second = (await vi.start(vm)).body
        r = await vi.get("VirtualMachine", vm, "recentTask")
        assert r.body == [first, second]  # oldest first
        assert sim.vm(vm)["recent_tasks"] == [first["value"], second["value"]]
        await _run_on(clock, vi, second["value"])
        clock.advance(RECENT)

        async def left() -> bool:
            return (await vi.get("VirtualMachine", vm, "recentTask")).status == 204

        await until(left, "both tasks left recentTask")
        r = await vi.get("VirtualMachine", vm, "recentTask")
        assert r.status == 204  # both left the list ...
        assert (await vi.task_info(first["value"]))["state"] == "success"  # ... the tasks remain
        # other entities have the property too (no task runs on a folder)
        assert (await vi.get("Folder", "group-d1", "recentTask")).status == 204


async def test_recent_task_of_a_vm_held_by_another_task(vi: VI, sim: SimServer) -> None:
    vm = sim.vm("sync-taskinprogress")["moid"]
    r = await vi.start(vm)
    assert r.fault == "TaskInProgress"
    recent = (await vi.get("VirtualMachine", vm, "recentTask")).body
    assert recent == [r.body["task"]]
    info = await vi.task_info(recent[0]["value"])
    assert info["state"] == "running" and info["name"] == "StartGuestNetwork_Task"


async def test_recent_task_in_retrieve_and_wait_for_updates(vi: VI, sim: SimServer) -> None:
    vm = sim.vm("web-02")["moid"]
    pc = "propertyCollector"
    r = await vi.post(
        "PropertyCollector",
        pc,
        "CreateFilter",
        {"spec": recent_spec(vm), "partialUpdates": False},
    )
    assert r.status == 200
    r = await vi.post("PropertyCollector", pc, "WaitForUpdatesEx", {"version": ""})
    (ou,) = r.body["filterSet"][0]["objectSet"]
    assert ou["kind"] == "enter" and "changeSet" not in ou  # unset: no change listed
    version = r.body["version"]
    task = (await vi.start(vm)).body

    async def wait() -> dict[str, Any]:
        nonlocal version
        r = await vi.post(
            "PropertyCollector",
            pc,
            "WaitForUpdatesEx",
            {"version": version, "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 5}},
        )
        assert r.status == 200, r
        version = r.body["version"]
        (ou,) = r.body["filterSet"][0]["objectSet"]
        assert ou["kind"] == "modify"
        return ou

    ou = await wait()
    (change,) = ou["changeSet"]
    assert change["name"] == "recentTask" and change["op"] == "assign"
    assert change["val"] == {"_typeName": "ArrayOfManagedObjectReference", "_value": [task]}
    await vi.wait_task(task["value"])
    ou = await wait()  # the task leaves the list after RECENT seconds
    assert ou["changeSet"] == [
        {"_typeName": "PropertyChange", "name": "recentTask", "op": "assign"}
    ]
    # RetrievePropertiesEx boxes it the same way (ManagedEntity specs cover VMs too)
    second = (await vi.start(vm)).body
    for type_ in ("VirtualMachine", "ManagedEntity"):
        r = await vi.post(
            "PropertyCollector",
            pc,
            "RetrievePropertiesEx",
            {"specSet": [recent_spec(vm, type_)], "options": {"_typeName": "RetrieveOptions"}},
        )
        (oc,) = r.body["objects"]
        assert oc["propSet"] == [
            {
                "_typeName": "DynamicProperty",
                "name": "recentTask",
                "val": {"_typeName": "ArrayOfManagedObjectReference", "_value": [second]},
            }
        ]
        assert props(oc) == {"recentTask": [second]}


async def test_current_time(vi: VI, sim: SimServer) -> None:
    r = await vi.post("ServiceInstance", "ServiceInstance", "CurrentTime")
    assert r.status == 200 and isinstance(r.body, str)
    now = datetime.fromisoformat(r.body.replace("Z", "+00:00"))
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5
    r = await vi.post("ServiceInstance", "ServiceInstance", "CurrentTime", {"x": 1}, raw=True)
    assert r.fault == "InvalidArgument"
    vi.token = None  # System.View: a session is needed
    r = await vi.post("ServiceInstance", "ServiceInstance", "CurrentTime")
    assert r.fault == "NotAuthenticated"


async def test_dropped_start_reply(vi: VI, sim: SimServer) -> None:
    sim.set_vm("web-03", task_seconds=2)
    vm = sim.vm("web-03")["moid"]
    sim.lose_start_reply("web-03", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await vi.start(vm)
    (task,) = [t for t in sim.tasks() if t["vm_moid"] == vm]
    assert task["state"] in ("queued", "running")
    assert sim.stats()["replies_lost"] == 1
    # the caller finds its task through recentTask; the setting was used up
    recent = (await vi.get("VirtualMachine", vm, "recentTask")).body
    assert recent == [mor("Task", task["task"])]
    r = await vi.start(vm)
    assert r.fault == "TaskInProgress" and r.body["task"] == recent[0]


async def test_delayed_start_reply(sim: SimServer) -> None:
    vm = sim.vm("web-04")["moid"]
    sim.lose_start_reply("web-04", "delay", seconds=30)
    async with VI(sim, timeout=0.5) as vi:
        await vi.login()
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await vi.start(vm)
        assert time.monotonic() - started < 5
        # the call did its work before the answer was held back
        (task,) = [t for t in sim.tasks() if t["vm_moid"] == vm]
        assert (await vi.get("VirtualMachine", vm, "recentTask")).body == [
            mor("Task", task["task"])
        ]
    # the server stopped holding the answer when the client went away
    await until(lambda: not _held(sim), "the held answer is given up")
    assert not _held(sim)


def _held(sim: SimServer) -> bool:
    """A StartGuestNetwork_Task request is still in progress on the server."""
    return sim.call(lambda: any(s.in_flight for s in sim.state.sessions.by_token.values()))


async def test_lose_reply_is_armed_until_a_task_is_created(vi: VI, sim: SimServer) -> None:
    sim.lose_start_reply("off-01", "drop")
    r = await vi.start(sim.vm("off-01")["moid"])  # InvalidPowerState: answered as usual
    assert r.fault == "InvalidPowerState"
    sim.set_power("off-01", "poweredOn")
    with pytest.raises(httpx.RemoteProtocolError):
        await vi.start(sim.vm("off-01")["moid"])
    with pytest.raises(SimError, match="mode must be drop or delay"):
        sim.lose_start_reply("web-01", "hang")
    with pytest.raises(SimError, match="seconds must be between"):
        sim.lose_start_reply("web-01", "delay", seconds=-1)
    with pytest.raises(SimError, match="no VM named"):
        sim.lose_start_reply("nope", "drop")


async def test_recent_task_keeps_the_last_completed_tasks_only(sim_factory) -> None:
    sim = sim_factory()  # ten minutes, like vCenter; and a cap of two finished tasks
    sim.call(lambda: setattr(sim.state.tasks, "recent_done_max", 2))
    async with VI(sim) as vi:
        await vi.login()
        names = ("web-01", "web-02", "web-03")
        moids = [sim.vm(n)["moid"] for n in names]
        tasks = []
        for moid in moids:
            task = (await vi.start(moid)).body
            await vi.wait_task(task["value"])
            tasks.append(task)
        got = [(await vi.get("VirtualMachine", m, "recentTask")).body for m in moids]
        assert got == [None, [tasks[1]], [tasks[2]]]  # the oldest finished task left
