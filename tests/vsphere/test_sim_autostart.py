"""AutoStarter (the engine of `guestnet watch`) against the simulator over HTTPS.

Every test counts the StartGuestNetwork_Task calls the simulator received per VM: the promise is
"every matching VM started exactly once", across restarts of the watcher too.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.vsphere.conftest import Wire, connect, eventually, guest
from tui.config.ledger import Ledger
from tui.vsphere import Client
from tui.vsphere.autostart import AutoStarter, WatchEvent, WatchRules

FAST = {"settle": 0.2, "verify_timeout": 5.0, "backoff": (0.3,), "concurrency": 4}


def starts(sim) -> Counter[str]:
    return Counter(t["vm"] for t in sim.tasks() if "StartGuestNetwork" in t["method"])


def ledger_for(c: Client, tmp_path: Path) -> Ledger:
    return Ledger(f"{c.host}:{c.port}", tmp_path / "ledger.jsonl").load()


async def watch_until(
    w: AutoStarter, done: Callable[[list[WatchEvent]], bool], within: float = 20.0
) -> list[WatchEvent]:
    seen: list[WatchEvent] = []
    async with asyncio.timeout(within):
        async for ev in w:
            seen.append(ev)
            if done(seen):
                break
    return seen


def kinds(events: list[WatchEvent], kind: str) -> list[str]:
    return [e.vm.name for e in events if e.kind == kind and e.vm is not None]


async def test_new_matching_vms_are_started_once_and_verified(
    sim_factory, wire: Wire, tmp_path: Path
) -> None:
    sim = sim_factory(vms=30, task_seconds=0.2)
    c = await connect(sim, wire)
    rules = WatchRules(patterns=("zz*-ic-*",), **FAST)
    try:
        async with AutoStarter(c, guest(sim), rules, ledger_for(c, tmp_path)) as w:
            await watch_until(w, lambda ev: any(e.kind == "status" for e in ev))
            for i in range(3):
                sim.add_vm(f"zzpool-ic-{i}")
            sim.add_vm("unrelated-vm")
            events = await watch_until(w, lambda ev: len(kinds(ev, "verified")) == 3)
    finally:
        await c.close()
    assert sorted(kinds(events, "verified")) == ["zzpool-ic-0", "zzpool-ic-1", "zzpool-ic-2"]
    assert sorted(kinds(events, "started")) == ["zzpool-ic-0", "zzpool-ic-1", "zzpool-ic-2"]
    counts = starts(sim)
    assert {n: counts[n] for n in counts if n.startswith("zz")} == {
        f"zzpool-ic-{i}": 1 for i in range(3)
    }
    assert counts["unrelated-vm"] == 0
    verdict = next(e.verdict for e in events if e.kind == "verified")
    assert verdict is not None and verdict.verified is True and verdict.ip_after


async def test_a_restarted_watcher_starts_nothing_twice(
    sim_factory, wire: Wire, tmp_path: Path
) -> None:
    sim = sim_factory(vms=10, task_seconds=0.2)
    for i in range(2):
        sim.add_vm(f"zzold-ic-{i}")
    rules = WatchRules(patterns=("zz*-ic-*",), **FAST)
    for round_ in range(2):
        c = await connect(sim, wire)
        try:
            async with AutoStarter(c, guest(sim), rules, ledger_for(c, tmp_path)) as w:
                if round_ == 0:
                    await watch_until(w, lambda ev: len(kinds(ev, "succeeded")) == 2)
                else:
                    await watch_until(w, lambda ev: any(e.kind == "status" for e in ev))
                    sim.add_vm("zznew-ic-0")
                    await watch_until(w, lambda ev: "zznew-ic-0" in kinds(ev, "succeeded"))
        finally:
            await c.close()
    assert {n: k for n, k in starts(sim).items() if n.startswith("zz")} == {
        "zzold-ic-0": 1,
        "zzold-ic-1": 1,
        "zznew-ic-0": 1,
    }


async def test_an_open_dispatch_is_adopted_not_called_again(
    sim_factory, wire: Wire, tmp_path: Path
) -> None:
    """A watcher killed after its call (the ledger says dispatched, vCenter has the task)."""
    sim = sim_factory(vms=10, task_seconds=1.0)
    moid = sim.add_vm("zzkill-ic-0", power="poweredOff")
    c = await connect(sim, wire)
    try:
        vm = next(v for v in await c.list_vms() if v.moid == moid)
        led = ledger_for(c, tmp_path)
        led.dispatch(vm, ip_before=vm.ip_address, mac_before=None)
        sim.set_vm(moid, power="poweredOn")
        await eventually(lambda: sim.vm(moid)["power"] == "poweredOn", "powered on")
        other = await connect(sim)  # the dead watcher's call, as vCenter saw it
        try:
            vm = next(v for v in await other.list_vms() if v.moid == moid)
            run = await other.start_guest_network([vm], guest(sim))
            await eventually(lambda: starts(sim)["zzkill-ic-0"] == 1, "the first call's task")
            await run.aclose()
        finally:
            await other.close()
        rules = WatchRules(patterns=("zz*-ic-*",), **FAST)
        async with AutoStarter(c, guest(sim), rules, ledger_for(c, tmp_path)) as w:
            events = await watch_until(w, lambda ev: "zzkill-ic-0" in kinds(ev, "succeeded"))
    finally:
        await c.close()
    assert "zzkill-ic-0" in kinds(events, "adopted")
    assert starts(sim)["zzkill-ic-0"] == 1
    entry = ledger_for(c, tmp_path).get(vm)
    assert entry is not None and entry.succeeded and not entry.open


async def test_a_dispatch_vcenter_never_saw_is_started(
    sim_factory, wire: Wire, tmp_path: Path
) -> None:
    sim = sim_factory(vms=10, task_seconds=0.2)
    moid = sim.add_vm("zzlost-ic-0")
    c = await connect(sim, wire)
    try:
        vm = next(v for v in await c.list_vms() if v.moid == moid)
        ledger_for(c, tmp_path).dispatch(vm)  # killed between the ledger write and the call
        rules = WatchRules(patterns=("zz*-ic-*",), **FAST)
        async with AutoStarter(c, guest(sim), rules, ledger_for(c, tmp_path)) as w:
            events = await watch_until(w, lambda ev: "zzlost-ic-0" in kinds(ev, "succeeded"))
    finally:
        await c.close()
    assert "zzlost-ic-0" not in kinds(events, "adopted") and starts(sim)["zzlost-ic-0"] == 1


async def test_an_old_open_dispatch_with_no_task_is_never_called_again(
    sim_factory, wire: Wire, tmp_path: Path
) -> None:
    sim = sim_factory(vms=10, task_seconds=0.2)
    moid = sim.add_vm("zzstale-ic-0")
    c = await connect(sim, wire)
    try:
        vm = next(v for v in await c.list_vms() if v.moid == moid)
        ledger_for(c, tmp_path).dispatch(vm)
        rules = WatchRules(patterns=("zz*-ic-*",), **FAST)
        later = time.time() + 3600  # the watcher comes back an hour later
        led = ledger_for(c, tmp_path)
        async with AutoStarter(c, guest(sim), rules, led, wall=lambda: later) as w:
            events = await watch_until(w, lambda ev: "zzstale-ic-0" in kinds(ev, "unknown"))
    finally:
        await c.close()
    assert starts(sim)["zzstale-ic-0"] == 0
    assert "not started again" in next(e.message for e in events if e.kind == "unknown")


async def test_waits_for_power_and_retries_failures_then_gives_up(
    sim_factory, wire: Wire, tmp_path: Path
) -> None:
    sim = sim_factory(vms=10, task_seconds=0.2)
    off = sim.add_vm("zzoff-ic-0", power="poweredOff")
    sim.add_vm("zzbad-ic-0", fault=("CustomizationFault", "task"))
    c = await connect(sim, wire)
    rules = WatchRules(patterns=("zz*-ic-*",), retries=1, **FAST)
    try:
        async with AutoStarter(c, guest(sim), rules, ledger_for(c, tmp_path)) as w:
            first = await watch_until(w, lambda ev: "zzoff-ic-0" in kinds(ev, "waiting"))
            assert starts(sim)["zzoff-ic-0"] == 0
            sim.set_vm(off, power="poweredOn")
            events = await watch_until(
                w,
                lambda ev: "zzoff-ic-0" in kinds(ev, "verified") and len(kinds(ev, "failed")) == 2,
            )
    finally:
        await c.close()
    assert "power" in next(e.message for e in first if e.kind == "waiting")
    failed = [e.message for e in events if e.kind == "failed"]
    assert "retry 1/1" in failed[0] and "gave up after 2" in failed[1]
    assert starts(sim)["zzbad-ic-0"] == 2 and starts(sim)["zzoff-ic-0"] == 1


async def test_survives_session_expiry_and_a_vcenter_restart(
    sim_factory, wire: Wire, tmp_path: Path
) -> None:
    sim = sim_factory(vms=10, task_seconds=0.5)
    c = await connect(sim, wire)
    rules = WatchRules(patterns=("zz*-ic-*",), **FAST)
    try:
        async with AutoStarter(c, guest(sim), rules, ledger_for(c, tmp_path)) as w:
            await watch_until(w, lambda ev: any(e.kind == "status" for e in ev))
            sim.add_vm("zza-ic-0")
            await watch_until(w, lambda ev: "zza-ic-0" in kinds(ev, "started"))
            sim.expire_sessions()
            sim.add_vm("zza-ic-1")
            await watch_until(w, lambda ev: "zza-ic-1" in kinds(ev, "succeeded"), within=40)
            sim.restart(down_seconds=0.5)
            sim.add_vm("zza-ic-2")
            await watch_until(w, lambda ev: "zza-ic-2" in kinds(ev, "succeeded"), within=40)
    finally:
        await c.close()
    assert {n: k for n, k in starts(sim).items() if n.startswith("zz")} == {
        "zza-ic-0": 1,
        "zza-ic-1": 1,
        "zza-ic-2": 1,
    }


@pytest.mark.parametrize("skip", [True])
async def test_skip_existing_leaves_present_vms_alone(
    sim_factory, wire: Wire, tmp_path: Path, skip: bool
) -> None:
    sim = sim_factory(vms=10, task_seconds=0.2)
    sim.add_vm("zzhere-ic-0")
    c = await connect(sim, wire)
    rules = WatchRules(patterns=("zz*-ic-*",), skip_existing=skip, **FAST)
    try:
        async with AutoStarter(c, guest(sim), rules, ledger_for(c, tmp_path)) as w:
            await watch_until(w, lambda ev: "zzhere-ic-0" in kinds(ev, "skipped"))
            sim.add_vm("zznew-ic-0")
            await watch_until(w, lambda ev: "zznew-ic-0" in kinds(ev, "succeeded"))
    finally:
        await c.close()
    assert starts(sim)["zzhere-ic-0"] == 0 and starts(sim)["zznew-ic-0"] == 1
