"""``Client``: connect (release negotiation, ServiceContent, Login), keepalive, and the calls the
CLI and TUI use. See docs/ARCHITECTURE.md for the contract."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import httpx

from tui.vsphere import inventory, lostreply, startcall, task, tasks, updates
from tui.vsphere.errors import BadResponse, GuestnetError, SpecError, TLSVerifyError, VimFault
from tui.vsphere.models import VM, About, ConnectSpec, GuestCredentials, TaskEvent
from tui.vsphere.services import ServiceRefs, read_service_content
from tui.vsphere.tls import fetch_thumbprint, pin_hint
from tui.vsphere.transport import SessionRenewed, Transport
from tui.vsphere.wire import method_path, mor, ref_value

log = logging.getLogger("tui.vsphere")

#: API releases guestnet speaks, newest first (VI/JSON exists from 8.0.1.0 = vCenter 8.0U1).
SUPPORTED_RELEASES: tuple[str, ...] = ("9.0.0.0", "8.0.3.0", "8.0.2.0", "8.0.1.0")
KEEPALIVE_INTERVAL = 600.0  # seconds of idleness before a cheap call, like govc
_RELEASE_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


class _Closable(Protocol):
    async def aclose(self) -> None: ...


class Client:
    """A logged-in VI/JSON session. Create with ``await Client.connect(spec)``.

    The modules below it (inventory, updates, task, tasks) get the transport and the
    ``ServiceRefs`` value, never the client: none of them imports this module.
    """

    def __init__(
        self,
        spec: ConnectSpec,
        *,
        http_transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        keepalive_interval: float | None = KEEPALIVE_INTERVAL,
        max_objects: int = inventory.DEFAULT_MAX_OBJECTS,
        releases: Sequence[str] = SUPPORTED_RELEASES,
    ) -> None:
        if not spec.host or not spec.host.strip():
            raise SpecError("vCenter host is empty")
        if not 0 < spec.port < 65536:
            raise SpecError(f"port out of range: {spec.port}")
        if spec.release is not None and not _RELEASE_RE.match(spec.release):
            raise SpecError(f"invalid API release {spec.release!r}: expected e.g. 8.0.3.0")
        if spec.timeout <= 0:
            raise SpecError(f"timeout must be positive, got {spec.timeout}")
        if max_objects < 1:
            raise SpecError(f"max_objects must be at least 1, got {max_objects}")
        self._spec = spec
        self.host = spec.host.strip()
        self.port = spec.port
        self.username = spec.username
        self.transport = Transport(
            self.host,
            spec.port,
            spec.tls,
            spec.timeout,
            http_transport=http_transport,
            event_hooks=event_hooks,
        )
        self.transport.relogin = self._login
        self.tls_mode: str = self.transport.tls_mode
        self._release: str = spec.release or ""
        self._services: ServiceRefs | None = None  # read from ServiceContent by connect()
        self.max_objects = max_objects
        self._releases = tuple(releases)
        self._keepalive_interval = keepalive_interval
        self._keepalive_task: asyncio.Task[None] | None = None
        self._resources: set[_Closable] = set()
        self._closed = False
        self._logged_in = False
        self._creds_for: dict[str, GuestCredentials] = {}

    # ------------------------------------------------------------------ connect / close

    @classmethod
    async def connect(
        cls,
        spec: ConnectSpec,
        *,
        http_transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        keepalive_interval: float | None = KEEPALIVE_INTERVAL,
        max_objects: int = inventory.DEFAULT_MAX_OBJECTS,
        releases: Sequence[str] = SUPPORTED_RELEASES,
    ) -> Client:
        client = cls(
            spec,
            http_transport=http_transport,
            event_hooks=event_hooks,
            keepalive_interval=keepalive_interval,
            max_objects=max_objects,
            releases=releases,
        )
        try:
            content = await client._negotiate()
            client._services = read_service_content(content, client.host, client._release)
            await client._login()
        except TLSVerifyError as e:
            await client.close()
            if e.presented_sha256 is not None or http_transport is not None:
                raise
            # Verification failed inside OpenSSL: look at what the server presents (a second
            # handshake that sends nothing) so the message can say how to pin it.
            try:
                tp = await fetch_thumbprint(client.host, client.port, min(spec.timeout, 10.0))
            except GuestnetError:
                raise e from None
            raise TLSVerifyError(
                str(e) + pin_hint(client.host, client.port, tp.sha256), presented_sha256=tp.sha256
            ) from None
        except BaseException:
            await client.close()
            raise
        client._start_keepalive()
        return client

    @property
    def services(self) -> ServiceRefs:
        """The connection's ServiceContent references (after ``connect``)."""
        if self._services is None:
            raise GuestnetError(f"not connected to {self.host}")
        return self._services

    @property
    def release(self) -> str:
        return self._services.release if self._services else self._release

    @property
    def about(self) -> About | None:
        return self._services.about if self._services else None

    @property
    def root_folder(self) -> str:
        return self._services.root_folder if self._services else ""

    @property
    def property_collector(self) -> str:
        return self._services.property_collector if self._services else ""

    @property
    def view_manager(self) -> str:
        return self._services.view_manager if self._services else ""

    @property
    def session_manager(self) -> str:
        return self._services.session_manager if self._services else "SessionManager"

    @property
    def guest_customization_manager(self) -> str | None:
        return self._services.guest_customization_manager if self._services else None

    @property
    def session_user(self) -> str | None:
        """UserSession.userName of the latest Login (how vCenter names us in TaskReasonUser)."""
        return self.transport.session_user

    @property
    def thumbprint_sha256(self) -> str | None:
        """SHA-256 thumbprint of the certificate the server presented (colon hex, upper case)."""
        tp = self.transport.cert.presented
        return tp.sha256 if tp else None

    @property
    def thumbprint_sha1(self) -> str | None:
        tp = self.transport.cert.presented
        return tp.sha1 if tp else None

    @property
    def request_count(self) -> int:
        return self.transport.request_count

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop watches and runs (destroying their views/filters), log out, close connections.

        Safe to call more than once, after an error, and from a cancelled task.
        """
        if self._closed:
            return
        self._closed = True
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            await asyncio.gather(self._keepalive_task, return_exceptions=True)
        for r in list(self._resources):
            try:
                await asyncio.wait_for(r.aclose(), timeout=15.0)
            except (GuestnetError, TimeoutError) as e:
                log.debug("closing %r failed: %s", r, e)
        self._resources.clear()
        if self._logged_in:
            self._logged_in = False
            self.transport.relogin = None
            try:
                await self.transport.invoke(
                    "SessionManager", self.session_manager, "Logout", auth="none", timeout_s=5.0
                )
            except GuestnetError as e:
                log.debug("Logout failed: %s", e)
        await self.transport.aclose()

    def _track(self, r: _Closable) -> None:
        self._resources.add(r)

    def _forget(self, r: object) -> None:
        self._resources.discard(r)

    def _check_open(self) -> None:
        if self._closed:
            raise GuestnetError(f"the connection to {self.host} is closed")

    # ------------------------------------------------------------------ negotiation

    def _content_path(self, release: str) -> str:
        return f"/sdk/vim25/{release}/ServiceInstance/ServiceInstance/content"

    async def _negotiate(self) -> dict[str, Any]:
        t = self.transport
        if self._spec.release:
            try:
                content = await t.send("GET", self._content_path(self._spec.release), None)
            except BadResponse:
                raise GuestnetError(
                    f"{self.host} does not offer the pinned API release {self._spec.release} "
                    f"(guestnet speaks {', '.join(self._releases)})"
                ) from None
            self._set_release(self._spec.release)
            return _content_dict(content, self.host)
        release: str | None = None
        try:
            hello = await t.send(
                "POST", "/api/vcenter/system?action=hello", {"api_releases": list(self._releases)}
            )
        except (BadResponse, VimFault) as e:  # 8.0U1 has no hello: probe instead
            log.debug("hello not available: %s", e)
            hello = None
        if isinstance(hello, dict) and isinstance(hello.get("api_release"), str):
            offered = hello["api_release"]
            if offered == "":
                raise GuestnetError(
                    f"{self.host} supports none of the API releases guestnet speaks "
                    f"({', '.join(self._releases)})"
                )
            if offered in self._releases:
                release = offered
        if release is not None:
            content = await t.send("GET", self._content_path(release), None)
            self._set_release(release)
            return _content_dict(content, self.host)
        for candidate in self._releases:
            try:
                content = await t.send("GET", self._content_path(candidate), None)
            except BadResponse:
                continue
            self._set_release(candidate)
            return _content_dict(content, self.host)
        raise GuestnetError(
            f"{self.host}:{self.port} offers no VI/JSON API release guestnet speaks "
            f"(tried {', '.join(self._releases)}); vCenter 8.0U1 or later is needed"
        )

    def _set_release(self, release: str) -> None:
        self._release = release
        self.transport.prefix = f"/sdk/vim25/{release}"

    async def _login(self) -> None:
        """Login (also used for the transparent re-login); keeps the session header."""
        t = self.transport
        t.set_session(None)
        path = t.prefix + method_path("SessionManager", self.session_manager, "Login")
        body = {"userName": self._spec.username, "password": self._spec.password.reveal()}
        result, headers = await t.send_with_headers("POST", path, body)
        del body
        token = headers.get("vmware-api-session-id")
        if not token:
            raise BadResponse(f"Login at {self.host} returned no vmware-api-session-id header")
        t.set_session(token)
        self._logged_in = True
        if isinstance(result, dict):
            user = result.get("userName")
            # how vCenter names us in TaskReasonUser.userName (may differ from spec.username)
            t.session_user = user if isinstance(user, str) and user else None
            log.info("logged in to %s as %s", self.host, self.session_user or self.username)

    # ------------------------------------------------------------------ keepalive

    def _start_keepalive(self) -> None:
        if self._keepalive_interval and self._keepalive_interval > 0:
            self._keepalive_task = asyncio.get_running_loop().create_task(self._keepalive())

    async def _keepalive(self) -> None:
        interval = float(self._keepalive_interval or KEEPALIVE_INTERVAL)
        t = self.transport
        while True:
            idle = time.monotonic() - t.last_activity
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            try:
                await self.keepalive()
            except GuestnetError as e:
                log.info("keepalive to %s failed: %s", self.host, e)
                await asyncio.sleep(interval)

    async def keepalive(self) -> None:
        """One cheap call that refreshes the session's idle timer (re-logs in if it expired).

        ``SessionManager.currentSession`` is a plain property read; an unset answer means the
        session is gone, so the client logs in again right away.
        """
        t = self.transport
        gen = t.session_gen
        current = await t.get_property("SessionManager", self.session_manager, "currentSession")
        if current is None:
            await t.renew_session(gen)

    # ------------------------------------------------------------------ inventory

    async def list_vms(self, root: str | None = None) -> list[VM]:
        """Every VM under ``root`` (inventory path like ``/DC/vm/team-a``; None = everything)."""
        self._check_open()
        args = (self.transport, self.services, root, self.max_objects)
        try:
            return await inventory.list_vms(*args)
        except SessionRenewed:  # the view died with the expired session: once more
            pass
        try:
            return await inventory.list_vms(*args)
        except SessionRenewed as e:  # expired again: a user-facing error, not the signal
            raise e.as_error() from None

    def watch_vms(
        self,
        root: str | None = None,
        on_status: Callable[[str], None] | None = None,
        *,
        max_wait: int = 30,
        backoff: Sequence[float] = updates.DEFAULT_BACKOFF,
        moid_suffix: str = "",
    ) -> updates.VMWatch:
        """Async iterator of VMBatch; the first (and each after a recovery) has ``resync=True``.
        ``moid_suffix`` is appended to every moid it reports (``VM.moid``, ``VMChange.moid``):
        the streams of several vCenters then merge without two VMs sharing a moid."""
        self._check_open()
        w = updates.VMWatch(
            self.transport,
            self.services,
            root,
            on_status,
            max_wait=max_wait,
            backoff=backoff,
            max_objects=self.max_objects,
            on_close=self._forget,
            moid_suffix=moid_suffix,
        )
        self._track(w)
        return w

    # ------------------------------------------------------------------ guest network

    def start_guest_network(
        self,
        vms: Sequence[VM],
        creds: GuestCredentials,
        concurrency: int = 8,
        **options: Any,
    ) -> tasks.GuestNetworkRun:
        """Start the guest network on ``vms``; returns a run (async iterator of TaskEvent).

        ``concurrency`` bounds the StartGuestNetwork_Task calls in flight. ``await`` the result
        or iterate it to start; options (tests, tuning): max_attempts, retry_delays, max_wait,
        dispatch_poll, coalesce, batch_window, reconnect_delays, on_status; ``open=True``: a run
        that takes more VMs (``add``, ``adopt``) until ``close_input()``.
        """
        self._check_open()
        run = tasks.GuestNetworkRun(
            self.transport,
            self.services,
            vms,
            creds,
            concurrency,
            cancel_task=self.cancel_task,
            on_close=self._forget,
            **options,
        )
        self._track(run)
        for vm in vms:
            self._creds_for[vm.moid] = creds
        return run

    async def find_start_task(self, vm_moid: str, not_before: datetime) -> str | None:
        """The StartGuestNetwork task that this user queued on the VM at or after ``not_before``
        (server time), in any state, from the VM's ``recentTask``; None when vCenter lists none."""
        self._check_open()
        return await lostreply.find_start_task(
            self.transport, vm_moid, user=self.session_user or self.username, not_before=not_before
        )

    async def cancel_task(self, task_moid: str) -> None:
        self._check_open()
        await task.cancel_task(self.transport, task_moid)

    async def abort_customization(
        self, vm_moid: str, creds: GuestCredentials | None = None, *, max_wait: int = 30
    ) -> TaskEvent:
        """AbortCustomization_Task on a VM whose customization is stuck; returns the final event.

        The call needs guest credentials (a required parameter of the API): ``creds``, else
        those of the latest run that included the VM.
        """
        self._check_open()
        creds = creds or self._creds_for.get(vm_moid)
        if creds is None:
            raise GuestnetError(
                f"AbortCustomization_Task on {vm_moid} needs guest credentials: pass creds"
            )
        if self.guest_customization_manager is None:
            raise GuestnetError(f"{self.host} has no guest customization manager")
        name = await self._vm_name(vm_moid)
        try:
            ref = await self.transport.invoke(
                startcall.GCM_TYPE,
                self.guest_customization_manager,
                "AbortCustomization_Task",
                {"vm": mor("VirtualMachine", vm_moid), "auth": startcall.guest_auth(creds)},
            )
        except VimFault as e:
            return TaskEvent(vm_moid=vm_moid, vm_name=name, state="failed", fault=e.fault)
        moid = ref_value(ref, "AbortCustomization_Task")
        props = await task.wait_for_task(
            self.transport, self.property_collector, moid, max_wait=max_wait
        )
        state, fault = task.task_state(props)
        return task.task_event(vm_moid, name, state or "failed", moid, props, fault=fault)

    async def _vm_name(self, vm_moid: str) -> str:
        try:
            name = await self.transport.get_property("VirtualMachine", vm_moid, "name")
        except GuestnetError:
            return vm_moid
        return name if isinstance(name, str) else vm_moid


def _content_dict(content: Any, host: str) -> dict[str, Any]:
    if not isinstance(content, dict) or content.get("_typeName") not in (None, "ServiceContent"):
        raise BadResponse(f"{host} did not return a ServiceContent")
    return content
