"""The client's VI/JSON codec: references, boxing of ``anyType`` slots, faults, timestamps.

Kept deliberately thin: pages of 1,000 objects are parsed with plain dict access, so nothing
here builds intermediate objects for values that callers do not look at.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from tui.vsphere.errors import BadResponse
from tui.vsphere.models import Fault, FaultMessage

MOR = "ManagedObjectReference"


def mor(mo_type: str, value: str) -> dict[str, str]:
    return {"_typeName": MOR, "type": mo_type, "value": value}


def method_path(mo_type: str, moid: str, member: str) -> str:
    """``/{Type}/{moId}/{member}``; the moId percent-encoded (session ids hold ``[`` ``]``)."""
    return f"/{mo_type}/{quote(moid, safe='-._~')}/{member}"


def ref_value(result: Any, what: str) -> str:
    """The moid of a ManagedObjectReference result; BadResponse when the answer is not one."""
    if isinstance(result, dict):
        v = result.get("value")
        if isinstance(v, str) and v:
            return v
    raise BadResponse(f"{what} did not return a ManagedObjectReference")


def box(wsdl_type: str, value: Any) -> dict[str, Any]:
    return {"_typeName": wsdl_type, "_value": value}


def unbox(value: Any) -> Any:
    """The plain value of an ``anyType`` slot: ``{"_typeName": "int", "_value": 5}`` → ``5``.

    Data objects and MORs (no ``_value``) are returned unchanged; boxed arrays become lists.
    """
    if type(value) is dict and "_value" in value:
        return value["_value"]
    return value


def parse_time(value: Any) -> datetime | None:
    """An xsd:dateTime (``2026-01-01T10:05:00.150Z``) → aware datetime; None when unset/invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


_FAULT_META = frozenset({"_typeName", "faultstring", "faultMessage", "faultCause"})


def _messages(raw: Any) -> tuple[FaultMessage, ...]:
    if not isinstance(raw, list):
        return ()
    out: list[FaultMessage] = []
    for m in raw:
        if not isinstance(m, dict):
            continue
        args: list[tuple[str, Any]] = []
        for a in m.get("arg") or ():
            if isinstance(a, dict) and "key" in a:
                args.append((str(a["key"]), unbox(a.get("value"))))
        msg = m.get("message")
        out.append(
            FaultMessage(
                key=str(m.get("key", "")),
                message=msg if isinstance(msg, str) else None,
                args=tuple(args),
            )
        )
    return tuple(out)


def _field_value(v: Any) -> Any:
    if isinstance(v, dict):
        if v.get("_typeName") == MOR:
            return v.get("value")
        return unbox(v)
    return v


def decode_fault(body: Any) -> Fault:
    """A VI/JSON fault object (500 body, ``TaskInfo.error``, ``faultCause``) → ``Fault``.

    Message: ``faultstring``, else the ``faultMessage`` texts, else the type name.
    """
    if not isinstance(body, dict):
        return Fault(type_name="MethodFault", message="MethodFault", raw={})
    type_name = body.get("_typeName")
    if not isinstance(type_name, str) or not type_name:
        type_name = "MethodFault"
    messages = _messages(body.get("faultMessage"))
    text = body.get("faultstring")
    if not isinstance(text, str) or not text.strip():
        text = " ".join(m.message.strip() for m in messages if m.message and m.message.strip())
    if not text:
        text = type_name
    text = " ".join(text.split())  # one line
    cause_raw = body.get("faultCause")
    cause = decode_fault(cause_raw) if isinstance(cause_raw, dict) else None
    fields = {k: _field_value(v) for k, v in body.items() if k not in _FAULT_META}
    return Fault(
        type_name=type_name,
        message=text,
        messages=messages,
        cause=cause,
        fields=fields,
        raw=body,
    )


def is_fault_body(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("_typeName"), str)
