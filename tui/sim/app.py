"""The simulator's ASGI app: VI/JSON routes over ``State``.

Routes:
- ``GET|POST /sdk/vim25/{release}/{type}/{moId}/{property-or-method}``
- ``POST /api/vcenter/system?action=hello`` (release negotiation; absent when ``hello=False``)

Every failure is a fault body (HTTP 500) or a 404 for an unknown release/type/method; never a
traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tui.sim import wire
from tui.sim.state import (
    ALL_PROPS,
    DEFAULT_PAGE,
    ENTITY_PROPS,
    KNOWN_TYPES,
    MO,
    PLAIN_ENTITY_TYPES,
    PROPS_BY_TYPE,
    TRAVERSABLE,
    Collector,
    ContainerView,
    Entity,
    FilterSpec,
    ObjSpec,
    Retrieval,
    Sel,
    Session,
    SimFault,
    State,
    Task,
    VirtualMachine,
    _isa,
    _type_of,
    fault_from_wire,
    invalid_property,
    not_found,
)
from tui.sim.wire import JSON, WireError

log = logging.getLogger("tui.sim.requests")

SESSION_HEADER = "vmware-api-session-id"
GUEST_AUTH_TYPES = (
    "NamePasswordAuthentication",
    "SAMLTokenAuthentication",
    "SSPIAuthentication",
    "TicketedSessionAuthentication",
)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request/response (passwords in request bodies are masked)."""

    method: str
    path: str
    status: int
    request_json: Any
    response_json: Any


@dataclass
class Ctx:
    state: State
    session: Session | None
    obj: MO
    body: JSON
    request: Request


Handler = Callable[[Ctx], Awaitable[Any]]
NO_SESSION = object()  # marker: the call works without a session


# ----------------------------------------------------------------------------------------------
# Object lookup


def lookup(state: State, s: Session | None, type_: str, moid: str) -> MO:
    if type_ == "ServiceInstance" and moid == "ServiceInstance":
        return state.service_instance
    if type_ == "SessionManager" and moid == "SessionManager":
        return state.session_manager
    if type_ == "ViewManager" and moid == "ViewManager":
        return state.view_manager
    if type_ == "VirtualMachineGuestCustomizationManager" and moid == state.cust_manager.moid:
        return state.cust_manager
    if s is not None:
        if type_ == "ContainerView":
            v = s.views.get(moid)
            if v is not None:
                return v
        elif type_ == "PropertyCollector":
            return state.collector(s, moid)
        elif type_ == "PropertyFilter":
            return state.find_filter(s, moid)
    o = state.objects.get(moid)
    if o is not None and _isa(_type_of(o), {type_}):
        return o
    raise not_found(type_, moid)


def lookup_mor(state: State, s: Session | None, value: Any, where: str) -> MO:
    t, v = wire.as_mor(value, where)
    return lookup(state, s, t, v)


# ----------------------------------------------------------------------------------------------
# PropertyFilterSpec parsing


def _paths_for_type(type_: str) -> dict[str, Any]:
    """The property paths a PropertySpec of ``type_`` may name."""
    props = PROPS_BY_TYPE.get(type_)
    if props is not None:
        return props
    return dict.fromkeys(ENTITY_PROPS) if type_ in PLAIN_ENTITY_TYPES else {}


