"""A StartGuestNetwork_Task whose reply is lost, over real HTTPS against the simulator.

The client must adopt the task its own call created, whatever its state (here it finishes before
the client looks), and must not adopt a start task that is not its own (another user's, or one
from an earlier run). Request bodies are checked against the type registry by the ``wire``
fixture (CurrentTime included).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.vsphere.conftest import Wire, connect, guest
from tests.vsphere.test_sim_tasks import by_vm, collect, ok_vms
from tui.vsphere import TaskEvent

OTHER_USER, OTHER_PASSWORD = "ops@corp.local", "0ps-Pa55"


def tasks_on(sim: Any, vm_moid: str) -> list[dict[str, Any]]:
    return [t for t in sim.tasks() if t["vm_moid"] == vm_moid]


@pytest.mark.parametrize("outcome", ["success", "CustomizationFault"])
@pytest.mark.parametrize("mode", ["drop", "delay"])
async def test_lost_reply_adopts_our_task_that_already_finished(
    sim_factory: Any, wire: Wire, mode: str, outcome: str
) -> None:
    sim = sim_factory(vms=10, task_seconds=0.3)
    # "delay": the client gives up after 1 s, the answer would come after 5 s
    c = await connect(sim, wire, timeout=1.0 if mode == "delay" else 10.0)
    vms = await ok_vms(sim, c, 3)
    lost = vms[1]
    # a 0.1 s task: finished long before the client looks (after 0.3 s backoff, or 1 s timeout)
    sim.set_vm(lost.moid, task_seconds=0.1)
    if outcome != "success":
        sim.set_vm(lost.moid, fault=(outcome, "task"))
    sim.lose_start_reply(lost.moid, mode, seconds=5.0 if mode == "delay" else 0.0)
    run = c.start_guest_network(vms, guest(sim), retry_delays=(0.3,), coalesce=0.05)
    per = by_vm(await collect(run))
    assert sim.stats()["replies_lost"] == 1
    (task,) = tasks_on(sim, lost.moid)  # adopted, never a second call
    assert task["state"] == ("success" if outcome == "success" else "error")
    evs = per[lost.moid]
    last = evs[-1]
    assert sum(e.final for e in evs) == 1 and last.task == task["task"]
    if outcome == "success":
        assert last.state == "succeeded" and last.fault is None
    else:
        assert last.state == "failed" and last.fault is not None
        assert last.fault.type_name == outcome  # the task's fault, not RequestTimeout
    assert last.complete_time is not None
    assert all(per[v.moid][-1].state == "succeeded" for v in vms if v is not lost)
    starts = [p for _, p, _ in wire.requests if p.endswith("/StartGuestNetwork_Task")]
    assert len(starts) == 3
    assert wire.count("CurrentTime") == 1  # the server clock, measured once for the run
    await c.close()


@pytest.mark.parametrize("owner", ["another user", "our earlier run"])
async def test_a_running_start_task_that_is_not_ours_is_not_adopted(
    sim_factory: Any, wire: Wire, owner: str
) -> None:
    """Our call meets an expired session (vCenter refuses it before executing it); the VM already
    has a running start task that another user, or an earlier run of ours, created. The client
    must not take that task for its own: it calls again (TaskInProgress until the other task
    ends, then its own task)."""
    sim = sim_factory(vms=10, task_seconds=0.3, extra_users={OTHER_USER: OTHER_PASSWORD})
    c = await connect(sim, wire)
    (vm,) = await ok_vms(sim, c, 1)
    if owner == "another user":
        other = await connect(sim, username=OTHER_USER, password=OTHER_PASSWORD)
    else:
        other = await connect(sim)  # same user, an earlier guestnet run
    sim.set_vm(vm.moid, task_seconds=1.5 if owner == "another user" else 2.0)
    earlier = other.start_guest_network([vm], guest(sim), coalesce=0.05)
    first: list[TaskEvent] = []
    async with asyncio.timeout(10):
        async for ev in earlier:
            first.append(ev)
            if ev.state == "started":
                break
    theirs = first[-1].task
    assert theirs is not None
    if owner == "our earlier run":
        await asyncio.sleep(1.3)  # older than the margin allowed for our own call
    sim.set_vm(vm.moid, task_seconds=0.2)  # our own task, once it exists
    expired: list[int] = []

    async def expire_after_current_time(response: httpx.Response) -> None:
        # after the run's clock measurement: the start call itself meets the expired session
        if response.request.url.path.endswith("/CurrentTime") and not expired:
            expired.append(await asyncio.to_thread(sim.expire_sessions))

    hooks = c.transport.http.event_hooks
    hooks["response"] = [*hooks["response"], expire_after_current_time]
    c.transport.http.event_hooks = hooks
    run = c.start_guest_network(
        [vm], guest(sim), max_attempts=8, retry_delays=(0.4,), coalesce=0.05
    )
    evs = by_vm(await collect(run))[vm.moid]
    last = evs[-1]
    assert last.state == "succeeded" and last.task is not None
    assert expired == [2]
    assert last.task != theirs  # not adopted
    assert any(p.endswith(f"/VirtualMachine/{vm.moid}/recentTask") for _, p, _ in wire.requests)
    assert any(
        e.state == "pending" and e.fault and e.fault.type_name == "TaskInProgress" for e in evs
    )
    ours = [t for t in tasks_on(sim, vm.moid) if t["task"] == last.task]
    assert len(ours) == 1 and ours[0]["state"] == "success"
    assert len(tasks_on(sim, vm.moid)) == 2
    # the other run still ends with its own task
    async with asyncio.timeout(10):
        rest = [ev async for ev in earlier]
    assert rest[-1].state == "succeeded" and rest[-1].task == theirs
    await other.close()
    await c.close()
