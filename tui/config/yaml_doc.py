"""Reading the profiles file as a round-trip YAML document, and where things are in it.

Every problem here is one ``ProfileError`` line naming the file and line (and, when the line is
inside one, the profile or group), e.g. ``profiles.yaml:4: profile 'lab': invalid YAML: …``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tui.vsphere.errors import ProfileError

# The top-level sections whose entries are named blocks (a YAML error inside one names it).
SECTIONS = {"profiles": "profile", "groups": "group"}


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def key_line(mapping: Any, key: Any, default: int = 1) -> int:
    """1-based line of ``key`` in a ruamel round-trip mapping (``default`` if unknown)."""
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return default


def item_line(sequence: Any, index: int, default: int = 1) -> int:
    """1-based line of item ``index`` in a ruamel round-trip sequence (``default`` if unknown)."""
    try:
        return int(sequence.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return default


def block_at(text: str, line: int) -> tuple[str, str] | None:
    """For a YAML error at ``line`` (1-based): ``("profile"|"group", name)`` of the block of the
    ``profiles:``/``groups:`` section that contains it, if any."""
    indent: int | None = None
    kind: str | None = None
    current: tuple[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if number > line:
            break
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lead = len(raw) - len(raw.lstrip())
        if lead == 0:
            top = re.match(r"^([A-Za-z0-9_.-]+)\s*:", stripped)
            kind = SECTIONS.get(top.group(1)) if top else None
            current = None
            indent = None
            continue
        if kind is None:
            continue
        if indent is None:
            indent = lead
        if lead == indent:
            m = re.match(r"^([A-Za-z0-9_.-]+)\s*:", stripped)
            current = (kind, m.group(1)) if m else None
    return current


def located(message: str, where: str, block: tuple[str, str] | None) -> ProfileError:
    """A ProfileError at ``where``, naming the profile or group ``block`` when there is one."""
    if block is None:
        return ProfileError(message, where=where)
    kind, name = block
    if kind == "profile":
        return ProfileError(message, where=where, profile=name)
    return ProfileError(f"{kind} {name!r}: {message}", where=where)


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError("no such file", where=str(path)) from None
    except IsADirectoryError:
        raise ProfileError("is a directory, expected a YAML file", where=str(path)) from None
    except PermissionError:
        raise ProfileError("permission denied", where=str(path)) from None
    except OSError as exc:
        raise ProfileError(f"cannot read: {exc.strerror}", where=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProfileError("not UTF-8 text", where=f"{path}:{line}") from None


def parse_yaml(path: Path, text: str, yaml: Any = None) -> Any:
    """The round-trip YAML document (loaded by ``yaml``, default a plain round-trip loader);
    every syntax problem is one ProfileError line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    if yaml is None:
        yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 1
        m = re.search(r'found duplicate key "([^"]*)"', exc.problem or "")
        key = m.group(1) if m else "?"
        block = block_at(text, line)
        if block is not None and block[1] == key:
            message = f"defined twice ({block[0]} names must be unique)"
        else:
            message = f"duplicate key {key!r}"
        raise located(message, f"{path}:{line}", block) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = (exc.problem or exc.context or "syntax error").strip().replace("\n", " ")
        raise located(f"invalid YAML: {problem}", f"{path}:{line}", block_at(text, line)) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        raise ProfileError(f"invalid YAML: {first}", where=f"{path}:1") from None
