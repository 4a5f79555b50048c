"""Profile groups through the console script, without a vCenter: listed, validated, refused."""

from __future__ import annotations

import json

from tests.cli.conftest import CLI
from tests.cli.test_cli_offline import LAB

GROUPED = LAB + "groups:\n  sites: [prod, lab]\n  labs:\n    - lab\n"


def test_profiles_lists_groups(cli: CLI) -> None:
    path = cli.write_profiles(GROUPED)
    r = cli.run("profiles")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert [ln.split()[0] for ln in lines[:3]] == ["NAME", "lab", "prod"]
    assert lines[3] == ""
    assert lines[4].split() == ["GROUP", "PROFILES", "SOURCE"]
    assert lines[5].split() == ["sites", "prod,", "lab", f"{path}:16"]
    assert lines[6].split() == ["labs", "lab", f"{path}:17"]
    r = cli.run("profiles", "--json")
    data = json.loads(r.out)
    assert [(d.get("kind", "profile"), d["name"]) for d in data] == [
        ("profile", "lab"),
        ("profile", "prod"),
        ("group", "sites"),
        ("group", "labs"),
    ]
    assert data[2] == {
        "kind": "group",
        "name": "sites",
        "profiles": ["prod", "lab"],
        "source": str(path),
        "line": 16,
    }
    # without groups, the output is as it was
    cli.write_profiles(LAB)
    assert "GROUP" not in cli.run("profiles").out
    assert all("kind" not in d for d in json.loads(cli.run("profiles", "--json").out))


def test_broken_groups_are_one_line_exit_2(cli: CLI) -> None:
    from tests.config.test_groups import CASES, PROFILES

    wanted = {"unknown-profile", "empty-list", "collides-with-profile", "duplicate-member"}
    cases = [c for c in CASES if c[0] in wanted]
    assert len(cases) == len(wanted)
    for i, (_name, groups, expected) in enumerate(cases):
        path = cli.write_profiles(PROFILES + groups)
        r = cli.run("list", "--profile", "lab") if i % 2 else cli.run("profiles")
        assert (r.code, r.out, r.err) == (2, "", f"guestnet: {path}:{expected}\n")


def test_read_only_group_is_refused_before_connecting(cli: CLI) -> None:
    cli.write_profiles(LAB + "groups:\n  ro: [prod]\n")
    r = cli.run("start-network", "--profile", "ro", "--vm", "web-*", "--yes")
    assert (r.code, r.err) == (2, "guestnet: profile 'prod' is read_only: start-network refused\n")
    assert json.loads(cli.audit_file.read_text())["outcome"] == "refused"


def test_guest_problems_name_the_profile_with_several(cli: CLI) -> None:
    text = "profiles:\n  a: {host: vc.a, username: u, guest_username: root}\n"
    text += "  b: {host: vc.b, username: u}\n"
    cli.write_profiles(text)
    env = {"GUESTNET_GUEST_PASSWORD": "g"}
    r = cli.run("start-network", "--profile", "a", "--profile", "b", "--vm", "x", env=env)
    assert (r.code, r.err) == (
        2,
        "guestnet: profile 'b': no guest user: pass --guest-user USER, set guest_username in the "
        "profile, or set GOVC_GUEST_LOGIN=user:password\n",
    )
    r = cli.run(
        "start-network", "--profile", "a", "--vm", "x", "--guest-password-per-vcenter", env=env
    )
    assert (r.code, r.err) == (
        2,
        "guestnet: --guest-password-per-vcenter: no terminal to prompt on\n",
    )


def test_profile_option_repeats_before_and_after_the_command() -> None:
    from tui import cli as cli_module
    from tui.commands.session import profile_names

    parser = cli_module.build_parser()
    ns = parser.parse_args(["--profile", "a", "--profile", "b", "list", "--profile", "c"])
    assert profile_names(ns) == ["a", "b", "c"] and ns.profile == "c"
    ns = parser.parse_args(["start-network", "--profile", "x", "--profile", "y", "--vm", "v"])
    assert profile_names(ns) == ["x", "y"]
    assert profile_names(parser.parse_args(["list"])) == []
