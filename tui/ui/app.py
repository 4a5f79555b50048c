"""The guestnet Textual app: profile picker → connect → main screen. Entry point ``run()``.

The app knows its screens; no screen knows the app. Screens ask with messages
(``PickerScreen.ProfileChosen``, ``MainScreen.LeaveRequested``) and get what they need through
their constructors (the connected client, the profile, the session's audit sink).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker

from tui.config.groups import Group, resolve_targets
from tui.config.profiles import Profile, ProfileError
from tui.ui.audit import FleetAudit, SessionAudit
from tui.ui.fleet import Fleet
from tui.ui.login import Login
from tui.ui.palette import main_commands
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.main import MainScreen
from tui.ui.screens.picker import PickerScreen
from tui.ui.screens.watch_control import DEFAULT_SETTLE
from tui.ui.session import Connector, VCenter, default_connector
from tui.ui.themes import DEFAULT_THEME, shipped_themes, user_themes
from tui.ui.worker_errors import notify_worker_error
from tui.vsphere.errors import GuestnetError
from tui.vsphere.verify import DEFAULT_VERIFY_TIMEOUT

# a fleet's vCenter that does not answer: the pauses before its next login attempts (s)
SITE_RETRY = (2.0, 4.0, 8.0, 15.0, 30.0)
# On a dead link the client's cleanup (DestroyView/Filter, Logout) could hold q or p for its full
# request timeouts; past this the app moves on and vCenter expires the session on its own.
LOGOUT_SECONDS = 8.0


class GuestnetApp(App[int]):
    CSS_PATH = "app.tcss"
    logout_seconds: float = LOGOUT_SECONDS
    # how long a started VM has to prove its new address (no profile key for it yet)
    verify_timeout: float = DEFAULT_VERIFY_TIMEOUT
    watch_settle: float = DEFAULT_SETTLE  # the watch's delay between ready and start
    TITLE = "guestnet"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(
        self,
        *,
        profiles: Mapping[str, Profile] | None = None,
        profiles_problem: str | None = None,
        initial_profile: str | None = None,
        initial_profiles: Sequence[str] = (),
        groups: Mapping[str, Group] | None = None,
        connector: Connector = default_connector,
        demo: bool = False,
        clock: Callable[[], datetime] | None = None,
        themes_dir: Path | None = None,
        remember_theme: bool = True,
        audit: Callable[..., Any] | None = None,
        env: Mapping[str, str] | None = None,
        welcome: str | None = None,
    ) -> None:
        super().__init__()
        self.welcome = welcome
        self.profiles: dict[str, Profile] = dict(profiles or {})
        self.profiles_problem = profiles_problem
        # the picker's highlighted line; several names open one view instead
        self.initial_profile = initial_profile or (
            initial_profiles[0] if len(initial_profiles) == 1 else None
        )
        # names given on the command line (profiles or groups): several open one view
        self.initial_profiles = list(initial_profiles) or (
            [initial_profile] if initial_profile else []
        )
        self.groups: dict[str, Group] = dict(groups or {})
        self._dialogs = asyncio.Lock()  # the vCenters' login dialogs, one at a time
        self.connector = connector
        self.demo = demo
        self.clock = clock
        self.themes_dir = themes_dir
        self.remember_theme = remember_theme
        self._audit = audit
        self.env = os.environ if env is None else env
        self.session: MainScreen | None = None
        self._forced_theme: str | None = None
        self._quitting = False
        self._themes_ready = False

    # -- startup ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._load_themes()
        hint = (
            "No profiles yet: write profiles.yaml in the guestnet config folder "
            "(see README) or set GOVC_URL."
        )
        self.push_screen(
            PickerScreen(
                self.profiles,
                self.profiles_problem,
                hint,
                self.initial_profile,
                groups=self.groups,
            )
        )
        if self.welcome:
            self.notify(self.welcome, title="guestnet", timeout=10)
        if self.initial_profiles:
            self.open_profiles(self.initial_profiles)

    def _picker(self) -> PickerScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, PickerScreen):
                return screen
        return None

    def _picker_status(self, text: str) -> None:
        picker = self._picker()
        if picker is not None and picker.is_mounted:
            picker.set_status(text)

    def _load_themes(self) -> None:
        errors: list[str] = []
        for theme in shipped_themes():
            self.register_theme(theme)
        if self.themes_dir is not None:
            themes, errors = user_themes(self.themes_dir)
            for theme in themes:
                self.register_theme(theme)
        if errors:
            self.notify(
                "\n".join(errors), title="Some theme files were skipped", severity="warning"
            )
        self.theme = self._saved_theme()
        self._themes_ready = True

    def _saved_theme(self) -> str:
        """The remembered theme if it is still available, else the default."""
        if self.remember_theme:
            from tui.config.state import load_state

            saved = load_state().get("theme")
            if isinstance(saved, str) and saved in self.available_themes:
                return saved
        return DEFAULT_THEME

    def watch_theme(self, name: str) -> None:
        if self._forced_theme is not None or not self.remember_theme or not self._themes_ready:
            return
        from tui.config.state import load_state, save_state

        state = load_state()
        if state.get("theme") != name:
            state["theme"] = name
            try:
                save_state(state)
            except OSError as exc:
                self.notify(f"Cannot remember the theme: {exc.strerror}", severity="warning")

    # -- connect ------------------------------------------------------------------------------
    @on(PickerScreen.ProfileChosen)
    def _profile_chosen(self, message: PickerScreen.ProfileChosen) -> None:
        self._connect(message.profile)

    @on(PickerScreen.ProfilesChosen)
    def _profiles_chosen(self, message: PickerScreen.ProfilesChosen) -> None:
        self.open_profiles(message.names)

    def open_profiles(self, names: Sequence[str]) -> None:
        """Open profiles and groups by name: one profile as its own session, several as one
        view over all of them (``open_fleet``)."""
        if len(names) == 1 and names[0] not in self.profiles and names[0] not in self.groups:
            self.notify(f"No profile named {names[0]!r}.", title="Profile", severity="error")
            return
        try:
            targets = resolve_targets(self.profiles, self.groups, names)
        except ProfileError as exc:
            self.notify(str(exc), title="Profile", severity="error")
            return
        if len(targets) == 1:
            self._connect(targets[0])
            return
        label = names[0] if len(names) == 1 else "+".join(p.name for p in targets)
        self.open_fleet(targets, label)

    def _login(self) -> Login:
        return Login(
            self.push_screen_wait,
            self.connector,
            self.env,
            self.notify,
            pinned=self._pinned,
            lock=self._dialogs,
        )

    def _pinned(self, profile: Profile) -> None:
        self.profiles[profile.name] = profile

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def _connect(self, profile: Profile) -> None:
        result = await self._login().run(profile, status=self._picker_status)
        if result.client is None:
            if result.outcome == "unreachable":
                self._picker_status(f"Could not connect to {profile.host}: {result.message}")
            if result.outcome != "cancelled":
                self.notify(result.message, title=result.title, severity="error")
            return
        self._picker_status("")
        self.open_session(result.profile, result.client)

    def open_session(self, profile: Profile, client: VCenter) -> None:
        """The main screen for a connected vCenter. (One session at a time: a second vCenter
        would be a second ``MainScreen`` with its own client and ``SessionAudit``.)"""
        audit = SessionAudit(
            profile.name, client.host, client.username, warn=self._warn, write=self._audit
        )
        main = MainScreen(
            profile,
            client,
            audit=audit,
            guest_username=partial(default_guest_username, profile),
            demo=self.demo,
            clock=self.clock,
            verify_timeout=self.verify_timeout,
            watch_settle=self.watch_settle,
        )
        self.session = main
        if profile.theme:
            if profile.theme in self.available_themes:
                self._forced_theme = profile.theme
                self.theme = profile.theme
            else:
                self.notify(f"Profile theme {profile.theme!r} not found", severity="warning")
        self.push_screen(main)
        audit("connect", outcome="ok", tls_mode=client.tls_mode)

    def open_fleet(self, profiles: Sequence[Profile], label: str) -> MainScreen:
        """One main screen over several vCenters (tui/ui/fleet.py): it opens at once and each
        vCenter logs in on its own (``_connect_site``), so a dead or refusing one is a line in
        the banner and never holds up the others."""
        fleet = Fleet(profiles, label)
        sinks = {
            p.name: SessionAudit(p.name, p.host, p.username, warn=self._warn, write=self._audit)
            for p in profiles
        }
        view = dataclasses.replace(
            profiles[0],
            name=label,
            read_only=all(p.read_only for p in profiles),  # else per VM: Fleet.read_only_of
            root=None,
            theme=None,
            guest_username=next((p.guest_username for p in profiles if p.guest_username), None),
        )
        main = MainScreen(
            view,
            fleet,
            audit=FleetAudit(sinks),
            guest_username=partial(default_guest_username, view),
            demo=self.demo,
            clock=self.clock,
            verify_timeout=self.verify_timeout,
            watch_settle=self.watch_settle,
        )

        def connect(name: str) -> None:
            main.run_worker(
                self._connect_site(fleet, name, sinks[name]),
                group=f"site-{name}",
                exclusive=True,
                exit_on_error=False,
                name=f"connect {name}",
            )

        def reconnect() -> None:  # ctrl+r: every vCenter that is not up tries now
            for name, site in fleet.sites.items():
                if site.state not in ("down", "refused"):
                    continue
                if site.client is not None:  # logged in, its stream stopped: the re-sync
                    fleet.attach(name, site.client)  # that follows starts it again
                else:
                    connect(name)

        main.reconnect = reconnect
        self.session = main
        self.push_screen(main)
        for name in fleet.sites:
            connect(name)
        return main

    async def _connect_site(self, fleet: Fleet, name: str, audit: SessionAudit) -> None:
        """Log in to one vCenter of a fleet; while it does not answer, again after a growing
        pause (with the password already given: no second prompt). A refused login or a
        dismissed dialog waits for ctrl+r: retrying a bad password could lock the account."""
        site = fleet.site(name)
        attempt = 0
        while True:
            p = site.profile
            fleet.set_state(name, "connecting", f"connecting to {p.host}:{p.port}…")
            result = await self._login().run(p, password=site.password)
            site.profile = result.profile
            if result.client is not None:
                site.password = result.password
                fleet.attach(name, result.client)
                audit("connect", outcome="ok", tls_mode=result.client.tls_mode)
                return
            if result.outcome != "unreachable":
                site.password = None
                fleet.set_state(name, "refused", f"{result.message} — ctrl+r tries again")
                return
            site.password = result.password
            delay = SITE_RETRY[min(attempt, len(SITE_RETRY) - 1)]
            attempt += 1
            fleet.set_state(name, "down", f"{result.message}; retrying in {delay:g} s")
            await asyncio.sleep(delay)

    def _warn(self, text: str) -> None:
        self.notify(text, severity="warning")

    async def close_session(self) -> None:
        """Close the main screen (its streams and runs), then log out; both within
        ``logout_seconds``."""
        main = self.session
        if main is None:
            return
        self.session = None
        try:
            await _logout(main, self.logout_seconds)
        except TimeoutError:
            self.notify(
                f"Logout did not finish in {self.logout_seconds:g} s; "
                "vCenter will end the session when it times out",
                severity="warning",
            )
        except GuestnetError as exc:
            self.notify(f"Logout: {exc}", severity="warning")
        except Exception as exc:
            self.notify(f"Logout: {exc.__class__.__name__}: {exc}", severity="warning")
        if self._forced_theme is not None:
            self._forced_theme = None
            self.theme = self._saved_theme()

    # -- actions ------------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_profiles(self) -> None:
        if self.session is not None:
            self.session.action_leave("profiles")

    async def action_quit(self) -> None:
        if self._quitting:
            return
        if self.session is not None:
            self.session.action_leave("quit")  # asks first while tasks run
        else:
            await self._finish_leave("quit")

    @on(MainScreen.LeaveRequested)
    async def _leave_requested(self, message: MainScreen.LeaveRequested) -> None:
        if message.main is self.session:  # not a late second request for a closed session
            await self._finish_leave(message.where)

    async def _finish_leave(self, where: str) -> None:
        if where == "quit":
            self._quitting = True
        await self.close_session()
        if where == "quit":
            self.exit(0)
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, PickerScreen):
            self.pop_screen()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        notify_worker_error(event, self.notify)

    # -- palette ------------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help: keys", "Every key binding", self.action_help)
        if isinstance(screen, MainScreen):
            main = screen
            yield from main_commands(main, self.action_profiles)


async def _logout(main: MainScreen, seconds: float) -> None:
    """``main.close()``, then the client's logout, within ``seconds`` in all (TimeoutError past
    that). The logout is started even when closing the screen took all the time, so the client
    at least marks itself closed and stops its keepalive."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    try:
        await asyncio.wait_for(main.close(), seconds)
    finally:
        logout = asyncio.ensure_future(main.client.close())
        await asyncio.sleep(0)  # one turn of the loop: the logout's first step runs
        await asyncio.wait_for(logout, max(0.0, end - loop.time()))


def default_guest_username(profile: Profile) -> str:
    """The start dialog's guest user: the profile's, else the user of ``GOVC_GUEST_LOGIN``."""
    if profile.guest_username:
        return profile.guest_username
    from tui.config.credentials import guest_login_from_env

    env = guest_login_from_env()
    return env[0] if env is not None else ""


def run(config: Path | None, profiles: Sequence[str] = ()) -> int:
    """``guestnet [--config F] [--profile NAME]…``: open the app (several profiles or a group:
    one view over their vCenters); returns the exit status."""
    from tui.config import paths
    from tui.config.profiles import load_profile_set

    problem: str | None = None
    found: dict[str, Profile] = {}
    groups: dict[str, Group] = {}
    try:
        loaded = load_profile_set(config, os.environ)
        found, groups = dict(loaded.profiles), dict(loaded.groups)
    except ProfileError as exc:
        problem = str(exc)
    app = GuestnetApp(
        profiles=found,
        profiles_problem=problem,
        initial_profiles=profiles,
        groups=groups,
        themes_dir=paths.themes_dir(),
    )
    result = app.run()
    return result if isinstance(result, int) else 0
