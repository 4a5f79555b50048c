"""VM name/path globs, as govc and the CLI's ``--vm``/``--filter``/``--match`` take them.

A pattern with a ``/`` is matched against the whole inventory path (``/DC/vm/pool/web-*``);
any other against the name or the path. Matching is case-sensitive, like vCenter's names.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from tui.vsphere.models import VM


class GlobError(ValueError):
    """A pattern that cannot mean what the user wants (one line, names the pattern)."""


def check_glob(pattern: str) -> str:
    """``pattern`` if it is a usable VM glob, else ``GlobError`` saying what is wrong with it."""
    if not pattern.strip():
        raise GlobError("empty VM pattern")
    if pattern != pattern.strip():
        raise GlobError(f"VM pattern {pattern!r} has leading or trailing blanks")
    if "/" in pattern and not pattern.startswith(("/", "*")):
        raise GlobError(
            f"VM pattern {pattern!r}: a pattern with '/' is an inventory path and starts with "
            "'/' (e.g. /DC/vm/pool/web-*)"
        )
    start = -1  # index of the open '[', or -1
    for i, c in enumerate(pattern):
        if start < 0:
            start = i if c == "[" else -1
        elif c == "]":
            first = start + 2 if pattern[start + 1 : start + 2] == "!" else start + 1
            if i > first:  # a ']' first in the set is a literal
                start = -1
    if start >= 0:
        raise GlobError(f"VM pattern {pattern!r}: '[' without a closing ']'")
    return pattern


def vm_matches(vm: VM, pattern: str) -> bool:
    if "/" in pattern:
        return fnmatchcase(vm.path, pattern)
    return fnmatchcase(vm.name, pattern) or fnmatchcase(vm.path, pattern)


def matches_any(vm: VM, patterns: tuple[str, ...] | list[str]) -> bool:
    return any(vm_matches(vm, p) for p in patterns)
