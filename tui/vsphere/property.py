"""PropertyCollector: retrievals, a collector of our own with its filters, and THE long-poll loop.

- ``retrieve_pages``: RetrievePropertiesEx + ContinueRetrievePropertiesEx (one-shot reads).
- ``Collector``: one *life* of a PropertyCollector created for one consumer
  (CreatePropertyCollector on the root collector), its PropertyFilters, its WaitForUpdatesEx, and
  the other session-scoped objects that live and die with it (a ContainerView). A life ends with
  its session (SessionRenewed: nothing left to destroy) or is destroyed: CancelWaitForUpdates when
  a long-poll was interrupted, DestroyPropertyFilter, DestroyPropertyCollector, then its objects.
- ``UpdateLoop``: the WaitForUpdatesEx loop (version tracking, pacing of servers that do not hold
  the request) with its recovery, written once for every consumer. An ``UpdateHandler`` says what
  a life's filters are (``setup``), when to poll and for how long (``next_wait``) and what an
  UpdateSet means (``on_updates``). After an expired session the loop starts a new life at once
  (the handler re-creates its filters, version ``""`` brings every object's current state); after
  a lost connection it destroys the life, waits per its ``Reconnect`` rule, and starts a new one.

Consumers: ``updates`` (the VM watch), ``task`` (task tracking). Values are plain: ``props_of`` and
``apply_changes`` turn DynamicProperty / PropertyChange values into {path: value} (boxed values
unboxed, MORs as their moid, data objects as decoded JSON dicts).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from tui.vsphere.errors import (
    BadResponse,
    ConnectError,
    GuestnetError,
    RequestTimeout,
    TransportError,
)
from tui.vsphere.transport import SessionRenewed, Transport
from tui.vsphere.wire import MOR, ref_value

log = logging.getLogger("tui.vsphere")

PC = "PropertyCollector"
_MISSING = object()


# ---------------------------------------------------------------------------- values


def property_value(val: Any) -> Any:
    """A property's plain value: boxed ``{"_typeName", "_value"}`` → the value, a MOR → its moid,
    anything else (a data object, a string) unchanged."""
    if type(val) is dict:
        if "_value" in val:
            return val["_value"]
        if val.get("_typeName") == MOR:
            return val["value"]
    return val


def props_of(obj_content: Mapping[str, Any]) -> dict[str, Any]:
    """ObjectContent's DynamicProperty list → {path: plain value}."""
    return {p["name"]: property_value(p.get("val")) for p in obj_content.get("propSet") or ()}


def apply_changes(props: dict[str, Any], change_set: Sequence[Mapping[str, Any]]) -> set[str]:
    """Apply PropertyChanges to a {path: plain value} dict; returns the changed paths."""
    changed: set[str] = set()
    for ch in change_set:
        name = ch.get("name")
        if not isinstance(name, str):
            continue
        if ch.get("op", "assign") in ("assign", "add") and "val" in ch:
            v = property_value(ch["val"])
            if props.get(name, _MISSING) != v:
                props[name] = v
                changed.add(name)
        elif props.pop(name, _MISSING) is not _MISSING:  # unset (no val), remove, indirectRemove
            changed.add(name)
    return changed


class ObjectUpdate(NamedTuple):
    kind: str  # "enter" | "modify" | "leave"
    mo_type: str  # e.g. "VirtualMachine", "Folder", "Task"
    moid: str
    changes: Sequence[Mapping[str, Any]]  # PropertyChange list (empty for "leave")


def object_updates(update_set: Mapping[str, Any]) -> Iterator[ObjectUpdate]:
    """Every ObjectUpdate of an UpdateSet, over all its filters (entries without a moid skipped)."""
    for fu in update_set.get("filterSet") or ():
        for ou in fu.get("objectSet") or ():
            obj = ou.get("obj") or {}
            moid = obj.get("value")
            if isinstance(moid, str):
                kind = str(ou.get("kind", "modify"))
                yield ObjectUpdate(kind, str(obj.get("type")), moid, ou.get("changeSet") or ())


# ---------------------------------------------------------------------------- retrieval


