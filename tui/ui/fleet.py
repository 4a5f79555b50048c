"""Several vCenters as one ``VCenter``: what the main screen talks to when a group, or several
``--profile``, or several profiles marked in the picker are open.

Each site (one profile) keeps its own client: session, TLS policy, release, live update stream.
The app connects each site on its own (``attach``, ``set_state``); the fleet never blocks one
site on another. Towards the screen:

- moids are *qualified*: ``vm-42@prod`` (a vSphere moid never holds ``@``), so the VM store, the
  address index, marks and the task pane work unchanged over every site at once. Each site's
  client qualifies the VMs of its stream as it builds them (``watch_vms(moid_suffix=…)``: no
  copy of 20,000 VMs per snapshot); a task's moid is qualified here, so an audit record can be
  split by site;
- ``watch_vms`` merges the sites' streams. A site's full snapshot (its first, or after it lost
  its session) must not wipe the others' rows, so the merged stream sends a snapshot of *every*
  site (coalesced: several sites re-syncing at once make one) and diffs in between;
- ``start_guest_network`` splits the VMs by site and runs each part on its site's client with
  its profile's ``concurrency``; a site that is down, or whose run fails, fails its own VMs only
  (a ``TaskEvent`` with the error as its fault) while the other sites go on;
- ``banner()`` is one line naming each site that is not working and why.

The watch (``w``, ``AutoStarter``) follows one vCenter and its ledger; an open run is refused
here (``FleetError``), and the screen does not offer the watch over a fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from tui.ui.session import GuestNetworkRunLike, VCenter, WatchLike
from tui.vsphere.errors import FleetError, GuestnetError, VimFault
from tui.vsphere.gcpause import gc_paused
from tui.vsphere.models import VM, About, Fault, GuestCredentials, TaskEvent, VMBatch, VMChange

if TYPE_CHECKING:
    from tui.config.profiles import Profile
    from tui.vsphere.secret import Secret

SEP = "@"
SiteState = Literal["connecting", "up", "down", "refused"]


def qualify(moid: str, site: str) -> str:
    return f"{moid}{SEP}{site}"


def site_of(moid: str) -> str:
    """The site (profile name) of a qualified moid; "" for a plain one."""
    return moid.rpartition(SEP)[2] if SEP in moid else ""


def vm_label(vm: VM) -> str:
    """The VM's name, and ``@site`` in a view over several vCenters (the task pane's VM cell:
    clones of one template have the same name on each vCenter)."""
    site = site_of(vm.moid)
    return f"{vm.name}{SEP}{site}" if site else vm.name


def local_moid(moid: str) -> str:
    """The vCenter's own moid of a qualified one."""
    return moid.rpartition(SEP)[0] if SEP in moid else moid


@dataclass(eq=False)
class FleetSite:
    profile: Profile
    client: VCenter | None = None
    state: SiteState = "connecting"
    status: str = ""  # one line: why it is not working, or its stream's recovery message
    password: Secret | None = None  # held while the site logs in again after an outage
    up_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def name(self) -> str:
        return self.profile.name


