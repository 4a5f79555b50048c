"""``guestnet start-network``: StartGuestNetwork_Task on the selected VMs.

The steps, each a method of ``StartNetwork``: resolve the patterns to VMs, pre-flight them
(``tui.vsphere.eligibility``), show the plan and confirm, run (``start_tasks``), report
(``start_results``). Every start, cancel and result is written to the audit log.

With several profiles (``--profile`` repeated, or a group) the batch spans their vCenters: each
is a ``Leg`` (``start_leg``) over its own session (``targets``), all in one asyncio loop; there is
one plan, one confirmation and one guest password for all, and the runs go on concurrently, each
with its vCenter's concurrency. A read-only profile's VMs are skipped; a vCenter that is down is
one line and the others go on.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from tui.commands import auditing
from tui.commands.base import UsageError, fail
from tui.commands.selection import add_vm_options, read_patterns
from tui.commands.session import add_profile_option, targets
from tui.commands.targets import ask_passwords, make_sites, run_sites
from tui.commands.terminal import have_tty

if TYPE_CHECKING:
    from tui.config.profiles import Profile
    from tui.vsphere.secret import Secret

MAX_CONCURRENCY = 256
MAX_VERIFY_SECONDS = 3600


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "start-network",
        parents=[common],
        help="run StartGuestNetwork_Task on VMs",
        description="Restart the guest network of the selected VMs (with several profiles or a "
        "group: on every vCenter at once). The guest password comes from "
        "GUESTNET_GUEST_PASSWORD, else GOVC_GUEST_LOGIN (user:password), else a no-echo prompt "
        "on the terminal; never from a flag.",
        epilog="Exit codes: 0 all succeeded, 1 any failed or skipped (or a vCenter of several "
        "was unreachable), 2 usage/config/connection/login error, 130 interrupted (cancellable "
        "tasks are cancelled).",
    )
    add_profile_option(p, several=True)
    add_vm_options(p)
    p.add_argument("--guest-user", metavar="USER", help="guest OS user (default: from profile)")
    p.add_argument(
        "--guest-password-per-vcenter",
        action="store_true",
        help="ask the guest password once per vCenter (on the terminal) instead of once",
    )
    p.add_argument(
        "--concurrency",
        metavar="N",
        type=int,
        help="StartGuestNetwork_Task calls in flight at once (per vCenter)",
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
    from tui.commands.start_batch import StartNetwork

    profiles = targets(ns)
    writable = [p for p in profiles if not p.read_only]
    if not writable:
        auditing.refuse_read_only(profiles, "start-network")
    concurrency = {p.name: concurrency_for(ns, p) for p in writable}
    if not 0 <= ns.verify_timeout <= MAX_VERIFY_SECONDS:
        fail(f"--verify-timeout must be from 0 to {MAX_VERIFY_SECONDS}, got {ns.verify_timeout:g}")
    patterns = read_patterns(ns)
    if ns.guest_password_per_vcenter and not have_tty():
        fail("--guest-password-per-vcenter: no terminal to prompt on")
    logins = {p.name: guest_login(ns, p, several=len(profiles) > 1) for p in writable}
    sites = make_sites(profiles)
    ask_passwords(sites)
    runner = StartNetwork(ns, sites, patterns, logins, concurrency)
    return run_sites(sites, runner.run)


def concurrency_for(ns: argparse.Namespace, profile: Profile) -> int:
    concurrency = ns.concurrency if ns.concurrency is not None else profile.concurrency
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        fail(f"--concurrency must be from 1 to {MAX_CONCURRENCY}, got {concurrency}")
    return int(concurrency)


def guest_login(
    ns: argparse.Namespace, profile: Profile, several: bool
) -> tuple[str, Secret | None]:
    """``guest_credentials_source`` for one of the targets; with several, a problem names it."""
    try:
        user, password = guest_credentials_source(ns, profile)
    except UsageError as exc:
        if several:
            fail(f"profile {profile.name!r}: {exc}")
        raise
    return user, None if ns.guest_password_per_vcenter else password


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
