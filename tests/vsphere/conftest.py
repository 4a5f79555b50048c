"""Helpers for the client's integration tests (the simulator comes from the ``sim_factory``
fixture of tests/conftest.py: real HTTPS on 127.0.0.1 with a generated CA): a wire recorder whose
request bodies are checked against VMware's type registry (tests/oracle.py) after every test."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests import oracle
from tui.sim.server import SimServer
from tui.vsphere import Client, ConnectSpec, GuestCredentials, Secret, TLSSpec

_VIM = re.compile(r"^/sdk/vim25/(?P<rel>[^/]+)/(?P<type>[^/]+)/(?P<moid>[^/]+)/(?P<member>[^/]+)$")


class Wire:
    """Every request the client sent (method, path, decoded body), captured by an event hook."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    async def on_request(self, request: httpx.Request) -> None:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        m = request.url.path.rsplit("/", 1)[-1]
        self.in_flight[m] = self.in_flight.get(m, 0) + 1
        self.peak[m] = max(self.peak.get(m, 0), self.in_flight[m])

    async def on_response(self, response: httpx.Response) -> None:
        m = response.request.url.path.rsplit("/", 1)[-1]
        self.in_flight[m] -= 1

    def hooks(self) -> dict[str, list[Callable[..., Any]]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    def count(self, member: str) -> int:
        return sum(1 for _, p, _ in self.requests if p.rsplit("/", 1)[-1] == member)

    def members(self) -> list[str]:
        return [p.rsplit("/", 1)[-1] for _, p, _ in self.requests]

    def check_conformance(self) -> int:
        """Validate every VI/JSON method call body against the registry; returns how many."""
        n = 0
        for method, path, body in self.requests:
            m = _VIM.match(path)
            if m is None or method != "POST":
                continue
            oracle.validate_request(m["type"], m["member"], body, release=m["rel"])
            n += 1
        return n


@pytest.fixture
def wire() -> Iterator[Wire]:
    w = Wire()
    yield w
    w.check_conformance()  # every test's traffic is checked, not only the conformance test


def spec_for(sim: SimServer, **kw: Any) -> ConnectSpec:
    tls = kw.pop("tls", TLSSpec(ca_file=sim.ca_file))
    return ConnectSpec(
        host="127.0.0.1",
        port=sim.port,
        username=kw.pop("username", sim.username),
        password=Secret(kw.pop("password", sim.password)),
        tls=tls,
        timeout=kw.pop("timeout", 10.0),
        **kw,
    )


async def connect(sim: SimServer, wire: Wire | None = None, **kw: Any) -> Client:
    opts = {k: kw.pop(k) for k in ("keepalive_interval", "max_objects") if k in kw}
    opts.setdefault("keepalive_interval", None)
    return await Client.connect(
        spec_for(sim, **kw), event_hooks=wire.hooks() if wire else None, **opts
    )


def guest(sim: SimServer, password: str | None = None) -> GuestCredentials:
    return GuestCredentials(sim.guest_user, Secret(password or sim.guest_password))


async def eventually(condition: Callable[[], bool], what: str, within: float = 15.0) -> None:
    """Poll ``condition`` (e.g. the simulator's state, kept by another thread) until it holds;
    fail naming ``what`` when it still does not after ``within`` seconds. For tests that used
    to sleep a fixed time and then assert: a loaded machine only makes this take longer."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still not the case after {within:g} s: {what}")
        await asyncio.sleep(0.02)
