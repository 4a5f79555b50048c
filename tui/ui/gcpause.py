"""``gc_paused()``: no cyclic garbage collection while a snapshot of tens of thousands of VMs is
turned into rows.

Each VM, row key and sort key is a new object; the collector, counting allocations, then runs
again and again over the whole heap (the app's widgets and every VM) while finding nothing to
free: at 60,000 VMs that was a third of the time to the first painted row. Reference counting
still frees what is dropped; the collector runs again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
