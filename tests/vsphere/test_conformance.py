"""Every request body the client sends validates against VMware's type registry (pyVmomi),
independently of the simulator: one scenario that uses every call the client makes."""

from __future__ import annotations

import asyncio

import pytest

from tests import oracle
from tests.vsphere.conftest import _VIM, Wire, connect, eventually, guest

EXPECTED = {
    ("SessionManager", "Login"),
    ("SessionManager", "Logout"),
    ("ViewManager", "CreateContainerView"),
    ("ContainerView", "DestroyView"),
    ("PropertyCollector", "RetrievePropertiesEx"),
    ("PropertyCollector", "ContinueRetrievePropertiesEx"),
    ("PropertyCollector", "CreatePropertyCollector"),
    ("PropertyCollector", "CreateFilter"),
    ("PropertyCollector", "WaitForUpdatesEx"),
    ("PropertyCollector", "CancelWaitForUpdates"),
    ("PropertyCollector", "DestroyPropertyCollector"),
    ("PropertyFilter", "DestroyPropertyFilter"),
    ("VirtualMachineGuestCustomizationManager", "StartGuestNetwork_Task"),
    ("VirtualMachineGuestCustomizationManager", "AbortCustomization_Task"),
    ("Task", "CancelTask"),
}


async def test_every_call_the_client_makes_conforms(sim_factory, wire: Wire) -> None:
    sim = sim_factory(vms=700, task_seconds=0.3)
    c = await connect(sim, wire, max_objects=300)
    vms = [v for v in await c.list_vms() if v.name in sim.ok_vms]
    await c.list_vms(vms[0].folder)

    w = c.watch_vms()
    assert (await w.__anext__()).resync
    await eventually(lambda: sim.stats()["live"]["pending_waits"] == 1, "a long-poll is pending")
    await w.aclose()

    stop, stuck = vms[0], vms[1]
    sim.set_vm(stop.moid, hang=True, cancelable=True)
    sim.set_vm(stuck.moid, hang=True, cancelable=False)
    creds = guest(sim)
    run = c.start_guest_network(vms[:4], creds, coalesce=0.05)
    async with asyncio.timeout(30):
        async for ev in run:
            if ev.state == "running" and ev.progress == 50 and ev.vm_moid == stop.moid:
                await run.cancel(stop.moid)
            if ev.state == "running" and ev.progress == 50 and ev.vm_moid == stuck.moid:
                assert (await c.abort_customization(stuck.moid, creds)).state == "succeeded"
    await c.close()

    seen = set()
    for method, path, _ in wire.requests:
        m = _VIM.match(path)
        if m and method == "POST":
            seen.add((m["type"], m["member"]))
    assert seen >= EXPECTED, EXPECTED - seen
    assert wire.check_conformance() == sum(
        1 for meth, p, _ in wire.requests if meth == "POST" and _VIM.match(p)
    )


def test_the_oracle_is_not_vacuous() -> None:
    body = {
        "vm": {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-1"},
        "auth": {
            "_typeName": "NamePasswordAuthentication",
            "interactiveSession": False,
            "userName": "root",  # Login's spelling: wrong here
            "password": "x",
        },
    }
    with pytest.raises(oracle.RegistryError):
        oracle.validate_request(
            "VirtualMachineGuestCustomizationManager", "StartGuestNetwork_Task", body
        )
