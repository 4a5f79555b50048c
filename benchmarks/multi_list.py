"""Benchmark: ``guestnet list`` over 3 vCenters of 20,000 VMs vs the slowest single floor.

Issue 9's goal: the listing of several vCenters takes at most 1.25× the slowest single vCenter's
floor, because they are fetched concurrently, not one after another.

Three simulators run in child processes (``client_list.SimProcess``), seeds 1, 2 and 3; the
third has no hello endpoint (vCenter 8.0U1: release 8.0.1.0 only), so its client falls back.
The benchmark logs in as ``guestnet list --profile a --profile b --profile c`` does
(``targets.make_sites`` + ``targets.connect_all``: one session each, one asyncio loop);
**logins are excluded from every figure**: the floors and the listing use the same sessions,
already logged in. Per run, interleaved, ``--repeat`` times:

- floor of each vCenter alone: ``client_list.floor_list`` over its session (plain httpx: the
  page requests the client sends, bodies only ``json.loads``-ed), one vCenter at a time; the
  run's slowest of the three is its "slowest single floor", their sum what fetching the three
  one after another would cost at least;
- floors at once: the three floors concurrently, in this one process: what any one-process
  client could do at best (its own TLS and ``json.loads`` of the three run on one thread);
- multi: the CLI's listing step, ``list_vms.fetch`` (what ``list_vms.run`` awaits): every site's
  ``client.list_vms(profile.root)`` under ``site.attempt``, all at once (``targets.together``),
  with the CPU time the client process and the three simulators used meanwhile, and the
  machine's steal time (CPU time its hypervisor gave to others; /proc, so Linux only);
- sequential: the CLI's fetch of one site, then of the next (what fetching one vCenter after
  another would cost: the reference that shows the concurrency);
- rows: what the command does next with the listings (``list_vms._kept`` per site: its address
  book, then the sort and the table text, not printed), reported apart: it is CPU work after
  the fetch, not part of the floor's comparison.

``list_vms.fetch`` pauses the garbage collector; the floors run with it paused too.
``--gc-on`` leaves it running in every figure (the listing as it was before the pause).

Prints medians, the ratio multi / slowest floor (goal ≤ 1.25), multi / sum of the floors,
multi / sequential and (multi + rows) / slowest floor.

    .venv/bin/python benchmarks/multi_list.py
    .venv/bin/python benchmarks/multi_list.py --vms 5000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from client_list import SimProcess, floor_list, rss_mb

from tui.commands import list_vms
from tui.commands.output import table
from tui.commands.targets import Site, close_all, connect_all, make_sites, together
from tui.config.profiles import PasswordSource, Profile
from tui.vsphere import Secret, gcpause

SIMS = ({"seed": 1}, {"seed": 2}, {"seed": 3, "hello": False})
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """A process's CPU time (user + system) so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def steal() -> float:
    """CPU time the hypervisor gave to others, summed over the CPUs, from /proc/stat (Linux)."""
    return int(Path("/proc/stat").read_text().split(maxsplit=9)[8]) / TICK


def profile(name: str, sim: SimProcess) -> Profile:
    spec = sim.spec()
    return Profile(
        name=name,
        host=spec.host,
        port=spec.port,
        username=spec.username,
        password_source=PasswordSource("env"),
        tls=spec.tls,
    )


def rows_text(sites: list[Site]) -> str:
    """What ``list_vms.run`` does with the listings (no option given), as the table's text."""
    ns = argparse.Namespace(duplicates=False, filter=[], power=None)
    rows = [(s, vm, book) for s in sites for vm, book in list_vms._kept(ns, s.vms)]
    rows.sort(key=lambda r: (r[0].index, r[1].path, r[1].moid))
    cells = [[s.name, *list_vms._cells(vm, book)] for s, vm, book in rows]
    return table(["VCENTER", *list_vms.HEADERS], cells)


