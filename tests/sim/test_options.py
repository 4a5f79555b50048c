"""The simulator's options: one definition (``SimOptions``) behind the CLI, SimServer and docs."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from tui.sim.cli import CLI_ONLY, build_parser, cli_fields, options_table
from tui.sim.errors import SimError
from tui.sim.options import SimOptions, option_of
from tui.sim.server import SimServer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def test_docs_options_table_is_made_from_the_definition() -> None:
    table = options_table()
    assert table in DOCS.read_text(encoding="utf-8"), (
        "docs/simulator.md: replace the options table with\n" + table
    )
    for f in fields(SimOptions):
        assert f"| `{f.name}` |" in table, f.name


def test_every_cli_flag_comes_from_the_definition() -> None:
    flags = {
        s
        for action in build_parser()._actions
        for s in action.option_strings
        if s not in ("-h", "--help")
    }
    defined = {option_of(f).flag for f in cli_fields()} | {m.flag for _, m in CLI_ONLY}
    assert flags == defined
    table = options_table()
    for flag in flags:
        assert f"| `{flag}" in table, flag


def test_cli_arguments_become_the_simserver_keywords() -> None:
    args = build_parser().parse_args(
        [
            "--task-seconds",
            "2.5",
            "--no-hello",
            "--no-tls",
            "--vms",
            "7",
            "--recent-task-seconds",
            "9",
        ]
    )
    opts = SimOptions(**{f.name: getattr(args, f.name) for f in cli_fields()})
    assert (opts.task_seconds, opts.hello, opts.tls, opts.vms, opts.recent_task_seconds) == (
        2.5,
        False,
        False,
        7,
        9.0,
    )
    defaults = build_parser().parse_args([])
    assert SimOptions(**{f.name: getattr(defaults, f.name) for f in cli_fields()}) == SimOptions()


def test_bounds_are_one_rule_for_cli_and_simserver() -> None:
    with pytest.raises(SimError, match=r"^latency_ms must be between 0 and 600000, got 600001$"):
        SimServer(latency_ms=600_001)
    with pytest.raises(SimError, match=r"^recent_task_seconds must be between 0 and 86400"):
        SimServer(recent_task_seconds=-1)
    with pytest.raises(SimError, match=r"^vms must be between 0 and 1000000, got -1$"):
        SimServer(vms=-1)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--latency-ms", "600001"])
    with pytest.raises(TypeError, match="bogus"):
        SimServer(bogus=1)


def test_passwords_stay_out_of_the_repr() -> None:
    text = repr(SimOptions(vc_password="s3cret-vc", extra_users={"o@x": "s3cret-extra"}))
    assert "s3cret" not in text and "VMware1!" not in text and "guest-secret" not in text
