"""YAML with line numbers, and the checks that turn a bad value into a one-line error naming
``FILE:LINE: key.path`` (what the inventory loader reports)."""

from __future__ import annotations

import ipaddress
from typing import Any

import yaml


class InventoryError(ValueError):
    """A bad inventory: ``str(e)`` is one line naming the file:line and the key."""


class LDict(dict[Any, Any]):
    line: int = 0
    key_lines: dict[Any, int]


class LList(list[Any]):
    line: int = 0
    item_lines: list[int]


class Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: Loader, node: yaml.MappingNode) -> LDict:
    d = LDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        if not isinstance(key, str):
            raise InventoryError(f"{k_node.start_mark.line + 1}: keys must be strings, got {key!r}")
        if key in d:
            raise InventoryError(f"{k_node.start_mark.line + 1}: duplicate key {key!r}")
        d[key] = loader.construct_object(v_node, deep=True)
        d.key_lines[key] = k_node.start_mark.line + 1
    return d


def _construct_seq(loader: Loader, node: yaml.SequenceNode) -> LList:
    lst = LList()
    lst.line = node.start_mark.line + 1
    lst.item_lines = []
    for item in node.value:
        lst.append(loader.construct_object(item, deep=True))
        lst.item_lines.append(item.start_mark.line + 1)
    return lst


Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


class Ctx:
    """Builds 'FILE:LINE: key.path: message' errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, container: Any, key: Any, path: str, message: str) -> InventoryError:
        line = 0
        if isinstance(container, LDict):
            line = container.key_lines.get(key, container.line)
        elif isinstance(container, LList) and isinstance(key, int):
            line = container.item_lines[key] if key < len(container.item_lines) else container.line
        where = f"{self.source}:{line}" if line else self.source
        return InventoryError(f"{where}: {path}: {message}")


def check_keys(ctx: Ctx, d: Any, allowed: set[str], path: str) -> None:
    for key in d:
        if key not in allowed:
            raise ctx.fail(
                d,
                key,
                f"{path}.{key}" if path else key,
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
            )


def want_map(ctx: Ctx, parent: Any, key: Any, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ctx.fail(parent, key, path, f"expected a mapping, got {tname(value)}")
    return value


def want_list(ctx: Ctx, parent: Any, key: Any, value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ctx.fail(parent, key, path, f"expected a list, got {tname(value)}")
    return value


def want_str(ctx: Ctx, parent: Any, key: Any, value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(parent, key, path, f"expected a non-empty string, got {tname(value)}")
    return value


def tname(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return f"boolean {v}"
    if isinstance(v, int | float):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {v!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def choice(ctx: Ctx, d: dict[str, Any], key: str, choices: Any, path: str) -> str:
    v = d[key]
    if not isinstance(v, str) or v not in choices:
        raise ctx.fail(d, key, path, f"expected one of {', '.join(choices)}, got {tname(v)}")
    return v


def want_ip(ctx: Ctx, d: dict[str, Any], key: str, path: str) -> str | None:
    v = d[key]
    if v is None:
        return None
    if not isinstance(v, str):
        raise ctx.fail(d, key, path, f"expected an IP address, got {tname(v)}")
    try:
        ipaddress.ip_address(v)
    except ValueError:
        raise ctx.fail(d, key, path, f"not an IP address: {v!r}") from None
    return v


def want_bool(ctx: Ctx, d: dict[str, Any], key: str, path: str) -> bool:
    v = d[key]
    if not isinstance(v, bool):
        raise ctx.fail(d, key, path, f"expected true or false, got {tname(v)}")
    return v
