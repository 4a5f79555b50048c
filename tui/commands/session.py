"""Which profile a command uses, its vCenter password, and one client session around the work.

``--profile`` may be repeated and may name a group (``targets``); the commands that work on
several vCenters at once build on ``tui.commands.targets``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from tui.commands.base import PROG, err, fail
from tui.commands.terminal import tty_prompt

if TYPE_CHECKING:
    from tui.config.profiles import Profile, ProfileSet
    from tui.vsphere.secret import Secret

T = TypeVar("T")

LOGOUT_SECONDS = 15.0
# where ProfileNames collects the names given before the command (the command's own go to
# "profile_names": argparse parses a subcommand into a fresh namespace and copies it over)
GLOBAL_NAMES = "profile_names_global"


class ProfileNames(argparse.Action):
    """``--profile NAME``, repeatable: ``ns.profile`` is the last name given (the one-profile
    commands' choice, as before), ``ns.<into>`` every name in order."""

    def __init__(self, *args: Any, into: str = "profile_names", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.into = into

    def __call__(
        self, parser: Any, ns: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        setattr(ns, self.dest, values)
        setattr(ns, self.into, [*(getattr(ns, self.into, None) or []), values])


def add_profile_option(parser: argparse.ArgumentParser, several: bool = False) -> None:
    """``--profile NAME`` on a command (it may also come before the command); ``several``: the
    command takes it more than once, and group names."""
    help = "profile (default: $GUESTNET_PROFILE, the only one, or govc-env)"
    if several:
        help = (
            "profile or group; repeat it to work on several vCenters at once (default: "
            "$GUESTNET_PROFILE, the only profile, or govc-env)"
        )
    parser.add_argument(
        "--profile", metavar="NAME", action=ProfileNames, default=argparse.SUPPRESS, help=help
    )


def load(ns: argparse.Namespace) -> dict[str, Profile]:
    return load_set(ns).profiles


def load_set(ns: argparse.Namespace) -> ProfileSet:
    from tui.config.profiles import load_profile_set

    return load_profile_set(getattr(ns, "config", None))


def profile_names(ns: argparse.Namespace) -> list[str]:
    """Every ``--profile`` given, before and after the command, in order."""
    return [*(getattr(ns, GLOBAL_NAMES, None) or []), *(getattr(ns, "profile_names", None) or [])]


def targets(ns: argparse.Namespace) -> list[Profile]:
    """The profiles a command works on: every ``--profile`` (a profile or a group; in order, each
    once), else ``$GUESTNET_PROFILE`` (also a group), else the default of ``pick``."""
    found = load_set(ns)
    names = profile_names(ns) or [n for n in [os.environ.get("GUESTNET_PROFILE")] if n]
    if not names:
        return [pick(found.profiles, None)]
    return found.resolve(names)


def no_profiles() -> str:
    from tui.config import paths

    return (
        f"no profiles: create {paths.profiles_file()} (see profiles.example.yaml) or set GOVC_URL"
    )


def where(profile: Profile) -> str:
    """``host``, or ``host:port`` when the port is not 443."""
    return profile.host if profile.port == 443 else f"{profile.host}:{profile.port}"


def pick_one(ns: argparse.Namespace, name: str | None, what: str) -> Profile:
    """``pick`` for a command ``what`` that takes one profile: a group name is refused."""
    found = load_set(ns)
    group = found.groups.get(name or "")
    if group is not None:
        members = ", ".join(group.profiles)
        fail(f"{group.name!r} is a group ({members}): {what} takes one profile")
    return pick(found.profiles, name, found.groups)


def pick(profiles: dict[str, Profile], name: str | None, groups: Iterable[str] = ()) -> Profile:
    """The profile named (or in $GUESTNET_PROFILE), else the only one, else ``govc-env``;
    ``groups`` only for the message when the name is unknown."""
    from tui.config.profiles import GOVC_PROFILE, unknown_name

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
        raise unknown_name(chosen, profiles, groups)
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
