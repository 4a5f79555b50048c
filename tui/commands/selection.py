"""Choosing VMs by name or inventory-path glob (``--vm``, ``--vms-from``, ``--filter``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tui.commands.base import fail

if TYPE_CHECKING:
    from tui.vsphere.models import VM


def matches(vm: VM, pattern: str) -> bool:
    """A pattern with ``/`` matches the inventory path; one without, the name or the path."""
    from fnmatch import fnmatchcase

    if "/" in pattern:
        return fnmatchcase(vm.path, pattern)
    return fnmatchcase(vm.name, pattern) or fnmatchcase(vm.path, pattern)


def select_vms(vms: Sequence[VM], patterns: Sequence[str]) -> tuple[list[VM], list[str]]:
    """VMs matching any pattern (inventory order, no duplicates) and the patterns matching none."""
    chosen: dict[str, VM] = {}
    unmatched = []
    for pattern in patterns:
        hits = [vm for vm in vms if matches(vm, pattern)]
        if not hits:
            unmatched.append(pattern)
        for vm in hits:
            chosen.setdefault(vm.moid, vm)
    ordered = [vm for vm in vms if vm.moid in chosen]
    return ordered, unmatched


def add_vm_options(parser: argparse.ArgumentParser) -> None:
    """``--vm GLOB…`` or ``--vms-from FILE`` (one of them required)."""
    sel = parser.add_mutually_exclusive_group(required=True)
    sel.add_argument(
        "--vm",
        metavar="GLOB",
        nargs="+",
        action="extend",
        help="VM name or inventory path glob (repeatable)",
    )
    sel.add_argument(
        "--vms-from", metavar="FILE", help="file with one VM name/path/glob per line ('-' = stdin)"
    )


def read_patterns(ns: argparse.Namespace) -> list[str]:
    """The patterns of ``--vm`` or of the ``--vms-from`` file (``-`` = stdin; ``#`` lines are
    comments)."""
    if ns.vm:
        patterns = [p.strip() for p in ns.vm]
        if not all(patterns):
            fail("--vm: empty VM name")
        return patterns
    source = ns.vms_from
    text = _read_source(source)
    where = "stdin" if source == "-" else source
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):  # VM names may contain '#', so only whole lines
            patterns.append(line)
    if not patterns:
        fail(f"--vms-from {where}: no VM names in it")
    return patterns


def _read_source(source: str) -> str:
    try:
        if source == "-":
            return sys.stdin.read()
        with open(source, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        fail(f"--vms-from {source}: no such file")
    except IsADirectoryError:
        fail(f"--vms-from {source}: is a directory")
    except PermissionError:
        fail(f"--vms-from {source}: permission denied")
    except UnicodeDecodeError:
        fail(f"--vms-from {source}: not UTF-8 text")
