"""UI state file and the audit log."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta

import pytest

from tui.config import paths
from tui.config.audit import AuditLog, parse_since
from tui.config.state import load_state, save_state
from tui.vsphere.secret import Secret


def test_state_roundtrip() -> None:
    assert load_state() == {}
    save_state({"theme": "nord", "last_profile": "lab", "columns": [1, 2]})
    assert load_state() == {"theme": "nord", "last_profile": "lab", "columns": [1, 2]}
    assert stat.S_IMODE(paths.state_file().stat().st_mode) == 0o600


def test_state_refuses_secrets() -> None:
    with pytest.raises(TypeError, match="a Secret cannot be saved"):
        save_state({"x": {"y": Secret("s")}})
    with pytest.raises(ValueError, match="secrets are never saved"):
        save_state({"guest_password": "s"})
    with pytest.raises(TypeError, match="is not JSON data"):
        save_state({"x": object()})
    assert not paths.state_file().exists()


def test_state_broken_file_is_ignored() -> None:
    paths.state_file().parent.mkdir(parents=True)
    paths.state_file().write_text("{not json")
    assert load_state() == {}
    paths.state_file().write_text("[1]")
    assert load_state() == {}


def test_audit_record_and_read() -> None:
    log = AuditLog()
    assert log.path == paths.audit_file()
    assert log.read().entries == []
    e = log.record(
        action="start-network",
        profile="lab",
        host="vc",
        vc_user="admin",
        vms=[("web-01", "vm-1")],
        tasks=["task-1"],
        outcome="started",
        concurrency=4,
    )
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    lines = log.path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0]) == e
    assert e["vms"] == [{"name": "web-01", "moid": "vm-1"}]
    assert e["os_user"] and e["time"].endswith("Z") and e["concurrency"] == 4
    log.record(action="cancel", outcome="requested", faults=["InvalidGuestLogin"])
    got = log.read()
    assert [x["action"] for x in got.entries] == ["start-network", "cancel"]
    assert got.skipped == 0


def test_audit_fixes_loose_mode_and_skips_bad_lines() -> None:
    log = AuditLog()
    log.path.parent.mkdir(parents=True)
    log.path.write_text('not json\n[1]\n{"time": "2020-01-01T00:00:00Z", "action": "old"}\n')
    log.path.chmod(0o644)
    log.record(action="new")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    got = log.read()
    assert got.skipped == 2
    assert [x["action"] for x in got.entries] == ["old", "new"]
    recent = log.read(since=datetime.now(UTC) - timedelta(hours=1))
    assert [x["action"] for x in recent.entries] == ["new"]


def test_audit_refuses_secrets_and_reserved_keys() -> None:
    log = AuditLog()
    with pytest.raises(TypeError, match="a Secret is never written"):
        log.record(action="x", extra={"pw": Secret("Audit-Newt-11")})
    with pytest.raises(TypeError, match="reserved field"):
        log.record(action="x", **{"time": "now"})  # type: ignore[arg-type]
    assert not log.path.exists() or "Audit-Newt-11" not in log.path.read_text()


def test_parse_since() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("1w", now) == now - timedelta(weeks=1)
    assert parse_since("2026-11-30T08:00:00Z") == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert parse_since("2026-11-30T08:00+01:00") == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert parse_since("2026-11-30").tzinfo is not None
    with pytest.raises(ValueError) as info:
        parse_since("yesterday")
    assert str(info.value) == (
        "--since 'yesterday': expected a duration like 30m, 2h, 7d, 1w or a date/time like "
        "2026-11-30 or 2026-11-30T08:00"
    )
