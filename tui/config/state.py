"""Small UI state (chosen theme, last profile) as JSON at ``paths.state_file()``. Never a secret."""

from __future__ import annotations

import json
from typing import Any

from tui.config import paths
from tui.config.files import write_atomic
from tui.vsphere.secret import Secret

_FORBIDDEN_WORDS = ("password", "secret", "token")


def load_state() -> dict[str, Any]:
    """The saved state; ``{}`` when there is none or it is unreadable (it is a convenience)."""
    try:
        with open(paths.state_file(), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _check(value: Any, where: str) -> None:
    if isinstance(value, Secret):
        raise TypeError(f"state {where}: a Secret cannot be saved")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"state {where}: keys must be strings")
            if any(word in k.lower() for word in _FORBIDDEN_WORDS):
                raise ValueError(f"state {where}.{k}: secrets are never saved")
            _check(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check(v, f"{where}[{i}]")
    elif not isinstance(value, (str, int, float, bool)) and value is not None:
        raise TypeError(f"state {where}: {type(value).__name__} is not JSON data")


def save_state(state: dict[str, Any]) -> None:
    """Write ``state`` atomically (mode 0600)."""
    _check(state, "")
    path = paths.state_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(state, indent=2, sort_keys=True) + "\n", 0o600)
