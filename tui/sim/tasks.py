"""Tasks: StartGuestNetwork_Task and AbortCustomization_Task, how they run, cancel and end.

A customization task waits in a server-wide FIFO for one of ``max_running_tasks`` running slots,
then runs in at most ten progress steps over the VM's task duration; halfway the guest's old
address goes away, at the end it has the new one and its own MAC (a ``keep_ip`` guest keeps
both although the task succeeds). A finished task stays in its VM's
``recentTask`` for ``recent_task_seconds`` or until more than ``recent_done_max`` tasks finished
after it (vCenter's 10 minutes / last 200 tasks). An injected TaskInProgress comes with the
long-running task (reason TaskReasonSystem) that holds the VM.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from tui.sim.clock import Clock
from tui.sim.faults import (
    SimFault,
    aborted,
    canceled,
    injected_fault,
    precheck,
    task_in_progress,
)
from tui.sim.guest import Guests
from tui.sim.objects import Task, VirtualMachine
from tui.sim.options import SimOptions
from tui.sim.registry import Registry
from tui.sim.wire import JSON

RECENT_DONE_MAX = 200  # vCenter: recentTask keeps at most the last 200 completed tasks
CUSTOMIZE_DESC = "vm.GuestCustomizationManager.startNetwork"
ABORT_DESC = "vm.GuestCustomizationManager.abortCustomization"
# these faults end a task early (10 %), other failures at 30 %
_EARLY_FAULTS = ("InvalidGuestLogin", "GuestPermissionDenied")


class Tasks:
    def __init__(
        self,
        options: SimOptions,
        registry: Registry,
        guests: Guests,
        touch: Callable[[str], None],
        stats: dict[str, Any],
        clock: Clock,
    ) -> None:
        self.options = options
        self.clock = clock
        self.registry = registry
        self.guests = guests
        self.touch = touch
        self.stats = stats
        self.task_seq = itertools.count(1001)
        self.event_seq = itertools.count(90001)
        self.queue: list[Task] = []
        self.running = 0
        self.recent_done: deque[Task] = deque()  # finished and still recent, oldest first
        self.recent_done_max = RECENT_DONE_MAX

    def duration_for(self, vm: VirtualMachine) -> float:
        return vm.task_seconds if vm.task_seconds is not None else self.options.task_seconds

    # -- creating tasks ----------------------------------------------------------------------

    def _new_task(
        self, method: str, description_id: str, vm: VirtualMachine, reason: JSON, cancelable: bool
    ) -> Task:
        """A queued Task on ``vm``, registered and listed in the VM's recentTask."""
        t = Task(
            f"task-{next(self.task_seq)}",
            method,
            description_id,
            vm,
            reason,
            cancelable,
            next(self.event_seq),
            self.clock.time(),
        )
        self.registry.objects[t.moid] = t
        vm.recent_tasks.append(t)
        self.touch(vm.moid)
        return t

    def vm_added(self, vm: VirtualMachine) -> None:
        """A VM entered the inventory: an injected TaskInProgress comes with its task."""
        if vm.fault is not None and vm.fault.type == "TaskInProgress":
            self._make_blocker(vm)

    def _make_blocker(self, vm: VirtualMachine) -> None:
        """The long-running task another client left on a VM with an injected TaskInProgress."""
        t = self._new_task(
            "StartGuestNetwork_Task", CUSTOMIZE_DESC, vm, {"_typeName": "TaskReasonSystem"}, False
        )
        t.state = "running"
        t.progress = 50
        t.start_time = t.queue_time
        vm.blocker = t
        vm.cust_status = "TOOLSDEPLOYPKG_RUNNING"
        vm.cust_start = t.start_time

    def injected(self, vm: VirtualMachine) -> SimFault:
        """The fault injected on ``vm`` (a TaskInProgress gets a live blocking task)."""
        assert vm.fault is not None
        if vm.fault.type == "TaskInProgress" and (vm.blocker is None or vm.blocker.done):
            self._make_blocker(vm)
        return injected_fault(vm, vm.blocker)

    def start_guest_network(
        self, user_name: str, vm: VirtualMachine, username: str, password: str, interactive: bool
    ) -> Task:
        busy = vm.running_task
        if busy is not None and not busy.done:
            raise task_in_progress(busy)
        precheck(vm, self.options.guest_ops_strict)
        if vm.fault is not None and vm.fault.mode == "sync":
            raise self.injected(vm)
        login_fault = self.guests.login(vm, username, password, interactive)
        t = self._new_task(
            "StartGuestNetwork_Task", CUSTOMIZE_DESC, vm, _user_reason(user_name), vm.cancelable
        )
        t.duration = self.duration_for(vm)
        vm.running_task = t
        self.stats["tasks_started"] += 1
        fail: SimFault | None = login_fault
        if fail is None and vm.fault is not None and vm.fault.mode == "task":
            fail = self.injected(vm)
        t.aio = asyncio.get_running_loop().create_task(self._run_task(t, fail))
        return t

    def abort_customization(
        self, user_name: str, vm: VirtualMachine, username: str, password: str, interactive: bool
    ) -> Task:
        precheck(vm, self.options.guest_ops_strict)
        login_fault = self.guests.login(vm, username, password, interactive)
        t = self._new_task(
            "AbortCustomization_Task", ABORT_DESC, vm, _user_reason(user_name), False
        )
        t.aio = asyncio.get_running_loop().create_task(self._run_abort(t, login_fault))
        return t

    # -- running-task slots ------------------------------------------------------------------

    def _slot_free(self) -> bool:
        return self.running < self.options.max_running_tasks

    async def _acquire_slot(self, t: Task) -> None:
        """Wait in the server-wide FIFO until a running-task slot is granted to ``t``."""
        if self._slot_free() and not self.queue:
            self.running += 1
            t.slot = True
            return
        t.wait_fut = asyncio.get_running_loop().create_future()
        self.queue.append(t)
        try:
            await t.wait_fut
        finally:
            if t in self.queue:
                self.queue.remove(t)

    def _start_next(self) -> None:
        while self.queue and self._slot_free():
            nxt = self.queue.pop(0)
            self.running += 1
            nxt.slot = True
            if nxt.wait_fut is not None and not nxt.wait_fut.done():
                nxt.wait_fut.set_result(None)

    def _release_slot(self, t: Task) -> None:
        if t.slot:
            t.slot = False
            self.running -= 1
            self._start_next()

    # -- running -----------------------------------------------------------------------------

    async def _run_task(self, t: Task, fail: SimFault | None) -> None:
        vm = t.entity
        try:
            await self._acquire_slot(t)
            t.state = "running"
            t.start_time = self.clock.time()
            t.progress = 0
            vm.cust_status = "TOOLSDEPLOYPKG_RUNNING"
            vm.cust_start = t.start_time
            vm.cust_end = None
            vm.cust_error = None
            self.touch(t.moid)
            self.touch(vm.moid)
            stop_at = 100
            if fail is not None:
                stop_at = 10 if fail.type_name in _EARLY_FAULTS else 30
            await self._progress(t, stop_at, drop_ip=fail is None and not vm.keep_ip)
            if fail is not None:
                self._finish(t, fail)
            else:
                self._new_identity(vm)
                vm.cust_status = "TOOLSDEPLOYPKG_SUCCEEDED"
                self._finish(t, None)
        except asyncio.CancelledError:
            if not t.done:
                if t.cancel_fault is not None:
                    self._finish(t, t.cancel_fault)
                else:
                    self._finish(t, canceled(), cancelled=True)
            raise
        finally:
            self._release_slot(t)

    def _new_identity(self, vm: VirtualMachine) -> None:
        """The guest network restarted: its own address (``acquire_ip`` or a fresh one) and its
        own MAC; a ``keep_ip`` guest keeps both, although the task succeeds."""
        if vm.keep_ip:
            return
        if vm.acquire_ip is None:
            vm.acquire_ip = self.guests.next_address()
        vm.ip = vm.acquire_ip
        vm.mac = vm.own_mac

    async def _progress(self, t: Task, stop_at: int, drop_ip: bool) -> None:
        """Raise ``t.progress`` in up to ten steps over its duration, until ``stop_at`` %;
        halfway a succeeding customization drops the guest's old address."""
        vm = t.entity
        steps = max(1, min(10, int(t.duration / 0.05)))
        step = t.duration / steps
        started = self.clock.monotonic()
        dropped_ip = False
        for i in range(1, steps + 1):
            await self.clock.sleep_until(started + i * step)
            pct = i * 100 // steps
            if pct >= stop_at:
                break
            if vm.hang and pct >= 50:
                t.progress = 50
                self.touch(t.moid)
                await asyncio.Event().wait()  # until cancelled or aborted
            t.progress = pct
            self.touch(t.moid)
            if drop_ip and not dropped_ip and pct >= 50 and vm.ip is not None:
                # the guest network restarts: the old address goes away first
                vm.ip = None
                dropped_ip = True
                self.touch(vm.moid)

    async def _run_abort(self, t: Task, fail: SimFault | None) -> None:
        vm = t.entity
        t.state = "running"
        t.start_time = self.clock.time()
        t.progress = 0
        self.touch(t.moid)
        await self.clock.sleep(min(0.5, self.duration_for(vm) / 4))
        if fail is not None:
            self._finish(t, fail)
            return
        why = aborted()
        victims = [x for x in (vm.running_task, vm.blocker) if x is not None and not x.done]
        for v in victims:
            if v.aio is not None and not v.aio.done():
                v.cancel_fault = why
                v.aio.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await v.aio
            else:
                self._finish(v, why)
        vm.blocker = None
        if vm.fault is not None and vm.fault.type == "TaskInProgress":
            vm.fault = None  # the lock is gone
        vm.cust_status = "TOOLSDEPLOYPKG_IDLE"
        vm.cust_error = None
        self._finish(t, None)

    # -- ending ------------------------------------------------------------------------------

    def _finish(self, t: Task, fault: SimFault | None, cancelled: bool = False) -> None:
        vm = t.entity
        t.complete_time = self.clock.time()
        t.cancelled = cancelled
        if fault is not None:
            t.state = "error"
            t.error = fault
            if t.method == "StartGuestNetwork_Task":
                vm.cust_status = "TOOLSDEPLOYPKG_FAILED"
                vm.cust_error = fault.faultstring
        else:
            t.state = "success"
        if t.method == "StartGuestNetwork_Task":
            vm.cust_end = t.complete_time
        if vm.running_task is t:
            vm.running_task = None
        self.clock.call_later(self.options.recent_task_seconds, lambda: self._retire(t))
        self.recent_done.append(t)
        while len(self.recent_done) > self.recent_done_max:
            self._retire(self.recent_done.popleft())
        self.touch(t.moid)
        self.touch(vm.moid)

    def _retire(self, t: Task) -> None:
        """A finished task leaves its entity's recentTask (the Task object stays readable):
        ``recent_task_seconds`` after it finished, or earlier when more than ``recent_done_max``
        finished tasks are recent server-wide (vCenter's 10 minutes / last 200 tasks)."""
        recent = t.entity.recent_tasks
        if t in recent:
            recent.remove(t)
            self.touch(t.entity.moid)

    def cancel(self, t: Task) -> None:
        """CancelTask."""
        if t.done:
            raise SimFault("InvalidState", "The task has already completed.")
        if not t.cancelable:
            raise SimFault("InvalidState", "The task cannot be cancelled.")
        if t.aio is not None and not t.aio.done():
            t.aio.cancel()
        else:
            self._finish(t, canceled(), cancelled=True)

    def cancel_all(self) -> None:
        """The server stops: every running task coroutine is cancelled."""
        for o in list(self.registry.objects.values()):
            if isinstance(o, Task) and o.aio is not None and not o.aio.done():
                o.aio.cancel()

    def summaries(self) -> list[dict[str, Any]]:
        out = []
        for o in self.registry.objects.values():
            if isinstance(o, Task):
                out.append(
                    {
                        "task": o.moid,
                        "method": o.method,
                        "vm": o.entity.name,
                        "vm_moid": o.entity.moid,
                        "state": o.state,
                        "progress": o.progress,
                        "error": o.error.type_name if o.error else None,
                        "cancelled": o.cancelled,
                        "queue_time": o.queue_time,
                        "start_time": o.start_time,
                        "complete_time": o.complete_time,
                    }
                )
        return out


def _user_reason(user_name: str) -> JSON:
    return {"_typeName": "TaskReasonUser", "userName": user_name}
