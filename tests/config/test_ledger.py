"""The watch ledger: durable, private, per vCenter; open attempts survive a kill."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tui.config import paths
from tui.config.ledger import Ledger
from tui.vsphere.models import VM
from tui.vsphere.secret import Secret

A = VM("vm-1", "web-ic-01", "/DC/vm/web-ic-01", "/DC/vm", instance_uuid="uuid-1")
B = VM("vm-2", "web-ic-02", "/DC/vm/web-ic-02", "/DC/vm")  # no instanceUuid: keyed by moid


def test_records_are_private_and_reread_by_a_new_ledger(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.jsonl"
    led = Ledger("vc1:443", path)
    led.dispatch(A, ip_before="10.0.0.5", mac_before=None, noise="x")
    led.task(A, "task-7")
    led.done(A, "success", "task-7", verified=True)
    led.dispatch(B)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = Ledger("vc1:443", path).load()
    a, b = again.get(A), again.get(B)
    assert a is not None and a.succeeded and not a.open and a.task == "task-7" and a.attempts == 1
    assert a.settled and a.before == {"ip_before": "10.0.0.5", "mac_before": None}
    assert b is not None and b.open and not b.succeeded and b.key == "vm-2"
    assert b.dispatched_at is not None


def test_failures_count_and_other_vcenters_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    led = Ledger("vc1:443", path)
    for outcome in ("error", "not-sent", "error"):
        led.dispatch(A)
        led.done(A, outcome, "task-1", fault_type="InvalidGuestLogin")
    Ledger("vc2:443", path).dispatch(A)
    entry = Ledger("vc1:443", path).load().get(A)
    assert entry is not None and (entry.attempts, entry.failures, entry.open) == (3, 2, False)
    assert not entry.settled and entry.outcome == "error"
    other = Ledger("vc2:443", path).load().get(A)
    assert other is not None and other.open and other.attempts == 1


def test_malformed_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    Ledger("vc1:443", path).dispatch(A)
    with path.open("a") as fh:
        fh.write('{"half": \n[1, 2]\n{"key": 5}\n\n')
    led = Ledger("vc1:443", path).load()
    assert led.skipped == 3 and led.get(A) is not None


def test_a_secret_is_never_written(tmp_path: Path) -> None:
    led = Ledger("vc1:443", tmp_path / "l.jsonl")
    with pytest.raises(TypeError, match="never written"):
        led.done(A, "error", reason=Secret("hunter2"))
    assert (
        not (tmp_path / "l.jsonl").exists() or "hunter2" not in (tmp_path / "l.jsonl").read_text()
    )


def test_default_location_is_the_state_dir() -> None:
    assert Ledger("vc").path == paths.state_dir() / "watch-ledger.jsonl"
