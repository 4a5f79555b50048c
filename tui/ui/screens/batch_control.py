"""Batch control of the main screen: start, retry, cancel, abort, and the workers behind them.

Every worker runs on the screen it is given (``screen.run_worker``): it lives while that screen
is mounted, a modal shown over it included, and ``MainScreen.close()`` stops it. The screen
decides *which* VMs or task row an action is about; this module does the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from tui.ui.audit import AuditSink
from tui.ui.fleet import site_of
from tui.ui.screens.modals import ConfirmModal, StartModal, StartRequest, preflight
from tui.ui.session import GuestNetworkRunLike, VCenter
from tui.ui.tasks import Batch, TaskRow
from tui.ui.verdicts import BatchVerdicts
from tui.ui.vmstore import VMStore
from tui.ui.widgets.fault_pane import FaultPane
from tui.ui.widgets.task_pane import TaskPane
from tui.vsphere.errors import GuestnetError
from tui.vsphere.models import VM, GuestCredentials, TaskEvent

if TYPE_CHECKING:
    from tui.config.profiles import Profile


class BatchControl:
    """The batches of one vCenter session and the workers that follow them."""

    def __init__(
        self,
        screen: Screen[Any],
        profile: Profile,
        client: VCenter,
        store: VMStore,
        *,
        audit: AuditSink,
        guest_username: Callable[[], str],
        reveal: Callable[[str], None],
        read_only_of: Callable[[str], str | None] = lambda moid: None,
    ) -> None:
        """``read_only_of(moid)``: the read-only profile a VM belongs to, in a view of several
        vCenters (tui/ui/fleet.py) where only some are read-only; else None."""
        self.screen = screen
        self.read_only_of = read_only_of
        self.profile = profile
        self.client = client
        self.store = store
        self.audit = audit
        self.guest_username = guest_username
        self.reveal = reveal  # show a pane ("tasks", "fault") when only one fits
        self.runs: dict[int, GuestNetworkRunLike] = {}  # batch number -> its open run
        self.verdicts: dict[int, BatchVerdicts] = {}  # batch number -> its verifications
        self.latest_row: dict[str, TaskRow] = {}  # VM moid -> its newest task row
        self._batch_no = 0

    @property
    def task_pane(self) -> TaskPane:
        return self.screen.query_one(TaskPane)

    @property
    def fault_pane(self) -> FaultPane:
        return self.screen.query_one(FaultPane)

    def new_number(self) -> int:
        """The next batch number (the watch's batch counts too)."""
        self._batch_no += 1
        return self._batch_no

    def _worker(self, work: Any, group: str, name: str = "") -> None:
        self.screen.run_worker(work, group=group, exit_on_error=False, name=name)

    def refuse_read_only(self, what: str) -> bool:
        if self.profile.read_only:
            self.screen.notify(
                f"Profile {self.profile.name} is read-only: {what} is disabled.",
                severity="warning",
            )
            return True
        return False

    # -- start / retry ------------------------------------------------------------------------
    def start(self, vms: list[VM]) -> None:
        """Ask for the guest credentials, then start the guest network on ``vms``."""
        if self.refuse_read_only("starting the guest network"):
            return
        if not vms:
            self.screen.notify("No VM to start: the table is empty.", severity="warning")
            return
        locked: list[tuple[VM, str]] = []  # VMs of a read-only profile: skipped, no override
        writable: list[VM] = []
        for vm in vms:
            if (name := self.read_only_of(vm.moid)) is not None:
                locked.append((vm, f"profile {name} is read-only"))
            else:
                writable.append(vm)
        if not writable:
            names = sorted({why for _vm, why in locked})
            self.screen.notify(
                f"{'; '.join(names)}: starting the guest network is disabled.",
                severity="warning",
            )
            return

        sites = tuple(dict.fromkeys(site_of(vm.moid) for vm in writable if site_of(vm.moid)))

        def done(req: StartRequest | None) -> None:
            if req is None:
                return
            if req.per_vcenter:
                self._ask_per_vcenter(writable, req, locked, sites)
            else:
                self.launch(writable, req, locked=locked)

        modal = StartModal(writable, self.guest_username(), sites=sites)
        self.screen.app.push_screen(modal, done)

    def _ask_per_vcenter(
        self,
        vms: list[VM],
        req: StartRequest,
        locked: list[tuple[VM, str]],
        sites: tuple[str, ...],
    ) -> None:
        """The guest credentials of each vCenter after the first (whose are ``req``'s), one
        dialog each; then the launch. Escape in any of them starts nothing."""
        got = {sites[0]: req.creds}

        def ask(rest: tuple[str, ...]) -> None:
            if not rest:
                self.launch(vms, req, locked=locked, site_creds=got)
                return
            site = rest[0]
            mine = [vm for vm in vms if site_of(vm.moid) == site]

            def done(answer: StartRequest | None) -> None:
                if answer is None:
                    self.screen.notify("Nothing started.", severity="warning", timeout=3)
                    return
                got[site] = answer.creds
                ask(rest[1:])

            self.screen.app.push_screen(
                StartModal(
                    mine,
                    req.creds.username,
                    title=f"Guest account on {site}",
                    headline=f"Guest account for the {len(mine)} VMs on {site}",
                    check=False,
                ),
                done,
            )

        ask(sites[1:])

    def launch(
        self,
        vms: list[VM],
        req: StartRequest,
        retry_of: Batch | None = None,
        locked: list[tuple[VM, str]] | None = None,
        site_creds: dict[str, GuestCredentials] | None = None,
    ) -> Batch:
        """``locked``: VMs skipped whatever the request says (a read-only profile's);
        ``site_creds``: the guest credentials of each vCenter, when asked per vCenter."""
        ready, skipped = preflight(vms)
        run_vms = vms if req.include_skipped else ready
        skip_rows = (locked or []) + ([] if req.include_skipped else skipped)
        return self.launch_now(run_vms, skip_rows, req.creds, retry_of, site_creds)

    def launch_now(
        self,
        run_vms: list[VM],
        skipped: list[tuple[VM, str]],
        creds: GuestCredentials,
        retry_of: Batch | None,
        site_creds: dict[str, GuestCredentials] | None = None,
    ) -> Batch:
        """A new batch in the task pane, its audit record, and its worker."""
        # the VMs as the watch stream has them now (the start dialog may have been open a
        # while): a row's guest address at launch is the "before" of its verdict
        vms = self.store.vms
        run_vms = [vms.get(vm.moid, vm) for vm in run_vms]
        skipped = [(vms.get(vm.moid, vm), why) for vm, why in skipped]
        batch = Batch.create(self.new_number(), creds, run_vms, skipped)
        batch.site_creds = dict(site_creds or {})
        for old in self.task_pane.batches:
            if old is not retry_of and not old.running:
                old.wipe_credentials()
        self.task_pane.add_batch(batch)
        for row in batch.rows.values():
            self.latest_row[row.vm.moid] = row
        per_site = {k: c.username for k, c in (site_creds or {}).items()}
        self.audit(
            "start-guest-network" if retry_of is None else "retry-guest-network",
            vms=[(vm.name, vm.moid) for vm in run_vms],
            skipped=[{"name": vm.name, "moid": vm.moid, "reason": why} for vm, why in skipped],
            guest_user=creds.username,
            **({"guest_users": per_site} if per_site else {}),
        )
        self.reveal("tasks")
        if run_vms:
            self._worker(
                self._run_batch(batch, run_vms, creds),
                group=f"batch-{batch.number}",
                name=f"batch {batch.number}",
            )
        else:
            self.screen.notify("Nothing to start: every VM was skipped.", severity="warning")
        return batch

    async def _run_batch(self, batch: Batch, vms: list[VM], creds: GuestCredentials) -> None:
        """The batch's tasks, then its verdicts, then the verdicts' audit record."""
        verdicts = self.verdicts[batch.number] = BatchVerdicts(
            batch, self.store.addresses, self._verdict
        )
        try:
            await self._run_tasks(batch, vms, creds)
            await verdicts.wait()  # each verdict redrew its row
            self._verdicts_done(batch)
        finally:
            verdicts.cancel()  # the session closes: what is still waiting ends unverified
            del self.verdicts[batch.number]
            fields = verdicts.audit_fields()
            if fields is not None:
                self.audit("verify-guest-network", **fields)

    async def _run_tasks(self, batch: Batch, vms: list[VM], creds: GuestCredentials) -> None:
        try:
            await self._follow(batch, vms, creds)
        except asyncio.CancelledError:
            batch.fail_unfinished("stopped: the app left this session")
            raise
        except GuestnetError as exc:
            batch.fail_unfinished(str(exc))
            self.screen.notify(str(exc), title=f"Batch {batch.number} failed", severity="error")
        except Exception as exc:
            batch.fail_unfinished(f"{exc.__class__.__name__}: {exc}")
            self.screen.notify(
                f"{exc.__class__.__name__}: {exc}",
                title=f"Batch {batch.number} failed",
                severity="error",
            )
        finally:
            batch.finished = True
            self.runs.pop(batch.number, None)
        self._batch_done(batch)

    async def _follow(self, batch: Batch, vms: list[VM], creds: GuestCredentials) -> None:
        """The run's events into the batch; leaving the ``async with`` closes the run."""
        per_site = {"site_creds": batch.site_creds} if batch.site_creds else {}
        run = self.client.start_guest_network(vms, creds, self.profile.concurrency, **per_site)
        self.runs[batch.number] = run
        async with run:
            async for ev in run:
                self.task_event(batch, ev)

    def _batch_done(self, batch: Batch) -> None:
        self.task_pane.batch_changed(batch)
        self.refresh_fault_if_showing(None)
        summary = batch.summary()
        failed = batch.totals()["failed"]
        self.screen.notify(
            f"Batch {batch.number} done: {summary}" + (" — r retries the failed" if failed else ""),
            severity="warning" if failed else "information",
        )
        self.audit(
            "guest-network-result",
            vms=[(r.vm.name, r.vm.moid) for r in batch.rows.values() if r.state != "skipped"],
            tasks=[r.event.task for r in batch.rows.values() if r.event and r.event.task],
            outcome=summary,
            faults=sorted({r.fault_type for r in batch.rows.values() if r.fault_type}),
        )

    def _verdicts_done(self, batch: Batch) -> None:
        bad = [r.vm.name for r in batch.rows.values() if r.verdict and r.verdict.verified is False]
        if bad:
            self.screen.notify(
                f"{len(bad)} NOT verified: {', '.join(bad[:3])}{' …' if len(bad) > 3 else ''}"
                " — the fault pane says why",
                title=f"Batch {batch.number}",
                severity="warning",
            )

    def task_event(self, batch: Batch, ev: TaskEvent) -> None:
        row = batch.apply(ev)
        if row is None:
            return
        if row.state == "succeeded" and (verdicts := self.verdicts.get(batch.number)):
            verdicts.add(row)
        self.task_pane.task_changed(batch, ev.vm_moid)
        shown = self.fault_pane.row
        if row.state == "failed" and (shown is None or shown.state != "failed"):
            self.fault_pane.show(row)  # the first failure shows itself
        else:
            self.refresh_fault_if_showing(row)

    def _verdict(self, batch: Batch, row: TaskRow) -> None:
        """A verdict arrived: redraw its row (and the fault pane if it shows the row)."""
        self.task_pane.task_changed(batch, row.vm.moid)
        self.refresh_fault_if_showing(row)

    def refresh_fault_if_showing(self, row: TaskRow | None) -> None:
        shown = self.fault_pane.row
        if shown is not None and (row is None or shown is row):
            self.fault_pane.show(shown)

    def retry(self) -> None:
        """Retry the failed VMs of the shown batch; ask again for credentials it lacks."""
        if self.refuse_read_only("retrying"):
            return
        batch = self.task_pane.shown
        if batch is None:
            self.screen.notify("No batch to retry yet.", severity="warning")
            return
        if batch.watch and not batch.finished:
            self.screen.notify(
                "The watch retries its failed VMs itself (with backoff); w turns it off.",
                severity="information",
            )
            return
        failed = batch.failed_rows()
        if not failed:
            self.screen.notify(f"Batch {batch.number} has no failed VMs.", severity="information")
            return
        vms = [self.store.vms.get(r.vm.moid, r.vm) for r in failed]
        if batch.needs_new_credentials() or batch.creds is None:
            self._ask_retry_credentials(batch, vms)
            return
        self.launch_now(vms, [], batch.creds, batch, batch.site_creds)

    def _ask_retry_credentials(self, batch: Batch, vms: list[VM]) -> None:
        kinds = sorted({r.fault_type for r in batch.failed_rows() if r.fault_type})
        note = (
            f"The last attempt failed with {', '.join(kinds)}: check the guest account."
            if batch.needs_new_credentials()
            else "Enter the guest credentials again."
        )

        def done(req: StartRequest | None) -> None:
            if req is not None:
                self.launch(vms, req, retry_of=batch)

        username = batch.creds.username if batch.creds else self.guest_username()
        modal = StartModal(vms, username, title="Retry guest network", note=note)
        self.screen.app.push_screen(modal, done)

    # -- cancel -------------------------------------------------------------------------------
    def cancel(self, selected: TaskRow | None) -> None:
        """Cancel ``selected`` (a task row of the shown batch) or, without one, after a question,
        every queued task of the shown batch."""
        batch = self.task_pane.shown
        run = self.runs.get(batch.number) if batch is not None else None
        if batch is not None and batch.watch:
            self.screen.notify(
                "The watch's tasks are not cancelled from here: w turns the watch off "
                "(its tasks go on in vCenter).",
                severity="warning",
            )
            return
        if batch is None or run is None:
            self.screen.notify("No running batch to cancel.", severity="warning")
            return
        if selected is not None and not selected.final:
            self._worker(self._cancel_one(run, selected), group="cancel")
            return
        queued = sum(1 for r in batch.rows.values() if r.state == "queued")
        if not queued:
            self.screen.notify(
                f"Nothing queued in batch {batch.number}: select a running task in the task "
                "pane and press c to cancel it.",
                severity="warning",
            )
            return

        def done(yes: bool | None) -> None:
            if yes:
                self._worker(self._cancel_queued(run, batch), group="cancel")

        self.screen.app.push_screen(
            ConfirmModal(
                f"Cancel all {queued} queued tasks of batch {batch.number}?",
                "Running tasks go on; select one in the task pane and press c to cancel it.",
            ),
            done,
        )

    async def _cancel_one(self, run: GuestNetworkRunLike, row: TaskRow) -> None:
        try:
            if await run.cancel(row.vm.moid):
                self.screen.notify(f"Cancel requested for {row.vm.name}", timeout=2)
            else:
                self.screen.notify(f"{row.vm.name} already finished", timeout=2)
        except GuestnetError as exc:
            self.screen.notify(str(exc), title=f"Cancel {row.vm.name}", severity="error")

    async def _cancel_queued(self, run: GuestNetworkRunLike, batch: Batch) -> None:
        """Cancel what has not started: not yet dispatched, and tasks vCenter holds queued."""
        try:
            n = await run.cancel_queued()
            for row in list(batch.rows.values()):
                ev = row.event
                if ev is not None and ev.state == "queued" and ev.task and not row.final:
                    if await run.cancel(row.vm.moid):
                        n += 1
            self.screen.notify(f"Cancelled {n} queued tasks of batch {batch.number}", timeout=2)
        except GuestnetError as exc:
            self.screen.notify(str(exc), title="Cancel queued", severity="error")

    # -- abort --------------------------------------------------------------------------------
    def abort(self, vm: VM | None) -> None:
        """AbortCustomization_Task on ``vm`` after a question, with the guest credentials of its
        latest batch or, without one, credentials asked for."""
        if self.refuse_read_only("aborting customization"):
            return
        if vm is None:
            self.screen.notify("No VM selected.", severity="warning")
            return
        if (name := self.read_only_of(vm.moid)) is not None:
            self.screen.notify(
                f"Profile {name} is read-only: aborting customization is disabled.",
                severity="warning",
            )
            return
        creds = next(
            (
                b.creds
                for b in reversed(self.task_pane.batches)
                if vm.moid in b.rows and b.creds is not None
            ),
            None,
        )

        def with_creds(req: StartRequest | None) -> None:
            if req is not None:
                self._worker(self._abort(vm, req.creds), group="abort")

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if creds is not None:
                self._worker(self._abort(vm, creds), group="abort")
                return
            ask = StartModal(
                [vm],
                self.guest_username(),
                title="Abort customization",
                note="AbortCustomization_Task needs the guest account.",
                check=False,
            )
            self.screen.app.push_screen(ask, with_creds)

        self.screen.app.push_screen(
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
            self.screen.notify(str(exc), title=f"Abort on {vm.name}", severity="error")
            return
        row = TaskRow(vm=vm, state="failed" if ev.fault else ev.state, event=ev)
        self.audit(
            "abort-customization",
            vms=[(vm.name, vm.moid)],
            tasks=[ev.task] if ev.task else [],
            outcome=ev.state,
            faults=[ev.fault.type_name] if ev.fault else [],
        )
        if ev.fault is not None:
            self.fault_pane.show(row)
            self.reveal("fault")
            self.screen.notify(
                f"{ev.fault.type_name}: {ev.fault.message}",
                title=f"Abort on {vm.name} failed",
                severity="error",
            )
        else:
            self.screen.notify(f"AbortCustomization on {vm.name}: {ev.state}")
