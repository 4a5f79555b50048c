"""The session's network identities: which VMs share an address, and the proof of a restart.

One ``AddressBook`` (tui/vsphere/identity.py) is kept current from the same watch batches as the
VM table, and one ``Verifier`` (tui/vsphere/verify.py) reads it, so "who else holds 10.9.0.5?"
and "did web-03 leave its parent's address?" are answered from the stream the table shows.
``dup`` is the set of VMs sharing an address, kept incrementally: the table's DUP column and the
``:dup`` filter read it, never the book.

A full re-sync re-indexes every VM (at 50,000 VMs that is a noticeable fraction of a second), so
``rebuild()`` builds a fresh book in slices, yielding to the event loop between them: the table
is painted first and keys stay responsive. The old book answers until the new one is complete;
batches that arrive meanwhile wait and are applied to the new book, in order.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable

from tui.vsphere.gcpause import gc_paused
from tui.vsphere.identity import AddressBook
from tui.vsphere.models import VM, VMBatch, VMChange
from tui.vsphere.verify import DEFAULT_VERIFY_TIMEOUT, Verdict, Verifier, name_list

SLICE = 1000  # VMs indexed between two turns of the event loop


class AddressIndex:
    def __init__(self, verify_timeout: float = DEFAULT_VERIFY_TIMEOUT) -> None:
        self.book = AddressBook()
        self.verify_timeout = verify_timeout
        self.verifier = Verifier(self.book, verify_timeout)
        self._stopped = False
        self.dup: set[str] = set()  # moids of the VMs that share an address with another VM
        self._pending: list[VM] | None = None  # the latest re-sync's VMs, not indexed yet
        self._backlog: list[VMBatch] = []  # batches that came after it
        self._ready = asyncio.Event()  # set once the first re-sync is indexed
        self._verifying: Counter[str] = Counter()

    @property
    def indexing(self) -> bool:
        """A re-sync is being indexed (``dup`` still describes the one before)."""
        return self._pending is not None

    def apply(self, batch: VMBatch) -> set[str]:
        """One watch batch; returns the moids whose duplicate flag changed. A re-sync is only
        queued: ``rebuild()`` indexes it."""
        if batch.resync:
            if self._stopped:  # a new stream after one that failed: verify afresh
                self._stopped = False
                self.verifier = Verifier(self.book, self.verify_timeout)
            self._pending = [c.vm for c in batch.changes if c.vm is not None]
            self._backlog.clear()
            return set()
        if self._pending is not None:
            self._backlog.append(batch)
            return set()
        return self._reflag(self.verifier.feed(batch))

    async def rebuild(self) -> set[str] | None:
        """Index the latest re-sync, a slice at a time, then put the new book in place; returns
        the moids whose flag changed, or None when there was nothing to index or a newer
        re-sync took over."""
        vms = self._pending
        if vms is None:
            return None
        book = AddressBook()
        for start in range(0, len(vms), SLICE):
            with gc_paused():
                book.add_all(vms[start : start + SLICE])
            await asyncio.sleep(0)
            if self._pending is not vms:
                return None
        return self._swap(book)

    def _swap(self, book: AddressBook) -> set[str]:
        self._pending = None
        old = self.dup
        self.book = book
        self.verifier.book = book
        backlog, self._backlog = self._backlog, []
        for batch in backlog:
            self.verifier.feed(batch)
        self.dup = book.duplicated()
        # the waiting verifications look again, at the new book
        waiting = [
            VMChange("modify", m, book.vms[m]) if m in book.vms else VMChange("leave", m, None)
            for m in self._verifying
        ]
        if waiting:
            self.verifier.feed(VMBatch(tuple(waiting)))
        self._ready.set()
        return old ^ self.dup

    def _reflag(self, moids: Iterable[str]) -> set[str]:
        changed: set[str] = set()
        dup = self.dup
        for moid in moids:
            now = self.book.has_duplicate(moid)
            if now != (moid in dup):
                if now:
                    dup.add(moid)
                else:
                    dup.discard(moid)
                changed.add(moid)
        return changed

    async def verify(self, before: VM) -> Verdict:
        """The verdict on ``before``'s VM (as it was at launch): waits for the first index, then
        up to the verify timeout for the stream to prove or disprove the restart."""
        self._verifying[before.moid] += 1
        try:
            await self._ready.wait()
            return await self.verifier.verify(before)
        finally:
            self._verifying[before.moid] -= 1
            if not self._verifying[before.moid]:
                del self._verifying[before.moid]

    def stop(self, reason: str) -> None:
        """The VM stream ended: waiting verifications end now, without a verdict."""
        self._stopped = True
        self._ready.set()
        self.verifier.stop(reason)

    def shares(self, moid: str) -> str | None:
        """``shares 10.9.0.5 with web-golden, web-02`` for a VM with a duplicate, else None."""
        vms = self.book.vms
        parts = [
            f"{address} with {name_list([vms[m].name if m in vms else m for m in others])}"
            for address, others in self.book.sharers(moid).items()
        ]
        return "shares " + "; ".join(parts) if parts else None