def parse_filter_spec(state: State, s: Session, raw: Any, where: str) -> FilterSpec:
    spec = wire.as_obj(raw, where, ("PropertyFilterSpec",))
    wire.check_fields(spec, {"propSet", "objectSet", "reportMissingObjectsInResults"}, where)
    wire.get_bool(spec, "reportMissingObjectsInResults", where, required=False)
    props: dict[str, tuple[str, ...]] = {}
    prop_list = wire.get_list(spec, "propSet", where)
    for i, item in enumerate(prop_list):
        pw = f"{where}.propSet[{i}]"
        ps = wire.as_obj(item, pw, ("PropertySpec",))
        wire.check_fields(ps, {"type", "all", "pathSet"}, pw)
        t = _known_type(wire.get_str(ps, "type", pw), f"{pw}.type")
        known = _paths_for_type(t)
        all_ = wire.get_bool(ps, "all", pw, required=False)
        paths: list[str] = list(props.get(t, ()))
        if all_:
            every = ALL_PROPS.get(t, ENTITY_PROPS if known else ())
            paths += [p for p in every if p not in paths]
        for j, p in enumerate(wire.get_list(ps, "pathSet", pw, required=False)):
            if not isinstance(p, str):
                raise WireError(f"{pw}.pathSet[{j}] must be a string", f"{pw}.pathSet[{j}]")
            if p not in known:
                raise invalid_property(p)
            if p not in paths:
                paths.append(p)
        props[t] = tuple(paths)
    names: dict[str, Sel] = {}
    objects: list[ObjSpec] = []
    for i, item in enumerate(wire.get_list(spec, "objectSet", where)):
        ow = f"{where}.objectSet[{i}]"
        os_ = wire.as_obj(item, ow, ("ObjectSpec",))
        wire.check_fields(os_, {"obj", "skip", "selectSet"}, ow)
        obj = lookup_mor(state, s, wire.req(os_, "obj", ow), f"{ow}.obj")
        skip = bool(wire.get_bool(os_, "skip", ow, required=False))
        sels = _parse_selects(os_, ow, names)
        objects.append(ObjSpec(obj, skip, sels))
    # every SelectionSpec reference must name a TraversalSpec of this filter spec
    for o in objects:
        _check_refs(o.select, names, where)
    return FilterSpec(props, tuple(objects), names)


def _parse_selects(parent: JSON, where: str, names: dict[str, Sel]) -> tuple[Sel, ...]:
    out: list[Sel] = []
    for k, item in enumerate(wire.get_list(parent, "selectSet", where, required=False)):
        sw = f"{where}.selectSet[{k}]"
        sel = wire.as_obj(item, sw, ("TraversalSpec", "SelectionSpec"))
        if sel["_typeName"] == "SelectionSpec":
            wire.check_fields(sel, {"name"}, sw)
            name = wire.get_str(sel, "name", sw)
            out.append(Sel(name, None, None, False, ()))
            continue
        wire.check_fields(sel, {"name", "type", "path", "skip", "selectSet"}, sw)
        name = wire.get_str(sel, "name", sw, required=False)
        t = wire.get_str(sel, "type", sw)
        path = wire.get_str(sel, "path", sw)
        assert path is not None
        t = _known_type(t, f"{sw}.type")
        if not any(pp == path and _isa(tt, {t}) for tt, pp in TRAVERSABLE):
            raise invalid_property(path)
        skip = bool(wire.get_bool(sel, "skip", sw, required=False))
        ts = Sel(name, t, path, skip, _parse_selects(sel, sw, names))
        if name:
            names[name] = ts
        out.append(ts)
    return tuple(out)


def _known_type(t: str | None, where: str) -> str:
    assert t is not None
    if t not in KNOWN_TYPES:
        raise SimFault("InvalidType", f"Unknown managed object type {t!r} in {where}", argument=t)
    return t


def _check_refs(sels: tuple[Sel, ...], names: dict[str, Sel], where: str) -> None:
    for sel in sels:
        if sel.type is None and (sel.name or "") not in names:
            raise SimFault(
                "InvalidArgument",
                f"SelectionSpec refers to unknown TraversalSpec {sel.name!r} in {where}",
                invalidProperty="selectSet",
            )
        _check_refs(sel.select, names, where)


# ----------------------------------------------------------------------------------------------
# Handlers


async def h_content(c: Ctx) -> Any:
    return c.state.content()


async def h_server_clock(c: Ctx) -> Any:
    return wire.fmt_time(time.time())


async def h_current_time(c: Ctx) -> Any:
    wire.check_fields(c.body, set(), "CurrentTimeRequestType")
    return wire.fmt_time(time.time())


