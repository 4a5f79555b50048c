"""The main screen of one vCenter session: VM table, task pane, fault pane; the actions on them.

It knows nothing of the app that shows it: what it needs (the connected client, the profile, an
audit sink, the guest username default) comes into its constructor, and it talks upward with
messages (``LeaveRequested``). Its long-lived streams (the VM watch, each batch's task events)
are workers of this screen with ``exit_on_error=False``: they run while a modal or the help is
shown over it, their failures become a banner or a notification, and ``close()`` stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus, Resize
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker

from tui.ui.addresses import AddressIndex
from tui.ui.audit import AuditSink
from tui.ui.fleet import Fleet
from tui.ui.screens.batch_control import BatchControl
from tui.ui.screens.modals import ConfirmModal
from tui.ui.screens.vm_control import VMControl
from tui.ui.screens.watch_control import DEFAULT_SETTLE, WatchControl
from tui.ui.session import VCenter
from tui.ui.vmstore import VMStore
from tui.ui.widgets.fault_pane import FaultPane
from tui.ui.widgets.info_bar import InfoBar
from tui.ui.widgets.linetable import LineTable
from tui.ui.widgets.task_pane import TaskPane, TaskTable
from tui.ui.widgets.vm_table import VMTable
from tui.ui.worker_errors import notify_worker_error
from tui.vsphere.errors import GuestnetError
from tui.vsphere.models import VM, VMBatch
from tui.vsphere.verify import DEFAULT_VERIFY_TIMEOUT

if TYPE_CHECKING:
    from tui.config.profiles import Profile

PANES = ("vms", "tasks", "fault")
NARROW_WIDTH = 100  # below this width, or this height, one pane at a time
NARROW_HEIGHT = 30
Leave = Literal["quit", "profiles"]


class MainScreen(Screen[None]):
    class LeaveRequested(Message):
        """The admin asked to leave this session: ``quit`` the app or go back to the
        ``profiles`` picker; running tasks, if any, were confirmed. The app calls ``close()``,
        logs out and goes where asked."""

        def __init__(self, main: MainScreen, where: Leave) -> None:
            super().__init__()
            self.main = main
            self.where: Leave = where

    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: handled as the key arrives, so keys typed right after "/" reach the filter
        Binding("slash", "filter", "Filter", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("space", "mark", "Mark", show=False),
        Binding("ctrl+a", "mark_all", "Mark all", show=False),
        Binding("u", "unmark", "Unmark all", show=False),
        Binding("s", "start", "Start"),
        Binding("w", "watch", "Watch"),
        Binding("r", "retry", "Retry"),
        Binding("c", "cancel", "Cancel"),
        Binding("A", "abort", "Abort cust.", show=False),
        Binding("y", "copy_fault", "Copy fault", show=False),
        Binding("ctrl+r", "resync", "Re-sync", show=False),
        Binding("V", "toggle_vcenter", "vCenter column", show=False),
        Binding("less_than_sign", "sort(-1)", "Sort ←", show=False),
        Binding("greater_than_sign", "sort(1)", "Sort →", show=False),
        Binding("tab", "next_pane(1)", "Next pane", show=False),
        Binding("shift+tab", "next_pane(-1)", "Previous pane", show=False),
        Binding("1", "show_pane('vms')", "VMs", show=False),
        Binding("2", "show_pane('tasks')", "Tasks", show=False),
        Binding("3", "show_pane('fault')", "Fault", show=False),
        Binding("p", "leave('profiles')", "Profiles"),
        Binding("question_mark", "app.help", "Help"),
        Binding("q", "leave('quit')", "Quit"),
    ]

    def __init__(
        self,
        profile: Profile,
        client: VCenter,
        *,
        audit: AuditSink,
        guest_username: Callable[[], str],
        demo: bool = False,
        clock: Callable[[], datetime] | None = None,
        verify_timeout: float = DEFAULT_VERIFY_TIMEOUT,
        watch_settle: float = DEFAULT_SETTLE,
        reconnect: Callable[[], None] | None = None,
    ) -> None:
        """``client``: the connected vCenter session, ``profile`` its profile; ``audit``
        records this session's actions; ``guest_username()`` is the start dialog's default
        guest user (asked each time: the environment may change); ``verify_timeout``: how
        long a started VM has to prove its new address; ``watch_settle``: the watch's delay
        between a VM becoming ready and its start. Several vCenters in one view: ``client`` is a
        ``Fleet`` (tui/ui/fleet.py) and ``reconnect()`` (ctrl+r) logs in again where a login
        was refused or cancelled."""
        super().__init__(id="main")
        self.profile = profile
        self.client = client
        self.demo = demo
        self.clock = clock
        self.reconnect = reconnect
        self.store = VMStore(addresses=AddressIndex(verify_timeout))
        fleet = client if isinstance(client, Fleet) and len(client.sites) > 1 else None
        if fleet is not None:
            self.store.sites = tuple(fleet.sites)
        self.vm_control = VMControl(self, self.store)
        self.batch_control = BatchControl(
            self,
            profile,
            client,
            self.store,
            audit=audit,
            guest_username=guest_username,
            reveal=self._reveal,
            read_only_of=fleet.read_only_of if fleet is not None else lambda moid: None,
        )
        self.watch_control = WatchControl(
            self,
            profile,
            client,
            self.store,
            self.batch_control,
            audit=audit,
            guest_username=guest_username,
            settle=watch_settle,
            verify_timeout=verify_timeout,
        )
        self.active = "vms"
        self.narrow = False
        self.loaded = False
        self.status = ""

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
            yield Static("", id="vm-detail")
        with Horizontal(id="lower"):
            yield TaskPane(id="task-pane", clock=self.clock)
            yield FaultPane(id="fault-pane")
        yield Footer()

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
        self.query_one("#vm-detail", Static).display = False
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
        self.run_worker(
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
            self.store.addresses.stop(str(exc))
            self._set_banner(f"VM updates stopped: {exc} — ctrl+r re-syncs, p picks a profile")
            self.notify(str(exc), title="VM updates stopped", severity="error")
        except Exception as exc:  # a bug below must not kill the app
            self.store.addresses.stop(exc.__class__.__name__)
            self._set_banner(f"VM updates stopped: {exc.__class__.__name__} — ctrl+r re-syncs")
            self.notify(
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
        if batch.resync:
            self.loaded = True
            if self.status:
                self._set_banner("")
            self.refresh_bindings()
        self.vm_control.apply(batch)

    def action_resync(self) -> None:
        self.notify("Re-reading the inventory…", timeout=2)
        if self.reconnect is not None:
            self.reconnect()
        self.start_watch()

    def show_vcenters(self) -> None:
        """Each vCenter's state, version, API release and TLS (several open; the palette)."""
        if isinstance(self.client, Fleet):
            self.notify("\n".join(self.client.summary()), title="vCenters", timeout=15)

    def action_toggle_vcenter(self) -> None:
        """Show or hide the VCENTER column (several vCenters open)."""
        if not self.store.sites:
            self.notify("One vCenter is open: there is no vCenter column.", timeout=2)
            return
        self.store.show_site = not self.store.show_site
        if not self.store.show_site and self.store.sort_column == "vcenter":
            self.vm_control.sort_by("name", False)
        self.vm_table.refresh_header()
        self.vm_table.rows_changed()

    # -- filter, marks, sort (tui/ui/screens/vm_control.py) ----------------------------------
    def action_filter(self) -> None:
        if self.narrow and self.active != "vms":
            self.action_show_pane("vms")
        self.set_focus(self.query_one("#filter", Input))  # typeahead goes to the filter

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.vm_control.set_filter(event.input.value)  # the value now, not a late event's

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_focus(self.vm_table)
        self.vm_table.cursor = 0

    def action_clear_filter(self) -> None:
        filt = self.query_one("#filter", Input)
        if filt.value:
            filt.value = ""
            self.vm_control.set_filter("")  # now; the Input.Changed that follows finds nothing
        if self.focused is filt:
            self.set_focus(self.vm_table)

    def action_mark(self) -> None:
        self.vm_control.mark_cursor()

    def action_mark_all(self) -> None:
        self.vm_control.mark_all()

    def action_unmark(self) -> None:
        self.vm_control.unmark()

    def action_mark_duplicates(self) -> None:
        self.vm_control.mark_duplicates()

    def action_sort(self, step: int) -> None:
        self.vm_control.sort_step(step)

    def sortable_columns(self) -> list[str]:
        return self.vm_control.sortable_columns()

    def sort_by(self, column: str, reverse: bool) -> None:
        self.vm_control.sort_by(column, reverse)

    # -- selection → fault pane ---------------------------------------------------------------
    @on(LineTable.CursorMoved)
    def _cursor_moved(self, event: LineTable.CursorMoved) -> None:
        if event.table is self.task_table and (
            self.task_table.has_focus or (self.narrow and self.active == "tasks")
        ):
            self.fault_pane.show(self.task_table.selected_row())
        elif event.table is self.vm_table:
            self.vm_control.update_detail()
            if self.vm_table.has_focus:
                self._show_vm_fault(event.key)

    def _show_vm_fault(self, moid: str | None) -> None:
        row = self.batch_control.latest_row.get(moid) if moid is not None else None
        if row is not None:
            self.fault_pane.show(row)

    # -- batches (tui/ui/screens/batch_control.py) ------------------------------------------
    def _reveal(self, pane: str) -> None:
        if self.narrow:
            self.action_show_pane(pane)

    def action_start(self) -> None:
        key = self.vm_table.cursor_key
        cursor = [self.store.vms[key]] if key is not None else []
        self.batch_control.start(self.store.marked_vms() or cursor)

    def action_watch(self) -> None:
        self.watch_control.toggle()

    def action_retry(self) -> None:
        self.batch_control.retry()

    def action_cancel(self) -> None:
        self.batch_control.cancel(
            self.task_table.selected_row() if self.task_table.has_focus else None
        )

    def action_abort(self) -> None:
        self.batch_control.abort(self._context_vm())

    def _context_vm(self) -> VM | None:
        if self.task_table.has_focus or (self.narrow and self.active in ("tasks", "fault")):
            row = self.task_table.selected_row()
            if row is not None:
                return self.store.vms.get(row.vm.moid, row.vm)
        key = self.vm_table.cursor_key
        return self.store.vms.get(key) if key is not None else None

    # -- fault export (tui/ui/widgets/fault_pane.py) ------------------------------------------
    def action_copy_fault(self) -> None:
        self.fault_pane.copy_json()

    def save_fault(self, directory: Path) -> Path | None:
        return self.fault_pane.save_json(directory, self.clock)

    # -- lifecycle ----------------------------------------------------------------------------
    def running_tasks(self) -> int:
        return (
            sum(1 for b in self.task_pane.batches for r in b.rows.values() if r.open)
            if self.is_mounted
            else 0
        )

    def _tick(self) -> None:
        self.task_pane.tick()

    def action_leave(self, where: Leave) -> None:
        """Post ``LeaveRequested``; while tasks are open, only after the admin confirms."""
        n = self.running_tasks()
        if not n:
            self.post_message(self.LeaveRequested(self, where))
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.post_message(self.LeaveRequested(self, where))

        question = "Quit guestnet?" if where == "quit" else "Go back to the profile picker?"
        open_tasks = "1 task is" if n == 1 else f"{n} tasks are"
        detail = (
            f"{open_tasks} still open. They go on in vCenter, but guestnet stops following them."
        )
        self.app.push_screen(ConfirmModal(question, detail), done)

    async def close(self) -> None:
        """Stop this screen's workers (the VM watch, every batch, cancel and abort calls) and
        wait for each to unwind: a batch's run closes its task collector on the way out. The
        client stays open; whoever connected it logs out after this."""
        workers = self.workers.cancel_node(self)
        # gather, not one wait() after another: Worker.wait() swallows a CancelledError, so
        # only gather lets a caller's timeout (the app's bounded logout) cancel this wait
        await asyncio.gather(*(w.wait() for w in workers), return_exceptions=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        notify_worker_error(event, self.notify)
