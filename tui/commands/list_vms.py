"""``guestnet list``: the VMs under the profile's root, as a table or JSON."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.commands.base import EXIT_OK, err
from tui.commands.output import dash, table, vm_json
from tui.commands.selection import matches
from tui.commands.session import add_profile_option, load, pick, vc_password, with_client

if TYPE_CHECKING:
    from tui.vsphere.models import VM

POWER_STATES = ("poweredOn", "poweredOff", "suspended")


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "list",
        parents=[common],
        help="list VMs",
        description="List the VMs under the profile's root (or the whole inventory).",
    )
    add_profile_option(p)
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
        help="keep VMs whose guest IP or MAC address another VM holds too (an instant clone "
        "that still has its parent's identity)",
    )
    p.add_argument("--json", action="store_true", help="JSON array instead of a table")
    p.set_defaults(handler=run)


def run(ns: argparse.Namespace) -> int:
    import json

    profile = pick(load(ns), ns.profile)

    async def fetch(client: Any) -> list[VM]:
        return list(await client.list_vms(profile.root))

    from tui.vsphere.identity import AddressBook

    vms = with_client(profile, vc_password(profile), fetch)
    book = AddressBook(vms)  # over the whole listing, before any filter: a twin may be filtered out
    if ns.duplicates:
        vms = [vm for vm in vms if book.has_duplicate(vm.moid)]
    if ns.filter:
        vms = [vm for vm in vms if any(matches(vm, g) for g in ns.filter)]
    if ns.power:
        vms = [vm for vm in vms if vm.power_state == ns.power]
    vms.sort(key=lambda vm: (vm.path, vm.moid))
    if ns.json:
        objs = [dict(vm_json(vm), duplicate_of=list(book.duplicate_of(vm.moid))) for vm in vms]
        print(json.dumps(objs, indent=2))
        return EXIT_OK
    if not vms:
        err("no VMs match")
        return EXIT_OK
    rows = [
        [
            vm.name,
            dash(vm.power_state),
            dash(vm.tools_running_status),
            dash(vm.guest_operations_ready),
            dash(vm.ip_address),
            dash(", ".join(book.duplicate_of(vm.moid))),
            vm.moid,
            vm.path,
        ]
        for vm in vms
    ]
    print(table(["NAME", "POWER", "TOOLS", "GUEST OPS", "IP", "SHARED WITH", "MOID", "PATH"], rows))
    return EXIT_OK