async def h_login(c: Ctx) -> Any:
    b = c.body
    wire.check_fields(b, {"userName", "password", "locale"}, "LoginRequestType")
    user = wire.get_str(b, "userName", "LoginRequestType")
    pw = wire.get_str(b, "password", "LoginRequestType")
    locale = wire.get_str(b, "locale", "LoginRequestType", required=False)
    assert user is not None and pw is not None
    client = c.request.client.host if c.request.client else "127.0.0.1"
    s = c.state.login(user, pw, locale, client, c.request.headers.get("user-agent", ""))
    c.session = s
    return _WithHeader(s.user_session(), {SESSION_HEADER: s.token})


async def h_logout(c: Ctx) -> Any:
    assert c.session is not None
    c.state.stats["logouts"] += 1
    c.state.end_session(c.session)
    return None


async def h_current_session(c: Ctx) -> Any:
    return c.session.user_session() if c.session is not None else None


async def h_create_view(c: Ctx) -> Any:
    assert c.session is not None
    w = "CreateContainerViewRequestType"
    b = c.body
    wire.check_fields(b, {"container", "type", "recursive"}, w)
    container = lookup_mor(c.state, c.session, wire.req(b, "container", w), f"{w}.container")
    if not isinstance(container, Entity):
        raise SimFault(
            "InvalidArgument",
            f"{w}.container must be a managed entity",
            invalidProperty="container",
        )
    types = wire.get_list(b, "type", w, required=False)
    for i, t in enumerate(types):
        if not isinstance(t, str):
            raise WireError(f"{w}.type[{i}] must be a string", f"{w}.type[{i}]")
        _known_type(t, f"{w}.type")
    recursive = wire.get_bool(b, "recursive", w)
    assert recursive is not None
    v = c.state.create_view(c.session, container, list(types), recursive)
    return v.ref()


async def h_view_list(c: Ctx) -> Any:
    assert c.session is not None
    return [v.ref() for v in c.session.views.values()] or None


async def h_destroy_view(c: Ctx) -> Any:
    assert c.session is not None and isinstance(c.obj, ContainerView)
    wire.check_fields(c.body, set(), "DestroyViewRequestType")
    c.state.destroy_view(c.session, c.obj)
    return None


def _object_content(state: State, o: MO, paths: tuple[str, ...]) -> JSON:
    d: JSON = {"_typeName": "ObjectContent", "obj": o.ref()}
    ps = state.prop_set(o, paths)
    if ps:
        d["propSet"] = ps
    return d


def _page(state: State, s: Session, r: Retrieval, token: str | None) -> Any:
    chunk = r.objects[r.pos : r.pos + r.page]
    r.pos += len(chunk)
    out: JSON = {"_typeName": "RetrieveResult"}
    if r.pos < len(r.objects):
        if token is None:
            token = str(s.next_token)
            s.next_token += 1
        s.retrievals[token] = r
        out["token"] = token
    elif token is not None:
        s.retrievals.pop(token, None)
    out["objects"] = [_object_content(state, o, paths) for o, paths in chunk]
    return out


async def h_retrieve(c: Ctx) -> Any:
    assert c.session is not None
    w = "RetrievePropertiesExRequestType"
    b = c.body
    wire.check_fields(b, {"specSet", "options"}, w)
    raw_specs = wire.get_list(b, "specSet", w)
    if not raw_specs:
        raise SimFault(
            "InvalidArgument", f"{w}.specSet must not be empty", invalidProperty="specSet"
        )
    opts = wire.get_obj(b, "options", w, ("RetrieveOptions",))
    assert opts is not None
    wire.check_fields(opts, {"maxObjects"}, f"{w}.options")
    max_objects = wire.get_int(opts, "maxObjects", f"{w}.options", required=False)
    if max_objects is not None and max_objects <= 0:
        raise SimFault(
            "InvalidArgument",
            f"{w}.options.maxObjects must be positive",
            invalidProperty="maxObjects",
        )
    merged: dict[str, tuple[MO, tuple[str, ...]]] = {}
    for i, raw in enumerate(raw_specs):
        spec = parse_filter_spec(c.state, c.session, raw, f"{w}.specSet[{i}]")
        for moid, (o, paths) in c.state.resolve(spec).items():
            if moid in merged:
                old = merged[moid][1]
                merged[moid] = (o, old + tuple(p for p in paths if p not in old))
            else:
                merged[moid] = (o, paths)
    if not merged:
        return None
    r = Retrieval(list(merged.values()), 0, max_objects or DEFAULT_PAGE)
    return _page(c.state, c.session, r, None)


