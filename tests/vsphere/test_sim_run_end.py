"""A guest-network run's ``async for`` ends promptly once every VM is final.

A mixed run against the simulator: successes, a synchronous fault, an in-task fault, a
TaskInProgress VM retried until it gives up, a task cancelled while running and a VM cancelled
before it was dispatched. The iterator must stop within a small bound after the last final event,
whether that last event came from the task tracker (a task update) or was decided locally by the
dispatch (a synchronous fault after the last retry).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.vsphere.conftest import Wire, connect, guest
from tui.vsphere import TaskEvent

END_BOUND = 3.0  # seconds from the last final event to StopAsyncIteration


@pytest.mark.parametrize("last", ["local", "task"])
async def test_run_iterator_ends_promptly_after_the_last_final_event(
    sim_factory, wire: Wire, last: str
) -> None:
    sim = sim_factory(task_seconds=0.3)
    if last == "task":
        sim.set_vm("web-02", task_seconds=1.5)  # the last VM to finish is a task on the server
    c = await connect(sim, wire)
    by_name = {v.name: v for v in await c.list_vms()}
    names = [
        "sync-taskinprogress",  # TaskInProgress (sync): retried, then failed locally
        "web-01",
        "sync-customizationfault",  # fault on the call itself
        "task-customizationfault",  # fault in the task
        "slow-01",  # 5 s task, cancelled while running
        "web-02",
        "web-03",  # cancelled before dispatch
    ]
    vms = [by_name[n] for n in names]
    delays = (0.6,) if last == "local" else (0.05,)
    run = c.start_guest_network(
        vms, guest(sim), concurrency=3, max_attempts=3, retry_delays=delays, coalesce=0.05
    )
    events: list[TaskEvent] = []
    final: dict[str, TaskEvent] = {}
    all_final_at: float | None = None
    last_final: TaskEvent | None = None
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(30) as deadline:
            async for ev in run:
                now = time.monotonic()
                events.append(ev)
                if len(events) == 1:
                    # the first three VMs are in flight; web-03 (last in the queue) is not
                    assert await run.cancel(by_name["web-03"].moid) is True
                if ev.vm_name == "slow-01" and ev.state == "running" and ev.cancelable:
                    assert await run.cancel(ev.vm_moid) is True
                if ev.final:
                    assert ev.vm_moid not in final, ev  # one final event per VM
                    final[ev.vm_moid] = ev
                    if len(final) == len(vms):
                        all_final_at, last_final = now, ev
                        # from now on the iterator has END_BOUND seconds to end
                        deadline.reschedule(loop.time() + END_BOUND)
            ended_at = time.monotonic()
    except TimeoutError:
        pytest.fail(
            f"the run did not end within {END_BOUND} s after every VM was final"
            if all_final_at is not None
            else f"not every VM was final after 30 s: {list(final)}"
        )
    assert all_final_at is not None
    lag = ended_at - all_final_at
    assert lag < END_BOUND, f"the run ended {lag:.2f} s after every VM was final"
    outcome = {
        ev.vm_name: (ev.state, ev.fault.type_name if ev.fault else None) for ev in final.values()
    }
    assert outcome == {
        "sync-taskinprogress": ("failed", "TaskInProgress"),
        "web-01": ("succeeded", None),
        "sync-customizationfault": ("failed", "CustomizationFault"),
        "task-customizationfault": ("failed", "CustomizationFault"),
        "slow-01": ("cancelled", "RequestCanceled"),
        "web-02": ("succeeded", None),
        "web-03": ("cancelled", None),
    }
    tip = final[by_name["sync-taskinprogress"].moid]
    assert tip.attempt == 3 and tip.task is None
    # the case under test: the last final event came from the dispatch or from a task update
    assert last_final is not None
    assert last_final.vm_name == ("sync-taskinprogress" if last == "local" else "web-02")
    # the run's server objects are gone when the iterator ends
    live = sim.stats()["live"]
    assert live["filters"] == 0 and live["collectors"] == 0 and live["pending_waits"] == 0
    await c.close()
