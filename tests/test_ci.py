"""CI runs the README's test command, and that command lints and type-checks before the suite."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_test_command() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("Run the tests:", 1)[1]
    line = next(ln.strip() for ln in section.splitlines() if ln.startswith("    "))
    return line.rsplit("&&", 1)[1].strip()


def test_ci_calls_the_readme_test_command() -> None:
    command = _readme_test_command()
    ci_lines = [
        ln.strip()
        for ln in (ROOT / ".ci" / "run").read_text().splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert ci_lines[-1] == command


def test_the_test_script_lints_formats_and_type_checks_first() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    steps = re.findall(r"-m (ruff check|ruff format --check|mypy tui|pytest)", script)
    assert steps == ["ruff check", "ruff format --check", "mypy tui", "pytest"]
    assert "set -euo pipefail" in script
