"""Live VM updates: a ContainerView + a PropertyFilter on a PropertyCollector of the watch's own,
served by the shared long-poll loop (``property.UpdateLoop``).

Recovery: an expired session (NotAuthenticated) → log in again, re-create view/collector/filter,
yield a ``resync=True`` snapshot. A lost connection (server restart, proxy 502, timeout) → retry
with backoff, then the same. Stopping (``aclose``, ``break`` + ``aclose``, cancellation,
``Client.close``) sends CancelWaitForUpdates, DestroyPropertyFilter, DestroyPropertyCollector and
DestroyView.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from tui.vsphere.inventory import (
    DEFAULT_MAX_OBJECTS,
    FIELDS_OF_PATH,
    FolderMap,
    create_inventory_view,
    inventory_prop_sets,
    resolve_root,
    vm_of,
)
from tui.vsphere.models import VM, VMBatch, VMChange
from tui.vsphere.property import (
    Collector,
    ObjectUpdate,
    Reconnect,
    UpdateLoop,
    apply_changes,
    object_updates,
    status_reporter,
)
from tui.vsphere.services import ServiceRefs
from tui.vsphere.transport import Transport
from tui.vsphere.view import view_spec

ALL_VM_FIELDS = frozenset(VM.__dataclass_fields__)
DEFAULT_BACKOFF: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def changed_fields(old: VM, new: VM, paths: Iterable[str]) -> frozenset[str]:
    """The VM fields driven by the changed property ``paths`` whose value really changed."""
    return frozenset(
        f for p in paths for f in FIELDS_OF_PATH.get(p, ()) if getattr(old, f) != getattr(new, f)
    )


class WatchedVMs:
    """The VMs under the watch's root (and the folders for their paths), folded from UpdateSets."""

    def __init__(self, folders: FolderMap, tag: str = "") -> None:
        self.folders = folders
        self.tag = tag  # appended to every moid it reports (``watch_vms(moid_suffix=…)``)
        self.props: dict[str, dict[str, Any]] = {}  # VM moid → {property path: value}
        self.vms: dict[str, VM] = {}

    def snapshot(self) -> VMBatch:
        """Every VM as an ``enter``: the resync batch."""
        return VMBatch(
            tuple(VMChange("enter", vm.moid, vm, ALL_VM_FIELDS) for vm in self.vms.values()),
            resync=True,
        )

    def apply(self, update_set: dict[str, Any]) -> list[VMChange]:
        """Fold one UpdateSet in; returns the VM changes it made."""
        touched: dict[str, set[str]] = {}  # VM moid → changed property paths
        left: list[str] = []
        folders_changed = False
        for ou in object_updates(update_set):
            if ou.mo_type != "VirtualMachine":
                self._apply_container(ou)
                folders_changed = True
            elif ou.kind == "leave":
                self.props.pop(ou.moid, None)
                touched.pop(ou.moid, None)
                left.append(ou.moid)
            else:
                paths = touched.setdefault(ou.moid, set())
                paths.update(apply_changes(self.props.setdefault(ou.moid, {}), ou.changes))
                if ou.kind == "enter":
                    paths.add("name")
        if folders_changed:  # any path may have moved: look at every VM's folder
            touched = {m: touched.get(m, set()) | {"parent"} for m in self.props}
        return self._changes(touched, left)

    def _apply_container(self, ou: ObjectUpdate) -> None:
        if ou.kind == "leave":
            self.folders.remove(ou.moid)
            return
        p: dict[str, Any] = {}
        if ou.moid in self.folders.nodes:
            name, parent = self.folders.nodes[ou.moid]
            p = {"name": name, "parent": parent}
        apply_changes(p, ou.changes)
        self.folders.set(ou.moid, p.get("name"), p.get("parent"), ou.mo_type)

    def _changes(self, touched: dict[str, set[str]], left: list[str]) -> list[VMChange]:
        changes: list[VMChange] = []
        tag = self.tag
        for moid, paths in touched.items():
            new = vm_of(moid, self.props[moid], self.folders, tag)
            old = self.vms.get(moid)
            self.vms[moid] = new
            if old is None:
                changes.append(VMChange("enter", new.moid, new, ALL_VM_FIELDS))
            elif fields := changed_fields(old, new, paths):
                changes.append(VMChange("modify", new.moid, new, fields))
        for moid in left:
            if self.vms.pop(moid, None) is not None:
                changes.append(VMChange("leave", moid + tag, None, frozenset()))
        return changes


