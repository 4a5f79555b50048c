"""Conformance sweep: in every served release, every kind of body the simulator produces is
checked against VMware's type registry (tests/oracle.py), including release gating of fields.

The VI helper already validates each exchange it makes; here the server also records every
exchange (``record=True``) and the whole recording is re-validated, so a body that reached the
wire by any path (including the faults of bad requests) is covered.
"""

from __future__ import annotations

import pytest

from tests.oracle import validate_fault, validate_http
from tests.sim.vi import VI, folder_walk_spec, mor, view_spec
from tui.sim.state import PROPS_BY_TYPE

ENTITY_TYPES = ("VirtualMachine", "Folder", "Datacenter")


@pytest.mark.parametrize("release", ["8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0"])
async def test_every_body_in_every_release(sim_factory, release: str) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(record=True, task_seconds=0.2)
    async with VI(sim, release=release) as vi:
        await vi.login()
        await vi.get("SessionManager", "SessionManager", "currentSession")
        await vi.get("ServiceInstance", "ServiceInstance", "serverClock")
        # every property path of every managed type, over traversal from the root
        spec = folder_walk_spec(
            [
                {"_typeName": "PropertySpec", "type": t, "pathSet": sorted(PROPS_BY_TYPE[t])}
                for t in ENTITY_TYPES
            ]
        )
        r = await vi.post(
            "PropertyCollector",
            "propertyCollector",
            "RetrievePropertiesEx",
            {"specSet": [spec], "options": {"_typeName": "RetrieveOptions", "maxObjects": 20}},
        )
        while "token" in r.body:
            r = await vi.post(
                "PropertyCollector",
                "propertyCollector",
                "ContinueRetrievePropertiesEx",
                {"token": r.body["token"]},
            )
        # GET of every property on one object of each kind, in several states
        clone = sim.clone_vm("web-golden")  # tools still coming up: no guest address yet
        targets = {
            "VirtualMachine": [
                *(sim.vm(n)["moid"] for n in ("web-01", "off-01", "notools-01", "twin-ic-02")),
                clone,
            ],
            "Folder": ["group-d1"],
            "Datacenter": [sim.call(lambda: next(iter(sim.state.registry.root.children)))],
        }
        for type_, moids in targets.items():
            for moid in moids:
                for prop in PROPS_BY_TYPE[type_]:
                    got = await vi.get(type_, moid, prop)
                    assert got.status in (200, 204), (type_, prop, got)
        view = await vi.vm_view()
        for prop in PROPS_BY_TYPE["ContainerView"]:
            await vi.get("ContainerView", view["value"], prop)
        await vi.get("ViewManager", "ViewManager", "viewList")
        # a watch over VMs and tasks while tasks succeed and fail
        r = await vi.post(
            "PropertyCollector",
            "propertyCollector",
            "CreateFilter",
            {
                "spec": view_spec(view, sorted(PROPS_BY_TYPE["VirtualMachine"])),
                "partialUpdates": False,
            },
        )
        flt = r.body
        for p in ("spec", "partialUpdates"):
            await vi.get("PropertyFilter", flt["value"], p)
        await vi.get("PropertyCollector", "propertyCollector", "filter")
        r = await vi.post(
            "PropertyCollector",
            "propertyCollector",
            "WaitForUpdatesEx",
            {"version": "", "options": {"_typeName": "WaitOptions", "maxObjectUpdates": 25}},
        )
        version = r.body["version"]
        sim.clone_vm("twin-golden")  # its enter, tools and guest ops arrive while we watch
        tasks = []
        for name in (
            "twin-ic-01",
            "twin-ic-02",
            "web-02",
            sim.fault_vms["CustomizationFault:task"][0],
            sim.fault_vms["InvalidState:task"][0],
        ):
            tasks.append((await vi.start(sim.vm(name)["moid"])).body["value"])
        for name in (
            "off-01",
            sim.fault_vms["TaskInProgress:sync"][0],
            sim.fault_vms["CustomizationFault:sync"][0],
        ):
            assert (await vi.start(sim.vm(name)["moid"])).status == 500
        task_spec = {
            "_typeName": "PropertyFilterSpec",
            "propSet": [
                {
                    "_typeName": "PropertySpec",
                    "type": "Task",
                    "pathSet": sorted(PROPS_BY_TYPE["Task"]),
                }
            ],
            "objectSet": [{"_typeName": "ObjectSpec", "obj": mor("Task", t)} for t in tasks],
        }
        await vi.post(
            "PropertyCollector",
            "propertyCollector",
            "CreateFilter",
            {"spec": task_spec, "partialUpdates": False},
        )
        for _ in range(20):
            r = await vi.post(
                "PropertyCollector",
                "propertyCollector",
                "WaitForUpdatesEx",
                {"version": version, "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 1}},
            )
            if r.status == 204:
                break
            version = r.body["version"]
        for t in tasks:
            info = await vi.wait_task(t)
            for prop in PROPS_BY_TYPE["Task"]:
                await vi.get("Task", t, prop)
            assert info["state"] in ("success", "error")
        cancel = (await vi.start(sim.vm("slow-01")["moid"])).body["value"]
        await vi.post("Task", cancel, "CancelTask")
        await vi.wait_task(cancel)
        await vi.post("PropertyFilter", flt["value"], "DestroyPropertyFilter")
        await vi.post("ContainerView", view["value"], "DestroyView")
        await vi.post("SessionManager", "SessionManager", "Logout")
        # faults of bad requests are registry-valid too
        await vi.get("VirtualMachine", "vm-1", "name")  # NotAuthenticated after logout
    exchanges = sim.exchanges()
    assert len(exchanges) > 100
    statuses = {e.status for e in exchanges}
    assert statuses >= {200, 204, 500}
    for e in exchanges:
        validate_http(e.method, e.path, e.request_json, e.status, e.response_json)
        if e.status == 500:
            validate_fault(e.response_json)


async def test_generated_inventory_bodies(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(vms=300, seed=5)
    async with VI(sim, release="8.0.1.0") as vi:
        await vi.login()
        view = await vi.vm_view()
        r = await vi.post(
            "PropertyCollector",
            "propertyCollector",
            "RetrievePropertiesEx",
            {
                "specSet": [view_spec(view, sorted(PROPS_BY_TYPE["VirtualMachine"]))],
                "options": {"_typeName": "RetrieveOptions", "maxObjects": 100},
            },
        )
        count = len(r.body["objects"])
        while "token" in r.body:
            r = await vi.post(
                "PropertyCollector",
                "propertyCollector",
                "ContinueRetrievePropertiesEx",
                {"token": r.body["token"]},
            )
            count += len(r.body["objects"])
        assert count == 300
