"""Guest network runs: bounded-concurrency StartGuestNetwork_Task dispatch + task tracking.

- At most ``concurrency`` StartGuestNetwork_Task calls are in flight; TaskInProgress is retried
  with backoff (``retry_delays``, ``max_attempts``).
- All the run's tasks are tracked by ONE ``task.TaskTracker`` (one PropertyCollector, one
  WaitForUpdatesEx loop, a filter per dispatch wave; see tui/vsphere/task.py).
- A call whose reply was lost is never replayed blindly: the run measures the server clock once
  before dispatch and, after a lost reply, adopts the task the call created (lostreply.py);
  only when there is none does it call again.

The guest password exists only in ``GuestCredentials.password`` (a Secret) and in the request
body built right before each call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tui.vsphere.errors import (
    GuestnetError,
    RequestTimeout,
    TLSVerifyError,
    TransportError,
    VimFault,
)
from tui.vsphere.lostreply import ServerClock, find_start_task, measure_server_clock
from tui.vsphere.models import VM, Fault, GuestCredentials, TaskEvent, TaskState
from tui.vsphere.services import ServiceRefs
from tui.vsphere.task import TaskTracker, error_fault, task_event, task_state
from tui.vsphere.transport import SESSION_KEEPS_EXPIRING, SessionRenewed, Transport
from tui.vsphere.wire import mor, ref_value

log = logging.getLogger("tui.vsphere")

GCM_TYPE = "VirtualMachineGuestCustomizationManager"
START_METHOD = "StartGuestNetwork_Task"


def guest_auth(creds: GuestCredentials) -> dict[str, Any]:
    """NamePasswordAuthentication: ``username`` in lower case; never an interactive session."""
    return {
        "_typeName": "NamePasswordAuthentication",
        "interactiveSession": False,
        "username": creds.username,
        "password": creds.password.reveal(),
    }


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


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one StartGuestNetwork_Task call came back with (all unset: the VM is decided)."""

    task: str | None = None
    renewed: bool = False  # the session expired (and was renewed) during the call
    lost: TransportError | None = None  # no answer: a task may or may not exist
    retry_in: float | None = None  # TaskInProgress: call again after this delay


class GuestNetworkRun:
    """Async iterator of TaskEvent for one bulk StartGuestNetwork_Task run.

    Starts on first iteration (or ``await run`` / ``async with run``). Every VM gets a
    ``pending`` event, then ``started`` (with the task), ``queued``/``running`` (+progress), and
    one final ``succeeded`` / ``failed`` (with the fault) / ``cancelled``.
    """

    def __init__(
        self,
        t: Transport,
        refs: ServiceRefs,
        vms: Sequence[VM],
        creds: GuestCredentials,
        concurrency: int = 8,
        *,
        cancel_task: Callable[[str], Awaitable[None]],
        on_close: Callable[[GuestNetworkRun], None] | None = None,
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
        if refs.guest_customization_manager is None:
            raise GuestnetError(
                f"{refs.host} has no guest customization manager "
                "(StartGuestNetwork_Task needs vCenter 8.0U1 or later)"
            )
        self._t = t
        self._creds = creds
        self._gcm: str = refs.guest_customization_manager
        # CancelTask (the client's, which refuses once it is closed) and "this run has ended"
        self._cancel_task = cancel_task
        self._on_close = on_close
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
        self._server_clock: ServerClock | None = None  # None: unknown
        self.tracker = TaskTracker(
            t,
            refs.property_collector,
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
        await self._cancel_task(st.task)
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
        self._closed()

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
            self._server_clock = await measure_server_clock(self._t)
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
            self._closed()

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
            answer = await self._call_start(st)
            lost = answer.lost
            if answer.task is not None:
                self._register(st, answer.task)
                return
            if answer.renewed:
                # Never replay blindly: the session was renewed, look for a task first.
                relogins += 1
                if relogins > 2:
                    self._finish(st, "failed", fault=SESSION_KEEPS_EXPIRING)
                    return
                check_first = True
            elif lost is not None:
                if not await self._after_lost_reply(st, lost):
                    return
                check_first = True  # no task of ours yet: look again, only then call again
            elif answer.retry_in is not None:
                await asyncio.sleep(answer.retry_in)
                st.attempt += 1
            else:
                return

    async def _call_start(self, st: _VMState) -> _Answer:
        """One StartGuestNetwork_Task call; a fault that decides the VM finishes it here."""
        st.in_flight = True
        self._active_starts += 1
        self.max_active_starts = max(self.max_active_starts, self._active_starts)
        st.sent_at = time.monotonic()
        try:
            body = {"vm": mor("VirtualMachine", st.vm.moid), "auth": guest_auth(self._creds)}
            ref = await self._t.invoke(GCM_TYPE, self._gcm, START_METHOD, body, auth="raise")
            return _Answer(task=ref_value(ref, START_METHOD))
        except SessionRenewed:
            return _Answer(renewed=True)
        except VimFault as e:
            if st.cancel_requested:
                self._finish(st, "cancelled", fault=e.fault)
            elif e.type_name == "TaskInProgress" and st.attempt < self.max_attempts:
                self._emit(st, "pending", fault=e.fault)
                return _Answer(retry_in=self._delay(st))
            else:
                self._finish(st, "failed", fault=e.fault)
            return _Answer()
        except TLSVerifyError:
            raise  # fatal for the whole run
        except TransportError as e:  # timeout, lost connection, proxy error page
            return _Answer(lost=e)
        finally:
            st.in_flight = False
            self._active_starts -= 1

    async def _after_lost_reply(self, st: _VMState, lost: TransportError) -> bool:
        """After a timeout or lost connection: False when the VM is settled or out of attempts."""
        if isinstance(lost, RequestTimeout) or st.cancel_requested:
            # one look for a task at once (it may exist although no reply came)
            try:
                if await self._adopt_task(st, lost):
                    return False
            except TLSVerifyError:
                raise
            except GuestnetError as e:
                log.info("could not check %s for a task: %s", st.vm.name, e)
            if st.cancel_requested or not self._can_identify_task:
                # without the server's time a finished task of ours cannot be told from none:
                # report the timeout rather than risk a second task
                state: TaskState = "cancelled" if st.cancel_requested else "failed"
                self._finish(st, state, fault=error_fault(lost))
                return False
        return await self._backoff(st, lost)

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
            await self._cancel_task(task)
        except GuestnetError as e:
            log.info("could not cancel %s: %s", task, e)

    @property
    def _can_identify_task(self) -> bool:
        """Whether a lost reply's task can be recognised in any state (user name + server time)."""
        return self._server_clock is not None and self._t.session_user is not None

    def _not_before(self, st: _VMState) -> datetime | None:
        """The earliest ``queueTime`` (server time) of a task created by the VM's latest call."""
        if self._server_clock is None or st.sent_at is None:
            return None
        return self._server_clock.not_before(st.sent_at)

    def _closed(self) -> None:
        if self._on_close is not None:
            self._on_close(self)

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
                user=self._t.session_user,
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
