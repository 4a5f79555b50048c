"""Proof that a guest network restart worked: the VM left its launch address and holds it alone.

After StartGuestNetwork_Task succeeds, the guest takes a new DHCP lease and VMware Tools reports
the new address a few seconds later. ``Verifier`` is fed the live update stream (the same
``VMBatch``es the table shows) and answers, per VM, with a ``Verdict``:

- ``verified=True``: the primary address differs from the one at launch and no other VM holds it
  (nor the VM's MAC);
- ``verified=False``: at the deadline the VM still had its launch address, or shared its address
  or MAC with another VM (the parent, a sibling);
- ``verified=None``: no verdict possible: no address by the deadline, the VM left the
  inventory, or the live updates stopped.

No polling: a waiting verification wakes only when an update touches its VM or one that shares
its addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tui.vsphere.identity import AddressBook, is_identity_ip
from tui.vsphere.models import VM, VMBatch

DEFAULT_VERIFY_TIMEOUT = 60.0
_NAMED = 3  # sharers named in a reason before "and N more"


@dataclass(frozen=True, slots=True)
class Verdict:
    verified: bool | None
    reason: str
    ip_before: str | None = None
    ip_after: str | None = None
    mac_before: str | None = None
    mac_after: str | None = None

    @property
    def word(self) -> str:
        """One word for a table cell: verified / NOT verified / unverified."""
        return {True: "verified", False: "NOT verified", None: "unverified"}[self.verified]

    def to_json(self) -> dict[str, Any]:
        return {
            "ip_before": self.ip_before,
            "ip_after": self.ip_after,
            "mac_before": self.mac_before,
            "mac_after": self.mac_after,
            "verified": self.verified,
            "verify_reason": self.reason,
        }


def _primary_ip(vm: VM | None) -> str | None:
    if vm is None:
        return None
    for ip in (vm.ip_address, *vm.ip_addresses):
        if ip and is_identity_ip(ip):
            return ip
    return None


def _mac(vm: VM | None) -> str | None:
    return vm.mac_addresses[0] if vm is not None and vm.mac_addresses else None


def name_list(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMED])
    return shown if len(names) <= _NAMED else f"{shown} and {len(names) - _NAMED} more"


def assess(before: VM, now: VM | None, book: AddressBook, waited: float) -> tuple[Verdict, bool]:
    """The verdict on ``before``'s VM if the wait ended ``now``, and whether waiting longer could
    still change it (False: settled — proven, or the VM is gone)."""
    base = {"ip_before": _primary_ip(before), "mac_before": _mac(before)}
    if now is None:
        return Verdict(None, "the VM left the inventory", **base), False
    ip, mac = _primary_ip(now), _mac(now)
    after = {**base, "ip_after": ip, "mac_after": mac}
    names = {
        a: [book.vms[m].name for m in ms if m in book.vms]
        for a, ms in book.sharers(now.moid).items()
    }
    key = ip.lower() if ip else None
    if ip is None:
        return Verdict(None, f"no address after {waited:g} s", **after), True
    if ip == base["ip_before"]:
        tail = f"; still shares it with {name_list(names[key])}" if key in names else ""
        return Verdict(False, f"kept its launch address {ip}{tail}", **after), True
    if key in names:
        return Verdict(False, f"still shares {ip} with {name_list(names[key])}", **after), True
    if mac is not None and mac in names:
        return Verdict(False, f"shares MAC {mac} with {name_list(names[mac])}", **after), True
    return Verdict(True, f"{base['ip_before'] or '-'} → {ip}", **after), False


class Verifier:
    """Waits, per VM, for the live update stream to prove (or disprove) a network restart."""

    def __init__(
        self,
        book: AddressBook | None = None,
        timeout: float = DEFAULT_VERIFY_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.book = book if book is not None else AddressBook()
        self.timeout = timeout
        self._clock = clock
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._stopped: str | None = None

    def feed(self, batch: VMBatch) -> set[str]:
        """Apply a live update; wakes the verifications it may decide. Returns the touched moids."""
        touched = self.book.apply(batch)
        touched.update(c.moid for c in batch.changes)
        for moid in touched & self._waiting.keys():
            for ev in self._waiting[moid]:
                ev.set()
        return touched

    def stop(self, reason: str) -> None:
        """The live updates ended: every waiting verification ends now with no verdict."""
        self._stopped = reason
        for events in self._waiting.values():
            for ev in events:
                ev.set()

    async def verify(self, before: VM) -> Verdict:
        """Wait up to the Verifier's timeout for ``before``'s VM to prove its restart."""
        limit = self.timeout
        deadline = self._clock() + limit
        ev = asyncio.Event()
        self._waiting.setdefault(before.moid, set()).add(ev)
        try:
            while True:
                ev.clear()
                verdict, open_ = assess(before, self.book.vms.get(before.moid), self.book, limit)
                if not open_:
                    return verdict
                if self._stopped is not None:
                    return dataclasses.replace(
                        verdict, verified=None, reason=f"live updates stopped ({self._stopped})"
                    )
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return verdict
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ev.wait(), remaining)
        finally:
            events = self._waiting.get(before.moid)
            if events is not None:
                events.discard(ev)
                if not events:
                    del self._waiting[before.moid]
