"""``start-network`` results: one row per VM (a JSON line each with ``--json``), the final table
with its counts and hints, and the exit code.

With several vCenters every row starts with ``"vcenter"`` (the profile name) and the table with a
VCENTER column; each vCenter's run emits through its ``SiteResults``, which keeps that vCenter's
rows (for its audit records) and passes each one on to the shared ``Results``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from tui.commands.base import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from tui.commands.output import dash, iso, table

if TYPE_CHECKING:
    from tui.vsphere.models import VM, TaskEvent

Row = dict[str, Any]
COUNTED = ("succeeded", "failed", "skipped", "cancelled")


def row(vm: VM, state: str, **fields: Any) -> Row:
    out: Row = {
        "vm": vm.name,
        "moid": vm.moid,
        "task": None,
        "state": state,
        "progress": None,
        "fault_type": None,
        "fault_message": None,
        "hint": None,
        "started": None,
        "completed": None,
        # the proof (succeeded VMs, when verifying): see tui.vsphere.verify.Verdict.to_json
        "ip_before": None,
        "ip_after": None,
        "mac_before": None,
        "mac_after": None,
        "verified": None,
        "verify_reason": None,
    }
    out.update(fields)
    return out


def event_row(vm: VM, ev: TaskEvent | None, interrupted: bool) -> Row:
    """The row for ``vm`` from its last event; a VM without a final event was cancelled (after
    Ctrl-C) or failed (the run ended early)."""
    if ev is None or not ev.final:
        message = (
            "interrupted before the task finished"
            if interrupted
            else "the run ended without a final task state"
        )
        return row(
            vm,
            "cancelled" if interrupted else "failed",
            task=ev.task if ev else None,
            progress=ev.progress if ev else None,
            fault_message=message,
            started=iso(ev.start_time) if ev else None,
        )
    fault_type = fault_message = hint = None
    if ev.fault is not None:
        from tui.vsphere.faults import explain_fault

        fault_type = ev.fault.type_name
        fault_message = ev.fault.message
        hint = explain_fault(ev.fault).remedy
    return row(
        vm,
        ev.state,
        task=ev.task,
        progress=ev.progress,
        fault_type=fault_type,
        fault_message=fault_message,
        hint=hint,
        started=iso(ev.start_time),
        completed=iso(ev.complete_time),
    )


def row_key(r: Row) -> tuple[str | None, str]:
    """A row's VM across vCenters: ``(vcenter or None, moid)`` (moids repeat across vCenters)."""
    return r.get("vcenter"), r["moid"]


class Results:
    """The rows so far, in the order they became final; ``order`` (by ``row_key``) is the
    inventory order the table is sorted by; ``multi``: rows of several vCenters."""

    def __init__(self, as_json: bool, verifying: bool = False, multi: bool = False) -> None:
        self.as_json = as_json
        self.verifying = verifying  # a success counts only when verified
        self.multi = multi
        self.rows: list[Row] = []
        self.order: dict[tuple[str | None, str], int] = {}

    def emit(self, r: Row) -> None:
        self.rows.append(r)
        if self.as_json:
            print(json.dumps(r), flush=True)

    @property
    def states(self) -> list[str]:
        return [r["state"] for r in self.rows]

    def counts(self) -> dict[str, int]:
        states = self.states
        return {s: states.count(s) for s in sorted(set(states))}

    def finish(self, interrupted: bool) -> int:
        """Print the table (unless ``--json``) and return the exit code."""
        if not self.as_json:
            self._print_table()
        states = self.states
        if interrupted:
            return EXIT_INTERRUPTED
        if states and all(s == "succeeded" for s in states) and not self.unverified():
            return EXIT_OK
        return EXIT_FAILED

    def unverified(self) -> list[Row]:
        """Succeeded rows whose verification did not prove the restart (when verifying)."""
        if not self.verifying:
            return []
        return [r for r in self.rows if r["state"] == "succeeded" and r["verified"] is not True]

    def verdicts(self) -> list[dict[str, Any]]:
        return [
            {
                "name": r["vm"],
                "moid": r["moid"],
                "verified": r["verified"],
                "reason": r["verify_reason"],
            }
            for r in self.rows
            if r["state"] == "succeeded" and r["verify_reason"] is not None
        ]

    def _print_table(self) -> None:
        ordered = sorted(self.rows, key=lambda r: self.order.get(row_key(r), 0))
        headers = ["VM", "STATE", "TASK", "RESULT"]
        cells = [_cells(r) for r in ordered]
        if self.multi:
            headers = ["VCENTER", *headers]
            cells = [[r["vcenter"], *c] for r, c in zip(ordered, cells, strict=True)]
        print(table(headers, cells))
        states = self.states
        counts = {s: states.count(s) for s in COUNTED}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing run"
        if self.unverified():
            summary += f" ({len(self.unverified())} not verified)"
        print(summary)
        hints: dict[str, str] = {}
        for r in self.rows:
            key = r["fault_type"] or r["fault_message"]
            if r["hint"] and key not in hints:
                hints[key] = r["hint"]
        for key, hint in hints.items():
            print(f"hint ({key}): {hint}")
        sys.stdout.flush()


VERDICT_WORDS = {True: "verified", False: "NOT verified", None: "unverified"}


def _cells(r: Row) -> list[str]:
    result = f"{r['fault_type']}: {r['fault_message']}" if r["fault_type"] else r["fault_message"]
    if r["verify_reason"] is not None:
        result = f"{VERDICT_WORDS[r['verified']]}: {r['verify_reason']}"
    return [r["vm"], r["state"], dash(r["task"]), dash(result)]


class SiteResults(Results):
    """One vCenter's rows: each is tagged with ``vcenter`` (unless None: a single vCenter), kept
    here and emitted through the shared ``Results``."""

    def __init__(self, shared: Results, vcenter: str | None) -> None:
        super().__init__(as_json=False, verifying=shared.verifying, multi=False)
        self.shared = shared
        self.vcenter = vcenter

    def emit(self, r: Row) -> None:
        if self.vcenter is not None:
            r = {"vcenter": self.vcenter, **r}
        self.rows.append(r)
        self.shared.emit(r)
