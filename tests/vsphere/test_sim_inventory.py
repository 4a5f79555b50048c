"""Inventory listing and live updates against the simulator."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Callable

import pytest

from tests.vsphere.conftest import Wire, connect, eventually, guest
from tui.vsphere import InventoryPathError, VMBatch, VMChange, VMWatch


async def test_list_pages_and_paths(sim_factory, wire: Wire) -> None:
    n = 2300
    sim = sim_factory(vms=n)
    c = await connect(sim, wire)
    before = len(wire.requests)
    vms = await c.list_vms()
    used = wire.members()[before:]
    assert len(vms) == n and len({v.moid for v in vms}) == n
    pages = used.count("RetrievePropertiesEx") + used.count("ContinueRetrievePropertiesEx")
    assert pages >= 3  # maxObjects 1000 really pages
    assert len(used) <= math.ceil(n / 1000) + 6
    assert used[0] == "CreateContainerView" and used[-1] == "DestroyView"
    spec = next(b for _, p, b in wire.requests if p.endswith("/RetrievePropertiesEx"))
    assert spec["options"]["maxObjects"] == 1000
    vm_paths = next(
        ps["pathSet"] for ps in spec["specSet"][0]["propSet"] if ps["type"] == "VirtualMachine"
    )
    assert set(vm_paths) == {
        "name", "parent", "runtime.powerState", "runtime.connectionState",
        "guest.toolsRunningStatus", "guest.guestOperationsReady", "guest.ipAddress",
        "guest.hostName", "summary.config.instanceUuid", "guest.net", "config.annotation",
    }  # fmt: skip
    for v in vms[:: n // 7]:
        snap = sim.vm(v.moid)
        assert v.path == snap["path"] and v.name == snap["name"]
        assert v.folder == v.path.rsplit("/", 1)[0]
        assert v.power_state == snap["power"] and v.instance_uuid == snap["instance_uuid"]
    assert sim.stats()["live"]["views"] == 0 and sim.stats()["live"]["retrievals"] == 0
    await c.close()


async def test_list_under_a_root_path(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=60)
    c = await connect(sim, wire)
    everything = await c.list_vms()
    folder = everything[0].folder
    some = await c.list_vms(folder + "/")
    assert some and all(v.path.startswith(folder + "/") for v in some)
    assert {v.moid for v in some} == {v.moid for v in everything if v.path.startswith(folder + "/")}
    dc = "/" + folder.split("/")[1]
    assert len(await c.list_vms(dc)) == len([v for v in everything if v.path.startswith(dc + "/")])
    with pytest.raises(InventoryPathError, match="inventory path not found: /nope/vm"):
        await c.list_vms("/nope/vm")
    with pytest.raises(InventoryPathError, match="must start with '/'"):
        await c.list_vms("DC1/vm")
    assert sim.stats()["live"]["views"] == 0
    await c.close()


async def next_change(
    w: VMWatch, pred: Callable[[VMChange], bool], within: float = 10.0
) -> tuple[VMChange, list[VMBatch]]:
    seen: list[VMBatch] = []
    async with asyncio.timeout(within):
        while True:
            batch = await w.__anext__()
            seen.append(batch)
            for ch in batch.changes:
                if pred(ch):
                    return ch, seen


async def test_watch_power_ip_remove_add(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=20, task_seconds=0.3)
    c = await connect(sim, wire)
    w = c.watch_vms()
    first = await w.__anext__()
    assert first.resync and len(first.changes) == 20
    assert all(ch.kind == "enter" and ch.vm is not None for ch in first.changes)
    vms = {ch.moid: ch.vm for ch in first.changes if ch.vm}
    on = next(v for v in vms.values() if v.name in sim.ok_vms)

    sim.set_power(on.moid, "poweredOff")
    ch, _ = await next_change(w, lambda ch: ch.moid == on.moid and "power_state" in ch.changed)
    assert ch.kind == "modify" and ch.vm is not None and ch.vm.power_state == "poweredOff"
    sim.set_power(on.moid, "poweredOn")
    sim.set_vm(on.moid, tools="running")

    target = next(v for v in vms.values() if v.name in sim.ok_vms and v.moid != on.moid)
    sim.set_vm(target.moid, ip=None, acquire_ip="10.99.0.7")
    await next_change(
        w, lambda ch: ch.moid == target.moid and ch.vm is not None and ch.vm.ip_address is None
    )
    run = c.start_guest_network([target], guest(sim), coalesce=0.05)
    events = await run.wait()
    assert events[-1].state == "succeeded"
    ch, _ = await next_change(w, lambda ch: ch.moid == target.moid and "ip_address" in ch.changed)
    assert ch.vm is not None and ch.vm.ip_address == "10.99.0.7"

    sim.remove_vm(target.moid)
    ch, _ = await next_change(w, lambda ch: ch.moid == target.moid and ch.kind == "leave")
    assert ch.vm is None
    folder = on.folder
    new = sim.add_vm("added-01", folder)
    ch, _ = await next_change(w, lambda ch: ch.moid == new and ch.kind == "enter")
    assert ch.vm is not None and ch.vm.path == f"{folder}/added-01"

    await w.aclose()
    live = sim.stats()["live"]
    assert live["filters"] == 0 and live["collectors"] == 0 and live["views"] == 0
    assert live["pending_waits"] == 0
    await c.close()


async def test_watch_resyncs_after_session_expiry(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=10)
    c = await connect(sim, wire)
    status: list[str] = []
    w = c.watch_vms(on_status=status.append, max_wait=5)
    first = await w.__anext__()
    assert first.resync
    assert sim.expire_sessions() == 1
    async with asyncio.timeout(15):
        again = await w.__anext__()
    assert again.resync and len(again.changes) == 10
    assert any("session expired" in s for s in status)
    vm = first.changes[0].moid
    sim.set_power(vm, "suspended")
    ch, _ = await next_change(w, lambda ch: ch.moid == vm and "power_state" in ch.changed)
    assert ch.vm is not None and ch.vm.power_state == "suspended"
    assert sim.stats()["logins"] == 2
    await w.aclose()
    await c.close()
    assert sim.stats()["live"]["filters"] == 0


async def test_watch_with_a_moid_suffix_tags_every_moid(sim_factory, wire: Wire) -> None:
    """``moid_suffix`` (a view over several vCenters): the snapshot, a change and a leave all
    carry it, in ``VMChange.moid`` and ``VM.moid``; nothing else about the VMs differs."""
    sim = sim_factory(vms=6)
    c = await connect(sim, wire)
    plain = c.watch_vms()
    tagged = c.watch_vms(moid_suffix="@prod")
    a, b = await plain.__anext__(), await tagged.__anext__()
    assert b.resync and sorted(ch.moid for ch in b.changes) == sorted(
        f"{ch.moid}@prod" for ch in a.changes
    )
    by_moid = {ch.moid: ch.vm for ch in a.changes}
    for ch in b.changes:
        assert ch.vm is not None and ch.vm.moid == ch.moid
        assert (
            dataclasses.replace(ch.vm, moid=ch.moid.removesuffix("@prod"))
            == by_moid[ch.moid.removesuffix("@prod")]
        )
    vm = a.changes[0].moid
    sim.set_power(vm, "suspended")
    ch, _ = await next_change(tagged, lambda ch: "power_state" in ch.changed)
    assert ch.moid == f"{vm}@prod" and ch.vm is not None and ch.vm.moid == ch.moid
    sim.remove_vm(vm)
    ch, _ = await next_change(tagged, lambda ch: ch.kind == "leave")
    assert ch.moid == f"{vm}@prod" and ch.vm is None
    await plain.aclose()
    await tagged.aclose()
    await c.close()


async def test_watch_survives_server_restart(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=8)
    c = await connect(sim, wire)
    status: list[str] = []
    w = c.watch_vms(on_status=status.append, max_wait=5, backoff=(0.2, 0.4))
    assert (await w.__anext__()).resync
    nxt = asyncio.ensure_future(w.__anext__())
    await eventually(lambda: sim.stats()["live"]["pending_waits"] == 1, "a long-poll is pending")
    await asyncio.to_thread(sim.restart, 0.5)
    async with asyncio.timeout(20):
        again = await nxt
    assert again.resync and len(again.changes) == 8
    assert any("retrying in" in s or "session expired" in s for s in status)
    await w.aclose()
    await c.close()
    live = sim.stats()["live"]
    assert live["filters"] == 0 and live["views"] == 0 and live["sessions"] == 0


async def test_cancelled_consumer_and_close_release_server_objects(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=5)
    c = await connect(sim, wire)
    w = c.watch_vms(max_wait=30)

    async def consume() -> None:
        async for _ in w:
            pass

    task = asyncio.create_task(consume())
    # first batch done, a long-poll is pending
    await eventually(lambda: sim.stats()["live"]["pending_waits"] == 1, "a long-poll is pending")
    assert sim.stats()["live"]["pending_waits"] == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await c.close()
    assert wire.count("CancelWaitForUpdates") == 1
    live = sim.stats()["live"]
    assert live == {
        **live,
        "filters": 0,
        "collectors": 0,
        "views": 0,
        "sessions": 0,
        "pending_waits": 0,
    }


async def test_close_while_a_consumer_waits_ends_its_iteration(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=5)
    c = await connect(sim, wire)
    w = c.watch_vms(max_wait=30)
    batches: list[VMBatch] = []

    async def consume() -> None:
        async for b in w:
            batches.append(b)

    task = asyncio.create_task(consume())
    await eventually(
        lambda: len(batches) == 1 and sim.stats()["live"]["pending_waits"] == 1,
        "the first batch is consumed and the next long-poll is pending",
    )
    await c.close()  # from another task, while consume() waits for the next batch
    async with asyncio.timeout(5):
        await task  # ended by StopAsyncIteration, not an exception
    assert len(batches) == 1 and batches[0].resync
    assert [m for m in wire.members() if m.startswith(("Cancel", "Destroy", "Logout"))] == [
        "CancelWaitForUpdates",
        "DestroyPropertyFilter",
        "DestroyPropertyCollector",
        "DestroyView",
        "Logout",
    ]
    assert sim.stats()["live"]["sessions"] == 0


async def test_watch_error_reaches_the_consumer(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=5)
    c = await connect(sim, wire)
    with pytest.raises(InventoryPathError, match="inventory path not found: /nope"):
        async for _ in c.watch_vms("/nope"):
            pass
    await c.close()
