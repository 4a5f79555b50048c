"""A tiny in-process fake vCenter for httpx.MockTransport: only for edge cases the simulator
cannot produce (HTML 502, empty bodies, 401, truncated updates, timeouts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

Handler = Callable[[httpx.Request, Any], httpx.Response]

CONTENT = {
    "_typeName": "ServiceContent",
    "rootFolder": {"_typeName": "ManagedObjectReference", "type": "Folder", "value": "group-d1"},
    "propertyCollector": {
        "_typeName": "ManagedObjectReference",
        "type": "PropertyCollector",
        "value": "propertyCollector",
    },
    "viewManager": {
        "_typeName": "ManagedObjectReference",
        "type": "ViewManager",
        "value": "ViewManager",
    },
    "sessionManager": {
        "_typeName": "ManagedObjectReference",
        "type": "SessionManager",
        "value": "SessionManager",
    },
    "guestCustomizationManager": {
        "_typeName": "ManagedObjectReference",
        "type": "VirtualMachineGuestCustomizationManager",
        "value": "GuestCustomizationManager",
    },
    "about": {
        "_typeName": "AboutInfo",
        "name": "VMware vCenter Server",
        "fullName": "VMware vCenter Server 8.0.2 build-1",
        "vendor": "VMware, Inc.",
        "version": "8.0.2",
        "build": "1",
        "osType": "linux-x64",
        "productLineId": "vpx",
        "apiType": "VirtualCenter",
        "apiVersion": "8.0.2.0",
        "instanceUuid": "uuid-1",
    },
}


def js(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def fault(type_name: str, **fields: Any) -> httpx.Response:
    return js({"_typeName": type_name, **fields}, status=500)


class FakeVC:
    """Routes ``/sdk/vim25/<rel>/<Type>/<moid>/<member>`` to overridable handlers by member."""

    def __init__(self, releases: tuple[str, ...] = ("8.0.2.0",), hello: str | None = "8.0.2.0"):
        self.releases = releases
        self.hello = hello  # None: no hello endpoint (404), "" = no common release
        self.handlers: dict[str, Handler] = {}
        self.calls: list[str] = []  # "POST Member" / "GET member"
        self.bodies: list[tuple[str, bytes]] = []
        self.logins = 0
        self.token = "tok-0"
        self.valid_tokens = {"tok-0"}

    def on(self, member: str, handler: Handler) -> None:
        self.handlers[member] = handler

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.bodies.append((path, request.content))
        if path == "/api/vcenter/system":
            self.calls.append("hello")
            if self.hello is None:
                return httpx.Response(404, text="<html>not found</html>")
            return js({"api_release": self.hello})
        parts = path.split("/")
        # ['', 'sdk', 'vim25', rel, Type, moid, member]
        if len(parts) != 7 or parts[1:3] != ["sdk", "vim25"]:
            return httpx.Response(404, text="not found")
        rel, _mo_type, _moid, member = parts[3], parts[4], parts[5], parts[6]
        self.calls.append(member)
        if rel not in self.releases:
            return httpx.Response(404, text="unknown release")
        h = self.handlers.get(member)
        if member == "content":
            return h(request, self) if h else js(CONTENT)
        if member == "Login":
            if h:
                return h(request, self)
            self.logins += 1
            self.token = f"tok-{self.logins}"
            self.valid_tokens.add(self.token)
            return js(
                {"_typeName": "UserSession", "key": "k", "userName": "admin"},
                headers={"vmware-api-session-id": self.token},
            )
        if request.headers.get("vmware-api-session-id") not in self.valid_tokens:
            return fault("NotAuthenticated")
        if h is None:
            return httpx.Response(204)
        return h(request, self)

    def expire_sessions(self) -> None:
        self.valid_tokens.clear()


def mo(mo_type: str, value: str) -> dict[str, str]:
    return {"_typeName": "ManagedObjectReference", "type": mo_type, "value": value}


def change(name: str, val: Any = None, op: str = "assign") -> dict[str, Any]:
    d: dict[str, Any] = {"_typeName": "PropertyChange", "name": name, "op": op}
    if val is not None:
        d["val"] = val
    return d


def boxed(type_name: str, value: Any) -> dict[str, Any]:
    return {"_typeName": type_name, "_value": value}


def update(kind: str, obj: dict[str, str], *changes: dict[str, Any]) -> dict[str, Any]:
    d: dict[str, Any] = {"_typeName": "ObjectUpdate", "kind": kind, "obj": obj}
    if changes:
        d["changeSet"] = list(changes)
    return d
