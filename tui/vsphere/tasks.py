"""Guest network runs: bounded-concurrency StartGuestNetwork_Task dispatch + task tracking.

Tracking design (request-frugal, one long-poll loop):

- A run owns ONE PropertyCollector (``CreatePropertyCollector``) and ONE WaitForUpdatesEx loop.
- The API cannot add an object to an existing filter, so tasks are added per *dispatch wave*:
  the tasks created since the last wave (collected for ``batch_window`` seconds) get one new
  PropertyFilter on that collector. 1,000 starts make a few dozen filters, not 1,000.
- While tasks are still being dispatched, the long-poll uses a short ``maxWaitSeconds``
  (``dispatch_poll``) so that new waves join quickly; afterwards it waits up to ``max_wait``.
  After each answer the loop pauses ``coalesce`` seconds so progress updates of many tasks
  arrive in one UpdateSet instead of one long-poll each.
- Session expiry: the collector and its filters die with the session. The loop logs in again,
  creates a new collector and one filter over every unfinished task, and starts again from
  version ``""`` (the first answer carries every task's current state).
- StartGuestNetwork_Task is never replayed blindly: when its reply is lost (expired session,
  timeout, dropped connection, proxy error), the client reads the VM's ``recentTask`` and adopts
  the task its call created, whatever its state: a StartGuestNetwork task with reason
  TaskReasonUser of this session's user and a ``queueTime`` not earlier than the moment the call
  was sent (server time, from the clock offset measured once per run with
  ``ServiceInstance.CurrentTime``, minus a margin). Only when no such task exists does it call
  again. A server that cannot tell its time gets the older rule: adopt a queued/running start
  task, and never call again after a timeout.

The guest password exists only in ``GuestCredentials.password`` (a Secret) and in the request
body built right before each call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tui.vsphere.errors import (
    BadResponse,
    ConnectError,
    GuestnetError,
    RequestTimeout,
    TLSVerifyError,
    TransportError,
    VimFault,
)
from tui.vsphere.models import VM, Fault, GuestCredentials, TaskEvent, TaskState
from tui.vsphere.transport import SessionRenewed, Transport
from tui.vsphere.updates import _pace, apply_changes
from tui.vsphere.wire import decode_fault, mor, parse_time, ref_value

if TYPE_CHECKING:
    from tui.vsphere.client import Client

log = logging.getLogger("tui.vsphere")

TASK_PATHS = (
    "info.state",
    "info.progress",
    "info.error",
    "info.queueTime",
    "info.startTime",
    "info.completeTime",
    "info.cancelable",
)
GCM_TYPE = "VirtualMachineGuestCustomizationManager"
START_METHOD = "StartGuestNetwork_Task"
# a task of ours may show a queueTime this much before the moment we sent the call (server time)
QUEUE_TIME_MARGIN = 1.0


def guest_auth(creds: GuestCredentials) -> dict[str, Any]:
    """NamePasswordAuthentication: ``username`` in lower case; never an interactive session."""
    return {
        "_typeName": "NamePasswordAuthentication",
        "interactiveSession": False,
        "username": creds.username,
        "password": creds.password.reveal(),
    }


def error_fault(e: GuestnetError) -> Fault:
    """A Fault for an error that is not a vSphere fault (transport problems)."""
    if isinstance(e, VimFault):
        return e.fault
    return Fault(type_name=type(e).__name__, message=str(e))


def task_state(props: Mapping[str, Any]) -> tuple[TaskState | None, Fault | None]:
    state = props.get("info.state")
    if state == "queued":
        return "queued", None
    if state == "running":
        return "running", None
    if state == "success":
        return "succeeded", None
    if state == "error":
        err = props.get("info.error")
        fault = decode_fault(err) if isinstance(err, dict) else Fault("MethodFault", "task failed")
        if any(f.type_name == "RequestCanceled" for f in fault.chain()):
            return "cancelled", fault
        return "failed", fault
    return None, None


def task_event(
    vm_moid: str,
    vm_name: str,
    state: TaskState,
    task: str | None,
    props: Mapping[str, Any],
    *,
    fault: Fault | None = None,
    attempt: int = 1,
) -> TaskEvent:
    """A TaskEvent from a task's tracked ``info.*`` values."""
    progress = props.get("info.progress")
    return TaskEvent(
        vm_moid=vm_moid,
        vm_name=vm_name,
        state=state,
        task=task,
        progress=progress if isinstance(progress, int) else None,
        fault=fault,
        queue_time=parse_time(props.get("info.queueTime")),
        start_time=parse_time(props.get("info.startTime")),
        complete_time=parse_time(props.get("info.completeTime")),
        cancelable=props.get("info.cancelable") is True,
        attempt=attempt,
    )


