"""Shared helpers for the UI tests: build the app on a simulator, wait for conditions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from textual.app import App
from textual.command import Command, CommandList, CommandPalette
from textual.notifications import SeverityLevel
from textual.pilot import Pilot

from tui.config.profiles import PasswordSource, Profile
from tui.sim.server import SimServer
from tui.ui.app import GuestnetApp
from tui.ui.screens.main import MainScreen
from tui.vsphere import Client
from tui.vsphere.models import VM, ConnectSpec, GuestCredentials, TLSSpec

VC_ENV = "GUESTNET_TEST_VC_PASSWORD"


def sim_profile(sim: SimServer, name: str = "sim", **kw: Any) -> Profile:
    base = Profile(
        name=name,
        host=sim.host,
        port=sim.port,
        username=sim.username,
        password_source=PasswordSource(kind="env", env=VC_ENV),
        tls=TLSSpec(ca_file=sim.ca_file),
        guest_username=sim.guest_user,
    )
    return replace(base, **kw)


class FastRetryClient:
    """The real client, with the run's retry delays shortened so TaskInProgress tests are quick."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._c, name)

    def start_guest_network(
        self, vms: Sequence[VM], creds: GuestCredentials, concurrency: int = 8, **options: Any
    ) -> Any:
        options = {"retry_delays": (0.05,), "max_attempts": 2, **options}
        return self._c.start_guest_network(vms, creds, concurrency, **options)


async def fast_connector(spec: ConnectSpec) -> Any:
    return FastRetryClient(await Client.connect(spec))


def make_app(
    sim: SimServer,
    profiles: dict[str, Profile] | None = None,
    *,
    env: dict[str, str] | None = None,
    **kw: Any,
) -> tuple[GuestnetApp, list[dict[str, Any]]]:
    records: list[dict[str, Any]] = []
    app = GuestnetApp(
        profiles=profiles if profiles is not None else {"sim": sim_profile(sim)},
        connector=kw.pop("connector", fast_connector),
        remember_theme=False,
        audit=lambda **fields: records.append(fields),
        env=env if env is not None else {VC_ENV: sim.password},
        **kw,
    )
    lasting_notifications(app)
    return app, records


LASTING = 3600.0


def lasting_notifications(app: App[Any]) -> None:
    """Keep every toast for the whole test. A toast expires on the wall clock (5 s by default)
    and ``app._notifications`` drops it then: on a loaded machine a test can take longer than
    that to look for it."""
    notify = app.notify

    def keep(
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        notify(message, title=title, severity=severity, timeout=LASTING, markup=markup)

    app.notify = keep  # type: ignore[method-assign]


async def wait_for(
    pilot: Pilot[Any], cond: Callable[[], object], within: float = 10.0, what: str = ""
) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await pilot.pause(0.05)
    await pilot.pause()  # let the new state paint


async def main_screen(pilot: Pilot[Any], within: float = 15.0) -> MainScreen:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, MainScreen) and app.screen.loaded,
        within,
        "the main screen with the inventory loaded",
    )
    assert isinstance(app.screen, MainScreen)
    return app.screen


def fault_text(main: MainScreen) -> str:
    from textual.widgets import Static

    body = main.fault_pane.query_one("#fault-body", Static)
    return str(body.render())


def palette_offers(app: GuestnetApp, title: str) -> bool:
    """The command palette is open with ``title`` as its highlighted (Enter's) command."""
    if not isinstance(app.screen, CommandPalette):
        return False
    highlighted = app.screen.query_one(CommandList).highlighted_option
    return isinstance(highlighted, Command) and highlighted.hit.text == title
