"""Test-time oracle: check VI/JSON bodies against VMware's own type registry (pyVmomi).

Everything guestnet puts on the wire (requests the client sends, bodies the simulator returns)
can be checked here. pyVmomi speaks SOAP; it is used only for its type registry
(``pyVmomi.VmomiSupport.GetWsdlType("urn:vim25", name)``): fields, base types, the optional and
secret flags, enum values, methods with their parameters, results and declared faults.

Public API (a contract for the other test modules; ``from tests.oracle import ...``)::

    validate_data(value, wsdl_type, *, path="$", release=None)
    validate_request(managed_type, method, body, *, release=None)
    validate_response(managed_type, method, body, *, release=None)
    validate_property(managed_type, prop_name, body, *, release=None)  # dotted paths too
    validate_fault(body, *, method=None, allow_faultstring=True, release=None)
    validate_check(check, body)  # EXAMPLES.md labels: "request SessionManager.Login", "fault *"
    RegistryError                # AssertionError subclass; str(e) == "<json path>: <what>"

``release`` (e.g. ``"8.0.1.0"``), when given, also rejects fields and parameters that the
registry introduces in a later release.

VI/JSON wire rules enforced (see ../shared/vijson/README.md):

- every data object carries ``_typeName``, naming the declared type or one of its subtypes;
  request bodies are plain parameter objects without a top-level ``_typeName``;
- no unknown fields, no missing required fields, no JSON ``null``, no empty arrays in fields or
  parameters (unset fields and empty arrays are left out; a whole property / result / boxed
  ``_value`` may be ``[]``);
- primitives have the right JSON type (ints within their XSD range, ``boolean`` a JSON bool,
  ``dateTime`` an ISO-8601 string with a zone, ``base64Binary`` valid base64); enums take
  their values;
- ``anyType`` slots hold a boxed ``{"_typeName": <wsdl name>, "_value": ...}`` or a data
  object / MOR with its own ``_typeName``;
- MethodFault-typed fields hold a bare fault (never a ``LocalizedMethodFault`` wrapper);
  ``faultstring`` exists only at the top of a fault body;
- a ManagedObjectReference has string ``type`` / ``value``; where the registry names the
  referenced managed type, ``type`` is it or a subtype;
- context rules the registry implies: ``PropertySpec.pathSet`` / ``TraversalSpec.path`` name
  real properties of their ``type``; each ``DynamicProperty`` of an ``ObjectContent`` and each
  assigning ``PropertyChange`` of an ``ObjectUpdate`` names a real property of the object's
  type and boxes its value as that property's declared type.

Two facts are not in the registry and are listed here explicitly: the types the API reference
calls abstract (``_ABSTRACT``), and string fields whose values the reference takes from an
enum (``_ENUM_HINTED``).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from pyVmomi import VmomiSupport as _V

__all__ = [
    "RegistryError",
    "secret_values",
    "validate_check",
    "validate_data",
    "validate_fault",
    "validate_http",
    "validate_property",
    "validate_request",
    "validate_response",
]

_NS_VIM = "urn:vim25"
_NS_XSD = _V.XMLNS_XSD
_MOR = "ManagedObjectReference"

# The registry has no "abstract" flag. These are the types the vSphere API reference describes as an
# abstract base / "base type for all ..." that a body must never name as its own _typeName.
_ABSTRACT = frozenset({"DataObject", "DynamicData", "GuestAuthentication", "TaskReason"})

# Fields the registry types as plain string while the API reference documents the values as an enum.
# (declaring type, field) -> enum WSDL name; the enum's values still come from the registry.
_ENUM_HINTED = {
    ("GuestInfo", "toolsRunningStatus"): "VirtualMachineToolsRunningStatus",
    ("GuestInfo", "toolsVersionStatus2"): "VirtualMachineToolsVersionStatus",
    ("GuestInfo", "guestState"): "VirtualMachineGuestState",
    ("GuestInfoCustomizationInfo", "customizationStatus"): "GuestInfoCustomizationStatus",
    ("VirtualMachineGuestSummary", "toolsRunningStatus"): "VirtualMachineToolsRunningStatus",
    ("VirtualMachineGuestSummary", "toolsVersionStatus2"): "VirtualMachineToolsVersionStatus",
}

# Fields pyVmomi adds to the registry that the WSDL (and so VI/JSON) does not have.
_PYVMOMI_ONLY = frozenset({("MethodFault", "msg")})

# XSD integer types: WSDL name -> inclusive range.
_INT_RANGES = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
_STRING_ALIASES = frozenset({"TypeName", "MethodName", "PropertyPath", "Link"})
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


class RegistryError(AssertionError):
    """A body does not match the registry. ``str(e)`` is ``"<json path>: <what is wrong>"``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _fail(path: str, message: str) -> RegistryError:
    return RegistryError(path, message)


