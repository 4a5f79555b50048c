"""What the UI needs from the client, as a Protocol, so the UI depends on the contract only.

``tui.vsphere.Client`` satisfies it; UI snapshot tests use a small in-memory stand-in for
deterministic pictures, and the flow tests use the real client against the simulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from tui.vsphere.models import VM, About, ConnectSpec, GuestCredentials, TaskEvent, VMBatch


class GuestNetworkRunLike(Protocol):
    def __aiter__(self) -> AsyncIterator[TaskEvent]: ...

    async def __aenter__(self) -> GuestNetworkRunLike: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def cancel(self, vm_moid: str) -> bool: ...

    async def cancel_queued(self) -> int: ...

    # an open run (``open=True``, the watch's): more VMs, tasks of an earlier process
    def add(self, vms: Sequence[VM]) -> None: ...

    def adopt(self, vm: VM, task: str) -> None: ...

    def close_input(self) -> None: ...

    async def aclose(self) -> None: ...


class WatchLike(Protocol):
    def __aiter__(self) -> AsyncIterator[VMBatch]: ...

    async def __anext__(self) -> VMBatch: ...

    async def aclose(self) -> None: ...


class VCenter(Protocol):
    @property
    def about(self) -> About | None: ...

    @property
    def release(self) -> str | None: ...

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def tls_mode(self) -> str: ...

    @property
    def thumbprint_sha256(self) -> str | None: ...

    @property
    def username(self) -> str: ...

    def watch_vms(
        self,
        root: str | None = None,
        on_status: Callable[[str], None] | None = None,
        *,
        moid_suffix: str = "",
    ) -> WatchLike: ...

    def start_guest_network(
        self, vms: Sequence[VM], creds: GuestCredentials, concurrency: int = 8, **options: Any
    ) -> GuestNetworkRunLike: ...

    async def find_start_task(self, vm_moid: str, not_before: datetime) -> str | None: ...

    async def abort_customization(
        self, vm_moid: str, creds: GuestCredentials | None = None
    ) -> TaskEvent: ...

    async def close(self) -> None: ...


Connector = Callable[[ConnectSpec], Awaitable[VCenter]]


async def default_connector(spec: ConnectSpec) -> VCenter:
    from tui.vsphere import Client

    client: VCenter = await Client.connect(spec)
    return client
