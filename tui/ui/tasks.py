"""Batches of guest-network tasks as the task pane shows them. Pure Python (no Textual).

A batch is one start (``s``, ``r``) or, ``kind == "watch"``, the rows of a watcher that starts
matching VMs as they appear (rows are added as it acts on VMs). A succeeded row carries its
``Verdict`` (tui/vsphere/verify.py) once the VM stream has proven or disproven the restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tui.vsphere.autostart import WatchEvent
from tui.vsphere.models import VM, GuestCredentials, TaskEvent
from tui.vsphere.verify import Verdict

# What the pane shows for each client state.
DISPLAY_STATE: dict[str, str] = {
    "pending": "queued",
    "started": "queued",
    "queued": "queued",
    "running": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}
TOTAL_KEYS: tuple[str, ...] = ("queued", "running", "succeeded", "failed", "skipped", "cancelled")
CREDENTIAL_FAULTS = frozenset({"InvalidGuestLogin", "GuestPermissionDenied"})
FINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "skipped", "stopped"})
VERDICT_KEYS: tuple[str, ...] = ("verified", "NOT verified", "unverified", "verifying")
NO_TASK_YET = frozenset({"settling", "waiting"})  # watch rows the watcher has not started
# What a watch event makes of its VM's row (kinds not listed leave the state as it is).
WATCH_STATE = {
    "waiting": "waiting",
    "settling": "settling",
    "started": "running",
    "adopted": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "gave-up": "failed",
    "skipped": "skipped",
    "unknown": "skipped",
}


@dataclass
class TaskRow:
    vm: VM  # as it was at launch: the "before" of the verdict
    state: str = "queued"  # DISPLAY_STATE value, "skipped"; watch: "settling", "waiting", "stopped"
    event: TaskEvent | None = None
    skip_reason: str | None = None
    error: str | None = None  # a client-side error that produced no TaskEvent
    verdict: Verdict | None = None
    verifying: bool = False  # succeeded; the verdict is awaited
    note: str | None = None  # a watch row: the watcher's latest word on this VM

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def open(self) -> bool:
        """A task that goes on in vCenter without guestnet if it leaves now (a watch row that
        is only settling has no task yet)."""
        return not self.final and self.state not in NO_TASK_YET

    @property
    def fault_type(self) -> str | None:
        if self.event is not None and self.event.fault is not None:
            return self.event.fault.type_name
        return None

    def result(self, width: int | None = None) -> str:
        """The RESULT cell; ``width`` picks the longest wording of a verdict that fits."""
        if self.state == "skipped":
            return f"skipped: {self.skip_reason}"
        if self.error:
            return self.error
        if self.verdict is not None:
            return verdict_text(self.verdict, width)
        if self.note is not None:
            return self.note
        ev = self.event
        if ev is None:
            return ""
        if ev.fault is not None:
            return f"{ev.fault.type_name}: {ev.fault.message}"
        if ev.state == "succeeded":
            return "network started; verifying…" if self.verifying else "network started"
        if ev.state == "cancelled":
            return "cancelled"
        return ""

    def queued_for(self, now: datetime) -> float | None:
        ev = self.event
        if ev is None or ev.queue_time is None:
            return None
        end = ev.start_time or ev.complete_time or (None if self.final else now)
        if end is None:
            return None
        return max(0.0, (end - ev.queue_time).total_seconds())

    def elapsed(self, now: datetime) -> float | None:
        ev = self.event
        if ev is None or ev.start_time is None:
            return None
        end = ev.complete_time or (None if self.final else now)
        if end is None:
            return None
        return max(0.0, (end - ev.start_time).total_seconds())


@dataclass
class Batch:
    number: int
    creds: GuestCredentials | None
    rows: dict[str, TaskRow] = field(default_factory=dict)  # by VM moid, in start order
    finished: bool = False
    version: int = 0  # bumped on every change, for cheap redraw decisions
    watch: tuple[str, ...] = ()  # a watch batch: its patterns
    note: str = ""  # a watch batch: what the watcher says about itself (waiting VMs, status)
    # several vCenters open: other guest credentials for some of them (by site name)
    site_creds: dict[str, GuestCredentials] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        number: int,
        creds: GuestCredentials,
        run_vms: list[VM],
        skipped: list[tuple[VM, str]],
    ) -> Batch:
        b = cls(number=number, creds=creds)
        for vm in run_vms:
            b.rows[vm.moid] = TaskRow(vm=vm)
        for vm, reason in skipped:
            b.rows[vm.moid] = TaskRow(vm=vm, state="skipped", skip_reason=reason)
        if not run_vms:
            b.finished = True
        return b

    def apply(self, ev: TaskEvent) -> TaskRow | None:
        row = self.rows.get(ev.vm_moid)
        if row is None:
            return None
        row.event = ev
        row.state = DISPLAY_STATE.get(ev.state, ev.state)
        row.error = None
        self.version += 1
        return row

    def add_row(self, vm: VM) -> TaskRow:
        """A watch batch: the row of a VM the watcher acts on (created on first sight)."""
        row = self.rows.get(vm.moid)
        if row is None:
            row = self.rows[vm.moid] = TaskRow(vm=vm, state="settling")
        self.version += 1
        return row

    def fail_unfinished(self, message: str) -> None:
        """The event stream ended with an error: rows still open get that message."""
        for row in self.rows.values():
            if not row.final:
                row.state = "failed"
                row.error = message
        self.version += 1

    def totals(self) -> dict[str, int]:
        out = dict.fromkeys(TOTAL_KEYS, 0)
        for row in self.rows.values():
            out[row.state] = out.get(row.state, 0) + 1
        return out

    def summary(self, sep: str = ", ") -> str:
        """The non-zero totals, e.g. ``3 succeeded, 1 skipped``."""
        return sep.join(f"{v} {k}" for k, v in self.totals().items() if v)

    def verdicts(self) -> dict[str, int]:
        """Succeeded rows by verdict: verified, NOT verified, unverified, verifying."""
        out = dict.fromkeys(VERDICT_KEYS, 0)
        for row in self.rows.values():
            if row.verdict is not None:
                out[row.verdict.word] += 1
            elif row.verifying:
                out["verifying"] += 1
        return out

    def verdict_summary(self, sep: str = ", ") -> str:
        """The non-zero verdict counts, e.g. ``2 verified, 1 NOT verified``."""
        return sep.join(f"{v} {k}" for k, v in self.verdicts().items() if v)

    def failed_rows(self) -> list[TaskRow]:
        return [r for r in self.rows.values() if r.state == "failed"]

    def needs_new_credentials(self) -> bool:
        return any(r.fault_type in CREDENTIAL_FAULTS for r in self.failed_rows())

    @property
    def running(self) -> bool:
        return not self.finished and any(not r.final for r in self.rows.values())

    def wipe_credentials(self) -> None:
        self.creds = None
        self.site_creds = {}


def apply_watch_event(row: TaskRow, ev: WatchEvent) -> None:
    """A watcher's event about ``row``'s VM, as a task row shows it (state, task, verdict)."""
    if ev.kind in ("verified", "not-verified"):
        row.verdict, row.verifying = ev.verdict, False
        return
    vm, prev = ev.vm, row.event
    assert vm is not None
    start = prev.start_time if prev is not None else None
    attempt = ev.attempt or (prev.attempt if prev is not None else 1)
    state = WATCH_STATE.get(ev.kind, row.state)
    if ev.kind in ("started", "adopted"):
        row.vm = vm  # as dispatched: the "before" of the verdict
        row.event = TaskEvent(
            vm.moid, vm.name, "running", ev.task, start_time=ev.time, attempt=attempt
        )
    elif ev.kind in ("succeeded", "failed"):
        row.event = TaskEvent(
            vm.moid,
            vm.name,
            "succeeded" if ev.kind == "succeeded" else "failed",
            ev.task or (prev.task if prev is not None else None),
            fault=ev.fault,
            start_time=start,
            complete_time=ev.time,
            attempt=attempt,
        )
    if state == "skipped":
        row.skip_reason = ev.message
    row.verifying = ev.kind == "succeeded"
    row.note = None if ev.kind == "succeeded" else ev.message or row.note
    row.state = state


def verdict_text(v: Verdict, width: int | None = None) -> str:
    """``10.9.0.5 → 10.9.0.77 ✓``, ``NOT verified: kept its launch address 10.9.0.5``,
    ``unverified: no address after 60 s``; with ``width``, the longest form that fits."""
    if v.verified:
        forms: tuple[str, ...] = (f"{v.reason} ✓", f"→ {v.ip_after} ✓")
    elif v.verified is False:
        forms = (f"NOT verified: {v.reason}", f"✗ {v.reason}")
        if v.ip_after is not None and v.ip_after == v.ip_before:  # the address stays in view
            forms += (f"✗ kept {v.ip_after} (launch address)", f"✗ kept {v.ip_after}")
    else:
        forms = (f"unverified: {v.reason}", f"? {v.reason}")
    if width is None:
        return forms[0]
    return next((f for f in forms if len(f) <= width), forms[-1])


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return ""
    s = int(value)
    if s < 60:
        return f"{value:.1f}s" if value < 10 else f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%H:%M:%SZ")
