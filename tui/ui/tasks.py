"""Batches of guest-network tasks as the task pane shows them. Pure Python (no Textual)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tui.vsphere.models import VM, GuestCredentials, TaskEvent

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


@dataclass
class TaskRow:
    vm: VM
    state: str = "queued"  # a DISPLAY_STATE value or "skipped"
    event: TaskEvent | None = None
    skip_reason: str | None = None
    error: str | None = None  # a client-side error that produced no TaskEvent

    @property
    def final(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled", "skipped")

    @property
    def fault_type(self) -> str | None:
        if self.event is not None and self.event.fault is not None:
            return self.event.fault.type_name
        return None

    def result(self, current: VM | None = None, width: int | None = None) -> str:
        """The RESULT cell. A succeeded row compares the guest address at launch (``self.vm``)
        with ``current`` (the VM as the watch stream has it now); without it, "network started".
        ``width`` picks the longest wording that fits."""
        if self.state == "skipped":
            return f"skipped: {self.skip_reason}"
        if self.error:
            return self.error
        ev = self.event
        if ev is None:
            return ""
        if ev.fault is not None:
            return f"{ev.fault.type_name}: {ev.fault.message}"
        if ev.state == "succeeded":
            if current is None:
                return "network started"
            return ip_result(self.vm.ip_address, current.ip_address, width)
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

    def failed_rows(self) -> list[TaskRow]:
        return [r for r in self.rows.values() if r.state == "failed"]

    def needs_new_credentials(self) -> bool:
        return any(r.fault_type in CREDENTIAL_FAULTS for r in self.failed_rows())

    @property
    def running(self) -> bool:
        return not self.finished and any(not r.final for r in self.rows.values())

    def wipe_credentials(self) -> None:
        self.creds = None


NO_IP_YET = "no IP yet"


def ip_changed(before: str | None, current: str | None) -> bool:
    """True when the guest has an address that it did not have at launch."""
    return bool(current) and current != before


def ip_result(before: str | None, current: str | None, width: int | None = None) -> str:
    """``10.64.0.10 → 10.64.0.89``; ``- → …`` when no address was known at launch;
    ``10.64.0.10 (unchanged)`` or ``10.64.0.10 → no IP yet`` while the new one has not arrived.

    With ``width``, the longest form that fits: the before address goes first, the current
    one (the proof the admin looks for) stays."""
    before = before or None
    current = current or None
    if current is not None and current == before:
        forms: tuple[str, ...] = (f"{before} (unchanged)", f"{before} (same)")
    else:
        new = current or NO_IP_YET
        forms = (f"{before or '-'} → {new}", f"→ {new}")
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
