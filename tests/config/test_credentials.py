"""Password sources and guest credentials from the environment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tui.config.credentials import guest_login_from_env, password_needs_prompt, resolve_password
from tui.config.profiles import ProfileError, load_profiles
from tui.vsphere.secret import Secret


def profile(tmp_path: Path, extra: str, mode: int = 0o600):
    path = tmp_path / "profiles.yaml"
    path.write_text("profiles:\n  lab:\n    host: vc\n    username: u\n" + extra)
    path.chmod(mode)
    return load_profiles(path, env={})["lab"]


def where(tmp_path: Path) -> str:
    return f"{tmp_path / 'profiles.yaml'}:2: profile 'lab': "


def test_env_source(tmp_path: Path) -> None:
    p = profile(tmp_path, "    password_env: LAB_PW\n")
    assert not password_needs_prompt(p)
    assert resolve_password(p, env={"LAB_PW": "Env-Heron-4"}) == Secret("Env-Heron-4")
    with pytest.raises(ProfileError) as info:
        resolve_password(p, env={})
    assert str(info.value) == where(tmp_path) + "password_env: the variable LAB_PW is not set"
    with pytest.raises(ProfileError) as info:
        resolve_password(p, env={"LAB_PW": ""})
    assert str(info.value) == where(tmp_path) + "password_env: the variable LAB_PW is empty"


def test_file_source(tmp_path: Path) -> None:
    pw = tmp_path / "pw.txt"
    pw.write_text("File-Ibis-5\nsecond line\n")
    p = profile(tmp_path, "    password_file: pw.txt\n")
    assert resolve_password(p) == Secret("File-Ibis-5")
    pw.write_text("\n")
    with pytest.raises(ProfileError) as info:
        resolve_password(p)
    assert str(info.value) == where(tmp_path) + (
        f"password_file {pw} is empty (the password is its first line)"
    )
    pw.unlink()
    with pytest.raises(ProfileError) as info:
        resolve_password(p)
    assert str(info.value) == where(tmp_path) + f"password_file {pw} does not exist"
    pw.mkdir()
    with pytest.raises(ProfileError, match="is a directory"):
        resolve_password(p)


def test_file_source_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_bytes(b"\xff\xfe")
    p = profile(tmp_path, "    password_file: pw.txt\n")
    with pytest.raises(ProfileError, match="is not UTF-8 text"):
        resolve_password(p)


def _cmd(tmp_path: Path, body: str) -> str:
    script = tmp_path / "pwcmd.py"
    script.write_text(body)
    return f"    password_command: ['{sys.executable}', '{script}']\n"


def test_command_source(tmp_path: Path) -> None:
    p = profile(tmp_path, _cmd(tmp_path, "print('Cmd-Jackal-6')\nprint('ignored')\n"))
    assert resolve_password(p) == Secret("Cmd-Jackal-6")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("import sys; sys.exit(3)", "exited with status 3"),
        ("print('')", "printed nothing on its first line"),
        ("import sys; sys.stdout.buffer.write(b'\\xff\\n')", "printed non-UTF-8 output"),
        ("import time; time.sleep(5)", "timed out after 1 s"),
    ],
)
def test_command_failures(tmp_path: Path, body: str, message: str) -> None:
    p = profile(tmp_path, _cmd(tmp_path, body) + "    password_command_timeout: 1\n")
    with pytest.raises(ProfileError) as info:
        resolve_password(p)
    assert str(info.value) == where(tmp_path) + f"password_command {sys.executable!r} {message}"


def test_command_not_found(tmp_path: Path) -> None:
    p = profile(tmp_path, "    password_command: [/nonexistent/pw-helper, x]\n")
    with pytest.raises(ProfileError) as info:
        resolve_password(p)
    assert str(info.value) == where(tmp_path) + (
        "password_command: '/nonexistent/pw-helper' not found"
    )


def test_command_runs_without_shell(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    # with a shell, '; touch marker' would run; without one it is just an argument to echo
    p = profile(tmp_path, f"    password_command: [echo, 'x; touch {marker}']\n")
    assert resolve_password(p) == Secret(f"x; touch {marker}")
    assert not marker.exists()


def test_inline_source(tmp_path: Path) -> None:
    p = profile(tmp_path, "    password: Inline-Kudu-7\n")
    assert resolve_password(p) == Secret("Inline-Kudu-7")


def test_prompt_source(tmp_path: Path) -> None:
    p = profile(tmp_path, "")
    assert password_needs_prompt(p)
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "Typed-Lemur-8"

    assert resolve_password(p, prompt) == Secret("Typed-Lemur-8")
    assert asked == ["vCenter password for u@vc: "]
    with pytest.raises(ProfileError) as info:
        resolve_password(p, None)
    assert str(info.value) == where(tmp_path) + (
        "no password source and no terminal to prompt on: set password_env, password_file or "
        "password_command in the profile"
    )
    with pytest.raises(ProfileError, match="no password entered"):
        resolve_password(p, lambda _t: "")


def test_govc_password_value_or_file(tmp_path: Path) -> None:
    env = {"GOVC_URL": "u@vc", "GOVC_PASSWORD": "Govc-Mole-9"}
    p = load_profiles(None, env=env)["govc-env"]
    assert resolve_password(p, env=env) == Secret("Govc-Mole-9")
    f = tmp_path / "govcpw"
    f.write_text("  Govc-File-10 \n")
    env["GOVC_PASSWORD"] = str(f)
    assert resolve_password(p, env=env) == Secret("Govc-File-10")
    f.write_text("\n")
    with pytest.raises(ProfileError) as info:
        resolve_password(p, env=env)
    assert str(info.value) == "GOVC_URL: profile 'govc-env': GOVC_PASSWORD names an empty file"
    with pytest.raises(ProfileError, match="GOVC_PASSWORD is not set any more"):
        resolve_password(p, env={})


def test_guest_login_from_env() -> None:
    assert guest_login_from_env({}) is None
    assert guest_login_from_env({"GOVC_GUEST_LOGIN": "root:a:b"}) == ("root", Secret("a:b"))
    assert guest_login_from_env({"GOVC_GUEST_LOGIN": "root"}) == ("root", None)
    assert guest_login_from_env({"GOVC_GUEST_LOGIN": "root:"}) == ("root", None)
    assert guest_login_from_env({"GUESTNET_GUEST_PASSWORD": "g"}) == ("", Secret("g"))
    both = {"GOVC_GUEST_LOGIN": "admin:x", "GUESTNET_GUEST_PASSWORD": "y"}
    assert guest_login_from_env(both) == ("admin", Secret("y"))
