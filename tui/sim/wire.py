"""The simulator's own small VI/JSON encoder and request decoder.

Deliberately independent of ``tui.vsphere`` (a test enforces that ``tui.sim`` never imports it), so
that the client and the simulator are each checked against VMware's type registry on their own.

Encoding rules (see ../shared/vijson/README.md):
- data objects carry ``_typeName``; references are ``{"_typeName": "ManagedObjectReference", ...}``;
- unset fields are omitted, never ``null``;
- in ``Any`` slots (DynamicProperty.val, PropertyChange.val, KeyAnyValue.value) primitives,
  enums and
  arrays are boxed as ``{"_typeName": T, "_value": v}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


class WireError(Exception):
    """A request body that does not match the method's parameter types.

    ``fault`` is the fault type to answer with (InvalidRequest for malformed JSON, InvalidArgument
    for wrong shapes/types), ``where`` the parameter path that is wrong.
    """

    def __init__(self, message: str, where: str = "", fault: str = "InvalidArgument") -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.fault = fault


def mor(type_: str, value: str) -> JSON:
    return {"_typeName": "ManagedObjectReference", "type": type_, "value": value}


def box(type_name: str, value: Any) -> JSON:
    """Box a primitive, enum or array for an ``Any`` slot."""
    return {"_typeName": type_name, "_value": value}


def fmt_time(ts: float) -> str:
    """Epoch seconds -> VI/JSON dateTime with milliseconds, UTC, 'Z' suffix."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def localizable(key: str, message: str, args: dict[str, str] | None = None) -> JSON:
    msg: JSON = {"_typeName": "LocalizableMessage", "key": key}
    if args:
        msg["arg"] = [
            {"_typeName": "KeyAnyValue", "key": k, "value": box("string", v)}
            for k, v in args.items()
        ]
    msg["message"] = message
    return msg


# ----------------------------------------------------------------------------------------------
# Request decoding


def parse_body(raw: bytes) -> JSON:
    """Parse a method request body: empty -> {}; otherwise a JSON object without ``_typeName``."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"request body is not valid JSON: {exc}", fault="InvalidRequest") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WireError(
            f"request body must be a JSON object, got {_kind(value)}", fault="InvalidRequest"
        )
    if "_typeName" in value:
        raise WireError(
            "a request body is the plain parameter object: no _typeName at its top", "_typeName"
        )
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def check_fields(body: JSON, allowed: set[str], where: str) -> None:
    unknown = sorted(k for k in body if k not in allowed and k != "_typeName")
    if unknown:
        raise WireError(f"unexpected field {unknown[0]!r} in {where}", f"{where}.{unknown[0]}")


def _field(body: JSON, key: str, where: str, required: bool) -> Any:
    """``body[key]``; None when it is absent or null and optional, WireError when required."""
    v = body.get(key)
    if v is None and required:
        raise WireError(f"missing required field {key!r} in {where}", f"{where}.{key}")
    return v


def _wrong(where: str, key: str, expected: str, v: Any) -> WireError:
    return WireError(f"{where}.{key} must be {expected}, got {_kind(v)}", f"{where}.{key}")


def req(body: JSON, key: str, where: str) -> Any:
    return _field(body, key, where, True)


def get_str(body: JSON, key: str, where: str, required: bool = True) -> str | None:
    v = _field(body, key, where, required)
    if v is not None and not isinstance(v, str):
        raise _wrong(where, key, "a string", v)
    return v


def get_bool(body: JSON, key: str, where: str, required: bool = True) -> bool | None:
    v = _field(body, key, where, required)
    if v is not None and not isinstance(v, bool):
        raise _wrong(where, key, "a boolean", v)
    return v


def get_int(body: JSON, key: str, where: str, required: bool = True) -> int | None:
    v = _field(body, key, where, required)
    if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
        raise _wrong(where, key, "an integer", v)
    return v


def get_list(body: JSON, key: str, where: str, required: bool = True) -> list[Any]:
    v = _field(body, key, where, required)
    if v is None:
        return []
    if not isinstance(v, list):
        raise _wrong(where, key, "an array", v)
    return v


def get_obj(
    body: JSON, key: str, where: str, type_names: tuple[str, ...], required: bool = True
) -> JSON | None:
    """A nested data object whose ``_typeName`` must be one of ``type_names``."""
    v = _field(body, key, where, required)
    return None if v is None else as_obj(v, f"{where}.{key}", type_names)


def as_obj(v: Any, where: str, type_names: tuple[str, ...]) -> JSON:
    if not isinstance(v, dict):
        raise WireError(f"{where} must be an object, got {_kind(v)}", where)
    tn = v.get("_typeName")
    if tn is None:
        raise WireError(f"{where} lacks _typeName (expected {type_names[0]})", where)
    if tn not in type_names:
        raise WireError(f"{where} has _typeName {tn!r}, expected {' or '.join(type_names)}", where)
    return v


def as_mor(v: Any, where: str) -> tuple[str, str]:
    obj = as_obj(v, where, ("ManagedObjectReference",))
    t, val = obj.get("type"), obj.get("value")
    if not isinstance(t, str) or not t:
        raise WireError(f"{where}.type must be a non-empty string", f"{where}.type")
    if not isinstance(val, str) or not val:
        raise WireError(f"{where}.value must be a non-empty string", f"{where}.value")
    check_fields(obj, {"type", "value"}, where)
    return t, val


def get_mor(body: JSON, key: str, where: str) -> tuple[str, str]:
    return as_mor(req(body, key, where), f"{where}.{key}")
