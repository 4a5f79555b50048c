"""A tiny async VI/JSON client for the simulator's own tests.

It speaks HTTPS with the simulator's generated CA (verification on) and checks every exchange
against VMware's type registry through tests/oracle.py: the request body it sends and the body
(or 204) it gets back. ``raw=True`` skips the request check, for bad-input tests; the answer is
still checked as a fault body.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from typing import Any
from urllib.parse import quote

import httpx

from tests.oracle import validate_fault, validate_http
from tui.sim.server import SimServer

SESSION_HEADER = "vmware-api-session-id"


def mor(type_: str, value: str) -> dict[str, Any]:
    return {"_typeName": "ManagedObjectReference", "type": type_, "value": value}


def ssl_context(sim: SimServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sim.ca_file)


class Reply:
    def __init__(self, resp: httpx.Response) -> None:
        self.status = resp.status_code
        self.headers = resp.headers
        self.text = resp.text
        self.body: Any = None
        if resp.content and resp.headers.get("content-type", "").startswith("application/json"):
            self.body = json.loads(resp.content)

    @property
    def fault(self) -> str | None:
        if self.status == 500 and isinstance(self.body, dict):
            return self.body.get("_typeName")
        return None

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.text[:300]!r})"


class VI:
    def __init__(self, sim: SimServer, release: str = "8.0.3.0", timeout: float = 30.0) -> None:
        self.sim = sim
        self.release = release
        self.base = f"/sdk/vim25/{release}"
        self.http = httpx.AsyncClient(base_url=sim.url, verify=ssl_context(sim), timeout=timeout)
        self.token: str | None = None
        self.content: dict[str, Any] = {}

    async def __aenter__(self) -> VI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def _headers(self) -> dict[str, str]:
        return {SESSION_HEADER: self.token} if self.token else {}

    async def post(
        self,
        type_: str,
        moid: str,
        method: str,
        body: Any = None,
        *,
        raw: bool = False,
        content: bytes | None = None,
    ) -> Reply:
        path = f"{self.base}/{type_}/{quote(moid, safe='')}/{method}"
        if content is None:
            content = json.dumps(body).encode() if body is not None else b""
        resp = await self.http.post(
            path,
            content=content,
            headers={**self._headers(), "content-type": "application/json"},
        )
        reply = Reply(resp)
        self._validate("POST", path, body, reply, raw)
        return reply

    async def get(self, type_: str, moid: str, prop: str, *, raw: bool = False) -> Reply:
        path = f"{self.base}/{type_}/{quote(moid, safe='')}/{prop}"
        reply = Reply(await self.http.get(path, headers=self._headers()))
        self._validate("GET", path, None, reply, raw)
        return reply

    def _validate(self, verb: str, path: str, body: Any, reply: Reply, raw: bool) -> None:
        if reply.status == 404:
            return
        if raw:
            assert reply.status == 500, reply
            validate_fault(reply.body)
            return
        validate_http(verb, path, body, reply.status, reply.body)

    # -- conveniences -------------------------------------------------------------------------

    async def login(self, user: str | None = None, password: str | None = None) -> Reply:
        r = await self.get("ServiceInstance", "ServiceInstance", "content")
        assert r.status == 200, r
        self.content = r.body
        r = await self.post(
            "SessionManager",
            "SessionManager",
            "Login",
            {"userName": user or self.sim.username, "password": password or self.sim.password},
        )
        if r.status == 200:
            self.token = r.headers[SESSION_HEADER]
        return r

    async def vm_view(self, container: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await self.post(
            "ViewManager",
            "ViewManager",
            "CreateContainerView",
            {
                "container": container or self.content["rootFolder"],
                "type": ["VirtualMachine"],
                "recursive": True,
            },
        )
        assert r.status == 200, r
        return r.body

    async def start(
        self,
        vm_moid: str,
        user: str | None = None,
        password: str | None = None,
        interactive: bool = False,
    ) -> Reply:
        return await self._guest_call(
            "StartGuestNetwork_Task", vm_moid, user, password, interactive
        )

    async def abort(self, vm_moid: str) -> Reply:
        """AbortCustomization_Task with the default guest account."""
        return await self._guest_call("AbortCustomization_Task", vm_moid, None, None, False)

    async def _guest_call(
        self,
        method: str,
        vm_moid: str,
        user: str | None,
        password: str | None,
        interactive: bool,
    ) -> Reply:
        return await self.post(
            "VirtualMachineGuestCustomizationManager",
            "GuestCustomizationManager",
            method,
            {
                "vm": mor("VirtualMachine", vm_moid),
                "auth": {
                    "_typeName": "NamePasswordAuthentication",
                    "interactiveSession": interactive,
                    "username": user if user is not None else self.sim.guest_user,
                    "password": password if password is not None else self.sim.guest_password,
                },
            },
        )

    async def task_info(self, task: str) -> dict[str, Any]:
        r = await self.get("Task", task, "info")
        assert r.status == 200, r
        return r.body

    async def wait_task(self, task: str, within: float = 10.0) -> dict[str, Any]:
        end = time.monotonic() + within
        while True:
            info = await self.task_info(task)
            if info["state"] in ("success", "error"):
                return info
            if time.monotonic() > end:
                raise AssertionError(f"task {task} still {info['state']} after {within}s")
            await asyncio.sleep(0.05)


def view_spec(
    view: dict[str, Any], paths: list[str], type_: str = "VirtualMachine"
) -> dict[str, Any]:
    return {
        "_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": type_, "pathSet": paths}],
        "objectSet": [
            {
                "_typeName": "ObjectSpec",
                "obj": view,
                "skip": True,
                "selectSet": [
                    {
                        "_typeName": "TraversalSpec",
                        "name": "traverseView",
                        "type": "ContainerView",
                        "path": "view",
                        "skip": False,
                    }
                ],
            }
        ],
    }


def folder_walk_spec(prop_sets: list[dict[str, Any]]) -> dict[str, Any]:
    """A PropertyFilterSpec from the root folder over every Folder.childEntity and
    Datacenter.vmFolder (recursively, by SelectionSpec name), reading ``prop_sets``."""
    return {
        "_typeName": "PropertyFilterSpec",
        "propSet": prop_sets,
        "objectSet": [
            {
                "_typeName": "ObjectSpec",
                "obj": mor("Folder", "group-d1"),
                "selectSet": [
                    {
                        "_typeName": "TraversalSpec",
                        "name": "f",
                        "type": "Folder",
                        "path": "childEntity",
                        "selectSet": [
                            {"_typeName": "SelectionSpec", "name": "f"},
                            {"_typeName": "SelectionSpec", "name": "d"},
                        ],
                    },
                    {
                        "_typeName": "TraversalSpec",
                        "name": "d",
                        "type": "Datacenter",
                        "path": "vmFolder",
                        "selectSet": [{"_typeName": "SelectionSpec", "name": "f"}],
                    },
                ],
            }
        ],
    }


def props(obj_content: dict[str, Any]) -> dict[str, Any]:
    """ObjectContent/ObjectUpdate -> {path: unboxed value}."""
    out: dict[str, Any] = {}
    for p in obj_content.get("propSet", obj_content.get("changeSet", [])):
        v = p.get("val")
        out[p["name"]] = v["_value"] if isinstance(v, dict) and "_value" in v else v
    return out


# -- watching (CreateFilter + WaitForUpdatesEx) ---------------------------------------------

PATHS = ["name", "runtime.powerState", "guest.ipAddress", "guest.toolsRunningStatus"]


def wait_body(version: str, max_wait: int | None = None, max_updates: int | None = None) -> dict:
    opts: dict[str, Any] = {"_typeName": "WaitOptions"}
    if max_wait is not None:
        opts["maxWaitSeconds"] = max_wait
    if max_updates is not None:
        opts["maxObjectUpdates"] = max_updates
    return {"version": version, "options": opts}


class Watch:
    """A collector + filter over all VMs, for one test."""

    def __init__(self, vi: VI, collector: str, flt: str) -> None:
        self.vi, self.collector, self.filter = vi, collector, flt
        self.version = ""

    async def wait(self, max_wait: int | None = 5, max_updates: int | None = None) -> Any:
        r = await self.vi.post(
            "PropertyCollector",
            self.collector,
            "WaitForUpdatesEx",
            wait_body(self.version, max_wait, max_updates),
        )
        if r.status == 200:
            self.version = r.body["version"]
        return r


async def make_watch(vi: VI, paths: list[str] = PATHS, own_collector: bool = True) -> Watch:
    view = await vi.vm_view()
    col = "propertyCollector"
    if own_collector:
        r = await vi.post("PropertyCollector", "propertyCollector", "CreatePropertyCollector")
        assert r.status == 200 and r.body["type"] == "PropertyCollector"
        col = r.body["value"]
    r = await vi.post(
        "PropertyCollector",
        col,
        "CreateFilter",
        {"spec": view_spec(view, paths), "partialUpdates": False},
    )
    assert r.status == 200 and r.body["type"] == "PropertyFilter"
    return Watch(vi, col, r.body["value"])


def updates(reply: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """moid -> (kind, {path: value}) over every filter of an UpdateSet."""
    out = {}
    for fs in reply.body["filterSet"]:
        for u in fs["objectSet"]:
            out[u["obj"]["value"]] = (u["kind"], props(u))
    return out
