"""Every config test runs isolated from the host's environment (tests/isolation.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_env: object) -> None:
    """``isolated_env`` (tests/conftest.py) for every test here."""
