"""``guestnet list``: the VMs under the profile's root, as a table or JSON.

With several profiles (``--profile`` repeated, or a group) every vCenter is listed at once, each
over its own session; the rows are ordered by vCenter (in the order given), then path, and carry
the vCenter (the profile name): a VCENTER column, a ``"vcenter"`` key first in each JSON object.
A vCenter that cannot be listed is one line on stderr; the others are still listed (exit 1; 2
when none could be)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.commands.base import err
from tui.commands.output import dash, table, vm_json
from tui.commands.selection import matches
from tui.commands.session import add_profile_option, targets
from tui.commands.targets import Site, ask_passwords, exit_code, make_sites, run_sites, together

if TYPE_CHECKING:
    from tui.vsphere.identity import AddressBook
    from tui.vsphere.models import VM

POWER_STATES = ("poweredOn", "poweredOff", "suspended")
HEADERS = ["NAME", "POWER", "TOOLS", "GUEST OPS", "IP", "SHARED WITH", "MOID", "PATH"]


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "list",
        parents=[common],
        help="list VMs",
        description="List the VMs under the profile's root (or the whole inventory); with several "
        "profiles or a group, of every vCenter at once.",
    )
    add_profile_option(p, several=True)
    p.add_argument(
        "--filter",
        metavar="GLOB",
        action="append",
        default=[],
        help="keep VMs whose name or inventory path matches (repeatable)",
    )
    p.add_argument("--power", choices=POWER_STATES, help="keep VMs in this power state")
    p.add_argument(
        "--duplicates",
        action="store_true",
        help="keep VMs whose guest IP or MAC address another VM of the same vCenter holds too "
        "(an instant clone that still has its parent's identity)",
    )
    p.add_argument("--json", action="store_true", help="JSON array instead of a table")
    p.set_defaults(handler=run)


def run(ns: argparse.Namespace) -> int:
    import json

    sites = make_sites(targets(ns))
    multi = len(sites) > 1
    ask_passwords(sites)
    run_sites(sites, fetch)
    if all(site.error is not None for site in sites):
        return exit_code(sites)  # each said why; nothing to list
    rows = [(site, vm, book) for site in sites if site.up for vm, book in _kept(ns, site.vms)]
    rows.sort(key=lambda r: (r[0].index, r[1].path, r[1].moid))
    if ns.json:
        objs = [_json(site if multi else None, vm, book) for site, vm, book in rows]
        print(json.dumps(objs, indent=2))
        return exit_code(sites)
    if not rows:
        err("no VMs match")
        return exit_code(sites)
    cells = [_cells(vm, book) for _, vm, book in rows]
    if multi:
        cells = [[site.name, *c] for (site, _, _), c in zip(rows, cells, strict=True)]
    print(table(["VCENTER", *HEADERS] if multi else HEADERS, cells))
    return exit_code(sites)


async def fetch(up: list[Site]) -> None:
    """Every site's listing (``site.vms``), all at once, with the collector paused."""

    async def one(site: Site) -> None:
        site.vms = list(await site.attempt(site.client.list_vms(site.profile.root)) or [])

    from tui.vsphere.gcpause import gc_paused

    with gc_paused():
        await together(one(s) for s in up)


def _kept(ns: argparse.Namespace, vms: list[VM]) -> list[tuple[VM, AddressBook]]:
    """The VMs of one vCenter that pass the options, each with that vCenter's address book."""
    from tui.vsphere.identity import AddressBook

    book = AddressBook(vms)  # over the whole listing, before any filter: a twin may be filtered out
    if ns.duplicates:
        vms = [vm for vm in vms if book.has_duplicate(vm.moid)]
    if ns.filter:
        vms = [vm for vm in vms if any(matches(vm, g) for g in ns.filter)]
    if ns.power:
        vms = [vm for vm in vms if vm.power_state == ns.power]
    return [(vm, book) for vm in vms]


def _json(site: Site | None, vm: VM, book: AddressBook) -> dict[str, Any]:
    obj = dict(vm_json(vm), duplicate_of=list(book.duplicate_of(vm.moid)))
    return obj if site is None else {"vcenter": site.name, **obj}


def _cells(vm: VM, book: AddressBook) -> list[str]:
    return [
        vm.name,
        dash(vm.power_state),
        dash(vm.tools_running_status),
        dash(vm.guest_operations_ready),
        dash(vm.ip_address),
        dash(", ".join(book.duplicate_of(vm.moid))),
        vm.moid,
        vm.path,
    ]
