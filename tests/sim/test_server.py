"""SimServer lifecycle and control API, exchange recording, import isolation, `guestnet sim`."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.oracle import validate_http
from tests.sim.poll import until
from tests.sim.vi import VI, ssl_context, view_spec
from tui.sim.server import SimError, SimServer

ROOT = Path(__file__).resolve().parents[2]


async def test_restart_keeps_the_port_and_drops_sessions(sim: SimServer) -> None:
    port = sim.port
    async with VI(sim) as vi:
        await vi.login()
        view = await vi.vm_view()
        sim.set_ip("web-01", "10.5.5.5")
        sim.restart(down_seconds=0.2)
        assert sim.port == port
        r = await vi.get("ContainerView", view["value"], "view")
        assert r.fault == "NotAuthenticated"
        await vi.login()
        assert (
            await vi.get("VirtualMachine", sim.vm("web-01")["moid"], "guest.ipAddress")
        ).body == "10.5.5.5"  # inventory survives
        assert sim.stats()["live"]["views"] == 0


async def test_restart_cuts_a_pending_long_poll(sim: SimServer) -> None:
    async with VI(sim) as vi:
        await vi.login()
        view = await vi.vm_view()
        await vi.post(
            "PropertyCollector",
            "propertyCollector",
            "CreateFilter",
            {"spec": view_spec(view, ["name"]), "partialUpdates": False},
        )
        r = await vi.post(
            "PropertyCollector", "propertyCollector", "WaitForUpdatesEx", {"version": ""}
        )
        poll = asyncio.create_task(
            vi.post(
                "PropertyCollector",
                "propertyCollector",
                "WaitForUpdatesEx",
                {
                    "version": r.body["version"],
                    "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 30},
                },
            )
        )
        await until(lambda: sim.stats()["live"]["pending_waits"] == 1, "the long-poll is pending")
        t = time.monotonic()
        await asyncio.to_thread(sim.restart)
        try:
            res = await asyncio.wait_for(poll, 5)
            assert res.fault == "NotAuthenticated"
        except httpx.TransportError:
            pass  # the connection was dropped: also what a restarting vCenter does
        assert time.monotonic() - t < 2


async def test_record_keeps_every_exchange_and_masks_passwords(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(record=True)
    async with VI(sim) as vi:
        await vi.login()
        await vi.start(sim.vm("web-01")["moid"])
        await vi.get("VirtualMachine", "vm-999999", "name")
    ex = sim.exchanges()
    assert [(e.method, e.path.rsplit("/", 1)[1], e.status) for e in ex] == [
        ("GET", "content", 200),
        ("POST", "Login", 200),
        ("POST", "StartGuestNetwork_Task", 200),
        ("GET", "name", 500),
    ]
    assert ex[1].request_json == {"userName": sim.username, "password": "********"}
    assert ex[2].request_json["auth"]["password"] == "********"
    for e in ex:  # every recorded exchange is registry-valid
        validate_http(e.method, e.path, e.request_json, e.status, e.response_json)
    text = json.dumps([e.request_json for e in ex])
    assert sim.password not in text and sim.guest_password not in text


async def test_latency_is_added_per_request(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(latency_ms=150)
    async with VI(sim) as vi:
        await vi.get("ServiceInstance", "ServiceInstance", "content")  # connect first
        t = time.monotonic()
        await vi.get("ServiceInstance", "ServiceInstance", "content")
        assert time.monotonic() - t >= 0.15


async def test_control_api_from_the_event_loop(sim: SimServer) -> None:
    moid = sim.add_vm(
        "extra-01",
        "/DC1/vm/team-a",
        ip="10.8.8.8",
        power="poweredOn",
        fault=("CustomizationFault", "sync"),
    )
    assert sim.vm("extra-01")["path"] == "/DC1/vm/team-a/extra-01"
    assert sim.vm(moid)["fault"] == ("CustomizationFault", "sync")
    sim.set_tools("extra-01", "notRunning")
    assert sim.vm("extra-01")["tools"] == "guestToolsNotRunning"
    sim.set_vm("extra-01", fault=None, tools="running", hang=True)
    assert sim.vm("extra-01")["fault"] is None
    sim.remove_vm("extra-01")
    assert "extra-01" not in sim.vm_names()
    for bad in (
        lambda: sim.set_power("web-01", "on"),
        lambda: sim.vm("nope"),
        lambda: sim.add_vm("x", "/NoDC/vm"),
        lambda: sim.add_vm("web-01"),
        lambda: sim.set_vm("web-01", colour="red"),
        lambda: sim.set_vm("web-01", fault=("CustomizationFault",)),
        lambda: sim.set_vm("web-01", fault=("CustomizationFault", "task", "x")),
        lambda: sim.set_vm("web-01", auth_mode="maybe"),
        lambda: sim.task("task-0"),
    ):
        with pytest.raises(SimError):
            bad()


def test_control_api_from_many_threads(sim: SimServer) -> None:
    import concurrent.futures

    names = sim.ok_vms[:8]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: sim.set_ip(n, "10.77.0.1"), names))
    assert {sim.vm(n)["ip"] for n in names} == {"10.77.0.1"}


def test_start_errors_are_one_line() -> None:
    with SimServer(task_seconds=0.3) as first:
        with pytest.raises(SimError, match=r"^cannot listen on 127\.0\.0\.1:\d+: "):
            SimServer(port=first.port).start()
    with pytest.raises(SimError, match="max_running_tasks must be between 1 and 100000, got 0"):
        SimServer(max_running_tasks=0)
    for kwargs in (
        {"task_seconds": float("nan")},
        {"session_timeout": float("nan")},
        {"latency_ms": -1.0},
        {"task_seconds": -0.5},
    ):
        with pytest.raises(SimError, match="must be"):
            SimServer(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(SimError, match="either an inventory or --vms"):
        SimServer("x.yaml", vms=3)


def test_a_stopped_server_starts_again() -> None:
    sim = SimServer(task_seconds=0.3).start()
    port, ok_vms = sim.port, list(sim.ok_vms)
    sim.stop()
    with SimServer(task_seconds=0.3, port=port):  # start() must wait for this run's listener
        with pytest.raises(SimError, match=r"^cannot listen on 127\.0\.0\.1:\d+: "):
            sim.start()
    with sim.start():
        assert sim.port == port and sim.ok_vms == ok_vms
        sim.restart()  # a restart after a stop() comes back instead of stopping for good
        url = f"{sim.url}/sdk/vim25/8.0.3.0/ServiceInstance/ServiceInstance/content"
        assert httpx.get(url, verify=ssl_context(sim)).status_code == 200


async def test_plain_http_for_debugging(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(tls=False)
    assert sim.url.startswith("http://") and sim.ca_file == ""
    async with httpx.AsyncClient(base_url=sim.url) as c:
        r = await c.get("/sdk/vim25/8.0.3.0/ServiceInstance/ServiceInstance/content")
        assert r.status_code == 200


def test_sim_never_imports_the_client() -> None:
    code = (
        "import sys, tui.sim.server, tui.sim.cli, tui.sim.app, tui.sim.state;"
        "bad = sorted(m for m in sys.modules if m.startswith(('tui.vsphere', 'tui.ui', "
        "'tui.config', 'textual')));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert res.returncode == 0, res.stdout + res.stderr
    imports = re.compile(r"^\s*(from|import)\s+tui\.(vsphere|ui|config)\b", re.MULTILINE)
    for path in (ROOT / "tui" / "sim").rglob("*.py"):
        assert not imports.search(path.read_text()), path


# -- guestnet sim (the CLI entry point, run as a program) -------------------------------------


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui.sim.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_json_serves_logs_and_stops_on_signal(tmp_path: Path, sig: int) -> None:
    proc = _spawn(
        "--vms",
        "30",
        "--seed",
        "2",
        "--cert-dir",
        str(tmp_path / "certs"),
        "--profile-out",
        str(tmp_path / "profiles.yaml"),
        "--task-seconds",
        "0.2",
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        info = json.loads(line)
        assert set(info) == {"url", "ca_file", "thumbprint_sha256", "username", "password"}
        assert info["ca_file"] == str((tmp_path / "certs" / "ca.pem").resolve())
        import ssl

        ctx = ssl.create_default_context(cafile=info["ca_file"])
        with httpx.Client(base_url=info["url"], verify=ctx) as c:
            r = c.post(
                "/sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login",
                json={"userName": info["username"], "password": info["password"]},
            )
            assert r.status_code == 200
        profile = tmp_path / "profiles.yaml"
        assert profile.stat().st_mode & 0o777 == 0o600
        from tui.config.profiles import load_profiles

        loaded = load_profiles(profile)
        text = repr(loaded)
        assert "sim" in text and info["url"].rsplit(":", 1)[1] in text
        t = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(5)
        assert time.monotonic() - t < 2.0
        assert code == 0
        err = proc.stderr.read() if proc.stderr else ""
        assert 'SessionManager/Login" 200' in err and "serving 30 VMs" in err
        assert info["password"] not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vms", "-3"], "argument --vms: must be between 0 and 1000000: '-3'"),
        (["--inventory", "x.yaml", "--vms", "3"], "not allowed with argument"),
        (
            ["--inventory", "/nonexistent/inv.yaml"],
            "/nonexistent/inv.yaml: inventory file not found",
        ),
        (["--port", "70000"], "must be between 0 and 65535"),
        (["--task-seconds", "soon"], "not a number: 'soon'"),
        (["--profile-out", "p.yaml", "--no-tls"], "--profile-out needs TLS"),
        (["--session-timeout", "0"], "argument --session-timeout: must be positive: '0'"),
        (["--max-running-tasks", "0"], "must be between 1 and 100000"),
        (["--clone-rate", "30/h"], "argument --clone-rate: expected N/min or N/s, got '30/h'"),
        (["--clone-rate", "30"], "argument --clone-rate: expected N/min or N/s, got '30'"),
        (["--clone-rate=-3/min"], "argument --clone-rate: must be 0 or more clones, got '-3/min'"),
        (["--clone-rate", "lots/s"], "argument --clone-rate: not a number of clones: 'lots/s'"),
        (["--clone-rate", "5000/s"], "argument --clone-rate: at most 60000/min (1000/s)"),
        (["--clone-rate", "1/s", "--clone-parent", "nope*"], "clone_parent 'nope*' matches no VM"),
        (["--clone-folder", "/DC1/vm/nowhere"], "clone_folder: no folder '/DC1/vm/nowhere'"),
        (["--clone-limit", "-1"], "argument --clone-limit: must be between 0 and 10000000"),
        (["--guest-ops-lag", "soon"], "argument --guest-ops-lag: not a number: 'soon'"),
    ],
)
def test_cli_usage_errors_are_one_line(args: list[str], message: str) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "tui.sim.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 2, res
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("guestnet sim: error: ") and message in lines[-1], res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_cli_bad_inventory_file(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text("datacenters:\n  - name: DC\n    vms:\n      - name: a\n        power: up\n")
    res = subprocess.run(
        [sys.executable, "-m", "tui.sim.cli", "--inventory", str(inv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 2
    assert res.stderr.strip() == (
        f"guestnet sim: error: {inv}:5: datacenters[0].vms[0].power: expected one of "
        "poweredOn, poweredOff, suspended, got string 'up'"
    )


def test_cli_unwritable_cert_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    res = subprocess.run(
        [sys.executable, "-m", "tui.sim.cli", "--cert-dir", str(blocker / "sub")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.strip().startswith(f"guestnet sim: error: cannot write {blocker / 'sub'}")


def test_cli_port_in_use(sim: SimServer) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "tui.sim.cli", "--port", str(sim.port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 1
    assert res.stderr.strip().startswith(
        f"guestnet sim: error: cannot listen on 127.0.0.1:{sim.port}"
    )
    assert res.stdout == ""


def test_cli_help() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "tui.sim.cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 0
    for opt in (
        "--host",
        "--port",
        "--inventory",
        "--vms",
        "--seed",
        "--vc-user",
        "--vc-password",
        "--guest-user",
        "--guest-password",
        "--task-seconds",
        "--max-running-tasks",
        "--session-timeout",
        "--latency-ms",
        "--cert-dir",
        "--profile-out",
        "--no-tls",
    ):
        assert opt in res.stdout, opt


async def test_certificate_names_another_listen_address(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(host="127.0.0.2")
    assert sim.url == f"https://127.0.0.2:{sim.port}"
    async with VI(sim) as vi:  # hostname verification against 127.0.0.2 succeeds
        assert (await vi.login()).status == 200


async def test_small_requests_are_not_held_by_delayed_acks(sim_module: SimServer) -> None:
    # Without TCP_NODELAY a response written as headers + body waited ~40 ms for the client's
    # delayed ACK, every time; a keep-alive GET of ServiceContent takes ~1-2 ms on an idle
    # machine, but up to ~70 ms on a busy one. So: the cause, on every connection the server
    # accepted, and the symptom, which no request escapes.
    def nodelay() -> list[int]:
        server = sim_module._uvicorn
        assert server is not None
        return [
            conn.transport.get_extra_info("socket").getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY
            )
            for conn in server.server_state.connections
        ]

    async with VI(sim_module) as vi:
        await vi.get("ServiceInstance", "ServiceInstance", "content")
        flags = sim_module.call(nodelay)
        times = []
        for _ in range(20):
            t = time.perf_counter()
            await vi.get("ServiceInstance", "ServiceInstance", "content")
            times.append(time.perf_counter() - t)
    assert flags and all(flags), flags
    assert min(times) < 0.04, times
