"""Each password source, the govc environment (incl. known_hosts), and secret hygiene, driven
through the real console script against the simulator over HTTPS."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import CLI
from tests.cli.test_cli_sim import GUEST_PASSWORD, VC_PASSWORD, jsonl, profile_text, start_sim
from tui.sim.server import SimServer


@pytest.fixture(scope="module")
def vc() -> Iterator[SimServer]:
    server = start_sim()
    yield server
    server.stop()


def head(vc: SimServer) -> str:
    return (
        "profiles:\n  p:\n    host: 127.0.0.1\n"
        f"    port: {vc.port}\n    username: {vc.username}\n    ca_file: {vc.ca_file}\n"
    )


def listed(cli: CLI, *args: str, env: dict[str, str] | None = None) -> list[str]:
    r = cli.run("list", "--json", "--filter", "web-0*", *args, env=env)
    assert r.code == 0, r
    return [v["name"] for v in json.loads(r.out)]


WEB = ["web-01", "web-02", "web-03"]


def test_password_file(cli: CLI, vc: SimServer) -> None:
    (cli.config_dir).mkdir(parents=True)
    (cli.config_dir / "vc.pw").write_text(VC_PASSWORD + "\n")
    cli.write_profiles(head(vc) + "    password_file: vc.pw\n")
    assert listed(cli) == WEB


def test_password_command(cli: CLI, vc: SimServer, tmp_path: Path) -> None:
    script = tmp_path / "pw.py"
    script.write_text(f"print({VC_PASSWORD!r})\n")
    cli.write_profiles(head(vc) + f"    password_command: ['{sys.executable}', '{script}']\n")
    assert listed(cli) == WEB
    script.write_text("import sys\nsys.exit(4)\n")
    r = cli.run("list")
    assert r.code == 2
    assert r.err.endswith(f"password_command {sys.executable!r} exited with status 4\n")


def test_inline_password_needs_private_file(cli: CLI, vc: SimServer) -> None:
    path = cli.write_profiles(head(vc) + f"    password: '{VC_PASSWORD}'\n", mode=0o600)
    assert listed(cli) == WEB
    path.chmod(0o644)
    r = cli.run("list")
    assert r.code == 2
    assert r.err == (
        f"guestnet: {path}:7: profile 'p': plaintext 'password' refused: the file is readable by "
        f"others (mode 0644); run 'chmod 600 {path}' or use password_env, password_file or "
        "password_command\n"
    )


def govc(vc: SimServer, **extra: str) -> dict[str, str]:
    env = {"GOVC_URL": f"https://127.0.0.1:{vc.port}/sdk", "GOVC_USERNAME": vc.username}
    env.update(extra)
    return env


def test_govc_password_value_file_and_url(cli: CLI, vc: SimServer, tmp_path: Path) -> None:
    ca = {"GOVC_TLS_CA_CERTS": vc.ca_file}
    assert listed(cli, env=govc(vc, GOVC_PASSWORD=VC_PASSWORD, **ca)) == WEB
    pwfile = tmp_path / "govc.pw"
    pwfile.write_text(VC_PASSWORD + "\n")
    assert listed(cli, env=govc(vc, GOVC_PASSWORD=str(pwfile), **ca)) == WEB
    user = vc.username.replace("@", "%40")
    url = {"GOVC_URL": f"{user}:{VC_PASSWORD}@127.0.0.1:{vc.port}", **ca}
    assert listed(cli, env=url) == WEB
    r = cli.run("profiles", "--json", env=url)
    (p,) = json.loads(r.out)
    assert (p["name"], p["username"], p["tls_mode"]) == ("govc-env", vc.username, "ca-file")


def test_govc_tls_modes_and_known_hosts(cli: CLI, vc: SimServer, tmp_path: Path) -> None:
    env = govc(vc, GOVC_PASSWORD=VC_PASSWORD)
    r = cli.run("list", env=env)  # system CAs do not know the simulator's CA
    assert r.code == 2
    assert r.err.endswith("run: guestnet profiles trust govc-env\n")
    assert listed(cli, env=dict(env, GOVC_INSECURE="1")) == WEB
    kh = tmp_path / "known_hosts"
    kh.write_text(f"127.0.0.1:{vc.port} {vc.thumbprint_sha1}\n")  # govc writes SHA-1 or SHA-256
    env["GOVC_TLS_KNOWN_HOSTS"] = str(kh)
    assert listed(cli, env=env) == WEB
    r = cli.run("profiles", "check", "govc-env", "--json", env=env)
    assert json.loads(r.out)["tls_mode"] == "pinned"
    kh.write_text(f"127.0.0.1:{vc.port} {':'.join(['AB'] * 32)}\n")
    assert cli.run("list", env=env).code == 2
    # trust rewrites the known_hosts entry; then it works again
    r = cli.run("profiles", "trust", "govc-env", "--yes", env=env)
    assert r.code == 0, r
    assert kh.read_text() == f"127.0.0.1:{vc.port} {vc.thumbprint_sha256}\n"
    assert listed(cli, env=env) == WEB


def test_govc_datacenter_folder_root(cli: CLI, vc: SimServer) -> None:
    env = govc(vc, GOVC_PASSWORD=VC_PASSWORD, GOVC_TLS_CA_CERTS=vc.ca_file)
    env.update(GOVC_DATACENTER="DC1", GOVC_FOLDER="other")
    r = cli.run("list", "--json", env=env)
    assert [v["name"] for v in json.loads(r.out)] == ["db-01"]


def test_govc_guest_login_drives_start_network(cli: CLI, vc: SimServer) -> None:
    env = govc(vc, GOVC_PASSWORD=VC_PASSWORD, GOVC_TLS_CA_CERTS=vc.ca_file)
    env["GOVC_GUEST_LOGIN"] = f"root:{GUEST_PASSWORD}"
    r = cli.run("start-network", "--verify-timeout", "0", "--vm", "db-01", "--json", env=env)
    assert r.code == 0, r
    assert [x["state"] for x in jsonl(r.out)] == ["succeeded"]
    env["GOVC_GUEST_LOGIN"] = "nobody:wrong"
    r = cli.run("start-network", "--verify-timeout", "0", "--vm", "db-01", "--json", env=env)
    assert r.code == 1 and jsonl(r.out)[0]["fault_type"] == "InvalidGuestLogin"
    assert "2 VM(s)" not in r.err and "guest user nobody" in r.err


RECORDER = """\
import os, sys, json
with open({log!r}, "a") as fh:
    with open(f"/proc/{{os.getppid()}}/cmdline", "rb") as c:
        parent = c.read().decode("utf-8", "replace").split("\\0")
    fh.write(json.dumps({{"argv": sys.argv, "parent_argv": parent}}) + "\\n")
