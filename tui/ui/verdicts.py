"""The verdicts of one batch: every succeeded row is verified from the UI's VM stream.

Each succeeded row gets one asyncio task (inside the batch's worker, not a worker each: a
1,000-VM batch must not post 3,000 worker messages) that asks the session's ``AddressIndex``
for the verdict on the VM *as it was when the batch launched* (``TaskRow.vm``). When every
verdict is in, the batch's ``verify-guest-network`` audit record names each VM's verdict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tui.ui.addresses import AddressIndex
from tui.ui.tasks import Batch, TaskRow
from tui.vsphere.verify import Verdict

CLOSED = "the session was closed before the verdict"


class BatchVerdicts:
    def __init__(
        self, batch: Batch, index: AddressIndex, on_verdict: Callable[[Batch, TaskRow], None]
    ) -> None:
        self.batch = batch
        self.index = index
        self.on_verdict = on_verdict
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def add(self, row: TaskRow) -> None:
        """Verify a row that just succeeded (once per row)."""
        moid = row.vm.moid
        if moid in self._tasks or row.verdict is not None:
            return
        row.verifying = True
        self._tasks[moid] = asyncio.create_task(self._one(row), name=f"verify {row.vm.name}")

    async def _one(self, row: TaskRow) -> None:
        try:
            verdict = await self.index.verify(row.vm)
        except Exception as exc:  # a bug below must not leave the row waiting for ever
            reason = f"verification failed ({exc.__class__.__name__}: {exc})"
            verdict = Verdict(None, reason, ip_before=row.vm.ip_address)
        self._settle(row, verdict)

    def _settle(self, row: TaskRow, verdict: Verdict) -> None:
        row.verdict = verdict
        row.verifying = False
        self.batch.version += 1
        self.on_verdict(self.batch, row)

    async def wait(self) -> None:
        """Until every verdict is in (rows may still be added while the batch runs)."""
        while pending := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.gather(*pending)

    def cancel(self) -> None:
        """The session closes: the rows still waiting end without a verdict, saying why (no
        redraw: the screen is going)."""
        for t in self._tasks.values():
            t.cancel()
        for row in self.batch.rows.values():
            if row.verifying:
                row.verdict = Verdict(None, CLOSED, ip_before=row.vm.ip_address)
                row.verifying = False

    def audit_fields(self) -> dict[str, Any] | None:
        """The ``verify-guest-network`` record's fields, or None when nothing succeeded."""
        rows = [r for r in self.batch.rows.values() if r.verdict is not None]
        if not rows:
            return None
        return {
            "vms": [(r.vm.name, r.vm.moid) for r in rows],
            "tasks": [r.event.task for r in rows if r.event is not None and r.event.task],
            "outcome": self.batch.verdict_summary(),
            "verdicts": [
                {"name": r.vm.name, "moid": r.vm.moid, **r.verdict.to_json()}
                for r in rows
                if r.verdict is not None
            ],
        }
