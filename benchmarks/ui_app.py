"""The real guestnet app at 10,000 / 50,000 VMs, driven by Textual's headless Pilot.

Where benchmarks/ui_table.py compares table implementations in isolation, this runs the whole
GuestnetApp (header, filter, VM table, task and fault panes) on an in-memory client:

  first rows    the resync batch is handed over → the table draws its first line of them all
  first paint   the resync batch is handed over → the app is idle again: rows painted and
                every address indexed (the DUP column), in slices between which keys are served
  filter key    each keystroke typed in the real filter Input (p50 / p95, CPU / wall)
  live update   one VM's IP changes on the stream → the row is repainted (median, CPU / wall)
  task events   a 300-VM batch: every TaskEvent applied and painted (CPU per event)

Pilot's press()/pause() wait for idle on timers, so wall times include tens of ms of waiting
(`noop` in ui_table.py measures that floor); CPU time is the work the app did.

With ``--sites K`` the app opens K vCenters in one view (tui/ui/fleet.py), each with the VM
count given: the first paint then waits until every site's VMs are in the table, and the
filter, live update and task events act on all of them.

Run:  .venv/bin/python benchmarks/ui_app.py [--vms 10000 50000] [--sites 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ui_table import FILTER
from ui_table import make_vms as table_vms

from tui.config.profiles import PasswordSource, Profile
from tui.ui.app import GuestnetApp
from tui.ui.fleet import qualify
from tui.ui.screens.main import MainScreen
from tui.vsphere.models import (
    VM,
    About,
    ConnectSpec,
    GuestCredentials,
    TaskEvent,
    VMBatch,
    VMChange,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_vms(n: int) -> list[VM]:
    """The table benchmark's inventory, every VM powered on so that starts reach the client."""
    return [replace(vm, power_state="poweredOn") for vm in table_vms(n)]


def site_vms(n: int, site: int) -> list[VM]:
    """``make_vms(n)`` on the networks of vCenter number ``site`` (10.x for the first)."""
    vms = make_vms(n)
    if not site:
        return vms
    return [
        replace(vm, ip_address=f"{10 + site}.{vm.ip_address.split('.', 1)[1]}")
        if vm.ip_address
        else vm
        for vm in vms
    ]


