"""Bad requests never give a traceback or a bare 500: a registry-valid fault body or a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.sim.vi import VI, mor, ssl_context, view_spec
from tui.sim.server import SimServer

NP_AUTH = {
    "_typeName": "NamePasswordAuthentication",
    "interactiveSession": False,
    "username": "root",
    "password": "guest-secret",
}


@pytest.fixture
async def vi(sim_module: SimServer) -> AsyncIterator[VI]:
    async with VI(sim_module) as client:
        await client.login()
        yield client
        await client.post("SessionManager", "SessionManager", "Logout")


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"container": '],
)
async def test_malformed_json_is_invalid_request(vi: VI, content: bytes) -> None:
    r = await vi.post(
        "ViewManager", "ViewManager", "CreateContainerView", raw=True, content=content
    )
    assert r.fault == "InvalidRequest" and r.body["faultstring"]
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"container": mor("Folder", "group-d1")}, "recursive"),
        ({"container": mor("Folder", "group-d1"), "recursive": "yes"}, "recursive"),
        ({"container": {"type": "Folder", "value": "group-d1"}, "recursive": True}, "container"),
        ({"container": mor("Folder", "group-d1"), "recursive": True, "extra": 1}, "extra"),
        (
            {"container": mor("Folder", "group-d1"), "recursive": True, "type": "VirtualMachine"},
            "type",
        ),
        ({"container": mor("Folder", "group-d1"), "recursive": True, "type": [5]}, "type[0]"),
        (
            {
                "container": {"_typeName": "ManagedObjectReference", "type": "Folder"},
                "recursive": True,
            },
            "container.value",
        ),
    ],
)
async def test_wrong_shapes_are_invalid_argument(vi: VI, body: dict[str, Any], where: str) -> None:
    r = await vi.post("ViewManager", "ViewManager", "CreateContainerView", body, raw=True)
    assert r.fault == "InvalidArgument", r
    assert r.body["invalidProperty"].endswith(where)


async def test_wrong_type_name_in_nested_objects(vi: VI) -> None:
    view = await vi.vm_view()
    spec = view_spec(view, ["name"])
    spec["_typeName"] = "ObjectSpec"
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        {"specSet": [spec], "options": {"_typeName": "RetrieveOptions"}},
        raw=True,
    )
    assert r.fault == "InvalidArgument" and "PropertyFilterSpec" in r.body["faultstring"]
    spec = view_spec(view, ["name"])
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        {"specSet": [spec]},
        raw=True,
    )  # options is required
    assert r.fault == "InvalidArgument" and r.body["invalidProperty"].endswith("options")
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        {"specSet": [spec], "options": {"_typeName": "RetrieveOptions", "maxObjects": 0}},
        raw=True,
    )
    assert r.fault == "InvalidArgument"
    r = await vi.post(
        "PropertyCollector", "propertyCollector", "CreateFilter", {"spec": spec}, raw=True
    )  # partialUpdates is required
    assert r.fault == "InvalidArgument" and r.body["invalidProperty"].endswith("partialUpdates")
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        {"specSet": [], "options": {"_typeName": "RetrieveOptions"}},
        raw=True,
    )
    assert r.fault == "InvalidArgument"


async def test_unknown_types_in_specs(vi: VI) -> None:
    view = await vi.vm_view()
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        {
            "specSet": [view_spec(view, ["name"], type_="Nonsense")],
            "options": {"_typeName": "RetrieveOptions"},
        },
        raw=True,
    )
    assert r.fault == "InvalidType" and r.body["argument"] == "Nonsense"
    spec = view_spec(view, ["name"])
    spec["objectSet"][0]["selectSet"][0]["path"] = "bogus"
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        {"specSet": [spec], "options": {"_typeName": "RetrieveOptions"}},
        raw=True,
    )
    assert r.fault == "InvalidProperty" and r.body["name"] == "bogus"
    spec = view_spec(view, ["name"])
    spec["objectSet"][0]["selectSet"] = [{"_typeName": "SelectionSpec", "name": "missing"}]
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        {"specSet": [spec], "options": {"_typeName": "RetrieveOptions"}},
    )
    assert r.fault == "InvalidArgument"


async def test_wait_options_validation(vi: VI) -> None:
    for opts in (
        {"_typeName": "WaitOptions", "maxWaitSeconds": -1},
        {"_typeName": "WaitOptions", "maxObjectUpdates": 0},
    ):
        r = await vi.post(
            "PropertyCollector",
            "propertyCollector",
            "WaitForUpdatesEx",
            {"version": "", "options": opts},
            raw=True,
        )
        assert r.fault == "InvalidArgument"
    r = await vi.post(
        "PropertyCollector", "propertyCollector", "WaitForUpdatesEx", {"version": 7}, raw=True
    )
    assert r.fault == "InvalidArgument"


async def test_guest_auth_shapes(vi: VI, sim_module: SimServer) -> None:
    vm = mor("VirtualMachine", sim_module.vm("web-01")["moid"])
    cases: list[dict[str, Any]] = [
        {"vm": vm},
        {"vm": vm, "auth": {**NP_AUTH, "_typeName": "GuestAuthentication"}},
        {"vm": vm, "auth": {k: v for k, v in NP_AUTH.items() if k != "interactiveSession"}},
        {"vm": vm, "auth": {**NP_AUTH, "userName": "root"}},  # Login's spelling, not the guest's
        {"vm": vm, "auth": {**NP_AUTH, "password": 123}},
    ]
    for body in cases:
        r = await vi.post(
            "VirtualMachineGuestCustomizationManager",
            "GuestCustomizationManager",
            "StartGuestNetwork_Task",
            body,
            raw=True,
        )
        assert r.fault == "InvalidArgument", (body, r)
        assert "guest-secret" not in r.text


@pytest.mark.parametrize(
    ("verb", "path"),
    [
        ("POST", "/sdk/vim25/8.0.3.0/VirtualMachine/vm-10/PowerOnVM_Task"),
        ("POST", "/sdk/vim25/8.0.3.0/Bogus/x/Method"),
        ("GET", "/sdk/vim25/8.0.3.0/Bogus/x/name"),
        ("GET", "/sdk/vim25/1.0/ServiceInstance/ServiceInstance/content"),
        ("GET", "/sdk/vim25/8.0.3.0/ServiceInstance"),
        ("GET", "/nothing/here"),
        ("POST", "/sdk/vim25/8.0.3.0/SessionManager/SessionManager/currentSession"),
    ],
)
async def test_unknown_paths_are_404(sim_module: SimServer, verb: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=sim_module.url, verify=ssl_context(sim_module)) as c:
        r = await c.request(verb, path)
        assert r.status_code == 404


async def test_other_http_methods_are_refused(sim_module: SimServer) -> None:
    async with httpx.AsyncClient(base_url=sim_module.url, verify=ssl_context(sim_module)) as c:
        r = await c.delete("/sdk/vim25/8.0.3.0/ServiceInstance/ServiceInstance/content")
        assert r.status_code == 405


async def test_wrong_login_shapes(sim_module: SimServer) -> None:
    async with VI(sim_module) as vi:
        for body in (
            {"userName": "a"},
            {"userName": "a", "password": 5},
            {"username": "a", "password": "b"},
        ):
            r = await vi.post("SessionManager", "SessionManager", "Login", body, raw=True)
            assert r.fault == "InvalidArgument", body


async def test_absurdly_nested_bodies(vi: VI) -> None:
    deep = b'{"container": ' + b"[" * 100_000 + b"]" * 100_000 + b', "recursive": true}'
    r = await vi.post("ViewManager", "ViewManager", "CreateContainerView", raw=True, content=deep)
    assert r.fault == "InvalidRequest"
    # a TraversalSpec nested 5,000 deep (built as text: json.dumps itself would give up)
    head = '{"_typeName": "TraversalSpec", "type": "Folder", "path": "childEntity", "selectSet": ['
    sel = head * 5000 + '{"_typeName": "SelectionSpec", "name": "x"}' + "]}" * 5000
    body = (
        '{"specSet": [{"_typeName": "PropertyFilterSpec", "propSet": [{"_typeName": '
        '"PropertySpec", "type": "Folder", "pathSet": ["name"]}], "objectSet": [{"_typeName": '
        '"ObjectSpec", "obj": {"_typeName": "ManagedObjectReference", "type": "Folder", '
        f'"value": "group-d1"}}, "selectSet": [{sel}]}}]}}], "options": '
        '{"_typeName": "RetrieveOptions"}}'
    )
    r = await vi.post(
        "PropertyCollector",
        "propertyCollector",
        "RetrievePropertiesEx",
        raw=True,
        content=body.encode(),
    )
    assert r.fault == "InvalidRequest" and "nested too deeply" in r.body["faultstring"]


async def test_top_level_type_name_is_refused(vi: VI) -> None:
    body = {
        "_typeName": "CreateContainerViewRequestType",
        "container": mor("Folder", "group-d1"),
        "recursive": True,
    }
    r = await vi.post("ViewManager", "ViewManager", "CreateContainerView", body, raw=True)
    assert r.fault == "InvalidArgument" and r.body["invalidProperty"] == "_typeName"


async def test_void_methods_refuse_parameters(vi: VI) -> None:
    view = await vi.vm_view()
    r = await vi.post("ContainerView", view["value"], "DestroyView", {"force": True}, raw=True)
    assert r.fault == "InvalidArgument"
    assert (await vi.post("ContainerView", view["value"], "DestroyView", {})).status == 204
