"""The VM store's duplicate-address flags (tui/ui/addresses.py, tui/ui/vmstore.py): incremental
from the watch batches, a re-sync indexed in slices, the ``:dup`` filter, the dup sort, marking,
and verification waiting for the index."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tests.ui.fakes import make_vms
from tui.ui import addresses
from tui.ui.addresses import AddressIndex
from tui.ui.vmstore import VMStore, split_dup
from tui.vsphere.models import VM, VMBatch, VMChange


def _resync(vms: list[VM]) -> VMBatch:
    return VMBatch(tuple(VMChange("enter", vm.moid, vm) for vm in vms), resync=True)


def _ip(vm: VM, ip: str | None) -> VMChange:
    return VMChange("modify", vm.moid, replace(vm, ip_address=ip), frozenset({"ip_address"}))


def _indexed(n: int = 8) -> VMStore:
    s = VMStore()
    r = s.apply(_resync(make_vms(n)))
    assert r.structural and r.reindex
    assert asyncio.run(s.addresses.rebuild()) == set()  # make_vms: every address is unique
    return s


def test_store_reports_modified_rows_and_duplicate_flags() -> None:
    s = _indexed()
    vms = list(s.vms.values())
    a, b, c, d = vms[1], vms[2], vms[3], vms[5]
    assert a.ip_address and b.ip_address and a.ip_address != b.ip_address
    res = s.apply(
        VMBatch(
            (
                _ip(a, b.ip_address),  # a takes b's address: both are flagged
                VMChange(
                    "modify", c.moid, replace(c, power_state="poweredOff"), frozenset({"power"})
                ),
                VMChange("modify", d.moid, replace(d, ip_address=None)),  # fields unknown: diffed
            )
        )
    )
    assert not res.structural and res.modified == {a.moid, b.moid, c.moid, d.moid}
    assert res.dups == {a.moid, b.moid}
    assert s.has_duplicate(a.moid) and s.has_duplicate(b.moid) and not s.has_duplicate(c.moid)
    assert s.addresses.shares(a.moid) == f"shares {b.ip_address} with {b.name}"
    assert s.addresses.shares(c.moid) is None
    s.set_sort("ip")  # an IP change moves the row: structural, still reported
    res = s.apply(VMBatch((_ip(a, "10.64.0.90"),)))
    assert res.structural and res.dups == {a.moid, b.moid} and not s.addresses.dup
    res = s.apply(VMBatch((VMChange("leave", b.moid, None),)))
    assert res.structural and b.moid not in s.vms


def test_dup_filter_sort_and_mark() -> None:
    s = _indexed(12)
    vms = list(s.vms.values())
    golden, x, y = vms[1], vms[6], vms[9]
    s.apply(VMBatch((_ip(x, golden.ip_address), _ip(y, golden.ip_address))))
    assert s.addresses.dup == {golden.moid, x.moid, y.moid}
    s.set_filter(":dup")
    assert s.filtered and s.visible == [golden.moid, x.moid, y.moid]
    s.set_filter(f"{x.name} :DUP")  # combined with text, any case
    assert s.visible == [x.moid]
    s.set_filter(":dup")
    res = s.apply(VMBatch((_ip(y, "10.99.0.1"),)))  # y leaves: the :dup view loses it
    assert res.structural and s.visible == [golden.moid, x.moid]
    s.set_filter("")
    s.set_sort("dup")
    assert s.visible[:2] == [golden.moid, x.moid] and len(s.visible) == 12
    s.set_sort("dup", reverse=True)
    assert s.visible[-2:] == [x.moid, golden.moid]
    s.set_filter("clone-00")  # marking takes every duplicate, filtered out or not
    assert s.mark_duplicates() == 2 and s.marks == {golden.moid, x.moid}
    assert s.mark_duplicates() == 0
    assert split_dup("web-* :dup") == (True, "web-*") and split_dup("a:dup") == (False, "a:dup")


def test_a_resync_is_indexed_in_slices_and_later_batches_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(addresses, "SLICE", 100)
    vms = make_vms(450)
    shared = [replace(vm, ip_address="10.9.0.5") for vm in vms[:3]]
    vms = shared + vms[3:]

    async def go() -> None:
        index = AddressIndex()
        index.apply(_resync(vms))
        assert index.indexing and not index.dup
        turns = 0

        async def count_turns() -> None:
            nonlocal turns
            while index.indexing:
                turns += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(count_turns())
        build = asyncio.create_task(index.rebuild())
        await asyncio.sleep(0)
        # a batch during the build: it waits, then applies to the new book
        assert index.apply(VMBatch((_ip(vms[10], "10.9.0.5"),))) == set()
        changed = await build
        await counter
        assert turns >= 4  # five slices, the loop ran between them
        assert changed == index.dup == {vms[0].moid, vms[1].moid, vms[2].moid, vms[10].moid}
        assert not index.indexing
        # a newer re-sync during a build: the older build gives up
        index.apply(_resync(vms[:200]))
        first = asyncio.create_task(index.rebuild())
        await asyncio.sleep(0)
        index.apply(_resync(vms[:2]))
        assert await first is None
        assert await index.rebuild() == {vms[2].moid, vms[10].moid}
        assert index.dup == {vms[0].moid, vms[1].moid}
        assert await index.rebuild() is None  # nothing left to index

    asyncio.run(go())


def test_a_verification_waits_for_the_first_index_then_for_the_stream() -> None:
    vms = make_vms(6)
    vm = vms[1]
    assert vm.ip_address

    async def go() -> None:
        index = AddressIndex(verify_timeout=5)
        waiting = asyncio.create_task(index.verify(vm))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # no index yet: no verdict (not "the VM left")
        index.apply(_resync(vms))
        await index.rebuild()
        await asyncio.sleep(0.05)
        assert not waiting.done()  # still its launch address: waits for the stream
        index.apply(VMBatch((_ip(vm, "10.64.7.7"),)))
        verdict = await asyncio.wait_for(waiting, 2)
        assert verdict.verified is True and verdict.reason == f"{vm.ip_address} → 10.64.7.7"
        # the stream stops: a waiting verification ends without a verdict
        late = asyncio.create_task(index.verify(vms[2]))
        await asyncio.sleep(0.05)
        index.stop("connection lost")
        verdict = await asyncio.wait_for(late, 2)
        assert verdict.verified is None and "connection lost" in verdict.reason
        # a new stream after the failure verifies afresh
        index.apply(_resync(vms))
        await index.rebuild()
        again = asyncio.create_task(index.verify(vms[3]))
        index.apply(VMBatch((_ip(vms[3], "10.64.7.8"),)))
        assert (await asyncio.wait_for(again, 2)).verified is True

    asyncio.run(go())


def test_a_rebuild_wakes_the_verifications_waiting_on_the_old_book() -> None:
    vms = make_vms(6)
    vm = vms[1]

    async def go() -> None:
        index = AddressIndex(verify_timeout=5)
        index.apply(_resync(vms))
        await index.rebuild()
        waiting = asyncio.create_task(index.verify(vm))
        await asyncio.sleep(0.05)
        # a re-sync (session expiry) already holds the new address: the swap decides it
        index.apply(_resync([replace(vm, ip_address="10.64.7.9"), *vms[2:]]))
        await index.rebuild()
        verdict = await asyncio.wait_for(waiting, 2)
        assert verdict.verified is True and verdict.ip_after == "10.64.7.9"

    asyncio.run(go())
