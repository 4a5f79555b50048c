"""Ctrl-C during start-network, and the terminal prompts (no echo, confirmation) through a pty."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import termios
import threading
import time
from collections.abc import Iterator

import pytest

from tests.cli.conftest import CLI, GUESTNET
from tests.cli.test_cli_sim import GUEST_PASSWORD, VC_PASSWORD, jsonl, profile_text, start_sim
from tui.sim.server import SimServer

ENV = {"SIM_VC_PW": VC_PASSWORD, "GUESTNET_GUEST_PASSWORD": GUEST_PASSWORD}


@pytest.fixture
def slow_vc() -> Iterator[SimServer]:
    server = start_sim(task_seconds=60)
    yield server
    server.stop()


def test_ctrl_c_cancels_reports_logs_out_exit_130(cli: CLI, slow_vc: SimServer) -> None:
    cli.write_profiles(profile_text(slow_vc, extra="    concurrency: 1\n"))
    env = dict(cli.env, **ENV)
    proc = subprocess.Popen(
        [str(GUESTNET), "start-network", "--verify-timeout", "0", "--vm", "web-0*", "--json"],
        env=env,
        cwd=cli.home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    killer = threading.Timer(90, proc.kill)
    killer.start()
    try:
        assert proc.stderr is not None
        seen = b""
        while b"web-01: running" not in seen:
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        killer.cancel()
    err = seen + err
    assert proc.returncode == 130, (out, err)
    rows = {r["vm"]: r for r in jsonl(out.decode())}
    assert {k: v["state"] for k, v in rows.items()} == {
        "web-01": "cancelled",
        "web-02": "cancelled",
        "web-03": "cancelled",
    }
    tasks = [r["task"] for r in rows.values() if r["task"]]
    assert rows["web-01"]["task"] in tasks
    assert b"interrupted: cancelling queued and cancellable tasks" in err
    assert b"Traceback" not in err
    for task in tasks:  # vCenter was told: the tasks ended cancelled, not left running
        info = slow_vc.task(task)
        assert info["cancelled"] and info["state"] == "error", info
    records = [json.loads(x) for x in cli.audit_file.read_text().splitlines()]
    assert [r["action"] for r in records] == ["start-network", "cancel", "start-network"]
    assert sorted(records[1]["tasks"]) == sorted(tasks)
    assert sorted(v["name"] for v in records[1]["vms"]) == ["web-01", "web-02", "web-03"]
    assert records[2]["outcome"] == "interrupted"
    live = slow_vc.stats()["live"]
    assert (live["sessions"], live["running_tasks"], live["filters"]) == (0, 0, 0), live


def _controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, cli: CLI, *args: str, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            [str(GUESTNET), *args],
            env=env,
            cwd=cli.home,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=_controlling_tty,
            close_fds=True,
        )
        os.close(slave)
        self.transcript = b""

    def _read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return b""

    def expect(self, text: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.transcript:
            assert time.monotonic() < deadline, self.transcript
            chunk = self._read(0.5)
            if not chunk and self.proc.poll() is not None:
                raise AssertionError(self.transcript)
            self.transcript += chunk

    def send(self, text: str) -> None:
        os.write(self.master, text.encode() + b"\n")

    def finish(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while True:
            chunk = self._read(0.2)
            self.transcript += chunk
            if not chunk and self.proc.poll() is not None:
                break
            assert time.monotonic() < deadline, self.transcript
        os.close(self.master)
        return self.proc.wait()


def test_terminal_prompts_without_echo(cli: CLI) -> None:
    server = start_sim()
    try:
        cli.write_profiles(profile_text(server).replace("    password_env: SIM_VC_PW\n", ""))
        term = Terminal(
            cli, "start-network", "--verify-timeout", "0", "--vm", "web-01", env=cli.env
        )
        term.expect(f"vCenter password for {server.username}@127.0.0.1: ".encode())
        term.send(VC_PASSWORD)
        term.expect(b"Guest password for root: ")
        term.send(GUEST_PASSWORD)
        term.expect(b"Start the guest network on 1 VM(s)? [y/N] ")
        term.send("y")
        assert term.finish() == 0, term.transcript
        assert b"1 succeeded" in term.transcript
        first = term.transcript
        # declining starts nothing
        tasks_before = len(server.tasks())
        term = Terminal(
            cli,
            "start-network",
            "--verify-timeout",
            "0",
            "--vm",
            "web-02",
            env=dict(cli.env, **ENV),
        )
        term.expect(b"vCenter password for ")
        term.send(VC_PASSWORD)
        term.expect(b"[y/N] ")
        assert b"Guest password" not in term.transcript  # GUESTNET_GUEST_PASSWORD is set
        term.send("n")
        assert term.finish() == 1
        assert b"nothing started" in term.transcript
        assert len(server.tasks()) == tasks_before
        declined = term.transcript
        # Ctrl-C at the guest password prompt: exit 130 at once, logged out, nothing started
        term = Terminal(
            cli, "start-network", "--verify-timeout", "0", "--vm", "web-02", env=cli.env
        )
        term.expect(b"vCenter password for ")
        term.send(VC_PASSWORD)
        term.expect(b"Guest password for root: ")
        os.write(term.master, b"\x03")
        assert term.finish() == 130, term.transcript
        assert term.transcript.rstrip().endswith(b"guestnet: interrupted")
        assert len(server.tasks()) == tasks_before
        assert server.stats()["live"]["sessions"] == 0
    finally:
        server.stop()
    for needle in (VC_PASSWORD, GUEST_PASSWORD):  # typed, but never echoed
        assert needle.encode() not in first + declined + term.transcript


def test_ctrl_c_before_the_run_logs_out_exit_130(cli: CLI) -> None:
    server = start_sim(latency_ms=400)  # slow enough to interrupt while listing the inventory
    try:
        cli.write_profiles(profile_text(server))
        proc = subprocess.Popen(
            [str(GUESTNET), "start-network", "--verify-timeout", "0", "--vm", "web-01", "--json"],
            env=dict(cli.env, **ENV),
            cwd=cli.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while server.stats()["live"]["sessions"] == 0:  # logged in, now listing
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, out, err) == (130, b"", b"guestnet: interrupted\n")
        assert server.stats()["live"]["sessions"] == 0  # logged out on the way
        assert server.tasks() == []
    finally:
        server.stop()


def test_trust_asks_on_the_terminal(cli: CLI) -> None:
    server = start_sim()
    try:
        path = cli.write_profiles(profile_text(server, tls="system"))
        before = path.read_text()
        term = Terminal(cli, "profiles", "trust", "sim", env=cli.env)
        term.expect(f"Pin this SHA-256 into profile 'sim' ({path})? [y/N] ".encode())
        assert server.thumbprint_sha256.encode() in term.transcript
        term.send("n")
        assert term.finish() == 1
        assert b"guestnet: not pinned" in term.transcript
        assert path.read_text() == before
        term = Terminal(cli, "profiles", "trust", "sim", env=cli.env)
        term.expect(b"[y/N] ")
        term.send("yes")
        assert term.finish() == 0
        assert f"thumbprint: {server.thumbprint_sha256}".encode() in path.read_bytes()
    finally:
        server.stop()
