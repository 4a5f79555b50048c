"""In-process tests of the CLI's pieces, and failure paths the simulator cannot produce
(connection lost mid-run, a run that ends early, an unwritable audit log)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tui import cli as cli_module
from tui.commands import session
from tui.commands.output import table
from tui.commands.progress import Progress
from tui.commands.selection import select_vms
from tui.config import paths
from tui.vsphere.eligibility import HINTS, Ineligible, check
from tui.vsphere.errors import ConnectError
from tui.vsphere.models import VM, Fault, TaskEvent


def vm(name: str, folder: str = "/DC/vm/a", **kw: Any) -> VM:
    base: dict[str, Any] = {
        "power_state": "poweredOn",
        "connection_state": "connected",
        "tools_running_status": "guestToolsRunning",
        "guest_operations_ready": True,
    }
    base.update(kw)
    return VM(moid=f"vm-{name}", name=name, path=f"{folder}/{name}", folder=folder, **base)


def test_select_vms() -> None:
    vms = [vm("web-01"), vm("web-02"), vm("db-01", "/DC/vm/b"), vm("web-01x", "/DC/vm/b")]
    chosen, unmatched = select_vms(vms, ["web-0?", "/DC/vm/b/*", "web-01", "nope"])
    assert [v.name for v in chosen] == ["web-01", "web-02", "db-01", "web-01x"]
    assert unmatched == ["nope"]
    chosen, _ = select_vms(vms, ["*/a/*"])
    assert [v.name for v in chosen] == ["web-01", "web-02"]
    chosen, _ = select_vms(vms, ["WEB-01"])  # case-sensitive, like vSphere names
    assert chosen == []


def test_preflight_reasons() -> None:
    assert check(vm("a")) is None
    assert check(vm("a", connection_state=None)) is None  # unknown host state is not held against
    assert check(vm("a", power_state="poweredOff")) == Ineligible(
        "power", "not poweredOn (poweredOff)", HINTS["power"]
    )
    assert check(vm("a", power_state=None)) == Ineligible(
        "power", "not poweredOn (unknown)", HINTS["power"]
    )
    assert check(vm("a", connection_state="disconnected")) == Ineligible(
        "connection", "host connection disconnected", HINTS["connection"]
    )
    assert check(vm("a", tools_running_status="guestToolsNotRunning")) == Ineligible(
        "tools", "tools not running (guestToolsNotRunning)", HINTS["tools"]
    )
    assert check(vm("a", tools_running_status=None)) == Ineligible(
        "tools", "tools not running (unknown)", HINTS["tools"]
    )
    assert check(vm("a", guest_operations_ready=False)) == Ineligible(
        "guestops", "guest operations not ready", HINTS["guestops"]
    )
    assert check(vm("a", guest_operations_ready=None)) == Ineligible(
        "guestops", "guest operations not ready", HINTS["guestops"]
    )


def test_preflight_checks_in_order() -> None:
    """The first failing condition is the one reported: host, power, tools, guest operations."""
    down = vm(
        "a",
        connection_state="disconnected",
        power_state="poweredOff",
        tools_running_status="guestToolsNotRunning",
        guest_operations_ready=False,
    )
    found = check(down)
    assert found is not None and found.code == "connection"
    found = check(replace(down, connection_state="connected"))
    assert found is not None and found.code == "power"
    found = check(replace(down, connection_state="connected", power_state="poweredOn"))
    assert found is not None and found.code == "tools"
    assert HINTS["power"] == "Power on the VM, then run again."


def test_table_alignment() -> None:
    assert table(["A", "LONG"], [["xyz", "1"], ["q", ""]]) == "A    LONG\nxyz  1\nq"


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def ev(state: str, name: str = "web-01", **kw: Any) -> TaskEvent:
    return TaskEvent(vm_moid=f"vm-{name}", vm_name=name, state=state, **kw)  # type: ignore[arg-type]


def test_progress_plain_lines() -> None:
    out = io.StringIO()
    p = Progress(2, out)
    p.event(ev("pending"))
    p.event(ev("started", task="task-1"))
    p.event(ev("running", task="task-1", progress=10))
    p.event(ev("running", task="task-1", progress=50))  # no new line for progress only
    p.event(ev("failed", task="task-1", fault=Fault("InvalidGuestLogin", "bad login")))
    p.close()
    assert out.getvalue().splitlines() == [
        "[0/2] web-01: pending",
        "[0/2] web-01: started task-1",
        "[0/2] web-01: running task-1",
        "[1/2] web-01: failed InvalidGuestLogin: bad login",
    ]


def test_progress_live_line_on_terminal() -> None:
    out = TTY()
    p = Progress(2, out)
    p.event(ev("running", task="task-1"))
    p.event(ev("queued", name="web-02", task="task-2"))
    p.event(ev("succeeded", task="task-1"))
    p.close()
    text = out.getvalue()
    assert "\r\x1b[K0/2 done, 1 running" in text
    assert "0/2 done, 1 running, 1 queued" in text
    assert "[1/2] web-01: succeeded\n" in text
    assert text.endswith("\r\x1b[K")  # the live line is cleared at the end


# --------------------------------------------------------------------------- fake client runs


class FakeRun:
    def __init__(self, events: list[TaskEvent], error: Exception | None) -> None:
        self.events = events
        self.error = error

    def __aiter__(self) -> AsyncIterator[TaskEvent]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[TaskEvent]:
        for e in self.events:
            yield e
        if self.error is not None:
            raise self.error

    async def cancel_queued(self) -> int:
        return 0

    async def cancel(self, moid: str) -> bool:
        return False


class FakeClient:
    host = "vc.fake"
    username = "admin"

    def __init__(self, run: FakeRun, vms: list[VM] | None = None) -> None:
        self.run = run
        self.vms = vms if vms is not None else [vm("web-01"), vm("web-02")]
        self.closed = False

    async def list_vms(self, root: str | None = None) -> list[VM]:
        return self.vms

    def start_guest_network(self, vms: Any, creds: Any, concurrency: int = 8) -> FakeRun:
        assert creds.password.reveal() == "g"
        return self.run

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # the host's GOVC_*/GUESTNET_* are gone already (tests/isolation.py)
    monkeypatch.setenv("GUESTNET_NO_TTY", "1")
    monkeypatch.setenv("GUESTNET_GUEST_PASSWORD", "g")
    monkeypatch.setenv("PW", "x")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        "profiles:\n  f: {host: vc.fake, username: admin, password_env: PW, guest_username: root}\n"
    )
    yield cfg
    paths.use_profiles_file(None)


def use_client(monkeypatch: pytest.MonkeyPatch, client: FakeClient) -> None:
    async def connect(profile: Any, password: Any) -> FakeClient:
        return client

    monkeypatch.setattr(session, "connect", connect)


def test_connection_lost_mid_run(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        ev("started", task="task-1"),
        ev("succeeded", task="task-1"),
        ev("started", name="web-02", task="task-2"),
    ]
    client = FakeClient(FakeRun(events, ConnectError("connection to vc.fake:443 lost")))
    use_client(monkeypatch, client)
    code = cli_module.main(
        [
            "start-network",
            "--verify-timeout",
            "0",
            "--config",
            str(fake_env),
            "--vm",
            "web-0*",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    rows = [json.loads(x) for x in out.splitlines()]
    assert [(r["vm"], r["state"]) for r in rows] == [("web-01", "succeeded"), ("web-02", "failed")]
    assert rows[1]["fault_type"] == "ConnectError" and rows[1]["task"] == "task-2"
    assert rows[1]["fault_message"] == "lost track of the task: connection to vc.fake:443 lost"
    assert err.splitlines()[-1] == "guestnet: profile 'f': connection to vc.fake:443 lost"
    assert client.closed
    records = [json.loads(x) for x in paths.audit_file().read_text().splitlines()]
    assert [r["outcome"] for r in records] == ["started", "error"]


def test_bug_in_the_run_is_an_internal_error_after_the_results(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-vSphere exception from the run is a bug: the results and the audit record are
    still written, then it is reported as an internal error (not as a connection problem)."""
    events = [ev("started", task="task-1"), ev("succeeded", task="task-1")]
    client = FakeClient(FakeRun(events, ZeroDivisionError("boom")))
    use_client(monkeypatch, client)
    code = cli_module.main(
        [
            "start-network",
            "--verify-timeout",
            "0",
            "--config",
            str(fake_env),
            "--vm",
            "web-0*",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    rows = [json.loads(x) for x in out.splitlines()]
    assert [(r["vm"], r["state"]) for r in rows] == [("web-01", "succeeded"), ("web-02", "failed")]
    assert err.splitlines()[-1] == (
        "guestnet: internal error (ZeroDivisionError); set GUESTNET_DEBUG=1 for details"
    )
    assert client.closed
    records = [json.loads(x) for x in paths.audit_file().read_text().splitlines()]
    assert [r["outcome"] for r in records] == ["started", "error"]


def test_run_ending_without_final_state(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_client(monkeypatch, FakeClient(FakeRun([ev("started", task="task-1")], None)))
    code = cli_module.main(
        ["start-network", "--verify-timeout", "0", "--config", str(fake_env), "--vm", "web-01"]
    )
    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[1].split(None, 3) == [
        "web-01",
        "failed",
        "task-1",
        "the run ended without a final task state",
    ]


def test_unwritable_audit_log_starts_nothing(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = FakeClient(FakeRun([], None))
    client.start_guest_network = None  # type: ignore[assignment,method-assign]
    use_client(monkeypatch, client)
    paths.audit_file().mkdir(parents=True)  # a directory where the log file should be
    code = cli_module.main(
        ["start-network", "--verify-timeout", "0", "--config", str(fake_env), "--vm", "web-01"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[-1] == (
        f"guestnet: cannot write the audit log {paths.audit_file()}: Is a directory"
    )
    assert client.closed


def test_internal_error_is_one_line(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(profile: Any, password: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(session, "connect", broken)
    assert cli_module.main(["list", "--config", str(fake_env)]) == 2
    assert capsys.readouterr().err == (
        "guestnet: internal error (ZeroDivisionError); set GUESTNET_DEBUG=1 for details\n"
    )
    monkeypatch.setenv("GUESTNET_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli_module.main(["list", "--config", str(fake_env)])


def test_long_plan_is_shortened(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    vms = [vm(f"web-{i:02}") for i in range(25)] + [
        vm(f"off-{i:02}", power_state="poweredOff") for i in range(22)
    ]
    events = [ev("succeeded", name=v.name, task=f"task-{i}") for i, v in enumerate(vms[:25])]
    use_client(monkeypatch, FakeClient(FakeRun(events, None), vms))
    code = cli_module.main(
        ["start-network", "--verify-timeout", "0", "--config", str(fake_env), "--vm", "*", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 1  # 22 skipped
    lines = err.splitlines()
    assert lines[0] == (
        "25 VM(s) to start on vc.fake as admin, guest user root, concurrency 8; 22 skipped"
    )
    assert lines[1:21] == [f"  start  web-{i:02}  (/DC/vm/a/web-{i:02})" for i in range(20)]
    assert lines[21] == "  start  … and 5 more"
    assert lines[22] == "  skip   off-00  (not poweredOn (poweredOff))"
    assert lines[42] == "  skip   … and 2 more (see the results)"
    assert len(out.splitlines()) == 47


def test_audit_failure_after_the_run_only_warns(
    fake_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.config.audit import AuditLog

    real = AuditLog.record
    calls: list[str] = []

    def flaky(self: AuditLog, **record: Any) -> dict[str, Any]:
        calls.append(record["outcome"])
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real(self, **record)

    monkeypatch.setattr(AuditLog, "record", flaky)
    use_client(monkeypatch, FakeClient(FakeRun([ev("succeeded", task="task-1")], None)))
    code = cli_module.main(
        ["start-network", "--verify-timeout", "0", "--config", str(fake_env), "--vm", "web-01"]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert calls == ["started", "succeeded"]
    assert out.splitlines()[1].split()[:2] == ["web-01", "succeeded"]
    assert err.splitlines()[-1] == (
        f"guestnet: warning: cannot write the audit log {paths.audit_file()}: "
        "No space left on device"
    )


def test_profile_option_before_or_after_the_command() -> None:
    parser = cli_module.build_parser()
    assert parser.parse_args(["--profile", "a", "list"]).profile == "a"
    assert parser.parse_args(["list", "--profile", "b"]).profile == "b"
    assert parser.parse_args(["start-network", "--vm", "x"]).profile is None
    assert parser.parse_args(["--config", "f", "start-network", "--vm", "x"]).config == "f"
    assert parser.parse_args(["start-network", "--config", "g", "--vm", "x"]).config == "g"
    assert not hasattr(parser.parse_args(["list"]), "config")
