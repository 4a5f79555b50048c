"""CreateFilter + WaitForUpdatesEx: enter/modify/leave, versions, long-poll timing, truncation,
cancellation, collectors per session. Every body registry-checked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.sim.poll import until
from tests.sim.vi import VI, Watch, make_watch, mor, updates, view_spec, wait_body
from tui.sim.clock import ManualClock
from tui.sim.server import SimServer


def _pending_waits(sim: SimServer) -> int:
    return int(sim.stats()["live"]["pending_waits"])


@pytest.fixture
async def vi(sim: SimServer) -> AsyncIterator[VI]:
    async with VI(sim) as client:
        await client.login()
        yield client


async def test_first_wait_enters_every_object_then_times_out(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    r = await w.wait()
    assert r.status == 200 and r.body["version"] == "1" and "truncated" not in r.body
    ups = updates(r)
    assert len(ups) == len(sim.vm_names())
    assert {k for k, _ in ups.values()} == {"enter"}
    web = ups[sim.vm("web-01")["moid"]][1]
    assert web == {
        "name": "web-01",
        "runtime.powerState": "poweredOn",
        "guest.ipAddress": "10.0.10.5",
        "guest.toolsRunningStatus": "guestToolsRunning",
    }
    t = time.monotonic()
    r = await w.wait(max_wait=1)
    elapsed = time.monotonic() - t
    assert r.status == 204 and r.body is None
    assert 0.9 <= elapsed < 1.8
    t = time.monotonic()
    r = await w.wait(max_wait=0)
    assert r.status == 204 and time.monotonic() - t < 0.5


async def test_max_wait_is_kept_on_the_simulator_clock(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    sim = sim_factory(clock=clock)
    async with VI(sim) as vi:
        await vi.login()
        w = await make_watch(vi)
        await w.wait()
        pending = asyncio.create_task(w.wait(max_wait=1))
        await until(lambda: _pending_waits(sim) == 1, "the long-poll is pending")
        clock.advance(0.9)
        await asyncio.sleep(0.2)  # (real time: it must not answer early)
        assert not pending.done()
        clock.advance(0.1)
        r = await asyncio.wait_for(pending, 10)
        assert r.status == 204 and r.body is None
        assert sim.stats()["wait_timeouts"] == 1


async def test_long_poll_wakes_on_change_with_modify(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    await w.wait()
    moid = sim.vm("db-01")["moid"]

    async def change_later() -> None:
        await asyncio.sleep(0.3)
        sim.set_ip("db-01", "10.9.9.9")
        sim.set_power("db-02", "poweredOff")

    t = time.monotonic()
    changer = asyncio.create_task(change_later())
    r = await w.wait(max_wait=10)
    await changer
    assert r.status == 200 and time.monotonic() - t < 2.0
    ups = updates(r)
    if len(ups) == 1:  # the two changes may straddle two answers
        r2 = await w.wait(max_wait=2)
        ups.update(updates(r2))
    assert ups[moid] == ("modify", {"guest.ipAddress": "10.9.9.9"})
    kind, changed = ups[sim.vm("db-02")["moid"]]
    # powering off also takes the guest address away and stops the tools
    assert kind == "modify" and changed == {
        "runtime.powerState": "poweredOff",
        "guest.ipAddress": None,
        "guest.toolsRunningStatus": "guestToolsNotRunning",
    }
    # an unset value is an assign without val
    change_set = next(
        u
        for fs in (r2.body if len(updates(r)) == 1 else r.body)["filterSet"]
        for u in fs["objectSet"]
        if u["obj"]["value"] == sim.vm("db-02")["moid"]
    )
    ip_change = next(c for c in change_set["changeSet"] if c["name"] == "guest.ipAddress")
    assert ip_change == {"_typeName": "PropertyChange", "name": "guest.ipAddress", "op": "assign"}


async def test_added_and_removed_vms_enter_and_leave(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    await w.wait()
    new = sim.add_vm("new-01", "/DC1/vm/team-b", ip="10.1.1.1")
    gone = sim.vm("cache-02")["moid"]
    sim.remove_vm("cache-02")
    r = await w.wait(max_wait=2)
    ups = updates(r)
    assert ups[new] == (
        "enter",
        {
            "name": "new-01",
            "runtime.powerState": "poweredOn",
            "guest.ipAddress": "10.1.1.1",
            "guest.toolsRunningStatus": "guestToolsRunning",
        },
    )
    assert ups[gone] == ("leave", {})
    leave = next(
        u for fs in r.body["filterSet"] for u in fs["objectSet"] if u["obj"]["value"] == gone
    )
    assert "changeSet" not in leave and leave["obj"] == mor("VirtualMachine", gone)


async def test_destroying_the_view_makes_its_vms_leave(vi: VI, sim: SimServer) -> None:
    view = await vi.vm_view()
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "CreateFilter",
        {"spec": view_spec(view, ["name"]), "partialUpdates": False},
    )
    assert r.status == 200
    w = Watch(vi, "propertyCollector", r.body["value"])
    await w.wait()
    assert (await vi.post("ContainerView", view["value"], "DestroyView")).status == 204
    r = await w.wait(max_wait=2)
    ups = updates(r)
    assert len(ups) == len(sim.vm_names()) and {k for k, _ in ups.values()} == {"leave"}


async def test_another_sessions_views_do_not_reach_this_filter(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    await w.wait()

    def untouched() -> bool:  # no filter to re-resolve, our view's cached members still valid
        st = sim.state
        ours = st.sessions.by_token[vi.token or ""].views.values()
        return not any(f.needs_resolve for f in st.collectors.filters.values()) and all(
            v._cache_version == st.registry.structure_version for v in ours
        )

    async with VI(sim) as other:
        await other.login()
        view = await other.vm_view()
        assert (await other.post("ContainerView", view["value"], "DestroyView")).status == 204
        assert sim.call(untouched)
        await other.vm_view()
        await other.post("SessionManager", "SessionManager", "Logout")
        assert sim.call(untouched)
    assert (await w.wait(max_wait=0)).status == 204  # and nothing to report


async def test_max_object_updates_truncates_and_continues(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    total: set[str] = set()
    r = await w.wait(max_updates=10)
    assert r.body["truncated"] is True and len(updates(r)) == 10
    total |= set(updates(r))
    while r.status == 200 and r.body.get("truncated"):
        r = await w.wait(max_updates=10)
        total |= set(updates(r))
    assert len(total) == len(sim.vm_names())
    assert (await w.wait(max_wait=0)).status == 204


async def test_changes_coalesce_per_object(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    await w.wait()
    for ip in ("10.2.0.1", "10.2.0.2", "10.2.0.3"):
        sim.set_ip("edge-01", ip)
    sim.set_ip("edge-02", "192.168.100.12")  # unchanged value: no update at all
    r = await w.wait(max_wait=1)
    assert updates(r) == {sim.vm("edge-01")["moid"]: ("modify", {"guest.ipAddress": "10.2.0.3"})}


async def test_stale_version_is_invalid_collector_version(vi: VI) -> None:
    w = await make_watch(vi)
    await w.wait()
    r = await vi.post("PropertyCollector", w.collector, "WaitForUpdatesEx", wait_body("42", 0))
    assert r.fault == "InvalidCollectorVersion"
    # version "" starts over: everything enters again
    w.version = ""
    r = await w.wait()
    assert {k for k, _ in updates(r).values()} == {"enter"}


async def test_cancel_wait_for_updates(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    await w.wait()
    async with VI(sim) as other:
        other.token = vi.token  # the same session from a second connection
        pending = asyncio.create_task(w.wait(max_wait=30))
        await until(lambda: _pending_waits(sim) == 1, "the long-poll is pending")
        assert sim.stats()["live"]["pending_waits"] == 1
        r = await other.post("PropertyCollector", w.collector, "CancelWaitForUpdates")
        assert r.status == 204
        t = time.monotonic()
        res = await asyncio.wait_for(pending, 5)
        assert res.fault == "RequestCanceled" and time.monotonic() - t < 1.0


async def test_server_stops_waiting_when_the_client_leaves(sim: SimServer) -> None:
    vi = VI(sim)
    await vi.login()
    w = await make_watch(vi)
    await w.wait()
    poll = asyncio.create_task(
        vi.post("PropertyCollector", w.collector, "WaitForUpdatesEx", {"version": w.version})
    )  # no maxWaitSeconds: forever
    await until(lambda: _pending_waits(sim) == 1, "the long-poll is pending")
    assert sim.stats()["live"]["pending_waits"] == 1
    poll.cancel()
    await vi.http.aclose()  # the connection closes
    await until(lambda: _pending_waits(sim) == 0, "the server stopped waiting")
    assert sim.stats()["live"]["pending_waits"] == 0


async def test_destroy_filter_and_collector(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    r = await vi.get("PropertyCollector", w.collector, "filter")
    assert r.body == [mor("PropertyFilter", w.filter)]
    assert (await vi.get("PropertyFilter", w.filter, "partialUpdates")).body is False
    spec = (await vi.get("PropertyFilter", w.filter, "spec")).body
    assert spec["_typeName"] == "PropertyFilterSpec"
    r = await vi.post("PropertyFilter", w.filter, "DestroyPropertyFilter")
    assert r.status == 204
    assert (await vi.get("PropertyFilter", w.filter, "spec")).fault == "ManagedObjectNotFound"
    assert (await w.wait(max_wait=0)).status == 204  # nothing to report any more
    r = await vi.post("PropertyCollector", w.collector, "DestroyPropertyCollector")
    assert r.status == 204
    r = await vi.post("PropertyCollector", w.collector, "WaitForUpdatesEx", wait_body("", 0))
    assert r.fault == "ManagedObjectNotFound"
    assert sim.stats()["live"]["collectors"] == 0


async def test_default_collector_is_per_session(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi, own_collector=False)
    await w.wait()
    async with VI(sim) as other:
        await other.login()
        r = await other.get("PropertyCollector", "propertyCollector", "filter")
        assert r.status == 204  # the other session sees none of our filters
        r = await other.get("PropertyFilter", w.filter, "partialUpdates")
        assert r.fault == "ManagedObjectNotFound"


async def test_session_expiry_ends_a_pending_long_poll(vi: VI, sim: SimServer) -> None:
    w = await make_watch(vi)
    await w.wait()
    pending = asyncio.create_task(w.wait(max_wait=30))
    await until(lambda: _pending_waits(sim) == 1, "the long-poll is pending")
    sim.expire_sessions()
    res = await asyncio.wait_for(pending, 5)
    assert res.fault == "NotAuthenticated"
    assert sim.stats()["live"]["filters"] == 0


async def test_filter_on_a_task_and_its_info_changes(vi: VI, sim: SimServer) -> None:
    vm = sim.vm("web-04")
    r = await vi.start(vm["moid"])
    task = r.body
    col = (await vi.post("PropertyCollector", "propertyCollector", "CreatePropertyCollector")).body[
        "value"
    ]
    spec = {
        "_typeName": "PropertyFilterSpec",
        "propSet": [
            {
                "_typeName": "PropertySpec",
                "type": "Task",
                "pathSet": ["info.state", "info.progress", "info.error"],
            }
        ],
        "objectSet": [{"_typeName": "ObjectSpec", "obj": task}],
    }
    r = await vi.post(
        "PropertyCollector", col, "CreateFilter", {"spec": spec, "partialUpdates": False}
    )
    assert r.status == 200
    version, states, progress = "", [], []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = await vi.post("PropertyCollector", col, "WaitForUpdatesEx", wait_body(version, 2))
        if r.status == 204:
            continue
        version = r.body["version"]
        got = updates(r)[task["value"]][1]
        if "info.state" in got:
            states.append(got["info.state"])
        if got.get("info.progress") is not None:
            progress.append(got["info.progress"])
        if states and states[-1] == "success":
            break
    assert states[0] in ("queued", "running") and states[-1] == "success"
    assert progress == sorted(progress) and len(progress) >= 2


async def test_a_change_costs_one_object_not_the_inventory(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(vms=3000)
    async with VI(sim) as vi:
        await vi.login()
        w = await make_watch(vi)
        await w.wait()
        assert sim.stats()["objects_evaluated"] == 3000  # the initial snapshot
        target = sim.ok_vms[100]
        sim.set_ip(target, "10.123.0.1")
        r = await w.wait(max_wait=2)
        assert updates(r) == {sim.vm(target)["moid"]: ("modify", {"guest.ipAddress": "10.123.0.1"})}
        assert sim.stats()["objects_evaluated"] == 3001  # only the dirty VM was read


async def test_idle_long_polls_do_not_spin(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(vms=500)
    async with VI(sim) as vi:
        await vi.login()
        watches = [await make_watch(vi, ["name"]) for _ in range(5)]
        for w in watches:
            await w.wait()
        calls_before = sim.stats()["wait_calls"]
        t = time.process_time()
        results = await asyncio.gather(*(w.wait(max_wait=1) for w in watches))
        assert all(r.status == 204 for r in results)
        # five 1-s polls in one process (client + server): far below a busy loop's 5 CPU-s
        assert time.process_time() - t < 0.5
        assert sim.stats()["wait_calls"] == calls_before + 5