class Fleet:
    """The ``VCenter`` of several sites (see the module doc)."""

    def __init__(self, profiles: Sequence[Profile], label: str) -> None:
        if len({p.name for p in profiles}) != len(profiles) or not profiles:
            raise FleetError("a fleet needs one or more distinct profiles")
        self.label = label  # the info bar's name: the group's, or "lab+prod"
        self.sites: dict[str, FleetSite] = {p.name: FleetSite(p) for p in profiles}
        self._listeners: list[Callable[[str], None]] = []

    # -- sites --------------------------------------------------------------------------------
    def site(self, name: str) -> FleetSite:
        try:
            return self.sites[name]
        except KeyError:
            raise FleetError(f"no vCenter {name!r} in this view") from None

    def attach(self, name: str, client: VCenter) -> None:
        """``name`` is logged in: its stream and batches use ``client`` from now on."""
        site = self.site(name)
        site.client = client
        self.set_state(name, "up")
        site.up_event.set()

    def set_state(self, name: str, state: SiteState, status: str = "") -> None:
        site = self.site(name)
        site.state = state
        site.status = status
        if state != "up":
            site.up_event.clear()
        self.announce()

    def stream_status(self, name: str, text: str) -> None:
        """A site's stream reports trouble (``connection lost …; retrying``) or its end ("")."""
        site = self.site(name)
        if site.state == "up" and site.status != text:
            site.status = text
            self.announce()

    def banner(self) -> str:
        return " · ".join(f"{s.name}: {s.status}" for s in self.sites.values() if s.status)

    def announce(self) -> None:
        text = self.banner()
        for listener in list(self._listeners):
            listener(text)

    def summary(self) -> list[str]:
        """One line per site: its state, version, API release and TLS, or why it is out."""
        lines = []
        for site in self.sites.values():
            parts = [f"{site.name}: {site.state}"]
            c = site.client
            if c is not None:
                if c.about is not None:
                    parts.append(f"vCenter {c.about.version}")
                parts += [f"API {c.release or '?'}", f"TLS {c.tls_mode}"]
            if site.profile.read_only:
                parts.append("read-only")
            line = " · ".join(parts)
            lines.append(f"{line} — {site.status}" if site.status else line)
        return lines

    def read_only_of(self, moid: str) -> str | None:
        """The read-only profile that ``moid`` belongs to, else None."""
        site = self.sites.get(site_of(moid))
        return site.name if site is not None and site.profile.read_only else None

    def _up(self) -> list[VCenter]:
        return [s.client for s in self.sites.values() if s.client is not None]

    # -- what the info bar shows ----------------------------------------------------------------
    @property
    def about(self) -> About | None:
        return None  # one version per site: the sites' states are in the banner

    @property
    def release(self) -> str | None:
        releases = sorted({c.release for c in self._up() if c.release})
        return "/".join(releases) or None

    @property
    def host(self) -> str:
        return ", ".join(s.profile.host for s in self.sites.values())

    @property
    def port(self) -> int:
        return 443  # each site's own port is in its profile; the bar shows no single one

    @property
    def tls_mode(self) -> str:
        modes = {s.client.tls_mode if s.client else s.profile.tls_mode for s in self.sites.values()}
        if "insecure" in modes:
            return "insecure"
        return modes.pop() if len(modes) == 1 else "mixed"

    @property
    def thumbprint_sha256(self) -> str | None:
        return None

    @property
    def username(self) -> str:
        return ", ".join(sorted({s.profile.username for s in self.sites.values()}))

    # -- streams and calls ----------------------------------------------------------------------
    def watch_vms(
        self,
        root: str | None = None,
        on_status: Callable[[str], None] | None = None,
        *,
        moid_suffix: str = "",
    ) -> WatchLike:
        """Every site's VMs, each under its own profile's ``root`` (``root`` is not used), their
        moids qualified (``moid_suffix`` is not used either)."""
        return FleetWatch(self, on_status)

    def start_guest_network(
        self, vms: Sequence[VM], creds: GuestCredentials, concurrency: int = 8, **options: Any
    ) -> GuestNetworkRunLike:
        """A run per site, each with its profile's ``concurrency`` (the argument is not used);
        ``site_creds`` (an option): other guest credentials for some sites."""
        if options.pop("open", False):
            raise FleetError("the watch follows one vCenter: open its profile on its own")
        site_creds: Mapping[str, GuestCredentials] = options.pop("site_creds", None) or {}
        return FleetRun(self, vms, creds, site_creds, options)

    async def find_start_task(self, vm_moid: str, not_before: datetime) -> str | None:
        site = self.site(site_of(vm_moid))
        if site.client is None:
            raise FleetError(f"vCenter {site.name} is not connected")
        task = await site.client.find_start_task(local_moid(vm_moid), not_before)
        return qualify(task, site.name) if task else None

    async def abort_customization(
        self, vm_moid: str, creds: GuestCredentials | None = None
    ) -> TaskEvent:
        site = self.site(site_of(vm_moid))
        if site.client is None:
            raise FleetError(f"vCenter {site.name} is not connected: {site.status}")
        ev = await site.client.abort_customization(local_moid(vm_moid), creds)
        return qualified_event(ev, site.name)

    async def close(self) -> None:
        """Log out of every connected site at once."""
        await asyncio.gather(*(c.close() for c in self._up()), return_exceptions=True)


