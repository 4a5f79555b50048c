"""Benchmark: StartGuestNetwork_Task on 1,000 VMs with 2 s tasks at concurrency 32.

The simulator runs in a child process over loopback HTTPS. Each run starts the guest network on
the same ``--vms`` VMs (all expected to succeed), tracks every task through the run's single
PropertyCollector, and records:

- total requests of the run, per method (goal: ≤ 1,000 starts + ~100 long-polls + filters);
- wall time from the call to the last final event, the dispatch time (until the last task was
  created) and the ideal = dispatch + task duration;

Prints the median of ``--repeat`` runs (default 5).

    .venv/bin/python benchmarks/client_bulk_start.py
    .venv/bin/python benchmarks/client_bulk_start.py --vms 200 --task-seconds 1 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from client_list import SimProcess

from tui.vsphere import Client, GuestCredentials, Secret


async def one_run(client: Client, vms: list, creds: GuestCredentials, conc: int, counts: Counter):
    counts.clear()
    before = client.request_count
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    last_start = t0
    finals: Counter[str] = Counter()
    run = client.start_guest_network(vms, creds, concurrency=conc)
    async for ev in run:
        if ev.state == "started":
            last_start = time.perf_counter()
        if ev.final:
            finals[ev.state] += 1
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "client_cpu_s": time.process_time() - cpu0,
        "dispatch_s": last_start - t0,
        "requests": client.request_count - before,
        "per_method": dict(counts),
        "finals": dict(finals),
        "filters": run.tracker.filters_created,
        "long_polls": run.tracker.waits,
        "peak_concurrent_starts": run.max_active_starts,
    }


async def bench(n: int, task_seconds: float, conc: int, repeat: int, max_running: int) -> dict:
    pool = int(n * 1.6) + 50
    sim = SimProcess(pool, task_seconds=task_seconds, max_running_tasks=max_running)
    counts: Counter[str] = Counter()

    async def count(request: httpx.Request) -> None:
        counts[request.url.path.rsplit("/", 1)[-1]] += 1

    try:
        client = await Client.connect(
            sim.spec(), keepalive_interval=None, event_hooks={"request": [count]}
        )
        ok = set(sim.info["ok_vms"])
        vms = [v for v in await client.list_vms() if v.name in ok][:n]
        if len(vms) < n:
            raise SystemExit(f"only {len(vms)} startable VMs in a {pool}-VM simulator")
        creds = GuestCredentials(sim.info.get("guest_user", "root"), Secret("guest-secret"))
        runs = [await one_run(client, vms, creds, conc, counts) for _ in range(repeat)]
        await client.close()
    finally:
        sim.close()
    med = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "dispatch_s", "requests")}
    ideal = med["dispatch_s"] + task_seconds
    return {
        "vms": n,
        "task_seconds": task_seconds,
        "concurrency": conc,
        "sim_max_running_tasks": max_running,
        "median_wall_s": round(med["wall_s"], 2),
        "median_dispatch_s": round(med["dispatch_s"], 2),
        "ideal_s": round(ideal, 2),
        "wall_over_ideal": round(med["wall_s"] / ideal, 3),
        "median_requests": med["requests"],
        "runs": [
            {k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()} for r in runs
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--task-seconds", type=float, default=2.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--max-running",
        type=int,
        default=1000,
        help="simulator's concurrent-task limit (vCenter queues beyond ~640)",
    )
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    r = asyncio.run(bench(a.vms, a.task_seconds, a.concurrency, max(1, a.repeat), a.max_running))
    last = r["runs"][-1]
    print(
        f"{r['vms']} VMs, {r['task_seconds']:g} s tasks, concurrency {r['concurrency']}: "
        f"wall {r['median_wall_s']} s (ideal {r['ideal_s']} s = dispatch "
        f"{r['median_dispatch_s']} s + task, ratio {r['wall_over_ideal']}), "
        f"requests {r['median_requests']} (last run: {last['per_method']})",
        flush=True,
    )
    print("   " + json.dumps(r), flush=True)
    if a.json:
        a.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
