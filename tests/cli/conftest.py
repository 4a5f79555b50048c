"""Helpers for driving the real ``guestnet`` console script in a subprocess.

Each test gets private XDG config/state dirs, an environment without the host's GOVC_*/GUESTNET_*
variables, and no controlling terminal (``start_new_session``), like a cron job or CI runner.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

GUESTNET = Path(sys.executable).parent / "guestnet"


@dataclass
class Result:
    argv: list[str]
    code: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8")

    def __repr__(self) -> str:  # shown by pytest on failure
        return f"Result(code={self.code}, stdout={self.out!r}, stderr={self.err!r})"


@dataclass
class CLI:
    home: Path
    env: dict[str, str]
    results: list[Result] = field(default_factory=list)

    @property
    def config_dir(self) -> Path:
        return self.home / "config" / "guestnet"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def audit_file(self) -> Path:
        return self.home / "state" / "guestnet" / "log" / "audit.jsonl"

    def write_profiles(self, text: str, mode: int = 0o644, name: str = "profiles.yaml") -> Path:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        path = self.config_dir / name
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        return path

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        timeout: float = 60,
    ) -> Result:
        argv = [str(GUESTNET), *args]
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            argv,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=full_env,
            cwd=self.home,
            timeout=timeout,
            start_new_session=True,  # no controlling terminal: prompts are impossible
            check=False,
        )
        result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
        self.results.append(result)
        assert "Traceback" not in result.err, result
        return result

    def all_output(self) -> bytes:
        return b"".join(r.stdout + r.stderr for r in self.results)

    def all_files(self) -> Iterator[Path]:
        for path in self.home.rglob("*"):
            if path.is_file():
                yield path


def base_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOVC_", "GUESTNET_", "XDG_", "PYTEST_", "COV_"))
    }
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_STATE_HOME"] = str(home / "state")
    env["XDG_CACHE_HOME"] = str(home / "cache")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("SSL_CERT_FILE", None)
    env.pop("SSL_CERT_DIR", None)
    return env


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    home = tmp_path / "home"
    home.mkdir()
    return CLI(home=home, env=base_env(home))
