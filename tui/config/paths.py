"""The only module that knows where guestnet keeps its files.

Everything follows platformdirs, so on Linux ``XDG_CONFIG_HOME`` and ``XDG_STATE_HOME`` redirect it
(that is how the tests isolate themselves). The profiles file can be overridden with
``--config FILE`` (``use_profiles_file``) or the ``GUESTNET_CONFIG`` variable, in that order.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "guestnet"
CONFIG_ENV = "GUESTNET_CONFIG"
PROFILES_FILE_NAME = "profiles.yaml"
AUDIT_FILE_NAME = "audit.jsonl"
STATE_FILE_NAME = "state.json"
LEDGER_FILE_NAME = "watch-ledger.jsonl"

_profiles_override: Path | None = None


def use_profiles_file(path: str | os.PathLike[str] | None) -> None:
    """Make ``profiles_file()`` return ``path`` (the ``--config`` option); ``None`` clears it."""
    global _profiles_override
    _profiles_override = Path(path).expanduser() if path is not None else None


def config_dir() -> Path:
    """``~/.config/guestnet`` on Linux (honours ``XDG_CONFIG_HOME``)."""
    from platformdirs import user_config_path

    return user_config_path(APP_NAME)


def profiles_file() -> Path:
    """The profiles file: ``--config`` > ``$GUESTNET_CONFIG`` > ``config_dir()/profiles.yaml``."""
    if _profiles_override is not None:
        return _profiles_override
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return config_dir() / PROFILES_FILE_NAME


def state_dir() -> Path:
    """``~/.local/state/guestnet`` on Linux (honours ``XDG_STATE_HOME``)."""
    from platformdirs import user_state_path

    return user_state_path(APP_NAME)


def log_dir() -> Path:
    """``~/.local/state/guestnet/log`` on Linux (honours ``XDG_STATE_HOME``)."""
    from platformdirs import user_log_path

    return user_log_path(APP_NAME)


def audit_file() -> Path:
    """JSON lines audit trail: ``log_dir()/audit.jsonl``."""
    return log_dir() / AUDIT_FILE_NAME


def themes_dir() -> Path:
    """User themes: ``config_dir()/themes``."""
    return config_dir() / "themes"


def state_file() -> Path:
    """Small JSON file of UI state (chosen theme, last profile). Never a secret."""
    return state_dir() / STATE_FILE_NAME


def ledger_file() -> Path:
    """What ``guestnet watch`` started, per vCenter and VM: ``state_dir()/watch-ledger.jsonl``."""
    return state_dir() / LEDGER_FILE_NAME
