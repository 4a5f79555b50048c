"""vCenter profiles: ``profiles.yaml`` plus the implicit ``govc-env`` profile built from ``GOVC_*``,
and the file's optional ``groups:`` of profiles.

This is the public entry point; the parts live in their own modules and their names are
re-exported here: the model (``profile_model``), reading the YAML (``yaml_doc``), validating a
profile (``profile_fields``) and the file (``profile_file``), groups (``groups``), the govc
environment (``govc_env``) and thumbprint pinning (``pinning``).

Every validation problem becomes a ``ProfileError`` whose ``str()`` is one line naming the file, the
line, the profile (or group) and what is wrong, e.g. ``profiles.yaml:7: profile 'lab': unknown key
'hostname' (did you mean 'host'?)``. No message ever contains a password value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tui.config import paths
from tui.config.govc_env import known_hosts_lookup, parse_bool_env, profile_from_govc_env
from tui.config.groups import Group, ProfileSet, resolve_targets, unknown_name
from tui.config.pinning import pin_thumbprint
from tui.config.profile_file import TOP_LEVEL_KEYS, load_file, load_file_set
from tui.config.profile_model import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONCURRENCY,
    DEFAULT_PORT,
    GOVC_PROFILE,
    MAX_CONCURRENCY,
    MIN_RELEASE,
    PASSWORD_KEYS,
    PROFILE_KEYS,
    PasswordKind,
    PasswordSource,
    Profile,
)
from tui.vsphere.errors import ProfileError  # defined there, imported from here by callers
from tui.vsphere.tls import normalize_thumbprint  # the one thumbprint rule

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_PORT",
    "GOVC_PROFILE",
    "MAX_CONCURRENCY",
    "MIN_RELEASE",
    "PASSWORD_KEYS",
    "PROFILE_KEYS",
    "TOP_LEVEL_KEYS",
    "Group",
    "PasswordKind",
    "PasswordSource",
    "Profile",
    "ProfileError",
    "ProfileSet",
    "known_hosts_lookup",
    "load_file",
    "load_file_set",
    "load_profile_set",
    "load_profiles",
    "normalize_thumbprint",
    "parse_bool_env",
    "pin_thumbprint",
    "profile_from_govc_env",
    "resolve_targets",
    "unknown_name",
]


def _default_location(path: Path) -> bool:
    try:
        return path == paths.config_dir() / paths.PROFILES_FILE_NAME
    except Exception:
        return False


def load_profile_set(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> ProfileSet:
    """All profiles and groups: those of the profiles file, plus the ``govc-env`` profile when
    ``GOVC_URL`` is set.

    A missing file is fine at the default location (no profiles); an explicitly named file
    (``--config``, ``GUESTNET_CONFIG`` or ``path``) must exist.
    """
    environ = os.environ if env is None else env
    file = Path(path).expanduser() if path is not None else paths.profiles_file()
    explicit = path is not None or not _default_location(file)
    found = load_file_set(file) if file.exists() or explicit else ProfileSet({})
    profiles = dict(found.profiles)
    govc = profile_from_govc_env(environ)
    if govc is not None:
        profiles[govc.name] = govc
    return ProfileSet(profiles, found.groups)


def load_profiles(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Profile]:
    """All profiles (``load_profile_set`` without the groups)."""
    return load_profile_set(path, env).profiles