async def bench(n: int, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    sims: list[SimProcess] = []
    try:
        for opts in SIMS:
            sims.append(SimProcess(n, **opts))
        startup = time.perf_counter() - t0
        sites = make_sites([profile(name, s) for name, s in zip("abc", sims, strict=True)])
        for site, sim in zip(sites, sims, strict=True):
            site.password = Secret(sim.info["password"])
        try:
            await connect_all(sites)
            if not all(s.up for s in sites):
                raise SystemExit("a site did not log in: " + str([s.error for s in sites]))
            async with contextlib.AsyncExitStack() as stack:
                https = [
                    await stack.enter_async_context(
                        httpx.AsyncClient(
                            base_url=s.client.transport.base_url,
                            verify=s.client.transport.ssl_context,
                            timeout=120.0,
                            trust_env=False,
                        )
                    )
                    for s in sites
                ]
                pids = [s.proc.pid for s in sims]
                return await measure(n, repeat, sites, https, pids, startup)
        finally:
            await close_all(sites)
    finally:
        for s in sims:
            s.close()


async def measure(
    n: int,
    repeat: int,
    sites: list[Site],
    https: list[httpx.AsyncClient],
    pids: list[int],
    startup: float,
) -> dict[str, Any]:
    pairs = list(zip(sites, https, strict=True))

    async def floor(site: Site, http: httpx.AsyncClient) -> None:
        with gcpause.gc_paused():  # as the listing runs
            await floor_list(site.client, http)

    # warm up every path (connections, caches)
    for site, http in pairs:
        await floor(site, http)
    await list_vms.fetch(sites)
    rows_text(sites)
    floors: list[list[float]] = []  # per run, a, b, c
    at_once_t: list[float] = []  # the three floors at once
    multi_t: list[float] = []
    multi_cpu: list[float] = []  # the client process's CPU time during multi
    sims_cpu: list[float] = []  # the three simulators' CPU time during multi
    multi_steal: list[float] = []  # the machine's steal time during multi
    seq_t: list[float] = []  # the CLI's fetch of one site, then the next
    rows_t: list[float] = []
    for _ in range(repeat):
        gc.collect()
        run: list[float] = []
        for site, http in pairs:
            t = time.perf_counter()
            await floor(site, http)
            run.append(time.perf_counter() - t)
        floors.append(run)
        t = time.perf_counter()
        await together(floor(s, h) for s, h in pairs)
        at_once_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        for site in sites:
            await list_vms.fetch([site])
        seq_t.append(time.perf_counter() - t)
        for site in sites:
            site.vms = []
        gc.collect()
        sims0, steal0 = sum(map(cpu_of, pids)), steal()
        t, cpu = time.perf_counter(), time.process_time()
        await list_vms.fetch(sites)
        multi_t.append(time.perf_counter() - t)
        multi_cpu.append(time.process_time() - cpu)
        sims_cpu.append(sum(map(cpu_of, pids)) - sims0)
        multi_steal.append(steal() - steal0)
        listed = [len(s.vms) for s in sites]
        if listed != [n] * len(sites) or not all(s.up for s in sites):
            raise SystemExit(f"listed {listed}, errors {[s.error for s in sites]}")
        t = time.perf_counter()
        rows_text(sites)
        rows_t.append(time.perf_counter() - t)
    slowest = statistics.median(max(r) for r in floors)
    total = statistics.median(sum(r) for r in floors)
    at_once = statistics.median(at_once_t)
    multi = statistics.median(multi_t)
    seq = statistics.median(seq_t)
    rows = statistics.median(rows_t)
    return {
        "vms_each": n,
        "gc_paused": gcpause.gc_paused is not contextlib.nullcontext,
        "releases": [s.client.release for s in sites],
        "floor_s": [round(statistics.median(r[i] for r in floors), 3) for i in range(len(sites))],
        "slowest_floor_s": round(slowest, 3),
        "sum_floors_s": round(total, 3),
        "floors_at_once_s": round(at_once, 3),
        "multi_s": round(multi, 3),
        "multi_client_cpu_s": round(statistics.median(multi_cpu), 3),
        "multi_sims_cpu_s": round(statistics.median(sims_cpu), 2),
        "multi_steal_s": round(statistics.median(multi_steal), 2),
        "ratio": round(multi / slowest, 3),
        "ratio_to_sum": round(multi / total, 3),
        "ratio_to_floors_at_once": round(multi / at_once, 3),
        "sequential_s": round(seq, 3),
        "ratio_to_sequential": round(multi / seq, 3),
        "rows_s": round(rows, 3),
        "ratio_with_rows": round((multi + rows) / slowest, 3),
        "floor_runs": [[round(x, 3) for x in r] for r in floors],
        "floors_at_once_runs": [round(x, 3) for x in at_once_t],
        "multi_runs": [round(x, 3) for x in multi_t],
        "sequential_runs": [round(x, 3) for x in seq_t],
        "rows_runs": [round(x, 3) for x in rows_t],
        "client_peak_rss_mb": round(rss_mb(), 1),
        "sim_startup_s": round(startup, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vms", type=int, default=20_000, help="VMs in each of the 3 vCenters")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the result here")
    ap.add_argument(
        "--gc-on",
        action="store_true",
        help="leave the garbage collector running (list_vms.fetch pauses it) in every figure",
    )
    a = ap.parse_args()
    if a.gc_on:
        gcpause.gc_paused = contextlib.nullcontext
    r = asyncio.run(bench(a.vms, max(1, a.repeat)))
    ok = "ok" if r["ratio"] <= 1.25 else "MISSED"
    print(
        f"3 x {a.vms} VMs: slowest single floor {r['slowest_floor_s']:.3f} s, "
        f"multi {r['multi_s']:.3f} s, ratio {r['ratio']:.2f} (goal 1.25) [{ok}]\n"
        f"  sum of the floors {r['sum_floors_s']:.3f} s (multi / sum {r['ratio_to_sum']:.2f}), "
        f"floors at once {r['floors_at_once_s']:.3f} s (multi / floors at once "
        f"{r['ratio_to_floors_at_once']:.2f}), sequential {r['sequential_s']:.3f} s "
        f"(multi / sequential {r['ratio_to_sequential']:.2f})\n"
        f"  during multi: client CPU {r['multi_client_cpu_s']:.2f} s, simulators' CPU "
        f"{r['multi_sims_cpu_s']:.2f} s, steal {r['multi_steal_s']:.2f} s\n"
        f"  rows {r['rows_s']:.3f} s, (multi + rows) / slowest floor {r['ratio_with_rows']:.2f}",
        flush=True,
    )
    print("   " + json.dumps(r), flush=True)
    if a.json:
        a.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
