"""The watch toggle against the simulator over real HTTPS: ``w`` on the filter's glob starts VMs
added while watching (verified), the header says WATCH, ``w`` again asks while a task runs and
turns it off (a VM added then is not started), and on again (patterns asked in the dialog) the
shared ledger keeps every VM to one start; ``q`` stops the watcher within the logout."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.ui.helpers import main_screen, make_app, wait_for
from tests.ui.screen_text import screen_text
from tui.config.ledger import Ledger
from tui.sim.server import SimServer
from tui.ui.screens.modals import ConfirmModal, StartModal, WatchModal


def _starts(sim: SimServer, name: str) -> int:
    return sum(
        1 for t in sim.tasks() if t["vm"] == name and t["method"] == "StartGuestNetwork_Task"
    )


def _live(sim: SimServer) -> dict[str, int]:
    live = sim.stats()["live"]
    return {k: live[k] for k in ("views", "filters", "collectors", "pending_waits")}


def _row(main: Any, name: str) -> Any:
    batch = main.task_pane.latest
    return next((r for r in batch.rows.values() if r.vm.name == name), None) if batch else None


def _verified(main: Any, name: str) -> bool:
    row = _row(main, name)
    return row is not None and row.verdict is not None and row.verdict.verified is True


async def test_watch_starts_new_matches_once_and_turns_off(sim: SimServer) -> None:
    app, audit = make_app(sim, initial_profile="sim")
    app.watch_settle = 0.2
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        watch = main.watch_control
        base = _live(sim)  # the table's own VM stream
        await pilot.press("slash", *"pool-ic-*", "enter", "w")  # the filter's glob: no dialog
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="credentials")
        assert "pool-ic-* matches 0 VMs now" in screen_text(app)
        await pilot.press(*sim.guest_password, "enter")
        await wait_for(pilot, lambda: watch.starter is not None, what="the watcher")
        assert "WATCH pool-ic-*" in screen_text(app).splitlines()[0]
        assert main.task_pane.latest is watch.batch and watch.batch.watch == ("pool-ic-*",)
        # a clone appears with its parent's address and is started, then verified
        sim.add_vm("pool-ic-01", ip="10.0.10.5", acquire_ip="10.0.99.1")
        await wait_for(pilot, lambda: _verified(main, "pool-ic-01"), within=20, what="ic-01")
        assert "10.0.10.5 → 10.0.99.1 ✓" in screen_text(app)
        # a slow one: turning the watch off while its task runs asks first
        sim.add_vm("pool-ic-02", task_seconds=2.0, acquire_ip="10.0.99.2")
        await wait_for(
            pilot,
            lambda: (r := _row(main, "pool-ic-02")) is not None and r.state == "running",
            within=20,
            what="ic-02 running",
        )
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        assert "go on in vCenter" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: not watch.on, what="the watch off")
        assert "WATCH" not in screen_text(app).splitlines()[0]
        # its VM stream and task run are gone from vCenter (view, filters, collectors, polls)
        await wait_for(pilot, lambda: _live(sim) == base, what="the watcher's objects destroyed")
        row = _row(main, "pool-ic-02")
        assert row.state == "stopped" and "goes on in vCenter" in (row.error or "")
        # while off, a new match is not started
        sim.add_vm("pool-ic-03", acquire_ip="10.0.99.3")
        await wait_for(
            pilot,
            lambda: any(vm.name == "pool-ic-03" for vm in main.store.vms.values()),
            what="ic-03 in the table",
        )
        await asyncio.sleep(0.8)  # four settle delays
        assert _starts(sim, "pool-ic-03") == 0
        # on again, patterns from the dialog (the filter is empty): ic-03 is started, ic-02's
        # open task adopted from the ledger, ic-01 not started twice
        await pilot.press("1", "escape", "w")
        await wait_for(pilot, lambda: isinstance(app.screen, WatchModal), what="watch dialog")
        await pilot.press(*"pool-ic-*", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="credentials")
        assert "pool-ic-* matches 3 VMs now" in screen_text(app)
        await pilot.press(*sim.guest_password, "enter")
        await wait_for(
            pilot,
            lambda: _verified(main, "pool-ic-03") and _verified(main, "pool-ic-02"),
            within=20,
            what="ic-03 started and ic-02 adopted",
        )
        assert _row(main, "pool-ic-01") is None  # settled in the ledger: nothing to do
        logouts = sim.stats()["logouts"]
        await pilot.press("q")  # watching, nothing running: no question
    assert app.return_code == 0 and sim.stats()["logouts"] == logouts + 1
    assert {n: _starts(sim, n) for n in ("pool-ic-01", "pool-ic-02", "pool-ic-03")} == {
        "pool-ic-01": 1,
        "pool-ic-02": 1,
        "pool-ic-03": 1,
    }
    ledger = Ledger(f"{sim.host}:{sim.port}").load()  # the file guestnet watch reads
    assert {e.name: e.outcome for e in ledger.entries.values()} == {
        "pool-ic-01": "success",
        "pool-ic-02": "success",
        "pool-ic-03": "success",
    }
    actions = [r["action"] for r in audit]
    assert actions.count("watch-on") == 2 and actions.count("watch-off") == 2
    verdicts = [r for r in audit if r["action"] == "verify-guest-network"]
    assert {r["vms"][0][0]: r["verdicts"][0]["verified"] for r in verdicts} == {
        "pool-ic-01": True,
        "pool-ic-02": True,
        "pool-ic-03": True,
    }
    assert all(sim.guest_password not in repr(r) for r in audit)
