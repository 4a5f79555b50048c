"""The main screen: VM table, task pane, fault pane; the actions on them.

Long-lived streams (the VM watch, each batch's task events) run as App-level workers with
``exit_on_error=False``; their failures become a banner or a notification.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus, Resize
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from tui.ui.screens.modals import ConfirmModal, StartModal, StartRequest, preflight
from tui.ui.session import GuestNetworkRunLike, VCenter
from tui.ui.tasks import Batch, TaskRow
from tui.ui.vmstore import SORT_COLUMNS, VMStore
from tui.ui.widgets.fault_pane import FaultPane, fault_json
from tui.ui.widgets.info_bar import InfoBar
from tui.ui.widgets.linetable import LineTable
from tui.ui.widgets.task_pane import TaskPane, TaskTable
from tui.ui.widgets.vm_table import HOST_MIN_WIDTH, VMTable
from tui.vsphere.errors import GuestnetError
from tui.vsphere.models import VM, GuestCredentials, TaskEvent, VMBatch

if TYPE_CHECKING:
    from tui.config.profiles import Profile
    from tui.ui.app import GuestnetApp

PANES = ("vms", "tasks", "fault")
NARROW_WIDTH = 100  # below this width, or this height, one pane at a time
NARROW_HEIGHT = 30


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: handled as the key arrives, so keys typed right after "/" reach the filter
        Binding("slash", "filter", "Filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("ctrl+a", "mark_all", "Mark all", show=False),
        Binding("u", "unmark", "Unmark all", show=False),
        Binding("s", "start", "Start"),
        Binding("r", "retry", "Retry"),
        Binding("c", "cancel", "Cancel"),
        Binding("A", "abort", "Abort cust.", show=False),
        Binding("y", "copy_fault", "Copy fault", show=False),
        Binding("ctrl+r", "resync", "Re-sync", show=False),
        Binding("less_than_sign", "sort(-1)", "Sort ←", show=False),
        Binding("greater_than_sign", "sort(1)", "Sort →", show=False),
        Binding("tab", "next_pane(1)", "Next pane", show=False),
        Binding("shift+tab", "next_pane(-1)", "Previous pane", show=False),
        Binding("1", "show_pane('vms')", "VMs", show=False),
        Binding("2", "show_pane('tasks')", "Tasks", show=False),
        Binding("3", "show_pane('fault')", "Fault", show=False),
        Binding("p", "app.profiles", "Profiles"),
        Binding("question_mark", "app.help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(
        self,
        profile: Profile,
        client: VCenter,
        *,
        demo: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(id="main")
        self.profile = profile
        self.client = client
        self.demo = demo
        self.clock = clock
        self.store = VMStore()
        self.runs: dict[int, GuestNetworkRunLike] = {}
        self.latest_row: dict[str, TaskRow] = {}  # VM moid -> its newest task row
        self.active = "vms"
        self.narrow = False
        self.loaded = False
        self.status = ""
        self._batch_no = 0

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield InfoBar(id="info")
        yield Static("", id="banner")
        yield Static("", id="tabbar")
        with Vertical(id="vm-pane", classes="pane"):
            with Horizontal(id="filter-row"):
                yield Static("/", id="filter-label")
                yield Input(placeholder="filter: name or path, glob ok", id="filter")
                yield Static("", id="count")
            yield VMTable(self.store, id="vm-table")
        with Horizontal(id="lower"):
            yield TaskPane(
                id="task-pane", clock=self.clock, current_vm=lambda m: self.store.vms.get(m)
            )
            yield FaultPane(id="fault-pane")
        yield Footer()

    @property
    def gapp(self) -> GuestnetApp:
        from tui.ui.app import GuestnetApp

        assert isinstance(self.app, GuestnetApp)
        return self.app

    @property
    def vm_table(self) -> VMTable:
        return self.query_one(VMTable)

    @property
    def task_pane(self) -> TaskPane:
        return self.query_one(TaskPane)

    @property
    def task_table(self) -> TaskTable:
        return self.query_one(TaskTable)

    @property
    def fault_pane(self) -> FaultPane:
        return self.query_one(FaultPane)

    def on_mount(self) -> None:
        self.query_one(InfoBar).set_session(
            self.profile.name, self.client, self.demo, self.profile.read_only
        )
        self.query_one("#banner", Static).display = False
        self.query_one("#count", Static).update("loading…")
        self._apply_layout()
        self.vm_table.focus()
        self.start_watch()
        self.set_interval(1.0, self._tick)

    def on_resize(self, event: Resize) -> None:
        self._apply_layout()

    def _apply_layout(self) -> None:
        narrow = self.size.width < NARROW_WIDTH or self.size.height < NARROW_HEIGHT
        self.narrow = narrow
        self.set_class(narrow, "-narrow")
        self.query_one("#vm-pane").display = not narrow or self.active == "vms"
        self.query_one("#lower").display = not narrow or self.active in ("tasks", "fault")
        self.task_pane.display = not narrow or self.active == "tasks"
        self.fault_pane.display = not narrow or self.active == "fault"
        tabbar = self.query_one("#tabbar", Static)
        tabbar.display = narrow
        labels = {"vms": "1 VMs", "tasks": "2 Tasks", "fault": "3 Fault"}
        tabbar.update(
            "  ".join(
                f"[reverse b] {labels[p]} [/]" if p == self.active else f" {labels[p]} "
                for p in PANES
            )
            + "  [dim]tab: next pane[/]"
        )
        for name, widget in self._pane_widgets().items():
            widget.set_class(name == self.active, "-active")

    def _pane_widgets(self) -> dict[str, Vertical | TaskPane | FaultPane]:
        return {
            "vms": self.query_one("#vm-pane", Vertical),
            "tasks": self.task_pane,
            "fault": self.fault_pane,
        }

    def action_show_pane(self, name: str) -> None:
        self.active = name
        self._apply_layout()
        target = {"vms": self.vm_table, "tasks": self.task_table, "fault": self.fault_pane}[name]
        self.set_focus(target)  # now, not after the keys already typed (typeahead)

    def action_next_pane(self, step: int) -> None:
        i = PANES.index(self.active)
        self.action_show_pane(PANES[(i + step) % len(PANES)])

    @on(DescendantFocus)
    def _focus_moved(self, event: DescendantFocus) -> None:
        w = event.widget
        pane = None
        if w is self.vm_table or w.id == "filter":
            pane = "vms"
        elif w is self.task_table:
            pane = "tasks"
        elif w is self.fault_pane:
            pane = "fault"
        if pane is not None and pane != self.active:
            self.active = pane
            self._apply_layout()
        if w is self.vm_table:
            self._show_vm_fault(self.vm_table.cursor_key)
        elif w is self.task_table:
            self.fault_pane.show(self.task_table.selected_row())
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and isinstance(self.focused, Input):
            return False  # "/" is a character in the filter (globs like */prod/*)
        if action in ("mark", "mark_all", "unmark") and not self.loaded:
            return None
        return True

    # -- VM stream ----------------------------------------------------------------------------
    def start_watch(self) -> None:
        self.gapp.run_worker(
            self._watch(), group="watch", exclusive=True, exit_on_error=False, name="watch_vms"
        )

    async def _watch(self) -> None:
        watch = None
        try:
            watch = self.client.watch_vms(root=self.profile.root, on_status=self._on_status)
            async for batch in watch:
                self.apply_vm_batch(batch)
        except asyncio.CancelledError:
            if watch is not None:
                with contextlib.suppress(Exception):
                    await watch.aclose()
            raise
        except GuestnetError as exc:
            self._set_banner(f"VM updates stopped: {exc} — ctrl+r re-syncs, p picks a profile")
            self.gapp.notify(str(exc), title="VM updates stopped", severity="error")
        except Exception as exc:  # a bug below must not kill the app
            self._set_banner(f"VM updates stopped: {exc.__class__.__name__} — ctrl+r re-syncs")
            self.gapp.notify(
                f"{exc.__class__.__name__}: {exc}", title="VM updates stopped", severity="error"
            )

    def _on_status(self, text: str) -> None:
        self._set_banner(text)

    def _set_banner(self, text: str) -> None:
        self.status = text
        if not self.is_mounted:
            return
        banner = self.query_one("#banner", Static)
        banner.update(escape(text))
        banner.display = bool(text)

    def apply_vm_batch(self, batch: VMBatch) -> None:
        table = self.vm_table
        keep = table.cursor_key
        result = self.store.apply(batch)
        if batch.resync:
            self.loaded = True
            if self.status:
                self._set_banner("")
            self.refresh_bindings()
        if result.structural:
            pos = self.store.position(keep) if keep is not None else None
            table.rows_changed()
            if pos is not None and pos != table.cursor:
                table.cursor = pos
            self._update_counts()
        else:  # rows changed in place: counts and marks are as they were
            for moid in result.modified:
                table.refresh_moid(moid)
        if batch.resync:
            self.task_pane.addresses_reloaded()
        elif result.ips:
            self.task_pane.addresses_changed(result.ips)

    def _update_counts(self) -> None:
        s = self.store
        n, m = len(s.visible), s.total
        text = f"{n} of {m}" if s.filtered else f"{m} VMs"
        if s.marks:
            text += f" · {len(s.marks)} marked"
        self.query_one("#count", Static).update(text)
        self.query_one(InfoBar).set_counts(len(s.marks), s.total)

    def action_resync(self) -> None:
        self.gapp.notify("Re-reading the inventory…", timeout=2)
        self.start_watch()

    # -- filter, marks, sort ------------------------------------------------------------------
    def action_filter(self) -> None:
        if self.narrow and self.active != "vms":
            self.action_show_pane("vms")
        self.set_focus(self.query_one("#filter", Input))  # typeahead goes to the filter

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.input.value)  # the value now: a late event is not re-applied

    def _set_filter(self, text: str) -> None:
        if text != self.store.filter_text:
            self.store.set_filter(text)
            self.vm_table.rows_changed()
            self._update_counts()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_focus(self.vm_table)
        self.vm_table.cursor = 0

    def action_clear_filter(self) -> None:
        filt = self.query_one("#filter", Input)
        if filt.value:
            filt.value = ""
            self._set_filter("")  # now; the Input.Changed that follows finds nothing to do
        if self.focused is filt:
            self.set_focus(self.vm_table)

    def action_mark(self) -> None:
        key = self.vm_table.cursor_key
        if key is None:
            return
        self.store.toggle_mark(key)
        self.vm_table.refresh_row(self.vm_table.cursor)
        self.vm_table.action_cursor_down()
        self._update_counts()

    def action_mark_all(self) -> None:
        added = self.store.mark_visible()
        self.vm_table.refresh()
        self._update_counts()
        self.gapp.notify(f"Marked {added} more ({len(self.store.marks)} marked)", timeout=2)

    def action_unmark(self) -> None:
        self.store.clear_marks()
        self.vm_table.refresh()
        self._update_counts()

    def sortable_columns(self) -> list[str]:
        wide = self.vm_table.content_width >= HOST_MIN_WIDTH
        return [c for c in SORT_COLUMNS if c != "host" or wide]

    def action_sort(self, step: int) -> None:
        cols = self.sortable_columns()
        cur = self.store.sort_column
        i = cols.index(cur) if cur in cols else 0
        self.sort_by(cols[(i + step) % len(cols)], self.store.sort_reverse)

    def sort_by(self, column: str, reverse: bool) -> None:
        keep = self.vm_table.cursor_key
        self.store.set_sort(column, reverse)
        self.vm_table.refresh_header()
        self.vm_table.rows_changed()
        if keep is not None and (pos := self.store.position(keep)) is not None:
            self.vm_table.cursor = pos
        self.gapp.notify(
            f"Sorted by {column} {'descending' if reverse else 'ascending'}", timeout=1.5
        )

    # -- selection → fault pane ---------------------------------------------------------------
    @on(LineTable.CursorMoved)
    def _cursor_moved(self, event: LineTable.CursorMoved) -> None:
        if event.table is self.task_table and (
            self.task_table.has_focus or (self.narrow and self.active == "tasks")
        ):
            self.fault_pane.show(self.task_table.selected_row())
        elif event.table is self.vm_table and self.vm_table.has_focus:
            self._show_vm_fault(event.key)

    def _show_vm_fault(self, moid: str | None) -> None:
        row = self.latest_row.get(moid) if moid is not None else None
        if row is not None:
            self.fault_pane.show(row)

    # -- start / retry ------------------------------------------------------------------------
    def _refuse_read_only(self, what: str) -> bool:
        if self.profile.read_only:
            self.gapp.notify(
                f"Profile {self.profile.name} is read-only: {what} is disabled.",
                severity="warning",
            )
            return True
        return False

    def _guest_username(self) -> str:
        if self.profile.guest_username:
            return self.profile.guest_username
        from tui.config.credentials import guest_login_from_env

        env = guest_login_from_env()
        return env[0] if env is not None else ""

    def action_start(self) -> None:
        if self._refuse_read_only("starting the guest network"):
            return
        vms = self.store.marked_vms()
        if not vms:
            key = self.vm_table.cursor_key
            if key is None:
                self.gapp.notify("No VM to start: the table is empty.", severity="warning")
                return
            vms = [self.store.vms[key]]

        def done(req: StartRequest | None) -> None:
            if req is not None:
                self.launch(vms, req)

        self.app.push_screen(StartModal(vms, self._guest_username()), done)

    def launch(self, vms: list[VM], req: StartRequest, retry_of: Batch | None = None) -> Batch:
        ready, skipped = preflight(vms)
        run_vms = vms if req.include_skipped else ready
        skip_rows = [] if req.include_skipped else skipped
        return self._launch(run_vms, skip_rows, req.creds, retry_of)

    def _launch(
        self,
        run_vms: list[VM],
        skipped: list[tuple[VM, str]],
        creds: GuestCredentials,
        retry_of: Batch | None,
    ) -> Batch:
        # the VMs as the watch stream has them now (the start dialog may have been open a
        # while): a row's guest address at launch is the "before" its RESULT shows
        vms = self.store.vms
        run_vms = [vms.get(vm.moid, vm) for vm in run_vms]
        skipped = [(vms.get(vm.moid, vm), why) for vm, why in skipped]
        self._batch_no += 1
        batch = Batch.create(self._batch_no, creds, run_vms, skipped)
        for old in self.task_pane.batches:
            if old is not retry_of and not old.running:
                old.wipe_credentials()
        self.task_pane.add_batch(batch)
        for row in batch.rows.values():
            self.latest_row[row.vm.moid] = row
        self.gapp.audit(
            "start-guest-network" if retry_of is None else "retry-guest-network",
            vms=[(vm.name, vm.moid) for vm in run_vms],
            skipped=[{"name": vm.name, "moid": vm.moid, "reason": why} for vm, why in skipped],
            guest_user=creds.username,
        )
        if self.narrow:
            self.action_show_pane("tasks")
        if run_vms:
            self.gapp.run_worker(
                self._run_batch(batch, run_vms, creds),
                group=f"batch-{batch.number}",
                exit_on_error=False,
                name=f"batch {batch.number}",
            )
        else:
            self.gapp.notify("Nothing to start: every VM was skipped.", severity="warning")
        return batch

    async def _run_batch(self, batch: Batch, vms: list[VM], creds: GuestCredentials) -> None:
        try:
            run = self.client.start_guest_network(vms, creds, self.profile.concurrency)
            self.runs[batch.number] = run
            async with run:
                async for ev in run:
                    self.task_event(batch, ev)
        except asyncio.CancelledError:
            batch.fail_unfinished("stopped: the app left this session")
            raise
        except GuestnetError as exc:
            batch.fail_unfinished(str(exc))
            self.gapp.notify(str(exc), title=f"Batch {batch.number} failed", severity="error")
        except Exception as exc:
            batch.fail_unfinished(f"{exc.__class__.__name__}: {exc}")
            self.gapp.notify(
                f"{exc.__class__.__name__}: {exc}",
                title=f"Batch {batch.number} failed",
                severity="error",
            )
        finally:
            batch.finished = True
            self.runs.pop(batch.number, None)
        self.task_pane.batch_changed(batch)
        self._refresh_fault_if_showing(None)
        summary = batch.summary()
        failed = batch.totals()["failed"]
        self.gapp.notify(
            f"Batch {batch.number} done: {summary}" + (" — r retries the failed" if failed else ""),
            severity="warning" if failed else "information",
        )
        self.gapp.audit(
            "guest-network-result",
            vms=[(r.vm.name, r.vm.moid) for r in batch.rows.values() if r.state != "skipped"],
            tasks=[r.event.task for r in batch.rows.values() if r.event and r.event.task],
            outcome=summary,
            faults=sorted({r.fault_type for r in batch.rows.values() if r.fault_type}),
        )

    def task_event(self, batch: Batch, ev: TaskEvent) -> None:
        row = batch.apply(ev)
        if row is None:
            return
        self.task_pane.task_changed(batch, ev.vm_moid)
        shown = self.fault_pane.row
        if row.state == "failed" and (shown is None or shown.state != "failed"):
            self.fault_pane.show(row)  # the first failure shows itself
        else:
            self._refresh_fault_if_showing(row)

    def _refresh_fault_if_showing(self, row: TaskRow | None) -> None:
        shown = self.fault_pane.row
        if shown is not None and (row is None or shown is row):
            self.fault_pane.show(shown)

    def action_retry(self) -> None:
        if self._refuse_read_only("retrying"):
            return
        batch = self.task_pane.shown
        if batch is None:
            self.gapp.notify("No batch to retry yet.", severity="warning")
            return
        failed = batch.failed_rows()
        if not failed:
            self.gapp.notify(f"Batch {batch.number} has no failed VMs.", severity="information")
            return
        vms = [self.store.vms.get(r.vm.moid, r.vm) for r in failed]
        if batch.needs_new_credentials() or batch.creds is None:
            kinds = sorted({r.fault_type for r in failed if r.fault_type})
            note = (
                f"The last attempt failed with {', '.join(kinds)}: check the guest account."
                if batch.needs_new_credentials()
                else "Enter the guest credentials again."
            )

            def done(req: StartRequest | None) -> None:
                if req is not None:
                    self.launch(vms, req, retry_of=batch)

            self.app.push_screen(
                StartModal(
                    vms,
                    batch.creds.username if batch.creds else self._guest_username(),
                    title="Retry guest network",
                    note=note,
                ),
                done,
            )
            return
        self._launch(vms, [], batch.creds, batch)

    # -- cancel / abort -----------------------------------------------------------------------
    def action_cancel(self) -> None:
        batch = self.task_pane.shown
        run = self.runs.get(batch.number) if batch is not None else None
        if batch is None or run is None:
            self.gapp.notify("No running batch to cancel.", severity="warning")
            return
        row = self.task_table.selected_row() if self.task_table.has_focus else None
        if row is not None and not row.final:
            self.gapp.run_worker(self._cancel_one(run, row), group="cancel", exit_on_error=False)
            return
        queued = sum(1 for r in batch.rows.values() if r.state == "queued")
        if not queued:
            self.gapp.notify(
                f"Nothing queued in batch {batch.number}: select a running task in the task "
                "pane and press c to cancel it.",
                severity="warning",
            )
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.gapp.run_worker(
                    self._cancel_queued(run, batch), group="cancel", exit_on_error=False
                )

        self.app.push_screen(
            ConfirmModal(
                f"Cancel all {queued} queued tasks of batch {batch.number}?",
                "Running tasks go on; select one in the task pane and press c to cancel it.",
            ),
            done,
        )

    async def _cancel_one(self, run: GuestNetworkRunLike, row: TaskRow) -> None:
        try:
            if await run.cancel(row.vm.moid):
                self.gapp.notify(f"Cancel requested for {row.vm.name}", timeout=2)
            else:
                self.gapp.notify(f"{row.vm.name} already finished", timeout=2)
        except GuestnetError as exc:
            self.gapp.notify(str(exc), title=f"Cancel {row.vm.name}", severity="error")

    async def _cancel_queued(self, run: GuestNetworkRunLike, batch: Batch) -> None:
        """Cancel what has not started: not yet dispatched, and tasks vCenter holds queued."""
        try:
            n = await run.cancel_queued()
            for row in list(batch.rows.values()):
                ev = row.event
                if ev is not None and ev.state == "queued" and ev.task and not row.final:
                    if await run.cancel(row.vm.moid):
                        n += 1
            self.gapp.notify(f"Cancelled {n} queued tasks of batch {batch.number}", timeout=2)
        except GuestnetError as exc:
            self.gapp.notify(str(exc), title="Cancel queued", severity="error")

    def _context_vm(self) -> VM | None:
        if self.task_table.has_focus or (self.narrow and self.active in ("tasks", "fault")):
            row = self.task_table.selected_row()
            if row is not None:
                return self.store.vms.get(row.vm.moid, row.vm)
        key = self.vm_table.cursor_key
        return self.store.vms.get(key) if key is not None else None

    def action_abort(self) -> None:
        if self._refuse_read_only("aborting customization"):
            return
        vm = self._context_vm()
        if vm is None:
            self.gapp.notify("No VM selected.", severity="warning")
            return

        creds = None
        for b in reversed(self.task_pane.batches):
            if vm.moid in b.rows and b.creds is not None:
                creds = b.creds
                break

        def with_creds(req: StartRequest | None) -> None:
            if req is not None:
                self.gapp.run_worker(self._abort(vm, req.creds), group="abort", exit_on_error=False)

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if creds is not None:
                self.gapp.run_worker(self._abort(vm, creds), group="abort", exit_on_error=False)
            else:
                self.app.push_screen(
                    StartModal(
                        [vm],
                        self._guest_username(),
                        title="Abort customization",
                        note="AbortCustomization_Task needs the guest account.",
                        check=False,
                    ),
                    with_creds,
                )

        self.app.push_screen(
            ConfirmModal(
                f"Abort guest customization on {vm.name}?",
                "Runs AbortCustomization_Task: it clears a customization lock left behind by a "
                "failed or stuck start. The guest log is "
                "/var/log/vmware-gosc/instant_clone_customization.log.",
            ),
            done,
        )

    async def _abort(self, vm: VM, creds: GuestCredentials) -> None:
        try:
            ev = await self.client.abort_customization(vm.moid, creds)
        except GuestnetError as exc:
            self.gapp.notify(str(exc), title=f"Abort on {vm.name}", severity="error")
            return
        row = TaskRow(vm=vm, state="failed" if ev.fault else ev.state, event=ev)
        self.gapp.audit(
            "abort-customization",
            vms=[(vm.name, vm.moid)],
            tasks=[ev.task] if ev.task else [],
            outcome=ev.state,
            faults=[ev.fault.type_name] if ev.fault else [],
        )
        if ev.fault is not None:
            self.fault_pane.show(row)
            if self.narrow:
                self.action_show_pane("fault")
            self.gapp.notify(
                f"{ev.fault.type_name}: {ev.fault.message}",
                title=f"Abort on {vm.name} failed",
                severity="error",
            )
        else:
            self.gapp.notify(f"AbortCustomization on {vm.name}: {ev.state}")

    # -- fault export -------------------------------------------------------------------------
    def action_copy_fault(self) -> None:
        row = self.fault_pane.row
        if row is None:
            self.gapp.notify("No fault shown.", severity="warning")
            return
        self.app.copy_to_clipboard(fault_json(row))
        self.gapp.notify(f"Copied the fault of {row.vm.name} as JSON", timeout=2)

    def save_fault(self, directory: Path) -> Path | None:
        row = self.fault_pane.row
        if row is None:
            self.gapp.notify("No fault shown.", severity="warning")
            return None
        stamp = (self.clock or datetime.now)().strftime("%Y%m%dT%H%M%S")
        path = directory / f"guestnet-fault-{row.vm.name}-{stamp}.json"
        try:
            path.write_text(fault_json(row) + "\n", encoding="utf-8")
        except OSError as exc:
            self.gapp.notify(
                f"Cannot write {path}: {exc.strerror}", title="Save fault", severity="error"
            )
            return None
        self.gapp.notify(f"Saved {path}", title="Save fault")
        return path

    # -- lifecycle ----------------------------------------------------------------------------
    def running_tasks(self) -> int:
        return (
            sum(1 for b in self.task_pane.batches for r in b.rows.values() if not r.final)
            if self.is_mounted
            else 0
        )

    def _tick(self) -> None:
        self.task_pane.tick()
