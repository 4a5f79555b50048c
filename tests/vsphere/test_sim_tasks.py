"""Guest network runs against the simulator: faults, retries, cancel, concurrency, expiry."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import Counter

import pytest

from tests.vsphere.conftest import Wire, connect, eventually, guest
from tui.vsphere import VM, GuestnetError, TaskEvent, explain

FAULTS = [
    "InvalidPowerState",
    "InvalidState",
    "InvalidGuestLogin",
    "GuestPermissionDenied",
    "CustomizationFault",
]


def by_vm(events: list[TaskEvent]) -> dict[str, list[TaskEvent]]:
    out: dict[str, list[TaskEvent]] = {}
    for e in events:
        out.setdefault(e.vm_moid, []).append(e)
    return out


async def collect(run) -> list[TaskEvent]:
    out: list[TaskEvent] = []
    async with asyncio.timeout(30):
        async for ev in run:
            out.append(ev)
    return out


async def ok_vms(sim, c, n: int) -> list[VM]:
    vms = [v for v in await c.list_vms() if v.name in sim.ok_vms]
    assert len(vms) >= n
    return vms[:n]


async def test_each_fault_sync_and_in_task_plus_success(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=40, task_seconds=0.2)
    c = await connect(sim, wire)
    vms = await ok_vms(sim, c, 2 * len(FAULTS) + 2)
    expect: dict[str, tuple[str, str]] = {}
    for i, ftype in enumerate(FAULTS):
        for j, mode in enumerate(("sync", "task")):
            vm = vms[2 * i + j]
            sim.set_vm(vm.moid, fault=(ftype, mode))
            expect[vm.moid] = (ftype, mode)
    # TaskInProgress inside the task is final (only a synchronous one is retried)
    sim.set_vm(vms[-2].moid, fault=("TaskInProgress", "task"))
    expect[vms[-2].moid] = ("TaskInProgress", "task")
    events = await collect(c.start_guest_network(vms, guest(sim), concurrency=4, coalesce=0.05))
    per = by_vm(events)
    assert set(per) == {v.moid for v in vms}
    for moid, evs in per.items():
        assert evs[0].state == "pending"
        last = evs[-1]
        assert sum(e.final for e in evs) == 1 and last.final
        if moid not in expect:
            assert last.state == "succeeded" and last.fault is None
            assert [e.state for e in evs][:2] == ["pending", "started"]
            assert last.start_time and last.complete_time and last.task
            continue
        ftype, mode = expect[moid]
        assert last.state == "failed" and last.fault is not None, (moid, evs)
        assert last.fault.type_name == ftype
        assert last.fault.message  # plain words
        assert explain(last.fault.type_name).remedy
        if mode == "sync":
            assert last.task is None and "started" not in [e.state for e in evs]
        else:
            assert last.task is not None and last.complete_time is not None
    # tracked by a filter + long-polls, never by reading each task
    assert not any(p.endswith("/info") for _, p, _ in wire.requests)
    assert wire.count("CreatePropertyCollector") == 1
    assert sim.stats()["live"]["filters"] == 0 and sim.stats()["live"]["collectors"] == 0
    await c.close()


async def test_task_in_progress_retries_then_succeeds_or_gives_up(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=10, task_seconds=0.6)
    c = await connect(sim, wire)
    busy, stuck = await ok_vms(sim, c, 2)
    sim.set_vm(stuck.moid, fault=("TaskInProgress", "sync"))
    first = c.start_guest_network([busy], guest(sim), coalesce=0.05)
    await first  # dispatch begins; its task keeps the VM busy for 0.6 s
    await eventually(
        lambda: any(e.state == "started" for e in first.events_of(busy.moid)),
        "the first run's task exists",
    )
    second = c.start_guest_network(
        [busy, stuck], guest(sim), max_attempts=3, retry_delays=(0.4, 0.4), coalesce=0.05
    )
    events = by_vm(await collect(second))
    await collect(first)
    b = events[busy.moid]
    assert b[-1].state == "succeeded" and b[-1].attempt >= 2
    assert any(
        e.state == "pending" and e.fault and e.fault.type_name == "TaskInProgress" for e in b
    )
    s = events[stuck.moid]
    assert s[-1].state == "failed" and s[-1].fault is not None
    assert s[-1].fault.type_name == "TaskInProgress" and s[-1].attempt == 3
    assert s[-1].fault.fields.get("task", "").startswith("task-")
    await c.close()


async def test_cancel_running_and_queued(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=20, task_seconds=0.3, latency_ms=150)
    c = await connect(sim, wire)
    vms = await ok_vms(sim, c, 6)
    hung = vms[0]
    sim.set_vm(hung.moid, hang=True, cancelable=True)
    run = c.start_guest_network(vms, guest(sim), concurrency=1, coalesce=0.05)
    events: list[TaskEvent] = []
    async with asyncio.timeout(30):
        async for ev in run:
            events.append(ev)
            if ev.vm_moid == hung.moid and ev.state == "started":
                # concurrency 1 and 150 ms per call: the other five are still queued or in flight
                assert await run.cancel_queued() == 5
            if ev.vm_moid == hung.moid and ev.state == "running" and ev.cancelable:
                assert await run.cancel(hung.moid) is True
    per = by_vm(events)
    h = per[hung.moid][-1]
    assert h.state == "cancelled" and h.fault is not None and h.fault.type_name == "RequestCanceled"
    cancelled_queued = [
        m for m, evs in per.items() if m != hung.moid and evs[-1].state == "cancelled"
    ]
    never_started = [m for m in cancelled_queued if per[m][-1].task is None]
    assert len(never_started) >= 4  # at most one was in flight when cancel_queued came
    assert all("started" not in [e.state for e in per[m]] for m in never_started)
    assert await run.cancel(hung.moid) is False  # already final
    with pytest.raises(GuestnetError, match="vm-nope is not part of this run"):
        await run.cancel("vm-nope")
    assert 1 <= wire.count("CancelTask") <= 2  # the hung task (+ one in flight at cancel_queued)
    await c.close()


async def test_not_cancelable_and_abort_customization(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=10, task_seconds=0.3)
    c = await connect(sim, wire)
    (vm,) = await ok_vms(sim, c, 1)
    sim.set_vm(vm.moid, hang=True, cancelable=False)
    creds = guest(sim)
    run = c.start_guest_network([vm], creds, coalesce=0.05)
    events: list[TaskEvent] = []
    async with asyncio.timeout(30):
        async for ev in run:
            events.append(ev)
            if ev.state == "running" and ev.progress == 50:
                with pytest.raises(GuestnetError, match="cannot be cancelled"):
                    await run.cancel(vm.moid)
                aborted = await c.abort_customization(vm.moid)  # creds of the run
                assert aborted.state == "succeeded" and aborted.task and aborted.vm_name == vm.name
    last = events[-1]
    assert last.state == "failed" and last.fault is not None
    assert last.fault.type_name == "CustomizationFault"
    await c.close()


async def test_abort_customization_needs_credentials(sim_factory) -> None:
    sim = sim_factory(vms=5)
    c = await connect(sim)
    with pytest.raises(GuestnetError, match="needs guest credentials"):
        await c.abort_customization("vm-1")
    off = next(v for v in await c.list_vms() if v.power_state == "poweredOff")
    ev = await c.abort_customization(off.moid, guest(sim))
    assert ev.state == "failed" and ev.task is None and ev.vm_name == off.name
    assert ev.fault is not None and ev.fault.type_name == "InvalidPowerState"
    await c.close()


async def test_concurrency_bound_and_few_requests(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=60, task_seconds=0.3, latency_ms=15)
    c = await connect(sim, wire)
    vms = await ok_vms(sim, c, 30)
    before = len(wire.requests)
    run = c.start_guest_network(vms, guest(sim), concurrency=4)
    events = await collect(run)
    assert all(evs[-1].state == "succeeded" for evs in by_vm(events).values())
    assert wire.peak["StartGuestNetwork_Task"] == 4  # bounded, and the bound is used
    assert run.max_active_starts == 4
    used = Counter(wire.members()[before:])
    assert used["StartGuestNetwork_Task"] == 30
    assert used["CreatePropertyCollector"] == 1
    assert used["CreateFilter"] <= 15  # one per dispatch wave, not one per task
    assert used["WaitForUpdatesEx"] <= 30
    assert sum(used.values()) <= 30 + 2 * 15 + 30 + 2
    await c.close()


async def test_session_expiry_mid_run_never_duplicates_a_task(sim_factory, wire: Wire) -> None:
    # 30 ms per call at concurrency 2: dispatch is still going when the first task runs.
    sim = sim_factory(vms=40, task_seconds=0.8, latency_ms=30)
    c = await connect(sim, wire)
    vms = await ok_vms(sim, c, 20)
    status: list[str] = []
    run = c.start_guest_network(
        vms, guest(sim), concurrency=2, coalesce=0.05, on_status=status.append
    )
    events: list[TaskEvent] = []
    expired_with_queue = None
    async with asyncio.timeout(40):
        async for ev in run:
            events.append(ev)
            if expired_with_queue is None and ev.state == "running":
                # the tracker has a filter (this event came through it); starts are in flight
                assert sim.expire_sessions() == 1
                expired_with_queue = sum(1 for e in events if e.state == "started") < 20
    per = by_vm(events)
    assert all(evs[-1].state == "succeeded" for evs in per.values()), per
    ours = {v.moid for v in vms}
    starts = Counter(t["vm_moid"] for t in sim.tasks() if t["vm_moid"] in ours)
    assert all(n == 1 for n in starts.values()) and len(starts) == 20
    assert sim.stats()["logins"] == 2
    assert any("session expired" in s for s in status)  # the tracker re-created its filter
    assert expired_with_queue  # and the dispatch met the expiry too
    await c.close()


async def test_password_never_in_logs_events_or_errors(sim_factory, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sim = sim_factory(vms=12, task_seconds=0.2)
    c = await connect(sim)
    vms = await ok_vms(sim, c, 3)
    wrong = "Wr0ng-Guest-Pa55"
    sim.set_vm(vms[0].moid, fault=("InvalidGuestLogin", "sync"))
    events = await collect(c.start_guest_network(vms, guest(sim, wrong), coalesce=0.05))
    events += await collect(c.start_guest_network(vms, guest(sim), coalesce=0.05))
    texts = [r.getMessage() for r in caplog.records]
    texts += [
        traceback.format_exception(r.exc_info[1]).__str__() for r in caplog.records if r.exc_info
    ]
    texts += [repr(e) for e in events] + [str(e.fault.to_json()) for e in events if e.fault]
    for secret in (wrong, sim.guest_password, sim.password):
        assert not any(secret in t for t in texts)
    assert any(e.fault and e.fault.type_name == "InvalidGuestLogin" for e in events)
    await c.close()


async def test_server_restart_mid_run(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=40, task_seconds=1.5, latency_ms=40)
    c = await connect(sim, wire)
    vms = await ok_vms(sim, c, 16)
    status: list[str] = []
    run = c.start_guest_network(
        vms, guest(sim), concurrency=2, coalesce=0.05, retry_delays=(0.3,), on_status=status.append
    )
    events: list[TaskEvent] = []
    restart: asyncio.Future | None = None
    async with asyncio.timeout(60):
        async for ev in run:
            events.append(ev)
            if restart is None and ev.state == "running":
                restart = asyncio.ensure_future(asyncio.to_thread(sim.restart, 0.5))
        assert restart is not None
        await restart
    per = by_vm(events)
    assert all(evs[-1].state == "succeeded" for evs in per.values()), [
        evs[-1] for evs in per.values() if evs[-1].state != "succeeded"
    ]
    ours = {v.moid for v in vms}
    starts = Counter(t["vm_moid"] for t in sim.tasks() if t["vm_moid"] in ours)
    assert set(starts.values()) == {1}  # no VM got a second task
    assert any("connection lost" in s for s in status)
    assert any(e.state == "pending" and e.fault is not None for e in events)  # waited, retried
    await c.close()


async def test_queued_tasks_are_reported_as_queued(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=20, task_seconds=0.3, max_running_tasks=1)
    c = await connect(sim, wire)
    vms = await ok_vms(sim, c, 3)
    per = by_vm(await collect(c.start_guest_network(vms, guest(sim), concurrency=3, coalesce=0.05)))
    states = {m: [e.state for e in evs] for m, evs in per.items()}
    assert all(s[-1] == "succeeded" for s in states.values())
    assert any("queued" in s for s in states.values())  # vCenter ran one at a time
    for evs in per.values():
        last = evs[-1]
        assert last.queue_time and last.start_time and last.complete_time
        assert last.queue_time <= last.start_time <= last.complete_time
    await c.close()


@pytest.mark.parametrize("mode", ["drop", "delay"])
async def test_lost_start_reply_adopts_the_running_task(sim_factory, wire: Wire, mode: str) -> None:
    """The simulator creates the task but the reply never arrives (connection dropped, or held
    past the client's timeout): the client finds the task in the VM's recentTask and tracks
    it instead of calling StartGuestNetwork_Task again."""
    sim = sim_factory(vms=10, task_seconds=0.3)
    # "delay": the client gives up after 1 s, the answer would come after 5 s
    c = await connect(sim, wire, timeout=1.0 if mode == "delay" else 10.0)
    vms = await ok_vms(sim, c, 3)
    lost = vms[1]
    # still running when the client looks (after 0.2 s backoff, or after its 1 s timeout)
    sim.set_vm(lost.moid, task_seconds=1.0 if mode == "drop" else 1.8)
    sim.lose_start_reply(lost.moid, mode, seconds=5.0 if mode == "delay" else 0.0)
    run = c.start_guest_network(vms, guest(sim), retry_delays=(0.2,), coalesce=0.05)
    per = by_vm(await collect(run))
    assert all(evs[-1].state == "succeeded" for evs in per.values()), per
    assert sim.stats()["replies_lost"] == 1
    tasks = [t for t in sim.tasks() if t["vm_moid"] == lost.moid]
    assert len(tasks) == 1, tasks  # adopted, not replayed
    evs = per[lost.moid]
    assert evs[-1].task == tasks[0]["task"] and tasks[0]["state"] == "success"
    if mode == "drop":  # a lost connection: a pending event, then a look after the backoff
        assert any(e.state == "pending" and e.fault is not None for e in evs)
        assert evs[-1].attempt == 2
    else:  # a timeout: one look at once
        assert evs[-1].attempt == 1
    starts = [p for _, p, b in wire.requests if p.endswith("/StartGuestNetwork_Task")]
    looks = [
        p for _, p, _ in wire.requests if p.endswith(f"/VirtualMachine/{lost.moid}/recentTask")
    ]
    assert len(starts) == 3 and len(looks) == 1
    await c.close()
