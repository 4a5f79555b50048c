"""Benchmark: CPU used by the simulator process while N WaitForUpdatesEx long-polls sit idle.

Run:  .venv/bin/python benchmarks/sim_idle_polls.py [--polls 100] [--seconds 20] [--vms 2000]

Starts ``guestnet sim`` (``python -m tui.sim.cli``) as a separate process, opens ``--polls``
sessions, each with its own PropertyCollector and a filter over every VM of a ContainerView,
drains the initial snapshot, then issues one WaitForUpdatesEx per session with
``maxWaitSeconds`` = ``--seconds`` while nothing changes. The server's user+system CPU time
(from /proc/PID/stat) is measured over that idle window and, for comparison, over an equally
long window with no polls at all. Target: ~0 CPU-seconds (no busy loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


async def session(client: httpx.AsyncClient, info: dict, content: dict) -> tuple[str, str, str]:
    r = await client.post(
        "/SessionManager/SessionManager/Login",
        json={"userName": info["username"], "password": info["password"]},
    )
    token = r.headers["vmware-api-session-id"]
    h = {"vmware-api-session-id": token}
    view = (
        await client.post(
            "/ViewManager/ViewManager/CreateContainerView",
            headers=h,
            json={
                "container": content["rootFolder"],
                "type": ["VirtualMachine"],
                "recursive": True,
            },
        )
    ).json()
    col = (
        await client.post("/PropertyCollector/propertyCollector/CreatePropertyCollector", headers=h)
    ).json()["value"]
    spec = {
        "_typeName": "PropertyFilterSpec",
        "propSet": [
            {
                "_typeName": "PropertySpec",
                "type": "VirtualMachine",
                "pathSet": ["name", "runtime.powerState", "guest.ipAddress"],
            }
        ],
        "objectSet": [
            {
                "_typeName": "ObjectSpec",
                "obj": view,
                "skip": True,
                "selectSet": [
                    {
                        "_typeName": "TraversalSpec",
                        "type": "ContainerView",
                        "path": "view",
                        "skip": False,
                    }
                ],
            }
        ],
    }
    from urllib.parse import quote

    col_path = f"/PropertyCollector/{quote(col, safe='')}"
    await client.post(
        f"{col_path}/CreateFilter", headers=h, json={"spec": spec, "partialUpdates": False}
    )
    version = ""
    while True:  # drain the initial snapshot
        r = await client.post(
            f"{col_path}/WaitForUpdatesEx",
            headers=h,
            json={"version": version, "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 0}},
        )
        if r.status_code == 204:
            break
        version = r.json()["version"]
    return token, col_path, version


async def run(args: argparse.Namespace, proc: subprocess.Popen[str], info: dict) -> int:
    ctx = ssl.create_default_context(cafile=info["ca_file"])
    limits = httpx.Limits(
        max_connections=args.polls + 10, max_keepalive_connections=args.polls + 10
    )
    async with httpx.AsyncClient(
        base_url=info["url"] + "/sdk/vim25/8.0.3.0",
        verify=ctx,
        limits=limits,
        timeout=args.seconds + 60,
    ) as client:
        content = (await client.get("/ServiceInstance/ServiceInstance/content")).json()
        t = time.perf_counter()
        sessions = []
        for _ in range(args.polls):  # one at a time: the server has 2 cores to share
            sessions.append(await session(client, info, content))
        setup = time.perf_counter() - t
        await asyncio.sleep(1)
        base0 = cpu_seconds(proc.pid)
        await asyncio.sleep(args.seconds)
        baseline = cpu_seconds(proc.pid) - base0

        async def poll(token: str, col_path: str, version: str) -> int:
            r = await client.post(
                f"{col_path}/WaitForUpdatesEx",
                headers={"vmware-api-session-id": token},
                json={
                    "version": version,
                    "options": {"_typeName": "WaitOptions", "maxWaitSeconds": args.seconds},
                },
            )
            if r.status_code == 500:
                print("fault:", r.text[:300])
            return r.status_code

        tasks = [asyncio.create_task(poll(*s)) for s in sessions]
        await asyncio.sleep(1.0)  # all polls are now parked on the server
        c0, w0 = cpu_seconds(proc.pid), time.perf_counter()
        await asyncio.sleep(args.seconds - 2.0)
        c1, w1 = cpu_seconds(proc.pid), time.perf_counter()
        codes = await asyncio.gather(*tasks)
    print(
        f"server: --vms {args.vms}; setup of {args.polls} sessions+filters+snapshots: {setup:.1f} s"
    )
    print(
        f"idle window {w1 - w0:.1f} s with {args.polls} pending WaitForUpdatesEx: "
        f"server CPU {c1 - c0:.3f} s ({(c1 - c0) / (w1 - w0) * 100:.2f} % of one core)"
    )
    print(f"baseline {args.seconds:.1f} s with no polls: server CPU {baseline:.3f} s")
    print(f"poll answers: {sorted(set(codes))} (204 = timed out with no changes)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polls", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--vms", type=int, default=2000)
    args = ap.parse_args()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.sim.cli", "--vms", str(args.vms), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        return asyncio.run(run(args, proc, info))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
