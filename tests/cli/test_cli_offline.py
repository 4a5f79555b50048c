"""The console script without a vCenter: help, usage errors, profiles, audit, refusals."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.conftest import CLI, GUESTNET

LAB = """\
# lab and prod
profiles:
  lab:
    host: vc.lab.example
    username: admin@vsphere.local
    password_env: LAB_PW
    guest_username: root
  prod:
    host: vc.prod.example
    port: 8443
    username: ops
    password_command: [pass, show, vc/prod]
    thumbprint: "{tp}"
    read_only: true
""".format(tp=":".join(["AB"] * 32))


def test_help_and_version(cli: CLI) -> None:
    r = cli.run("--help")
    assert r.code == 0
    for word in ("profiles", "list", "start-network", "audit", "sim", "demo", "Exit codes"):
        assert word in r.out
    for sub in ("profiles", "list", "start-network", "audit"):
        assert cli.run(sub, "--help").code == 0
    assert "--vms-from" in cli.run("start-network", "--help").out
    r = cli.run("--version")
    assert (r.code, r.out) == (0, "guestnet 0.1.0\n")


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import contextlib, io, sys, tui.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = tui.cli.main(['--help'])\n"
        "heavy = ('httpx', 'textual', 'ruamel', 'yaml', 'asyncio', 'ssl', 'tui.vsphere.client',\n"
        "         'dataclasses')  # dataclasses imports inspect: ~10 ms\n"
        "print(code, [m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"


def test_python_m_tui(cli: CLI) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, env=cli.env
    )
    assert (r.returncode, r.stdout) == (0, "guestnet 0.1.0\n")
    assert GUESTNET.exists()


def test_usage_errors_are_one_line_exit_2(cli: CLI) -> None:
    r = cli.run("list", "--power", "on")
    assert r.code == 2
    assert r.err == (
        "guestnet list: error: argument --power: invalid choice: 'on' (choose from 'poweredOn', "
        "'poweredOff', 'suspended') (see guestnet list --help)\n"
    )
    r = cli.run("start-network", "--profile", "lab")
    assert r.code == 2
    assert r.err == (
        "guestnet start-network: error: one of the arguments --vm --vms-from is required "
        "(see guestnet start-network --help)\n"
    )
    r = cli.run("frobnicate")
    assert r.code == 2 and r.err.count("\n") == 1 and "invalid choice: 'frobnicate'" in r.err


def test_profiles_table_and_json(cli: CLI) -> None:
    path = cli.write_profiles(LAB)
    r = cli.run("profiles")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["NAME", "HOST", "USER", "TLS", "PASSWORD", "SOURCE", "NOTES"]
    assert lines[1].split() == [
        "lab",
        "vc.lab.example",
        "admin@vsphere.local",
        "system-ca",
        "env",
        "LAB_PW",
        f"{path}:3",
    ]
    assert lines[2].split() == [
        "prod",
        "vc.prod.example:8443",
        "ops",
        "pinned",
        "command",
        "pass",
        "show",
        "vc/prod",
        f"{path}:8",
        "read-only",
    ]
    r = cli.run("profiles", "--json")
    data = json.loads(r.out)
    assert [p["name"] for p in data] == ["lab", "prod"]
    assert data[1]["tls_mode"] == "pinned" and data[1]["read_only"] is True
    assert data[0]["source"] == str(path) and data[0]["line"] == 3


def test_profiles_with_config_flag_and_env(cli: CLI) -> None:
    other = cli.home / "elsewhere.yaml"
    other.write_text("profiles:\n  x: {host: h, username: u}\n")
    assert json.loads(cli.run("profiles", "--json", "--config", str(other)).out)[0]["name"] == "x"
    assert json.loads(cli.run("--config", str(other), "profiles", "--json").out)[0]["name"] == "x"
    r = cli.run("profiles", "--json", env={"GUESTNET_CONFIG": str(other)})
    assert json.loads(r.out)[0]["name"] == "x"
    r = cli.run("profiles", "--config", str(cli.home / "missing.yaml"))
    assert (r.code, r.err) == (2, f"guestnet: {cli.home / 'missing.yaml'}: no such file\n")


def test_no_profiles(cli: CLI) -> None:
    r = cli.run("profiles")
    assert r.code == 0 and r.out == ""
    assert "no profiles: create" in r.err and "or set GOVC_URL" in r.err
    assert cli.run("profiles", "--json").out == "[]\n"
    r = cli.run("list")
    assert r.code == 2 and r.err.startswith("guestnet: no profiles: create ")


def test_broken_profile_file_one_line_exit_2(cli: CLI) -> None:
    path = cli.write_profiles("profiles:\n  lab:\n    hostname: vc\n    username: u\n")
    for args in (("profiles",), ("list", "--profile", "lab"), ("profiles", "--json")):
        r = cli.run(*args)
        assert r.code == 2
        assert r.err == (
            f"guestnet: {path}:3: profile 'lab': unknown key 'hostname' (did you mean 'host'?)\n"
        )
        assert r.out == ""


def test_unknown_and_ambiguous_profile(cli: CLI) -> None:
    cli.write_profiles(LAB)
    r = cli.run("list", "--profile", "labb")
    assert (r.code, r.err) == (2, "guestnet: unknown profile 'labb' (did you mean 'lab'?)\n")
    r = cli.run("list", "--profile", "zzz")
    assert (r.code, r.err) == (2, "guestnet: unknown profile 'zzz' (known: lab, prod)\n")
    r = cli.run("list")
    assert (r.code, r.err) == (
        2,
        "guestnet: several profiles (lab, prod): choose one with --profile NAME\n",
    )


def test_missing_password_env_is_exit_2(cli: CLI) -> None:
    path = cli.write_profiles(LAB)
    r = cli.run("list", "--profile", "lab")
    assert (r.code, r.err) == (
        2,
        f"guestnet: {path}:3: profile 'lab': password_env: the variable LAB_PW is not set\n",
    )


def test_prompt_without_terminal_is_exit_2(cli: CLI) -> None:
    path = cli.write_profiles("profiles:\n  p: {host: vc, username: u}\n")
    r = cli.run("profiles", "check", "p")
    assert r.code == 2
    assert r.err == (
        f"guestnet: {path}:2: profile 'p': no password source and no terminal to prompt on: set "
        "password_env, password_file or password_command in the profile\n"
    )


def test_read_only_profile_refuses_and_audits(cli: CLI) -> None:
    cli.write_profiles(LAB)
    r = cli.run("start-network", "--profile", "prod", "--vm", "web-*", "--yes")
    assert (r.code, r.err) == (2, "guestnet: profile 'prod' is read_only: start-network refused\n")
    entries = [json.loads(x) for x in cli.audit_file.read_text().splitlines()]
    assert len(entries) == 1
    assert entries[0]["action"] == "start-network" and entries[0]["outcome"] == "refused"
    assert entries[0]["profile"] == "prod" and entries[0]["host"] == "vc.prod.example"
    assert oct(cli.audit_file.stat().st_mode & 0o777) == "0o600"


def test_start_network_needs_guest_password_without_terminal(cli: CLI) -> None:
    cli.write_profiles(LAB)
    r = cli.run("start-network", "--profile", "lab", "--vm", "web-*", env={"LAB_PW": "x"})
    assert (r.code, r.err) == (
        2,
        "guestnet: no guest password: set GUESTNET_GUEST_PASSWORD (or "
        "GOVC_GUEST_LOGIN=user:password), or run on a terminal to be prompted\n",
    )
    r = cli.run(
        "start-network", "--profile", "prod", "--vm", "x", env={"GUESTNET_GUEST_PASSWORD": "g"}
    )
    assert r.code == 2  # read-only wins before anything else


def test_start_network_needs_guest_user(cli: CLI) -> None:
    cli.write_profiles("profiles:\n  p: {host: vc, username: u, password_env: PW}\n")
    r = cli.run("start-network", "--vm", "a", env={"GUESTNET_GUEST_PASSWORD": "g"})
    assert (r.code, r.err) == (
        2,
        "guestnet: no guest user: pass --guest-user USER, set guest_username in the profile, or "
        "set GOVC_GUEST_LOGIN=user:password\n",
    )


def test_vms_from_errors(cli: CLI) -> None:
    cli.write_profiles(LAB)
    env = {"GUESTNET_GUEST_PASSWORD": "g", "LAB_PW": "x"}
    r = cli.run("start-network", "--profile", "lab", "--vms-from", "nope.txt", env=env)
    assert (r.code, r.err) == (2, "guestnet: --vms-from nope.txt: no such file\n")
    r = cli.run("start-network", "--profile", "lab", "--vms-from", "-", env=env, stdin=b"# x\n\n")
    assert (r.code, r.err) == (2, "guestnet: --vms-from stdin: no VM names in it\n")
    r = cli.run("start-network", "--profile", "lab", "--vm", "a", "--concurrency", "0", env=env)
    assert (r.code, r.err) == (2, "guestnet: --concurrency must be from 1 to 256, got 0\n")


def test_audit_command(cli: CLI) -> None:
    r = cli.run("audit")
    assert r.code == 0 and r.out == "" and r.err.startswith("guestnet: no audit records")
    cli.write_profiles(LAB)
    cli.run("start-network", "--profile", "prod", "--vm", "x")
    r = cli.run("audit")
    assert r.code == 0
    header, row = r.out.splitlines()
    assert header.split() == [
        "TIME",
        "OS",
        "USER",
        "PROFILE",
        "VC",
        "USER",
        "ACTION",
        "OUTCOME",
        "VMS",
        "FAULTS",
    ]
    assert row.split()[3:] == ["prod", "ops", "start-network", "refused", "-", "-"]
    r = cli.run("audit", "--json", "--since", "1h")
    assert [json.loads(x)["outcome"] for x in r.out.splitlines()] == ["refused"]
    r = cli.run("audit", "--json", "--since", "2999-01-01")
    assert (r.code, r.out) == (0, "")
    r = cli.run("audit", "--since", "soon")
    assert r.code == 2 and r.err.startswith("guestnet: --since 'soon': expected a duration")
    with cli.audit_file.open("a") as fh:
        fh.write("garbage\n")
    r = cli.run("audit", "--json")
    assert r.code == 0 and len(r.out.splitlines()) == 1
    assert r.err == f"guestnet: warning: 1 malformed line(s) in {cli.audit_file} skipped\n"


def test_govc_env_profile_listed(cli: CLI) -> None:
    r = cli.run(
        "profiles",
        "--json",
        env={
            "GOVC_URL": "https://svc:Govc-Url-Secret-77@vc.govc.example/sdk",
            "GOVC_INSECURE": "1",
        },
    )
    assert r.code == 0, r
    (p,) = json.loads(r.out)
    assert (p["name"], p["host"], p["username"], p["tls_mode"]) == (
        "govc-env",
        "vc.govc.example",
        "svc",
        "insecure",
    )
    assert p["source"] == "$GOVC_URL"
    assert b"Govc-Url-Secret-77" not in r.stdout + r.stderr


def test_malformed_files_through_the_console_script(cli: CLI) -> None:
    """A sample of the in-process validation cases (tests/config) through the real script."""
    from tests.config.test_profiles_invalid import CASES

    wanted = {"yaml-syntax", "missing-host", "two-password-sources", "bad-thumbprint", "port-range"}
    cases = [c for c in CASES if c[0] in wanted]
    assert len(cases) == len(wanted)
    for i, (_name, text, expected) in enumerate(cases):
        path = cli.write_profiles(text)
        r = cli.run("list", "--profile", "lab") if i == 0 else cli.run("profiles")
        assert (r.code, r.out, r.err) == (2, "", f"guestnet: {path}:{expected}\n")
