"""Live VM updates: a ContainerView + a PropertyFilter on a dedicated PropertyCollector, served
by a WaitForUpdatesEx long-poll loop with version tracking.

Recovery: an expired session (NotAuthenticated) → log in again, re-create view/collector/filter,
yield a ``resync=True`` snapshot. A lost connection (server restart, proxy 502, timeout) → retry
with backoff, then the same. Stopping (``aclose``, ``break`` + ``aclose``, cancellation,
``Client.close``) sends CancelWaitForUpdates, DestroyPropertyFilter, DestroyPropertyCollector and
DestroyView.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tui.vsphere.errors import (
    BadResponse,
    ConnectError,
    GuestnetError,
    RequestTimeout,
)
from tui.vsphere.inventory import (
    CONTAINER_TYPES,
    VM_PROPERTIES,
    FolderMap,
    create_view,
    inventory_prop_sets,
    resolve_root,
    view_spec,
    vm_of,
)
from tui.vsphere.models import VM, VMBatch, VMChange
from tui.vsphere.transport import SessionRenewed, Transport
from tui.vsphere.wire import MOR, ref_value

if TYPE_CHECKING:
    from tui.vsphere.client import Client

log = logging.getLogger("tui.vsphere")

# VM property path → the VM fields whose value it drives.
_FIELDS_OF: dict[str, frozenset[str]] = {
    p: frozenset({f}) for p, f in VM_PROPERTIES.items() if p not in ("name", "parent")
}
_FIELDS_OF["name"] = frozenset({"name", "path"})
_FIELDS_OF["parent"] = frozenset({"folder", "path"})

DEFAULT_BACKOFF: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def apply_changes(props: dict[str, Any], change_set: Sequence[Mapping[str, Any]]) -> set[str]:
    """Apply PropertyChanges to a property dict; returns the changed property paths."""
    changed: set[str] = set()
    for ch in change_set:
        name = ch.get("name")
        if not isinstance(name, str):
            continue
        op = ch.get("op", "assign")
        if op in ("assign", "add") and "val" in ch:
            v = ch["val"]
            if type(v) is dict:
                if "_value" in v:
                    v = v["_value"]
                elif v.get("_typeName") == MOR:
                    v = v["value"]
            if props.get(name, _MISSING) != v:
                props[name] = v
                changed.add(name)
        else:  # assign without val (unset), remove, indirectRemove
            if props.pop(name, _MISSING) is not _MISSING:
                changed.add(name)
    return changed


_MISSING = object()


class _Watch:
    """One life of the view/collector/filter (until the session or connection is lost)."""

    def __init__(self, client: Client, t: Transport) -> None:
        self.client = client
        self.t = t
        self.view: str | None = None
        self.collector: str | None = None
        self.filter: str | None = None
        self.waiting = False
        self.scope = t.session_gen
        self.dead = False  # objects died with their session: nothing to clean up on the server

    async def setup(self, root: str | None) -> tuple[FolderMap, str]:
        c = self.client
        scope = self.scope = self.t.session_gen
        container, ctype, folders = await resolve_root(
            self.t, c.view_manager, c.property_collector, c.root_folder, root, c.max_objects, scope
        )
        self.view = await create_view(
            self.t, c.view_manager, container, ("VirtualMachine", *CONTAINER_TYPES), ctype, scope
        )
        ref = await self.t.invoke(
            "PropertyCollector",
            c.property_collector,
            "CreatePropertyCollector",
            auth="raise",
            scope=scope,
        )
        self.collector = ref_value(ref, "CreatePropertyCollector")
        ref = await self.t.invoke(
            "PropertyCollector",
            self.collector,
            "CreateFilter",
            {"spec": view_spec(self.view, inventory_prop_sets()), "partialUpdates": False},
            auth="raise",
            scope=scope,
        )
        self.filter = ref_value(ref, "CreateFilter")
        return folders, container

    async def wait(self, version: str, max_wait: int) -> Any:
        assert self.collector is not None
        self.waiting = True
        result = await self.t.invoke(
            "PropertyCollector",
            self.collector,
            "WaitForUpdatesEx",
            {
                "version": version,
                "options": {"_typeName": "WaitOptions", "maxWaitSeconds": max_wait},
            },
            auth="raise",
            timeout_s=max_wait + self.t.timeout,
            scope=self.scope,
        )
        self.waiting = False  # left True when the long-poll was interrupted: teardown cancels it
        return result

    async def teardown(self, cancelled_wait: bool) -> None:
        if self.dead:
            return
        self.dead = True
        steps: list[tuple[str, str | None, str]] = []
        if cancelled_wait:
            steps.append(("PropertyCollector", self.collector, "CancelWaitForUpdates"))
        steps += [
            ("PropertyFilter", self.filter, "DestroyPropertyFilter"),
            ("PropertyCollector", self.collector, "DestroyPropertyCollector"),
            ("ContainerView", self.view, "DestroyView"),
        ]
        for mo_type, moid, method in steps:
            if moid is None:
                continue
            try:
                await self.t.invoke(mo_type, moid, method, auth="none", timeout_s=5.0)
            except GuestnetError as e:
                log.debug("%s %s failed: %s", method, moid, e)
                if isinstance(e, ConnectError):
                    break  # server gone: the objects die with it
        self.dead = True


async def watch_vms(
    client: Client,
    root: str | None = None,
    on_status: Callable[[str], None] | None = None,
    *,
    max_wait: int = 30,
    backoff: Sequence[float] = DEFAULT_BACKOFF,
) -> AsyncGenerator[VMBatch, None]:
    t = client.transport

    def status(msg: str) -> None:
        log.info("watch: %s", msg)
        if on_status is not None:
            try:
                on_status(msg)
            except Exception:  # a UI callback must not kill the stream
                log.exception("on_status callback failed")

    failures = 0
    while True:
        w = _Watch(client, t)
        try:
            folders, _container = await w.setup(root)
            vm_props: dict[str, dict[str, Any]] = {}
            vms: dict[str, VM] = {}
            version = ""
            first = True
            while True:
                asked = time.monotonic()
                us = await w.wait(version, max_wait)
                if us is None:
                    await _pace(asked, max_wait)
                    continue
                version = str(us.get("version", version))
                folder_touched = False
                touched: dict[str, set[str]] = {}
                left: list[str] = []
                for fu in us.get("filterSet") or ():
                    for ou in fu.get("objectSet") or ():
                        obj = ou.get("obj") or {}
                        moid = obj.get("value")
                        otype = obj.get("type")
                        kind = ou.get("kind")
                        if not isinstance(moid, str):
                            continue
                        if otype != "VirtualMachine":
                            if kind == "leave":
                                folders.remove(moid)
                            else:
                                p: dict[str, Any] = {}
                                if moid in folders.nodes:
                                    name, parent = folders.nodes[moid]
                                    p = {"name": name, "parent": parent}
                                apply_changes(p, ou.get("changeSet") or ())
                                folders.set(moid, p.get("name"), p.get("parent"), str(otype))
                            folder_touched = True
                            continue
                        if kind == "leave":
                            vm_props.pop(moid, None)
                            touched.pop(moid, None)
                            left.append(moid)
                            continue
                        props = vm_props.setdefault(moid, {})
                        changed = apply_changes(props, ou.get("changeSet") or ())
                        touched.setdefault(moid, set()).update(changed)
                        if kind == "enter":
                            touched[moid].add("name")
                changes: list[VMChange] = []
                if folder_touched:
                    touched = {m: touched.get(m, set()) | {"parent"} for m in vm_props}
                for moid, paths in touched.items():
                    new = vm_of(moid, vm_props[moid], folders)
                    old = vms.get(moid)
                    vms[moid] = new
                    if old is None:
                        changes.append(VMChange("enter", moid, new, ALL_VM_FIELDS))
                        continue
                    fields = frozenset(
                        f
                        for p in paths
                        for f in _FIELDS_OF.get(p, ())
                        if getattr(old, f) != getattr(new, f)
                    )
                    if fields:
                        changes.append(VMChange("modify", moid, new, fields))
                for moid in left:
                    if vms.pop(moid, None) is not None:
                        changes.append(VMChange("leave", moid, None, frozenset()))
                if first:
                    if us.get("truncated"):
                        continue  # the snapshot is complete only with the last part
                    first = False
                    failures = 0
                    status(f"watching {len(vms)} VMs")
                    yield VMBatch(
                        tuple(VMChange("enter", m, vm, ALL_VM_FIELDS) for m, vm in vms.items()),
                        resync=True,
                    )
                    continue
                if changes:
                    yield VMBatch(tuple(changes))
        except SessionRenewed:
            w.dead = True  # its view/collector/filter died with the old session
            status("session expired; logged in again, re-syncing")
        except (ConnectError, BadResponse, RequestTimeout) as e:
            delay = backoff[min(failures, len(backoff) - 1)] if backoff else 1.0
            failures += 1
            await w.teardown(cancelled_wait=False)
            status(f"connection lost ({e}); retrying in {delay:g} s")
            await asyncio.sleep(delay)
        finally:
            # Stopped (aclose/break/cancel/Client.close) or a fatal error: release server objects.
            await w.teardown(cancelled_wait=w.waiting)


ALL_VM_FIELDS = frozenset(VM.__dataclass_fields__)


async def _pace(asked: float, max_wait: float) -> None:
    """After an empty long-poll answer: if it came back much sooner than ``maxWaitSeconds``
    (a server or proxy that does not hold the request), wait a second instead of spinning."""
    if time.monotonic() - asked < min(1.0, max_wait / 2):
        await asyncio.sleep(1.0)


class VMWatch:
    """Async iterator of VMBatch returned by ``Client.watch_vms``; ``aclose()`` stops it.

    The long-poll loop runs in its own task feeding a small queue, so ``aclose()`` (or
    ``Client.close()``) can stop it from anywhere — also while another task is waiting for the
    next batch, which then ends with StopAsyncIteration. Stopping cancels the pending
    WaitForUpdatesEx on the server and destroys the filter, collector and view.
    """

    def __init__(self, client: Client, gen: AsyncGenerator[VMBatch, None]) -> None:
        self._client = client
        self._gen = gen
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

    async def _pump(self) -> None:
        try:
            async for batch in self._gen:
                await self._queue.put(("batch", batch))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # delivered to the consumer
            await self._queue.put(("error", e))
        finally:
            await self._gen.aclose()
            self._client._forget(self)

    async def aclose(self) -> None:
        if self._pump_task is None:
            self._closed = True
            await self._gen.aclose()
            self._client._forget(self)
        elif not self._pump_task.done():
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        self._closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(("end", None))
