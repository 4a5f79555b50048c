"""AddressBook (who shares an address) and Verifier (did a restart move the VM off it)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tui.vsphere.identity import AddressBook, identity_of, is_identity_ip
from tui.vsphere.models import VM, VMBatch, VMChange
from tui.vsphere.verify import Verifier


def vm(moid: str, name: str, ip: str | None, mac: str | None = None, note: str = "") -> VM:
    return VM(
        moid=moid,
        name=name,
        path=f"/DC/vm/{name}",
        folder="/DC/vm",
        ip_address=ip,
        ip_addresses=(ip, "fe80::250:56ff:fe00:1") if ip else ("fe80::250:56ff:fe00:1",),
        mac_addresses=(mac,) if mac else (),
        annotation=note or None,
    )


def modify(v: VM) -> VMBatch:
    return VMBatch((VMChange("modify", v.moid, v, frozenset({"ip_address"})),))


GOLDEN = vm("vm-1", "web-golden", "10.9.0.5", "00:50:56:00:00:01")
CLONE = vm("vm-2", "web-ic-01", "10.9.0.5", "00:50:56:00:00:02", note="instant clone of web-golden")
SIBLING = vm("vm-3", "web-ic-02", "10.9.0.5", "00:50:56:00:00:03")
OTHER = vm("vm-4", "db-01", "10.9.0.77", "00:50:56:00:00:04")


def test_identity_ignores_link_local_loopback_and_zero_macs() -> None:
    assert not is_identity_ip("fe80::1%eth0") and not is_identity_ip("169.254.3.4")
    assert not is_identity_ip("127.0.0.1") and not is_identity_ip("not-an-ip")
    assert is_identity_ip("10.0.0.1") and is_identity_ip("2001:db8::5")
    v = dataclasses.replace(GOLDEN, mac_addresses=("00:00:00:00:00:00", "00:50:56:AA:00:01"))
    assert identity_of(v) == ("10.9.0.5", "00:50:56:aa:00:01")


def test_shared_addresses_name_the_parent_first() -> None:
    book = AddressBook([SIBLING, GOLDEN, CLONE, OTHER])
    assert book.duplicated() == {"vm-1", "vm-2", "vm-3"}
    assert not book.has_duplicate("vm-4") and book.duplicate_of("vm-4") == ()
    # the clone's annotation names its parent: the parent comes first, then by name
    assert book.duplicate_of("vm-2") == ("web-golden", "web-ic-02")
    assert book.duplicate_of("vm-3") == ("web-golden", "web-ic-01")
    assert book.holders("10.9.0.5") == {"vm-1", "vm-2", "vm-3"}


def test_a_shared_mac_is_a_duplicate_too() -> None:
    twin = vm("vm-9", "twin", "10.1.1.1", "00:50:56:00:00:04")
    book = AddressBook([OTHER, twin])
    assert book.duplicate_of("vm-9") == ("db-01",)


def test_updates_keep_the_index_current() -> None:
    book = AddressBook([GOLDEN, CLONE])
    touched = book.apply(
        modify(dataclasses.replace(CLONE, ip_address="10.9.0.88", ip_addresses=("10.9.0.88",)))
    )
    assert touched == {"vm-1", "vm-2"}  # the parent's duplicate status changed too
    assert book.duplicated() == set()
    book.apply(VMBatch((VMChange("enter", "vm-3", SIBLING),)))
    assert book.duplicate_of("vm-1") == ("web-ic-02",)
    book.apply(VMBatch((VMChange("leave", "vm-3", None),)))
    assert book.duplicated() == set() and "vm-3" not in book.vms
    book.apply(VMBatch((VMChange("enter", "vm-4", OTHER),), resync=True))
    assert set(book.vms) == {"vm-4"} and book.holders("10.9.0.5") == set()


async def test_a_new_unique_address_is_verified_as_soon_as_it_arrives() -> None:
    v = Verifier(AddressBook([GOLDEN, CLONE]), timeout=30)
    waiting = asyncio.create_task(v.verify(CLONE))
    await asyncio.sleep(0)
    assert not waiting.done()
    v.feed(
        modify(
            dataclasses.replace(
                CLONE,
                ip_address="10.9.0.99",
                ip_addresses=("10.9.0.99",),
                mac_addresses=("00:50:56:00:00:22",),
            )
        )
    )
    verdict = await asyncio.wait_for(waiting, 5)
    assert verdict.verified is True and verdict.reason == "10.9.0.5 → 10.9.0.99"
    assert (verdict.ip_before, verdict.ip_after) == ("10.9.0.5", "10.9.0.99")
    assert (verdict.mac_before, verdict.mac_after) == ("00:50:56:00:00:02", "00:50:56:00:00:22")
    assert verdict.to_json()["verified"] is True


async def test_keeping_the_parents_address_fails_at_the_deadline() -> None:
    v = Verifier(AddressBook([GOLDEN, CLONE]), timeout=0.2)
    verdict = await asyncio.wait_for(v.verify(CLONE), 5)
    assert verdict.verified is False
    assert verdict.reason == "kept its launch address 10.9.0.5; still shares it with web-golden"
    assert verdict.word == "NOT verified"


async def test_moving_onto_a_siblings_address_is_not_verified() -> None:
    v = Verifier(AddressBook([GOLDEN, CLONE, OTHER]), timeout=0.2)
    waiting = asyncio.create_task(v.verify(CLONE))
    await asyncio.sleep(0)
    v.feed(modify(dataclasses.replace(CLONE, ip_address="10.9.0.77", ip_addresses=("10.9.0.77",))))
    verdict = await asyncio.wait_for(waiting, 5)
    assert verdict.verified is False and verdict.reason == "still shares 10.9.0.77 with db-01"


async def test_a_duplicate_that_resolves_before_the_deadline_is_verified() -> None:
    # the clone moves onto db-01's address, then db-01 moves away: the wait ends in success
    v = Verifier(AddressBook([CLONE, OTHER]), timeout=30)
    waiting = asyncio.create_task(v.verify(CLONE))
    v.feed(modify(dataclasses.replace(CLONE, ip_address="10.9.0.77", ip_addresses=("10.9.0.77",))))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    v.feed(modify(dataclasses.replace(OTHER, ip_address="10.9.0.78", ip_addresses=("10.9.0.78",))))
    verdict = await asyncio.wait_for(waiting, 5)
    assert verdict.verified is True


async def test_no_address_and_vanished_vms_have_no_verdict() -> None:
    bare = dataclasses.replace(CLONE, ip_address=None, ip_addresses=(), moid="vm-5")
    v = Verifier(AddressBook([bare]), timeout=0.1)
    verdict = await asyncio.wait_for(v.verify(bare), 5)
    assert verdict.verified is None and verdict.reason == "no address after 0.1 s"
    v2 = Verifier(AddressBook([CLONE]), timeout=30)
    waiting = asyncio.create_task(v2.verify(CLONE))
    await asyncio.sleep(0)
    v2.feed(VMBatch((VMChange("leave", "vm-2", None),)))
    verdict = await asyncio.wait_for(waiting, 5)
    assert verdict.verified is None and verdict.reason == "the VM left the inventory"


async def test_stopped_updates_end_every_wait_without_a_verdict() -> None:
    v = Verifier(AddressBook([GOLDEN, CLONE]), timeout=30)
    waiting = [asyncio.create_task(v.verify(CLONE)), asyncio.create_task(v.verify(GOLDEN))]
    await asyncio.sleep(0)
    v.stop("session lost")
    for verdict in await asyncio.wait_for(asyncio.gather(*waiting), 5):
        assert verdict.verified is None
        assert verdict.reason == "live updates stopped (session lost)"
        assert verdict.ip_after == "10.9.0.5"


@pytest.mark.parametrize("n", [4, 3])
def test_long_sharer_lists_are_cut(n: int) -> None:
    from tui.vsphere.verify import name_list

    names = [f"vm{i}" for i in range(n)]
    assert name_list(names) == ("vm0, vm1, vm2 and 1 more" if n == 4 else "vm0, vm1, vm2")


def test_the_ipv4_fast_path_agrees_with_ipaddress() -> None:
    """is_identity_ip judges dotted quads without ``ipaddress``: the same answer for every
    kind of address, well formed or not."""
    import ipaddress
    import random

    def reference(text: str) -> bool:
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return False
        return not (ip.is_link_local or ip.is_loopback or ip.is_unspecified or ip.is_multicast)

    cases = [
        "10.0.0.1", "127.0.0.1", "127.255.0.9", "169.254.3.4", "169.253.1.1", "0.0.0.0",
        "0.1.2.3", "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255", "01.2.3.4",
        "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4%eth0", "fe80::1", "::1", "2001:db8::1",
        " 1.2.3.4", "1.2.3.+4", "1.2.3.4 ", "1.2.3.4\n", "\u0661.2.3.4", "", "1..2.3",
    ]  # fmt: skip
    rnd = random.Random(9)
    cases += [".".join(str(rnd.randint(0, 300)) for _ in range(4)) for _ in range(3000)]
    wrong = [c for c in cases if is_identity_ip.__wrapped__(c) != reference(c)]
    assert wrong == []


def test_add_all_builds_the_same_book_as_put() -> None:
    vms = [
        VM(f"vm-{i}", f"v{i}", f"/DC/vm/v{i}", "/DC/vm", ip_address=f"10.0.0.{i % 7}")
        for i in range(40)
    ] + [VM("vm-m", "m", "/DC/vm/m", "/DC/vm", mac_addresses=("00:50:56:aa:bb:cc",))]
    one = AddressBook()
    for vm in vms:
        one.put(vm)
    bulk = AddressBook()
    bulk.add_all(vms[:20])
    moved = dataclasses.replace(vms[3], ip_address="10.9.9.9")
    bulk.add_all([*vms[20:], moved, vms[3]])  # vm-3 again, twice: put
    assert bulk.vms == one.vms and bulk._addrs == one._addrs and bulk._holders == one._holders
    assert bulk.duplicated() == one.duplicated() and bulk.duplicated()


def test_duplicate_of_orders_as_the_rule_says_through_changes() -> None:
    """Parent (named in the annotation) first, then by name; over random books that change
    (renames, moves, leaves), checked against the rule computed from scratch."""
    import random

    rnd = random.Random(7)
    book = AddressBook()
    live: dict[str, VM] = {}
    for step in range(600):
        moid = f"vm-{rnd.randint(0, 40)}"
        if rnd.random() < 0.15 and moid in live:
            book.remove(moid)
            del live[moid]
        else:
            name = f"n{rnd.randint(0, 60):02d}"
            note = f"clone of n{rnd.randint(0, 60):02d}" if rnd.random() < 0.5 else ""
            ip = f"10.0.0.{rnd.randint(1, 6)}"
            mac = f"00:50:56:00:00:0{rnd.randint(1, 4)}" if rnd.random() < 0.4 else None
            live[moid] = vm(moid, name, ip, mac, note)
            book.put(live[moid])
        for m, v in live.items():
            mine = set(identity_of(v))
            others = [o for o, w in live.items() if o != m and mine & set(identity_of(w))]
            names = sorted(live[o].name for o in others)
            note = v.annotation or ""
            expected = [n for n in names if note and n in note] + [
                n for n in names if not (note and n in note)
            ]
            assert list(book.duplicate_of(m)) == expected, (step, m)
