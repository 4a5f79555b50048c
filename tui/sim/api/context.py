"""What every VI/JSON method handler gets (``Ctx``) and the answers it can give besides a value."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from tui.sim import wire
from tui.sim.faults import SimFault
from tui.sim.objects import MO
from tui.sim.sessions import Session
from tui.sim.state import State
from tui.sim.wire import JSON

SESSION_HEADER = "vmware-api-session-id"


@dataclass
class Ctx:
    state: State
    session: Session | None
    obj: MO
    body: JSON
    request: Request


Handler = Callable[[Ctx], Awaitable[Any]]


class WithHeader:
    """A handler's value answered with extra response headers."""

    def __init__(self, value: Any, headers: dict[str, str]) -> None:
        self.value = value
        self.headers = headers


class DropConnection(Exception):
    """Close the request's connection without an answer (the work is done: ``task``)."""

    def __init__(self, task: str) -> None:
        super().__init__(task)
        self.task = task


def not_authenticated(type_: str, moid: str) -> SimFault:
    return SimFault(
        "NotAuthenticated",
        "The session is not authenticated.",
        object=wire.mor(type_, moid),
        privilegeId="System.View",
    )


def lookup_mor(state: State, s: Session | None, value: Any, where: str) -> MO:
    """The object a ManagedObjectReference in a request body names."""
    t, v = wire.as_mor(value, where)
    return state.lookup(s, t, v)


async def hold(request: Request, seconds: float) -> bool:
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
