"""One vCenter's part of a ``start-network`` batch (a ``Leg``): its VMs selected and pre-flighted,
its guest credentials and concurrency, its run and verifier, its rows and its audit records.

A batch over several vCenters has one leg per vCenter; each leg's audit records name its profile,
host and vCenter user, plus the ``batch`` id and the ``vcenters`` of the whole run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from tui.commands import auditing
from tui.commands.selection import select_vms
from tui.commands.start_results import Results, SiteResults, row

if TYPE_CHECKING:
    from tui.commands.progress import Progress, ScopedProgress
    from tui.commands.start_tasks import Ended, TaskRun
    from tui.commands.start_verify import LiveVerifier
    from tui.commands.targets import Site
    from tui.vsphere.models import VM
    from tui.vsphere.secret import Secret


class Skip(Protocol):
    """Why a VM is skipped (``tui.vsphere.eligibility.Ineligible`` is one)."""

    @property
    def reason(self) -> str: ...

    @property
    def hint(self) -> str: ...


class ReadOnly:
    """The skip of every VM of a read-only profile inside a batch over several vCenters."""

    def __init__(self, profile: str) -> None:
        self.reason = f"profile {profile!r} is read_only"
        self.hint = "Set read_only: false in the profile (or use another one) to start VMs there."


class Plan:
    """The selected VMs split by pre-flight: to start, and skipped with why."""

    def __init__(self) -> None:  # not a dataclass: importing dataclasses would slow --help
        self.runnable: list[VM] = []
        self.skipped: list[tuple[VM, Skip]] = []

    def skipped_record(self) -> list[dict[str, str]]:
        return [
            {"name": vm.name, "moid": vm.moid, "reason": why.reason} for vm, why in self.skipped
        ]


class Leg:
    """One vCenter of the batch: ``tag`` is the ``vcenter`` of its rows (None: the only one)."""

    def __init__(
        self, site: Site, shared: Results, guest_user: str, concurrency: int, tag: str | None
    ) -> None:
        self.site = site
        self.guest_user = guest_user
        self.guest_password: Secret | None = None
        self.concurrency = concurrency
        self.tag = tag
        self.results = SiteResults(shared, tag)
        self.selected: list[VM] = []
        self.unmatched: set[str] = set()
        self.plan = Plan()
        self.audit_extra: dict[str, Any] = {}
        self.live: LiveVerifier | None = None
        self.ended: Ended | None = None

    @property
    def name(self) -> str:
        return self.site.name

    @property
    def client(self) -> Any:
        return self.site.client

    @property
    def read_only(self) -> bool:
        return self.site.profile.read_only

    def select(self, vms: Sequence[VM], patterns: Sequence[str]) -> None:
        self.selected, unmatched = select_vms(vms, patterns)
        self.unmatched = set(unmatched)

    def preflight(self, skip_checks: bool) -> None:
        from tui.vsphere.eligibility import check

        for vm in self.selected:
            why: Skip | None = ReadOnly(self.name) if self.read_only else None
            if why is None and not skip_checks:
                why = check(vm)
            if why is None:
                self.plan.runnable.append(vm)
            else:
                self.plan.skipped.append((vm, why))

    def emit_skipped(self) -> None:
        for vm, why in self.plan.skipped:
            self.results.emit(row(vm, "skipped", fault_message=why.reason, hint=why.hint))

    # -- the run ---------------------------------------------------------------------------

    async def start(self, progress: Progress | ScopedProgress, verify_timeout: float) -> TaskRun:
        """The leg's verifier (when verifying) and its run, not yet followed."""
        from tui.commands.start_tasks import TaskRun
        from tui.vsphere.models import GuestCredentials

        assert self.guest_password is not None
        creds = GuestCredentials(username=self.guest_user, password=self.guest_password)
        if verify_timeout > 0:
            from tui.commands.start_verify import LiveVerifier

            self.live = LiveVerifier(self.client, self.site.profile.root, verify_timeout)
            await self.live.start()
        runnable = self.plan.runnable
        run = self.client.start_guest_network(runnable, creds, concurrency=self.concurrency)
        verifier = self.live.verifier if self.live else None
        return TaskRun(run, runnable, self.results, progress, verifier, own_sigint=False)

    async def stop(self) -> None:
        if self.live is not None:
            await self.live.close()

    # -- audit -----------------------------------------------------------------------------

    def audit(self, *, required: bool = True, action: str = "start-network", **fields: Any) -> None:
        auditing.record(
            required=required,
            action=action,
            profile=self.name,
            host=self.client.host,
            vc_user=self.client.username,
            **self.audit_extra,
            **fields,
        )

    def audit_start(self) -> None:
        """The record before the run: ``started``, ``nothing-to-do`` or (read-only) ``refused``."""
        skipped = self.plan.skipped_record()
        if self.read_only:
            if self.selected:
                vms = [(vm.name, vm.moid) for vm in self.selected]
                self.audit(vms=vms, outcome="refused", reason="read_only profile")
        elif not self.plan.runnable:
            if self.selected:
                self.audit(required=False, vms=[], outcome="nothing-to-do", skipped=skipped)
        else:
            self.audit(
                vms=[(vm.name, vm.moid) for vm in self.plan.runnable],
                outcome="started",
                guest_user=self.guest_user,
                concurrency=self.concurrency,
                skipped=skipped,
            )

    def audit_end(self) -> None:
        """After the run: the cancel (after Ctrl-C) and the outcome."""
        assert self.ended is not None
        ended, rows = self.ended, self.results.rows
        if ended.interrupted:
            names = {r["moid"]: r["vm"] for r in rows}
            self.audit(
                required=False,
                action="cancel",
                vms=[(names[m], m) for m in ended.cancel_targets],
                tasks=ended.cancelled_tasks,
                outcome="requested",
                reason="Ctrl-C",
            )
        self.audit(
            required=False,
            vms=[(r["vm"], r["moid"]) for r in rows],
            tasks=[r["task"] for r in rows if r["task"]],
            outcome=self.outcome(),
            faults=sorted({r["fault_type"] for r in rows if r["fault_type"]}),
            results=self.results.counts(),
            verdicts=self.results.verdicts(),
        )

    def outcome(self) -> str:
        assert self.ended is not None
        if self.ended.interrupted:
            return "interrupted"
        if self.ended.error is not None:
            return "error"
        if all(s == "succeeded" for s in self.results.states):
            return "not-verified" if self.results.unverified() else "succeeded"
        return "failed"
