"""The environment rule every CLI, config and UI test runs under (tests/isolation.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.isolation import environ_for, isolate
from tui.config import paths

HOST = {
    "PATH": "/usr/bin",
    "GOVC_URL": "https://vc.host.example",
    "GUESTNET_PROFILE": "prod",
    "XDG_RUNTIME_DIR": "/run/user/1000",
    "NO_COLOR": "1",
    "SSL_CERT_FILE": "/etc/host-ca.pem",
    "PYTEST_XDIST_WORKER": "gw0",
    "COV_CORE_SOURCE": "tui",
    "HOME": "/home/someone",
}


def test_child_environment(tmp_path: Path) -> None:
    env = environ_for(tmp_path, HOST, child=True)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_in_process_environment_keeps_pytest_own(tmp_path: Path) -> None:
    env = environ_for(tmp_path, HOST, child=False)
    assert env["PYTEST_XDIST_WORKER"] == "gw0" and env["COV_CORE_SOURCE"] == "tui"
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert not [k for k in env if k.startswith(("GOVC_", "GUESTNET_")) or k == "NO_COLOR"]


def test_isolate_hides_the_host_and_redirects_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVC_URL", "https://vc.host.example")
    monkeypatch.setenv("GUESTNET_CONFIG", "/etc/guestnet/profiles.yaml")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/someone/.config")
    paths.use_profiles_file("/elsewhere/profiles.yaml")
    isolate(monkeypatch, tmp_path)
    assert "GOVC_URL" not in os.environ and "GUESTNET_CONFIG" not in os.environ
    assert os.environ["HOME"] == str(tmp_path)
    assert paths.profiles_file() == tmp_path / "config" / "guestnet" / "profiles.yaml"
    assert paths.audit_file().is_relative_to(tmp_path / "state")


def test_every_cli_test_is_isolated(isolated_env: Path) -> None:
    assert not [k for k in os.environ if k.startswith(("GOVC_", "GUESTNET_"))]
    assert os.environ["XDG_STATE_HOME"] == str(isolated_env / "state")
