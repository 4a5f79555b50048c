"""Several vCenters in one command: one ``Site`` per target profile, one client session each, all
in one asyncio loop. (asyncio is imported where it is used, so ``guestnet --help`` stays fast.)

A ``Site`` holds its profile, its vCenter password, its client once logged in, or the one line
saying why it is out (``fail``). ``run_sites`` logs in to every site at once, awaits the work and
logs out of each (at most 15 s, also after an error or Ctrl-C). With several sites a site's
problem is printed as one line naming its profile and the others go on; with one site
(``solo``) it is the command's error, exit 2, word for word as for one profile (``session``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tui.commands import session
from tui.commands.base import EXIT_ERROR, EXIT_FAILED, EXIT_OK, UsageError, err

if TYPE_CHECKING:
    from tui.config.profiles import Profile
    from tui.vsphere.models import VM
    from tui.vsphere.secret import Secret

T = TypeVar("T")


class Site:
    """One target vCenter of a command."""

    def __init__(self, profile: Profile, index: int, solo: bool) -> None:
        self.profile = profile
        self.index = index  # the target's position: rows are ordered by it
        self.solo = solo  # the command's only target
        self.password: Secret | None = None
        self.client: Any = None
        self.vms: list[VM] = []
        self.error: str | None = None  # why it is out, one line (without "guestnet: ")

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def up(self) -> bool:
        return self.client is not None and self.error is None

    def fail(self, exc: BaseException) -> None:
        """Take the site out for ``exc`` (a vSphere or profile error): one line naming the
        profile; for the only target, the command's error."""
        from tui.config.profiles import ProfileError

        line = (
            str(exc)
            if isinstance(exc, ProfileError)
            else session.connection_error(self.profile, exc)
        )
        if self.solo:
            raise UsageError(line) from None
        self.error = line
        err(line)

    async def attempt(self, work: Awaitable[T]) -> T | None:
        """``await work``; a vSphere error takes the site out (``fail``) and gives None."""
        from tui.vsphere.errors import GuestnetError

        try:
            return await work
        except GuestnetError as exc:
            self.fail(exc)
            return None


def make_sites(profiles: Sequence[Profile]) -> list[Site]:
    return [Site(p, i, solo=len(profiles) == 1) for i, p in enumerate(profiles)]


def ask_passwords(sites: Iterable[Site]) -> None:
    """Each site's vCenter password, in turn (a prompt each, when the profile has no source);
    a site whose password cannot be had is out."""
    from tui.vsphere.errors import GuestnetError

    for site in sites:
        try:
            site.password = session.vc_password(site.profile)
        except GuestnetError as exc:
            site.fail(exc)


async def together(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Await the coroutines concurrently (one TaskGroup). An unexpected error cancels the others
    and is raised as itself, not as an ExceptionGroup."""
    import asyncio

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coros]
    except BaseExceptionGroup as eg:
        first: BaseException = eg
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [t.result() for t in tasks]


async def connect_all(sites: Sequence[Site]) -> None:
    """Log in to every site that has its password, all at once."""

    async def login(site: Site) -> None:
        assert site.password is not None
        site.client = await site.attempt(session.connect(site.profile, site.password))

    await together(login(s) for s in sites if s.error is None)


async def close_all(sites: Sequence[Site]) -> None:
    """Log out of every connected site at once, each within ``LOGOUT_SECONDS`` (shielded, so a
    Ctrl-C still logs out)."""
    import asyncio

    async def logout(site: Site) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(site.client.close()), session.LOGOUT_SECONDS)
        except Exception as exc:
            who = "" if site.solo else f"profile {site.name!r}: "
            err(f"warning: {who}logout failed: {exc}")

    await asyncio.gather(*(logout(s) for s in sites if s.client is not None))


def run_sites(sites: Sequence[Site], work: Callable[[list[Site]], Awaitable[T]]) -> T:
    """One asyncio loop: log in to every site at once, ``await work(sites that are up)``, log out
    of each. With one site, a client error anywhere is the command's error (``run_client``)."""
    import asyncio

    async def main() -> T:
        try:
            await connect_all(sites)
            return await work([s for s in sites if s.up])
        finally:
            await close_all(sites)

    if len(sites) == 1:
        return session.run_client(sites[0].profile, main)
    return asyncio.run(main())


def exit_code(sites: Sequence[Site], code: int = EXIT_OK) -> int:
    """``code`` made worse by the sites that are out: 2 when every one is, else at least 1."""
    down = [s for s in sites if s.error is not None]
    if sites and len(down) == len(sites):
        return EXIT_ERROR
    if down and code == EXIT_OK:
        return EXIT_FAILED
    return code
