"""VI/JSON methods of ServiceInstance, SessionManager, ViewManager and ContainerView."""

from __future__ import annotations

from typing import Any

from tui.sim import wire
from tui.sim.api.context import SESSION_HEADER, Ctx, Handler, WithHeader, lookup_mor
from tui.sim.api.filterspec import known_type
from tui.sim.faults import SimFault
from tui.sim.objects import ContainerView, Entity
from tui.sim.wire import WireError


async def h_content(c: Ctx) -> Any:
    return c.state.content()


async def h_server_clock(c: Ctx) -> Any:
    return wire.fmt_time(c.state.clock.time())


async def h_current_time(c: Ctx) -> Any:
    wire.check_fields(c.body, set(), "CurrentTimeRequestType")
    return wire.fmt_time(c.state.clock.time())


async def h_login(c: Ctx) -> Any:
    b = c.body
    wire.check_fields(b, {"userName", "password", "locale"}, "LoginRequestType")
    user = wire.get_str(b, "userName", "LoginRequestType")
    pw = wire.get_str(b, "password", "LoginRequestType")
    locale = wire.get_str(b, "locale", "LoginRequestType", required=False)
    assert user is not None and pw is not None
    client = c.request.client.host if c.request.client else "127.0.0.1"
    s = c.state.sessions.login(user, pw, locale, client, c.request.headers.get("user-agent", ""))
    c.session = s
    return WithHeader(s.user_session(), {SESSION_HEADER: s.token})


async def h_logout(c: Ctx) -> Any:
    assert c.session is not None
    c.state.stats["logouts"] += 1
    c.state.sessions.end(c.session)
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
        known_type(t, f"{w}.type")
    recursive = wire.get_bool(b, "recursive", w)
    assert recursive is not None
    v = c.state.sessions.create_view(c.session, container, list(types), recursive)
    return v.ref()


async def h_view_list(c: Ctx) -> Any:
    assert c.session is not None
    return [v.ref() for v in c.session.views.values()] or None


async def h_destroy_view(c: Ctx) -> Any:
    assert c.session is not None and isinstance(c.obj, ContainerView)
    wire.check_fields(c.body, set(), "DestroyViewRequestType")
    c.state.sessions.destroy_view(c.session, c.obj)
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
}
