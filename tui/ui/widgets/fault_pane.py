"""The fault pane: everything known about why one task failed, in plain words."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import Static

from tui.ui.tasks import TaskRow, fmt_time
from tui.vsphere import explain
from tui.vsphere.models import Fault
from tui.vsphere.verify import Verdict

EMPTY = "No fault selected. Failed tasks show here when selected in the task pane or VM table."
VERDICT_TITLE = {
    True: "[b $success]Verified[/]",
    False: "[b $error]NOT verified[/]",
    None: "[b $warning]Unverified[/]",
}
VERDICT_ADVICE = {
    True: "The guest left its launch address and no other VM holds its address or MAC.",
    False: "The guest still answers on an address (or MAC) another VM holds: check its DHCP "
    "client and /var/log/vmware-gosc/instant_clone_customization.log, then start it again.",
    None: "No proof either way: check the VM's network in vCenter (guest.net), or start it again.",
}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def fault_report(row: TaskRow) -> dict[str, Any]:
    """The JSON document that ``y`` copies and the palette saves."""
    ev = row.event
    doc: dict[str, Any] = {
        "vm": {"name": row.vm.name, "moid": row.vm.moid, "path": row.vm.path},
        "state": row.state,
    }
    if row.skip_reason:
        doc["skip_reason"] = row.skip_reason
    if row.error:
        doc["error"] = row.error
    if row.note:
        doc["note"] = row.note
    if row.verdict is not None:
        doc["verdict"] = row.verdict.to_json()
    if ev is not None:
        doc["task"] = ev.task
        doc["attempt"] = ev.attempt
        doc["queue_time"] = _iso(ev.queue_time)
        doc["start_time"] = _iso(ev.start_time)
        doc["complete_time"] = _iso(ev.complete_time)
        if ev.fault is not None:
            hint = explain(ev.fault.type_name)
            doc["fault"] = ev.fault.to_json()
            doc["hint"] = {
                "title": hint.title,
                "explanation": hint.explanation,
                "remedy": hint.remedy,
            }
    return doc


def fault_json(row: TaskRow) -> str:
    return json.dumps(fault_report(row), indent=2, default=str)


def _args(args: tuple[tuple[str, object], ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args) or "none"


def render_fault(row: TaskRow) -> str:
    """Textual markup for one row; all server text is escaped."""
    e = escape
    ev = row.event
    lines: list[str] = []
    fault: Fault | None = ev.fault if ev is not None else None
    if fault is not None:
        hint = explain(fault.type_name)
        lines.append(f"[b $error]{e(fault.type_name)}[/] — [b]{e(hint.title)}[/b]")
        lines.append(e(hint.explanation))
        lines.append(f"[b $success]Remedy:[/] {e(hint.remedy)}")
        lines.append("")
        lines.append(f"[b]Message:[/b] {e(fault.message or '(none)')}")
        if fault.messages:
            lines.append("[b]faultMessage:[/b]")
            for m in fault.messages:
                lines.append(f"  • [i]{e(m.key)}[/i]  args: {e(_args(m.args))}")
                if m.message:
                    lines.append(f"    {e(m.message)}")
        chain = fault.chain()
        if len(chain) > 1:
            lines.append("[b]Cause chain:[/b]")
            for depth, f in enumerate(chain):
                lead = "  " + ("  " * (depth - 1) + "└ " if depth else "")
                lines.append(f"{lead}{e(f.type_name)}: {e(f.message or '')}")
                for m in f.messages if depth else ():
                    lines.append(f"{lead}  [i]{e(m.key)}[/i] ({e(_args(m.args))})")
    elif row.state == "skipped":
        lines.append(f"[b $warning]Skipped[/] — {e(row.skip_reason or '')}")
        lines.append("Pre-flight found this VM not ready; start it with “include anyway” to try.")
    elif row.error:
        lines.append(f"[b $error]Error[/] — {e(row.error)}")
    elif row.verdict is not None:
        lines.extend(render_verdict(row.verdict))
    elif ev is not None:
        lines.append(f"[b]{e(row.state)}[/b] — no fault")
        if row.verifying:
            lines.append("Verifying: waiting for the guest's new address on the VM stream.")
    else:
        lines.append(f"[b]{e(row.state)}[/b]")
    if row.note and row.verdict is None:
        lines.append(f"[b]Watch:[/b] {e(row.note)}")
    lines.append("")
    lines.append(f"[b]VM:[/b] {e(row.vm.name)} ({e(row.vm.moid)})  [dim]{e(row.vm.path)}[/]")
    if ev is not None:
        lines.append(f"[b]Task:[/b] {e(ev.task or '-')}  attempt {ev.attempt}")
        day = next((t for t in (ev.queue_time, ev.start_time) if t is not None), None)
        lines.append(
            f"[b]Queued[/b] {fmt_time(ev.queue_time)}  [b]Started[/b] {fmt_time(ev.start_time)}"
            f"  [b]Completed[/b] {fmt_time(ev.complete_time)}"
            + (f"  [dim]{day:%Y-%m-%d}[/]" if day is not None else "")
        )
    if fault is not None:
        lines.append("[dim]y copies this fault as JSON · ctrl+p “save fault” writes a file[/]")
    return "\n".join(lines)


def render_verdict(v: Verdict) -> list[str]:
    """A succeeded row's verdict in full: what was proven, the addresses before and after."""
    e = escape
    return [
        f"{VERDICT_TITLE[v.verified]} — {e(v.reason)}",
        e(VERDICT_ADVICE[v.verified]),
        "",
        f"[b]At launch:[/b] IP {e(v.ip_before or '-')}  MAC {e(v.mac_before or '-')}",
        f"[b]After:[/b]     IP {e(v.ip_after or '-')}  MAC {e(v.mac_after or '-')}",
    ]


class FaultPane(VerticalScroll):
    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.row: TaskRow | None = None

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="fault-body")

    def show(self, row: TaskRow | None) -> None:
        self.row = row
        body = self.query_one("#fault-body", Static)
        body.update(EMPTY if row is None else render_fault(row))
        self.scroll_home(animate=False)

    # -- export: y copies, the palette saves -------------------------------------------------
    def copy_json(self) -> None:
        """The shown fault as JSON to the terminal's clipboard (OSC 52)."""
        row = self.row
        if row is None:
            self.notify("No fault shown.", severity="warning")
            return
        self.app.copy_to_clipboard(fault_json(row))
        self.notify(f"Copied the fault of {row.vm.name} as JSON", timeout=2)

    def save_json(
        self, directory: Path, clock: Callable[[], datetime] | None = None
    ) -> Path | None:
        """The shown fault as a JSON file in ``directory``; its path, or None."""
        row = self.row
        if row is None:
            self.notify("No fault shown.", severity="warning")
            return None
        stamp = (clock or datetime.now)().strftime("%Y%m%dT%H%M%S")
        path = directory / f"guestnet-fault-{row.vm.name}-{stamp}.json"
        try:
            path.write_text(fault_json(row) + "\n", encoding="utf-8")
        except OSError as exc:
            self.notify(
                f"Cannot write {path}: {exc.strerror}", title="Save fault", severity="error"
            )
            return None
        self.notify(f"Saved {path}", title="Save fault")
        return path