def _retrieval_token(c: Ctx, w: str) -> str:
    """The ``token`` of a Continue/CancelRetrievePropertiesEx body, naming an unfinished paging."""
    assert c.session is not None
    wire.check_fields(c.body, {"token"}, w)
    token = wire.get_str(c.body, "token", w)
    assert token is not None
    if token not in c.session.retrievals:
        raise SimFault(
            "InvalidArgument",
            f"Unknown or finished retrieval token {token!r}",
            invalidProperty="token",
        )
    return token


async def h_continue(c: Ctx) -> Any:
    assert c.session is not None
    token = _retrieval_token(c, "ContinueRetrievePropertiesExRequestType")
    return _page(c.state, c.session, c.session.retrievals[token], token)


async def h_cancel_retrieve(c: Ctx) -> Any:
    assert c.session is not None
    del c.session.retrievals[_retrieval_token(c, "CancelRetrievePropertiesExRequestType")]
    return None


async def h_create_filter(c: Ctx) -> Any:
    assert c.session is not None and isinstance(c.obj, Collector)
    w = "CreateFilterRequestType"
    wire.check_fields(c.body, {"spec", "partialUpdates"}, w)
    raw = wire.req(c.body, "spec", w)
    spec = parse_filter_spec(c.state, c.session, raw, f"{w}.spec")
    partial = wire.get_bool(c.body, "partialUpdates", w)
    assert partial is not None
    f = c.state.create_filter(c.obj, spec, raw, partial)
    return f.ref()


async def h_wait(c: Ctx) -> Any:
    assert c.session is not None and isinstance(c.obj, Collector)
    w = "WaitForUpdatesExRequestType"
    state, col = c.state, c.obj
    wire.check_fields(c.body, {"version", "options"}, w)
    version = wire.get_str(c.body, "version", w, required=False)
    opts = wire.get_obj(c.body, "options", w, ("WaitOptions",), required=False) or {}
    wire.check_fields(opts, {"maxWaitSeconds", "maxObjectUpdates"}, f"{w}.options")
    max_wait = wire.get_int(opts, "maxWaitSeconds", f"{w}.options", required=False)
    max_updates = wire.get_int(opts, "maxObjectUpdates", f"{w}.options", required=False)
    if max_wait is not None and max_wait < 0:
        raise SimFault(
            "InvalidArgument",
            f"{w}.options.maxWaitSeconds must not be negative",
            invalidProperty="maxWaitSeconds",
        )
    if max_updates is not None and max_updates <= 0:
        raise SimFault(
            "InvalidArgument",
            f"{w}.options.maxObjectUpdates must be positive",
            invalidProperty="maxObjectUpdates",
        )
    state.stats["wait_calls"] += 1
    if not version:
        state.reset_filters(col)
    elif version != str(col.version):
        raise SimFault(
            "InvalidCollectorVersion",
            f"Unknown collector version {version!r} (current {col.version})",
        )
    deadline = None if max_wait is None else time.monotonic() + max_wait
    gen = col.cancel_gen
    # The request body is read; the next ASGI message is http.disconnect when the client leaves.
    disconnect = asyncio.ensure_future(c.request.receive())
    try:
        return await _wait_loop(c, col, deadline, gen, max_updates, disconnect)
    finally:
        disconnect.cancel()


