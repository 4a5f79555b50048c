"""The proof a start worked (`start-network` verdicts) and duplicate addresses (`list`), through
the console script against a simulator of their own (each test changes guest addresses)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import CLI
from tests.cli.test_cli_sim import ENV, audit, jsonl, profile_text, start_sim
from tui.sim.server import SimServer


@pytest.fixture
def own_vc() -> Iterator[SimServer]:
    server = start_sim()
    yield server
    server.stop()


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r.get("vm") or r["name"]: r for r in rows}


def test_list_flags_vms_sharing_an_address(cli: CLI, own_vc: SimServer) -> None:
    cli.write_profiles(profile_text(own_vc))
    r = cli.run("list", "--json", env=ENV)
    vms = by_name(json.loads(r.out))
    # web-01..03 all answer on 10.0.0.5: each names the other two
    assert vms["web-01"]["duplicate_of"] == ["web-02", "web-03"]
    assert vms["db-01"]["duplicate_of"] == [] and vms["web-01"]["ip_addresses"] == ["10.0.0.5"]
    assert vms["web-01"]["mac_addresses"][0].startswith("00:50:56:")
    r = cli.run("list", "--duplicates", env=ENV)
    lines = r.out.splitlines()
    assert [ln.split()[0] for ln in lines[1:]] == ["web-01", "web-02", "web-03"]
    assert "web-02, web-03" in lines[1]
    r = cli.run("list", "--duplicates", "--filter", "web-03", "--json", env=ENV)
    assert [v["name"] for v in json.loads(r.out)] == ["web-03"]  # its twins are filtered out


def test_verified_and_not_verified_successes(cli: CLI, own_vc: SimServer) -> None:
    cli.write_profiles(profile_text(own_vc))
    own_vc.set_vm("web-02", acquire_ip="10.0.1.1")  # the restart lands on db-01's address
    r = cli.run(
        "start-network", "--vm", "web-01", "web-02", "--json", "--verify-timeout", "3", env=ENV
    )
    assert r.code == 1, r  # a success that is not verified fails the run
    rows = by_name(jsonl(r.out))
    good, bad = rows["web-01"], rows["web-02"]
    assert good["state"] == bad["state"] == "succeeded"
    assert (good["ip_before"], good["ip_after"], good["verified"]) == (
        "10.0.0.5",
        "10.0.0.11",
        True,
    )
    assert good["verify_reason"] == "10.0.0.5 → 10.0.0.11"
    assert good["mac_before"] and good["mac_after"]
    assert bad["verified"] is False and bad["verify_reason"] == "still shares 10.0.1.1 with db-01"
    end = audit(cli)[-1]
    assert end["outcome"] == "not-verified"
    assert {v["name"]: v["verified"] for v in end["verdicts"]} == {"web-01": True, "web-02": False}
    # the table says so too, and the count line names the unverified
    own_vc.set_vm("web-03", acquire_ip="10.0.0.5")  # keeps the address it shares
    r = cli.run("start-network", "--vm", "web-03", "--verify-timeout", "1", env=ENV)
    assert r.code == 1, r
    assert "NOT verified: kept its launch address 10.0.0.5" in r.out
    assert "1 succeeded (1 not verified)" in r.out


def test_verify_timeout_zero_skips_the_proof_and_bad_values_are_refused(
    cli: CLI, own_vc: SimServer
) -> None:
    cli.write_profiles(profile_text(own_vc))
    own_vc.set_vm("web-01", acquire_ip="10.0.1.1")
    r = cli.run("start-network", "--vm", "web-01", "--json", "--verify-timeout", "0", env=ENV)
    assert r.code == 0, r
    assert jsonl(r.out)[0]["verified"] is None and jsonl(r.out)[0]["verify_reason"] is None
    r = cli.run("start-network", "--vm", "web-01", "--verify-timeout", "-1", env=ENV)
    assert r.code == 2 and r.err == "guestnet: --verify-timeout must be from 0 to 3600, got -1\n"
