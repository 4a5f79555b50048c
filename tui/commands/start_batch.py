"""``start-network``'s run over its vCenters, once they are logged in: ``StartNetwork``.

One leg (``start_leg.Leg``) per vCenter that is up. The steps: list every vCenter at once and
resolve the patterns across them (a pattern matching no VM anywhere is an error), pre-flight, one
plan and one confirmation (the guest password asked once, or once per vCenter), the runs all at
once (``start_tasks.wait_all``; Ctrl-C reaches each), then the report: one table, one exit code,
each leg's audit records. With one vCenter, every line is as it always was.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import TYPE_CHECKING

from tui.commands.base import EXIT_FAILED, err, fail
from tui.commands.session import where
from tui.commands.start_leg import Leg
from tui.commands.start_results import Results
from tui.commands.targets import Site, exit_code, together
from tui.commands.terminal import confirm, have_tty, tty_prompt

if TYPE_CHECKING:
    from tui.vsphere.secret import Secret

PLAN_LINES = 20  # VMs named in the plan before "… and N more"


class StartNetwork:
    """One ``start-network`` run; ``logins`` and ``concurrency`` are by profile name (the
    writable ones)."""

    def __init__(
        self,
        ns: argparse.Namespace,
        sites: list[Site],
        patterns: list[str],
        logins: dict[str, tuple[str, Secret | None]],
        concurrency: dict[str, int],
    ) -> None:
        self.ns = ns
        self.sites = sites
        self.patterns = patterns
        self.multi = len(sites) > 1
        self.results = Results(as_json=ns.json, verifying=ns.verify_timeout > 0, multi=self.multi)
        self.guest_password = next((pw for _, pw in logins.values() if pw is not None), None)
        extra = {"batch": uuid.uuid4().hex[:12], "vcenters": [s.name for s in sites]}
        self.legs: dict[str, Leg] = {}
        for site in sites:
            user, _ = logins.get(site.name, ("", None))
            tag = site.name if self.multi else None
            leg = Leg(site, self.results, user, concurrency.get(site.name, 0), tag)
            leg.audit_extra = extra if self.multi else {}
            self.legs[site.name] = leg

    async def run(self, up: list[Site]) -> int:
        legs = [self.legs[s.name] for s in up]
        await self.resolve(legs)
        legs = [leg for leg in legs if leg.site.up]
        if not legs:
            return exit_code(self.sites)
        for leg in legs:
            leg.preflight(self.ns.no_preflight)
        self.show_plan(legs)
        runnable = [leg for leg in legs if leg.plan.runnable]
        if runnable and not self.confirm(runnable):
            err("nothing started")
            return EXIT_FAILED
        for leg in legs:
            leg.emit_skipped()
        for leg in legs:
            leg.audit_start()
        if not runnable:
            return exit_code(self.sites, self.results.finish(interrupted=False))
        await self.execute(runnable)
        return self.report(runnable)

    # -- the steps -------------------------------------------------------------------------

    async def resolve(self, legs: list[Leg]) -> None:
        """Each leg's VMs that the patterns select (inventory order); a pattern matching no VM
        on any vCenter is an error."""

        async def one(leg: Leg) -> None:
            vms = await leg.site.attempt(leg.client.list_vms(leg.site.profile.root))
            if vms is not None:
                leg.select(list(vms), self.patterns)

        await together(one(leg) for leg in legs)
        ok = [leg for leg in legs if leg.site.up]
        if not ok:
            return
        keys = [(leg.tag, vm.moid) for leg in ok for vm in leg.selected]
        self.results.order = {key: i for i, key in enumerate(keys)}
        unmatched = [p for p in self.patterns if all(p in leg.unmatched for leg in ok)]
        if unmatched:
            shown = ", ".join(repr(p) for p in unmatched)
            if not self.multi:
                root = ok[0].site.profile.root
                fail(f"no VM matches {shown} under {root or 'the inventory'}")
            where = ", ".join(f"{leg.name}: {leg.site.profile.root or 'all'}" for leg in ok)
            fail(f"no VM matches {shown} on any vCenter ({where})")

    def show_plan(self, legs: list[Leg]) -> None:
        """What will start and what is skipped, on stderr (the first ``PLAN_LINES`` of each)."""
        runnable = [(leg, vm) for leg in legs for vm in leg.plan.runnable]
        skipped = [(leg, vm, why) for leg in legs for vm, why in leg.plan.skipped]
        out = sys.stderr
        if not self.multi:
            (leg,) = legs
            out.write(
                f"{len(runnable)} VM(s) to start on {leg.client.host} as {leg.client.username}, "
                f"guest user {leg.guest_user}, concurrency {leg.concurrency}"
                + (f"; {len(skipped)} skipped" if skipped else "")
                + "\n"
            )
        else:
            out.write(
                f"{len(runnable)} VM(s) to start on {len(legs)} vCenters"
                + (f"; {len(skipped)} skipped" if skipped else "")
                + "\n"
            )
            for leg in legs:
                out.write(f"  {leg.name}: {self._leg_line(leg)}\n")
        for leg, vm in runnable[:PLAN_LINES]:
            out.write(f"  start  {vm.name}  ({self._where(leg)}{vm.path})\n")
        if len(runnable) > PLAN_LINES:
            out.write(f"  start  … and {len(runnable) - PLAN_LINES} more\n")
        for leg, vm, why in skipped[:PLAN_LINES]:
            out.write(f"  skip   {vm.name}  ({self._where(leg)}{why.reason})\n")
        if len(skipped) > PLAN_LINES:
            out.write(f"  skip   … and {len(skipped) - PLAN_LINES} more (see the results)\n")
        out.flush()

    def _where(self, leg: Leg) -> str:
        return f"{leg.name}: " if self.multi else ""

    @staticmethod
    def _leg_line(leg: Leg) -> str:
        """``3 to start, vc.lab:8443 as admin, guest user root, concurrency 8`` (or read-only)."""
        head = f"{len(leg.plan.runnable)} to start, {where(leg.site.profile)} as "
        head += str(leg.client.username)
        if leg.read_only:
            return f"{head}, read-only"
        return f"{head}, guest user {leg.guest_user}, concurrency {leg.concurrency}"

    def confirm(self, legs: list[Leg]) -> bool:
        """Get the guest password(s) (prompt) and, on a terminal without ``--yes``, a yes."""
        if self.ns.guest_password_per_vcenter:
            for leg in legs:
                leg.guest_password = self._ask(
                    f"Guest password for {leg.guest_user} on {leg.name}: "
                )
        else:
            if self.guest_password is None:
                self.guest_password = self._ask(f"Guest password for {self._users(legs)}: ")
            for leg in legs:
                leg.guest_password = self.guest_password
        if self.ns.yes or not have_tty():
            return True
        count = sum(len(leg.plan.runnable) for leg in legs)
        where = f" on {len(legs)} vCenters" if len(legs) > 1 else ""
        return confirm(f"Start the guest network on {count} VM(s){where}?")

    @staticmethod
    def _users(legs: list[Leg]) -> str:
        """``root``, or ``root (lab, prod), ops (staging)`` when the guest users differ."""
        users: dict[str, list[str]] = {}
        for leg in legs:
            users.setdefault(leg.guest_user, []).append(leg.name)
        if len(users) == 1:
            return next(iter(users))
        return ", ".join(f"{user} ({', '.join(names)})" for user, names in users.items())

    @staticmethod
    def _ask(text: str) -> Secret:
        prompt = tty_prompt()
        if prompt is None:
            fail("no guest password and no terminal to prompt on")
        typed = prompt(text)
        if not typed:
            fail("no guest password entered")
        from tui.vsphere.secret import Secret

        return Secret(typed)

    async def execute(self, legs: list[Leg]) -> None:
        """Every leg's run at once, one progress line for all; each leg gets its ``ended``."""
        from tui.commands.progress import Progress
        from tui.commands.start_tasks import wait_all

        progress = Progress(sum(len(leg.plan.runnable) for leg in legs), sys.stderr)
        timeout = self.ns.verify_timeout
        try:
            runs = await together(
                leg.start(progress.scoped(leg.name) if self.multi else progress, timeout)
                for leg in legs
            )
            for leg, ended in zip(legs, await wait_all(runs), strict=True):
                leg.ended = ended
        finally:
            progress.close()
            await together(leg.stop() for leg in legs)

    def report(self, legs: list[Leg]) -> int:
        """Audit each leg's cancel (after Ctrl-C) and outcome, print the table, return the exit
        code; a leg that lost track of its tasks is an error line after the results (with one
        vCenter: the command's error)."""
        for leg in legs:
            leg.audit_end()
        interrupted = any(leg.ended is not None and leg.ended.interrupted for leg in legs)
        code = self.results.finish(interrupted)
        lost = [(leg, leg.ended.error) for leg in legs if leg.ended and leg.ended.error]
        from tui.vsphere.errors import GuestnetError

        for leg, error in lost:
            if not isinstance(error, GuestnetError):
                raise error  # a bug: main() reports it as an internal error
            if not self.multi:
                fail(f"profile {leg.name!r}: {error}")
            err(f"profile {leg.name!r}: {error}")
        return exit_code(self.sites, code)