# --------------------------------------------------------------------------- registry look-ups


@dataclass(frozen=True)
class _Field:
    name: str
    type: Any  # pyVmomi type (class)
    optional: bool
    secret: bool
    version: str
    declared_in: str  # WSDL name of the declaring type


@dataclass(frozen=True)
class _Method:
    managed_type: str
    name: str
    params: tuple[_Field, ...]
    result: Any
    result_optional: bool
    faults: tuple[Any, ...]  # fault classes
    version: str


@cache
def _lookup(name: str) -> Any:
    """The registry class for a WSDL type name, or None."""
    if name == "ArrayOfManagedObjectReference":
        return _V.GetWsdlType(_NS_VIM, "ArrayOfManagedObject")
    for ns in (_NS_VIM, _NS_XSD):
        try:
            return _V.GetWsdlType(ns, name)
        except KeyError:
            continue
    return None


@cache
def _wsdl_name(t: Any) -> str:
    if _is_array(t):
        item = t.Item
        if _is_managed(item):
            return "ArrayOfManagedObjectReference"
        return "ArrayOf" + _V.Capitalize(_wsdl_name(item))
    if t is str:
        return "string"
    if _is_managed(t):
        return str(t._wsdlName)
    return str(_V.GetWsdlName(t))


def _is_array(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, list)


def _is_managed(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, _V.ManagedObject)


def _is_data(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, _V.DataObject)


def _is_enum(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, _V.Enum)


def _is_fault(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, _METHOD_FAULT)


_METHOD_FAULT = _V.GetWsdlType(_NS_VIM, "MethodFault")
_RUNTIME_FAULT = _V.GetWsdlType(_NS_VIM, "RuntimeFault")
_LOCALIZED_METHOD_FAULT = _V.GetWsdlType(_NS_VIM, "LocalizedMethodFault")


def _type_or_fail(name: str, path: str, what: str = "type") -> Any:
    t = _lookup(name)
    if t is None:
        raise _fail(path, f"unknown {what} {name!r} (not in the vim25 type registry)")
    return t


@cache
def _fields(t: Any) -> dict[str, _Field]:
    """All fields of a data type or properties of a managed type, inherited ones included."""
    out: dict[str, _Field] = {}
    for cls in reversed(t.__mro__):
        own = cls.__dict__.get("_propList")
        if not own:
            continue
        declared_in = cls.__dict__.get("_wsdlName", cls.__name__)
        for p in own:
            if (declared_in, p.name) in _PYVMOMI_ONLY:
                continue
            ptype = p.type
            if getattr(p, "expectedType", None) and p.flags & _V.F_LINK:
                ptype = _V.GetVmodlType(p.expectedType)
            out[p.name] = _Field(
                name=p.name,
                type=ptype,
                optional=bool(p.flags & _V.F_OPTIONAL),
                secret=bool(p.flags & _V.F_SECRET),
                version=p.version,
                declared_in=declared_in,
            )
    return out


@cache
def _method(managed_type: str, method: str) -> _Method:
    t = _lookup(managed_type)
    if not _is_managed(t):
        raise _fail("$", f"{managed_type!r} is not a managed object type in the registry")
    for cls in t.__mro__:
        for info in cls.__dict__.get("_methodInfo", {}).values():
            if info.wsdlName != method:
                continue
            params = tuple(
                _Field(
                    name=p.name,
                    type=p.type,
                    optional=bool(p.flags & _V.F_OPTIONAL),
                    secret=bool(p.flags & _V.F_SECRET),
                    version=p.version,
                    declared_in=f"{managed_type}.{method}",
                )
                for p in info.params
            )
            return _Method(
                managed_type=managed_type,
                name=method,
                params=params,
                result=info.result,
                result_optional=bool(info.resultFlags & _V.F_OPTIONAL),
                faults=tuple(_V.GetVmodlType(f) for f in info.faults),
                version=info.version,
            )
    raise _fail("$", f"{managed_type} has no method {method!r} in the registry")


