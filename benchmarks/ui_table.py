"""VM table implementations at 10,000 / 50,000 VMs, driven by Textual's headless Pilot.

Measures, for each implementation, at 160×48:
  first paint   time from handing over the data to the screen being idle (rendered)
  filter        each keystroke of a typed filter, from key to idle (p50 / p95 / max)
  row update    one VM's IP changes: from the update to idle (median of 20)

Implementations:
  virtual       guestnet's LineTable (Line API, rows are never widgets) over VMStore — used
  datatable     stock textual DataTable: add_rows in one batch, fixed column widths, keys by
                moid, update_cell(update_width=False); a filter keystroke is clear()+add_rows()
  fastdatatable textual-fastdatatable (Arrow backend): constructor with all rows, fixed widths;
                it cannot clear(), so a filter keystroke mounts a new table

Run:  .venv/bin/python benchmarks/ui_table.py [--vms 10000 50000] [--impl virtual datatable …]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from tui.ui.vmstore import VMStore, compile_filter
from tui.ui.widgets.vm_table import VMTable
from tui.vsphere.models import VM, VMBatch, VMChange

SIZE = (160, 48)
FILTER = "team-b/clone-12"
COLS = [("name", 28), ("power", 5), ("tools", 8), ("ip", 15), ("path", 60)]


def make_vms(n: int) -> list[VM]:
    out = []
    for i in range(n):
        folder = f"/DC1/vm/team-{'abcdefgh'[i % 8]}/{('prod', 'dev', 'staging')[i % 3]}"
        name = f"clone-{i:05d}"
        out.append(
            VM(
                moid=f"vm-{1000 + i}",
                name=name,
                path=f"{folder}/{name}",
                folder=folder,
                power_state="poweredOn" if i % 10 else "poweredOff",
                connection_state="connected",
                tools_running_status="guestToolsRunning",
                guest_operations_ready=True,
                ip_address=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                host_name=f"{name}.example.test",
            )
        )
    return out


def row(vm: VM) -> tuple[str, ...]:
    return (vm.name, vm.power_state or "", "running", vm.ip_address or "-", vm.folder)


CPU: list[float] = []  # CPU seconds of the last timed() call


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    """Wall seconds of ``fn``; its CPU seconds go to CPU[-1].

    Pilot's press()/pause() wait for idle with timers, so the wall time of a no-op key press
    is tens of milliseconds of *waiting*; the process CPU time is the work the app did to
    handle the key and render the screen, which is what a user feels on a busy machine.
    """
    c0 = time.process_time()
    t0 = time.perf_counter()
    await fn()
    wall = time.perf_counter() - t0
    CPU.append(time.process_time() - c0)
    return wall


class Bench(App[None]):
    def __init__(self, impl: str, vms: list[VM]) -> None:
        super().__init__()
        self.impl = impl
        self.vms = vms
        self.store = VMStore()

    def compose(self) -> ComposeResult:
        yield Input(id="filter")
        if self.impl == "virtual":
            yield VMTable(self.store, id="t")
        elif self.impl == "datatable":
            yield DataTable(id="t")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_to(event.value)

    # -- per implementation -----------------------------------------------------------------
    def load(self) -> None:
        if self.impl == "noop":
            return
        if self.impl == "virtual":
            self.store.load(self.vms)
            self.query_one(VMTable).rows_changed()
        elif self.impl == "datatable":
            t = self.query_one(DataTable)
            for label, width in COLS:
                t.add_column(label, width=width, key=label)
            for vm in self.vms:
                t.add_row(*row(vm), key=vm.moid)
        else:
            self._mount_fast(self.vms)

    def _mount_fast(self, vms: list[VM]) -> None:
        from textual_fastdatatable import DataTable as FastTable

        for old in self.query(".fast"):
            old.remove()
        self.mount(
            FastTable(
                data=[row(vm) for vm in vms] or [("",) * len(COLS)],
                column_labels=[c for c, _ in COLS],
                column_widths=[w for _, w in COLS],
                classes="fast",
            )
        )

    def filter_to(self, text: str) -> None:
        if self.impl in ("noop", "none"):
            return
        pred = compile_filter(text)
        if self.impl == "virtual":
            self.store.set_filter(text)
            self.query_one(VMTable).rows_changed()
            return
        vms = [vm for vm in self.vms if pred is None or pred(f"{vm.name}\n{vm.path}".lower())]
        if self.impl == "datatable":
            t = self.query_one(DataTable)
            t.clear()
            for vm in vms:
                t.add_row(*row(vm), key=vm.moid)
        else:
            self._mount_fast(vms)

    def update_one(self, i: int) -> None:
        if self.impl in ("noop", "none"):
            return
        vm = self.vms[i]
        new = replace(vm, ip_address=f"192.168.{i % 256}.{(i * 7) % 256}")
        self.vms[i] = new
        if self.impl == "virtual":
            res = self.store.apply(
                VMBatch((VMChange("modify", vm.moid, new, frozenset({"ip_address"})),))
            )
            t = self.query_one(VMTable)
            for m in res.modified:
                t.refresh_moid(m)
        elif self.impl == "datatable":
            self.query_one(DataTable).update_cell(vm.moid, "ip", new.ip_address, update_width=False)
        else:
            from textual_fastdatatable import DataTable as FastTable

            self.query_one(".fast", FastTable).update_cell(i, 3, new.ip_address)


async def run_one(impl: str, n: int) -> dict[str, float]:
    vms = make_vms(n)
    app = Bench(impl, vms)
    out: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()

        async def first() -> None:
            app.load()
            await pilot.pause()

        out["first_paint"] = await timed(first)
        out["first_paint_cpu"] = CPU[-1]
        app.query_one("#filter", Input).focus()
        await pilot.pause()
        keys: list[float] = []
        cpu: list[float] = []
        if impl == "noop":
            app.impl = "none"
        for key in [*FILTER, *["backspace"] * len(FILTER)]:
            keys.append(await timed(lambda key=key: pilot.press(key)))
            cpu.append(CPU[-1])
        for name, xs in (("filter", keys), ("filter_cpu", cpu)):
            xs.sort()
            out[f"{name}_p50"] = statistics.median(xs)
            out[f"{name}_p95"] = xs[int(len(xs) * 0.95) - 1]
            out[f"{name}_max"] = xs[-1]
        ups: list[float] = []
        ups_cpu: list[float] = []
        for k in range(20):

            async def upd(k: int = k) -> None:
                app.update_one(k)
                await pilot.pause()

            ups.append(await timed(upd))
            ups_cpu.append(CPU[-1])
        out["row_update"] = statistics.median(ups)
        out["row_update_cpu"] = statistics.median(ups_cpu)
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vms", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument(
        "--impl",
        nargs="+",
        default=["virtual", "datatable", "fastdatatable"],
        choices=["noop", "virtual", "datatable", "fastdatatable"],
        help="noop: an Input alone, the Pilot's own cost per key",
    )
    args = ap.parse_args()
    print("milliseconds; cpu = process CPU time (the app's work), wall = incl. Pilot idle waits")
    print(
        f"{'impl':<14} {'VMs':>7} | {'first paint':>16} | {'filter key p50':>15} | "
        f"{'filter key p95':>15} | {'filter max':>15} | {'row update':>15}"
    )
    print(f"{'':<14} {'':>7} | {'cpu / wall':>16} | " + " | ".join([f"{'cpu / wall':>15}"] * 4))
    for n in args.vms:
        for impl in args.impl:
            r = await run_one(impl, n)
            ms = {k: v * 1000 for k, v in r.items()}

            def pair(key: str, cpu_key: str, ms: dict[str, float] = ms) -> str:
                return f"{ms[cpu_key]:7.1f} / {ms[key]:6.1f}"

            print(
                f"{impl:<14} {n:>7} | {pair('first_paint', 'first_paint_cpu'):>16} | "
                f"{pair('filter_p50', 'filter_cpu_p50'):>15} | "
                f"{pair('filter_p95', 'filter_cpu_p95'):>15} | "
                f"{pair('filter_max', 'filter_cpu_max'):>15} | "
                f"{pair('row_update', 'row_update_cpu'):>15}",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
