"""Guest network runs: bounded-concurrency StartGuestNetwork_Task dispatch + task tracking.

- At most ``concurrency`` StartGuestNetwork_Task calls are in flight (the run's workers); each
  VM's task is created by ``startcall.StartCalls``: TaskInProgress retried with backoff, a call
  whose reply was lost never replayed blindly (the task it created is adopted).
- All the run's tasks are tracked by ONE ``task.TaskTracker`` (one PropertyCollector, one
  WaitForUpdatesEx loop, a filter per dispatch wave; see tui/vsphere/task.py).
- The run's events: ``pending``, ``started``, ``queued``/``running``, one final per VM.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import Any

from tui.vsphere.errors import GuestnetError
from tui.vsphere.models import VM, Fault, GuestCredentials, TaskEvent, TaskState
from tui.vsphere.services import ServiceRefs
from tui.vsphere.startcall import StartCalls, VMState
from tui.vsphere.task import TaskTracker, error_fault, task_event, task_state
from tui.vsphere.transport import Transport

log = logging.getLogger("tui.vsphere")


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
        open: bool = False,
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
        # CancelTask (the client's, which refuses once it is closed) and "this run has ended"
        self._cancel_task = cancel_task
        self._on_close = on_close
        self.concurrency = concurrency
        self._states: dict[str, VMState] = {}
        for vm in vms:
            self._states.setdefault(vm.moid, VMState(vm))
        self._queue: deque[str] = deque(self._states)
        self._task_vm: dict[str, str] = {}
        self._events: asyncio.Queue[TaskEvent | None] = asyncio.Queue()
        self._driver: asyncio.Task[None] | None = None
        self._cancels: set[asyncio.Task[None]] = set()  # CancelTask calls for late-created tasks
        self._error: BaseException | None = None
        self._finished = False
        # open: the run takes more VMs (add, adopt) until close_input(); ends when all are final
        self._open = open
        self._more = asyncio.Event()
        self.starts = StartCalls(
            t,
            refs.guest_customization_manager,
            creds,
            max_attempts=max_attempts,
            retry_delays=retry_delays,
            emit=self._emit,
            finish=self._finish,
            register=self._register,
        )
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
            prune=open,
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
    def max_active_starts(self) -> int:
        """The observed peak of concurrent StartGuestNetwork_Task calls."""
        return self.starts.peak

    @property
    def vm_moids(self) -> list[str]:
        return list(self._states)

    def events_of(self, vm_moid: str) -> list[TaskEvent]:
        return list(self._states[vm_moid].events)

    def add(self, vms: Sequence[VM]) -> None:
        """An open run: start the guest network on more VMs (a VM already in flight is kept)."""
        self._check_accepting()
        for vm in vms:
            old = self._states.get(vm.moid)
            if old is not None and not old.final:
                continue
            st = self._states[vm.moid] = VMState(vm)
            self._emit(st, "pending")
            self._queue.append(vm.moid)
        self._more.set()

    def adopt(self, vm: VM, task: str) -> None:
        """An open run: track a StartGuestNetwork task created elsewhere (an earlier process)."""
        self._check_accepting()
        st = self._states[vm.moid] = VMState(vm)
        self._register(st, task)

    def close_input(self) -> None:
        """An open run takes no more VMs: it ends once every VM's task is final."""
        self._open = False
        self._more.set()
        self.tracker.wake()

    def _check_accepting(self) -> None:
        if not self._open:
            raise GuestnetError("this run takes no more VMs (not open, or input closed)")
        self._ensure_started()

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
        if self._open or self.tracker.dispatching:
            return False
        return all(st.final for st in self._states.values())

    def _emit(
        self,
        st: VMState,
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
        st: VMState,
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
            await self.starts.measure_server_clock()
            self.tracker.dispatching = True
            tracker_task = asyncio.create_task(self.tracker.run())
            n = self.concurrency if self._open else (min(self.concurrency, len(self._queue)) or 1)
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
        while True:
            while self._queue:
                st = self._states[self._queue.popleft()]
                if not st.final:
                    await self.starts.start(st)
            if not self._open:
                return
            self._more.clear()
            await self._more.wait()

    def _register(self, st: VMState, task: str) -> None:
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

    def _closed(self) -> None:
        if self._on_close is not None:
            self._on_close(self)
