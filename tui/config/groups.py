"""Profile groups: the optional top-level ``groups:`` mapping of profiles.yaml, and resolving the
names a command is given (each a profile or a group) to the profiles they mean.

    groups:
      sites: [lab, prod]
      all-labs:
        - lab
        - staging

A group lists profiles (not groups): at least one, each once, every one defined in the file (or
``govc-env``, which exists when ``GOVC_URL`` is set); its name is not a profile's. Every problem
is one ``ProfileError`` line ``FILE:LINE: group 'NAME': what``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.config.profile_fields import NAME_RE
from tui.config.profile_model import GOVC_PROFILE, Profile
from tui.config.yaml_doc import item_line, key_line, type_name
from tui.vsphere.errors import ProfileError


@dataclass(frozen=True, slots=True)
class Group:
    """A named list of profiles; ``item_lines`` are the lines of its entries in the file."""

    name: str
    profiles: tuple[str, ...]
    source: Path | None = None
    line: int = 0
    item_lines: tuple[int, ...] = ()

    @property
    def origin(self) -> str:
        return f"{self.source}:{self.line}" if self.source is not None else "built in"

    def error(self, message: str, item: int | None = None) -> ProfileError:
        """A ProfileError at the group (or at its entry ``item``, 0-based)."""
        line = self.line
        if item is not None and item < len(self.item_lines):
            line = self.item_lines[item]
        where = f"{self.source}:{line}" if self.source is not None else None
        return ProfileError(f"group {self.name!r}: {message}", where=where)

    def summary(self) -> dict[str, Any]:
        """JSON-safe description (``guestnet profiles --json``)."""
        return {
            "name": self.name,
            "profiles": list(self.profiles),
            "source": str(self.source) if self.source is not None else None,
            "line": self.line if self.source is not None else None,
        }


@dataclass(frozen=True)
class ProfileSet:
    """Everything the profiles file (and ``GOVC_*``) defines: profiles and groups by name."""

    profiles: dict[str, Profile]
    groups: dict[str, Group] = field(default_factory=dict)

    def resolve(self, names: Iterable[str]) -> list[Profile]:
        return resolve_targets(self.profiles, self.groups, names)


def resolve_targets(
    profiles: Mapping[str, Profile], groups: Mapping[str, Group], names: Iterable[str]
) -> list[Profile]:
    """The profiles ``names`` mean, each name a profile or a group: in the order given (a group's
    in its own order), each profile once. An unknown name raises a ProfileError with a
    suggestion; so does a group naming ``govc-env`` while ``GOVC_URL`` is not set."""
    out: dict[str, Profile] = {}
    for name in names:
        if name in profiles:
            out.setdefault(name, profiles[name])
            continue
        group = groups.get(name)
        if group is None:
            raise unknown_name(name, profiles, groups)
        for i, member in enumerate(group.profiles):
            if member not in profiles:
                why = "GOVC_URL is not set" if member == GOVC_PROFILE else "it is not defined"
                raise group.error(f"profile {member!r} does not exist ({why})", item=i)
            out.setdefault(member, profiles[member])
    return list(out.values())


def unknown_name(
    name: str, profiles: Iterable[str], groups: Iterable[str] = (), what: str | None = None
) -> ProfileError:
    """``unknown profile 'x' (did you mean 'y'?)`` or ``… (known: a, b; groups: g)``."""
    profile_names, group_names = list(profiles), list(groups)
    if what is None:
        what = "profile or group" if group_names else "profile"
    close = difflib.get_close_matches(name, profile_names + group_names, n=1)
    if close:
        return ProfileError(f"unknown {what} {name!r} (did you mean {close[0]!r}?)")
    known = ", ".join(sorted(profile_names)) or "none"
    if group_names:
        known += "; groups: " + ", ".join(sorted(group_names))
    return ProfileError(f"unknown {what} {name!r} (known: {known})")


def parse_groups(
    path: Path, data: Mapping[str, Any], profiles: Mapping[str, Profile]
) -> dict[str, Group]:
    """The validated ``groups:`` section of the document ``data`` (none: no groups)."""
    node = data.get("groups")
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ProfileError(
            "'groups' must be a mapping of group names to lists of profiles, like "
            f"'sites: [lab, prod]', got {type_name(node)}",
            where=f"{path}:{key_line(data, 'groups')}",
        )
    out: dict[str, Group] = {}
    for name, body in node.items():
        line = key_line(node, name)
        _check_name(path, name, line, profiles)
        out[name] = _group(path, name, body, line, profiles, set(node))
    return out


def _check_name(path: Path, name: Any, line: int, profiles: Mapping[str, Profile]) -> None:
    where = f"{path}:{line}"
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ProfileError(
            f"invalid group name {name!r}: use letters, digits, '.', '_' and '-'", where=where
        )
    if name == GOVC_PROFILE:
        raise ProfileError(
            f"group {name!r}: the name {GOVC_PROFILE!r} is reserved for the profile built from "
            "GOVC_URL",
            where=where,
        )
    if name in profiles:
        raise ProfileError(
            f"group {name!r}: the name is taken by the profile on line {profiles[name].line}; "
            "rename one",
            where=where,
        )


def _group(
    path: Path,
    name: str,
    body: Any,
    line: int,
    profiles: Mapping[str, Profile],
    group_names: set[Any],
) -> Group:
    """One group, its entries checked in order (the first problem is the one reported)."""
    if body is None or (isinstance(body, list) and not body):
        raise Group(name, (), path, line).error(
            f"is empty: list at least one profile, like '{name}: [lab, prod]'"
        )
    if not isinstance(body, list):
        shown = f" ({body!r}); write '{name}: [{body}]'" if isinstance(body, str) else ""
        raise Group(name, (), path, line).error(
            f"expected a list of profile names, got {type_name(body)}{shown}"
        )
    lines = tuple(item_line(body, i, line) for i in range(len(body)))
    group = Group(name, tuple(str(m) for m in body), path, line, lines)
    first: dict[str, int] = {}
    for i, member in enumerate(body):
        if not isinstance(member, str):
            got = f"{type_name(member)} ({member!r})"
            raise group.error(f"item {i + 1} must be a profile name, got {got}", item=i)
        if member in group_names and member not in profiles:
            raise group.error(f"{member!r} is a group: a group lists profiles only", item=i)
        if member not in profiles and member != GOVC_PROFILE:
            known = [p for p in profiles if p != GOVC_PROFILE]
            raise group.error(str(unknown_name(member, known, what="profile")), item=i)
        if member in first:
            raise group.error(
                f"profile {member!r} is listed twice (items {first[member] + 1} and {i + 1})",
                item=i,
            )
        first[member] = i
    return group
