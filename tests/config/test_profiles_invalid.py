"""Malformed profile files: each gives exactly one line naming file:line, profile and problem."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tui.config.profiles import ProfileError, load_profiles

GOOD = "    host: vc.lab\n    username: admin\n"

# (file text, expected message after "<path>:")
CASES: list[tuple[str, str, str]] = [
    (
        "yaml-syntax",
        "profiles:\n  lab:\n    host: vc.lab\n    username: [admin\n",
        "5: profile 'lab': invalid YAML: expected ',' or ']', but got '<stream end>'",
    ),
    (
        "tab-indent",
        "profiles:\n  lab:\n\thost: vc.lab\n",
        "3: profile 'lab': invalid YAML: found character '\\t' that cannot start any token",
    ),
    (
        "top-level-list",
        "- lab\n- prod\n",
        "1: expected a mapping with a 'profiles' key at the top, got a list",
    ),
    (
        "unknown-top-level",
        "profile:\n  lab:\n" + GOOD,
        "1: unknown top-level key 'profile' (did you mean 'profiles'?)",
    ),
    (
        "profiles-not-mapping",
        "profiles: [lab, prod]\n",
        "1: 'profiles' must be a mapping of profile names to settings, got a list",
    ),
    (
        "profile-not-mapping",
        "profiles:\n  lab: vc.lab\n",
        "2: profile 'lab': expected a mapping of settings, got a string",
    ),
    (
        "unknown-key",
        "profiles:\n  lab:\n" + GOOD + "    hostname: vc2\n",
        "5: profile 'lab': unknown key 'hostname' (did you mean 'host'?)",
    ),
    (
        "missing-host",
        "profiles:\n  lab:\n    username: admin\n",
        "2: profile 'lab': missing 'host'",
    ),
    (
        "missing-username",
        "profiles:\n  lab:\n    host: vc.lab\n",
        "2: profile 'lab': missing 'username'",
    ),
    (
        "host-is-url",
        "profiles:\n  lab:\n    host: https://vc.lab/sdk\n    username: admin\n",
        "3: profile 'lab': 'host' must be a host name or address, not a URL "
        "('https://vc.lab/sdk'); use 'port' for the port",
    ),
    (
        "port-string",
        "profiles:\n  lab:\n" + GOOD + "    port: '443x'\n",
        "5: profile 'lab': 'port' must be an integer from 1 to 65535, got a string ('443x')",
    ),
    (
        "port-range",
        "profiles:\n  lab:\n" + GOOD + "    port: 70000\n",
        "5: profile 'lab': 'port' must be from 1 to 65535, got 70000",
    ),
    (
        "two-password-sources",
        "profiles:\n  lab:\n" + GOOD + "    password_env: LAB_PW\n    password_file: ~/pw\n",
        "6: profile 'lab': two password sources, 'password_env' (line 5) and 'password_file' "
        "(line 6): keep one",
    ),
    (
        "password-command-string",
        "profiles:\n  lab:\n" + GOOD + "    password_command: pass show vc\n",
        "5: profile 'lab': 'password_command' must be a list of arguments such as "
        "[pass, show, vcenter/lab]; it is run without a shell",
    ),
    (
        "password-command-item",
        "profiles:\n  lab:\n" + GOOD + "    password_command: [pass, 3]\n",
        "5: profile 'lab': 'password_command' item 2 must be a string, got an integer",
    ),
    (
        "password-env-name",
        "profiles:\n  lab:\n" + GOOD + "    password_env: 'my pw'\n",
        "5: profile 'lab': 'password_env' must name an environment variable (letters, digits, _), "
        "got 'my pw'",
    ),
    (
        "bad-thumbprint",
        "profiles:\n  lab:\n" + GOOD + "    thumbprint: 'AB:CD:EF'\n",
        "5: profile 'lab': 'thumbprint' must be a SHA-256 (32 bytes) or SHA-1 (20 bytes) "
        "fingerprint in colon hex like 'AB:CD:…', got 'AB:CD:EF'",
    ),
    (
        "insecure-not-bool",
        "profiles:\n  lab:\n" + GOOD + "    insecure: yes\n",
        "5: profile 'lab': 'insecure' must be true or false, got a string ('yes')",
    ),
    (
        "insecure-and-thumbprint",
        "profiles:\n  lab:\n"
        + GOOD
        + "    thumbprint: '"
        + ":".join(["0A"] * 20)
        + "'\n    insecure: true\n",
        "6: profile 'lab': 'insecure: true' contradicts 'thumbprint': remove one "
        "(insecure skips all verification)",
    ),
    (
        "release-float",
        "profiles:\n  lab:\n" + GOOD + "    release: 8.0\n",
        "5: profile 'lab': 'release' must be a quoted string like '8.0.2.0' or 'auto', "
        "got a number (8.0)",
    ),
    (
        "release-too-old",
        "profiles:\n  lab:\n" + GOOD + "    release: '7.0.3.0'\n",
        "5: profile 'lab': 'release' 7.0.3.0 is older than 8.0.1.0 (VI/JSON needs vCenter 8.0U1 "
        "or later)",
    ),
    (
        "root-relative",
        "profiles:\n  lab:\n" + GOOD + "    root: DC/vm\n",
        "5: profile 'lab': 'root' must be an inventory path starting with '/', like "
        "'/DC/vm/clones', got 'DC/vm'",
    ),
    (
        "concurrency-zero",
        "profiles:\n  lab:\n" + GOOD + "    concurrency: 0\n",
        "5: profile 'lab': 'concurrency' must be from 1 to 256, got 0",
    ),
    (
        "read-only-string",
        "profiles:\n  lab:\n" + GOOD + "    read_only: 'no'\n",
        "5: profile 'lab': 'read_only' must be true or false, got a string ('no')",
    ),
    (
        "duplicate-key",
        "profiles:\n  lab:\n" + GOOD + "    host: vc.other\n",
        "5: profile 'lab': duplicate key 'host'",
    ),
    (
        "duplicate-profile",
        "profiles:\n  lab:\n" + GOOD + "  lab:\n" + GOOD,
        "5: profile 'lab': defined twice (profile names must be unique)",
    ),
    (
        "reserved-name",
        "profiles:\n  govc-env:\n" + GOOD,
        "2: profile 'govc-env': the name 'govc-env' is reserved for the profile built from "
        "GOVC_URL",
    ),
    (
        "bad-name",
        "profiles:\n  'lab one':\n" + GOOD,
        "2: invalid profile name 'lab one': use letters, digits, '.', '_' and '-'",
    ),
    (
        "empty-host",
        "profiles:\n  lab:\n    host: ''\n    username: admin\n",
        "3: profile 'lab': 'host' is empty",
    ),
    (
        "ca-file-missing",
        "profiles:\n  lab:\n" + GOOD + "    ca_file: /nonexistent/ca.pem\n",
        "5: profile 'lab': 'ca_file' /nonexistent/ca.pem does not exist or is not a file",
    ),
    (
        "timeout-without-command",
        "profiles:\n  lab:\n" + GOOD + "    password_command_timeout: 5\n",
        "5: profile 'lab': 'password_command_timeout' without 'password_command'",
    ),
    (
        "second-profile",
        "profiles:\n  lab:\n" + GOOD + "  prod:\n    host: vc.prod\n    username: 42\n",
        "7: profile 'prod': 'username' must be a string, got an integer (42)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_profile_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    message = str(info.value)
    assert message == f"{path}:{expected}"
    assert "\n" not in message


def test_plaintext_password_refused_unless_private(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text("profiles:\n  lab:\n" + GOOD + "    password: 'Plain-Zebra-71'\n")
    path.chmod(0o644)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    assert str(info.value) == (
        f"{path}:5: profile 'lab': plaintext 'password' refused: the file is readable by others "
        f"(mode 0644); run 'chmod 600 {path}' or use password_env, password_file or "
        "password_command"
    )
    assert "Plain-Zebra-71" not in str(info.value)
    path.chmod(0o600)
    profile = load_profiles(path, env={})["lab"]
    assert profile.password_source.kind == "inline"
    assert "Plain-Zebra-71" not in repr(profile)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o620, 0o606, 0o700 | 0o044])
def test_plaintext_password_in_shared_file_names_the_chmod(tmp_path: Path, mode: int) -> None:
    """Group- or world-accessible: refused, and the message carries the command that fixes it
    (the real path, quoted for a shell when it needs it)."""
    folder = tmp_path / "my configs"
    folder.mkdir()
    path = folder / "profiles.yaml"
    path.write_text("profiles:\n  lab:\n" + GOOD + "    password: 'Plain-Zebra-71'\n")
    path.chmod(mode)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    message = str(info.value)
    assert f"(mode {mode:04o}); run 'chmod 600 \"{path}\"' or use password_env" in message
    assert message.startswith(f"{path}:5: profile 'lab': plaintext 'password' refused: ")
    assert "Plain-Zebra-71" not in message
    path.chmod(0o600)  # what the message says to run
    assert load_profiles(path, env={})["lab"].password_source.kind == "inline"


def test_chmod_hint_path_is_one_shell_word(tmp_path: Path) -> None:
    folder = tmp_path / 'odd $HOME "dir" `x` \\ end'
    folder.mkdir()
    path = folder / "profiles.yaml"
    path.write_text("profiles:\n  lab:\n" + GOOD + "    password: 'Plain-Zebra-71'\n")
    path.chmod(0o644)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    command = str(info.value).split("run '", 1)[1].split("' or use", 1)[0]
    subprocess.run(["sh", "-c", command], check=True)  # the hint, run as printed, fixes it
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_plaintext_password_in_private_file_is_accepted(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text("profiles:\n  lab:\n" + GOOD + "    password: 'Plain-Zebra-71'\n")
    path.chmod(mode)
    assert load_profiles(path, env={})["lab"].password_source.kind == "inline"


def test_password_type_error_never_shows_value(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text("profiles:\n  lab:\n" + GOOD + "    password: [Secret-Llama-55]\n")
    path.chmod(0o600)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    assert str(info.value) == f"{path}:5: profile 'lab': 'password' must be a string, got a list"


def test_duplicate_password_key_never_shows_value(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    body = "    password: Alpha-Okapi-1\n    password: Beta-2\n"
    path.write_text("profiles:\n  lab:\n" + GOOD + body)
    path.chmod(0o600)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    assert str(info.value) == f"{path}:6: profile 'lab': duplicate key 'password'"


def test_missing_explicit_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    assert str(info.value) == f"{path}: no such file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_bytes(b"profiles:\n  lab:\n    host: vc\xff\n")
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    assert str(info.value) == f"{path}:3: not UTF-8 text"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        load_profiles(tmp_path, env={})
    assert str(info.value) == f"{tmp_path}: is a directory, expected a YAML file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text("profiles: {}\n")
    path.chmod(0)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    assert str(info.value) == f"{path}: permission denied"


def test_at_least_fifteen_cases() -> None:
    assert len(CASES) >= 15
