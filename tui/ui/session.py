"""What the UI needs from the client, as a Protocol, so the UI depends on the contract only.

``tui.vsphere.Client`` satisfies it; UI snapshot tests use a small in-memory stand-in for
deterministic pictures, and the flow tests use the real client against the simulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

from tui.vsphere.models import VM, About, ConnectSpec, GuestCredentials, TaskEvent, VMBatch


class GuestNetworkRunLike(Protocol):
    def __aiter__(self) -> AsyncIterator[TaskEvent]: ...

    async def cancel(self, vm_moid: str) -> None: ...

    async def cancel_queued(self) -> None: ...


class VCenter(Protocol):
    about: About
    release: str
    host: str
    port: int
    tls_mode: str
    thumbprint_sha256: str | None
    username: str

    def watch_vms(
        self, root: str | None = None, on_status: Callable[[str], None] | None = None
    ) -> AsyncIterator[VMBatch]: ...

    def start_guest_network(
        self, vms: Sequence[VM], creds: GuestCredentials, concurrency: int = 8
    ) -> GuestNetworkRunLike: ...

    async def abort_customization(self, vm_moid: str) -> TaskEvent: ...

    async def close(self) -> None: ...


Connector = Callable[[ConnectSpec], Awaitable[VCenter]]


async def default_connector(spec: ConnectSpec) -> VCenter:
    from tui.vsphere import Client

    client: VCenter = await Client.connect(spec)
    return client
