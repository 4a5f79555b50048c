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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tui.sim import wire
from tui.sim.api import GENERIC_GET_TYPES, ROUTED_TYPES, ROUTES
from tui.sim.api.context import (
    SESSION_HEADER,
    Ctx,
    DropConnection,
    WithHeader,
    hold,
    not_authenticated,
)
from tui.sim.faults import SimFault, fault_from_wire, invalid_property
from tui.sim.properties import read_property
from tui.sim.state import State
from tui.sim.wire import JSON, WireError

log = logging.getLogger("tui.sim.requests")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request/response (passwords in request bodies are masked)."""

    method: str
    path: str
    status: int
    request_json: Any
    response_json: Any


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
        session = state.sessions.session_for(token)
        body: JSON = {}
        try:
            needs_session = route[1] if route is not None else True
            if session is None and needs_session:
                state.stats["not_authenticated"] += 1
                raise not_authenticated(type_, moid)
            with state.sessions.in_request(session):
                obj = state.lookup(session, type_, moid)
                if method == "POST":
                    body = wire.parse_body(body_raw)
                if route is not None:
                    result = await route[0](Ctx(state, session, obj, body, request))
                elif type_ in GENERIC_GET_TYPES:
                    result = read_property(obj, name)
                else:
                    raise invalid_property(name)
        except DropConnection as drop:
            return await self._drop(request, drop.task, body, started)
        except Exception as exc:
            return self._fault(request, exc, body, started)
        headers: dict[str, str] = {}
        if isinstance(result, WithHeader):
            headers = result.headers
            result = result.value
        if result is None:
            return self._finish(request, 204, None, body, started, headers=headers)
        return self._finish(request, 200, result, body, started, headers=headers)

    def _fault(self, request: Request, exc: Exception, body: Any, started: float) -> Response:
        """The fault answer of a failed call (a simulator bug too: never a traceback)."""
        if isinstance(exc, WireError):
            return self._finish(request, 500, fault_from_wire(exc).body(), body, started)
        if isinstance(exc, SimFault):
            return self._finish(request, 500, exc.body(), body, started)
        if isinstance(exc, RecursionError):
            deep = SimFault("InvalidRequest", "the request body is nested too deeply")
            return self._finish(request, 500, deep.body(), None, started)
        log.exception("internal error handling %s %s", request.method, request.url.path)
        bug = SimFault(
            "SystemError",
            "internal simulator error",
            reason=f"{type(exc).__name__} in the simulator",
        )
        return self._finish(request, 500, bug.body(), body, started)

    async def _drop(self, request: Request, task: str, body: Any, started: float) -> Response:
        """Abort the connection so that the client gets no answer (nothing is recorded)."""
        client = (request.client.host, request.client.port) if request.client else None
        if self.abort_connection is None or not self.abort_connection(client):
            log.error("could not drop the connection of %s; answering instead", client)
            return self._finish(request, 200, wire.mor("Task", task), body, started)
        await hold(request, 1.0)  # let the server see the connection go
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


__all__ = ["Exchange", "SimApp"]
