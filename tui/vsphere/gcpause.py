"""``gc_paused()``: no cyclic garbage collection while tens of thousands of VMs are decoded or
turned into rows.

A listing's pages decode to about 1.5 million JSON values per 20,000 VMs, and each VM, row key
and sort key is a new object: the collector, counting allocations, runs again and again over the
whole heap (every VM built so far, the app's widgets) while finding nearly nothing to free. That
was about half the client's CPU time listing 3 × 20,000 VMs (benchmarks/multi_list.py) and a
third of the time to the UI's first painted row (benchmarks/ui_app.py --sites 3). Reference
counting still frees what is dropped; cyclic garbage waits for the first collection after.
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
