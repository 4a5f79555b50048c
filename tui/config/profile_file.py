"""Loading one profiles file: the top level (``profiles:``, ``groups:``, ``x-…`` anchors), each
profile (``profile_fields``) and the groups (``groups``)."""

from __future__ import annotations

import difflib
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tui.config.groups import ProfileSet, parse_groups
from tui.config.profile_fields import NAME_RE, profile_from_node
from tui.config.profile_model import GOVC_PROFILE, Profile
from tui.config.yaml_doc import key_line, parse_yaml, read_text, type_name
from tui.vsphere.errors import ProfileError

TOP_LEVEL_KEYS: tuple[str, ...] = ("profiles", "groups")


def load_file(path: Path) -> dict[str, Profile]:
    """Validate and load one profiles file (which must exist): its profiles."""
    return load_file_set(path).profiles


def load_file_set(path: Path) -> ProfileSet:
    """Validate and load one profiles file (which must exist): its profiles and groups."""
    text = read_text(path)
    try:
        file_mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        file_mode = 0o644
    data = parse_yaml(path, text)
    if data is None:
        return ProfileSet({})
    if not isinstance(data, Mapping):
        raise ProfileError(
            f"expected a mapping with a 'profiles' key at the top, got {type_name(data)}",
            where=f"{path}:1",
        )
    _check_top_level(path, data)
    profiles = _profiles(path, data, file_mode)
    return ProfileSet(profiles, parse_groups(path, data, profiles))


def _check_top_level(path: Path, data: Mapping[Any, Any]) -> None:
    for key in data:
        if isinstance(key, str) and key.startswith("x-"):
            continue  # extension keys hold YAML anchors shared by profiles (<<: *common)
        if key not in TOP_LEVEL_KEYS:
            line = key_line(data, key)
            close = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1, cutoff=0.6)
            hint = (
                f" (did you mean {close[0]!r}?)"
                if close
                else " (expected 'profiles', or 'x-…' for shared anchors)"
            )
            raise ProfileError(f"unknown top-level key {key!r}{hint}", where=f"{path}:{line}")


def _profiles(path: Path, data: Mapping[str, Any], file_mode: int) -> dict[str, Profile]:
    node = data.get("profiles")
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        line = key_line(data, "profiles")
        raise ProfileError(
            f"'profiles' must be a mapping of profile names to settings, got {type_name(node)}",
            where=f"{path}:{line}",
        )
    out: dict[str, Profile] = {}
    for name, body in node.items():
        line = key_line(node, name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ProfileError(
                f"invalid profile name {name!r}: use letters, digits, '.', '_' and '-'",
                where=f"{path}:{line}",
            )
        if name == GOVC_PROFILE:
            raise ProfileError(
                f"the name {GOVC_PROFILE!r} is reserved for the profile built from GOVC_URL",
                where=f"{path}:{line}",
                profile=name,
            )
        out[name] = profile_from_node(path, name, body, line, file_mode)
    return out
