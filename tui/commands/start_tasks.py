"""``start-network`` while the tasks run: each VM's row as it becomes final, and Ctrl-C.

The first Ctrl-C cancels the queued VMs and every cancellable task, then waits up to
``CANCEL_GRACE_SECONDS`` for the final states; a second Ctrl-C stops waiting at once. With
several vCenters (``wait_all``) there is one run per vCenter and Ctrl-C reaches every run still
going. Imported only when a run starts (it imports asyncio).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui.commands.start_results import Results, event_row

if TYPE_CHECKING:
    from tui.commands.progress import Progress, ScopedProgress
    from tui.vsphere.models import VM, TaskEvent
    from tui.vsphere.verify import Verifier

CANCEL_GRACE_SECONDS = 30.0


@dataclass
class Ended:
    """How the run ended: ``error`` lost track of it; ``cancel_targets`` are the VMs (moids) not
    final when Ctrl-C came, ``cancelled_tasks`` the tasks vCenter accepted to cancel."""

    error: BaseException | None = None
    interrupted: bool = False
    cancel_targets: list[str] = field(default_factory=list)
    cancelled_tasks: list[str] = field(default_factory=list)


class TaskRun:
    """Follows one ``GuestNetworkRun`` (``run``) of ``vms`` to the end."""

    def __init__(
        self,
        run: Any,
        vms: Sequence[VM],
        results: Results,
        progress: Progress | ScopedProgress,
        verifier: Verifier | None = None,
        own_sigint: bool = True,
    ) -> None:
        self.run = run
        self.own_sigint = own_sigint  # False: wait_all routes Ctrl-C here (``interrupt``)
        self.verifier = verifier
        self.finals: set[str] = set()  # VMs whose task is final (their row may await a verdict)
        self.verifying: dict[str, asyncio.Task[None]] = {}
        self.vms = list(vms)
        self.by_moid = {vm.moid: vm for vm in vms}
        self.results = results
        self.progress = progress
        self.events: dict[str, TaskEvent] = {}
        self.printed: set[str] = set()
        self.interrupts = 0
        self.ended = Ended()
        self._background: list[asyncio.Task[None]] = []
        self._consumer: asyncio.Future[None] | None = None

    async def wait(self) -> Ended:
        """Until every VM is final, the run fails, or Ctrl-C ends the wait; then every VM has
        its row."""
        loop = asyncio.get_running_loop()
        consumer = self.begin()
        if self.own_sigint:
            loop.add_signal_handler(signal.SIGINT, self.interrupt)
        try:
            await consumer
        except asyncio.CancelledError:
            if not self.interrupts:
                raise
        except Exception as exc:
            self.ended.error = exc
        finally:
            if self.own_sigint:
                loop.remove_signal_handler(signal.SIGINT)
            self.progress.close()
        self.ended.interrupted = self.interrupts > 0
        self._emit_unfinished()
        return self.ended

    async def _consume(self) -> None:
        async for ev in self.run:
            self.events[ev.vm_moid] = ev
            self.progress.event(ev)
            vm = self.by_moid.get(ev.vm_moid)
            if ev.final and vm is not None and ev.vm_moid not in self.finals:
                self.finals.add(ev.vm_moid)
                if ev.state == "succeeded" and self.verifier is not None:
                    self.verifying[vm.moid] = asyncio.create_task(self._verified(vm, ev))
                else:
                    self._print(event_row(vm, ev, False))
            if all(moid in self.finals for moid in self.by_moid):
                break  # every VM is final; the client tears the run down on close
        await asyncio.gather(*self.verifying.values())

    async def _verified(self, vm: VM, ev: TaskEvent) -> None:
        assert self.verifier is not None
        verdict = await self.verifier.verify(vm)
        r = event_row(vm, ev, False)
        r.update(verdict.to_json())
        self._print(r)

    def _print(self, r: dict[str, Any]) -> None:
        if r["moid"] not in self.printed:
            self.printed.add(r["moid"])
            self.results.emit(r)

    def begin(self) -> asyncio.Future[None]:
        """Start following the run's events (``wait`` does it when not done yet)."""
        if self._consumer is None:
            self._consumer = asyncio.ensure_future(self._consume())
        return self._consumer

    @property
    def following(self) -> bool:
        """Still waiting for its VMs (Ctrl-C concerns it)."""
        return self._consumer is not None and not self._consumer.done()

    def interrupt(self) -> None:
        """Ctrl-C: the first cancels what is left, the second stops waiting."""
        assert self._consumer is not None
        self.interrupts += 1
        if self.interrupts == 1:
            self._background.append(asyncio.get_running_loop().create_task(self._cancel_all()))
        else:
            self._consumer.cancel()

    async def _cancel_all(self) -> None:
        assert self._consumer is not None
        note = self.progress.note
        note("interrupted: cancelling queued and cancellable tasks (Ctrl-C again to stop)")
        self.ended.cancel_targets.extend(m for m in self.by_moid if m not in self.finals)
        try:
            await self.run.cancel_queued()
        except Exception as exc:  # the run still reports what it can
            note(f"cancelling queued VMs failed: {exc}")
        for moid, ev in list(self.events.items()):
            if ev.final or not ev.task:
                continue
            try:
                if await self.run.cancel(moid):
                    self.ended.cancelled_tasks.append(ev.task)
            except Exception as exc:
                note(f"{ev.vm_name}: {exc}")
        asyncio.get_running_loop().call_later(CANCEL_GRACE_SECONDS, self._consumer.cancel)

    def _emit_unfinished(self) -> None:
        error = self.ended.error
        for moid, pending in self.verifying.items():
            if not pending.done():
                pending.cancel()
                r = event_row(self.by_moid[moid], self.events.get(moid), False)
                r.update(verified=None, verify_reason="interrupted before the verdict")
                self._print(r)
        for vm in self.vms:
            if vm.moid in self.printed:
                continue
            self.printed.add(vm.moid)
            r = event_row(vm, self.events.get(vm.moid), self.ended.interrupted)
            if error is not None and r["state"] == "failed":
                r["fault_type"] = type(error).__name__
                r["fault_message"] = f"lost track of the task: {error}"
            self.results.emit(r)


async def wait_all(runs: Sequence[TaskRun]) -> list[Ended]:
    """Follow several runs at once (one per vCenter, made with ``own_sigint=False``); Ctrl-C goes
    to every run still following its VMs."""
    loop = asyncio.get_running_loop()
    for r in runs:
        r.begin()

    def on_sigint() -> None:
        for r in runs:
            if r.following:
                r.interrupt()

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        return list(await asyncio.gather(*(r.wait() for r in runs)))
    finally:
        loop.remove_signal_handler(signal.SIGINT)