async def retrieve_pages(
    t: Transport, collector: str, spec: Mapping[str, Any], max_objects: int, scope: int
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """RetrievePropertiesEx + ContinueRetrievePropertiesEx; yields each page's ObjectContents.

    Pipelined: the request for page k+1 is sent before page k is handed to the consumer, so
    the client's parsing overlaps with the server preparing the next page (same requests, same
    order). A consumer that stops early gets the server-side result set released
    (CancelRetrievePropertiesEx).
    """

    def more(token: str) -> asyncio.Task[Any]:
        body = {"token": token}
        call = t.invoke(
            PC, collector, "ContinueRetrievePropertiesEx", body, auth="raise", scope=scope
        )
        return asyncio.ensure_future(call)

    options = {"_typeName": "RetrieveOptions", "maxObjects": max_objects}
    body = {"specSet": [spec], "options": options}
    result = await t.invoke(PC, collector, "RetrievePropertiesEx", body, auth="raise", scope=scope)
    open_token: str | None = None  # a result set the server still holds for us
    pending: asyncio.Task[Any] | None = None
    try:
        while result is not None:
            open_token = result.get("token") or None
            pending = more(open_token) if open_token else None
            if pending is not None:
                await asyncio.sleep(0)  # let it put the request on the wire before we parse
            yield result.get("objects") or []
            if pending is None:
                return
            result = await pending
            pending = None
        open_token = None
    finally:
        if pending is not None:
            if not pending.done():
                pending.cancel()
            outcome: Any = (await asyncio.gather(pending, return_exceptions=True))[0]
            if isinstance(outcome, dict):
                open_token = outcome.get("token") or None
        if open_token:
            await _cancel_retrieval(t, collector, open_token)


async def _cancel_retrieval(t: Transport, collector: str, token: str) -> None:
    try:
        body = {"token": token}
        await t.invoke(
            PC, collector, "CancelRetrievePropertiesEx", body, auth="none", timeout_s=10.0
        )
    except GuestnetError as e:  # best effort: the server expires it anyway
        log.debug("CancelRetrievePropertiesEx failed: %s", e)


# ---------------------------------------------------------------------------- one collector life


class Collector:
    """One life of a PropertyCollector of our own, its filters and the objects that go with it.

    Every call is scoped to the session the life's first object was created under: once that
    session is renewed, the next call raises SessionRenewed without a request.
    """

    def __init__(self, t: Transport, root_collector: str) -> None:
        self.t = t
        self.root_collector = root_collector
        self.moid: str | None = None  # created with the first filter
        self.filters: list[str] = []
        self.owned: list[tuple[str, str, str]] = []  # (type, moid, destroy method), e.g. a view
        self.waiting = False  # a WaitForUpdatesEx was interrupted: destroy() cancels it
        self.ended = False
        self._scope = t.session_gen

    @property
    def scope(self) -> int:
        """The session generation of this life's objects (the current one while it has none)."""
        if self.moid is None and not self.owned:
            self._scope = self.t.session_gen
        return self._scope

    def own(self, mo_type: str, moid: str, destroy_method: str) -> None:
        """An object created under ``scope`` that ends with this life (after the collector)."""
        self.owned.append((mo_type, moid, destroy_method))

    async def add_filter(self, spec: Mapping[str, Any]) -> str:
        """CreateFilter (creating the collector first if needed); returns the filter's moid."""
        scope = self.scope
        if self.moid is None:
            ref = await self.t.invoke(
                PC, self.root_collector, "CreatePropertyCollector", auth="raise", scope=scope
            )
            self.moid = ref_value(ref, "CreatePropertyCollector")
        body = {"spec": spec, "partialUpdates": False}
        ref = await self.t.invoke(PC, self.moid, "CreateFilter", body, auth="raise", scope=scope)
        self.filters.append(ref_value(ref, "CreateFilter"))
        return self.filters[-1]

    async def remove_filter(self, filter_moid: str) -> None:
        """DestroyPropertyFilter on one of this life's filters (its objects stop being reported)."""
        if filter_moid in self.filters:
            self.filters.remove(filter_moid)
            await self.t.invoke(
                "PropertyFilter",
                filter_moid,
                "DestroyPropertyFilter",
                auth="raise",
                scope=self.scope,
            )

    async def wait(self, version: str, max_wait: int) -> dict[str, Any] | None:
        """One WaitForUpdatesEx: the UpdateSet, or None when nothing changed within max_wait."""
        assert self.moid is not None, "wait() needs a filter"
        body = {
            "version": version,
            "options": {"_typeName": "WaitOptions", "maxWaitSeconds": max_wait},
        }
        self.waiting = True
        try:
            result = await self.t.invoke(
                PC,
                self.moid,
                "WaitForUpdatesEx",
                body,
                auth="raise",
                timeout_s=max_wait + self.t.timeout,
                scope=self._scope,
            )
        except asyncio.CancelledError:
            raise  # still pending on the server: destroy() cancels it
        except BaseException:
            self.waiting = False  # the long-poll is over (failed): nothing to cancel
            raise
        self.waiting = False
        if result is not None and not isinstance(result, dict):
            raise BadResponse(f"WaitForUpdatesEx on {self.t.host} did not return an UpdateSet")
        return result

    def forget(self) -> None:
        """The life's objects died with their session: nothing to destroy on the server."""
        self.ended = True

    async def destroy(self) -> None:
        """Cancel an interrupted long-poll and destroy the filters, the collector, its objects.

        Best effort and idempotent; stops at the first transport error (the objects then die
        with the session or the server).
        """
        if self.ended:
            return
        self.ended = True
        steps: list[tuple[str, str, str]] = []
        if self.moid is not None:
            if self.waiting:
                steps.append((PC, self.moid, "CancelWaitForUpdates"))
            steps += [("PropertyFilter", f, "DestroyPropertyFilter") for f in self.filters]
            steps.append((PC, self.moid, "DestroyPropertyCollector"))
        steps += self.owned
        for mo_type, moid, method in steps:
            try:
                await self.t.invoke(mo_type, moid, method, auth="none", timeout_s=5.0)
            except GuestnetError as e:
                log.debug("%s %s failed: %s", method, moid, e)
                if isinstance(e, TransportError):
                    return


# ---------------------------------------------------------------------------- the long-poll loop


@dataclass(frozen=True, slots=True)
class Reconnect:
    """How the loop waits after a lost connection (server restart, proxy 502, timeout).

    The n-th outage in a row (no long-poll answered since the previous one) waits
    ``delays[n]``; past the end: the last delay again (``give_up=False``) or the error is
    raised (``give_up=True``). No delays: 1 s, or give up at once.
    """

    delays: tuple[float, ...]
    give_up: bool = False

    def delay(self, outages: int) -> float | None:
        if outages < len(self.delays):
            return self.delays[outages]
        if self.give_up:
            return None
        return self.delays[-1] if self.delays else 1.0


class UpdateHandler(Protocol):
    """What one consumer of the loop does with a collector life."""

    async def setup(self, pc: Collector) -> None:
        """A new life: create its filters (and views) on ``pc``; drop the previous life's state."""

    async def next_wait(self, pc: Collector) -> int | None:
        """Before each long-poll (filters may be added here): its maxWaitSeconds, None to stop."""

    async def on_updates(self, update_set: dict[str, Any]) -> None:
        """One UpdateSet of this life (``truncated`` ones are parts of one snapshot)."""


RECOVERABLE: tuple[type[GuestnetError], ...] = (ConnectError, BadResponse, RequestTimeout)


def status_reporter(name: str, on_status: Callable[[str], None] | None) -> Callable[[str], None]:
    """A status function: logs ``name: msg`` and hands ``msg`` to ``on_status``, whose errors
    never stop the caller (a UI callback must not kill a stream)."""

    def status(msg: str) -> None:
        log.info("%s: %s", name, msg)
        if on_status is not None:
            try:
                on_status(msg)
            except Exception:
                log.exception("on_status callback failed")

    return status


class UpdateLoop:
    """The WaitForUpdatesEx loop with recovery, serving one ``UpdateHandler``.

    ``status`` gets one line per recovery (``session expired; logged in again, <after_renewal>``,
    ``connection lost (…); retrying in N s``).
    """

    def __init__(
        self,
        t: Transport,
        root_collector: str,
        handler: UpdateHandler,
        *,
        reconnect: Reconnect,
        status: Callable[[str], None],
        after_renewal: str = "re-syncing",
    ) -> None:
        self.t = t
        self.root_collector = root_collector
        self.handler = handler
        self.reconnect = reconnect
        self.status = status
        self.after_renewal = after_renewal
        self.answers = 0  # WaitForUpdatesEx answers (empty ones included)
        self.current: Collector | None = None

    async def run(self) -> None:
        """Serve lives until the handler stops; the current life is destroyed however it ends."""
        outages = 0  # in a row: an answered long-poll since the previous outage resets it
        answered = self.answers
        while True:
            pc = self.current = Collector(self.t, self.root_collector)
            try:
                await self._serve(pc)
                return
            except SessionRenewed:
                pc.forget()  # its collector, filters and views died with the old session
                self.status(f"session expired; logged in again, {self.after_renewal}")
            except RECOVERABLE as e:
                await pc.destroy()
                if self.answers > answered:
                    outages = 0
                answered = self.answers
                delay = self.reconnect.delay(outages)
                if delay is None:
                    raise
                outages += 1
                self.status(f"connection lost ({e}); retrying in {delay:g} s")
                await asyncio.sleep(delay)
            finally:
                # stopped (handler, cancellation) or a fatal error: release the server objects
                await pc.destroy()

    async def _serve(self, pc: Collector) -> None:
        await self.handler.setup(pc)
        version = ""
        while (max_wait := await self.handler.next_wait(pc)) is not None:
            asked = time.monotonic()
            update_set = await pc.wait(version, max_wait)
            self.answers += 1
            if update_set is None:
                await pace(asked, max_wait)
                continue
            version = str(update_set.get("version", version))
            await self.handler.on_updates(update_set)

    async def close(self) -> None:
        """Destroy the current life's server objects (when ``run`` could not)."""
        if self.current is not None:
            await self.current.destroy()


async def pace(asked: float, max_wait: float) -> None:
    """After an empty long-poll answer: if it came back much sooner than ``maxWaitSeconds``
    (a server or proxy that does not hold the request), wait a second instead of spinning."""
    if time.monotonic() - asked < min(1.0, max_wait / 2):
        await asyncio.sleep(1.0)
