"""VM table control of the main screen: the watch stream's batches, the filter, marks and sort,
applied to the store and redrawn in the VM table, the count label and the header's counts.

The screen routes keys and focus; this module changes what the table shows.
"""

from __future__ import annotations

from typing import Any

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

    @property
    def table(self) -> VMTable:
        return self.screen.query_one(VMTable)

    def apply(self, batch: VMBatch) -> ApplyResult:
        """One batch of the watch stream into the store; redraw what it changed."""
        table = self.table
        keep = table.cursor_key
        result = self.store.apply(batch)
        if result.structural:
            pos = self.store.position(keep) if keep is not None else None
            table.rows_changed()
            if pos is not None and pos != table.cursor:
                table.cursor = pos
            self.update_counts()
        else:  # rows changed in place: counts and marks are as they were
            for moid in result.modified:
                table.refresh_moid(moid)
        return result

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

    def unmark(self) -> None:
        self.store.clear_marks()
        self.table.refresh()
        self.update_counts()

    # -- sort ---------------------------------------------------------------------------------
    def sortable_columns(self) -> list[str]:
        """The columns shown: no host sort when the table is too narrow to show hosts."""
        wide = self.table.content_width >= HOST_MIN_WIDTH
        return [c for c in SORT_COLUMNS if c != "host" or wide]

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
