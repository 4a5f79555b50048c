"""``start-network`` progress on stderr: a live summary line on a terminal, else plain lines.

With several vCenters one ``Progress`` counts them all; each vCenter's run reports through its
``scoped`` view, whose lines name the vCenter (``[2/5] web-01 (lab): succeeded``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.vsphere.models import TaskEvent

FINAL_STATES = ("succeeded", "failed", "cancelled")


class Progress:
    """A line per state change of a VM (only final states on a terminal, under a live summary
    line of the counts)."""

    def __init__(self, total: int, stream: Any) -> None:
        self.total = total
        self.stream = stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.states: dict[tuple[str | None, str], str] = {}  # (vCenter, moid) → state
        self._live_shown = False

    def _clear(self) -> None:
        if self._live_shown:
            self.stream.write("\r\x1b[K")
            self._live_shown = False

    def scoped(self, scope: str) -> ScopedProgress:
        return ScopedProgress(self, scope)

    def event(self, ev: TaskEvent, scope: str | None = None) -> None:
        key = (scope, ev.vm_moid)
        previous = self.states.get(key)
        self.states[key] = ev.state
        if ev.state != previous:
            if ev.final or not self.live:
                self._clear()
                detail = f" {ev.task}" if ev.task and not ev.final else ""
                if ev.fault is not None:
                    detail = f" {ev.fault.type_name}: {ev.fault.message}"
                done = sum(1 for s in self.states.values() if s in FINAL_STATES)
                name = ev.vm_name if scope is None else f"{ev.vm_name} ({scope})"
                self.stream.write(f"[{done}/{self.total}] {name}: {ev.state}{detail}\n")
        self._draw()

    def note(self, text: str) -> None:
        self._clear()
        self.stream.write(text + "\n")
        self._draw()

    def _draw(self) -> None:
        if not self.live:
            self.stream.flush()
            return
        counts: dict[str, int] = {}
        for s in self.states.values():
            counts[s] = counts.get(s, 0) + 1
        done = sum(counts.get(s, 0) for s in FINAL_STATES)
        parts = [f"{done}/{self.total} done"]
        for s in ("running", "queued", "started", "pending"):
            if counts.get(s):
                parts.append(f"{counts[s]} {s}")
        self.stream.write("\r\x1b[K" + ", ".join(parts))
        self.stream.flush()
        self._live_shown = True

    def close(self) -> None:
        self._clear()
        self.stream.flush()


class ScopedProgress:
    """One vCenter's view of a shared ``Progress``: its lines name the vCenter; ``close`` is left
    to the owner of the shared line."""

    def __init__(self, shared: Progress, scope: str) -> None:
        self.shared = shared
        self.scope = scope

    def event(self, ev: TaskEvent) -> None:
        self.shared.event(ev, self.scope)

    def note(self, text: str) -> None:
        self.shared.note(f"{self.scope}: {text}")

    def close(self) -> None:
        """Nothing: the shared line is closed once, when every vCenter's run is over."""
