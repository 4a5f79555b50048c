"""Helpers for driving the real ``guestnet`` console script in a subprocess.

Each test runs isolated from the host's environment (tests/isolation.py): in-process and in the
console script's environment there are no GOVC_*/GUESTNET_*/XDG_* variables from the host and the
home is private (``tmp_path / "home"``); the console script also runs without a controlling
terminal (``start_new_session``), like a cron job or CI runner.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.isolation import environ_for

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


@pytest.fixture(autouse=True)
def _isolated(isolated_env: object) -> None:
    """``isolated_env`` (tests/conftest.py) for every test here, in-process ones included."""


@pytest.fixture
def cli(isolated_env: Path) -> CLI:
    return CLI(home=isolated_env, env=environ_for(isolated_env, child=True))
