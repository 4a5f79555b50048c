"""``start-network`` progress on stderr: a live summary line on a terminal, else plain lines."""

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
        self.states: dict[str, str] = {}
        self._live_shown = False

    def _clear(self) -> None:
        if self._live_shown:
            self.stream.write("\r\x1b[K")
            self._live_shown = False

    def event(self, ev: TaskEvent) -> None:
        previous = self.states.get(ev.vm_moid)
        self.states[ev.vm_moid] = ev.state
        if ev.state != previous:
            if ev.final or not self.live:
                self._clear()
                detail = f" {ev.task}" if ev.task and not ev.final else ""
                if ev.fault is not None:
                    detail = f" {ev.fault.type_name}: {ev.fault.message}"
                done = sum(1 for s in self.states.values() if s in FINAL_STATES)
                self.stream.write(f"[{done}/{self.total}] {ev.vm_name}: {ev.state}{detail}\n")
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