async def _wait_loop(
    c: Ctx,
    col: Collector,
    deadline: float | None,
    gen: int,
    max_updates: int | None,
    disconnect: asyncio.Future[Any],
) -> Any:
    """Answer the pending changes, or long-poll for them on the collector's event."""
    state = c.state
    assert c.session is not None
    while True:
        sets, truncated = state.collect_updates(col, max_updates)
        if sets:
            col.version += 1
            out: JSON = {"_typeName": "UpdateSet", "version": str(col.version), "filterSet": sets}
            if truncated:
                out["truncated"] = True
            return out
        remaining = None if deadline is None else deadline - time.monotonic()
        if (remaining is not None and remaining <= 0) or state.closing:
            state.stats["wait_timeouts"] += 1
            return None
        col.changed.clear()
        col.waiting += 1
        changed = asyncio.ensure_future(col.changed.wait())
        try:
            done, _ = await asyncio.wait(
                {changed, disconnect}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            col.waiting -= 1
            changed.cancel()
        if disconnect in done:
            return None  # the client went away: stop waiting (nobody reads the answer)
        if not done:
            state.stats["wait_timeouts"] += 1
            return None
        if col.cancel_gen != gen:
            raise SimFault("RequestCanceled", "The request was canceled by CancelWaitForUpdates.")
        if c.session.token not in state.sessions:
            raise _not_authenticated(col.ref()["type"], col.moid)
        if col.destroyed:
            raise not_found("PropertyCollector", col.moid)


async def h_cancel_wait(c: Ctx) -> Any:
    assert isinstance(c.obj, Collector)
    wire.check_fields(c.body, set(), "CancelWaitForUpdatesRequestType")
    c.obj.cancel_gen += 1
    c.obj.changed.set()
    return None


async def h_create_collector(c: Ctx) -> Any:
    assert c.session is not None
    wire.check_fields(c.body, set(), "CreatePropertyCollectorRequestType")
    return c.state.create_collector(c.session).ref()


async def h_destroy_collector(c: Ctx) -> Any:
    assert isinstance(c.obj, Collector)
    wire.check_fields(c.body, set(), "DestroyPropertyCollectorRequestType")
    c.state.destroy_collector(c.obj)
    return None


async def h_collector_filters(c: Ctx) -> Any:
    assert isinstance(c.obj, Collector)
    return [f.ref() for f in c.obj.filters.values()] or None


async def h_destroy_filter(c: Ctx) -> Any:
    wire.check_fields(c.body, set(), "DestroyPropertyFilterRequestType")
    c.state.destroy_filter(c.obj)  # type: ignore[arg-type]
    return None


async def h_filter_spec(c: Ctx) -> Any:
    return c.obj.raw_spec  # type: ignore[attr-defined]


async def h_filter_partial(c: Ctx) -> Any:
    return c.obj.partial  # type: ignore[attr-defined]


def _vm_and_auth(c: Ctx, w: str) -> tuple[VirtualMachine, str, str, bool]:
    """The ``{vm, auth}`` body of StartGuestNetwork_Task / AbortCustomization_Task."""
    assert c.session is not None
    wire.check_fields(c.body, {"vm", "auth"}, w)
    vm = lookup_mor(c.state, c.session, wire.req(c.body, "vm", w), f"{w}.vm")
    if not isinstance(vm, VirtualMachine):
        raise not_found("VirtualMachine", vm.moid)
    return (vm, *_guest_auth(c.body, w))


def _guest_auth(b: JSON, w: str) -> tuple[str, str, bool]:
    auth = wire.get_obj(b, "auth", w, GUEST_AUTH_TYPES)
    assert auth is not None
    aw = f"{w}.auth"
    interactive = wire.get_bool(auth, "interactiveSession", aw)
    if auth["_typeName"] != "NamePasswordAuthentication":
        raise SimFault(
            "InvalidArgument",
            f"{aw}: the simulator accepts only NamePasswordAuthentication, got {auth['_typeName']}",
            invalidProperty="auth",
        )
    wire.check_fields(auth, {"interactiveSession", "username", "password"}, aw)
    user = wire.get_str(auth, "username", aw)
    pw = wire.get_str(auth, "password", aw)
    assert user is not None and pw is not None and interactive is not None
    return user, pw, interactive


async def h_start_network(c: Ctx) -> Any:
    assert c.session is not None
    vm, user, pw, interactive = _vm_and_auth(c, "StartGuestNetworkRequestType")
    task = c.state.start_guest_network(c.session, vm, user, pw, interactive)
    if vm.lose_reply is not None:
        # the task exists and runs; the caller never learns it (SimServer.lose_start_reply)
        (mode, seconds), vm.lose_reply = vm.lose_reply, None
        c.state.stats["replies_lost"] += 1
        left = await _hold(c.request, seconds)
        if mode == "drop" and not left:
            raise _DropConnection(task.moid)
    return task.ref()


async def _hold(request: Request, seconds: float) -> bool:
    """Wait ``seconds`` or until the client goes away; True if it went away."""
    if seconds <= 0:
        return False
    # the body is read: the next ASGI message is http.disconnect when the client leaves
    disconnect = asyncio.ensure_future(request.receive())
    try:
        done, _ = await asyncio.wait({disconnect}, timeout=seconds)
    finally:
        disconnect.cancel()
    return bool(done)


class _DropConnection(Exception):
    """Close the request's connection without an answer (the work is done: ``task``)."""

    def __init__(self, task: str) -> None:
        super().__init__(task)
        self.task = task


async def h_abort(c: Ctx) -> Any:
    assert c.session is not None
    vm, user, pw, interactive = _vm_and_auth(c, "AbortCustomizationRequestType")
    return c.state.abort_customization(c.session, vm, user, pw, interactive).ref()


async def h_cancel_task(c: Ctx) -> Any:
    assert isinstance(c.obj, Task)
    wire.check_fields(c.body, set(), "CancelTaskRequestType")
    c.state.cancel_task(c.obj)
    return None


# (type, http method, name) -> (handler, needs session)
ROUTES: dict[tuple[str, str, str], tuple[Handler, bool]] = {
    ("ServiceInstance", "GET", "content"): (h_content, False),
    ("ServiceInstance", "POST", "RetrieveServiceContent"): (h_content, False),
    ("ServiceInstance", "GET", "serverClock"): (h_server_clock, True),
    ("ServiceInstance", "POST", "CurrentTime"): (h_current_time, True),
    ("SessionManager", "POST", "Login"): (h_login, False),
    ("SessionManager", "POST", "Logout"): (h_logout, True),
    ("SessionManager", "GET", "currentSession"): (h_current_session, False),
    ("ViewManager", "POST", "CreateContainerView"): (h_create_view, True),
    ("ViewManager", "GET", "viewList"): (h_view_list, True),
    ("ContainerView", "POST", "DestroyView"): (h_destroy_view, True),
    ("PropertyCollector", "POST", "RetrievePropertiesEx"): (h_retrieve, True),
    ("PropertyCollector", "POST", "ContinueRetrievePropertiesEx"): (h_continue, True),
    ("PropertyCollector", "POST", "CancelRetrievePropertiesEx"): (h_cancel_retrieve, True),
    ("PropertyCollector", "POST", "CreateFilter"): (h_create_filter, True),
    ("PropertyCollector", "POST", "WaitForUpdatesEx"): (h_wait, True),
    ("PropertyCollector", "POST", "CancelWaitForUpdates"): (h_cancel_wait, True),
    ("PropertyCollector", "POST", "CreatePropertyCollector"): (h_create_collector, True),
    ("PropertyCollector", "POST", "DestroyPropertyCollector"): (h_destroy_collector, True),
    ("PropertyCollector", "GET", "filter"): (h_collector_filters, True),
    ("PropertyFilter", "POST", "DestroyPropertyFilter"): (h_destroy_filter, True),
    ("PropertyFilter", "GET", "spec"): (h_filter_spec, True),
    ("PropertyFilter", "GET", "partialUpdates"): (h_filter_partial, True),
    ("VirtualMachineGuestCustomizationManager", "POST", "StartGuestNetwork_Task"): (
        h_start_network,
        True,
    ),
    ("VirtualMachineGuestCustomizationManager", "POST", "AbortCustomization_Task"): (h_abort, True),
    ("Task", "POST", "CancelTask"): (h_cancel_task, True),
}
ROUTED_TYPES = frozenset(t for t, _, _ in ROUTES) | frozenset(PROPS_BY_TYPE)
GENERIC_GET_TYPES = frozenset(PROPS_BY_TYPE)


class _WithHeader:
    def __init__(self, value: Any, headers: dict[str, str]) -> None:
        self.value = value
        self.headers = headers


def _not_authenticated(type_: str, moid: str) -> SimFault:
    return SimFault(
        "NotAuthenticated",
        "The session is not authenticated.",
        object=wire.mor(type_, moid),
        privilegeId="System.View",
    )


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("********" if k == "password" and isinstance(v, str) else _redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


class SimApp:
    """Owns the Starlette app; ``state`` is created on the server loop before serving."""

    def __init__(
        self,
        state: State,
        abort_connection: Callable[[tuple[str, int] | None], bool] | None = None,
    ) -> None:
        self.state = state
        # closes the TCP connection of the given client address at once; True if found
        self.abort_connection = abort_connection
        self.exchanges: list[Exchange] = []
        self.app = Starlette(
            routes=[
                Route(
                    "/sdk/vim25/{release}/{type}/{moid}/{name}", self.vim, methods=["GET", "POST"]
                ),
                Route("/api/vcenter/system", self.hello, methods=["POST"]),
            ],
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    # -- hello ---------------------------------------------------------------------------

    async def hello(self, request: Request) -> Response:
        started = time.perf_counter()
        state = self.state
        body_raw = await request.body()
        if not state.options.hello or request.query_params.get("action") != "hello":
            return self._finish(request, 404, None, body_raw, started, plain="Not Found")
        await self._latency()
        try:
            body = json.loads(body_raw) if body_raw.strip() else None
        except ValueError:
            body = None
        releases = body.get("api_releases") if isinstance(body, dict) else None
        if not isinstance(releases, list) or not all(isinstance(r, str) for r in releases):
            err = {
                "error_type": "INVALID_ARGUMENT",
                "messages": [
                    {
                        "args": [],
                        "id": "vapi.bindings.typeconverter.invalid.body",
                        "default_message": 'body must be {"api_releases": ["9.0.0.0", ...]}',
                    }
                ],
            }
            return self._finish(request, 400, err, body_raw, started)
        supported = state.options.supported_releases()
        common = [r for r in releases if r in supported]
        best = max(common, key=_release_key) if common else ""
        return self._finish(request, 200, {"api_release": best}, body_raw, started)

    # -- VI/JSON -------------------------------------------------------------------------

    async def vim(self, request: Request) -> Response:
        started = time.perf_counter()
        state = self.state
        p = request.path_params
        release, type_, moid, name = p["release"], p["type"], p["moid"], p["name"]
        method = request.method
        body_raw = await request.body()
        if release not in state.options.supported_releases():
            return self._finish(request, 404, None, body_raw, started, plain="Not Found")
        route = ROUTES.get((type_, method, name))
        if route is None:
            generic = method == "GET" and type_ in ROUTED_TYPES
            if not generic:
                return self._finish(request, 404, None, body_raw, started, plain="Not Found")
        await self._latency()
        stat_key = f"{type_}.{name}"
        reqs = state.stats["requests"]
        reqs[stat_key] = reqs.get(stat_key, 0) + 1
        token = request.headers.get(SESSION_HEADER)
        session = state.session_for(token)
        body: JSON = {}
        try:
            needs_session = route[1] if route is not None else True
            if session is None and needs_session:
                state.stats["not_authenticated"] += 1
                raise _not_authenticated(type_, moid)
            if session is not None:
                session.in_flight += 1
                session.last_active = time.time()
                session.call_count += 1
            try:
                obj = lookup(state, session, type_, moid)
                if method == "POST":
                    body = wire.parse_body(body_raw)
                if route is not None:
                    ctx = Ctx(state, session, obj, body, request)
                    result = await route[0](ctx)
                else:
                    if type_ not in GENERIC_GET_TYPES:
                        raise invalid_property(name)
                    result = state.read_property(obj, name)
            finally:
                if session is not None:
                    session.in_flight -= 1
                    session.last_active = time.time()
        except _DropConnection as drop:
            return await self._drop(request, drop.task, body, started)
        except WireError as exc:
            return self._finish(request, 500, fault_from_wire(exc).body(), body, started)
        except SimFault as fault:
            return self._finish(request, 500, fault.body(), body, started)
        except RecursionError:
            deep = SimFault("InvalidRequest", "the request body is nested too deeply")
            return self._finish(request, 500, deep.body(), None, started)
        except Exception as exc:  # a simulator bug: still a fault body, never a traceback
            log.exception("internal error handling %s %s", method, request.url.path)
            bug = SimFault(
                "SystemError",
                "internal simulator error",
                reason=f"{type(exc).__name__} in the simulator",
            )
            return self._finish(request, 500, bug.body(), body, started)
        headers: dict[str, str] = {}
        if isinstance(result, _WithHeader):
            headers = result.headers
            result = result.value
        if result is None:
            return self._finish(request, 204, None, body, started, headers=headers)
        return self._finish(request, 200, result, body, started, headers=headers)

    async def _drop(self, request: Request, task: str, body: Any, started: float) -> Response:
        """Abort the connection so that the client gets no answer (nothing is recorded)."""
        client = (request.client.host, request.client.port) if request.client else None
        if self.abort_connection is None or not self.abort_connection(client):
            log.error("could not drop the connection of %s; answering instead", client)
            return self._finish(request, 200, wire.mor("Task", task), body, started)
        await _hold(request, 1.0)  # let the server see the connection go
        log.info(
            '%s "%s %s" dropped (%s created) %.1fms',
            client[0] if client else "-",
            request.method,
            request.url.path,
            task,
            (time.perf_counter() - started) * 1000,
        )
        return Response(status_code=204)  # goes nowhere: the connection is closed

    async def _latency(self) -> None:
        ms = self.state.options.latency_ms
        if ms > 0:
            await asyncio.sleep(ms / 1000)

    def _finish(
        self,
        request: Request,
        status: int,
        payload: Any,
        req_body: Any,
        started: float,
        headers: dict[str, str] | None = None,
        plain: str | None = None,
    ) -> Response:
        if plain is not None:
            resp = Response(plain, status_code=status, media_type="text/plain")
        elif payload is None:
            resp = Response(status_code=status, headers=headers)
        else:
            resp = Response(
                wire.dumps(payload),
                status_code=status,
                media_type="application/json",
                headers=headers,
            )
        if self.state.options.record:
            if isinstance(req_body, bytes):
                try:
                    req_body = json.loads(req_body) if req_body.strip() else None
                except ValueError:
                    req_body = req_body.decode("utf-8", "replace")
            self.exchanges.append(
                Exchange(
                    request.method,
                    request.url.path,
                    status,
                    _redact(req_body or None),
                    payload,
                )
            )
        if log.isEnabledFor(logging.INFO):
            client = request.client.host if request.client else "-"
            log.info(
                '%s "%s %s" %d %.1fms',
                client,
                request.method,
                request.url.path,
                status,
                (time.perf_counter() - started) * 1000,
            )
        return resp


def _release_key(r: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in r.split("."))
    except ValueError:
        return (0,)


__all__ = ["Exchange", "SimApp", "parse_filter_spec"]