def _task_filter_spec(tasks: Sequence[str]) -> dict[str, Any]:
    return {
        "_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": "Task", "pathSet": list(TASK_PATHS)}],
        "objectSet": [
            {"_typeName": "ObjectSpec", "obj": mor("Task", t), "skip": False} for t in tasks
        ],
    }


class TaskTracker:
    """Tracks a changing set of tasks through one PropertyCollector and one long-poll loop."""

    def __init__(
        self,
        t: Transport,
        root_collector: str,
        on_update: Callable[[str, dict[str, Any]], None],
        is_done: Callable[[], bool],
        *,
        max_wait: int = 30,
        dispatch_poll: int = 1,
        coalesce: float = 0.2,
        batch_window: float = 0.1,
        reconnect_delays: Sequence[float] = (1.0, 2.0, 4.0, 8.0, 15.0),
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        self.t = t
        self.root_collector = root_collector
        self.on_update = on_update
        self.is_done = is_done
        self.max_wait = max_wait
        self.dispatch_poll = dispatch_poll
        self.coalesce = coalesce
        self.batch_window = batch_window
        self.reconnect_delays = tuple(reconnect_delays)
        self.on_status = on_status
        self.dispatching = False
        self.props: dict[str, dict[str, Any]] = {}  # task moid -> tracked info.* values
        self._unfiltered: list[str] = []
        self._wake = asyncio.Event()
        self.collector: str | None = None
        self.scope = t.session_gen  # session generation of the collector and its filters
        self.filters: list[str] = []
        self._waiting = False
        self.waits = 0
        self.filters_created = 0

    def add(self, task: str) -> None:
        if task not in self.props:
            self.props[task] = {}
            self._unfiltered.append(task)
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def _status(self, msg: str) -> None:
        log.info("tasks: %s", msg)
        if self.on_status is not None:
            try:
                self.on_status(msg)
            except Exception:
                log.exception("on_status callback failed")

    async def run(self) -> None:
        failures = 0  # consecutive: a long-poll answer since the previous failure resets it
        answered = self.waits
        while not self.is_done():
            try:
                await self._serve()
                return
            except SessionRenewed:
                self._forget_server_objects()
                self._status("session expired; logged in again, re-creating the task filter")
            except (ConnectError, BadResponse, RequestTimeout) as e:
                await self._teardown()
                self._forget_server_objects()
                if self.waits > answered:
                    failures = 0
                answered = self.waits
                if failures >= len(self.reconnect_delays):
                    raise
                delay = self.reconnect_delays[failures]
                failures += 1
                self._status(f"connection lost ({e}); retrying in {delay:g} s")
                await asyncio.sleep(delay)

    def _forget_server_objects(self) -> None:
        self.collector = None
        self.filters = []
        self._waiting = False
        # every task not yet final must be re-added to the next collector
        self._unfiltered = [t for t, p in self.props.items() if not _final(p)]

    async def _serve(self) -> None:
        version = ""
        while not self.is_done():
            if self._unfiltered:
                if self.dispatching and self.batch_window > 0:
                    await asyncio.sleep(self.batch_window)  # let the wave grow
                await self._add_filter()
            if not self.filters:
                self._wake.clear()
                if self.is_done():
                    return
                await self._wake.wait()
                continue
            wait = self.dispatch_poll if self.dispatching else self.max_wait
            assert self.collector is not None
            self._waiting = True
            asked = time.monotonic()
            us = await self.t.invoke(
                "PropertyCollector",
                self.collector,
                "WaitForUpdatesEx",
                {
                    "version": version,
                    "options": {"_typeName": "WaitOptions", "maxWaitSeconds": wait},
                },
                auth="raise",
                timeout_s=wait + self.t.timeout,
                scope=self.scope,
            )
            self._waiting = False
            self.waits += 1
            if us is None:
                await _pace(asked, wait)
                continue
            version = str(us.get("version", version))
            for fu in us.get("filterSet") or ():
                for ou in fu.get("objectSet") or ():
                    obj = ou.get("obj") or {}
                    task = obj.get("value")
                    if task not in self.props or ou.get("kind") == "leave":
                        continue
                    props = self.props[task]
                    if apply_changes(props, ou.get("changeSet") or ()):
                        self.on_update(task, props)
            if not us.get("truncated") and self.coalesce > 0 and not self.is_done():
                await asyncio.sleep(self.coalesce)

    async def _add_filter(self) -> None:
        if self.collector is None:
            self.scope = self.t.session_gen
            ref = await self.t.invoke(
                "PropertyCollector",
                self.root_collector,
                "CreatePropertyCollector",
                auth="raise",
                scope=self.scope,
            )
            self.collector = ref_value(ref, "CreatePropertyCollector")
        batch, self._unfiltered = self._unfiltered, []
        try:
            ref = await self.t.invoke(
                "PropertyCollector",
                self.collector,
                "CreateFilter",
                {"spec": _task_filter_spec(batch), "partialUpdates": False},
                auth="raise",
                scope=self.scope,
            )
        except BaseException:
            self._unfiltered = batch + self._unfiltered
            raise
        self.filters.append(ref_value(ref, "CreateFilter"))
        self.filters_created += 1

    async def _teardown(self) -> None:
        steps: list[tuple[str, str, str]] = []
        if self.collector is not None and self._waiting:
            steps.append(("PropertyCollector", self.collector, "CancelWaitForUpdates"))
        steps += [("PropertyFilter", f, "DestroyPropertyFilter") for f in self.filters]
        if self.collector is not None:
            steps.append(("PropertyCollector", self.collector, "DestroyPropertyCollector"))
        self.filters = []
        self.collector = None
        self._waiting = False
        for mo_type, moid, method in steps:
            try:
                await self.t.invoke(mo_type, moid, method, auth="none", timeout_s=5.0)
            except GuestnetError as e:
                log.debug("%s %s failed: %s", method, moid, e)
                if isinstance(e, TransportError):
                    return

    async def close(self) -> None:
        await self._teardown()


def _final(props: Mapping[str, Any]) -> bool:
    return props.get("info.state") in ("success", "error")


@dataclass(slots=True)
class _VMState:
    vm: VM
    attempt: int = 1
    task: str | None = None
    final: bool = False
    in_flight: bool = False
    sent_at: float | None = None  # time.monotonic() when the latest start call was sent
    cancel_requested: bool = False
    last: tuple[Any, ...] | None = None
    events: list[TaskEvent] = field(default_factory=list)


class GuestNetworkRun:
    """Async iterator of TaskEvent for one bulk StartGuestNetwork_Task run.

    Starts on first iteration (or ``await run`` / ``async with run``). Every VM gets a
    ``pending`` event, then ``started`` (with the task), ``queued``/``running`` (+progress), and
    one final ``succeeded`` / ``failed`` (with the fault) / ``cancelled``.
    """

    def __init__(
        self,
        client: Client,
        vms: Sequence[VM],
        creds: GuestCredentials,
        concurrency: int = 8,
        *,
        max_attempts: int = 5,
        retry_delays: Sequence[float] = (2.0, 4.0, 8.0, 15.0),
        max_wait: int = 30,
        dispatch_poll: int = 1,
        coalesce: float = 0.2,
        batch_window: float = 0.1,
        on_status: Callable[[str], None] | None = None,
        reconnect_delays: Sequence[float] = (1.0, 2.0, 4.0, 8.0, 15.0),
    ) -> None:
        if not isinstance(creds, GuestCredentials):
            raise TypeError("creds must be GuestCredentials")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if client.guest_customization_manager is None:
            raise GuestnetError(
                f"{client.host} has no guest customization manager "
                "(StartGuestNetwork_Task needs vCenter 8.0U1 or later)"
            )
        self._client = client
        self._t = client.transport
        self._creds = creds
        self._gcm: str = client.guest_customization_manager
        self.concurrency = concurrency
        self.max_attempts = max(1, max_attempts)
        self.retry_delays = tuple(retry_delays) or (1.0,)
        self._states: dict[str, _VMState] = {}
        for vm in vms:
            self._states.setdefault(vm.moid, _VMState(vm))
        self._queue: deque[str] = deque(self._states)
        self._task_vm: dict[str, str] = {}
        self._events: asyncio.Queue[TaskEvent | None] = asyncio.Queue()
        self._driver: asyncio.Task[None] | None = None
        self._cancels: set[asyncio.Task[None]] = set()  # CancelTask calls for late-created tasks
        self._error: BaseException | None = None
        self._finished = False
        self._active_starts = 0
        self.max_active_starts = 0  # observed peak of concurrent StartGuestNetwork_Task calls
        # (server time, time.monotonic() it corresponds to, uncertainty in s); None: unknown
        self._server_clock: tuple[datetime, float, float] | None = None
        self.tracker = TaskTracker(
            self._t,
            client.property_collector,
            self._on_task_update,
            self._all_final,
            max_wait=max_wait,
            dispatch_poll=dispatch_poll,
            coalesce=coalesce,
            batch_window=batch_window,
            reconnect_delays=reconnect_delays,
            on_status=on_status,
        )

    # ------------------------------------------------------------------ public API

    def __aiter__(self) -> GuestNetworkRun:
        return self

    async def __anext__(self) -> TaskEvent:
        self._ensure_started()
        ev = await self._events.get()
        if ev is None:
            self._events.put_nowait(None)  # stay exhausted
            if self._driver is not None and self._driver is not asyncio.current_task():
                (outcome,) = await asyncio.gather(self._driver, return_exceptions=True)
                if isinstance(outcome, Exception):
                    raise outcome  # a bug, not a vSphere answer: do not swallow it
            raise StopAsyncIteration
        return ev

    def __await__(self) -> Generator[Any, None, GuestNetworkRun]:
        async def _start() -> GuestNetworkRun:
            self._ensure_started()
            return self

        return _start().__await__()

    async def __aenter__(self) -> GuestNetworkRun:
        self._ensure_started()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def vm_moids(self) -> list[str]:
        return list(self._states)

    def events_of(self, vm_moid: str) -> list[TaskEvent]:
        return list(self._states[vm_moid].events)

    async def cancel(self, vm_moid: str) -> bool:
        """Cancel one VM: drop it if not dispatched yet, else CancelTask (when cancelable).

        Returns False when the VM already finished.
        """
        st = self._states.get(vm_moid)
        if st is None:
            raise GuestnetError(f"{vm_moid} is not part of this run")
        if st.final:
            return False
        if st.task is None:
            if st.in_flight:
                st.cancel_requested = True  # decided when the start call returns
            else:
                self._finish(st, "cancelled")
            return True
        props = self.tracker.props.get(st.task, {})
        if props.get("info.cancelable") is False:
            raise GuestnetError(
                f"{st.task} on {st.vm.name} cannot be cancelled: vCenter marks it not cancelable"
            )
        st.cancel_requested = True
        await self._client.cancel_task(st.task)
        return True

    async def cancel_queued(self) -> int:
        """Cancel every VM whose task has not been created yet; returns how many."""
        n = 0
        for st in self._states.values():
            if not st.final and st.task is None:
                if st.in_flight:
                    st.cancel_requested = True
                else:
                    self._finish(st, "cancelled")
                n += 1
        return n

    async def aclose(self) -> None:
        """Stop dispatching and tracking (tasks already created keep running in vCenter)."""
        if self._driver is not None and not self._driver.done():
            self._driver.cancel()
            try:
                await self._driver
            except asyncio.CancelledError:
                pass
        self._client._forget(self)

    async def wait(self) -> list[TaskEvent]:
        """Run to the end; returns the final event of every VM."""
        async for _ in self:
            pass
        return [st.events[-1] for st in self._states.values() if st.events]

    # ------------------------------------------------------------------ internals

    def _ensure_started(self) -> None:
        if self._driver is None:
            self._driver = asyncio.get_running_loop().create_task(self._drive())

    def _all_final(self) -> bool:
        return not self.tracker.dispatching and all(st.final for st in self._states.values())

    def _emit(
        self,
        st: _VMState,
        state: TaskState,
        *,
        fault: Fault | None = None,
        props: Mapping[str, Any] | None = None,
    ) -> None:
        p = props or {}
        key = (
            state,
            st.task,
            p.get("info.progress"),
            st.attempt,
            fault.type_name if fault else None,
        )
        if key == st.last:
            return
        st.last = key
        ev = task_event(st.vm.moid, st.vm.name, state, st.task, p, fault=fault, attempt=st.attempt)
        st.events.append(ev)
        self._events.put_nowait(ev)

    def _finish(
        self,
        st: _VMState,
        state: TaskState,
        *,
        fault: Fault | None = None,
        props: Mapping[str, Any] | None = None,
    ) -> None:
        if st.final:
            return
        st.final = True
        self._emit(st, state, fault=fault, props=props)
        self.tracker.wake()

    def _on_task_update(self, task: str, props: dict[str, Any]) -> None:
        vm_moid = self._task_vm.get(task)
        if vm_moid is None:
            return
        st = self._states[vm_moid]
        if st.final or st.task != task:
            return
        state, fault = task_state(props)
        if state is None:
            return
        if state in ("succeeded", "failed", "cancelled"):
            self._finish(st, state, fault=fault, props=props)
        else:
            self._emit(st, state, props=props)

    async def _drive(self) -> None:
        tracker_task: asyncio.Task[None] | None = None
        workers: list[asyncio.Task[None]] = []
        try:
            for st in self._states.values():
                self._emit(st, "pending")
            await self._measure_server_clock()
            self.tracker.dispatching = True
            tracker_task = asyncio.create_task(self.tracker.run())
            n = min(self.concurrency, len(self._queue)) or 1
            workers = [asyncio.create_task(self._worker()) for _ in range(n)]
            pending: set[asyncio.Task[None]] = {*workers, tracker_task}
            while not all(w.done() for w in workers):
                done, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
                for d in done:
                    if not d.cancelled() and d.exception() is not None:
                        raise d.exception()  # type: ignore[misc]
            self.tracker.dispatching = False
            self.tracker.wake()
            await tracker_task
        except GuestnetError as e:
            self._error = e
            fault = error_fault(e)
            for st in self._states.values():
                self._finish(st, "failed", fault=fault)
        finally:
            self.tracker.dispatching = False
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if tracker_task is not None and not tracker_task.done():
                tracker_task.cancel()
                await asyncio.gather(tracker_task, return_exceptions=True)
            await self.tracker.close()
            self._finished = True
            self._events.put_nowait(None)
            self._client._forget(self)

    async def _worker(self) -> None:
        while self._queue:
            moid = self._queue.popleft()
            st = self._states[moid]
            if st.final:
                continue
            await self._start_one(st)

    async def _start_one(self, st: _VMState) -> None:
        """Create the VM's task: bounded retries for TaskInProgress and lost connections.

        After any answer that leaves open whether a task was created (expired session, timeout,
        lost connection, proxy error), the VM's recent tasks are checked before calling again.
        """
        relogins = 0
        check_first = False
        lost: GuestnetError | None = None
        while not st.final:
            if check_first:
                try:
                    if await self._adopt_task(st, lost):
                        return
                    check_first = False
                except TLSVerifyError:
                    raise
                except GuestnetError as e:  # still unreachable: wait and look again
                    if not await self._backoff(st, e):
                        return
                    continue
            task: str | None = None
            retry_in: float | None = None
            lost = None
            renewed = False
            st.in_flight = True
            self._active_starts += 1
            self.max_active_starts = max(self.max_active_starts, self._active_starts)
            st.sent_at = time.monotonic()
            try:
                ref = await self._t.invoke(
                    GCM_TYPE,
                    self._gcm,
                    START_METHOD,
                    {"vm": mor("VirtualMachine", st.vm.moid), "auth": guest_auth(self._creds)},
                    auth="raise",
                )
                task = ref_value(ref, START_METHOD)
            except SessionRenewed:
                renewed = True
            except VimFault as e:
                if st.cancel_requested:
                    self._finish(st, "cancelled", fault=e.fault)
                elif e.type_name == "TaskInProgress" and st.attempt < self.max_attempts:
                    self._emit(st, "pending", fault=e.fault)
                    retry_in = self._delay(st)
                else:
                    self._finish(st, "failed", fault=e.fault)
            except TLSVerifyError:
                raise  # fatal for the whole run
            except TransportError as e:  # timeout, lost connection, proxy error page
                lost = e
            finally:
                st.in_flight = False
                self._active_starts -= 1
            if task is not None:
                self._register(st, task)
                return
            if renewed:
                # Never replay blindly: the session was renewed, look for a task first.
                relogins += 1
                if relogins > 2:
                    self._finish(
                        st, "failed", fault=Fault("NotAuthenticated", "the session keeps expiring")
                    )
                    return
                check_first = True
                continue
            if lost is not None:
                check_first = True
                if isinstance(lost, RequestTimeout) or st.cancel_requested:
                    # one look for a task at once (it may exist although no reply came)
                    try:
                        if await self._adopt_task(st, lost):
                            return
                    except TLSVerifyError:
                        raise
                    except GuestnetError as e:
                        log.info("could not check %s for a task: %s", st.vm.name, e)
                    if st.cancel_requested or not self._can_identify_task:
                        # without the server's time a finished task of ours cannot be told from
                        # none: report the timeout rather than risk a second task
                        self._finish(
                            st,
                            "cancelled" if st.cancel_requested else "failed",
                            fault=error_fault(lost),
                        )
                        return
                # no task of ours (yet): wait, look again, and only then call again
                if not await self._backoff(st, lost):
                    return
                continue
            if retry_in is None:
                return
            await asyncio.sleep(retry_in)
            st.attempt += 1

    def _delay(self, st: _VMState) -> float:
        return self.retry_delays[min(st.attempt - 1, len(self.retry_delays) - 1)]

    async def _backoff(self, st: _VMState, e: GuestnetError) -> bool:
        """Wait before another attempt after a transport error; False (VM failed) when out."""
        if st.attempt >= self.max_attempts:
            self._finish(st, "failed", fault=error_fault(e))
            return False
        self._emit(st, "pending", fault=error_fault(e))
        await asyncio.sleep(self._delay(st))
        st.attempt += 1
        return not st.final

    def _register(self, st: _VMState, task: str) -> None:
        st.task = task
        self._task_vm[task] = st.vm.moid
        self._emit(st, "started")
        self.tracker.add(task)
        if st.cancel_requested:
            # the loop keeps only a weak reference to a task: hold it until it is done
            cancel = asyncio.get_running_loop().create_task(self._cancel_quietly(task))
            self._cancels.add(cancel)
            cancel.add_done_callback(self._cancels.discard)

    async def _cancel_quietly(self, task: str) -> None:
        try:
            await self._client.cancel_task(task)
        except GuestnetError as e:
            log.info("could not cancel %s: %s", task, e)

    async def _measure_server_clock(self) -> None:
        """One ``ServiceInstance.CurrentTime`` call: the server's time at a local monotonic instant.

        Any failure (or an unset answer) leaves the clock unknown; lost replies then fall back
        to adopting a queued/running start task.
        """
        before = time.monotonic()
        try:
            now = parse_time(
                await self._t.invoke("ServiceInstance", "ServiceInstance", "CurrentTime")
            )
        except GuestnetError as e:
            log.info("ServiceInstance.CurrentTime failed (%s); lost replies use the older rule", e)
            return
        after = time.monotonic()
        if now is None or now.tzinfo is None:
            log.info(
                "ServiceInstance.CurrentTime gave no usable time; lost replies use the older rule"
            )
            return
        self._server_clock = (now, (before + after) / 2, (after - before) / 2)

    @property
    def _can_identify_task(self) -> bool:
        """Whether a lost reply's task can be recognised in any state (user name + server time)."""
        return self._server_clock is not None and self._client.session_user is not None

    def _not_before(self, st: _VMState) -> datetime | None:
        """The earliest ``queueTime`` (server time) of a task created by the VM's latest call."""
        if self._server_clock is None or st.sent_at is None:
            return None
        server_now, mono, uncertainty = self._server_clock
        return server_now + timedelta(seconds=st.sent_at - mono - uncertainty - QUEUE_TIME_MARGIN)

    async def _adopt_task(self, st: _VMState, lost: GuestnetError | None) -> bool:
        """After a lost reply: adopt the start task our call created on the VM, if any.

        True when the VM is settled: its task adopted, or (a cancel having come in) no task and
        the VM cancelled. The look counts as in flight, so a ``cancel()`` meanwhile is decided
        by what it finds instead of ending the VM under a task about to be adopted.
        """
        st.in_flight = True
        try:
            task = await find_start_task(
                self._t,
                st.vm.moid,
                user=self._client.session_user,
                not_before=self._not_before(st),
            )
        finally:
            st.in_flight = False
        if task is not None:
            self._register(st, task)  # cancels it when a cancel came in
            return True
        if st.cancel_requested:
            self._finish(st, "cancelled", fault=error_fault(lost) if lost else None)
            return True
        return False


def is_our_start_task(
    info: Mapping[str, Any], user: str | None, not_before: datetime | None
) -> bool:
    """Whether a TaskInfo is the StartGuestNetwork task that a call of ``user`` created.

    With the session's user name and the call's server time: reason TaskReasonUser of that user
    and ``queueTime >= not_before``, in any state (it may have finished already). Without the
    time: a queued or running start task (of that user, when the user name is known).
    """
    name = f"{info.get('name', '')} {info.get('descriptionId', '')}"
    if "StartGuestNetwork" not in name and "startNetwork" not in name:
        return False
    if user is not None:
        reason = info.get("reason")
        if not isinstance(reason, dict) or reason.get("_typeName") != "TaskReasonUser":
            return False
        if str(reason.get("userName", "")).casefold() != user.casefold():
            return False
        if not_before is not None:
            queued = parse_time(info.get("queueTime"))
            return queued is not None and queued.tzinfo is not None and queued >= not_before
    return info.get("state") in ("queued", "running")


async def find_start_task(
    t: Transport,
    vm_moid: str,
    *,
    user: str | None = None,
    not_before: datetime | None = None,
) -> str | None:
    """The VM's start task created by our call (see ``is_our_start_task``), from ``recentTask``.

    A server that cannot answer (``recentTask`` not readable) yields None: no task is known.
    """
    try:
        recent = await t.get_property("VirtualMachine", vm_moid, "recentTask")
    except VimFault as e:
        log.info("cannot read recentTask of %s (%s); assuming no task was created", vm_moid, e)
        return None
    if isinstance(recent, dict):
        recent = recent.get("_value", [])
    for ref in recent or ():
        if not isinstance(ref, dict) or "value" not in ref:
            continue
        try:
            info = await t.get_property("Task", str(ref["value"]), "info")
        except VimFault:
            continue  # the task is gone
        if isinstance(info, dict) and is_our_start_task(info, user, not_before):
            return str(ref["value"])
    return None


async def wait_for_task(client: Client, task: str, *, max_wait: int = 30) -> dict[str, Any]:
    """Track one task (its own collector + filter) until it is final; returns its info.* values."""
    result: dict[str, Any] = {}

    def _update(_task: str, props: dict[str, Any]) -> None:
        result.clear()
        result.update(props)

    tracker = TaskTracker(
        client.transport,
        client.property_collector,
        _update,
        lambda: _final(result),
        max_wait=max_wait,
        coalesce=0,
        batch_window=0,
    )
    tracker.add(task)
    try:
        await tracker.run()
    finally:
        await tracker.close()
    return result
