"""Instant clones appearing over time (``clone_rate``) and on request (``clone_vm``), over HTTPS:
what a clone looks like before and after its StartGuestNetwork, ``keep_ip``, and the options."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sim.poll import until
from tests.sim.vi import VI, make_watch, props, updates, view_spec
from tui.sim.clock import ManualClock
from tui.sim.clones import check_clone_options, parent_names
from tui.sim.errors import SimError
from tui.sim.inventory import example_inventory, load_inventory
from tui.sim.options import SimOptions, parse_rate
from tui.sim.server import SimServer

CLONE_PATHS = [
    "name",
    "runtime.powerState",
    "guest.toolsRunningStatus",
    "guest.guestOperationsReady",
    "guest.ipAddress",
    "guest.net",
    "config.annotation",
    "config.instanceUuid",
]


def clones_of(sim: SimServer, parent: str) -> list[str]:
    return [n for n in sim.vm_names() if n.startswith(f"{parent}-ic-")]


async def test_clones_appear_at_the_rate_with_the_parents_identity(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    sim = sim_factory(clock=clock, clone_rate="30/min", clone_parent="web-golden")
    golden = sim.vm("web-golden")
    async with VI(sim) as vi:
        await vi.login()
        w = await make_watch(vi, CLONE_PATHS)
        assert (await w.wait()).status == 200  # every VM enters
        clock.advance(1.9)
        assert clones_of(sim, "web-golden") == []  # one every 2 s: none yet
        clock.advance(0.1)
        await until(lambda: clones_of(sim, "web-golden"), "the first clone")
        clone = sim.vm("web-golden-ic-1")
        assert clone["path"] == "/DC1/vm/team-a/prod/web-golden-ic-1"
        kind, seen = updates(await w.wait(max_wait=0))[clone["moid"]]
        assert (kind, seen) == (
            "enter",
            {
                "name": "web-golden-ic-1",
                "runtime.powerState": "poweredOn",
                "guest.toolsRunningStatus": "guestToolsNotRunning",
                "guest.guestOperationsReady": False,
                "config.annotation": "instant clone of web-golden",
                "config.instanceUuid": clone["instance_uuid"],
            },
        )
        clock.advance(1.0)  # clone_tools_seconds: the tools come up, with the parent's identity
        await until(lambda: sim.vm(clone["moid"])["tools"] == "guestToolsRunning", "tools up")
        kind, seen = updates(await w.wait(max_wait=0))[clone["moid"]]
        assert kind == "modify" and seen["guest.toolsRunningStatus"] == "guestToolsRunning"
        assert seen["guest.ipAddress"] == golden["ip"] == "10.0.10.5"
        nic = seen["guest.net"][0]
        assert nic["macAddress"] == golden["mac"] and nic["ipAddress"] == [golden["ip"]]
        assert "guest.guestOperationsReady" not in seen  # still false
        clock.advance(2.0)  # guest_ops_lag
        await until(lambda: sim.vm(clone["moid"])["guest_ops_ready"], "guest operations ready")
        assert updates(await w.wait(max_wait=0))[clone["moid"]] == (
            "modify",
            {"guest.guestOperationsReady": True},
        )
        clock.advance(55.0)  # a minute in all: 30 clones, each at its own time
        await until(lambda: len(clones_of(sim, "web-golden")) == 30, "30 clones")
        assert (await w.wait(max_wait=0)).status == 200  # their enters conform too
    snaps = [sim.vm(f"web-golden-ic-{i}") for i in range(1, 31)]
    assert len({s["instance_uuid"] for s in snaps} | {golden["instance_uuid"]}) == 31
    assert len({s["own_mac"] for s in snaps} | {golden["mac"]}) == 31
    assert {s["mac"] for s in snaps} == {golden["mac"]} and {s["ip"] for s in snaps} == {
        "10.0.10.5"
    }
    assert all(s["clone_parent"] == "web-golden" and s["power"] == "poweredOn" for s in snaps)
    assert sim.stats()["clones"] == 30


async def _identity_after_start(vi: VI, sim: SimServer, moid: str) -> dict[str, Any]:
    """Start the guest network on ``moid``; its guest.ipAddress/guest.net changes as
    WaitForUpdatesEx reported them until the task ended (the last value of each)."""
    w = await make_watch(vi, ["guest.ipAddress", "guest.net"])
    await w.wait()
    r = await vi.start(moid)
    assert r.status == 200, r
    info = await vi.wait_task(r.body["value"])
    assert info["state"] == "success", info
    seen: dict[str, Any] = {}
    while (r := await w.wait(max_wait=1)).status == 200:
        seen.update(updates(r).get(moid, ("", {}))[1])
    return seen


async def test_a_started_clone_gets_an_address_and_a_mac_of_its_own(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(clone_tools_seconds=0.05, guest_ops_lag=0.1)
    golden = sim.vm("web-golden")
    moid = sim.clone_vm("web-golden")
    await until(lambda: sim.vm(moid)["guest_ops_ready"], "guest operations ready")
    async with VI(sim) as vi:
        await vi.login()
        before = (await vi.get("VirtualMachine", moid, "guest.net")).body
        assert before[0]["macAddress"] == golden["mac"]
        assert before[0]["ipAddress"] == [golden["ip"]]
        seen = await _identity_after_start(vi, sim, moid)
    after = sim.vm(moid)
    assert after["ip"] != golden["ip"] and after["ip"].startswith("10.200.")
    assert after["mac"] == after["own_mac"] != golden["mac"]
    assert seen["guest.ipAddress"] == after["ip"]
    assert seen["guest.net"][0]["macAddress"] == after["mac"]
    others = {sim.vm(n)["ip"] for n in sim.vm_names() if n != after["name"]}
    assert after["ip"] not in others  # a fresh address no other VM has
    assert sim.vm("web-golden")["mac"] == golden["mac"]  # the parent is untouched


async def test_keep_ip_succeeds_but_keeps_address_and_mac(sim: SimServer) -> None:
    twin = sim.vm("twin-golden")
    kept = sim.vm("twin-ic-02")  # keep_ip in the example inventory
    moved = sim.vm("twin-ic-01")
    assert kept["mac"] == moved["mac"] == twin["mac"] != kept["own_mac"]
    assert kept["ip"] == moved["ip"] == twin["ip"]
    assert sim.keep_ip_vms == ["twin-ic-02"] and "twin-ic-02" not in sim.ok_vms
    clone = sim.clone_vm("web-golden", keep_ip=True)
    await until(lambda: sim.vm(clone)["guest_ops_ready"], "the clone is ready", within=15)
    async with VI(sim) as vi:
        await vi.login()
        for moid in (kept["moid"], clone):
            before = sim.vm(moid)
            assert await _identity_after_start(vi, sim, moid) == {}  # never a change
            after = sim.vm(moid)
            assert (after["ip"], after["mac"]) == (before["ip"], before["mac"])
            assert after["customization"] == "TOOLSDEPLOYPKG_SUCCEEDED"
        seen = await _identity_after_start(vi, sim, moved["moid"])
    assert seen["guest.ipAddress"] == "10.0.80.11" == sim.vm("twin-ic-01")["ip"]
    assert seen["guest.net"][0]["macAddress"] == moved["own_mac"]
    sim.set_vm("twin-ic-01", mac="parent")  # the control API can say so too
    assert sim.vm("twin-ic-01")["mac"] == twin["mac"]
    sim.set_vm("twin-ic-01", mac=None)
    assert sim.vm("twin-ic-01")["mac"] == moved["own_mac"]


def test_clone_vm_names_folders_errors_and_threads(sim: SimServer) -> None:
    sim.add_vm("web-golden-ic-1", "/DC1/vm/team-b")  # a name in use is skipped
    first = sim.vm(sim.clone_vm("web-golden"))
    assert first["name"] == "web-golden-ic-2"
    assert first["path"] == "/DC1/vm/team-a/prod/web-golden-ic-2"  # the parent's folder
    named = sim.vm(sim.clone_vm("web-golden", name="pool-x", folder="/DC2/vm"))
    assert named["path"] == "/DC2/vm/pool-x" and named["clone_parent"] == "web-golden"
    for bad, message in (
        (lambda: sim.clone_vm("nope"), "no VM named"),
        (lambda: sim.clone_vm("web-golden", name="web-01"), "already exists"),
        (lambda: sim.clone_vm("web-golden", folder="/DC1/vm/nowhere"), "no folder"),
        (lambda: sim.clone_vm("web-golden", mac="zz"), "expected a MAC address"),
        (lambda: sim.set_vm("db-01", mac="parent"), "has no clone parent"),
    ):
        with pytest.raises(SimError, match=message):
            bad()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        moids = list(pool.map(lambda _: sim.clone_vm("twin-golden"), range(40)))
    assert len(set(moids)) == 40
    assert sorted(clones_of(sim, "twin-golden")) == sorted(
        f"twin-golden-ic-{i}" for i in range(1, 41)
    )


async def test_clone_limit_parent_glob_and_folder(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    sim = sim_factory(
        clock=clock,
        clone_rate="2/s",
        clone_limit=5,
        clone_parent="*-golden",
        clone_folder="/DC2/vm",
    )
    clock.advance(10)
    made = ["web-golden-ic-1", "api-golden-ic-1", "twin-golden-ic-1", "web-golden-ic-2"]
    made.append("api-golden-ic-2")  # the matching parents in turn, in inventory order

    def now() -> list[str]:
        return [n for n in sim.vm_names() if "-golden-ic-" in n]

    await until(lambda: now() == made, "five clones")
    clock.advance(60)
    await asyncio.sleep(0.2)  # (real time: a sixth would be made right away)
    assert now() == made
    assert {sim.vm(n)["path"].rsplit("/", 1)[0] for n in made} == {"/DC2/vm"}
    assert sim.vm("api-golden-ic-1")["ip"] is None  # a powered-off parent has no address


def test_the_default_parents_and_option_errors() -> None:
    example = [v for _, v in example_inventory().iter_vms()]
    assert parent_names(example, None) == ["web-golden", "twin-golden"]  # on, with an address
    assert parent_names(example, "web-0[12]") == ["web-01", "web-02"]
    plain = load_inventory(
        {"datacenters": [{"name": "D", "vms": [{"name": "a", "ip": "10.1.1.1"}, {"name": "b"}]}]}
    )
    assert parent_names((v for _, v in plain.iter_vms()), None) == ["a"]
    dark = load_inventory({"datacenters": [{"name": "D", "vms": [{"name": "b"}]}]})
    with pytest.raises(SimError, match=r"^clone_rate: no VM to clone from"):
        check_clone_options(SimOptions(clone_rate=1), dark)
    check_clone_options(SimOptions(), dark)  # no clones asked for: nothing to check
    with pytest.raises(SimError, match=r"^clone_parent 'x\*' matches no VM$"):
        SimServer(clone_parent="x*")
    with pytest.raises(SimError, match=r"^clone_folder: no folder '/DC1/vm/team-a/none'"):
        SimServer(clone_folder="/DC1/vm/team-a/none")
    with pytest.raises(SimError, match=r"^clone_rate: expected N/min or N/s, got '3/h'$"):
        SimServer(clone_rate="3/h")
    with pytest.raises(SimError, match=r"^clone_rate must be between 0 and 60000, got -1$"):
        SimServer(clone_rate=-1)
    assert SimOptions(clone_rate="0.5/s").clone_rate == 30.0
    rates = ("30/min", "0.5/s", "2/sec", " 30 / MIN ", "0", "0/s")
    assert [parse_rate(t) for t in rates] == [30.0, 30.0, 120.0, 30.0, 0.0, 0.0]
    for bad in ("30", "-1/s", "nan/s", "inf/min", "1e9/s", "/min", "30/min/s", ""):
        with pytest.raises(ValueError):
            parse_rate(bad)


ROOT = Path(__file__).resolve().parents[2]
GUESTNET = "import sys; from tui.cli import main; sys.exit(main())"  # the `guestnet` entry point


def test_guestnet_sim_clone_rate_from_the_command_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", GUESTNET, "sim", "--clone-rate", "30/min", "--guest-ops-lag", "0.1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        info = json.loads(proc.stdout.readline())
        lines: list[str] = []

        def read(stream: Any) -> None:
            for line in stream:
                lines.append(line)

        threading.Thread(target=read, args=(proc.stderr,), daemon=True).start()
        appeared = "clone web-golden-ic-1 of web-golden (10.0.10.5) appeared"
        end = time.monotonic() + 15  # the first one after 2 s
        while not any(appeared in line for line in lines):
            assert time.monotonic() < end and proc.poll() is None, lines
            time.sleep(0.05)
        base = f"{info['url']}/sdk/vim25/8.0.3.0"
        ctx = ssl.create_default_context(cafile=info["ca_file"])
        with httpx.Client(verify=ctx) as c:
            content = c.get(f"{base}/ServiceInstance/ServiceInstance/content").json()
            login = {"userName": info["username"], "password": info["password"]}
            r = c.post(f"{base}/SessionManager/SessionManager/Login", json=login)
            c.headers["vmware-api-session-id"] = r.headers["vmware-api-session-id"]
            view = c.post(
                f"{base}/ViewManager/ViewManager/CreateContainerView",
                json={"container": content["rootFolder"], "type": [], "recursive": True},
            ).json()
            body = {
                "specSet": [view_spec(view, ["name", "config.annotation"])],
                "options": {"_typeName": "RetrieveOptions"},
            }
            r = c.post(
                f"{base}/PropertyCollector/propertyCollector/RetrievePropertiesEx", json=body
            )
        found = {props(o)["name"]: props(o)["config.annotation"] for o in r.json()["objects"]}
        assert found["web-golden-ic-1"] == "instant clone of web-golden"
        assert "serving 45 VMs" in "".join(lines)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
