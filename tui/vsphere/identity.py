"""Network identity: which VMs share a guest address (IP or MAC) with another VM.

An instant clone wakes up with its parent's identity; until its guest network is restarted it
answers on the parent's address. ``AddressBook`` indexes every VM's guest IPs and MACs (from
``guest.net``) and is kept current from the live update stream (``VMBatch``), so "who else holds
10.9.0.5?" is a dictionary look-up, not a scan of 50,000 VMs.

Link-local, loopback and unspecified addresses are not identities (every guest has fe80::…), so
they never count as shared.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache

from tui.vsphere.models import VM, VMBatch


@lru_cache(maxsize=65536)
def is_identity_ip(text: str) -> bool:
    """True for an address naming one host on a network (not link-local, loopback, unspecified)."""
    v4 = _ipv4_octets(text)
    if v4 is not None:  # the common case, without ``ipaddress`` (a snapshot has 50,000)
        a, b = v4
        return not (a == 127 or (a == 169 and b == 254) or 224 <= a <= 239 or text == "0.0.0.0")
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return not (ip.is_link_local or ip.is_loopback or ip.is_unspecified or ip.is_multicast)


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # 0-255, no leading zero
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


def _ipv4_octets(text: str) -> tuple[int, int] | None:
    """The first two octets of a plain dotted-quad IPv4 address as ``ipaddress`` accepts it;
    None for anything else, which ``ipaddress`` then judges."""
    m = _IPV4.fullmatch(text)
    return (int(m[1]), int(m[2])) if m else None


def identity_of(vm: VM) -> tuple[str, ...]:
    """The addresses that identify ``vm`` on the network: its IPs (primary first), then its MACs."""
    ips = vm.ip_addresses or ((vm.ip_address,) if vm.ip_address else ())
    return tuple(ip.lower() for ip in ips if is_identity_ip(ip)) + tuple(
        m.lower() for m in vm.mac_addresses if m and m != "00:00:00:00:00:00"
    )


class AddressBook:
    """Every VM's identity addresses, indexed both ways; updated in place from ``VMBatch``es."""

    def __init__(self, vms: Iterable[VM] = ()) -> None:
        self.vms: dict[str, VM] = {}
        self._addrs: dict[str, tuple[str, ...]] = {}  # moid → its addresses
        self._holders: dict[str, set[str]] = {}  # address → moids holding it
        self._sorted: dict[str, list[tuple[str, str]]] = {}  # address → holders by name (cache)
        self.add_all(vms)

    def put(self, vm: VM) -> set[str]:
        """Add or replace ``vm``; returns the moids whose set of sharers may have changed."""
        old = self._addrs.get(vm.moid, ())
        new = identity_of(vm)
        self.vms[vm.moid] = vm
        self._sorted.clear()  # a name or a holder may have changed
        if old == new:
            return set()
        touched = self._unlink(vm.moid, old)
        self._addrs[vm.moid] = new
        for a in new:
            holders = self._holders.setdefault(a, set())
            touched |= holders
            holders.add(vm.moid)
        touched.add(vm.moid)
        return touched

    def add_all(self, vms: Iterable[VM]) -> None:
        """``put`` each VM, faster for VMs not in the book yet (a snapshot into a new book):
        nothing to unlink, no sharers to report."""
        book, addrs, holders = self.vms, self._addrs, self._holders
        self._sorted.clear()
        for vm in vms:
            moid = vm.moid
            if moid in book:
                self.put(vm)
                continue
            book[moid] = vm
            new = identity_of(vm)
            if new:
                addrs[moid] = new
                for a in new:
                    if (h := holders.get(a)) is None:
                        holders[a] = {moid}
                    else:
                        h.add(moid)

    def remove(self, moid: str) -> set[str]:
        self.vms.pop(moid, None)
        self._sorted.clear()
        return self._unlink(moid, self._addrs.pop(moid, ()))

    def apply(self, batch: VMBatch) -> set[str]:
        """Apply a live-update batch; returns the moids whose duplicate status may have changed."""
        touched: set[str] = set()
        if batch.resync:
            fresh = {c.moid for c in batch.changes if c.vm is not None}
            for moid in [m for m in self.vms if m not in fresh]:
                touched |= self.remove(moid)
        for c in batch.changes:
            touched |= self.remove(c.moid) if c.vm is None else self.put(c.vm)
        return touched

    def _unlink(self, moid: str, addrs: tuple[str, ...]) -> set[str]:
        touched: set[str] = set()
        for a in addrs:
            holders = self._holders.get(a)
            if holders is None:
                continue
            holders.discard(moid)
            touched |= holders
            if not holders:
                del self._holders[a]
        return touched

    def holders(self, address: str) -> set[str]:
        """The moids of the VMs that hold ``address`` now."""
        return set(self._holders.get(address.lower(), ()))

    def sharers(self, moid: str) -> dict[str, list[str]]:
        """Each address of ``moid`` held by some other VM → those VMs' moids (parent first)."""
        out: dict[str, list[str]] = {}
        for a in self._addrs.get(moid, ()):
            others = self._holders.get(a, set()) - {moid}
            if others:
                out[a] = self._parent_first(moid, others)
        return out

    def duplicate_of(self, moid: str) -> tuple[str, ...]:
        """Names of the VMs sharing an address with ``moid``: its parent first, then by name."""
        shared = [a for a in self._addrs.get(moid, ()) if len(self._holders.get(a, ())) > 1]
        if not shared:
            return ()  # most VMs, and no set built for each of their addresses
        if len(shared) == 1:  # the usual clone: one address, its holders sorted once for all
            names = [n for o, n in self._by_name(shared[0]) if o != moid]
        else:
            others = {o for a in shared for o in self._holders[a]} - {moid}
            names = sorted(self.vms[o].name if o in self.vms else o for o in others)
        vm = self.vms.get(moid)
        note = (vm.annotation or "") if vm else ""
        if note:  # the parent the annotation names comes first (stable: by name after)
            names = [n for n in names if n in note] + [n for n in names if n not in note]
        return tuple(names)

    def _by_name(self, address: str) -> list[tuple[str, str]]:
        """(moid, name) of the holders of ``address``, by name; kept until the book changes.
        A clone generation of 1,000 VMs sharing their parent's address asks 1,000 times."""
        cached = self._sorted.get(address)
        if cached is None:
            vms = self.vms
            pairs = [(o, vms[o].name if o in vms else o) for o in self._holders[address]]
            cached = self._sorted[address] = sorted(pairs, key=lambda p: p[1])
        return cached

    def has_duplicate(self, moid: str) -> bool:
        return any(len(self._holders.get(a, ())) > 1 for a in self._addrs.get(moid, ()))

    def duplicated(self) -> set[str]:
        """Every moid that shares an address with another VM."""
        return {m for holders in self._holders.values() if len(holders) > 1 for m in holders}

    def _parent_first(self, moid: str, others: Iterable[str], names: bool = False) -> list[str]:
        vm = self.vms.get(moid)
        note = (vm.annotation or "") if vm else ""

        def key(o: str) -> tuple[bool, str]:
            name = self.vms[o].name if o in self.vms else o
            return (not (note and name in note), name)

        ordered = sorted(others, key=key)
        return [self.vms[o].name if o in self.vms else o for o in ordered] if names else ordered