@cache
def _release_version(release: str) -> str:
    for version, rid in _V.versionIdMap.items():
        if rid == release and version.startswith("vim.version."):
            return str(version)
    raise _fail("$", f"unknown API release {release!r}")


@cache
def _in_release(item_version: str, release: str) -> bool:
    return bool(_V.IsChildVersion(_release_version(release), item_version))


def _since(version: str) -> str:
    return str(_V.versionIdMap.get(version) or version)


@cache
def _resolve_path(t: Any, dotted: str) -> tuple[Any, bool, str | None] | str:
    """Resolve a property path on a managed or data type.

    Returns (type, optional, enum hint) or a string saying why it does not resolve.
    """
    current = t
    optional = False
    hint: str | None = None
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        # The first step names a property of the managed object; later steps go into data
        # objects only (a path never steps through a reference or into an array).
        if not (_is_managed(current) if i == 0 else _is_data(current)):
            where = ".".join(parts[:i])
            what = "a reference" if _is_managed(current) else _wsdl_name(current)
            return f"{where!r} is {what}, which has no property {part!r}"
        field = _fields(current).get(part)
        if field is None:
            return f"{_wsdl_name(current)} has no property {part!r}"
        optional = optional or field.optional
        hint = _ENUM_HINTED.get((field.declared_in, part))
        current = field.type
    return current, optional, hint


# --------------------------------------------------------------------------- value checks


