"""Benchmark: list N VMs with ``Client.list_vms`` vs the raw floor, over loopback HTTPS.

The simulator runs in a child process (so its CPU and memory are not the client's). For each N
the same run measures, interleaved, ``--repeat`` times each:

- floor: plain ``httpx.AsyncClient`` (same TLS context, same session) sending exactly the page
  requests the client sends (CreateContainerView, RetrievePropertiesEx,
  ContinueRetrievePropertiesEx…, DestroyView) and ``json.loads``-ing every body;
- client: ``await client.list_vms()`` (typed ``VM`` values with folder paths).

Prints medians, the ratio (goal ≤ 1.25), requests per listing (goal ≤ ceil(N/1000) + 6) and
the client process's peak RSS.

    .venv/bin/python benchmarks/client_list.py            # N = 10000 and 50000, 5 runs each
    .venv/bin/python benchmarks/client_list.py --vms 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tui.vsphere import Client, ConnectSpec, Secret, TLSSpec
from tui.vsphere.inventory import inventory_prop_sets, view_spec
from tui.vsphere.wire import method_path, mor

SIM_SCRIPT = """
import json, sys
from tui.sim.server import SimServer
s = SimServer(cert_dir=sys.argv[1], **json.loads(sys.argv[2])).start()
print(json.dumps({**s.info(), "port": s.port, "ok_vms": s.ok_vms}), flush=True)
sys.stdin.read()
s.stop()
"""


class SimProcess:
    """The simulator in a child process; ``info`` has url, port, ca_file, username, password."""

    def __init__(self, vms: int, **options: Any) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="guestnet-bench-")
        opts = json.dumps({"vms": vms, **options})
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SIM_SCRIPT, self._tmp.name, opts],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the simulator did not start")
        self.info: dict[str, Any] = json.loads(line)

    def spec(self) -> ConnectSpec:
        return ConnectSpec(
            host="127.0.0.1",
            port=int(self.info["port"]),
            username=self.info["username"],
            password=Secret(self.info["password"]),
            tls=TLSSpec(ca_file=self.info["ca_file"]),
            timeout=120.0,
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._tmp.cleanup()


async def floor_list(client: Client, http: httpx.AsyncClient) -> tuple[int, int]:
    """The page requests list_vms sends, bodies only json.loads-ed; returns (objects, requests)."""
    prefix = client.transport.prefix
    headers = {
        "vmware-api-session-id": client.transport.session_id or "",
        "Content-Type": "application/json",
    }

    async def post(mo_type: str, moid: str, method: str, body: Any) -> Any:
        r = await http.post(
            prefix + method_path(mo_type, moid, method),
            content=json.dumps(body).encode() if body is not None else None,
            headers=headers,
        )
        return json.loads(r.content) if r.content else None

    n_req = 0
    ref = await post(
        "ViewManager",
        client.view_manager,
        "CreateContainerView",
        {
            "container": mor("Folder", client.root_folder),
            "type": ["VirtualMachine", "Folder", "Datacenter"],
            "recursive": True,
        },
    )
    n_req += 1
    view = ref["value"]
    body = {
        "specSet": [view_spec(view, inventory_prop_sets())],
        "options": {"_typeName": "RetrieveOptions", "maxObjects": 1000},
    }
    res = await post("PropertyCollector", client.property_collector, "RetrievePropertiesEx", body)
    n_req += 1
    objects = len(res["objects"])
    while res.get("token"):
        res = await post(
            "PropertyCollector",
            client.property_collector,
            "ContinueRetrievePropertiesEx",
            {"token": res["token"]},
        )
        n_req += 1
        objects += len(res["objects"])
    await post("ContainerView", view, "DestroyView", None)
    n_req += 1
    return objects, n_req


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench(n: int, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    sim = SimProcess(n)
    startup = time.perf_counter() - t0
    try:
        client = await Client.connect(sim.spec(), keepalive_interval=None)
        ctx = client.transport.ssl_context
        async with httpx.AsyncClient(
            base_url=client.transport.base_url, verify=ctx, timeout=120.0, trust_env=False
        ) as http:
            # warm up both paths (connections, caches)
            await floor_list(client, http)
            await client.list_vms()
            floor_t: list[float] = []
            client_t: list[float] = []
            floor_req = client_req = 0
            count = 0
            for _ in range(repeat):
                t = time.perf_counter()
                _, floor_req = await floor_list(client, http)
                floor_t.append(time.perf_counter() - t)
                before = client.request_count
                t = time.perf_counter()
                vms = await client.list_vms()
                client_t.append(time.perf_counter() - t)
                client_req = client.request_count - before
                count = len(vms)
                del vms
        await client.close()
    finally:
        sim.close()
    f, c = statistics.median(floor_t), statistics.median(client_t)
    return {
        "vms": n,
        "listed": count,
        "floor_s": round(f, 3),
        "client_s": round(c, 3),
        "ratio": round(c / f, 3),
        "floor_runs": [round(x, 3) for x in floor_t],
        "client_runs": [round(x, 3) for x in client_t],
        "requests": client_req,
        "floor_requests": floor_req,
        "request_budget": math.ceil(n / 1000) + 6,
        "client_peak_rss_mb": round(rss_mb(), 1),
        "sim_startup_s": round(startup, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vms", type=int, action="append", help="inventory size (repeatable)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()
    sizes = a.vms or [10_000, 50_000]
    results = []
    for n in sizes:
        r = asyncio.run(bench(n, max(1, a.repeat)))
        results.append(r)
        ok = "ok" if r["ratio"] <= 1.25 and r["requests"] <= r["request_budget"] else "MISSED"
        print(
            f"N={n:>6}: floor {r['floor_s']:.3f} s, client {r['client_s']:.3f} s, "
            f"ratio {r['ratio']:.2f} (goal 1.25), requests {r['requests']} "
            f"(budget {r['request_budget']}), client peak RSS {r['client_peak_rss_mb']} MB "
            f"[{ok}]",
            flush=True,
        )
        print("   " + json.dumps(r), flush=True)
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
