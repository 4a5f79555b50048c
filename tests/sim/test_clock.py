"""The simulator's injectable clock: ManualClock itself, and a server that runs on one."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.sim.poll import until
from tests.sim.vi import VI
from tui.sim.clock import Clock, ManualClock
from tui.sim.server import SimServer

START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


async def test_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(start=START)
    assert (clock.time(), clock.monotonic()) == (START, 0.0)
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("b", 2.0), ("a", 1.0))]
    await until(lambda: clock.waiting() == 2, "both sleep")
    clock.advance(0.5)
    await asyncio.sleep(0.05)  # (real time: nothing is due yet)
    assert woke == []
    clock.advance(2.0)  # both come due: they wake in deadline order
    await asyncio.gather(*tasks)
    assert woke == ["a", "b"] and clock.waiting() == 0
    assert (clock.time(), clock.monotonic()) == (START + 2.5, 2.5)
    await asyncio.wait_for(clock.sleep_until(1.0), 1)  # a deadline in the past: at once
    with pytest.raises(ValueError, match="forward only"):
        clock.advance(-1)


async def test_manual_timers_fire_once_due_and_not_when_cancelled() -> None:
    clock = ManualClock()
    fired: list[int] = []
    clock.call_later(1.0, lambda: fired.append(1))
    clock.call_later(3.0, lambda: fired.append(3))
    clock.call_later(2.0, lambda: fired.append(2)).cancel()
    assert clock.waiting() == 2
    clock.advance(2.5)
    await until(lambda: fired == [1], "the first timer fired")
    clock.advance(1.0)
    await until(lambda: fired == [1, 3], "the last timer fired")
    assert clock.waiting() == 0


async def test_advance_from_another_thread_wakes_a_sleeper_on_this_loop() -> None:
    clock = ManualClock()
    sleeping = asyncio.create_task(clock.sleep(5))
    await until(clock.waiting, "it sleeps")
    thread = threading.Thread(target=clock.advance, args=(5,))
    thread.start()
    thread.join()
    await asyncio.wait_for(sleeping, 5)


def test_the_default_clock_is_real_time() -> None:
    sim = SimServer()
    assert type(sim.clock) is Clock
    assert abs(sim.clock.time() - time.time()) < 1
    assert abs(sim.clock.monotonic() - time.monotonic()) < 1


async def test_a_server_reports_and_stamps_its_clock_time(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(start=START)
    sim = sim_factory(clock=clock)
    assert sim.clock is clock
    async with VI(sim) as vi:
        login = await vi.login()
        assert login.body["loginTime"] == "2023-11-14T22:13:20.000Z"
        clock.advance(1.5)
        r = await vi.post("ServiceInstance", "ServiceInstance", "CurrentTime")
        assert r.body == "2023-11-14T22:13:21.500Z"
        r = await vi.get("ServiceInstance", "ServiceInstance", "serverClock")
        assert r.body == "2023-11-14T22:13:21.500Z"
        task = (await vi.start(sim.vm("web-01")["moid"])).body["value"]

        async def running() -> bool:
            return (await vi.task_info(task))["state"] == "running"

        await until(running, "the task runs")
        info = await vi.task_info(task)
        assert info["queueTime"] == info["startTime"] == "2023-11-14T22:13:21.500Z"
        clock.advance(0.2)  # tasks take 0.3 s here: not done yet
        await asyncio.sleep(0.1)  # (real time: it must not finish early)
        assert (await vi.task_info(task))["state"] == "running"
        clock.advance(0.2)
        info = await vi.wait_task(task)
        assert info["state"] == "success"
        assert info["completeTime"] == "2023-11-14T22:13:21.900Z"
        cur = await vi.get("SessionManager", "SessionManager", "currentSession")
        assert cur.body["lastActiveTime"] == "2023-11-14T22:13:21.900Z"
