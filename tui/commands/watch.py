"""``guestnet watch``: start the guest network on matching VMs as they appear, until stopped.

The engine is ``tui.vsphere.autostart.AutoStarter``; this module parses the options, gets the
guest credentials (the same sources as start-network), opens the ledger, prints one line (or one
JSON object) per event, audits every outcome with its verdict, and stops cleanly on Ctrl-C or
SIGTERM: tasks already created keep running in vCenter and are named, the session is logged out.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tui.commands import auditing
from tui.commands.base import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, err, fail
from tui.commands.session import add_profile_option, pick_one, vc_password, with_client

if TYPE_CHECKING:
    from tui.config.profiles import Profile
    from tui.vsphere.autostart import WatchEvent, WatchRules
    from tui.vsphere.models import GuestCredentials

MAX_CONCURRENCY = 256
LIMITS = {  # option → (lowest, highest)
    "settle": (0.0, 3600.0),
    "retries": (0, 100),
    "verify_timeout": (1.0, 3600.0),
}
# Events worth a line on a terminal (--json prints every event)
QUIET = frozenset({"settling"})
# The events that end a VM's attempt: each is an audit record
FINAL_EVENTS = frozenset({"verified", "not-verified", "unverified", "failed", "unknown"})


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "watch",
        parents=[common],
        help="start the guest network on matching VMs as they appear",
        description="Follow the inventory and run StartGuestNetwork_Task on every VM that "
        "appears (or is powered on) matching --match, once it is poweredOn with VMware Tools "
        "running and guest operations ready and has stayed so for --settle seconds; then verify "
        "it left its launch address. A ledger in the state directory makes it idempotent: a "
        "restarted watcher never starts a VM twice. Runs until Ctrl-C or SIGTERM. The guest "
        "password comes from GUESTNET_GUEST_PASSWORD, else GOVC_GUEST_LOGIN (user:password), "
        "else a no-echo prompt; never from a flag.",
        epilog="Exit codes: 0 stopped by SIGTERM, 130 stopped by Ctrl-C, 2 usage/config/"
        "connection/login error or the vCenter stream was lost for good.",
    )
    add_profile_option(p)
    p.add_argument(
        "--match",
        metavar="GLOB",
        action="append",
        required=True,
        help="VM name or inventory-path glob to start (repeatable), e.g. '*-ic-*'",
    )
    p.add_argument("--root", metavar="PATH", help="inventory path to watch (default: profile's)")
    p.add_argument("--guest-user", metavar="USER", help="guest OS user (default: from profile)")
    p.add_argument("--concurrency", metavar="N", type=int, help="start calls in flight at once")
    p.add_argument(
        "--settle",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="how long a VM must stay ready before it is started (default 10)",
    )
    p.add_argument(
        "--retries",
        metavar="N",
        type=int,
        default=2,
        help="retries of a VM whose task failed, with backoff 30/60/120 s (default 2)",
    )
    p.add_argument(
        "--verify-timeout",
        metavar="SECONDS",
        type=float,
        default=60.0,
        help="how long to wait for the new address after a success (default 60)",
    )
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="VMs present when the watch begins are recorded as skipped, not started",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per event per line")
    p.set_defaults(handler=run)


def rules_from(ns: argparse.Namespace, profile: Profile) -> WatchRules:
    """The options checked (one line naming the bad one) and turned into ``WatchRules``."""
    from tui.vsphere.autostart import WatchRules
    from tui.vsphere.match import GlobError, check_glob

    try:
        patterns = tuple(check_glob(g) for g in ns.match)
    except GlobError as exc:
        fail(f"--match: {exc}")
    for name, (lo, hi) in LIMITS.items():
        value = getattr(ns, name)
        if not lo <= value <= hi:
            flag = "--" + name.replace("_", "-")
            fail(f"{flag} must be from {lo:g} to {hi:g}, got {value:g}")
    concurrency = ns.concurrency if ns.concurrency is not None else profile.concurrency
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        fail(f"--concurrency must be from 1 to {MAX_CONCURRENCY}, got {concurrency}")
    root = ns.root if ns.root is not None else profile.root
    if root is not None and not root.startswith("/"):
        fail(f"--root must be an inventory path starting with '/', got {root!r}")
    return WatchRules(
        patterns=patterns,
        root=root,
        settle=ns.settle,
        concurrency=concurrency,
        retries=ns.retries,
        verify_timeout=ns.verify_timeout,
        skip_existing=ns.skip_existing,
    )


def run(ns: argparse.Namespace) -> int:
    from tui.commands.start_network import guest_credentials_source

    profile = pick_one(ns, getattr(ns, "profile", None), "watch")
    if profile.read_only:
        auditing.refuse_read_only([profile], "watch")
    rules = rules_from(ns, profile)
    guest_user, guest_password = guest_credentials_source(ns, profile)
    password = vc_password(profile)
    if guest_password is None:
        from tui.commands.terminal import tty_prompt
        from tui.vsphere.secret import Secret

        prompt = tty_prompt()
        typed = prompt(f"Guest password for {guest_user}: ") if prompt else ""
        if not typed:
            fail("no guest password entered")
        guest_password = Secret(typed)
    from tui.vsphere.models import GuestCredentials

    creds = GuestCredentials(username=guest_user, password=guest_password)
    watcher = Watch(profile, rules, creds, as_json=ns.json)
    return with_client(profile, password, watcher.run)


class Watch:
    """One ``guestnet watch`` on a connected client."""

    def __init__(
        self, profile: Profile, rules: WatchRules, creds: GuestCredentials, as_json: bool
    ) -> None:
        self.profile = profile
        self.rules = rules
        self.creds = creds
        self.as_json = as_json
        self.client: Any = None
        self.stopped_by: str | None = None
        self.lost: str | None = None

    async def run(self, client: Any) -> int:
        import asyncio
        import signal

        from tui.config.ledger import Ledger
        from tui.vsphere.autostart import AutoStarter

        self.client = client
        ledger = Ledger(f"{client.host}:{client.port}").load()
        if ledger.skipped:
            err(f"warning: {ledger.skipped} malformed line(s) in {ledger.path} passed over")
        self._audit(action="watch", outcome="started", patterns=list(self.rules.patterns))
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig, name in ((signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")):
            loop.add_signal_handler(sig, self._stop, stop, name)
        self._say(
            f"watching {client.host} for {', '.join(self.rules.patterns)} "
            f"(settle {self.rules.settle:g} s, ledger {ledger.path}); Ctrl-C to stop"
        )
        try:
            async with AutoStarter(client, self.creds, self.rules, ledger) as w:
                pump = asyncio.ensure_future(self._pump(w))
                waiter = asyncio.ensure_future(stop.wait())
                await asyncio.wait({pump, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                running = w.running
                await w.aclose()
                await pump
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        return self._finish(running, w.counts)

    def _stop(self, stop: Any, name: str) -> None:
        if self.stopped_by is None:
            self.stopped_by = name
        stop.set()

    async def _pump(self, w: Any) -> None:
        async for ev in w:
            self._print(ev)
            self._audit_event(ev)
            if ev.kind == "stopped":
                self.lost = ev.message
                return

    def _finish(self, running: list[Any], counts: dict[str, int]) -> int:
        summary = ", ".join(
            f"{counts.get(k, 0)} {k}"
            for k in ("started", "verified", "not-verified", "unverified", "failed")
        )
        self._say(f"stopped ({self.stopped_by or self.lost}): {summary}")
        if running:
            names = ", ".join(vm.name for vm in running[:10])
            more = f" and {len(running) - 10} more" if len(running) > 10 else ""
            self._say(
                f"{len(running)} task(s) still running in vCenter: {names}{more} "
                "(the next watch adopts them)"
            )
        self._audit(
            action="watch",
            outcome="stopped",
            reason=self.stopped_by or self.lost,
            results=dict(counts),
            vms=[(vm.name, vm.moid) for vm in running],
        )
        if self.stopped_by is None:
            err(f"profile {self.profile.name!r}: {self.lost}")
            return EXIT_ERROR
        return EXIT_INTERRUPTED if self.stopped_by == "Ctrl-C" else EXIT_OK

    # -- output and audit -------------------------------------------------------------------

    def _say(self, text: str) -> None:
        if self.as_json:
            err(text)
        else:
            print(text, flush=True)

    def _print(self, ev: WatchEvent) -> None:
        import json

        if self.as_json:
            print(json.dumps(ev.to_json()), flush=True)
            return
        if ev.kind in QUIET:
            return
        when = ev.time.astimezone().strftime("%H:%M:%S")
        name = ev.vm.name if ev.vm else "-"
        sys.stdout.write(f"{when}  {ev.kind:<12}  {name}  {ev.message}\n")
        sys.stdout.flush()

    def _audit_event(self, ev: WatchEvent) -> None:
        if ev.vm is None or ev.kind not in FINAL_EVENTS:
            return
        fields: dict[str, Any] = {}
        if ev.verdict is not None:
            fields = {"verified": ev.verdict.verified, "verify_reason": ev.verdict.reason}
        self._audit(
            action="watch-start",
            vms=[(ev.vm.name, ev.vm.moid)],
            tasks=[ev.task] if ev.task else [],
            outcome="succeeded" if ev.kind.endswith("verified") else ev.kind,
            faults=[ev.fault.type_name] if ev.fault else [],
            message=ev.message,
            **fields,
        )

    def _audit(self, **fields: Any) -> None:
        auditing.record(
            required=fields.get("outcome") == "started",
            profile=self.profile.name,
            host=self.client.host if self.client else self.profile.host,
            vc_user=self.client.username if self.client else self.profile.username,
            **fields,
        )
