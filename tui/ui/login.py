"""Logging in to one vCenter from the UI: the password prompt, the TLS trust question, the retry
after a refused password. One flow for the single profile (from the picker) and for each site of
a view over several vCenters (tui/ui/fleet.py), which log in side by side: their dialogs are
shown one at a time (``lock``), each naming its vCenter.

``Login.run`` never raises for a vSphere or profile problem: it returns a ``LoginResult`` whose
``outcome`` says what happened and whose ``title``/``message`` is the one line to show.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from tui.ui.screens.modals import PasswordModal, TrustModal
from tui.ui.session import Connector, VCenter
from tui.vsphere.errors import GuestnetError, ProfileError, TLSVerifyError, VimFault
from tui.vsphere.models import TLSSpec

if TYPE_CHECKING:
    from tui.config.profiles import Profile
    from tui.vsphere.secret import Secret

LOGIN_FAULTS = frozenset({"InvalidLogin", "NoPermission", "NotAuthenticated"})
# ok; cancelled (a dialog was dismissed); refused (the login or the profile's password source
# failed: trying again needs the admin); unreachable (no answer: trying again later may work)
Outcome = Literal["ok", "cancelled", "refused", "unreachable"]


@dataclass
class LoginResult:
    outcome: Outcome
    profile: Profile  # with a thumbprint pinned during the login, if one was
    client: VCenter | None = None
    password: Secret | None = None  # kept by a fleet site to log in again after an outage
    title: str = ""
    message: str = ""


class Login:
    """``push_screen_wait``: the app's (called from a worker); ``pinned(profile)``: a profile
    whose thumbprint was just pinned into its file; ``status``: the progress line."""

    def __init__(
        self,
        push_screen_wait: Callable[[Any], Any],
        connector: Connector,
        env: Mapping[str, str],
        notify: Callable[..., None],
        pinned: Callable[[Profile], None],
        lock: asyncio.Lock | None = None,
    ) -> None:
        self.push_screen_wait = push_screen_wait
        self.connector = connector
        self.env = env
        self.notify = notify
        self.pinned = pinned
        self.lock = lock or asyncio.Lock()

    async def _ask(self, modal: Any) -> Any:
        async with self.lock:  # one dialog at a time, whichever vCenter asks
            return await self.push_screen_wait(modal)

    async def run(
        self,
        profile: Profile,
        password: Secret | None = None,
        status: Callable[[str], None] = lambda text: None,
    ) -> LoginResult:
        from tui.config.credentials import password_needs_prompt, resolve_password

        problem: str | None = None
        tls = profile.tls
        where = f"{profile.host}:{profile.port}"
        while True:
            if password is None:
                if password_needs_prompt(profile):
                    password = await self._ask(
                        PasswordModal(
                            f"vCenter password for {profile.username}@{profile.host}", problem
                        )
                    )
                    if password is None:
                        return LoginResult("cancelled", profile, message="login cancelled")
                else:
                    try:
                        password = await asyncio.to_thread(
                            resolve_password, profile, None, self.env
                        )
                    except ProfileError as exc:
                        return LoginResult("refused", profile, title=profile.name, message=str(exc))
            spec = dataclasses.replace(profile.connect_spec(password), tls=tls)
            status(f"Connecting to {where} as {profile.username}…")
            try:
                client = await self.connector(spec)
            except TLSVerifyError as exc:
                status("")
                if not exc.presented_sha256:
                    return LoginResult("refused", profile, title="TLS", message=str(exc))
                choice = await self._ask(TrustModal(where, exc.presented_sha256, str(exc)))
                if choice is None:
                    return LoginResult("cancelled", profile, message="certificate not trusted")
                if choice == "pin":
                    from tui.config.profiles import pin_thumbprint

                    try:
                        profile = pin_thumbprint(profile, exc.presented_sha256, self.env)
                    except ProfileError as perr:
                        return LoginResult(
                            "refused", profile, title="Pin thumbprint", message=str(perr)
                        )
                    self.pinned(profile)
                    self.notify(f"Pinned the thumbprint into {profile.origin}")
                    tls = profile.tls
                else:
                    tls = TLSSpec(ca_file=None, thumbprint=exc.presented_sha256)
                continue
            except VimFault as exc:
                status("")
                if exc.type_name in LOGIN_FAULTS and password_needs_prompt(profile):
                    problem = f"Login failed: {exc.fault.message or exc.type_name}"
                    password = None
                    continue
                return LoginResult(
                    "refused", profile, title=f"Login to {profile.host}", message=str(exc)
                )
            except GuestnetError as exc:
                return LoginResult(
                    "unreachable",
                    profile,
                    password=password,
                    title=f"Connect to {profile.host}",
                    message=str(exc),
                )
            status("")
            return LoginResult("ok", profile, client, password)
