"""Benchmark: `guestnet watch` on clones arriving over time in a large inventory.

The simulator runs in a child process over loopback HTTPS with ``--vms`` VMs (default 50,000).
The parent runs the watch engine (``AutoStarter``, as `guestnet watch` does) on ``*-bench-ic-*``;
then the child creates ``--clones`` instant clones (default 2,000) evenly over ``--seconds``
(default 60), each with its parent's IP, stamping the wall time of each creation. For every clone
the parent stamps when its StartGuestNetwork_Task was created (the ``started`` event) and when it
was verified. Reported (goal: p95 start latency ≤ settle + 2 s):

- start latency = started − created, its median and p95, and the same minus the settle delay;
- the requests of the whole watch, per method: no per-VM polling means about one
  StartGuestNetwork_Task per clone, a handful of filters, and long-polls bounded by time, not by
  the number of VMs;
- how many clones were started more than once (must be 0) and verified.

    .venv/bin/python benchmarks/watch.py
    .venv/bin/python benchmarks/watch.py --vms 5000 --clones 200 --seconds 10 --settle 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tui.config.ledger import Ledger
from tui.vsphere import Client, ConnectSpec, GuestCredentials, Secret, TLSSpec
from tui.vsphere.autostart import AutoStarter, WatchRules

CHILD = r"""
import json, sys, threading, time
from tui.sim.server import SimServer

opts = json.loads(sys.argv[1])
sim = SimServer(vms=opts["vms"], seed=1, task_seconds=opts["task_seconds"],
                max_running_tasks=640).start()
golden = sim.add_vm("golden-bench", ip="10.200.0.1")
print(json.dumps({"port": sim.port, "ca_file": sim.ca_file, "username": sim.username,
                  "password": sim.password, "guest_user": sim.guest_user,
                  "guest_password": sim.guest_password}), flush=True)
line = sys.stdin.readline().split()
n, seconds = int(line[1]), float(line[2])
created = {}
t0 = time.time()
for i in range(n):
    due = t0 + i * seconds / n
    delay = due - time.time()
    if delay > 0:
        time.sleep(delay)
    name = f"golden-bench-ic-{i:05d}"
    sim.add_vm(name, ip="10.200.0.1")
    created[name] = time.time()
print(json.dumps({"created": created, "tasks": sim.tasks()}), flush=True)
sys.stdin.readline()  # the parent is done: report the server's view of the tasks
print(json.dumps({"tasks": [t for t in sim.tasks() if "bench-ic" in t["vm"]]}), flush=True)
sim.stop()
"""


def start_child(args: argparse.Namespace) -> subprocess.Popen[str]:
    opts = {"vms": args.vms, "task_seconds": args.task_seconds}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(opts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


async def run(args: argparse.Namespace, child: subprocess.Popen[str]) -> dict[str, Any]:
    assert child.stdin is not None and child.stdout is not None
    info = json.loads(child.stdout.readline())
    methods: Counter[str] = Counter()

    async def count(request: httpx.Request) -> None:
        methods[request.url.path.rsplit("/", 1)[-1]] += 1

    spec = ConnectSpec(
        host="127.0.0.1",
        port=int(info["port"]),
        username=info["username"],
        password=Secret(info["password"]),
        tls=TLSSpec(ca_file=info["ca_file"]),
        timeout=120.0,
    )
    client = await Client.connect(spec, event_hooks={"request": [count]}, keepalive_interval=None)
    creds = GuestCredentials(info["guest_user"], Secret(info["guest_password"]))
    rules = WatchRules(
        patterns=("*-bench-ic-*",),
        settle=args.settle,
        concurrency=args.concurrency,
        verify_timeout=60.0,
    )
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger("bench", Path(tmp) / "ledger.jsonl")
        started: dict[str, float] = {}
        seen: dict[str, float] = {}  # the watcher found it ready (its settle delay begins)
        verified: Counter[str] = Counter()
        twice = 0
        cpu0 = time.process_time()
        async with AutoStarter(client, creds, rules, ledger) as w:
            async for ev in w:
                if ev.kind == "status" and "watching" in ev.message and not started:
                    child.stdin.write(f"go {args.clones} {args.seconds}\n")
                    child.stdin.flush()
                    print(f"watching; {args.clones} clones over {args.seconds:g} s", flush=True)
                if ev.kind == "settling" and ev.vm is not None:
                    seen.setdefault(ev.vm.name, time.time())
                if ev.kind == "started" and ev.vm is not None:
                    twice += ev.vm.name in started
                    started.setdefault(ev.vm.name, time.time())
                if ev.kind in ("verified", "not-verified") and ev.vm is not None:
                    verified[ev.kind] += 1
                    if sum(verified.values()) >= args.clones:
                        break
                if ev.kind == "stopped":
                    raise SystemExit(f"the watch stopped: {ev.message}")
        cpu = time.process_time() - cpu0
    await client.close()
    created = json.loads(child.stdout.readline())["created"]
    child.stdin.write("done\n")
    child.stdin.flush()
    server_tasks = json.loads(child.stdout.readline())["tasks"]
    child.stdin.close()
    child.wait(30)
    lat = sorted(started[n] - created[n] for n in created if n in started)
    arrive = sorted(seen[n] - created[n] for n in created if n in seen)
    dispatch = sorted(started[n] - seen[n] - args.settle for n in started if n in seen)
    per_vm = Counter(t["vm"] for t in server_tasks if "StartGuestNetwork" in t["method"])
    return {
        "clones": len(created),
        "started": len(started),
        "started_twice_client": twice,
        "started_twice_server": sum(1 for c in per_vm.values() if c > 1),
        "verified": dict(verified),
        "latency_median_s": round(statistics.median(lat), 3),
        "latency_p95_s": round(lat[int(0.95 * (len(lat) - 1))], 3),
        "over_settle_p95_s": round(lat[int(0.95 * (len(lat) - 1))] - args.settle, 3),
        # where the time goes: created → seen ready by the watch; then after settle → task created
        "seen_median_s": round(statistics.median(arrive), 3),
        "seen_p95_s": round(arrive[int(0.95 * (len(arrive) - 1))], 3),
        "dispatch_after_settle_median_s": round(statistics.median(dispatch), 3),
        "dispatch_after_settle_p95_s": round(dispatch[int(0.95 * (len(dispatch) - 1))], 3),
        "client_cpu_s": round(cpu, 2),
        "requests": sum(methods.values()),
        "per_method": dict(methods.most_common()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vms", type=int, default=50_000)
    p.add_argument("--clones", type=int, default=2_000)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--task-seconds", type=float, default=2.0)
    p.add_argument("--concurrency", type=int, default=32)
    args = p.parse_args()
    result = asyncio.run(run(args, start_child(args)))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