class Run:
    def __init__(self, vms: Sequence[VM]) -> None:
        self.vms = list(vms)

    async def __aenter__(self) -> Run:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def cancel(self, vm_moid: str) -> bool:
        return False

    async def cancel_queued(self) -> int:
        return 0

    def __aiter__(self) -> AsyncIterator[TaskEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[TaskEvent]:
        for state in ("pending", "queued", "running", "succeeded"):
            for i, vm in enumerate(self.vms):
                yield TaskEvent(
                    vm.moid,
                    vm.name,
                    state,
                    task=f"task-{i}",
                    progress=50,
                    queue_time=T0,  # type: ignore[arg-type]
                    start_time=T0 if state in ("running", "succeeded") else None,
                    complete_time=T0 if state == "succeeded" else None,
                )
            await asyncio.sleep(0)


class Client:
    about = About("VMware vCenter Server", "VMware vCenter Server 8.0.3", "8.0.3", "1", "8.0.3.0")
    release = "8.0.3.0"
    host = "vc.example.test"
    port = 443
    tls_mode = "pinned"
    thumbprint_sha256 = None
    username = "admin"

    def __init__(self, vms: list[VM], host: str = "vc.example.test") -> None:
        self.vms = vms
        self.host = host
        self.queue: asyncio.Queue[VMBatch] = asyncio.Queue()
        self.resync_at = 0.0
        self.resync_cpu = 0.0
        self.go = asyncio.Event()  # the data "arrives" when the benchmark says so

    async def watch_vms(
        self,
        root: str | None = None,
        on_status: Callable[[str], None] | None = None,
        *,
        moid_suffix: str = "",
    ) -> AsyncIterator[VMBatch]:
        # as the client builds them: with the suffix in each moid (a fleet's site)
        vms = (
            [replace(vm, moid=vm.moid + moid_suffix) for vm in self.vms]
            if moid_suffix
            else self.vms
        )
        batch = VMBatch(tuple(VMChange("enter", vm.moid, vm) for vm in vms), resync=True)
        await self.go.wait()
        self.resync_at = time.perf_counter()
        self.resync_cpu = time.process_time()
        yield batch
        while True:
            yield await self.queue.get()

    def start_guest_network(
        self, vms: Sequence[VM], creds: GuestCredentials, concurrency: int = 8
    ) -> Run:
        return Run(vms)

    async def abort_customization(
        self, vm_moid: str, creds: GuestCredentials | None = None
    ) -> TaskEvent:
        raise NotImplementedError

    async def close(self) -> None:
        return None


async def bench(n: int, sites: int = 1) -> dict[str, float]:
    """``sites`` vCenters of ``n`` VMs each (the same moids on each: the fleet qualifies them)."""
    names = [f"vc{i}" for i in range(sites)]
    clients = {
        f"{name}.example.test": Client(make_vms(n), f"{name}.example.test") for name in names
    }
    client = next(iter(clients.values()))  # the live updates and the batch act on this one

    async def connect(spec: ConnectSpec) -> Client:
        return clients[spec.host]

    def moid(m: str) -> str:
        return qualify(m, names[0]) if sites > 1 else m

    app = GuestnetApp(
        profiles={
            name: Profile(name, f"{name}.example.test", "admin", PasswordSource("env", env="X"))
            for name in names
        },
        initial_profiles=names,
        connector=connect,
        remember_theme=False,
        audit=lambda **_: None,
        env={"X": "x"},
    )
    out: dict[str, float] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        while not isinstance(app.screen, MainScreen):  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        await pilot.pause()  # the empty main screen is up; now the inventory arrives
        main = app.screen
        assert isinstance(main, MainScreen)
        while sites > 1 and not all(s.state == "up" for s in main.client.sites.values()):  # type: ignore[attr-defined]  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        await pilot.pause()
        painted: list[tuple[float, float]] = []  # when the table first drew a row of them all
        table = main.vm_table
        render_line = table.render_line

        def spy(y: int) -> Any:
            if not painted and main.store.total >= n * sites:
                painted.append((time.perf_counter(), time.process_time()))
            return render_line(y)

        table.render_line = spy  # type: ignore[method-assign]
        for c in clients.values():
            c.go.set()
        while main.store.total < n * sites or not painted:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        start_wall = min(c.resync_at for c in clients.values())
        start_cpu = min(c.resync_cpu for c in clients.values())
        out["first_rows"] = painted[0][0] - start_wall
        out["first_rows_cpu"] = painted[0][1] - start_cpu
        await pilot.pause()
        out["first_paint"] = time.perf_counter() - min(c.resync_at for c in clients.values())
        out["first_paint_cpu"] = time.process_time() - min(c.resync_cpu for c in clients.values())
        await pilot.press("slash")
        wall: list[float] = []
        cpu: list[float] = []
        for key in [*FILTER, *["backspace"] * len(FILTER)]:
            c0, t0 = time.process_time(), time.perf_counter()
            await pilot.press(key)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        for name, xs in (("filter", wall), ("filter_cpu", cpu)):
            xs.sort()
            out[f"{name}_p50"] = statistics.median(xs)
            out[f"{name}_p95"] = xs[int(len(xs) * 0.95) - 1]
        await pilot.press("enter")
        ups: list[float] = []
        ups_cpu: list[float] = []
        for k in range(20):
            vm = client.vms[k]
            new = replace(vm, moid=moid(vm.moid), ip_address=f"192.168.0.{k}")
            c0, t0 = time.process_time(), time.perf_counter()
            client.queue.put_nowait(
                VMBatch((VMChange("modify", new.moid, new, frozenset({"ip_address"})),))
            )
            while main.store.vms[new.moid].ip_address != new.ip_address:  # noqa: ASYNC110
                await asyncio.sleep(0)
            await pilot.pause()
            ups.append(time.perf_counter() - t0)
            ups_cpu.append(time.process_time() - c0)
        out["update"] = statistics.median(ups)
        out["update_cpu"] = statistics.median(ups_cpu)
        # a 300-VM batch: 1,200 task events
        batch_vms = [main.store.vms[moid(vm.moid)] for vm in client.vms[:300]]
        c0 = time.process_time()
        main.batch_control.launch_now(batch_vms, [], GuestCredentials("root", _secret()), None)
        b = main.task_pane.latest
        assert b is not None
        while not b.finished:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        await pilot.pause()
        out["task_event_cpu"] = (time.process_time() - c0) / (len(batch_vms) * 4)
        await pilot.press("q")
    return out


def _secret() -> Any:
    from tui.vsphere.secret import Secret

    return Secret("x")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--vms", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument("--sites", type=int, default=1, help="vCenters in one view, --vms each")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size: medians are printed")
    args = ap.parse_args()
    print(
        f"milliseconds, cpu / wall; {args.sites} vCenter(s) of --vms VMs each; "
        f"median of {args.repeat}"
    )
    print(
        f"{'VMs':>7} | {'first rows':>15} | {'first paint':>15} | {'filter p50':>15} | "
        f"{'filter p95':>15} | {'live update':>15} | {'per task event':>14}"
    )
    for n in args.vms:
        runs = [await bench(n, args.sites) for _ in range(args.repeat)]
        r = {k: statistics.median(run[k] for run in runs) * 1000 for k in runs[0]}
        print(
            f"{n:>7} | {r['first_rows_cpu']:6.1f} / {r['first_rows']:6.1f} | "
            f"{r['first_paint_cpu']:6.1f} / {r['first_paint']:6.1f} | "
            f"{r['filter_cpu_p50']:6.1f} / {r['filter_p50']:6.1f} | "
            f"{r['filter_cpu_p95']:6.1f} / {r['filter_p95']:6.1f} | "
            f"{r['update_cpu']:6.1f} / {r['update']:6.1f} | {r['task_event_cpu']:10.3f} cpu",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
