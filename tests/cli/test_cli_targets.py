"""In-process tests of the several-vCenters pieces (``tui.commands.targets``) and of failure paths
the simulators cannot produce across vCenters (one run lost, a bug in one leg)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli_units import FakeClient, FakeRun, ev
from tui import cli as cli_module
from tui.commands import session
from tui.commands.base import UsageError
from tui.commands.targets import Site, exit_code, make_sites, run_sites, together
from tui.config import paths
from tui.config.profiles import PasswordSource, Profile
from tui.vsphere.errors import ConnectError
from tui.vsphere.secret import Secret


def prof(name: str) -> Profile:
    return Profile(
        name=name, host=f"vc.{name}", username="u", password_source=PasswordSource("env")
    )


def sites_of(*names: str) -> list[Site]:
    out = make_sites([prof(n) for n in names])
    for s in out:
        s.password = Secret("x")
    return out


def test_exit_code_rules() -> None:
    a, b = sites_of("a", "b")
    assert exit_code([a, b]) == 0 and exit_code([a, b], 1) == 1
    b.error = "profile 'b': down"
    assert exit_code([a, b]) == 1 and exit_code([a, b], 130) == 130
    a.error = "profile 'a': down"
    assert exit_code([a, b]) == 2


def test_together_raises_the_error_itself_and_cancels_the_rest() -> None:
    cancelled: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    async def broken() -> None:
        await asyncio.sleep(0.01)
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError):
        asyncio.run(together([slow(), broken()]))
    assert cancelled == ["slow"]


def test_a_failing_site_is_one_line_and_the_only_one_is_the_command_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = sites_of("a", "b")
    a.fail(ConnectError("cannot connect to vc.a:443: refused"))
    assert a.error == "profile 'a': cannot connect to vc.a:443: refused"
    assert capsys.readouterr().err == "guestnet: profile 'a': cannot connect to vc.a:443: refused\n"
    assert b.error is None
    (solo,) = sites_of("only")
    with pytest.raises(UsageError, match=r"^profile 'only': cannot connect$"):
        solo.fail(ConnectError("cannot connect"))


def test_run_sites_logs_in_concurrently_and_out_of_every_site(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clients: dict[str, FakeClient] = {}

    async def connect(profile: Profile, password: Secret) -> FakeClient:
        await asyncio.sleep(0.5)
        if profile.name == "down":
            raise ConnectError(f"cannot connect to {profile.host}:443: refused")
        clients[profile.name] = FakeClient(FakeRun([], None))
        return clients[profile.name]

    monkeypatch.setattr(session, "connect", connect)
    sites = sites_of("a", "b", "c", "down")

    async def work(up: list[Site]) -> list[str]:
        raise RuntimeError(",".join(s.name for s in up))

    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^a,b,c$"):
        run_sites(sites, work)
    assert time.monotonic() - start < 1.4  # four logins of 0.5 s each, at once
    assert all(c.closed for c in clients.values()) and len(clients) == 3
    assert capsys.readouterr().err == (
        "guestnet: profile 'down': cannot connect to vc.down:443: refused\n"
    )
    assert exit_code(sites) == 1


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GUESTNET_NO_TTY", "1")
    monkeypatch.setenv("GUESTNET_GUEST_PASSWORD", "g")
    monkeypatch.setenv("PW", "x")
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        "profiles:\n"
        "  a: {host: vc.a, username: admin, password_env: PW, guest_username: root}\n"
        "  b: {host: vc.b, username: admin, password_env: PW, guest_username: root}\n"
        "groups:\n  both: [a, b]\n"
    )
    yield cfg
    paths.use_profiles_file(None)


def use_clients(monkeypatch: pytest.MonkeyPatch, clients: dict[str, FakeClient]) -> None:
    async def connect(profile: Profile, password: Any) -> FakeClient:
        return clients[profile.name]

    monkeypatch.setattr(session, "connect", connect)


def start(cfg: Path) -> int:
    args = ["start-network", "--verify-timeout", "0", "--config", str(cfg), "--profile", "both"]
    return cli_module.main([*args, "--vm", "web-0*", "--json"])


def test_one_run_lost_the_other_finishes(
    two: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = [ev("succeeded", task="task-1"), ev("succeeded", name="web-02", task="task-2")]
    lost = [ev("started", task="task-7")]
    clients = {
        "a": FakeClient(FakeRun(good, None)),
        "b": FakeClient(FakeRun(lost, ConnectError("connection to vc.b:443 lost"))),
    }
    use_clients(monkeypatch, clients)
    assert start(two) == 1
    out, err = capsys.readouterr()
    rows = {(r["vcenter"], r["vm"]): r for r in map(json.loads, out.splitlines())}
    assert {k: r["state"] for k, r in rows.items()} == {
        ("a", "web-01"): "succeeded",
        ("a", "web-02"): "succeeded",
        ("b", "web-01"): "failed",
        ("b", "web-02"): "failed",
    }
    lost_row = rows[("b", "web-01")]
    assert lost_row["fault_message"] == "lost track of the task: connection to vc.b:443 lost"
    assert err.splitlines()[-1] == "guestnet: profile 'b': connection to vc.b:443 lost"
    assert all(c.closed for c in clients.values())
    records = [json.loads(x) for x in paths.audit_file().read_text().splitlines()]
    assert [(r["profile"], r["outcome"]) for r in records] == [
        ("a", "started"),
        ("b", "started"),
        ("a", "succeeded"),
        ("b", "error"),
    ]


def test_a_bug_in_one_leg_is_an_internal_error_after_the_results(
    two: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = {
        "a": FakeClient(FakeRun([ev("succeeded", task="task-1")], None)),
        "b": FakeClient(FakeRun([], ZeroDivisionError("boom"))),
    }
    use_clients(monkeypatch, clients)
    assert start(two) == 2
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 4  # every VM has its row
    assert err.splitlines()[-1] == (
        "guestnet: internal error (ZeroDivisionError); set GUESTNET_DEBUG=1 for details"
    )
    assert all(c.closed for c in clients.values())
