"""`guestnet watch` through the console script against the simulator over HTTPS.

The promise: every matching VM that appears is started exactly once (counted in the simulator's
StartGuestNetwork tasks) and verified, also when the watcher is SIGKILLed mid-batch and run again.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections import Counter
from typing import IO, Any

import pytest

from tests.cli.conftest import CLI, GUESTNET
from tests.cli.test_cli_sim import ENV, audit, profile_text, start_sim
from tui.sim.server import SimServer

FAST = ["--settle", "0.2", "--verify-timeout", "5"]


def starts(sim: SimServer) -> Counter[str]:
    return Counter(t["vm"] for t in sim.tasks() if "StartGuestNetwork" in t["method"])


class Watcher:
    """A `guestnet watch --json` child; its stdout lines read by a thread into a queue."""

    def __init__(self, cli: CLI, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(GUESTNET), "watch", "--json", *FAST, *args],
            env=dict(cli.env, **ENV),
            cwd=cli.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, out: IO[bytes]) -> None:
        for line in out:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def until(self, what: str, done: Any, within: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while not done(self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"watch: still no {what} after {within:g} s; saw {self.events}")
            try:
                ev = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if ev is None:
                pytest.fail(f"watch ended before {what}: {self.finish()}")
            self.events.append(ev)
        return self.events

    def named(self, kind: str) -> list[str]:
        return [e["vm"] for e in self.events if e["event"] == kind]

    def finish(self, sig: int | None = None) -> tuple[int, str]:
        if sig is not None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        assert self.proc.stderr is not None
        err = self.proc.stderr.read().decode()
        assert "Traceback" not in err, err
        return code, err


@pytest.fixture
def wvc() -> Any:
    server = start_sim(task_seconds=0.5)
    yield server
    server.stop()


def test_watch_starts_each_new_clone_once_verified_then_sigterm(cli: CLI, wvc: SimServer) -> None:
    cli.write_profiles(profile_text(wvc))
    w = Watcher(cli, "--match", "pool-ic-*")
    w.until("the VM stream", lambda ev: any(e["event"] == "status" for e in ev))
    for i in range(3):
        wvc.add_vm(f"pool-ic-{i}", folder="/DC1/vm/clones")
    wvc.add_vm("pool-other", folder="/DC1/vm/clones")
    events = w.until("3 verified", lambda ev: len([e for e in ev if e["event"] == "verified"]) == 3)
    code, err = w.finish(signal.SIGTERM)
    assert code == 0, err
    assert "stopped (SIGTERM): 3 started, 3 verified, 0 not-verified, 0 unverified, 0 failed" in err
    verified = [e for e in events if e["event"] == "verified"]
    assert {e["vm"] for e in verified} == {"pool-ic-0", "pool-ic-1", "pool-ic-2"}
    for e in verified:
        assert e["verified"] is True and e["ip_after"] and e["ip_after"] != e["ip_before"]
    assert {n: c for n, c in starts(wvc).items() if n.startswith("pool")} == {
        "pool-ic-0": 1,
        "pool-ic-1": 1,
        "pool-ic-2": 1,
    }
    records = [r for r in audit(cli) if r["action"] == "watch-start"]
    assert {r["vms"][0]["name"] for r in records} == {"pool-ic-0", "pool-ic-1", "pool-ic-2"}
    assert all(r["verified"] is True for r in records)
    assert [r["outcome"] for r in audit(cli) if r["action"] == "watch"] == ["started", "stopped"]
    ledger = cli.home / "state" / "guestnet" / "watch-ledger.jsonl"
    assert (ledger.stat().st_mode & 0o777) == 0o600


def test_sigkill_mid_batch_then_restart_starts_every_vm_exactly_once(
    cli: CLI, wvc: SimServer
) -> None:
    cli.write_profiles(profile_text(wvc, extra="    concurrency: 2\n"))
    wvc_names = [f"kill-ic-{i:02d}" for i in range(12)]
    for name in wvc_names:
        wvc.add_vm(name, folder="/DC1/vm/clones", task_seconds=1.0)
    first = Watcher(cli, "--match", "kill-ic-*")
    first.until("a few starts", lambda ev: len([e for e in ev if e["event"] == "started"]) >= 3)
    first.proc.kill()  # SIGKILL: no cleanup, no logout, tasks left running
    first.proc.wait(timeout=10)
    assert 0 < sum(starts(wvc).values()) < len(wvc_names) + 1
    second = Watcher(cli, "--match", "kill-ic-*")
    second.until(
        "every VM succeeded",
        lambda ev: (
            {e["vm"] for e in ev if e["event"] == "succeeded"} | set(first.named("succeeded"))
            >= set(wvc_names)
        ),
        within=60,
    )
    code, _ = second.finish(signal.SIGINT)
    assert code == 130
    counts = starts(wvc)
    assert {n: counts[n] for n in wvc_names} == dict.fromkeys(wvc_names, 1)
    assert second.named("adopted")  # the killed watcher's running tasks were adopted, not redone


def test_bad_options_are_one_line_exit_2(cli: CLI, wvc: SimServer) -> None:
    cli.write_profiles(profile_text(wvc))
    for args, message in [
        (["--match", "a/b"], "--match: VM pattern 'a/b'"),
        (["--match", "web-[0"], "'[' without a closing ']'"),
        (["--match", "x", "--settle", "-1"], "--settle must be from 0 to 3600, got -1"),
        (["--match", "x", "--retries", "101"], "--retries must be from 0 to 100"),
        (["--match", "x", "--concurrency", "0"], "--concurrency must be from 1 to 256"),
        (["--match", "x", "--root", "DC1/vm"], "--root must be an inventory path"),
        (["--match", "x", "--verify-timeout", "0"], "--verify-timeout must be from 1"),
    ]:
        r = cli.run("watch", *args, env=ENV)
        assert r.code == 2, r
        assert len(r.err.strip().splitlines()) == 1 and message in r.err, r
    r = cli.run("watch", env=ENV)
    assert r.code == 2 and "--match" in r.err
