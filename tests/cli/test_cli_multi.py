"""``list`` and ``start-network`` over several simulated vCenters at once (issue 9): one session
each, fetched and run concurrently, rows naming their vCenter, one down or refusing the login
without stopping the others, read-only profiles inside a group."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import CLI
from tests.cli.multi import VC_PASSWORD, env_for, profiles_text, start_sim
from tests.cli.test_cli_sim import audit, jsonl
from tui.sim.server import SimServer

GROUPS = {"sites": ["lab", "prod"]}
WITH_EDGE = {**GROUPS, "all": ["lab", "prod", "edge"]}  # edge: the dead profile


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, SimServer]]:
    """lab: a current vCenter; prod: 8.0U1 (no hello endpoint, release 8.0.1.0 only)."""
    lab = start_sim()
    prod = start_sim(hello=False)
    yield {"lab": lab, "prod": prod}
    lab.stop()
    prod.stop()


def names(rows: list[dict[str, Any]], key: str = "name") -> list[tuple[str, str]]:
    return [(r["vcenter"], r[key]) for r in rows]


# --------------------------------------------------------------------------- list


def test_list_two_vcenters_of_different_releases(cli: CLI, sims: dict[str, SimServer]) -> None:
    cli.write_profiles(profiles_text(sims, GROUPS))
    env = env_for("lab", "prod")
    releases = {
        n: json.loads(cli.run("profiles", "check", n, "--json", env=env).out)["release"]
        for n in sims
    }
    assert releases["prod"] == "8.0.1.0" and releases["lab"] != "8.0.1.0"
    r = cli.run("list", "--profile", "lab", "--profile", "prod", "--json", "--filter", "web-0[12]")
    assert r.code == 2  # no passwords: both out, each named
    assert sorted(r.err.splitlines()) == [
        f"guestnet: {cli.config_dir / 'profiles.yaml'}:{line}: profile '{n}': password_env: the "
        f"variable PW_{n.upper()} is not set"
        for n, line in (("lab", 2), ("prod", 9))
    ]
    r = cli.run(
        "list", "--profile", "lab", "--profile", "prod", "--json", "--filter", "web-0[12]", env=env
    )
    assert r.code == 0, r
    rows = json.loads(r.out)
    assert names(rows) == [
        ("lab", "web-01"),
        ("lab", "web-02"),
        ("prod", "web-01"),
        ("prod", "web-02"),
    ]
    assert list(rows[0])[:3] == ["vcenter", "name", "moid"] and list(rows[0])[-1] == "duplicate_of"
    assert rows[0]["moid"] == sims["lab"].vm("web-01")["moid"]
    # addresses are compared within a vCenter: web-01 shares 10.0.0.5 with its own siblings only
    assert rows[0]["duplicate_of"] == ["web-02", "web-03"]
    # a group is the same, in the group's order; the table gains a VCENTER column
    r = cli.run("list", "--profile", "sites", "--filter", "db-01", env=env)
    header, *lines = r.out.splitlines()
    assert header.split()[:2] == ["VCENTER", "NAME"]
    assert [ln.split()[:2] for ln in lines] == [["lab", "db-01"], ["prod", "db-01"]]
    # one profile named through a group of one, or twice: the one-profile output
    r = cli.run("list", "--profile", "lab", "--profile", "lab", "--json", env=env)
    assert "vcenter" not in json.loads(r.out)[0]


def test_list_with_one_vcenter_down_and_one_refusing_login(
    cli: CLI, sims: dict[str, SimServer]
) -> None:
    cli.write_profiles(profiles_text(sims, WITH_EDGE, dead="edge"))
    env = env_for("lab", "prod", "edge", wrong="prod")
    r = cli.run("list", "--profile", "all", "--json", "--filter", "db-01", env=env)
    assert r.code == 1, r
    assert names(json.loads(r.out)) == [("lab", "db-01")]
    err = sorted(r.err.splitlines())
    assert len(err) == 2
    assert err[0].startswith("guestnet: profile 'edge': cannot connect to 127.0.0.1:1")
    assert err[1].startswith("guestnet: profile 'prod': InvalidLogin")
    assert b"Wrong-Vc-Pass-3309" not in r.stdout + r.stderr
    # every target out: exit 2
    r = cli.run("list", "--profile", "prod", "--profile", "edge", env=env)
    assert (r.code, r.out) == (2, "") and len(r.err.splitlines()) == 2


def test_list_fetches_the_vcenters_concurrently(cli: CLI) -> None:
    """Each simulator answers every request 400 ms late: two lists at once take about as long
    as one, well under the sum of the two."""
    slow = {"lab": start_sim(latency_ms=400), "prod": start_sim(latency_ms=400)}
    try:
        cli.write_profiles(profiles_text(slow, GROUPS))
        env = env_for("lab", "prod")
        walls = {}
        for target in ("lab", "prod", "sites"):
            start = time.monotonic()
            r = cli.run("list", "--profile", target, "--json", env=env)
            walls[target] = time.monotonic() - start
            assert r.code == 0, r
        assert len(json.loads(r.out)) == 14
        assert walls["sites"] < 0.75 * (walls["lab"] + walls["prod"]), walls
    finally:
        for sim in slow.values():
            sim.stop()


# --------------------------------------------------------------------------- start-network


def test_start_network_across_two_vcenters(cli: CLI, sims: dict[str, SimServer]) -> None:
    cli.write_profiles(profiles_text(sims, GROUPS, extra={"prod": "    concurrency: 2"}))
    env = env_for("lab", "prod")
    r = cli.run(
        "start-network",
        "--profile",
        "sites",
        "--vm",
        "web-0[12]",
        "off-01",
        "--json",
        "--verify-timeout",
        "0",
        env=env,
    )
    assert r.code == 1, r  # off-01 is skipped on both
    rows = jsonl(r.out)
    assert sorted(names(rows, "vm")) == sorted(
        (vc, vm) for vc in ("lab", "prod") for vm in ("web-01", "web-02", "off-01")
    )
    assert all(list(x)[:2] == ["vcenter", "vm"] for x in rows)
    states = {(x["vcenter"], x["vm"]): x["state"] for x in rows}
    assert states[("prod", "web-02")] == "succeeded" and states[("lab", "off-01")] == "skipped"
    plan = r.err.splitlines()
    assert plan[0] == "4 VM(s) to start on 2 vCenters; 2 skipped"
    assert plan[1].startswith("  lab: 2 to start, 127.0.0.1:") and plan[1].endswith(
        "guest user root, concurrency 8"
    )
    assert plan[2].endswith("concurrency 2")
    assert "  start  web-01  (prod: /DC1/vm/clones/web-01)" in plan
    assert any(ln.endswith("web-02 (lab): succeeded") for ln in plan)
    # the audit: a start and an end record per vCenter, each naming it, tied by one batch id
    records = audit(cli)
    assert [(x["profile"], x["outcome"]) for x in records] == [
        ("lab", "started"),
        ("prod", "started"),
        ("lab", "failed"),
        ("prod", "failed"),
    ]
    assert len({x["batch"] for x in records}) == 1
    assert all(x["vcenters"] == ["lab", "prod"] and x["host"] == "127.0.0.1" for x in records)
    assert records[1]["concurrency"] == 2
    assert sorted(v["name"] for v in records[0]["vms"]) == ["web-01", "web-02"]
    assert records[3]["results"] == {"skipped": 1, "succeeded": 2}
    for name, sim in sims.items():
        done = [t for t in sim.tasks() if t["state"] == "success"]
        assert len(done) >= 2, name


def test_start_network_table_and_verification_per_vcenter(
    cli: CLI, sims: dict[str, SimServer]
) -> None:
    cli.write_profiles(profiles_text(sims, GROUPS))
    r = cli.run(
        "start-network",
        "--profile",
        "sites",
        "--vm",
        "db-01",
        "--verify-timeout",
        "5",
        env=env_for("lab", "prod"),
    )
    assert r.code == 0, r
    header, *lines = r.out.splitlines()
    assert header.split() == ["VCENTER", "VM", "STATE", "TASK", "RESULT"]
    assert [ln.split()[:3] for ln in lines[:2]] == [
        ["lab", "db-01", "succeeded"],
        ["prod", "db-01", "succeeded"],
    ]
    assert all(" verified: " in ln for ln in lines[:2])
    assert lines[2] == "2 succeeded"


def test_wrong_password_and_dead_vcenter_leave_the_others_running(
    cli: CLI, sims: dict[str, SimServer]
) -> None:
    cli.write_profiles(profiles_text(sims, WITH_EDGE, dead="edge"))
    env = env_for("lab", "prod", "edge", wrong="prod")
    r = cli.run(
        "start-network",
        "--profile",
        "all",
        "--vm",
        "web-03",
        "--json",
        "--verify-timeout",
        "0",
        env=env,
    )
    assert r.code == 1, r
    assert [(x["vcenter"], x["vm"], x["state"]) for x in jsonl(r.out)] == [
        ("lab", "web-03", "succeeded")
    ]
    lines = r.err.splitlines()
    assert sum(ln.startswith("guestnet: profile 'prod': InvalidLogin") for ln in lines) == 1
    assert sum(ln.startswith("guestnet: profile 'edge': cannot connect") for ln in lines) == 1
    assert "1 VM(s) to start on 1 vCenters" in r.err
    assert [x["profile"] for x in audit(cli)] == ["lab", "lab"]
    # a pattern that matches nothing on any reachable vCenter is the usual error
    r = cli.run(
        "start-network", "--profile", "all", "--vm", "nope-*", "--verify-timeout", "0", env=env
    )
    assert r.code == 2
    assert r.err.splitlines()[-1] == "guestnet: no VM matches 'nope-*' on any vCenter (lab: all)"
    # nothing reachable: exit 2, nothing started, nothing audited
    r = cli.run(
        "start-network", "--profile", "prod", "--profile", "edge", "--vm", "web-03", env=env
    )
    assert (r.code, r.out) == (2, "") and len(r.err.splitlines()) == 2
    assert len(audit(cli)) == 2


def test_read_only_profile_inside_a_group(cli: CLI, sims: dict[str, SimServer]) -> None:
    cli.write_profiles(profiles_text(sims, GROUPS, extra={"prod": "    read_only: true"}))
    env = env_for("lab", "prod")
    before = len(sims["prod"].tasks())
    r = cli.run(
        "start-network",
        "--profile",
        "sites",
        "--vm",
        "web-02",
        "--json",
        "--verify-timeout",
        "0",
        env=env,
    )
    assert r.code == 1, r
    rows = {x["vcenter"]: x for x in jsonl(r.out)}
    assert rows["lab"]["state"] == "succeeded"
    assert rows["prod"]["state"] == "skipped" and rows["prod"]["task"] is None
    assert rows["prod"]["fault_message"] == "profile 'prod' is read_only"
    assert "read_only: false" in rows["prod"]["hint"]
    assert "  prod: 0 to start, 127.0.0.1:" in r.err and r.err.count("read-only") == 1
    assert len(sims["prod"].tasks()) == before  # nothing was started there
    refused = [x for x in audit(cli) if x["profile"] == "prod"]
    assert [(x["outcome"], x["reason"]) for x in refused] == [("refused", "read_only profile")]
    assert [v["name"] for v in refused[0]["vms"]] == ["web-02"]
    # only read-only targets: refused before connecting, each audited
    cli.write_profiles(profiles_text(sims, GROUPS, extra={n: "    read_only: true" for n in sims}))
    r = cli.run("start-network", "--profile", "sites", "--vm", "web-02", env=env)
    assert (r.code, r.err) == (
        2,
        "guestnet: every profile (lab, prod) is read_only: start-network refused\n",
    )
    assert [x["outcome"] for x in audit(cli)[-2:]] == ["refused", "refused"]


def test_unknown_group_and_group_for_a_one_profile_command(
    cli: CLI, sims: dict[str, SimServer]
) -> None:
    cli.write_profiles(profiles_text(sims, GROUPS))
    r = cli.run("list", "--profile", "site")
    assert (r.code, r.err) == (
        2,
        "guestnet: unknown profile or group 'site' (did you mean 'sites'?)\n",
    )
    r = cli.run("profiles", "check", "sites", env={"PW_LAB": VC_PASSWORD})
    assert (r.code, r.err) == (
        2,
        "guestnet: 'sites' is a group (lab, prod): profiles check takes one profile\n",
    )
    r = cli.run("list", "--json", env=dict(env_for("lab", "prod"), GUESTNET_PROFILE="sites"))
    assert r.code == 0 and {x["vcenter"] for x in json.loads(r.out)} == {"lab", "prod"}