def _json_kind(value: Any) -> str:
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
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class _Checker:
    def __init__(self, release: str | None) -> None:
        self.release = release
        if release is not None:
            _release_version(release)
        self.secrets: dict[str, Any] = {}  # JSON path -> value of fields flagged secret

    # -- dispatch ----------------------------------------------------------------------------

    def value(
        self, value: Any, t: Any, path: str, *, boxed: bool = False, hint: str | None = None
    ) -> None:
        """Check ``value`` against registry type ``t``; ``boxed``: a whole value (may be [])."""
        if value is None:
            raise _fail(path, "JSON null is not allowed (leave unset fields out)")
        if t is object:
            self.any(value, path)
            return
        if _is_array(t):
            if not isinstance(value, list):
                raise _fail(
                    path, f"expected an array of {_wsdl_name(t.Item)}, got {_json_kind(value)}"
                )
            if not value and not boxed:
                raise _fail(path, "empty array (VI/JSON leaves empty arrays out)")
            for i, item in enumerate(value):
                self.value(item, t.Item, f"{path}[{i}]", hint=hint)
            return
        if isinstance(value, list):
            raise _fail(path, f"array given where a single {_wsdl_name(t)} is declared")
        if _is_managed(t):
            self.mor(value, t, path)
        elif _is_data(t):
            self.data(value, t, path)
        elif _is_enum(t):
            self.enum(value, t, path)
        else:
            self.primitive(value, t, path, hint)

    # -- primitives --------------------------------------------------------------------------

    def primitive(self, value: Any, t: Any, path: str, hint: str | None) -> None:
        name = _wsdl_name(t)
        kind = _json_kind(value)
        if name in _INT_RANGES:
            if kind != "number" or not isinstance(value, int):
                raise _fail(path, f"expected {name} (JSON integer), got {kind} {value!r}")
            lo, hi = _INT_RANGES[name]
            if not lo <= value <= hi:
                raise _fail(path, f"{value} is out of range for {name} [{lo}, {hi}]")
        elif name in ("float", "double"):
            if kind != "number":
                raise _fail(path, f"expected {name} (JSON number), got {kind} {value!r}")
            if not math.isfinite(value):
                raise _fail(path, f"{value!r} is not a finite number (not valid JSON)")
        elif name == "boolean":
            if kind != "boolean":
                raise _fail(path, f"expected boolean (JSON true/false), got {kind} {value!r}")
        elif kind != "string":
            raise _fail(path, f"expected {name} (JSON string), got {kind} {value!r}")
        elif name == "dateTime":
            self.datetime(value, path)
        elif name == "base64Binary":
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise _fail(path, f"{value!r} is not valid base64") from None
        elif name == "TypeName":
            if _lookup(value) is None:
                raise _fail(path, f"TypeName {value!r} is not a type in the registry")
        elif name == "MethodName":
            try:
                _V.GuessWsdlMethod(value)
            except KeyError:
                raise _fail(path, f"MethodName {value!r} is not a method in the registry") from None
        elif name == "PropertyPath":
            if not value:
                raise _fail(path, "empty PropertyPath")
        elif hint is not None:
            values = _lookup(hint).values
            if value not in values:
                raise _fail(
                    path,
                    f"{value!r} is not a value of {hint} (documented values: {', '.join(values)})",
                )

    @staticmethod
    def datetime(value: str, path: str) -> None:
        if not _DATETIME_RE.match(value):
            raise _fail(
                path,
                f"dateTime {value!r} is not ISO-8601 'YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)'",
            )
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        m = re.match(r"^(.*?\.)(\d+)(.*)$", text)
        if m and len(m.group(2)) > 6:  # datetime parses at most microseconds
            text = m.group(1) + m.group(2)[:6] + m.group(3)
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise _fail(path, f"dateTime {value!r} is not a valid date and time") from None

    def enum(self, value: Any, t: Any, path: str) -> None:
        name = _wsdl_name(t)
        if not isinstance(value, str):
            raise _fail(path, f"expected enum {name} (JSON string), got {_json_kind(value)}")
        if value not in t.values:
            raise _fail(path, f"{value!r} is not a value of {name} ({', '.join(t.values)})")

    # -- references --------------------------------------------------------------------------

    def mor(self, value: Any, expected: Any, path: str) -> None:
        want = _wsdl_name(expected)
        if not isinstance(value, dict):
            raise _fail(
                path, f"expected a ManagedObjectReference to {want}, got {_json_kind(value)}"
            )
        tn = value.get("_typeName")
        if tn is None:
            raise _fail(path, f"_typeName missing on a ManagedObjectReference (to {want})")
        if tn != _MOR:
            raise _fail(path, f"_typeName {tn!r} where a ManagedObjectReference to {want} belongs")
        for key in value:
            if key not in ("_typeName", "type", "value"):
                raise _fail(f"{path}.{key}", "unknown field of ManagedObjectReference")
        for key in ("type", "value"):
            if key not in value:
                raise _fail(path, f"missing required field {key!r} of ManagedObjectReference")
            if not isinstance(value[key], str) or not value[key]:
                raise _fail(f"{path}.{key}", f"expected a non-empty string, got {value[key]!r}")
        actual = _lookup(value["type"])
        if not _is_managed(actual):
            raise _fail(f"{path}.type", f"{value['type']!r} is not a managed object type")
        self.check_release_of(value["type"], actual._version, f"{path}.type")
        if not issubclass(actual, expected):
            raise _fail(f"{path}.type", f"{value['type']!r} is not {want} or a subtype of it")

    # -- data objects ------------------------------------------------------------------------

    def data(self, value: Any, declared: Any, path: str, *, top_fault: bool = False) -> None:
        want = _wsdl_name(declared)
        if not isinstance(value, dict):
            raise _fail(path, f"expected a {want} object, got {_json_kind(value)}")
        tn = value.get("_typeName")
        if tn is None:
            raise _fail(path, f"_typeName missing on a data object (declared {want})")
        if not isinstance(tn, str):
            raise _fail(f"{path}._typeName", f"expected a string, got {_json_kind(tn)}")
        if tn == _MOR:
            raise _fail(path, f"a ManagedObjectReference where a {want} object belongs")
        actual = _type_or_fail(tn, f"{path}._typeName")
        if actual is _LOCALIZED_METHOD_FAULT:
            raise _fail(
                path,
                "LocalizedMethodFault wrapper: VI/JSON puts the bare MethodFault object here "
                "(the wrapper exists only in SOAP)",
            )
        if not _is_data(actual):
            raise _fail(f"{path}._typeName", f"{tn!r} is not a data object type")
        if not issubclass(actual, declared):
            raise _fail(f"{path}._typeName", f"{tn!r} is not {want} or a subtype of it")
        self.check_release_of(tn, actual._version, f"{path}._typeName")
        if tn in _ABSTRACT:
            subs = ""
            if tn == want:
                subs = " (declared type is abstract: name a concrete subtype)"
            raise _fail(f"{path}._typeName", f"{tn!r} is abstract{subs}")
        fields = _fields(actual)
        is_fault = _is_fault(actual)
        for key, item in value.items():
            if key == "_typeName":
                continue
            kpath = f"{path}.{key}"
            if key == "faultstring" and is_fault:
                if not top_fault:
                    raise _fail(kpath, "faultstring is allowed only at the top of a fault body")
                if not isinstance(item, str):
                    raise _fail(kpath, f"expected a string, got {_json_kind(item)}")
                continue
            field = fields.get(key)
            if field is None:
                raise _fail(kpath, f"unknown field of {tn}{_did_you_mean(key, fields)}")
            self.check_release(field, kpath)
            if field.secret:
                self.secrets[kpath] = item
            self.value(item, field.type, kpath, hint=_ENUM_HINTED.get((field.declared_in, key)))
        for name, field in fields.items():
            if not field.optional and name not in value:
                raise _fail(path, f"missing required field {name!r} of {tn}")
        post = _POST_CHECKS.get(tn)
        if post is not None:
            post(self, value, path)

    def check_release(self, field: _Field, path: str) -> None:
        self.check_release_of(field.name, field.version, path)

    def check_release_of(self, what: str, version: str, path: str) -> None:
        if self.release is not None and not _in_release(version, self.release):
            raise _fail(
                path,
                f"{what!r} needs API release {_since(version)}, the body is for {self.release}",
            )

    # -- anyType slots -----------------------------------------------------------------------

    def any(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail(
                path,
                f"anyType slot holds an unboxed {_json_kind(value)}; box it as "
                '{"_typeName": "<wsdl name>", "_value": ...}',
            )
        tn = value.get("_typeName")
        if tn is None:
            raise _fail(path, "_typeName missing in an anyType slot")
        if not isinstance(tn, str):
            raise _fail(f"{path}._typeName", f"expected a string, got {_json_kind(tn)}")
        if tn == _MOR:
            self.mor(value, _V.ManagedObject, path)
            return
        t = _type_or_fail(tn, f"{path}._typeName")
        if _is_data(t):
            self.data(value, _V.DataObject, path)
            return
        if _is_managed(t):
            raise _fail(
                f"{path}._typeName",
                f"{tn!r} is a managed type; a reference is "
                '{"_typeName": "ManagedObjectReference", "type": ..., "value": ...}',
            )
        if t is object or t is type(None):
            raise _fail(f"{path}._typeName", f"{tn!r} cannot box a value")
        self.boxed_shape(value, tn, path)
        self.value(value["_value"], t, f"{path}._value", boxed=True)

    @staticmethod
    def boxed_shape(value: dict[str, Any], tn: str, path: str) -> None:
        for key in value:
            if key not in ("_typeName", "_value"):
                raise _fail(f"{path}.{key}", f"unknown field in a boxed {tn}")
        if "_value" not in value:
            raise _fail(path, f"boxed {tn} has no _value")

    def any_as(self, value: Any, declared: Any, path: str, hint: str | None) -> None:
        """An anyType slot whose content must match a declared property type."""
        if declared is object:
            self.any(value, path)
            return
        if not isinstance(value, dict) or not isinstance(value.get("_typeName"), str):
            self.any(value, path)  # raises: unboxed value or a bad / missing _typeName
        if _is_data(declared) or _is_managed(declared):
            self.value(value, declared, path)
            return
        tn = value["_typeName"]
        allowed = {_wsdl_name(declared)}
        item = declared.Item if _is_array(declared) else declared
        if _wsdl_name(item) in _STRING_ALIASES:  # also boxed as plain strings
            allowed.add("ArrayOfString" if _is_array(declared) else "string")
        if tn not in allowed:
            raise _fail(
                f"{path}._typeName",
                f"{tn!r} boxes a value declared {_wsdl_name(declared)}; expected "
                + " or ".join(repr(a) for a in sorted(allowed)),
            )
        self.boxed_shape(value, tn, path)
        self.value(value["_value"], declared, f"{path}._value", boxed=True, hint=hint)


def _did_you_mean(key: str, fields: Iterable[str]) -> str:
    for name in fields:
        if name.lower() == key.lower():
            return f" (did you mean {name!r}?)"
    return ""


# --------------------------------------------------------------------------- context checks


def _managed_or_none(name: Any) -> Any:
    t = _lookup(name) if isinstance(name, str) else None
    return t if _is_managed(t) else None


def _post_property_spec(c: _Checker, value: dict[str, Any], path: str) -> None:
    t = _managed_or_none(value["type"])
    if t is None:
        raise _fail(f"{path}.type", f"{value['type']!r} is not a managed object type")
    for i, p in enumerate(value.get("pathSet", [])):
        if "[" in p:
            continue
        r = _resolve_path(t, p)
        if isinstance(r, str):
            raise _fail(f"{path}.pathSet[{i}]", r)


def _post_traversal_spec(c: _Checker, value: dict[str, Any], path: str) -> None:
    t = _managed_or_none(value["type"])
    if t is None:
        raise _fail(f"{path}.type", f"{value['type']!r} is not a managed object type")
    r = _resolve_path(t, value["path"])
    if isinstance(r, str):
        raise _fail(f"{path}.path", r)


def _check_named_values(
    c: _Checker, obj_type: str, items: list[dict[str, Any]], path: str, val_key: str
) -> None:
    t = _managed_or_none(obj_type)
    if t is None:
        return
    for i, item in enumerate(items):
        name = item["name"]
        ipath = f"{path}[{i}]"
        if "[" in name:
            continue
        r = _resolve_path(t, name)
        if isinstance(r, str):
            raise _fail(f"{ipath}.name", r)
        declared, _optional, hint = r
        if val_key in item and item.get("op", "assign") == "assign":
            c.any_as(item[val_key], declared, f"{ipath}.{val_key}", hint)


def _post_object_content(c: _Checker, value: dict[str, Any], path: str) -> None:
    obj_type = value["obj"]["type"]
    _check_named_values(c, obj_type, value.get("propSet", []), f"{path}.propSet", "val")
    t = _managed_or_none(obj_type)
    for i, missing in enumerate(value.get("missingSet", [])):
        r = _resolve_path(t, missing["path"]) if t is not None else None
        if isinstance(r, str) and "[" not in missing["path"]:
            raise _fail(f"{path}.missingSet[{i}].path", r)


def _post_object_update(c: _Checker, value: dict[str, Any], path: str) -> None:
    obj_type = value["obj"]["type"]
    _check_named_values(c, obj_type, value.get("changeSet", []), f"{path}.changeSet", "val")


_POST_CHECKS = {
    "PropertySpec": _post_property_spec,
    "TraversalSpec": _post_traversal_spec,
    "ObjectContent": _post_object_content,
    "ObjectUpdate": _post_object_update,
}


# --------------------------------------------------------------------------- public API


def validate_data(
    value: Any, wsdl_type: str, *, path: str = "$", release: str | None = None
) -> None:
    """Check a VI/JSON value against a WSDL type name.

    ``wsdl_type`` may be a data type (``"TaskInfo"``), a primitive (``"string"``, ``"int"``), an
    array (``"ArrayOfString"``), an enum, ``"anyType"``, ``"ManagedObjectReference"`` (any managed
    object) or a managed type name (a reference that must point at that type or a subtype).
    """
    _data(_Checker(release), value, wsdl_type, path)


def validate_request(
    managed_type: str, method: str, body: dict[str, Any] | None, *, release: str | None = None
) -> None:
    """Check a method's request body: a plain object of its parameters except ``_this``.

    ``None`` stands for no body, allowed when the method has no required parameter.
    """
    _request(_Checker(release), managed_type, method, body)


def validate_response(
    managed_type: str, method: str, body: Any, *, release: str | None = None
) -> None:
    """Check a method's return value (``None`` = no body, for void or an unset optional result)."""
    _response(_Checker(release), managed_type, method, body)


def validate_property(
    managed_type: str, prop_name: str, body: Any, *, release: str | None = None
) -> None:
    """Check the value of a property GET; ``prop_name`` may be dotted (``runtime.powerState``).

    ``None`` (no body) is accepted only where the property (or a step of its path) is optional.
    """
    _property(_Checker(release), managed_type, prop_name, body)


def validate_fault(
    body: Any,
    *,
    method: tuple[str, str] | None = None,
    allow_faultstring: bool = True,
    release: str | None = None,
) -> None:
    """Check an HTTP 500 body: a bare MethodFault subtype.

    With ``method=(managed_type, method_name)`` the fault must be one the method declares, a subtype
    of one, or a RuntimeFault subtype (which any method may raise).
    """
    _fault(_Checker(release), body, method, allow_faultstring)


def validate_check(check: str, body: Any, *, release: str | None = None) -> None:
    """Dispatch on an EXAMPLES.md check label.

    ``"request T.M"``, ``"response T.M"``, ``"property T.p"``, ``"fault T.M"``, ``"fault *"``
    (any fault), ``"void T.M"`` (no body), ``"data WsdlType"``.
    """
    _check(_Checker(release), check, body)


def secret_values(check: str, body: Any, *, release: str | None = None) -> dict[str, Any]:
    """Validate like :func:`validate_check` and return the registry-``secret`` values by JSON path.

    E.g. ``secret_values("request SessionManager.Login", body) == {"$.password": "..."}``; use it
    to assert that no log line, screen or file ever contains one of these values.
    """
    c = _Checker(release)
    _check(c, check, body)
    return dict(c.secrets)


_VIM_PATH = re.compile(
    r"^/sdk/vim25/(?P<release>[^/]+)/(?P<type>[^/]+)/(?P<moid>[^/]+)/(?P<member>[^/]+)$"
)


def validate_http(
    http_method: str,
    url_path: str,
    request_body: Any,
    status: int,
    response_body: Any,
    *,
    check_release: bool = True,
) -> None:
    """Check one VI/JSON exchange: ``POST /sdk/vim25/{release}/{Type}/{moId}/{Method}`` or
    ``GET /sdk/vim25/{release}/{Type}/{moId}/{property}``.

    Bodies are decoded JSON (``None`` = no body). A method call answers 200 with its result, 204
    for void or an unset optional result, or 500 with a fault the method may raise; a property
    GET answers 200 with the value, 204 for an unset optional property, or 500 with a fault.
    With ``check_release`` the ``{release}`` in the path also gates fields and types.
    Raises ``ValueError`` for a path that is not a VI/JSON call (filter on ``/sdk/vim25/``).
    """
    path = url_path.split("?", 1)[0]
    m = _VIM_PATH.match(path)
    if m is None:
        raise ValueError(f"{url_path!r} is not /sdk/vim25/{{release}}/{{Type}}/{{moId}}/{{member}}")
    release = m["release"] if check_release else None
    c = _Checker(release)
    managed, member = m["type"], m["member"]
    verb = http_method.upper()
    if verb == "POST":
        where = f"POST {managed}.{member}"
        _with_context(where + " request", _request, c, managed, member, request_body)
        if status == 500:
            _with_context(where + " fault", _fault, c, response_body, (managed, member), True)
            return
        meth = _method(managed, member)
        if status == 204:
            if meth.result is not type(None) and not meth.result_optional:
                raise _fail("$", f"{where}: 204 but the method must return a value")
        elif status == 200:
            if meth.result is type(None):
                raise _fail("$", f"{where}: a void method answers 204, not 200")
            if response_body is None:
                raise _fail("$", f"{where}: 200 without a body (an unset result answers 204)")
        else:
            raise _fail("$", f"{where}: unexpected HTTP status {status} (200, 204 or 500)")
        _with_context(where + " response", _response, c, managed, member, response_body)
    elif verb == "GET":
        where = f"GET {managed}.{member}"
        if request_body is not None:
            raise _fail("$", f"{where}: a property GET has no request body")
        if status == 500:
            _with_context(where + " fault", _fault, c, response_body, None, True)
            return
        if status == 200 and response_body is None:
            raise _fail("$", f"{where}: 200 without a body (an unset property answers 204)")
        if status not in (200, 204):
            raise _fail("$", f"{where}: unexpected HTTP status {status} (200, 204 or 500)")
        _with_context(where + " response", _property, c, managed, member, response_body)
    else:
        raise _fail("$", f"{verb} {path}: VI/JSON uses POST for methods and GET for properties")


def _with_context(where: str, fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except RegistryError as e:
        raise RegistryError(e.path, f"{e.message} [{where}]") from None


# --------------------------------------------------------------------------- implementations


def _data(c: _Checker, value: Any, wsdl_type: str, path: str) -> None:
    if wsdl_type == _MOR:
        c.mor(value, _V.ManagedObject, path)
        return
    t = _lookup(wsdl_type)
    if t is None:
        raise _fail(path, f"unknown WSDL type {wsdl_type!r}")
    if t is type(None):
        if value is not None:
            raise _fail(path, "void: no value expected")
        return
    c.value(value, t, path, boxed=True)


def _method_in_release(c: _Checker, m: _Method) -> None:
    c.check_release_of(f"{m.managed_type}.{m.name}", m.version, "$")


def _request(c: _Checker, managed_type: str, method: str, body: Any) -> None:
    m = _method(managed_type, method)
    _method_in_release(c, m)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise _fail("$", f"request body must be a JSON object, got {_json_kind(body)}")
    if "_typeName" in body:
        raise _fail(
            "$._typeName",
            f"a request body ({method}RequestType) is a plain object without _typeName",
        )
    params = {p.name: p for p in m.params}
    for key, value in body.items():
        kpath = f"$.{key}"
        p = params.get(key)
        if p is None:
            if key == "_this":
                raise _fail(kpath, "_this goes in the URL path, not the body")
            raise _fail(
                kpath,
                f"unknown parameter of {managed_type}.{method}{_did_you_mean(key, params)}",
            )
        c.check_release(p, kpath)
        if p.secret:
            c.secrets[kpath] = value
        c.value(value, p.type, kpath)
    for p in m.params:
        if not p.optional and p.name not in body:
            raise _fail("$", f"missing required parameter {p.name!r} of {managed_type}.{method}")


def _response(c: _Checker, managed_type: str, method: str, body: Any) -> None:
    m = _method(managed_type, method)
    _method_in_release(c, m)
    if m.result is type(None):
        if body is not None:
            raise _fail("$", f"{managed_type}.{method} returns void: expected no body (204)")
        return
    if body is None:
        if m.result_optional:
            return
        raise _fail("$", f"{managed_type}.{method} must return {_wsdl_name(m.result)}, got no body")
    c.value(body, m.result, "$", boxed=True)


def _property(c: _Checker, managed_type: str, prop_name: str, body: Any) -> None:
    t = _lookup(managed_type)
    if not _is_managed(t):
        raise _fail("$", f"{managed_type!r} is not a managed object type in the registry")
    r = _resolve_path(t, prop_name)
    if isinstance(r, str):
        raise _fail("$", r)
    declared, optional, hint = r
    current = t
    for part in prop_name.split("."):
        field = _fields(current)[part]
        c.check_release(field, "$")
        current = field.type
    if body is None:
        if optional:
            return
        raise _fail("$", f"{managed_type}.{prop_name} is required, got no body")
    c.value(body, declared, "$", boxed=True, hint=hint)


def _fault(c: _Checker, body: Any, method: tuple[str, str] | None, allow_faultstring: bool) -> None:
    c.data(body, _METHOD_FAULT, "$", top_fault=allow_faultstring)
    if method is None:
        return
    m = _method(*method)
    actual = _lookup(body["_typeName"])
    if issubclass(actual, _RUNTIME_FAULT) or any(issubclass(actual, f) for f in m.faults):
        return
    declared = ", ".join(_wsdl_name(f) for f in m.faults) or "none"
    raise _fail(
        "$._typeName",
        f"{body['_typeName']!r} is not a RuntimeFault and not declared by "
        f"{m.managed_type}.{m.name} (declares: {declared})",
    )


def _check(c: _Checker, check: str, body: Any) -> None:
    kind, _, target = check.strip().partition(" ")
    target = target.strip()
    if kind == "data":
        _data(c, body, target, "$")
        return
    if kind == "fault" and target == "*":
        _fault(c, body, None, True)
        return
    managed, dot, member = target.partition(".")
    if not dot or not member:
        raise ValueError(f"check {check!r}: expected '<kind> <ManagedType>.<member>'")
    if kind == "request":
        _request(c, managed, member, body)
    elif kind == "response":
        _response(c, managed, member, body)
    elif kind == "property":
        _property(c, managed, member, body)
    elif kind == "fault":
        _fault(c, body, (managed, member), True)
    elif kind == "void":
        m = _method(managed, member)
        if m.result is not type(None):
            raise _fail("$", f"{managed}.{member} is not void: returns {_wsdl_name(m.result)}")
        _response(c, managed, member, body)
    else:
        raise ValueError(f"check {check!r}: unknown kind {kind!r}")
