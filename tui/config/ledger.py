"""The watch ledger: which VMs ``guestnet watch`` started, so that no VM is ever started twice.

One JSON object per line at ``paths.ledger_file()`` (0600), shared by every watcher of every
vCenter (each line names its vCenter). Per VM, keyed by its instanceUuid (its moid when unknown):

- ``dispatch``: about to call StartGuestNetwork_Task. Written and fsynced *before* the call, so a
  watcher killed at any instant leaves a trace of every call it may have made;
- ``task``: the call returned this Task;
- ``done``: the task ended (``outcome`` success / error / cancelled / lost, the verdict with it).

A ``dispatch`` or ``task`` with no ``done`` after it is *open*: the next watcher must find out
from vCenter what happened to it (adopt the task) instead of calling again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.config import paths
from tui.config.files import append_line, append_lines
from tui.vsphere.models import VM
from tui.vsphere.secret import Secret

# Outcomes after which a VM is never started again. "error" may be retried; "not-sent" (an earlier
# watcher's dispatch that vCenter never saw) leaves the VM to be started.
SETTLED = frozenset({"success", "cancelled", "skipped", "unknown"})


@dataclass(slots=True)
class LedgerEntry:
    """What the ledger knows of one VM."""

    key: str
    name: str
    moid: str
    attempts: int = 0  # dispatches
    failures: int = 0  # done records with outcome "error"
    outcome: str | None = None  # of the latest done record
    open: bool = False  # a dispatch (or task) with no done after it
    task: str | None = None  # the latest task
    dispatched_at: float | None = None  # epoch seconds of the latest dispatch
    last_time: float = 0.0  # epoch seconds of the latest record
    before: dict[str, Any] = field(default_factory=dict)  # what the dispatch recorded (addresses)

    @property
    def succeeded(self) -> bool:
        return self.outcome == "success"

    @property
    def settled(self) -> bool:
        """Never to be started again: succeeded, cancelled, skipped, or its fate is unknown."""
        return self.outcome in SETTLED


_BEFORE_KEYS = ("ip_before", "mac_before")


def _line(rec: Mapping[str, Any]) -> str:
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def vm_key(vm: VM) -> str:
    return vm.instance_uuid or vm.moid


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Ledger:
    def __init__(self, vcenter: str, path: Path | None = None) -> None:
        self.vcenter = vcenter
        self.path = path if path is not None else paths.ledger_file()
        self.entries: dict[str, LedgerEntry] = {}
        self.skipped = 0  # malformed lines seen by load()

    def load(self) -> Ledger:
        """Read every record of this vCenter (a malformed line is counted and passed over)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return self
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                self.skipped += 1
                continue
            if not isinstance(rec, dict) or not isinstance(rec.get("key"), str):
                self.skipped += 1
                continue
            if rec.get("vcenter") == self.vcenter:
                self._apply(rec)
        return self

    def get(self, vm: VM) -> LedgerEntry | None:
        return self.entries.get(vm_key(vm))

    def dispatch(self, vm: VM, **before: Any) -> LedgerEntry:
        """Record, durably, that StartGuestNetwork_Task is about to be called on ``vm`` (``before``:
        what to compare with afterwards, e.g. its addresses)."""
        return self.dispatch_all([(vm, before)])[0]

    def dispatch_all(self, items: Sequence[tuple[VM, Mapping[str, Any]]]) -> list[LedgerEntry]:
        """``dispatch`` for a wave of VMs: one write and one fsync for all of them."""
        recs = [self._record(vm, "dispatch", before) for vm, before in items]
        append_lines(self.path, [_line(r) for r in recs], sync=True)
        return [self._apply(r) for r in recs]

    def task(self, vm: VM, task: str) -> LedgerEntry:
        """The call returned ``task`` (not fsynced: without it, the next watcher looks the task
        up in vCenter, as after any lost reply)."""
        return self._write(vm, "task", task=task)

    def done(self, vm: VM, outcome: str, task: str | None = None, **detail: Any) -> LedgerEntry:
        """Record how the latest attempt on ``vm`` ended (``outcome`` "success" counts as done)."""
        return self._write(vm, "done", task=task, outcome=outcome, **detail)

    def _write(self, vm: VM, event: str, **fields: Any) -> LedgerEntry:
        rec = self._record(vm, event, fields)
        append_line(self.path, _line(rec))
        return self._apply(rec)

    def _record(self, vm: VM, event: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "vcenter": self.vcenter,
            "key": vm_key(vm),
            "vm": vm.name,
            "moid": vm.moid,
            "event": event,
        }
        for k, v in fields.items():
            if isinstance(v, Secret):
                raise TypeError(f"ledger record {k!r}: a Secret is never written")
            rec[k] = v
        return rec

    def _apply(self, rec: Mapping[str, Any]) -> LedgerEntry:
        key = rec["key"]
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = LedgerEntry(
                key, str(rec.get("vm") or key), str(rec.get("moid") or "")
            )
        when = _epoch(rec.get("time")) or time.time()
        entry.last_time = max(entry.last_time, when)
        entry.moid = str(rec.get("moid") or entry.moid)
        event = rec.get("event")
        if event == "dispatch":
            entry.attempts += 1
            entry.open = True
            entry.task = None
            entry.dispatched_at = when
            entry.before = {k: rec[k] for k in _BEFORE_KEYS if k in rec}
        elif event == "task" and isinstance(rec.get("task"), str):
            entry.task = rec["task"]
        elif event == "done":
            entry.open = False
            if isinstance(rec.get("task"), str):
                entry.task = rec["task"]
            entry.outcome = str(rec.get("outcome"))
            if entry.outcome == "error":
                entry.failures += 1
        return entry
