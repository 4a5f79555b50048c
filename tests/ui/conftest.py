"""Every UI test runs isolated from the host's environment (tests/isolation.py): no GOVC_*,
GUESTNET_*, XDG_* or NO_COLOR from the host, a private home."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_env: object) -> None:
    """``isolated_env`` (tests/conftest.py) for every test here."""
