"""Views, RetrievePropertiesEx paging, traversal, property GETs: every body registry-checked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sim.vi import VI, mor, props, view_spec
from tui.sim.server import SimServer

VM_PATHS = [
    "name",
    "runtime.powerState",
    "runtime.connectionState",
    "guest.toolsRunningStatus",
    "guest.ipAddress",
    "parent",
]


@pytest.fixture
async def vi(sim_module: SimServer) -> AsyncIterator[VI]:
    async with VI(sim_module) as client:
        assert (await client.login()).status == 200
        yield client
        await client.post("SessionManager", "SessionManager", "Logout")


def retrieve_body(spec: dict, max_objects: int | None = None) -> dict:
    opts: dict = {"_typeName": "RetrieveOptions"}
    if max_objects is not None:
        opts["maxObjects"] = max_objects
    return {"specSet": [spec], "options": opts}


async def test_container_view_lists_every_vm(vi: VI, sim_module: SimServer) -> None:
    view = await vi.vm_view()
    assert view["type"] == "ContainerView" and view["value"].startswith("session[")
    r = await vi.get("ContainerView", view["value"], "view")
    assert r.status == 200
    assert {m["type"] for m in r.body} == {"VirtualMachine"}
    assert len(r.body) == len(sim_module.vm_names())
    for prop, expected in (
        ("recursive", True),
        ("type", ["VirtualMachine"]),
        ("container", mor("Folder", "group-d1")),
    ):
        got = await vi.get("ContainerView", view["value"], prop)
        assert got.body == expected
    r = await vi.post("ContainerView", view["value"], "DestroyView")
    assert r.status == 204 and r.body is None
    r = await vi.get("ContainerView", view["value"], "view")
    assert r.fault == "ManagedObjectNotFound"


async def test_non_recursive_view_of_a_folder(vi: VI, sim_module: SimServer) -> None:
    folder = sim_module.call(
        lambda: sim_module.state.registry.folder_by_path("/DC1/vm/team-b").moid
    )
    r = await vi.post(
        "ViewManager",
        "ViewManager",
        "CreateContainerView",
        {"container": mor("Folder", folder), "recursive": False},
    )
    names = []
    for m in (await vi.get("ContainerView", r.body["value"], "view")).body:
        names.append((await vi.get("VirtualMachine", m["value"], "name")).body)
    assert names == ["db-01", "db-02", "cache-01", "cache-02", "queue-01"]


async def test_paging_with_tokens_covers_every_vm_once(vi: VI, sim_module: SimServer) -> None:
    view = await vi.vm_view()
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        retrieve_body(view_spec(view, VM_PATHS), 7),
    )
    assert r.status == 200 and len(r.body["objects"]) == 7 and r.body["token"]
    seen = [o["obj"]["value"] for o in r.body["objects"]]
    pages = 1
    while "token" in r.body:
        r = await vi.post(
            "PropertyCollector",
            "propertyCollector",
            "ContinueRetrievePropertiesEx",
            {"token": r.body["token"]},
        )
        assert r.status == 200
        seen += [o["obj"]["value"] for o in r.body["objects"]]
        pages += 1
    assert len(seen) == len(set(seen)) == len(sim_module.vm_names())
    assert pages == -(-len(seen) // 7)
    assert sim_module.stats()["live"]["retrievals"] == 0


async def test_retrieved_values_are_boxed_and_unset_ones_omitted(vi: VI) -> None:
    view = await vi.vm_view()
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        retrieve_body(view_spec(view, VM_PATHS)),
    )
    assert "token" not in r.body
    by_name = {props(o)["name"]: o for o in r.body["objects"]}
    web = by_name["web-01"]["propSet"]
    vals = {p["name"]: p["val"] for p in web}
    assert vals["runtime.powerState"] == {
        "_typeName": "VirtualMachinePowerState",
        "_value": "poweredOn",
    }
    assert vals["guest.toolsRunningStatus"] == {
        "_typeName": "string",
        "_value": "guestToolsRunning",
    }
    assert vals["guest.ipAddress"] == {"_typeName": "string", "_value": "10.0.10.5"}
    assert vals["parent"]["_typeName"] == "ManagedObjectReference"
    assert [p["name"] for p in web] == sorted(p["name"] for p in web)
    off = props(by_name["off-01"])
    assert "guest.ipAddress" not in off and off["runtime.powerState"] == "poweredOff"
    assert props(by_name["notools-01"])["guest.toolsRunningStatus"] == "guestToolsNotRunning"


async def test_cancel_retrieve_drops_the_token(vi: VI) -> None:
    view = await vi.vm_view()
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        retrieve_body(view_spec(view, ["name"]), 5),
    )
    token = r.body["token"]
    r2 = await vi.post(
        "PropertyCollector", "propertyCollector", "CancelRetrievePropertiesEx", {"token": token}
    )
    assert r2.status == 204
    r3 = await vi.post(
        "PropertyCollector", "propertyCollector", "ContinueRetrievePropertiesEx", {"token": token}
    )
    assert r3.fault == "InvalidArgument" and r3.body["invalidProperty"] == "token"
    r4 = await vi.post(
        "PropertyCollector", "propertyCollector", "CancelRetrievePropertiesEx", {"token": "nope"}
    )
    assert r4.fault == "InvalidArgument"


async def test_traversal_from_root_folder_through_datacenters(
    vi: VI, sim_module: SimServer
) -> None:
    spec = {
        "_typeName": "PropertyFilterSpec",
        "propSet": [
            {"_typeName": "PropertySpec", "type": "VirtualMachine", "pathSet": ["name"]},
            {"_typeName": "PropertySpec", "type": "Folder", "pathSet": ["name", "childType"]},
            {
                "_typeName": "PropertySpec",
                "type": "Datacenter",
                "pathSet": ["name", "vmFolder", "hostFolder"],
            },
        ],
        "objectSet": [
            {
                "_typeName": "ObjectSpec",
                "obj": mor("Folder", "group-d1"),
                "skip": False,
                "selectSet": [
                    {
                        "_typeName": "TraversalSpec",
                        "name": "folder",
                        "type": "Folder",
                        "path": "childEntity",
                        "skip": False,
                        "selectSet": [
                            {"_typeName": "SelectionSpec", "name": "folder"},
                            {"_typeName": "SelectionSpec", "name": "dc"},
                        ],
                    },
                    {
                        "_typeName": "TraversalSpec",
                        "name": "dc",
                        "type": "Datacenter",
                        "path": "vmFolder",
                        "skip": False,
                        "selectSet": [{"_typeName": "SelectionSpec", "name": "folder"}],
                    },
                ],
            }
        ],
    }
    r = await vi.post(
        "PropertyCollector", "propertyCollector", "RetrievePropertiesEx", retrieve_body(spec)
    )
    kinds: dict[str, list[str]] = {}
    for o in r.body["objects"]:
        kinds.setdefault(o["obj"]["type"], []).append(props(o)["name"])
    assert sorted(kinds["Datacenter"]) == ["DC1", "DC2"]
    assert sorted(kinds["VirtualMachine"]) == sorted(sim_module.vm_names())
    assert {"Datacenters", "vm", "team-a", "prod", "faults", "sync"} <= set(kinds["Folder"])


async def test_whole_properties_and_all_true(vi: VI, sim_module: SimServer) -> None:
    moid = sim_module.vm("web-02")["moid"]
    spec = {
        "_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": "VirtualMachine", "all": True}],
        "objectSet": [{"_typeName": "ObjectSpec", "obj": mor("VirtualMachine", moid)}],
    }
    r = await vi.post(
        "PropertyCollector", "propertyCollector", "RetrievePropertiesEx", retrieve_body(spec)
    )
    (obj,) = r.body["objects"]
    got = props(obj)
    assert {"name", "parent", "runtime", "guest", "summary", "config"} <= set(got)
    assert got["runtime"]["_typeName"] == "VirtualMachineRuntimeInfo"
    assert got["guest"]["net"][0]["ipAddress"] == ["10.0.10.5"]
    assert got["summary"]["config"]["instanceUuid"] == got["config"]["instanceUuid"]


async def test_property_gets_of_every_object_kind(vi: VI, sim_module: SimServer) -> None:
    vm = sim_module.vm("web-03")
    for prop in (
        "name",
        "parent",
        "runtime",
        "guest",
        "summary",
        "config",
        "config.instanceUuid",
        "runtime.powerState",
        "guest.ipAddress",
        "guest.net",
    ):
        r = await vi.get("VirtualMachine", vm["moid"], prop)
        assert r.status == 200, (prop, r)
    assert (await vi.get("VirtualMachine", vm["moid"], "config.instanceUuid")).body == vm[
        "instance_uuid"
    ]
    dc = next(
        m
        for m in (await vi.get("Folder", "group-d1", "childEntity")).body
        if m["type"] == "Datacenter"
    )
    assert (await vi.get("Datacenter", dc["value"], "name")).body == "DC1"
    vm_folder = (await vi.get("Datacenter", dc["value"], "vmFolder")).body
    assert (await vi.get("Folder", vm_folder["value"], "parent")).body == dc
    assert (await vi.get("Folder", "group-d1", "parent")).status == 204  # unset: the root
    off = sim_module.vm("off-01")["moid"]
    assert (await vi.get("VirtualMachine", off, "guest.ipAddress")).status == 204


async def test_unknown_property_and_object_faults(vi: VI) -> None:
    r = await vi.get("VirtualMachine", "vm-10", "bogus")
    assert r.fault == "InvalidProperty" and r.body["name"] == "bogus"
    r = await vi.get("VirtualMachine", "vm-999999", "name")
    assert r.fault == "ManagedObjectNotFound"
    assert r.body["obj"] == mor("VirtualMachine", "vm-999999")
    r = await vi.get("Folder", "vm-10", "name")  # exists, but is not a Folder
    assert r.fault == "ManagedObjectNotFound"
    view = await vi.vm_view()
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        retrieve_body(view_spec(view, ["name", "runtime.bogus"])),
        raw=True,
    )
    assert r.fault == "InvalidProperty" and r.body["name"] == "runtime.bogus"
    spec = view_spec(view, ["name"])
    spec["objectSet"][0]["obj"] = mor("ContainerView", "session[x]y")
    r = await vi.post(
        "PropertyCollector", "propertyCollector", "RetrievePropertiesEx", retrieve_body(spec)
    )
    assert r.fault == "ManagedObjectNotFound"


async def test_empty_result_is_204(vi: VI) -> None:
    view = await vi.vm_view()
    spec = view_spec(view, ["name"], type_="Datacenter")  # the view holds only VMs
    r = await vi.post(
        "PropertyCollector", "propertyCollector", "RetrievePropertiesEx", retrieve_body(spec)
    )
    assert r.status == 204 and r.body is None


async def test_task_properties(vi: VI, sim_module: SimServer) -> None:
    blocker = sim_module.vm("sync-taskinprogress")
    tasks = [t for t in sim_module.tasks() if t["vm"] == "sync-taskinprogress"]
    assert tasks and blocker["customization"] == "TOOLSDEPLOYPKG_RUNNING"
    info = await vi.task_info(tasks[0]["task"])
    assert info["state"] == "running" and info["name"] == "StartGuestNetwork_Task"
    assert info["reason"] == {"_typeName": "TaskReasonSystem"}
    r = await vi.get("Task", tasks[0]["task"], "info.state")
    assert r.body == "running"
