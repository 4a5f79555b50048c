"""What a test sees of the host's environment: one rule for in-process tests and child processes.

Hidden from every test: the host's ``GOVC_*``, ``GUESTNET_*`` and ``XDG_*`` variables,
``NO_COLOR`` and ``SSL_CERT_FILE``/``SSL_CERT_DIR`` (they would change which profiles load, where
files go, how the UI draws and which CAs the client trusts). In their place the test gets a
private home: ``HOME`` and ``XDG_CONFIG_HOME``/``XDG_STATE_HOME``/``XDG_CACHE_HOME``/
``XDG_DATA_HOME`` under it. A child process (``environ_for(..., child=True)``) also loses pytest's
and coverage's own variables and writes no bytecode; in-process they stay (pytest needs them).

Used by the ``isolated_env`` fixture (tests/conftest.py), which tests/cli, tests/config and
tests/ui apply to every test, and by ``tests/cli/conftest.py`` for the console script's env.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

HIDDEN_PREFIXES = ("GOVC_", "GUESTNET_", "XDG_")
HIDDEN_NAMES = frozenset({"NO_COLOR", "SSL_CERT_FILE", "SSL_CERT_DIR"})
CHILD_HIDDEN_PREFIXES = ("PYTEST_", "COV_")


def private_dirs(home: Path) -> dict[str, str]:
    """``HOME`` and the XDG base directories, all under ``home``."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
    }


def _hidden(name: str, child: bool) -> bool:
    if name in HIDDEN_NAMES or name.startswith(HIDDEN_PREFIXES):
        return True
    return child and name.startswith(CHILD_HIDDEN_PREFIXES)


def environ_for(
    home: Path, environ: Mapping[str, str] | None = None, *, child: bool
) -> dict[str, str]:
    """``environ`` (default: this process's) as a test may see it, with its home at ``home``."""
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if not _hidden(k, child)}
    env.update(private_dirs(home))
    if child:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Apply ``environ_for(home, child=False)`` to this process (undone by ``monkeypatch``) and
    forget any profiles file chosen with ``--config``."""
    from tui.config import paths

    wanted = environ_for(home, child=False)
    for name in list(os.environ):
        if name not in wanted:
            monkeypatch.delenv(name)
    for name, value in wanted.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    paths.use_profiles_file(None)
