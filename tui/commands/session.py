"""Which profile a command uses, its vCenter password, and one client session around the work."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from tui.commands.base import PROG, err, fail
from tui.commands.terminal import tty_prompt

if TYPE_CHECKING:
    from tui.config.profiles import Profile
    from tui.vsphere.secret import Secret

T = TypeVar("T")

LOGOUT_SECONDS = 15.0


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """``--profile NAME`` on a command (it may also come before the command)."""
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="profile (default: $GUESTNET_PROFILE, the only one, or govc-env)",
    )


def load(ns: argparse.Namespace) -> dict[str, Profile]:
    from tui.config.profiles import load_profiles

    return load_profiles(getattr(ns, "config", None))


def no_profiles() -> str:
    from tui.config import paths

    return (
        f"no profiles: create {paths.profiles_file()} (see profiles.example.yaml) or set GOVC_URL"
    )


def where(profile: Profile) -> str:
    """``host``, or ``host:port`` when the port is not 443."""
    return profile.host if profile.port == 443 else f"{profile.host}:{profile.port}"


def pick(profiles: dict[str, Profile], name: str | None) -> Profile:
    """The profile named (or in $GUESTNET_PROFILE), else the only one, else ``govc-env``."""
    import difflib

    from tui.config.profiles import GOVC_PROFILE

    chosen = name or os.environ.get("GUESTNET_PROFILE") or None
    if chosen is None:
        if len(profiles) == 1:
            return next(iter(profiles.values()))
        if GOVC_PROFILE in profiles:
            return profiles[GOVC_PROFILE]
        if not profiles:
            fail(no_profiles())
        fail(f"several profiles ({', '.join(sorted(profiles))}): choose one with --profile NAME")
    if chosen not in profiles:
        close = difflib.get_close_matches(chosen, list(profiles), n=1)
        if close:
            fail(f"unknown profile {chosen!r} (did you mean {close[0]!r}?)")
        known = ", ".join(sorted(profiles)) or "none"
        fail(f"unknown profile {chosen!r} (known: {known})")
    return profiles[chosen]


def vc_password(profile: Profile) -> Secret:
    from tui.config.credentials import resolve_password

    return resolve_password(profile, prompt=tty_prompt())


async def connect(profile: Profile, password: Secret) -> Any:
    from tui.vsphere import Client

    return await Client.connect(profile.connect_spec(password))


def with_client(profile: Profile, password: Secret, work: Callable[[Any], Awaitable[T]]) -> T:
    """Connect, ``await work(client)``, log out (at most 15 s, also after an error or Ctrl-C);
    a client error becomes one line naming the profile."""

    async def session() -> T:
        import asyncio

        client = await connect(profile, password)
        try:
            return await work(client)
        finally:
            try:
                await asyncio.wait_for(asyncio.shield(client.close()), LOGOUT_SECONDS)
            except Exception as exc:
                err(f"warning: logout failed: {exc}")

    return run_client(profile, session)


def run_client(profile: Profile, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(make())``; a client error becomes one line naming the profile."""
    import asyncio

    from tui.config.profiles import ProfileError
    from tui.vsphere.errors import GuestnetError

    try:
        return asyncio.run(make())
    except ProfileError:
        raise
    except GuestnetError as exc:
        fail(connection_error(profile, exc))


def connection_error(profile: Profile, exc: BaseException) -> str:
    from tui.vsphere.errors import TLSVerifyError

    text = f"profile {profile.name!r}: {exc}"
    if isinstance(exc, TLSVerifyError):
        text += f"; to pin the presented certificate run: {PROG} profiles trust {profile.name}"
    return text
