"""The task pane: one row per VM of a batch, a totals line, older batches on request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Static

from tui.ui.fleet import vm_label
from tui.ui.tasks import Batch, TaskRow, fmt_seconds
from tui.ui.widgets.linetable import Cell, Column, LineTable

STATE_CLASS = {
    "queued": "dim",
    "settling": "dim",
    "running": "accent",
    "succeeded": "good",
    "failed": "bad",
    "cancelled": "warn",
    "skipped": "warn",
    "stopped": "warn",
}
VERDICT_CLASS = {True: "good", False: "bad", None: "warn"}
BAR_WIDTH = 10


def progress_bar(row: TaskRow) -> str:
    if row.state == "succeeded":
        pct = 100
    elif row.event is None or row.event.progress is None:
        return "" if row.final else "·" * BAR_WIDTH
    else:
        pct = max(0, min(100, row.event.progress))
    filled = pct * BAR_WIDTH // 100
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {pct:3d}%"


class TaskTable(LineTable):
    """One row per VM of the shown batch; a succeeded row's RESULT is its verdict."""

    def __init__(self, *, id: str | None = None, clock: Callable[[], datetime]) -> None:
        super().__init__(id=id)
        self.current: Batch | None = None
        self._keys: list[str] = []
        self._pos: dict[str, int] = {}
        self.clock = clock
        self.compact = False

    def show(self, batch: Batch | None) -> None:
        self.current = batch
        self._keys = list(batch.rows) if batch is not None else []
        self._pos = {k: i for i, k in enumerate(self._keys)}
        self.cursor = 0
        self.rows_changed()

    def rows_added(self) -> None:
        """The shown (watch) batch has new rows, after the ones shown."""
        if self.current is None or len(self.current.rows) == len(self._keys):
            return
        for key in list(self.current.rows)[len(self._keys) :]:
            self._pos[key] = len(self._keys)
            self._keys.append(key)
        self.rows_changed()

    def columns_for(self, width: int) -> list[Column]:
        self.compact = width < 90
        if self.compact:
            return [
                Column("vm", "VM", 12, flex=True, weight=2, middle=True),
                Column("state", "STATE", 9),
                Column("progress", "PROG", 4),
                Column("elapsed", "TIME", 6),
                # 3:2 for RESULT: "10.64.0.10 → 10.64.0.89" needs 23 cells
                Column("result", "RESULT", 10, flex=True, weight=3),
            ]
        return [
            Column("vm", "VM", 16, flex=True, weight=2, middle=True),
            Column("state", "STATE", 9),
            Column("progress", "PROGRESS", BAR_WIDTH + 5),
            Column("queued", "QUEUED", 6),
            Column("elapsed", "ELAPSED", 7),
            Column("result", "RESULT", 12, flex=True, weight=3),
        ]

    def row_count(self) -> int:
        return len(self._keys)

    def row_key(self, index: int) -> str:
        return self._keys[index]

    def row_cells(self, index: int) -> list[Cell]:
        assert self.current is not None
        row = self.current.rows[self._keys[index]]
        now = self.clock()
        result = self._result(row)
        if self.compact:
            bar = progress_bar(row)
            return [
                (vm_label(row.vm), None),
                (row.state, STATE_CLASS.get(row.state)),
                (bar[-4:].strip() if "%" in bar else "", "accent"),
                (fmt_seconds(row.elapsed(now)), "dim"),
                result,
            ]
        return [
            (vm_label(row.vm), None),
            (row.state, STATE_CLASS.get(row.state)),
            (progress_bar(row), "accent"),
            (fmt_seconds(row.queued_for(now)), "dim"),
            (fmt_seconds(row.elapsed(now)), "dim"),
            result,
        ]

    def _result(self, row: TaskRow) -> Cell:
        if row.state == "failed":
            return row.result(), "bad"
        if row.verdict is not None:
            return row.result(self.column_width("result")), VERDICT_CLASS[row.verdict.verified]
        return row.result(), "dim"

    def refresh_moid(self, moid: str) -> None:
        pos = self._pos.get(moid)
        if pos is not None:
            self.refresh_row(pos)

    def selected_row(self) -> TaskRow | None:
        key = self.cursor_key
        if key is None or self.current is None:
            return None
        return self.current.rows.get(key)


class TaskPane(Vertical):
    """Totals line over the task table. ``[`` / ``]`` page through older batches."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "older", "Older batch", show=False),
        Binding("right_square_bracket", "newer", "Newer batch", show=False),
    ]

    def __init__(self, *, id: str | None = None, clock: Callable[[], datetime] | None = None):
        super().__init__(id=id, classes="pane")
        self.batches: list[Batch] = []
        self.index = -1  # shown batch; -1 = none
        self.clock = clock or (lambda: datetime.now(UTC))

    def compose(self) -> ComposeResult:
        yield Static("No batch yet. Mark VMs and press s.", id="task-totals")
        yield TaskTable(id="task-table", clock=self.clock)

    @property
    def table(self) -> TaskTable:
        return self.query_one(TaskTable)

    @property
    def shown(self) -> Batch | None:
        return self.batches[self.index] if 0 <= self.index < len(self.batches) else None

    @property
    def latest(self) -> Batch | None:
        return self.batches[-1] if self.batches else None

    def add_batch(self, batch: Batch) -> None:
        self.batches.append(batch)
        self.index = len(self.batches) - 1
        self.table.show(batch)
        self.update_totals()

    def task_changed(self, batch: Batch, moid: str) -> None:
        if batch is self.shown:
            self.table.refresh_moid(moid)
            self.update_totals()

    def batch_changed(self, batch: Batch) -> None:
        if batch is self.shown:
            self.table.refresh()
            self.update_totals()

    def rows_added(self, batch: Batch) -> None:
        """A watch batch gained rows."""
        if batch is self.shown:
            self.table.rows_added()
            self.update_totals()

    def tick(self) -> None:
        """Redraw elapsed / queued-for of open rows (called once a second)."""
        b = self.shown
        if b is not None and b.running:
            self.table.refresh()

    def update_totals(self) -> None:
        b = self.shown
        label = self.query_one("#task-totals", Static)
        if b is None:
            label.update("No batch yet. Mark VMs and press s.")
            return
        older = f"  [dim]{escape('[')} older: {self.index}[/]" if self.index > 0 else ""
        newer_n = len(self.batches) - 1 - self.index
        newer = f"  [dim]] newer: {newer_n}[/]" if newer_n > 0 else ""
        what = f"Watch {escape(' '.join(b.watch))}" if b.watch else "Batch"
        parts = [p for p in (b.summary(" · "), b.verdict_summary(" · "), escape(b.note)) if p]
        label.update(
            f"[b]{what} {b.number}[/b]/{len(self.batches)}: {len(b.rows)} VMs"
            + "".join(f" · {p}" for p in parts)
            + older
            + newer
        )

    def action_older(self) -> None:
        if self.index > 0:
            self.index -= 1
            self.table.show(self.shown)
            self.update_totals()

    def action_newer(self) -> None:
        if self.index < len(self.batches) - 1:
            self.index += 1
            self.table.show(self.shown)
            self.update_totals()