def qualified_event(ev: TaskEvent, site: str) -> TaskEvent:
    return replace(
        ev,
        vm_moid=qualify(ev.vm_moid, site),
        task=qualify(ev.task, site) if ev.task else ev.task,
    )


def site_fault(site: str, exc: BaseException | str) -> Fault:
    """A site's trouble as the fault of each of its VMs: a vSphere fault as it is, else the
    client's error (``ConnectError``, ``RequestTimeout`` …) with the vCenter named."""
    if isinstance(exc, VimFault):
        return exc.fault
    if isinstance(exc, str):
        return Fault(type_name="ConnectError", message=f"vCenter {site}: {exc}")
    return Fault(type_name=exc.__class__.__name__, message=f"vCenter {site}: {exc}")


def split_by_site(vms: Iterable[VM]) -> dict[str, list[VM]]:
    """The VMs by site, each with its own moid, in the order given."""
    parts: dict[str, list[VM]] = {}
    for vm in vms:
        parts.setdefault(site_of(vm.moid), []).append(replace(vm, moid=local_moid(vm.moid)))
    return parts


class FleetWatch:
    """The merged VM stream of a fleet (see the module doc)."""

    def __init__(self, fleet: Fleet, on_status: Callable[[str], None] | None) -> None:
        self.fleet = fleet
        self.on_status = on_status
        self.vms: dict[str, dict[str, VM]] = {name: {} for name in fleet.sites}
        self._dirty = False  # a site re-synced: the next batch is a snapshot of every site
        self._diffs: deque[VMBatch] = deque()
        self._wake = asyncio.Event()
        self._pumps: list[asyncio.Task[None]] = []
        self._closed = False

    def __aiter__(self) -> FleetWatch:
        return self

    async def __anext__(self) -> VMBatch:
        if not self._pumps and not self._closed:
            self._start()
        while True:
            if self._dirty:
                self._dirty = False
                self._diffs.clear()
                with gc_paused():
                    changes = tuple(
                        VMChange("enter", moid, vm)
                        for site in self.vms.values()
                        for moid, vm in site.items()
                    )
                # the screen clears its banner on a snapshot: say again which sites are out
                asyncio.get_running_loop().call_soon(self._announce)
                return VMBatch(changes, resync=True)
            if self._diffs:
                return self._diffs.popleft()
            if self._closed or all(p.done() for p in self._pumps):
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    def _start(self) -> None:
        if self.on_status is not None:
            self.fleet._listeners.append(self.on_status)
        loop = asyncio.get_running_loop()
        self._pumps = [loop.create_task(self._pump(name)) for name in self.fleet.sites]
        for pump in self._pumps:
            pump.add_done_callback(lambda _t: self._wake.set())
        self._announce()

    def _announce(self) -> None:
        if self.on_status is not None and not self._closed:
            self.on_status(self.fleet.banner())

    async def _pump(self, name: str) -> None:
        """One site's stream into the merge, from the moment the site is up."""
        site = self.fleet.sites[name]
        await site.up_event.wait()
        client = site.client
        assert client is not None
        watch = client.watch_vms(  # the client qualifies its moids as it builds the VMs
            root=site.profile.root,
            on_status=lambda t: self.fleet.stream_status(name, t),
            moid_suffix=SEP + name,
        )
        try:
            async for batch in watch:
                self._take(name, batch)
                if site.status:
                    self.fleet.stream_status(name, "")
        except GuestnetError as exc:
            self.fleet.set_state(name, "down", f"updates stopped: {exc} — ctrl+r re-syncs")
        finally:
            with contextlib.suppress(Exception):
                await watch.aclose()

    def _take(self, name: str, batch: VMBatch) -> None:
        """One batch of site ``name`` (its moids qualified already) into the merge."""
        mine = self.vms[name]
        if batch.resync:
            self.vms[name] = {
                c.moid: c.vm for c in batch.changes if c.vm is not None and c.kind != "leave"
            }
            self._dirty = True
        else:
            for c in batch.changes:
                if c.vm is None or c.kind == "leave":
                    mine.pop(c.moid, None)
                else:
                    mine[c.moid] = c.vm
            if not self._dirty:  # else the coming snapshot holds these changes
                self._diffs.append(batch)
        self._wake.set()

    async def aclose(self) -> None:
        self._closed = True
        if self.on_status in self.fleet._listeners:
            self.fleet._listeners.remove(self.on_status)
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        self._wake.set()


