"""The console script against the simulator over real HTTPS (generated CA on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import CLI
from tui.sim.server import SimServer
from tui.vsphere import explain

VC_PASSWORD = "Vc-Pass-Quokka-8417"
GUEST_PASSWORD = "Guest-Pass-Narwhal-2963"

INVENTORY: dict[str, Any] = {
    "datacenters": [
        {
            "name": "DC1",
            "folders": [
                {
                    "name": "clones",
                    "vms": [
                        {"name": "web-01", "ip": "10.0.0.5", "acquire_ip": "10.0.0.11"},
                        {"name": "web-02", "ip": "10.0.0.5", "acquire_ip": "10.0.0.12"},
                        {"name": "web-03", "ip": "10.0.0.5", "acquire_ip": "10.0.0.13"},
                        {"name": "off-01", "power": "poweredOff"},
                        {"name": "notools-01", "tools": "notRunning"},
                        {
                            "name": "badlogin-01",
                            "fault": {"type": "InvalidGuestLogin", "mode": "task"},
                        },
                    ],
                },
                {"name": "other", "vms": [{"name": "db-01", "ip": "10.0.1.1"}]},
            ],
        }
    ]
}


def start_sim(**opts: Any) -> SimServer:
    opts.setdefault("task_seconds", 0.3)
    return SimServer(
        INVENTORY, vc_password=VC_PASSWORD, guest_password=GUEST_PASSWORD, **opts
    ).start()


@pytest.fixture(scope="module")
def vc() -> Iterator[SimServer]:
    server = start_sim()
    yield server
    server.stop()


def profile_text(vc: SimServer, name: str = "sim", tls: str = "ca", extra: str = "") -> str:
    lines = [
        "# simulator profile",
        "profiles:",
        f"  {name}:   # keep this comment",
        "    host: 127.0.0.1",
        f"    port: {vc.port}",
        f"    username: {vc.username}",
        "    password_env: SIM_VC_PW",
    ]
    if tls == "ca":
        lines.append(f"    ca_file: {vc.ca_file}")
    lines.append("    guest_username: root")
    return "\n".join(lines) + "\n" + extra


ENV = {"SIM_VC_PW": VC_PASSWORD, "GUESTNET_GUEST_PASSWORD": GUEST_PASSWORD}


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def audit(cli: CLI) -> list[dict[str, Any]]:
    return jsonl(cli.audit_file.read_text())


# --------------------------------------------------------------------------- profiles


def test_profiles_check(cli: CLI, vc: SimServer) -> None:
    path = cli.write_profiles(profile_text(vc))
    r = cli.run("profiles", "check", "sim", env=ENV)
    assert r.code == 0, r
    rows = dict(line.split(None, 1) for line in r.out.splitlines())
    assert rows["profile"] == f"sim ({path}:3)"
    assert rows["tls"] == "ca-file"
    assert rows["sha256"] == vc.thumbprint_sha256
    assert rows["release"].endswith("(negotiated)")
    assert rows["server"].startswith("VMware vCenter Server")
    r = cli.run("profiles", "check", "sim", "--json", env=ENV)
    info = json.loads(r.out)
    assert info["thumbprint_sha256"] == vc.thumbprint_sha256
    assert (info["tls_mode"], info["username"], info["port"]) == ("ca-file", vc.username, vc.port)
    assert info["release"] == info["api_version"]


def test_untrusted_certificate_then_trust(cli: CLI, vc: SimServer) -> None:
    path = cli.write_profiles(profile_text(vc, tls="system"))
    r = cli.run("profiles", "check", "sim", env=ENV)
    assert r.code == 2
    assert r.err.startswith("guestnet: profile 'sim': ") and r.err.count("\n") == 1
    assert r.err.endswith("; to pin the presented certificate run: guestnet profiles trust sim\n")
    assert vc.thumbprint_sha256 in r.err
    # no terminal, no --yes: refuse
    r = cli.run("profiles", "trust", "sim")
    assert r.code == 2
    assert vc.thumbprint_sha256 in r.out
    assert "no terminal to confirm on" in r.err
    assert "thumbprint" not in path.read_text()
    r = cli.run("profiles", "trust", "sim", "--yes")
    assert r.code == 0, r
    assert r.out.splitlines() == [
        f"127.0.0.1:{vc.port} presents a certificate with",
        f"  SHA-256 {vc.thumbprint_sha256}",
        f"  SHA-1   {vc.thumbprint_sha1}",
        f"pinned SHA-256 {vc.thumbprint_sha256} into profile 'sim' ({path})",
    ]
    text = path.read_text()
    assert text.startswith("# simulator profile\nprofiles:\n  sim:   # keep this comment\n")
    assert f"    thumbprint: {vc.thumbprint_sha256}\n" in text
    r = cli.run("profiles", "check", "sim", "--json", env=ENV)
    assert r.code == 0, r
    assert json.loads(r.out)["tls_mode"] == "pinned"
    r = cli.run("profiles", "trust", "sim", "--yes")
    assert r.code == 0 and r.out.endswith("profile 'sim' already pins this thumbprint\n")


def test_wrong_pin_is_exit_2(cli: CLI, vc: SimServer) -> None:
    wrong = ":".join(["AA"] * 32)
    cli.write_profiles(profile_text(vc, tls="none", extra=f"    thumbprint: '{wrong}'\n"))
    r = cli.run("list", env=ENV)
    assert r.code == 2 and r.err.startswith("guestnet: profile 'sim': ")
    assert vc.thumbprint_sha256 in r.err


def test_login_failure_and_connection_refused(cli: CLI, vc: SimServer) -> None:
    cli.write_profiles(profile_text(vc))
    r = cli.run("list", env={"SIM_VC_PW": "wrong-password"})
    assert r.code == 2
    assert r.err.startswith("guestnet: profile 'sim': InvalidLogin") and r.err.count("\n") == 1
    assert "wrong-password" not in r.err
    cli.write_profiles(profile_text(vc).replace(f"port: {vc.port}", "port: 1"))
    r = cli.run("list", env=ENV)
    assert r.code == 2 and r.err.startswith("guestnet: profile 'sim': ")
    assert r.err.count("\n") == 1


# --------------------------------------------------------------------------- list


def test_list(cli: CLI, vc: SimServer) -> None:
    cli.write_profiles(profile_text(vc))
    r = cli.run("list", "--json", env=ENV)
    assert r.code == 0, r
    vms = json.loads(r.out)
    assert [v["name"] for v in vms] == [
        "badlogin-01",
        "notools-01",
        "off-01",
        "web-01",
        "web-02",
        "web-03",
        "db-01",
    ]
    keys = [
        "name",
        "moid",
        "path",
        "power_state",
        "connection_state",
        "tools_running_status",
        "guest_operations_ready",
        "ip_address",
        "host_name",
        "instance_uuid",
        "ip_addresses",
        "mac_addresses",
        "annotation",
        "duplicate_of",
    ]
    assert all(list(v) == keys for v in vms)
    web = vms[3]
    assert web["path"] == "/DC1/vm/clones/web-01" and web["power_state"] == "poweredOn"
    assert web["moid"] == vc.vm("web-01")["moid"]
    r = cli.run("list", "--json", "--filter", "web-0[12]", "--filter", "/DC1/vm/other/*", env=ENV)
    assert [v["name"] for v in json.loads(r.out)] == ["web-01", "web-02", "db-01"]
    r = cli.run("list", "--json", "--power", "poweredOff", env=ENV)
    assert [v["name"] for v in json.loads(r.out)] == ["off-01"]
    r = cli.run("list", "--filter", "off-*", env=ENV)
    header, row = r.out.splitlines()
    assert header.split() == [
        "NAME", "POWER", "TOOLS", "GUEST", "OPS", "IP", "SHARED", "WITH", "MOID", "PATH"
    ]  # fmt: skip
    assert row.split()[:2] == ["off-01", "poweredOff"] and row.endswith("/DC1/vm/clones/off-01")
    r = cli.run("list", "--filter", "nothing*", env=ENV)
    assert (r.code, r.out, r.err) == (0, "", "guestnet: no VMs match\n")


def test_list_with_root(cli: CLI, vc: SimServer) -> None:
    cli.write_profiles(profile_text(vc, extra="    root: /DC1/vm/other\n"))
    r = cli.run("list", "--json", env=ENV)
    assert [v["name"] for v in json.loads(r.out)] == ["db-01"]
    cli.write_profiles(profile_text(vc, extra="    root: /DC1/vm/gone\n"))
    r = cli.run("list", env=ENV)
    assert (r.code, r.out) == (2, "")
    assert r.err == (
        "guestnet: profile 'sim': inventory path not found: /DC1/vm/gone "
        "(no such folder or datacenter)\n"
    )


# --------------------------------------------------------------------------- start-network


def test_start_network_all_succeed(cli: CLI, vc: SimServer) -> None:
    cli.write_profiles(profile_text(vc))
    r = cli.run("start-network", "--verify-timeout", "0", "--vm", "web-0[12]", "--json", env=ENV)
    assert r.code == 0, r
    rows = jsonl(r.out)
    assert sorted(x["vm"] for x in rows) == ["web-01", "web-02"]
    for row in rows:
        assert list(row) == [
            "vm",
            "moid",
            "task",
            "state",
            "progress",
            "fault_type",
            "fault_message",
            "hint",
            "started",
            "completed",
            "ip_before",
            "ip_after",
            "mac_before",
            "mac_after",
            "verified",
            "verify_reason",
        ]
        assert row["state"] == "succeeded" and row["task"].startswith("task-")
        assert row["fault_type"] is None and row["completed"].endswith("Z")
    assert vc.vm("web-01")["ip"] == "10.0.0.11"
    assert "2 VM(s) to start on 127.0.0.1" in r.err
    assert "web-01: succeeded" in r.err
    start, end = audit(cli)
    assert (start["action"], start["outcome"]) == ("start-network", "started")
    assert start["profile"] == "sim"
    assert start["vc_user"] == vc.username and start["guest_user"] == "root"
    assert sorted(v["name"] for v in start["vms"]) == ["web-01", "web-02"]
    assert end["outcome"] == "succeeded" and sorted(end["tasks"]) == sorted(x["task"] for x in rows)


def test_start_network_failures_skips_table(cli: CLI, vc: SimServer) -> None:
    cli.write_profiles(profile_text(vc))
    r = cli.run(
        "start-network",
        "--verify-timeout",
        "0",
        "--vm",
        "web-03",
        "off-01",
        "notools-01",
        "badlogin-01",
        env=ENV,
    )
    assert r.code == 1, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["VM", "STATE", "TASK", "RESULT"]
    table = {ln.split()[0]: ln.split(None, 3)[1:] for ln in lines[1:5]}
    assert table["off-01"] == ["skipped", "-", "not poweredOn (poweredOff)"]
    notools = ["skipped", "-", "tools not running (guestToolsNotRunning)"]
    assert table["notools-01"] == notools
    assert table["web-03"][0] == "succeeded"
    assert table["badlogin-01"][0] == "failed" and table["badlogin-01"][2].startswith(
        "InvalidGuestLogin: "
    )
    assert lines[5] == "1 succeeded, 1 failed, 2 skipped"
    assert any(ln.startswith("hint (InvalidGuestLogin): ") for ln in lines[6:])
    end = audit(cli)[-1]
    assert end["outcome"] == "failed" and end["faults"] == ["InvalidGuestLogin"]
    assert end["results"] == {"failed": 1, "skipped": 2, "succeeded": 1}


def test_start_network_json_fault_and_no_preflight(cli: CLI, vc: SimServer) -> None:
    cli.write_profiles(profile_text(vc))
    r = cli.run(
        "start-network",
        "--verify-timeout",
        "0",
        "--vm",
        "badlogin-01",
        "off-01",
        "--json",
        "--no-preflight",
        env=ENV,
    )
    assert r.code == 1, r
    rows = {x["vm"]: x for x in jsonl(r.out)}
    assert rows["badlogin-01"]["state"] == "failed"
    assert rows["badlogin-01"]["fault_type"] == "InvalidGuestLogin"
    assert rows["badlogin-01"]["hint"] == explain("InvalidGuestLogin").remedy
    assert rows["off-01"]["state"] == "failed"
    assert rows["off-01"]["fault_type"] in ("InvalidPowerState", "InvalidState")


def test_start_network_selection_errors(cli: CLI, vc: SimServer) -> None:
    cli.write_profiles(profile_text(vc))
    r = cli.run(
        "start-network", "--verify-timeout", "0", "--vm", "web-01", "nomatch-*", "zz", env=ENV
    )
    assert (r.code, r.out) == (2, "")
    assert r.err == "guestnet: no VM matches 'nomatch-*', 'zz' under the inventory\n"
    assert not cli.audit_file.exists()  # nothing was started
    r = cli.run(
        "start-network",
        "--verify-timeout",
        "0",
        "--vms-from",
        "-",
        "--json",
        env=ENV,
        stdin=b"# clones to refresh\n\n/DC1/vm/clones/web-02\nweb-0[2]\n",
    )
    assert r.code == 0, r
    assert [x["vm"] for x in jsonl(r.out)] == ["web-02"]


def test_guest_login_failure_wrong_password(cli: CLI, vc: SimServer) -> None:
    cli.write_profiles(profile_text(vc))
    env = dict(ENV, GUESTNET_GUEST_PASSWORD="Wrong-Guest-Pw-5501")
    r = cli.run("start-network", "--verify-timeout", "0", "--vm", "web-01", "--json", env=env)
    assert r.code == 1
    (row,) = jsonl(r.out)
    assert (row["state"], row["fault_type"]) == ("failed", "InvalidGuestLogin")
    assert b"Wrong-Guest-Pw-5501" not in r.stdout + r.stderr
