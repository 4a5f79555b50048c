"""VI/JSON methods of PropertyCollector and PropertyFilter: retrieve, filters, the long-poll."""

from __future__ import annotations

import asyncio
from typing import Any

from tui.sim import wire
from tui.sim.api.context import Ctx, Handler, not_authenticated
from tui.sim.api.filterspec import parse_filter_spec
from tui.sim.collector import DEFAULT_PAGE, Collector, Retrieval
from tui.sim.faults import SimFault, not_found
from tui.sim.objects import MO
from tui.sim.properties import prop_set
from tui.sim.sessions import Session
from tui.sim.wire import JSON


def _object_content(o: MO, paths: tuple[str, ...]) -> JSON:
    d: JSON = {"_typeName": "ObjectContent", "obj": o.ref()}
    ps = prop_set(o, paths)
    if ps:
        d["propSet"] = ps
    return d


def _page(s: Session, r: Retrieval, token: str | None) -> Any:
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
    out["objects"] = [_object_content(o, paths) for o, paths in chunk]
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
        for moid, (o, paths) in c.state.collectors.resolve(spec).items():
            if moid in merged:
                old = merged[moid][1]
                merged[moid] = (o, old + tuple(p for p in paths if p not in old))
            else:
                merged[moid] = (o, paths)
    if not merged:
        return None
    r = Retrieval(list(merged.values()), 0, max_objects or DEFAULT_PAGE)
    return _page(c.session, r, None)


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
    return _page(c.session, c.session.retrievals[token], token)


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
    f = c.state.collectors.create_filter(c.obj, spec, raw, partial)
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
        state.collectors.reset_filters(col)
    elif version != str(col.version):
        raise SimFault(
            "InvalidCollectorVersion",
            f"Unknown collector version {version!r} (current {col.version})",
        )
    deadline = None if max_wait is None else state.clock.monotonic() + max_wait
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
        sets, truncated = state.collectors.collect_updates(col, max_updates)
        if sets:
            col.version += 1
            out: JSON = {"_typeName": "UpdateSet", "version": str(col.version), "filterSet": sets}
            if truncated:
                out["truncated"] = True
            return out
        if (deadline is not None and deadline <= state.clock.monotonic()) or state.closing:
            state.stats["wait_timeouts"] += 1
            return None
        col.changed.clear()
        col.waiting += 1
        changed = asyncio.ensure_future(col.changed.wait())
        waits: set[asyncio.Future[Any]] = {changed, disconnect}
        if deadline is not None:
            waits.add(asyncio.ensure_future(state.clock.sleep_until(deadline)))
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            col.waiting -= 1
            for w in waits - {disconnect}:
                w.cancel()
        if disconnect in done:
            return None  # the client went away: stop waiting (nobody reads the answer)
        if changed not in done:  # maxWaitSeconds passed
            state.stats["wait_timeouts"] += 1
            return None
        if col.cancel_gen != gen:
            raise SimFault("RequestCanceled", "The request was canceled by CancelWaitForUpdates.")
        if not state.sessions.alive(c.session):
            raise not_authenticated(col.ref()["type"], col.moid)
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
    return c.state.collectors.create(c.session).ref()


async def h_destroy_collector(c: Ctx) -> Any:
    assert isinstance(c.obj, Collector)
    wire.check_fields(c.body, set(), "DestroyPropertyCollectorRequestType")
    c.state.collectors.destroy(c.obj)
    return None


async def h_collector_filters(c: Ctx) -> Any:
    assert isinstance(c.obj, Collector)
    return [f.ref() for f in c.obj.filters.values()] or None


async def h_destroy_filter(c: Ctx) -> Any:
    wire.check_fields(c.body, set(), "DestroyPropertyFilterRequestType")
    c.state.collectors.destroy_filter(c.obj)  # type: ignore[arg-type]
    return None


async def h_filter_spec(c: Ctx) -> Any:
    return c.obj.raw_spec  # type: ignore[attr-defined]


async def h_filter_partial(c: Ctx) -> Any:
    return c.obj.partial  # type: ignore[attr-defined]


# (type, http method, name) -> (handler, needs session)
ROUTES: dict[tuple[str, str, str], tuple[Handler, bool]] = {
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
}