class FleetRun:
    """One batch over several sites: a run per site, their events merged (see the module doc)."""

    def __init__(
        self,
        fleet: Fleet,
        vms: Sequence[VM],
        creds: GuestCredentials,
        site_creds: Mapping[str, GuestCredentials],
        options: dict[str, Any],
    ) -> None:
        self.fleet = fleet
        self.parts = split_by_site(vms)
        unknown = sorted(set(self.parts) - set(fleet.sites))
        if unknown:
            raise FleetError(f"no vCenter {unknown[0]!r} in this view")
        self.creds = creds
        self.site_creds = site_creds
        self.options = options
        self.runs: dict[str, GuestNetworkRunLike] = {}
        self._queue: asyncio.Queue[TaskEvent | None] = asyncio.Queue()
        self._pumps: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> FleetRun:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[TaskEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[TaskEvent]:
        loop = asyncio.get_running_loop()
        self._pumps = [loop.create_task(self._pump(n, vms)) for n, vms in self.parts.items()]
        left = len(self._pumps)
        while left:
            ev = await self._queue.get()
            if ev is None:
                left -= 1
            else:
                yield ev

    async def _pump(self, name: str, vms: list[VM]) -> None:
        site = self.fleet.sites[name]
        done: set[str] = set()
        try:
            if site.client is None or site.state != "up":
                raise FleetError(f"not connected ({site.status or site.state})")
            creds = self.site_creds.get(name, self.creds)
            run = site.client.start_guest_network(
                vms, creds, site.profile.concurrency, **self.options
            )
            self.runs[name] = run
            async with run:
                async for ev in run:
                    if ev.final:
                        done.add(ev.vm_moid)
                    self._queue.put_nowait(qualified_event(ev, name))
        except GuestnetError as exc:
            fault = site_fault(name, exc)
            for vm in vms:
                if vm.moid not in done:
                    self._queue.put_nowait(
                        TaskEvent(qualify(vm.moid, name), vm.name, "failed", fault=fault)
                    )
        finally:
            self.runs.pop(name, None)
            self._queue.put_nowait(None)

    async def cancel(self, vm_moid: str) -> bool:
        run = self.runs.get(site_of(vm_moid))
        return await run.cancel(local_moid(vm_moid)) if run is not None else False

    async def cancel_queued(self) -> int:
        counts = await asyncio.gather(*(r.cancel_queued() for r in list(self.runs.values())))
        return sum(counts)

    def add(self, vms: Sequence[VM]) -> None:
        raise FleetError("the watch follows one vCenter: open its profile on its own")

    def adopt(self, vm: VM, task: str) -> None:
        raise FleetError("the watch follows one vCenter: open its profile on its own")

    def close_input(self) -> None:
        """A batch run takes no more VMs: nothing to close."""

    async def aclose(self) -> None:
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
