"""The fleet (tui/ui/fleet.py) on its own, over in-memory clients: qualified moids, the merged
stream (a later site's snapshot never wipes another site's rows), runs split by site with a
site's failure kept to its own VMs, routing of cancel and abort, and the audit split by vCenter.
The flows over real simulators are in test_flow_fleet.py."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from tests.ui.fakes import FakeClient, Script, make_profile, make_vms
from tui.ui.audit import FleetAudit
from tui.ui.fleet import Fleet, FleetError, local_moid, qualify, site_of, split_by_site
from tui.vsphere.errors import ConnectError
from tui.vsphere.models import GuestCredentials, VMBatch
from tui.vsphere.secret import Secret

CREDS = GuestCredentials("root", Secret("guest-secret"))


def _fleet(**clients: FakeClient | None) -> Fleet:
    fleet = Fleet([make_profile(name) for name in clients], "+".join(clients))
    for name, client in clients.items():
        if client is not None:
            fleet.attach(name, client)
    return fleet


def _client(n: int, host: str, **kw: Any) -> FakeClient:
    client = FakeClient(make_vms(n), **kw)
    client.host = host
    return client


async def _next(watch: Any, within: float = 2.0) -> VMBatch:
    batch: VMBatch = await asyncio.wait_for(watch.__anext__(), within)
    return batch


def test_qualified_moids_round_trip() -> None:
    q = qualify("vm-42", "prod")
    assert q == "vm-42@prod" and site_of(q) == "prod" and local_moid(q) == "vm-42"
    assert site_of("vm-42") == "" and local_moid("vm-42") == "vm-42"
    vms = [replace(vm, moid=qualify(vm.moid, s)) for vm, s in zip(make_vms(3), "aba", strict=True)]
    parts = split_by_site(vms)
    assert {k: [v.moid for v in vs] for k, vs in parts.items()} == {
        "a": ["vm-100", "vm-102"],
        "b": ["vm-101"],
    }


def test_a_fleet_needs_distinct_profiles() -> None:
    with pytest.raises(FleetError):
        Fleet([make_profile("a"), make_profile("a")], "a+a")
    with pytest.raises(FleetError):
        Fleet([], "none")


async def test_the_merged_stream_keeps_every_site_on_a_later_snapshot() -> None:
    lab, prod = _client(3, "vc.lab"), _client(2, "vc.prod")
    fleet = _fleet(lab=lab, prod=None)
    statuses: list[str] = []
    watch = fleet.watch_vms(on_status=statuses.append)
    first = await _next(watch)
    assert first.resync and {c.moid for c in first.changes} == {
        "vm-100@lab",
        "vm-101@lab",
        "vm-102@lab",
    }
    assert all(c.vm is not None and c.vm.moid == c.moid for c in first.changes)
    # prod logs in later: its snapshot comes as a snapshot of both sites, lab's rows kept
    fleet.attach("prod", prod)
    second = await _next(watch)
    assert second.resync
    assert {c.moid for c in second.changes} == {
        "vm-100@lab",
        "vm-101@lab",
        "vm-102@lab",
        "vm-100@prod",
        "vm-101@prod",
    }
    # a change on one site is a diff with that site's moid
    prod.push_change("vm-101", ip_address="10.9.9.9")
    diff = await _next(watch)
    assert not diff.resync and [c.moid for c in diff.changes] == ["vm-101@prod"]
    assert diff.changes[0].vm is not None and diff.changes[0].vm.ip_address == "10.9.9.9"
    await watch.aclose()
    assert not lab._queues and not prod._queues  # each site's stream was closed


async def test_snapshots_of_several_sites_at_once_come_as_one() -> None:
    fleet = _fleet(a=_client(2, "vc.a"), b=_client(2, "vc.b"), c=_client(2, "vc.c"))
    watch = fleet.watch_vms()
    await asyncio.sleep(0.05)  # every site delivers before the screen asks
    batch = await _next(watch)
    assert batch.resync and len(batch.changes) == 6
    with pytest.raises(asyncio.TimeoutError):
        await _next(watch, within=0.1)  # nothing more: the three snapshots were one
    await watch.aclose()


async def test_a_site_whose_stream_fails_is_a_banner_line_and_keeps_its_rows() -> None:
    broken = _client(2, "vc.b", watch_error=ConnectError("connection refused"))
    fleet = _fleet(a=_client(2, "vc.a"), b=broken)
    statuses: list[str] = []
    watch = fleet.watch_vms(on_status=statuses.append)
    await asyncio.sleep(0.05)
    batch = await _next(watch)
    assert len(batch.changes) == 4  # b's last snapshot stays: stale rows, not lost ones
    await asyncio.sleep(0.05)
    assert fleet.sites["b"].state == "down" and fleet.sites["a"].state == "up"
    assert statuses[-1].startswith("b: updates stopped: connection refused")
    assert "a:" not in statuses[-1]
    await watch.aclose()


async def test_a_run_splits_by_site_and_a_site_failure_fails_only_its_vms() -> None:
    lab = _client(3, "vc.lab")
    prod = _client(3, "vc.prod", script=Script(break_after=1, run_error=ConnectError("gone")))
    fleet = _fleet(lab=lab, prod=prod, dr=None)
    fleet.set_state("dr", "down", "connection refused; retrying in 4 s")
    vms = [
        replace(vm, moid=qualify(vm.moid, site))
        for site in ("lab", "prod", "dr")
        for vm in make_vms(2)
    ]
    final: dict[str, Any] = {}
    async with fleet.start_guest_network(vms, CREDS) as run:
        async for ev in run:
            if ev.final:
                final[ev.vm_moid] = ev
    assert {m: ev.state for m, ev in final.items()} == {
        "vm-100@lab": "succeeded",
        "vm-101@lab": "succeeded",
        "vm-100@prod": "succeeded",
        "vm-101@prod": "failed",
        "vm-100@dr": "failed",
        "vm-101@dr": "failed",
    }
    assert final["vm-101@prod"].fault.type_name == "ConnectError"
    assert final["vm-101@prod"].fault.message == "vCenter prod: gone"
    assert final["vm-100@dr"].fault.message.startswith("vCenter dr: not connected (connection")
    assert final["vm-100@lab"].task == "task-1@lab"
    # each site ran its own VMs with its own moids
    assert [[vm.moid for vm in r.vms] for r in lab.runs] == [["vm-100", "vm-101"]]
    assert [[vm.moid for vm in r.vms] for r in prod.runs] == [["vm-100", "vm-101"]]


async def test_per_site_credentials_and_concurrency() -> None:
    seen: dict[str, tuple[str, int]] = {}

    class Recorder(FakeClient):
        def start_guest_network(self, vms: Any, creds: Any, concurrency: int = 8) -> Any:
            seen[self.host] = (creds.username, concurrency)
            return super().start_guest_network(vms, creds, concurrency)

    a, b = Recorder(make_vms(1)), Recorder(make_vms(1))
    a.host, b.host = "vc.a", "vc.b"
    fleet = Fleet([make_profile("a", concurrency=3), make_profile("b", concurrency=5)], "a+b")
    fleet.attach("a", a)
    fleet.attach("b", b)
    vms = [replace(vm, moid=qualify(vm.moid, s)) for s in "ab" for vm in make_vms(1)]
    other = GuestCredentials("admin", Secret("guest-secret"))
    run = fleet.start_guest_network(vms, CREDS, 99, site_creds={"b": other})
    async with run:
        _ = [ev async for ev in run]
    assert seen == {"vc.a": ("root", 3), "vc.b": ("admin", 5)}


async def test_cancel_and_abort_go_to_the_vms_vcenter() -> None:
    lab = _client(2, "vc.lab", script=Script(hold={"clone-001"}))
    prod = _client(2, "vc.prod")
    fleet = _fleet(lab=lab, prod=prod)
    vms = [replace(vm, moid=qualify(vm.moid, "lab")) for vm in make_vms(2)]
    run = fleet.start_guest_network(vms, CREDS)
    states: dict[str, str] = {}
    async with run:
        async for ev in run:
            states[ev.vm_moid] = ev.state
            if ev.vm_moid == "vm-101@lab" and ev.state == "running":
                assert await run.cancel("vm-101@lab")
                assert not await run.cancel("vm-101@prod")  # no run on prod
    assert states == {"vm-100@lab": "succeeded", "vm-101@lab": "cancelled"}
    assert lab.runs[0].cancelled == {"vm-101"}
    ev = await fleet.abort_customization("vm-100@prod", CREDS)
    assert prod.aborted == ["vm-100"] and not lab.aborted
    assert ev.vm_moid == "vm-100@prod" and ev.task == "task-abort@prod"
    with pytest.raises(FleetError, match="no vCenter 'nope'"):
        await fleet.abort_customization("vm-1@nope", CREDS)


def test_open_runs_are_refused() -> None:
    fleet = _fleet(a=_client(1, "vc.a"), b=_client(1, "vc.b"))
    with pytest.raises(FleetError, match="one vCenter"):
        fleet.start_guest_network([], CREDS, open=True)


def test_info_bar_fields_and_read_only() -> None:
    a, b = _client(1, "vc.a", tls_mode="pinned"), _client(1, "vc.b", tls_mode="insecure")
    b.release = "8.0.1.0"
    fleet = Fleet([make_profile("a"), make_profile("b", read_only=True)], "sites")
    fleet.attach("a", a)
    assert fleet.release == "8.0.3.0"
    fleet.attach("b", b)
    assert fleet.release == "8.0.1.0/8.0.3.0" and fleet.tls_mode == "insecure"
    assert fleet.read_only_of("vm-1@b") == "b" and fleet.read_only_of("vm-1@a") is None


def test_the_audit_is_split_by_vcenter() -> None:
    written: dict[str, list[dict[str, Any]]] = {"lab": [], "prod": []}

    def sink(site: str) -> Any:
        return lambda action, **fields: written[site].append({"action": action, **fields})

    audit = FleetAudit({"lab": sink("lab"), "prod": sink("prod")})
    audit(
        "start-guest-network",
        vms=[("web-01", "vm-1@lab"), ("web-01", "vm-7@prod")],
        skipped=[{"name": "db", "moid": "vm-9@prod", "reason": "powered off"}],
        tasks=["task-3@lab", "task-4@prod"],
        guest_user="root",
    )
    audit("guest-network-result", vms=[("web-02", "vm-2@lab")], tasks=[], outcome="1 succeeded")
    assert written["lab"] == [
        {
            "action": "start-guest-network",
            "vms": [("web-01", "vm-1")],
            "skipped": [],
            "tasks": ["task-3"],
            "guest_user": "root",
        },
        {
            "action": "guest-network-result",
            "vms": [("web-02", "vm-2")],
            "tasks": [],
            "outcome": "1 succeeded",
        },
    ]
    assert written["prod"] == [
        {
            "action": "start-guest-network",
            "vms": [("web-01", "vm-7")],
            "skipped": [{"name": "db", "moid": "vm-9", "reason": "powered off"}],
            "tasks": ["task-4"],
            "guest_user": "root",
        }
    ]
