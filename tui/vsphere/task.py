"""Task objects: TaskInfo → state and ``TaskEvent``, tracking a changing set of tasks, one task.

``TaskTracker`` follows many tasks through ONE PropertyCollector served by the shared long-poll
loop (``property.UpdateLoop``). The API cannot add an object to an existing filter, so tasks are
added per *dispatch wave*: the tasks created since the last wave (collected for ``batch_window``
seconds) get one new PropertyFilter on that collector. While tasks are still being dispatched, the
long-poll uses a short ``maxWaitSeconds`` (``dispatch_poll``) so that new waves join quickly;
afterwards it waits up to ``max_wait``. After each answer it pauses ``coalesce`` seconds so
progress updates of many tasks arrive in one UpdateSet. After an expired session the new
collector gets one filter over every unfinished task, and version ``""`` brings their state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tui.vsphere.errors import GuestnetError, VimFault
from tui.vsphere.models import Fault, TaskEvent, TaskState
from tui.vsphere.property import (
    Collector,
    Reconnect,
    UpdateLoop,
    apply_changes,
    object_updates,
    status_reporter,
)
from tui.vsphere.transport import Transport
from tui.vsphere.wire import decode_fault, mor, parse_time

TASK_PATHS = (
    "info.state",
    "info.progress",
    "info.error",
    "info.queueTime",
    "info.startTime",
    "info.completeTime",
    "info.cancelable",
)


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


def is_final(props: Mapping[str, Any]) -> bool:
    """Whether tracked ``info.*`` values are those of a finished task."""
    return props.get("info.state") in ("success", "error")


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


def task_filter_spec(tasks: Sequence[str]) -> dict[str, Any]:
    return {
        "_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": "Task", "pathSet": list(TASK_PATHS)}],
        "objectSet": [
            {"_typeName": "ObjectSpec", "obj": mor("Task", t), "skip": False} for t in tasks
        ],
    }


async def cancel_task(t: Transport, task: str) -> None:
    await t.invoke("Task", task, "CancelTask")


class TaskTracker:
    """Tracks a changing set of tasks through one PropertyCollector and one long-poll loop.

    ``on_update(task, props)`` gets a task's ``info.*`` values whenever they change; tracking
    ends when ``is_done()`` (checked before each long-poll and after each wake-up).
    """

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
        prune: bool = False,
    ) -> None:
        self.on_update = on_update
        self.is_done = is_done
        self.max_wait = max_wait
        self.dispatch_poll = dispatch_poll
        self.coalesce = coalesce
        self.batch_window = batch_window
        self.dispatching = False
        self.props: dict[str, dict[str, Any]] = {}  # task moid -> tracked info.* values
        self.filters_created = 0
        self._unfiltered: list[str] = []
        # prune: destroy a wave's filter once its tasks are final (a long-lived run's collector
        # then holds only live tasks, and an idle one polls nothing)
        self.prune = prune
        self._waves: dict[str, list[str]] = {}  # filter moid -> its tasks
        self._wake = asyncio.Event()
        self.loop = UpdateLoop(
            t,
            root_collector,
            self,
            reconnect=Reconnect(tuple(reconnect_delays), give_up=True),
            status=status_reporter("tasks", on_status),
            after_renewal="re-creating the task filter",
        )

    @property
    def waits(self) -> int:
        """WaitForUpdatesEx answers so far."""
        return self.loop.answers

    def add(self, task: str) -> None:
        if task not in self.props:
            self.props[task] = {}
            self._unfiltered.append(task)
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self.loop.run()

    async def close(self) -> None:
        await self.loop.close()

    # ------------------------------------------------------------------ UpdateHandler

    async def setup(self, pc: Collector) -> None:
        # a new collector: every task not yet final gets a filter on it
        self._unfiltered = [t for t, p in self.props.items() if not is_final(p)]
        self._waves = {}

    async def next_wait(self, pc: Collector) -> int | None:
        while not self.is_done():
            if self._unfiltered:
                if self.dispatching and self.batch_window > 0:
                    await asyncio.sleep(self.batch_window)  # let the wave grow
                batch, self._unfiltered = self._unfiltered, []
                self._waves[await pc.add_filter(task_filter_spec(batch))] = batch
                self.filters_created += 1
            if self.prune:
                await self._prune(pc)
            if pc.filters:
                return self.dispatch_poll if self.dispatching else self.max_wait
            self._wake.clear()
            if self.is_done():
                break
            await self._wake.wait()
        return None

    async def _prune(self, pc: Collector) -> None:
        for f, wave in list(self._waves.items()):
            if all(is_final(self.props.get(t, {})) for t in wave):
                del self._waves[f]
                for t in wave:
                    self.props.pop(t, None)
                await pc.remove_filter(f)

    async def on_updates(self, update_set: dict[str, Any]) -> None:
        for ou in object_updates(update_set):
            props = self.props.get(ou.moid)
            if props is None or ou.kind == "leave":
                continue
            if apply_changes(props, ou.changes):
                self.on_update(ou.moid, props)
        if not update_set.get("truncated") and self.coalesce > 0 and not self.is_done():
            await asyncio.sleep(self.coalesce)


async def wait_for_task(
    t: Transport, root_collector: str, task: str, *, max_wait: int = 30
) -> dict[str, Any]:
    """Track one task (its own collector + filter) until it is final; returns its info.* values."""
    result: dict[str, Any] = {}

    def _update(_task: str, props: dict[str, Any]) -> None:
        result.clear()
        result.update(props)

    tracker = TaskTracker(
        t,
        root_collector,
        _update,
        lambda: is_final(result),
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
