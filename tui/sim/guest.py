"""The guest OS side of the VMs: its accounts, the guest login check, the addresses it gets.

A VM lists its own guest accounts, or has the inventory's defaults, or the one account of the
options (``guest_user`` / ``guest_password``). Wrong credentials fail at once (``auth_mode``
``sync``) or in the task (``task``, the default). A guest without ``acquire_ip`` gets a fresh
address from the pool on its first successful StartGuestNetwork: two VMs share an address only
when the inventory (or a control call) says so.
"""

from __future__ import annotations

import itertools
import secrets

from tui.sim.faults import (
    SimFault,
    guest_permission_denied,
    invalid_guest_login,
    no_console_user,
)
from tui.sim.inventory import GuestAccount, Inventory
from tui.sim.objects import VirtualMachine
from tui.sim.options import SimOptions


class Guests:
    def __init__(self, options: SimOptions, inventory: Inventory) -> None:
        self.options = options
        self.auth_mode = inventory.auth_mode
        self.default_accounts = inventory.guest_accounts
        self.ip_seq = itertools.count(0)
        # every address the inventory or a control call gave a VM: the pool skips them
        self.taken: set[str] = set()
        for _, vm in inventory.iter_vms():
            self.reserve(vm.ip)
            self.reserve(vm.acquire_ip)

    def reserve(self, ip: str | None) -> None:
        if ip is not None:
            self.taken.add(ip)

    def accounts_for(self, vm: VirtualMachine) -> list[GuestAccount]:
        if vm.accounts is not None:
            return vm.accounts
        if self.default_accounts is not None:
            return self.default_accounts
        return [GuestAccount(self.options.guest_user, self.options.guest_password, True)]

    def check_login(
        self, vm: VirtualMachine, username: str, password: str, interactive: bool
    ) -> SimFault | None:
        """The fault a guest login with these credentials gets, or None."""
        acct = next((a for a in self.accounts_for(vm) if a.username == username), None)
        pw_ok = acct is not None and secrets.compare_digest(
            acct.password.encode(), password.encode()
        )
        if acct is None or not pw_ok:
            return invalid_guest_login()
        if interactive:
            return no_console_user()
        if not acct.permitted:
            return guest_permission_denied(username)
        return None

    def login(
        self, vm: VirtualMachine, username: str, password: str, interactive: bool
    ) -> SimFault | None:
        """The guest login's fault: raised at once in ``sync`` auth mode, else for the task."""
        fault = self.check_login(vm, username, password, interactive)
        if fault is not None and (vm.auth_mode or self.auth_mode) == "sync":
            raise fault
        return fault

    def next_address(self) -> str:
        """A fresh address for a guest without ``acquire_ip``: from 10.200.0.0/16 on (62,500
        per /16, then 10.201…), never one another VM was given."""
        while True:
            n = next(self.ip_seq)
            ip = f"10.{200 + n // 62500}.{(n // 250) % 250}.{n % 250 + 2}"
            if ip not in self.taken:
                self.taken.add(ip)
                return ip
