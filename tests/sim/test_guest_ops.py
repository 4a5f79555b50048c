"""guest.guestOperationsReady lags VMware Tools (re)starting by ``guest_ops_lag`` seconds, for
every VM; ``guest_ops_strict`` makes StartGuestNetwork refuse a VM that is not ready yet."""

from __future__ import annotations

from tests.sim.poll import until
from tests.sim.vi import VI, make_watch, updates
from tui.sim.clock import ManualClock
from tui.sim.server import SimServer

READY = "guest.guestOperationsReady"


def ready(sim: SimServer, vm: str) -> bool:
    return bool(sim.vm(vm)["guest_ops_ready"])


async def test_tools_restarting_lag_guest_ops_for_every_vm(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    sim = sim_factory(clock=clock, guest_ops_lag=2)
    assert ready(sim, "db-01") and not ready(sim, "notools-01")  # the inventory is settled
    async with VI(sim) as vi:
        await vi.login()
        w = await make_watch(vi, [READY, "guest.toolsRunningStatus"])
        await w.wait()
        moid = sim.vm("db-01")["moid"]
        sim.set_tools("db-01", "notRunning")
        sim.set_tools("db-01", "running")
        assert not ready(sim, "db-01")
        assert updates(await w.wait(max_wait=0))[moid] == ("modify", {READY: False})
        r = await vi.get("VirtualMachine", moid, READY)
        assert r.status == 200 and r.body is False
        # not strict (the default): a start is accepted before guest operations are ready
        r = await vi.start(moid)
        assert r.status == 200 and r.body["type"] == "Task"
        clock.advance(1.9)
        assert not ready(sim, "db-01")
        clock.advance(0.1)
        await until(lambda: ready(sim, "db-01"), "guest operations ready 2 s after the tools")
        assert updates(await w.wait(max_wait=0))[moid] == ("modify", {READY: True})
        # powering on starts the tools too; a VM that never had them waits for them
        sim.set_power("db-02", "poweredOff")
        sim.set_power("db-02", "poweredOn")
        sim.set_tools("notools-01", "running")
        assert not ready(sim, "db-02") and not ready(sim, "notools-01")
        clock.advance(2)
        await until(lambda: ready(sim, "db-02") and ready(sim, "notools-01"), "both ready")
        # a VM powered off before its lag ran out is not ready when it comes back
        sim.set_power("db-02", "poweredOff")
        sim.set_power("db-02", "poweredOn")
        clock.advance(1)
        sim.set_power("db-02", "poweredOff")
        sim.set_power("db-02", "poweredOn")
        clock.advance(1.5)
        assert not ready(sim, "db-02")
        clock.advance(0.5)
        await until(lambda: ready(sim, "db-02"), "ready 2 s after the last power-on")
        assert (await w.wait(max_wait=0)).status == 200
    added = sim.add_vm("settled-01", ip="10.1.2.3")
    assert ready(sim, added)  # add_vm: a VM that has been running for a while


async def test_no_lag_means_ready_with_the_tools(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(guest_ops_lag=0, clone_tools_seconds=0)
    sim.set_tools("db-01", "notRunning")
    sim.set_tools("db-01", "running")
    assert ready(sim, "db-01")
    clone = sim.clone_vm("web-golden")
    await until(lambda: ready(sim, clone), "the clone's tools and guest ops at once")


async def test_strict_guest_ops_refuse_a_start_until_ready(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    sim = sim_factory(clock=clock, guest_ops_strict=True, guest_ops_lag=2)
    moid = sim.clone_vm("web-golden")
    async with VI(sim) as vi:
        await vi.login()
        r = await vi.start(moid)  # tools not up yet
        assert r.fault == "InvalidState"
        assert r.body["faultMessage"][0]["key"] == "vim.fault.InvalidState.toolsNotRunning"
        clock.advance(1)  # tools up, guest operations not yet
        await until(lambda: sim.vm(moid)["tools"] == "guestToolsRunning", "tools up")
        r = await vi.start(moid)
        assert r.fault == "InvalidState"
        assert r.body["faultMessage"][0]["key"] == "vim.fault.InvalidState.toolsNotReady"
        clock.advance(2)
        await until(lambda: ready(sim, moid), "guest operations ready")
        r = await vi.start(moid)
        assert r.status == 200 and r.body["type"] == "Task"
    assert sim.stats()["tasks_started"] == 1