with open({secret!r}) as s:
    print(s.read().strip())
"""


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_secret_hygiene(cli: CLI, vc: SimServer, tmp_path: Path) -> None:
    """Distinctive passwords through every flow: never in any output byte, any file under the
    home/config/state dirs, or any child or parent process argv."""
    secrets_dir = tmp_path / "secrets"  # outside the guestnet home
    secrets_dir.mkdir()
    vc_file = secrets_dir / "vc"
    vc_file.write_text(VC_PASSWORD)
    log = secrets_dir / "argv.jsonl"
    recorder = secrets_dir / "recorder.py"
    recorder.write_text(RECORDER.format(log=str(log), secret=str(vc_file)))
    cli.write_profiles(
        profile_text(vc).replace(
            "    password_env: SIM_VC_PW\n",
            f"    password_command: ['{sys.executable}', '{recorder}', '--for', 'vc']\n",
        )
    )
    wrong_guest = "Wrong-Guest-Okapi-7731"
    env = {"GUESTNET_GUEST_PASSWORD": GUEST_PASSWORD}
    runs = [
        (("profiles",), 0),
        (("profiles", "--json"), 0),
        (("profiles", "check", "sim"), 0),
        (("profiles", "check", "sim", "--json"), 0),
        (("list",), 0),
        (("list", "--json"), 0),
        (("start-network", "--verify-timeout", "0", "--vm", "web-0*", "off-01"), 1),
        (("start-network", "--verify-timeout", "0", "--vm", "web-01", "badlogin-01", "--json"), 1),
        (("start-network", "--verify-timeout", "0", "--vm", "nothing-*"), 2),
        (("audit",), 0),
        (("audit", "--json"), 0),
    ]
    for args, code in runs:
        assert cli.run(*args, env=env).code == code
    r = cli.run(
        "start-network",
        "--verify-timeout",
        "0",
        "--vm",
        "web-02",
        env={"GUESTNET_GUEST_PASSWORD": wrong_guest},
    )
    assert r.code == 1
    # govc flows: password in the URL, guest login in GOVC_GUEST_LOGIN
    user = vc.username.replace("@", "%40")
    govc_env = {
        "GOVC_URL": f"https://{user}:{VC_PASSWORD}@127.0.0.1:{vc.port}/sdk",
        "GOVC_TLS_CA_CERTS": vc.ca_file,
        "GOVC_GUEST_LOGIN": f"root:{GUEST_PASSWORD}",
        "GUESTNET_PROFILE": "govc-env",
    }
    assert cli.run("profiles", "--json", env=govc_env).code == 0
    assert (
        cli.run(
            "start-network", "--verify-timeout", "0", "--vm", "web-03", "--json", env=govc_env
        ).code
        == 0
    )
    # a wrong vCenter password reported as a login failure
    vc_file.write_text("Vc-Wrong-Pangolin-3301")
    assert cli.run("list").code == 2
    vc_file.write_text(VC_PASSWORD)

    needles = [VC_PASSWORD, GUEST_PASSWORD, wrong_guest, "Vc-Wrong-Pangolin-3301"]
    output = cli.all_output()
    assert output  # the flows did print things
    for needle in needles:
        assert needle.encode() not in output, needle
    files = list(cli.all_files())
    assert cli.audit_file in files and any(p.name == "profiles.yaml" for p in files)
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, (needle, path)
    records = jsonl(log.read_text())
    assert len(records) >= 8  # the command ran once per vCenter connection
    for rec in records:
        assert rec["argv"] == [str(recorder), "--for", "vc"]
        assert any("guestnet" in a for a in rec["parent_argv"])
        for needle in needles:
            assert not any(needle in a for a in rec["argv"] + rec["parent_argv"]), needle
    audit_text = cli.audit_file.read_text()
    assert '"action":"start-network"' in audit_text and '"outcome":"succeeded"' in audit_text