class _WatchHandler:
    """The watch's part of the long-poll loop (an ``UpdateHandler``)."""

    def __init__(
        self,
        t: Transport,
        refs: ServiceRefs,
        root: str | None,
        *,
        max_wait: int,
        max_objects: int,
        deliver: Callable[[VMBatch], Awaitable[None]],
        status: Callable[[str], None],
        tag: str = "",
    ) -> None:
        self.t = t
        self.tag = tag
        self.refs = refs
        self.root = root
        self.max_wait = max_wait
        self.max_objects = max_objects
        self.deliver = deliver
        self.status = status
        self.watched = WatchedVMs(FolderMap(root=refs.root_folder), tag)
        self.synced = False  # the life's first complete snapshot was delivered

    async def setup(self, pc: Collector) -> None:
        container, ctype, folders = await resolve_root(
            self.t, self.refs, self.root, self.max_objects, pc.scope
        )
        view = await create_inventory_view(self.t, self.refs, container, ctype, pc.scope)
        pc.own("ContainerView", view, "DestroyView")
        await pc.add_filter(view_spec(view, inventory_prop_sets()))
        self.watched = WatchedVMs(folders, self.tag)
        self.synced = False

    async def next_wait(self, pc: Collector) -> int | None:
        return self.max_wait  # until stopped

    async def on_updates(self, update_set: dict[str, Any]) -> None:
        changes = self.watched.apply(update_set)
        if self.synced:
            if changes:
                await self.deliver(VMBatch(tuple(changes)))
        elif not update_set.get("truncated"):  # the snapshot is complete only with its last part
            self.synced = True
            self.status(f"watching {len(self.watched.vms)} VMs")
            await self.deliver(self.watched.snapshot())


class VMWatch:
    """Async iterator of VMBatch returned by ``Client.watch_vms``; ``aclose()`` stops it.

    The long-poll loop runs in its own task feeding a small queue, so ``aclose()`` (or
    ``Client.close()``) can stop it from anywhere — also while another task is waiting for the
    next batch, which then ends with StopAsyncIteration. Stopping cancels the pending
    WaitForUpdatesEx on the server and destroys the filter, collector and view.
    """

    def __init__(
        self,
        t: Transport,
        refs: ServiceRefs,
        root: str | None = None,
        on_status: Callable[[str], None] | None = None,
        *,
        max_wait: int = 30,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        max_objects: int = DEFAULT_MAX_OBJECTS,
        on_close: Callable[[VMWatch], None] | None = None,
        moid_suffix: str = "",
    ) -> None:
        status = status_reporter("watch", on_status)
        handler = _WatchHandler(
            t,
            refs,
            root,
            max_wait=max_wait,
            max_objects=max_objects,
            deliver=self._deliver,
            status=status,
            tag=moid_suffix,
        )
        self._loop = UpdateLoop(
            t,
            refs.property_collector,
            handler,
            reconnect=Reconnect(tuple(backoff)),
            status=status,
            after_renewal="re-syncing",
        )
        self._on_close = on_close
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=8)
        self._pump_task: asyncio.Task[None] | None = None
        self._closed = False

    def __aiter__(self) -> VMWatch:
        return self

    async def __anext__(self) -> VMBatch:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        if self._pump_task is None:
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        kind, value = await self._queue.get()
        if kind == "batch":
            return value
        self._closed = True
        self._queue.put_nowait((kind, value))  # later calls see the same end
        if kind == "error":
            raise value
        raise StopAsyncIteration

    async def _deliver(self, batch: VMBatch) -> None:
        await self._queue.put(("batch", batch))

    async def _pump(self) -> None:
        try:
            await self._loop.run()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # delivered to the consumer
            await self._queue.put(("error", e))
        finally:
            self._ended()

    def _ended(self) -> None:
        if self._on_close is not None:
            self._on_close(self)

    async def aclose(self) -> None:
        if self._pump_task is None:
            self._closed = True
            self._ended()
        elif not self._pump_task.done():
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        self._closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(("end", None))
