"""The watch toggle of the main screen: start the guest network on matching VMs as they appear.

``w`` (or the palette) turns on an ``AutoStarter`` (tui/vsphere/autostart.py) for the filter's
pattern — or, when the filter cannot be one, for the patterns asked in a small dialog — with the
guest credentials asked once. It runs its own VM stream and task run, and writes the same ledger
as the CLI's ``guestnet watch``, so the two never start a VM twice. Its events become the rows of
a "watch" batch in the task pane; the header says ``WATCH <patterns>`` while it runs. ``w`` again
turns it off (asking first while its tasks run: they go on in vCenter, and the next watcher
adopts them from the ledger); closing the screen stops it with the screen's other workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.worker import Worker

from tui.ui.audit import AuditSink
from tui.ui.fleet import Fleet
from tui.ui.screens.batch_control import BatchControl
from tui.ui.screens.modals import ConfirmModal, StartModal, StartRequest, WatchModal, WatchRequest
from tui.ui.session import VCenter
from tui.ui.tasks import Batch, apply_watch_event
from tui.ui.vmstore import GLOB_CHARS, VMStore, split_dup
from tui.ui.widgets.info_bar import InfoBar
from tui.ui.widgets.task_pane import TaskPane
from tui.vsphere.autostart import AutoStarter, WatchEvent, WatchRules
from tui.vsphere.errors import GuestnetError
from tui.vsphere.match import GlobError, check_glob, matches_any
from tui.vsphere.models import GuestCredentials
from tui.vsphere.verify import DEFAULT_VERIFY_TIMEOUT

if TYPE_CHECKING:
    from tui.config.ledger import Ledger
    from tui.config.profiles import Profile

DEFAULT_SETTLE = WatchRules(()).settle
STOPPED = "the watch was turned off; its task goes on in vCenter (the next watcher adopts it)"
NOT_STARTED = "the watch was turned off before it started this VM"


def patterns_from_filter(text: str) -> tuple[str, ...] | None:
    """The filter as watch patterns: a glob as it is, a plain substring as ``*text*``; None
    when it cannot be one (empty, ``:dup``, a bad glob)."""
    dup, rest = split_dup(text)
    rest = rest.strip()
    if dup or not rest:
        return None
    pattern = rest if GLOB_CHARS & set(rest) else f"*{rest}*"
    try:
        return (check_glob(pattern),)
    except GlobError:
        return None


class WatchControl:
    def __init__(
        self,
        screen: Screen[Any],
        profile: Profile,
        client: VCenter,
        store: VMStore,
        batches: BatchControl,
        *,
        audit: AuditSink,
        guest_username: Callable[[], str],
        settle: float = DEFAULT_SETTLE,
        verify_timeout: float = DEFAULT_VERIFY_TIMEOUT,
    ) -> None:
        self.screen = screen
        self.profile = profile
        self.client = client
        self.store = store
        self.batches = batches
        self.audit = audit
        self.guest_username = guest_username
        self.settle = settle
        self.verify_timeout = verify_timeout
        # several vCenters in one view (tui/ui/fleet.py): the watch is not offered
        self.single_vcenter = not isinstance(client, Fleet) or len(client.sites) == 1
        self.batch: Batch | None = None  # the running watch's batch
        self.starter: AutoStarter | None = None
        self.waiting: set[str] = set()  # matching VMs not ready yet (no row)
        self._worker: Worker[None] | None = None

    @property
    def on(self) -> bool:
        return self._worker is not None

    @property
    def task_pane(self) -> TaskPane:
        return self.screen.query_one(TaskPane)

    def toggle(self) -> None:
        if self.on:
            self.turn_off()
        else:
            self.turn_on()

    # -- on -----------------------------------------------------------------------------------
    def turn_on(self) -> None:
        """Patterns from the filter (or asked), then the guest credentials, then the watcher."""
        if self.batches.refuse_read_only("watching"):
            return
        if self.single_vcenter is False:
            self.screen.notify(
                "The watch follows one vCenter (and its ledger, shared with guestnet watch): "
                "open that profile on its own to watch it.",
                severity="warning",
            )
            return
        patterns = patterns_from_filter(self.store.filter_text)
        if patterns is not None:
            self._ask_credentials(patterns, self.settle)
            return

        def done(req: WatchRequest | None) -> None:
            if req is not None:
                self._ask_credentials(req.patterns, req.settle)

        initial = split_dup(self.store.filter_text)[1]
        self.screen.app.push_screen(WatchModal(initial, self.settle), done)

    def _ask_credentials(self, patterns: tuple[str, ...], settle: float) -> None:
        now = sum(1 for vm in self.store.vms.values() if matches_any(vm, patterns))
        info = (
            f"{' '.join(patterns)} matches {now} VM{'s' if now != 1 else ''} now. Each match "
            f"that is ready is started {settle:g} s after it became ready, once (the watch "
            "ledger, shared with guestnet watch, skips VMs a watcher already started), then "
            "verified."
        )

        def done(req: StartRequest | None) -> None:
            if req is not None:
                self.launch(patterns, settle, req.creds)

        modal = StartModal(
            [],
            self.guest_username(),
            title="Watch",
            headline="Watch: start matching VMs as they appear",
            info=info,
            check=False,
        )
        self.screen.app.push_screen(modal, done)

    def launch(self, patterns: tuple[str, ...], settle: float, creds: GuestCredentials) -> None:
        rules = WatchRules(
            patterns,
            root=self.profile.root,
            settle=settle,
            concurrency=self.profile.concurrency,
            verify_timeout=self.verify_timeout,
        )
        batch = self.batch = Batch(self.batches.new_number(), creds, watch=patterns)
        self.waiting.clear()
        self.task_pane.add_batch(batch)
        self.screen.query_one(InfoBar).set_watch(patterns)
        self.audit("watch-on", patterns=list(patterns), settle=settle, guest_user=creds.username)
        self.batches.reveal("tasks")
        self._worker = self.screen.run_worker(
            self._run(rules, creds, batch), group="autostart", exit_on_error=False, name="watch"
        )
        self.screen.notify(f"Watching {' '.join(patterns)} — w stops", timeout=3)

    def _ledger(self) -> Ledger:
        from tui.config.ledger import Ledger

        return Ledger(f"{self.client.host}:{self.client.port}").load()

    async def _run(self, rules: WatchRules, creds: GuestCredentials, batch: Batch) -> None:
        try:
            ledger = await asyncio.to_thread(self._ledger)
            async with AutoStarter(self.client, creds, rules, ledger) as starter:
                self.starter = starter
                async for ev in starter:
                    self.event(batch, ev)
        except (GuestnetError, OSError) as exc:
            self.screen.notify(str(exc), title="Watch stopped", severity="error")
        finally:
            self._ended(batch)

    # -- events -------------------------------------------------------------------------------
    def event(self, batch: Batch, ev: WatchEvent) -> None:
        """One watcher event into the watch batch (and the audit log)."""
        vm = ev.vm
        if ev.kind == "stopped":
            self.screen.notify(ev.message, title="Watch stopped", severity="error")
        if vm is None:
            batch.note = ev.message
            self.task_pane.update_totals()
            return
        if ev.kind == "waiting" and vm.moid not in batch.rows:
            self.waiting.add(vm.moid)
            self._note_waiting(batch)
            return
        if vm.moid in self.waiting:
            self.waiting.discard(vm.moid)
            self._note_waiting(batch)
        new = vm.moid not in batch.rows
        row = batch.add_row(vm)
        apply_watch_event(row, ev)
        self.batches.latest_row[vm.moid] = row
        if new:
            self.task_pane.rows_added(batch)
        else:
            self.task_pane.task_changed(batch, vm.moid)
        self.batches.refresh_fault_if_showing(row)
        self._audit(ev, batch.watch)
        if ev.kind in ("not-verified", "unverified") and ev.verdict is not None:
            self.screen.notify(
                f"{vm.name}: {ev.verdict.word}: {ev.verdict.reason}",
                title="Watch",
                severity="warning",
            )

    def _note_waiting(self, batch: Batch) -> None:
        n = len(self.waiting)
        batch.note = f"{n} matching VM{'s' if n != 1 else ''} not ready yet" if n else ""
        self.task_pane.update_totals()

    def _audit(self, ev: WatchEvent, patterns: tuple[str, ...]) -> None:
        assert ev.vm is not None
        base: dict[str, Any] = {
            "vms": [(ev.vm.name, ev.vm.moid)],
            "tasks": [ev.task] if ev.task else [],
            "watch": list(patterns),
        }
        if ev.kind in ("started", "adopted"):
            self.audit("start-guest-network", adopted=ev.kind == "adopted", **base)
        elif ev.kind in ("succeeded", "failed"):
            faults = [ev.fault.type_name] if ev.fault else []
            self.audit("guest-network-result", outcome=ev.message, faults=faults, **base)
        elif ev.verdict is not None:
            verdict = {"name": ev.vm.name, "moid": ev.vm.moid, **ev.verdict.to_json()}
            self.audit("verify-guest-network", outcome=ev.verdict.word, verdicts=[verdict], **base)

    # -- off ----------------------------------------------------------------------------------
    def turn_off(self) -> None:
        """Stop watching; while its tasks run, only after the admin confirms."""
        running = len(self.starter.running) if self.starter is not None else 0
        if not running:
            self._stop()
            return

        def done(yes: bool | None) -> None:
            if yes:
                self._stop()

        tasks = "1 task it started is" if running == 1 else f"{running} tasks it started are"
        self.screen.app.push_screen(
            ConfirmModal(
                f"Stop watching {' '.join(self.batch.watch if self.batch else ())}?",
                f"{tasks} still running. They go on in vCenter; the next watcher (w here, or "
                "guestnet watch) finds them in the ledger and follows them to the end.",
            ),
            done,
        )

    def _stop(self) -> None:
        worker = self._worker
        if worker is not None:
            worker.cancel()
            self.screen.notify("Watch off", timeout=2)

    def _ended(self, batch: Batch) -> None:
        """The watcher stopped (turned off, failed, or the screen closes)."""
        running = len(self.starter.running) if self.starter is not None else 0
        self.starter = None
        self._worker = None
        self.batch = None
        self.waiting.clear()
        for row in batch.rows.values():
            if not row.final:
                row.error = STOPPED if row.open else NOT_STARTED
                row.state = "stopped"
        batch.finished = True
        batch.wipe_credentials()
        batch.note = ""
        self.audit(
            "watch-off", patterns=list(batch.watch), outcome=batch.summary(), running=running
        )
        if self.screen.is_mounted:
            self.screen.query_one(InfoBar).set_watch(())
            self.task_pane.batch_changed(batch)
