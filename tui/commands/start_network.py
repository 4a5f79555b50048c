"""``guestnet start-network``: StartGuestNetwork_Task on the selected VMs.

The steps, each a method of ``StartNetwork``: resolve the patterns to VMs, pre-flight them
(``tui.vsphere.eligibility``), show the plan and confirm, run (``start_tasks``), report
(``start_results``). Every start, cancel and result is written to the audit log.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from tui.commands import auditing
from tui.commands.base import EXIT_FAILED, err, fail
from tui.commands.selection import add_vm_options, read_patterns, select_vms
from tui.commands.session import add_profile_option, load, pick, vc_password, with_client
from tui.commands.start_results import Results, row
from tui.commands.terminal import confirm, have_tty, tty_prompt

if TYPE_CHECKING:
    from tui.commands.start_tasks import Ended
    from tui.config.profiles import Profile
    from tui.vsphere.eligibility import Ineligible
    from tui.vsphere.models import VM
    from tui.vsphere.secret import Secret

PLAN_LINES = 20  # VMs named in the plan before "… and N more"
MAX_CONCURRENCY = 256
MAX_VERIFY_SECONDS = 3600


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "start-network",
        parents=[common],
        help="run StartGuestNetwork_Task on VMs",
        description="Restart the guest network of the selected VMs. The guest password comes "
        "from GUESTNET_GUEST_PASSWORD, else GOVC_GUEST_LOGIN (user:password), else a no-echo "
        "prompt on the terminal; never from a flag.",
        epilog="Exit codes: 0 all succeeded, 1 any failed or skipped, 2 usage/config/connection/"
        "login error, 130 interrupted (cancellable tasks are cancelled).",
    )
    add_profile_option(p)
    add_vm_options(p)
    p.add_argument("--guest-user", metavar="USER", help="guest OS user (default: from profile)")
    p.add_argument(
        "--concurrency",
        metavar="N",
        type=int,
        help="StartGuestNetwork_Task calls in flight at once",
    )
    p.add_argument(
        "--no-preflight",
        action="store_true",
        help="do not skip VMs that are off, without tools or not ready for guest operations",
    )
    p.add_argument(
        "--verify-timeout",
        metavar="SECONDS",
        type=float,
        default=60.0,
        help="after a success, wait this long for the VM to show a new address held by no other "
        "VM (default 60; 0: do not verify). An unverified success exits 1",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per VM per line")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=run)


def run(ns: argparse.Namespace) -> int:
    profile = pick(load(ns), ns.profile)
    if profile.read_only:
        auditing.record(
            action="start-network",
            profile=profile.name,
            host=profile.host,
            vc_user=profile.username,
            outcome="refused",
            reason="read_only profile",
        )
        fail(f"profile {profile.name!r} is read_only: start-network refused")
    concurrency = ns.concurrency if ns.concurrency is not None else profile.concurrency
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        fail(f"--concurrency must be from 1 to {MAX_CONCURRENCY}, got {concurrency}")
    if not 0 <= ns.verify_timeout <= MAX_VERIFY_SECONDS:
        fail(f"--verify-timeout must be from 0 to {MAX_VERIFY_SECONDS}, got {ns.verify_timeout:g}")
    patterns = read_patterns(ns)
    guest_user, guest_password = guest_credentials_source(ns, profile)
    password = vc_password(profile)
    runner = StartNetwork(ns, profile, patterns, guest_user, guest_password, concurrency)
    return with_client(profile, password, runner.run)


def guest_credentials_source(ns: argparse.Namespace, profile: Profile) -> tuple[str, Secret | None]:
    """``(guest user, password or None = prompt later)``; fails early when nothing can work."""
    from tui.config.credentials import guest_login_from_env

    env_login = guest_login_from_env()
    env_user, env_password = env_login if env_login else ("", None)
    from_govc = bool(env_password) and not os.environ.get("GUESTNET_GUEST_PASSWORD")
    user = ns.guest_user or (env_user if from_govc else "") or profile.guest_username or env_user
    if not user:
        fail(
            "no guest user: pass --guest-user USER, set guest_username in the profile, "
            "or set GOVC_GUEST_LOGIN=user:password"
        )
    if env_password is None and not have_tty():
        fail(
            "no guest password: set GUESTNET_GUEST_PASSWORD (or GOVC_GUEST_LOGIN=user:password), "
            "or run on a terminal to be prompted"
        )
    return user, env_password


class Plan:
    """The selected VMs split by pre-flight: to start, and skipped with why."""

    def __init__(self) -> None:  # not a dataclass: importing dataclasses would slow --help
        self.runnable: list[VM] = []
        self.skipped: list[tuple[VM, Ineligible]] = []

    def skipped_record(self) -> list[dict[str, str]]:
        return [
            {"name": vm.name, "moid": vm.moid, "reason": why.reason} for vm, why in self.skipped
        ]


class StartNetwork:
    """One ``start-network`` run on a connected client."""

    def __init__(
        self,
        ns: argparse.Namespace,
        profile: Profile,
        patterns: list[str],
        guest_user: str,
        guest_password: Secret | None,
        concurrency: int,
    ) -> None:
        self.ns = ns
        self.profile = profile
        self.patterns = patterns
        self.guest_user = guest_user
        self.guest_password = guest_password
        self.concurrency = concurrency
        self.results = Results(as_json=ns.json, verifying=ns.verify_timeout > 0)
        self.client: Any = None

    async def run(self, client: Any) -> int:
        self.client = client
        plan = self.preflight(await self.resolve())
        self.show_plan(plan)
        if plan.runnable and not self.confirm(len(plan.runnable)):
            err("nothing started")
            return EXIT_FAILED
        for vm, why in plan.skipped:
            self.results.emit(row(vm, "skipped", fault_message=why.reason, hint=why.hint))
        if not plan.runnable:
            self._audit(
                required=False, vms=[], outcome="nothing-to-do", skipped=plan.skipped_record()
            )
            return self.results.finish(interrupted=False)
        self._audit(
            vms=[(vm.name, vm.moid) for vm in plan.runnable],
            outcome="started",
            guest_user=self.guest_user,
            concurrency=self.concurrency,
            skipped=plan.skipped_record(),
        )
        ended = await self.execute(plan.runnable)
        return self.report(ended)

    # -- the steps -------------------------------------------------------------------------

    async def resolve(self) -> list[VM]:
        """The VMs the patterns select, in inventory order; a pattern matching none is an error."""
        root = self.profile.root
        vms = list(await self.client.list_vms(root))
        selected, unmatched = select_vms(vms, self.patterns)
        self.results.order = {vm.moid: i for i, vm in enumerate(selected)}
        if unmatched:
            shown = ", ".join(repr(p) for p in unmatched)
            fail(f"no VM matches {shown} under {root or 'the inventory'}")
        return selected

    def preflight(self, selected: list[VM]) -> Plan:
        from tui.vsphere.eligibility import check

        plan = Plan()
        for vm in selected:
            why = None if self.ns.no_preflight else check(vm)
            if why is None:
                plan.runnable.append(vm)
            else:
                plan.skipped.append((vm, why))
        return plan

    def show_plan(self, plan: Plan) -> None:
        """What will start and what is skipped, on stderr (the first ``PLAN_LINES`` of each)."""
        runnable, skipped = plan.runnable, plan.skipped
        out = sys.stderr
        out.write(
            f"{len(runnable)} VM(s) to start on {self.client.host} as {self.client.username}, "
            f"guest user {self.guest_user}, concurrency {self.concurrency}"
            + (f"; {len(skipped)} skipped" if skipped else "")
            + "\n"
        )
        for vm in runnable[:PLAN_LINES]:
            out.write(f"  start  {vm.name}  ({vm.path})\n")
        if len(runnable) > PLAN_LINES:
            out.write(f"  start  … and {len(runnable) - PLAN_LINES} more\n")
        for vm, why in skipped[:PLAN_LINES]:
            out.write(f"  skip   {vm.name}  ({why.reason})\n")
        if len(skipped) > PLAN_LINES:
            out.write(f"  skip   … and {len(skipped) - PLAN_LINES} more (see the results)\n")
        out.flush()

    def confirm(self, count: int) -> bool:
        """Get the guest password (prompt) and, on a terminal without ``--yes``, a yes."""
        if self.guest_password is None:
            prompt = tty_prompt()
            if prompt is None:
                fail("no guest password and no terminal to prompt on")
            typed = prompt(f"Guest password for {self.guest_user}: ")
            if not typed:
                fail("no guest password entered")
            from tui.vsphere.secret import Secret

            self.guest_password = Secret(typed)
        if self.ns.yes or not have_tty():
            return True
        return confirm(f"Start the guest network on {count} VM(s)?")

    async def execute(self, runnable: list[VM]) -> Ended:
        from tui.commands.progress import Progress
        from tui.commands.start_tasks import TaskRun
        from tui.vsphere.models import GuestCredentials

        assert self.guest_password is not None
        creds = GuestCredentials(username=self.guest_user, password=self.guest_password)
        live = None
        if self.ns.verify_timeout > 0:
            from tui.commands.start_verify import LiveVerifier

            live = LiveVerifier(self.client, self.profile.root, self.ns.verify_timeout)
            await live.start()
        try:
            run = self.client.start_guest_network(runnable, creds, concurrency=self.concurrency)
            progress = Progress(len(runnable), sys.stderr)
            verifier = live.verifier if live else None
            return await TaskRun(run, runnable, self.results, progress, verifier).wait()
        finally:
            if live is not None:
                await live.close()

    def report(self, ended: Ended) -> int:
        """Audit the cancel (after Ctrl-C) and the outcome, print the table, return the exit
        code; a run that lost track of its tasks ends as an error after the results."""
        rows, error = self.results.rows, ended.error
        if ended.interrupted:
            names = {r["moid"]: r["vm"] for r in rows}
            self._audit(
                required=False,
                action="cancel",
                vms=[(names[m], m) for m in ended.cancel_targets],
                tasks=ended.cancelled_tasks,
                outcome="requested",
                reason="Ctrl-C",
            )
        self._audit(
            required=False,
            vms=[(r["vm"], r["moid"]) for r in rows],
            tasks=[r["task"] for r in rows if r["task"]],
            outcome=self._outcome(ended),
            faults=sorted({r["fault_type"] for r in rows if r["fault_type"]}),
            results=self.results.counts(),
            verdicts=self.results.verdicts(),
        )
        code = self.results.finish(ended.interrupted)
        if error is not None:
            from tui.vsphere.errors import GuestnetError

            if not isinstance(error, GuestnetError):
                raise error  # a bug: main() reports it as an internal error
            fail(f"profile {self.profile.name!r}: {error}")
        return code

    # -- helpers ---------------------------------------------------------------------------

    def _outcome(self, ended: Ended) -> str:
        if ended.interrupted:
            return "interrupted"
        if ended.error is not None:
            return "error"
        states = self.results.states
        if all(s == "succeeded" for s in states):
            return "not-verified" if self.results.unverified() else "succeeded"
        return "failed"

    def _audit(
        self, *, required: bool = True, action: str = "start-network", **fields: Any
    ) -> None:
        auditing.record(
            required=required,
            action=action,
            profile=self.profile.name,
            host=self.client.host,
            vc_user=self.client.username,
            **fields,
        )
