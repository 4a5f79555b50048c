"""Start the guest network on matching VMs as they appear: the engine of ``guestnet watch``.

One live VM stream (``watch_vms``: a ContainerView filter and its WaitForUpdatesEx loop) drives
everything: a VM that matches the patterns and is ready (poweredOn, tools running, guest operations
ready) is started once it has stayed ready for ``settle`` seconds. Every start goes through one
open-ended ``GuestNetworkRun`` (one PropertyCollector, one task long-poll loop, bounded
concurrency), and every success is verified from the same VM stream (``Verifier``).

The ledger makes it idempotent across restarts: a VM is written down (durably) *before* its
StartGuestNetwork_Task call; a VM whose record says it succeeded is never started again; a VM
whose last attempt is open (the watcher died before the task ended) is looked up in vCenter and
its task adopted, never called blindly again; a failed VM is retried ``retries`` times, with
backoff. Nothing polls per VM.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from tui.vsphere.eligibility import check as eligibility
from tui.vsphere.errors import GuestnetError
from tui.vsphere.match import matches_any
from tui.vsphere.models import VM, Fault, GuestCredentials, TaskEvent, VMBatch
from tui.vsphere.verify import Verdict, Verifier

log = logging.getLogger("tui.vsphere")

# vCenter lists a VM's tasks in recentTask for a while after they end; an open ledger record
# older than this whose task vCenter no longer lists has an unknown fate (never called again).
RECENT_TASK_WINDOW = 600.0
CLOCK_SLACK = 120.0  # the ledger's clock vs the server's, when looking an adopted task up


@dataclass(frozen=True, slots=True)
class WatchRules:
    patterns: tuple[str, ...]
    root: str | None = None
    settle: float = 10.0
    concurrency: int = 8
    retries: int = 2
    backoff: tuple[float, ...] = (30.0, 60.0, 120.0)
    verify_timeout: float = 60.0
    skip_existing: bool = False


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One line of ``guestnet watch`` output.

    ``kind``: status, waiting, settling, started, succeeded, failed, verified, not-verified,
    unverified (no verdict possible), gave-up, adopted, unknown, skipped, stopped.
    """

    kind: str
    vm: VM | None = None
    message: str = ""
    task: str | None = None
    fault: Fault | None = None
    verdict: Verdict | None = None
    attempt: int = 0
    time: datetime = dataclasses.field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "time": self.time.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "event": self.kind,
            "vm": self.vm.name if self.vm else None,
            "moid": self.vm.moid if self.vm else None,
            "task": self.task,
            "attempt": self.attempt or None,
            "message": self.message,
        }
        if self.fault is not None:
            d["fault_type"] = self.fault.type_name
            d["fault_message"] = self.fault.message
        if self.verdict is not None:
            d.update(self.verdict.to_json())
        return d


class LedgerEntryLike(Protocol):
    attempts: int
    failures: int
    open: bool
    task: str | None
    dispatched_at: float | None
    last_time: float
    before: dict[str, Any]

    @property
    def settled(self) -> bool: ...


class LedgerLike(Protocol):
    def get(self, vm: VM) -> LedgerEntryLike | None: ...
    def dispatch_all(self, items: Sequence[tuple[VM, Mapping[str, Any]]]) -> Any: ...
    def task(self, vm: VM, task: str) -> Any: ...
    def done(self, vm: VM, outcome: str, task: str | None = None, **detail: Any) -> Any: ...


class StreamLike(Protocol):
    def __aiter__(self) -> AsyncIterator[VMBatch]: ...
    async def aclose(self) -> None: ...


class RunLike(Protocol):
    def add(self, vms: Sequence[VM]) -> None: ...
    def adopt(self, vm: VM, task: str) -> None: ...
    def close_input(self) -> None: ...
    def __aiter__(self) -> AsyncIterator[TaskEvent]: ...
    async def aclose(self) -> None: ...


class ClientLike(Protocol):
    def watch_vms(
        self, root: str | None = None, on_status: Callable[[str], None] | None = None
    ) -> StreamLike: ...
    def start_guest_network(
        self, vms: Sequence[VM], creds: GuestCredentials, concurrency: int = 8, *, open: bool
    ) -> RunLike: ...
    async def find_start_task(self, vm_moid: str, not_before: datetime) -> str | None: ...


