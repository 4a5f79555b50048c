"""The VM table: a LineTable over a VMStore (marks, filter, sort live in the store)."""

from __future__ import annotations

from dataclasses import replace

from tui.ui.fleet import site_of
from tui.ui.vmstore import VMStore
from tui.ui.widgets.linetable import Cell, Column, LineTable

POWER = {"poweredOn": ("on", "good"), "poweredOff": ("off", "dim"), "suspended": ("susp", "warn")}
TOOLS = {
    "guestToolsRunning": ("running", "good"),
    "guestToolsNotRunning": ("stopped", "bad"),
    "guestToolsExecutingScripts": ("starting", "warn"),
}
MARK = "●"
DUP = "dup"  # the DUP cell of a VM that shares an address with another VM
HOST_MIN_WIDTH = 130  # the host name column is laid out from this content width on
SITE_MAX_WIDTH = 12  # the VCENTER column (several vCenters open): longer names are cut


class VMTable(LineTable):
    """Columns: mark, name, power, tools, IP, DUP, path (then the vCenter while several are
    open, and the host name when wide)."""

    def __init__(self, store: VMStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store

    def columns_for(self, width: int) -> list[Column]:
        cols = [
            Column("mark", " ", 1),
            Column("name", "NAME", 16, flex=True, weight=3, middle=True),
            Column("power", "POWER", 5),
            Column("tools", "TOOLS", 8),
            Column("ip", "IP", 15),
            Column("dup", "DUP", 4),
            Column("path", "PATH", 10, flex=True, weight=2, middle=True),
        ]
        if self.store.sites and self.store.show_site:
            width_site = min(SITE_MAX_WIDTH, max(len("VCENTER"), *map(len, self.store.sites)))
            cols.append(Column("vcenter", "VCENTER", width_site))
        if width >= HOST_MIN_WIDTH:
            cols.append(Column("host", "HOST NAME", 24))
        arrow = "▼" if self.store.sort_reverse else "▲"
        return [
            replace(c, label=f"{c.label}{arrow}") if c.key == self.store.sort_column else c
            for c in cols
        ]

    def row_count(self) -> int:
        return len(self.store.visible)

    def row_key(self, index: int) -> str:
        return self.store.visible[index]

    def row_cells(self, index: int) -> list[Cell]:
        moid = self.store.visible[index]
        vm = self.store.vms[moid]
        power, power_cls = POWER.get(vm.power_state or "", (vm.power_state or "?", "warn"))
        tools, tools_cls = TOOLS.get(
            vm.tools_running_status or "", (vm.tools_running_status or "?", "dim")
        )
        if tools_cls == "good" and vm.guest_operations_ready is False:
            tools, tools_cls = "no-ops", "warn"
        cells: list[Cell] = [
            (MARK if moid in self.store.marks else " ", "mark"),
            (vm.name, None),
            (power, power_cls),
            (tools, tools_cls),
            (vm.ip_address or "-", "accent" if vm.ip_address else "dim"),
            (DUP, "warn") if self.store.has_duplicate(moid) else ("", None),
            (vm.folder, "dim"),
        ]
        if self.store.sites and self.store.show_site:
            cells.append((site_of(moid), "accent"))
        cells.append((vm.host_name or "-", "dim"))  # not drawn unless the host column is laid out
        return cells

    def refresh_moid(self, moid: str) -> None:
        pos = self.store.position(moid)
        if pos is not None:
            self.refresh_row(pos)

    def refresh_header(self) -> None:
        """The sort column or direction changed: re-label the header."""
        self._columns = []
        self.refresh()
