"""Snapshot pictures (pytest-textual-snapshot) of the main screen, the credential modal, the fault
pane and help, at 80×24 and 160×48. Deterministic: fixed inventory and times, a fixed clock,
no cursor blink, no toasts. Accept changes with ``pytest tests/ui --snapshot-update``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.fakes import (
    FakeClient,
    Script,
    connector_for,
    fixed_clock,
    guest_login_fault,
    make_profile,
    make_vms,
)
from tests.ui.helpers import main_screen, wait_for
from tui.ui.app import GuestnetApp
from tui.ui.screens.main import MainScreen
from tui.ui.screens.modals import StartModal
from tui.vsphere.models import VM, Fault

SIZES = [(80, 24), (160, 48)]
PASSWORD = "guest-secret"


def _app(vms: list[VM] | None = None, script: Script | None = None) -> GuestnetApp:
    script = script or Script(
        fail={
            "clone-002": guest_login_fault(),
            "clone-004": Fault(
                type_name="CustomizationFault",
                message="A general customization error occurred in the guest.",
            ),
        }
    )
    client = FakeClient(vms or make_vms(60), script=script, guest_password=PASSWORD)
    return _quiet_app({"lab": make_profile()}, ["lab"], connector_for(client))


def _quiet_app(profiles: dict[str, Any], names: list[str], connector: Any) -> GuestnetApp:
    """The app on fake clients, a fixed clock and no toasts: the same picture every run."""
    app = GuestnetApp(
        profiles=profiles,
        initial_profiles=names,
        connector=connector,
        clock=fixed_clock,
        remember_theme=False,
        audit=lambda **_: None,
        env={"FAKE_VC_PASSWORD": "vc-password"},
    )
    # Toasts come and go on timers: keep them out of the pictures (test_app.py tests them).
    app.notify = lambda *a, **k: None  # type: ignore[method-assign]
    return app


async def _settle(pilot: Pilot[Any]) -> MainScreen:
    main = await main_screen(pilot, within=30)
    await pilot.pause()
    return main


def _no_blink(pilot: Pilot[Any]) -> None:
    for inp in pilot.app.screen.query(Input):
        inp.cursor_blink = False


async def _ran_batch(pilot: Pilot[Any]) -> MainScreen:
    """Mark five VMs, start them with the right password, wait for the batch."""
    await _settle(pilot)
    main = pilot.app.screen
    assert isinstance(main, MainScreen)
    await pilot.press("space", "space", "space", "space", "space", "s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, StartModal), what="start modal")
    await pilot.press(*PASSWORD, "enter")
    await wait_for(
        pilot,
        lambda: (b := main.task_pane.latest) is not None and b.finished,
        within=30,
        what="the batch to finish",
    )
    await wait_for(
        pilot,
        lambda: (b := main.task_pane.latest) is not None and not b.verdicts()["verifying"],
        within=30,
        what="the verdicts",
    )
    main.vm_table.focus()
    await pilot.pause()
    pilot.app.clear_notifications()
    _no_blink(pilot)
    await pilot.pause()
    return main


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ran_batch(pilot)

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_credential_modal(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        # clone-005 is powered off: pre-flight lists it as a skip
        await pilot.press(*["space"] * 6, "s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, StartModal), what="modal")
        await pilot.press(*PASSWORD)  # shown masked
        pilot.app.clear_notifications()
        _no_blink(pilot)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_fault_pane(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        main = await _ran_batch(pilot)
        await pilot.press("2", "down", "down", "3")  # select clone-002's failure, show the pane
        assert main.fault_pane.row is not None and main.fault_pane.row.vm.name == "clone-002"
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        pilot.app.clear_notifications()
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=run_before)


def _shared_vms() -> list[VM]:
    """make_vms(60), where clone-001…003 wake up with one address and clone-002 shares
    clone-010's."""
    vms = make_vms(60)
    for i in (1, 3):
        vms[i] = replace(vms[i], ip_address=vms[1].ip_address)
    vms[2] = replace(vms[2], ip_address=vms[10].ip_address)
    return vms


def test_duplicates_80x24(snap_compare: Any) -> None:
    """The DUP column, and the line naming whom the cursor VM shares its address with."""

    async def run_before(pilot: Pilot[Any]) -> None:
        main = await _settle(pilot)
        await wait_for(pilot, lambda: main.query_one("#vm-detail").display, what="the index")
        await pilot.press("down", "down", "down")  # clone-003
        pilot.app.clear_notifications()
        _no_blink(pilot)
        await pilot.pause()

    assert snap_compare(_app(_shared_vms()), terminal_size=(80, 24), run_before=run_before)


def test_task_verdicts_80x24(snap_compare: Any) -> None:
    """Each verdict in the task pane: verified, NOT verified (kept a shared launch address),
    unverified (no address by the deadline)."""
    app = _app(_shared_vms(), Script(keep_ip={"clone-002"}, no_ip={"clone-003"}))
    app.verify_timeout = 0.5

    async def run_before(pilot: Pilot[Any]) -> None:
        main = await _ran_batch(pilot)
        await pilot.press("2", "down", "down")  # clone-002: NOT verified
        assert main.task_table.selected_row() is not None
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def _fleet_app() -> GuestnetApp:
    """lab and prod (20 VMs each, the same names: clones of one template on two sites, their
    rows side by side) and dr, which does not answer."""
    from tui.vsphere.errors import ConnectError

    lab = FakeClient(make_vms(20), guest_password=PASSWORD)
    prod_vms = [
        replace(vm, ip_address=vm.ip_address and vm.ip_address.replace("10.0.", "10.1."))
        for vm in make_vms(20)
    ]
    prod = FakeClient(prod_vms, guest_password=PASSWORD)
    prod.host = "vc.prod.example"
    clients = {"vc.lab.example": lab, "vc.prod.example": prod}

    async def connect(spec: Any) -> FakeClient:
        if spec.host not in clients:
            raise ConnectError("connection refused")
        return clients[spec.host]

    profiles = {
        "lab": make_profile("lab"),
        "prod": make_profile("prod", host="vc.prod.example"),
        "dr": make_profile("dr", host="vc.dr.example"),
    }
    return _quiet_app(profiles, ["lab", "prod", "dr"], connect)


def test_two_vcenters_and_a_dead_one_80x24(snap_compare: Any, monkeypatch: Any) -> None:
    """One table over lab and prod (VCENTER column, marks on both), dr's banner line."""
    import tui.ui.app as appmod

    monkeypatch.setattr(appmod, "SITE_RETRY", (60.0,))  # the banner stays as it is

    async def run_before(pilot: Pilot[Any]) -> None:
        main = await _settle(pilot)
        await wait_for(pilot, lambda: main.store.total == 40, what="both inventories")
        await wait_for(pilot, lambda: "retrying" in main.status, what="dr's banner")
        await pilot.press("space", "space")  # clone-000 of lab and of prod
        _no_blink(pilot)
        await pilot.pause()

    assert snap_compare(_fleet_app(), terminal_size=(80, 24), run_before=run_before)