class AutoStarter:
    """``async with AutoStarter(...) as w: async for event in w: ...`` — runs until closed."""

    def __init__(
        self,
        client: ClientLike,
        creds: GuestCredentials,
        rules: WatchRules,
        ledger: LedgerLike,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.creds = creds
        self.rules = rules
        self.ledger = ledger
        self.verifier = Verifier(timeout=rules.verify_timeout, clock=clock)
        self._clock = clock
        self._wall = wall
        self._events: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._due: dict[str, float] = {}  # moid → when to start it (clock)
        self._active: dict[str, VM] = {}  # moid → the VM as dispatched (task not final yet)
        self._adopting: set[str] = set()
        self._noted: dict[str, str] = {}  # moid → the last waiting/gave-up line said about it
        self._wake = asyncio.Event()
        self._run: RunLike | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._side: set[asyncio.Task[None]] = set()  # verifications and adoptions
        self._seen_first = False
        self.counts: dict[str, int] = {}

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> AutoStarter:
        self._loops = [
            asyncio.create_task(self._watch_loop(), name="watch-vms"),
            asyncio.create_task(self._schedule_loop(), name="watch-schedule"),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AutoStarter:
        return self

    async def __anext__(self) -> WatchEvent:
        ev = await self._events.get()
        if ev is None:
            self._events.put_nowait(None)
            raise StopAsyncIteration
        return ev

    @property
    def running(self) -> list[VM]:
        """VMs whose task was dispatched and has not ended (they keep running in vCenter)."""
        return list(self._active.values())

    async def aclose(self) -> None:
        """Stop watching and dispatching. Tasks already created keep running in vCenter; their
        ledger records stay open, so the next watcher adopts them."""
        for t in [*self._loops, *self._side]:
            t.cancel()
        await asyncio.gather(*self._loops, *self._side, return_exceptions=True)
        self._loops.clear()
        self._side.clear()
        if self._run is not None:
            run, self._run = self._run, None
            await run.aclose()
        self._events.put_nowait(None)

    # ---------------------------------------------------------------- events

    def _emit(self, kind: str, vm: VM | None = None, message: str = "", **kw: Any) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self._events.put_nowait(WatchEvent(kind, vm, message, **kw))

    def _note(self, vm: VM, kind: str, message: str) -> None:
        """Say ``message`` about ``vm`` unless it is what was said last."""
        if self._noted.get(vm.moid) != message:
            self._noted[vm.moid] = message
            self._emit(kind, vm, message)

    def _spawn(self, coro: Any) -> None:
        t = asyncio.create_task(coro)
        self._side.add(t)
        t.add_done_callback(self._side_done)

    def _side_done(self, t: asyncio.Task[None]) -> None:
        self._side.discard(t)
        if not t.cancelled() and t.exception() is not None:
            self._fatal(t.exception())

    def _fatal(self, exc: BaseException | None) -> None:
        log.error("watch stopped: %r", exc)
        msg = str(exc) if isinstance(exc, GuestnetError) else f"internal error ({exc!r})"
        self._emit("stopped", message=msg)
        self._events.put_nowait(None)

    # ---------------------------------------------------------------- the VM stream

    async def _watch_loop(self) -> None:
        stream = self.client.watch_vms(self.rules.root, on_status=self._status)
        try:
            async for batch in stream:
                self.verifier.feed(batch)
                existing = batch.resync and not self._seen_first
                for c in batch.changes:
                    if c.vm is None:
                        self._due.pop(c.moid, None)
                    else:
                        self._consider(c.vm, existing=existing)
                if batch.resync:
                    self._seen_first = True
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            self.verifier.stop(str(e))
            self._fatal(e)
        finally:
            # its view, filter, collector and pending long-poll go with it, not at logout
            with contextlib.suppress(Exception):
                await asyncio.shield(stream.aclose())

    def _status(self, message: str) -> None:
        self._emit("status", message=message)

    def _consider(self, vm: VM, *, existing: bool = False) -> None:
        """Decide what a VM's new state means: nothing, wait, settle, adopt or give up."""
        moid = vm.moid
        if not matches_any(vm, self.rules.patterns):
            self._due.pop(moid, None)
            return
        if moid in self._active or moid in self._adopting:
            return
        entry = self.ledger.get(vm)
        if entry is None and existing and self.rules.skip_existing:
            self.ledger.done(vm, "skipped", reason="present when the watch began")
            self._emit("skipped", vm, "present when the watch began (--skip-existing)")
            return
        if entry is not None and entry.settled:
            return
        if entry is not None and entry.open:
            self._adopting.add(moid)
            self._spawn(self._adopt(vm, entry))
            return
        if entry is not None and entry.failures > self.rules.retries:
            self._note(vm, "gave-up", f"failed {entry.failures} times; not retried")
            return
        blocker = eligibility(vm)
        if blocker is not None:
            if self._due.pop(moid, None) is not None or moid not in self._noted:
                self._note(vm, "waiting", blocker.reason)
            return
        if moid not in self._due:
            delay = self._delay(entry)
            self._due[moid] = self._clock() + delay
            self._note(vm, "settling", f"ready; starting in {delay:g} s")

    def _delay(self, entry: LedgerEntryLike | None) -> float:
        if entry is None or entry.failures == 0:
            return self.rules.settle
        backoff = self.rules.backoff[min(entry.failures, len(self.rules.backoff)) - 1]
        since = self._wall() - entry.last_time
        return max(self.rules.settle, round(backoff - since, 1))

    # ---------------------------------------------------------------- dispatch

    async def _schedule_loop(self) -> None:
        while True:
            now = self._clock()
            ready = [m for m, t in self._due.items() if t <= now]
            batch: list[VM] = []
            for moid in ready:
                del self._due[moid]
                vm = self.verifier.book.vms.get(moid)
                if vm is not None and self._still_due(vm):
                    batch.append(vm)
            if batch:
                self._dispatch(batch)
            nxt = min(self._due.values(), default=None)
            self._wake.clear()
            timeout = None if nxt is None else max(0.0, nxt - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _still_due(self, vm: VM) -> bool:
        entry = self.ledger.get(vm)
        if entry is not None and (entry.settled or entry.open):
            return False
        return matches_any(vm, self.rules.patterns) and eligibility(vm) is None

    def _dispatch(self, vms: list[VM]) -> None:
        self.ledger.dispatch_all(
            [
                (vm, {"ip_before": vm.ip_address, "mac_before": next(iter(vm.mac_addresses), None)})
                for vm in vms
            ]
        )
        for vm in vms:
            self._active[vm.moid] = vm
            self._noted.pop(vm.moid, None)
        self._ensure_run().add(vms)

    def _ensure_run(self) -> RunLike:
        if self._run is None:
            self._run = self.client.start_guest_network(
                [], self.creds, self.rules.concurrency, open=True
            )
            self._spawn(self._pump(self._run))
        return self._run

    async def _pump(self, run: RunLike) -> None:
        async for ev in run:
            vm = self._active.get(ev.vm_moid)
            if vm is None:
                continue
            if ev.state == "started" and ev.task:
                self.ledger.task(vm, ev.task)
                self._emit("started", vm, f"task {ev.task}", task=ev.task, attempt=ev.attempt)
            elif ev.final:
                self._ended(vm, ev)

    def _ended(self, vm: VM, ev: TaskEvent) -> None:
        """A task of ``vm`` reached a final state (from the run, or adopted)."""
        self._active.pop(vm.moid, None)
        if ev.state == "succeeded":
            self.ledger.done(vm, "success", ev.task)
            self._emit("succeeded", vm, f"task {ev.task} succeeded", task=ev.task)
            self._spawn(self._verify(vm, ev.task))
            return
        if ev.state == "cancelled":
            self.ledger.done(vm, "cancelled", ev.task)
            self._emit("failed", vm, "cancelled in vCenter; not retried", task=ev.task)
            return
        fault = ev.fault
        self.ledger.done(vm, "error", ev.task, fault_type=fault.type_name if fault else None)
        entry = self.ledger.get(vm)
        failures = entry.failures if entry is not None else 1
        what = f"{fault.type_name}: {fault.message}" if fault else "failed"
        if failures > self.rules.retries:
            self._emit("failed", vm, f"{what}; gave up after {failures}", task=ev.task, fault=fault)
        else:
            self._emit(
                "failed",
                vm,
                f"{what}; retry {failures}/{self.rules.retries} in {self._delay(entry):g} s",
                task=ev.task,
                fault=fault,
            )
        current = self.verifier.book.vms.get(vm.moid)
        if current is not None:
            self._consider(current)
            self._wake.set()

    async def _verify(self, before: VM, task: str | None) -> None:
        verdict = await self.verifier.verify(before)
        kind = {True: "verified", False: "not-verified", None: "unverified"}[verdict.verified]
        self._emit(kind, before, verdict.reason, task=task, verdict=verdict)

    # ---------------------------------------------------------------- adoption

    async def _adopt(self, vm: VM, entry: LedgerEntryLike) -> None:
        """An earlier watcher dispatched ``vm`` and died before its task ended: find the task."""
        try:
            task = entry.task
            if task is None and entry.dispatched_at is not None:
                since = datetime.fromtimestamp(entry.dispatched_at - CLOCK_SLACK, UTC)
                task = await self.client.find_start_task(vm.moid, since)
            before = dataclasses.replace(
                vm,
                ip_address=entry.before.get("ip_before"),
                ip_addresses=(),
                mac_addresses=tuple(filter(None, [entry.before.get("mac_before")])),
            )
            if task is not None:
                self._active[vm.moid] = before
                self._emit("adopted", vm, f"task {task} of an earlier watcher", task=task)
                self._ensure_run().adopt(vm, task)
                return
            age = self._wall() - (entry.dispatched_at or 0.0)
            if age > RECENT_TASK_WINDOW:
                reason = (
                    f"an earlier watcher started it {age / 60:.0f} min ago and vCenter no longer "
                    "lists the task: not started again; check the VM"
                )
                self.ledger.done(vm, "unknown", reason=reason)
                self._emit("unknown", vm, reason)
                return
            self.ledger.done(vm, "not-sent", reason="vCenter has no task for the earlier call")
        finally:
            self._adopting.discard(vm.moid)
        current = self.verifier.book.vms.get(vm.moid)
        if current is not None:
            self._consider(current)
            self._wake.set()
