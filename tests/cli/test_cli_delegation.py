"""`guestnet sim …`, `guestnet demo …` and plain `guestnet` hand over to their modules."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CLI, GUESTNET
from tui import cli as cli_module


def test_guestnet_sim_profile_out_works_with_list(cli: CLI) -> None:
    """The real simulator started through `guestnet sim`, and its --profile-out file used as is."""
    out_file = cli.home / "sim-profiles.yaml"
    proc = subprocess.Popen(
        [
            str(GUESTNET),
            "sim",
            "--port",
            "0",
            "--vms",
            "5",
            "--profile-out",
            str(out_file),
            "--quiet",
        ],
        env=cli.env,
        cwd=cli.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["url"].startswith("https://127.0.0.1:")
        r = cli.run("list", "--config", str(out_file), "--json")
        assert r.code == 0, r
        assert len(json.loads(r.out)) == 5
        r = cli.run("profiles", "check", "sim", "--config", str(out_file), "--json")
        assert r.code == 0, r
        assert json.loads(r.out)["thumbprint_sha256"] == info["thumbprint_sha256"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_sim_and_demo_argv_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any]] = []

    def sim_main(argv: list[str]) -> int:
        calls.append(("sim", argv))
        return 0

    def demo_main(argv: list[str]) -> int:
        calls.append(("demo", argv))
        return 3

    sim_cli = types.ModuleType("tui.sim.cli")
    sim_cli.main = sim_main  # type: ignore[attr-defined]
    demo = types.ModuleType("tui.ui.demo")
    demo.main = demo_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tui.sim.cli", sim_cli)
    monkeypatch.setitem(sys.modules, "tui.ui.demo", demo)
    assert cli_module.main(["sim", "--vms", "7", "--help"]) == 0
    assert cli_module.main(["demo", "--vms", "9"]) == 3
    assert calls == [("sim", ["--vms", "7", "--help"]), ("demo", ["--vms", "9"])]


def test_plain_guestnet_runs_the_ui(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[Path | None, list[str]]] = []

    def run(config: Path | None, profiles: list[str]) -> int:
        calls.append((config, profiles))
        return 0

    app = types.ModuleType("tui.ui.app")
    app.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tui.ui.app", app)
    cfg = tmp_path / "p.yaml"
    try:
        assert cli_module.main([]) == 0
        assert cli_module.main(["--config", str(cfg), "--profile", "lab"]) == 0
        assert cli_module.main(["--profile", "lab", "--profile", "sites"]) == 0
    finally:
        from tui.config import paths

        paths.use_profiles_file(None)
    assert calls == [(None, []), (cfg, ["lab"]), (None, ["lab", "sites"])]
