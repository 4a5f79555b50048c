"""A batch over three simulated vCenters while one of them restarts, and Ctrl-C across them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.cli.conftest import CLI, GUESTNET
from tests.cli.multi import env_for, profiles_text, start_sim
from tests.cli.test_cli_sim import audit, jsonl
from tui.sim.server import SimServer

VMS = ("web-01", "web-02", "web-03")


@pytest.fixture
def three() -> Iterator[dict[str, SimServer]]:
    """a, b: current releases; c: 8.0U1. Tasks take 2 s, so a restart lands mid-batch."""
    sims = {
        "a": start_sim(task_seconds=2),
        "b": start_sim(task_seconds=2),
        "c": start_sim(task_seconds=2, hello=False),
    }
    yield sims
    for sim in sims.values():
        sim.stop()


def popen(cli: CLI, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(GUESTNET), *args],
        env=dict(cli.env, **env_for("a", "b", "c")),
        cwd=cli.home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def read_until(proc: subprocess.Popen[bytes], needles: list[bytes]) -> bytes:
    """stderr lines until each needle has been seen."""
    assert proc.stderr is not None
    seen = b""
    while not all(n in seen for n in needles):
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    return seen


def test_a_vcenter_restarting_mid_batch(cli: CLI, three: dict[str, SimServer]) -> None:
    """b restarts (down for 1 s, every session lost) while its tasks run: the run logs in again
    and still ends with a final state (and a verdict) for each of its VMs; a and c are not
    disturbed."""
    cli.write_profiles(profiles_text(three, {"all": ["a", "b", "c"]}))
    args = ["--profile", "all", "--vm", "web-0*", "--json", "--verify-timeout", "20"]
    proc = popen(cli, "start-network", *args)
    killer = threading.Timer(120, proc.kill)
    killer.start()
    try:
        seen = read_until(proc, [b"web-01 (b): running"])
        restart = threading.Thread(target=three["b"].restart, kwargs={"down_seconds": 1})
        restart.start()
        out, err = proc.communicate(timeout=100)
        restart.join(30)
    finally:
        killer.cancel()
    err = seen + err
    assert b"Traceback" not in err
    rows = jsonl(out.decode())
    assert sorted((r["vcenter"], r["vm"]) for r in rows) == sorted(
        (vc, vm) for vc in three for vm in VMS
    )
    states = {(r["vcenter"], r["vm"]): r["state"] for r in rows}
    assert all(states[(vc, vm)] == "succeeded" for vc in ("a", "c") for vm in VMS), states
    verified = {(r["vcenter"], r["vm"]): r["verified"] for r in rows}
    assert all(verified[(vc, vm)] is True for vc in ("a", "c") for vm in VMS), rows
    # b: each VM ended in a final state the run could establish, and says so
    assert all(states[("b", vm)] in ("succeeded", "failed") for vm in VMS), states
    for r in rows:
        if r["vcenter"] == "b" and r["state"] == "succeeded":
            assert r["verified"] is not None or r["verify_reason"], r
    assert proc.returncode == (0 if all(s == "succeeded" for s in states.values()) else 1)
    records = audit(cli)
    ends = {r["profile"]: r for r in records if r["outcome"] != "started"}
    assert set(ends) == {"a", "b", "c"}
    assert ends["a"]["outcome"] == ends["c"]["outcome"] == "succeeded"
    assert three["b"].stats()["logins"] >= 2  # logged in again after the restart
    for sim in three.values():
        assert sim.stats()["live"]["sessions"] == 0  # every session logged out


def test_ctrl_c_cancels_on_every_vcenter(cli: CLI) -> None:
    slow = {"a": start_sim(task_seconds=60), "b": start_sim(task_seconds=60, hello=False)}
    try:
        cli.write_profiles(profiles_text(slow, extra={n: "    concurrency: 1" for n in slow}))
        args = ["--profile", "a", "--profile", "b", "--vm", "web-0*", "--json"]
        proc = popen(cli, "start-network", *args, "--verify-timeout", "0")
        killer = threading.Timer(120, proc.kill)
        killer.start()
        try:
            seen = read_until(proc, [b"web-01 (a): running", b"web-01 (b): running"])
            os.kill(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=90)
        finally:
            killer.cancel()
        err = seen + err
        assert proc.returncode == 130, (out, err)
        rows = jsonl(out.decode())
        assert {(r["vcenter"], r["vm"]): r["state"] for r in rows} == {
            (vc, vm): "cancelled" for vc in slow for vm in VMS
        }
        assert b"a: interrupted: cancelling queued" in err
        assert b"b: interrupted: cancelling queued" in err
        for vc, sim in slow.items():
            tasks = [r["task"] for r in rows if r["vcenter"] == vc and r["task"]]
            assert tasks, vc
            for task in tasks:  # each vCenter was told
                info = sim.task(task)
                assert info["cancelled"] and info["state"] == "error", info
            live = sim.stats()["live"]
            assert (live["sessions"], live["running_tasks"]) == (0, 0), live
        records = audit(cli)
        for vc in slow:
            mine = [(r["action"], r["outcome"]) for r in records if r["profile"] == vc]
            assert mine == [
                ("start-network", "started"),
                ("cancel", "requested"),
                ("start-network", "interrupted"),
            ]
        assert json.dumps(records).count('"batch"') == 6
    finally:
        for sim in slow.values():
            sim.stop()


def test_prompts_on_the_terminal_per_vcenter(cli: CLI) -> None:
    """vCenter passwords asked in turn; with --guest-password-per-vcenter one guest password per
    vCenter (prod's is wrong here: only its VM fails); one confirmation for the whole batch."""
    from tests.cli.multi import GUEST_PASSWORD, VC_PASSWORD
    from tests.cli.test_cli_tty import Terminal

    sims = {"lab": start_sim(), "prod": start_sim(hello=False)}
    try:
        text = profiles_text(sims, {"sites": ["lab", "prod"]})
        cli.write_profiles(text.replace("    password_env: PW_PROD\n", ""))
        args = ["start-network", "--profile", "sites", "--vm", "web-01", "--json"]
        args += ["--verify-timeout", "0", "--guest-password-per-vcenter"]
        term = Terminal(cli, *args, env=dict(cli.env, PW_LAB=VC_PASSWORD))
        term.expect(f"vCenter password for {sims['prod'].username}@127.0.0.1: ".encode())
        term.send(VC_PASSWORD)
        term.expect(b"Guest password for root on lab: ")
        term.send(GUEST_PASSWORD)
        term.expect(b"Guest password for root on prod: ")
        term.send("Wrong-Guest-Pass-1")
        term.expect(b"Start the guest network on 2 VM(s) on 2 vCenters? [y/N] ")
        term.send("y")
        assert term.finish() == 1, term.transcript
        text_out = term.transcript.decode()
        # stdout and the live progress line share the terminal: find the JSON objects in it
        rows = [json.loads(m) for m in re.findall(r'\{"vcenter": .*?\}(?=\r\n)', text_out)]
        assert {(r["vcenter"], r["state"], r["fault_type"]) for r in rows} == {
            ("lab", "succeeded", None),
            ("prod", "failed", "InvalidGuestLogin"),
        }
        for secret in (VC_PASSWORD, GUEST_PASSWORD, "Wrong-Guest-Pass-1"):
            assert secret not in text_out
    finally:
        for sim in sims.values():
            sim.stop()
