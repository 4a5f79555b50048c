"""VM table control of the main screen: the watch stream's batches, the filter, marks and sort,
applied to the store and redrawn in the VM table, the count label, the header's counts and the
duplicate-address line under the table.

The screen routes keys and focus; this module changes what the table shows.
"""

from __future__ import annotations

from typing import Any

from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Static

from tui.ui.vmstore import SORT_COLUMNS, ApplyResult, VMStore
from tui.ui.widgets.info_bar import InfoBar
from tui.ui.widgets.vm_table import HOST_MIN_WIDTH, VMTable
from tui.vsphere.models import VMBatch


class VMControl:
    def __init__(self, screen: Screen[Any], store: VMStore) -> None:
        self.screen = screen
        self.store = store
        self._detail = ""  # the duplicate-address line as shown

    @property
    def table(self) -> VMTable:
        return self.screen.query_one(VMTable)

    def apply(self, batch: VMBatch) -> ApplyResult:
        """One batch of the watch stream into the store; redraw what it changed."""
        table = self.table
        keep = table.cursor_key
        result = self.store.apply(batch)
        if result.structural:
            self._rows_changed(keep)
        else:  # rows changed in place: counts and marks are as they were
            for moid in result.modified:
                table.refresh_moid(moid)
        if result.reindex:
            self.screen.run_worker(
                self._reindex(), group="addresses", exclusive=True, exit_on_error=False
            )
        if result.structural or result.dups or keep in result.modified:
            self.update_detail()
        return result

    def _rows_changed(self, keep: str | None) -> None:
        table = self.table
        pos = self.store.position(keep) if keep is not None else None
        table.rows_changed()
        if pos is not None and pos != table.cursor:
            table.cursor = pos
        self.update_counts()

    async def _reindex(self) -> None:
        """Index a re-sync's addresses (in slices, after the table is painted), then show
        the flags."""
        dups = await self.store.addresses.rebuild()
        if dups is None:
            return
        if self.store.reindexed(dups):
            self._rows_changed(self.table.cursor_key)
        else:
            self.table.refresh()
        self.update_detail()

    def update_detail(self) -> None:
        """The line under the table, shown while some VMs share an address: whom the cursor
        VM shares it with, or how many VMs do."""
        index = self.store.addresses
        key = self.table.cursor_key
        text = ""
        if index.dup:
            shares = index.shares(key) if key is not None and key in index.dup else None
            if key is not None and shares is not None:
                text = f"[b]{escape(self.store.vms[key].name)}[/b] {escape(shares)}"
            else:
                n = len(index.dup)
                text = f"{n} VMs share an address with another VM · filter [b]:dup[/b] lists them"
        if text != self._detail:
            self._detail = text
            line = self.screen.query_one("#vm-detail", Static)
            line.display = bool(text)
            line.update(text)

    def update_counts(self) -> None:
        s = self.store
        n, m = len(s.visible), s.total
        text = f"{n} of {m}" if s.filtered else f"{m} VMs"
        if s.marks:
            text += f" · {len(s.marks)} marked"
        self.screen.query_one("#count", Static).update(text)
        self.screen.query_one(InfoBar).set_counts(len(s.marks), s.total)

    # -- filter, marks ------------------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        if text != self.store.filter_text:
            self.store.set_filter(text)
            self.table.rows_changed()
            self.update_counts()

    def mark_cursor(self) -> None:
        """Toggle the mark on the cursor row and move down."""
        table = self.table
        key = table.cursor_key
        if key is None:
            return
        self.store.toggle_mark(key)
        table.refresh_row(table.cursor)
        table.action_cursor_down()
        self.update_counts()

    def mark_all(self) -> None:
        """Mark every VM that matches the filter."""
        added = self.store.mark_visible()
        self.table.refresh()
        self.update_counts()
        self.screen.notify(f"Marked {added} more ({len(self.store.marks)} marked)", timeout=2)

    def mark_duplicates(self) -> None:
        """Mark every VM that shares an address with another VM."""
        added = self.store.mark_duplicates()
        self.table.refresh()
        self.update_counts()
        n = len(self.store.addresses.dup)
        self.screen.notify(
            f"Marked {added} more of the {n} VMs with a duplicate address "
            f"({len(self.store.marks)} marked)",
            timeout=2,
        )

    def unmark(self) -> None:
        self.store.clear_marks()
        self.table.refresh()
        self.update_counts()

    # -- sort ---------------------------------------------------------------------------------
    def sortable_columns(self) -> list[str]:
        """The columns shown: no host sort when the table is too narrow to show hosts, no
        vCenter sort while the vCenter column is hidden (or one vCenter is open)."""
        wide = self.table.content_width >= HOST_MIN_WIDTH
        site = bool(self.store.sites) and self.store.show_site
        return [c for c in SORT_COLUMNS if (c != "host" or wide) and (c != "vcenter" or site)]

    def sort_step(self, step: int) -> None:
        """Sort by the column ``step`` places right (or left) of the current one."""
        cols = self.sortable_columns()
        cur = self.store.sort_column
        i = cols.index(cur) if cur in cols else 0
        self.sort_by(cols[(i + step) % len(cols)], self.store.sort_reverse)

    def sort_by(self, column: str, reverse: bool) -> None:
        table = self.table
        keep = table.cursor_key
        self.store.set_sort(column, reverse)
        table.refresh_header()
        table.rows_changed()
        if keep is not None and (pos := self.store.position(keep)) is not None:
            table.cursor = pos
        order = "descending" if reverse else "ascending"
        self.screen.notify(f"Sorted by {column} {order}", timeout=1.5)
