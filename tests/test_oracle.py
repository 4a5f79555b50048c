"""Tests of the type-registry oracle (tests/oracle.py)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.oracle import (
    _ABSTRACT,
    _ENUM_HINTED,
    RegistryError,
    _fields,
    _lookup,
    secret_values,
    validate_check,
    validate_data,
    validate_fault,
    validate_http,
    validate_property,
    validate_request,
    validate_response,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
EXAMPLES = SHARED / "vijson" / "EXAMPLES.md"

# --------------------------------------------------------------------------- valid bodies


def _mor(type_: str, value: str) -> dict[str, str]:
    return {"_typeName": "ManagedObjectReference", "type": type_, "value": value}


LOGIN = {"userName": "administrator@vsphere.local", "password": "pw", "locale": "en"}

START = {
    "vm": _mor("VirtualMachine", "vm-42"),
    "auth": {
        "_typeName": "NamePasswordAuthentication",
        "interactiveSession": False,
        "username": "root",
        "password": "guest-secret",
    },
}

SPEC = {
    "_typeName": "PropertyFilterSpec",
    "propSet": [
        {
            "_typeName": "PropertySpec",
            "type": "VirtualMachine",
            "pathSet": ["name", "runtime.powerState", "guest.toolsRunningStatus", "parent"],
        }
    ],
    "objectSet": [
        {
            "_typeName": "ObjectSpec",
            "obj": _mor("ContainerView", "session[1]2"),
            "skip": True,
            "selectSet": [
                {
                    "_typeName": "TraversalSpec",
                    "name": "traverseView",
                    "type": "ContainerView",
                    "path": "view",
                    "skip": False,
                }
            ],
        }
    ],
}

RETRIEVE = {"specSet": [SPEC], "options": {"_typeName": "RetrieveOptions", "maxObjects": 500}}

CREATE_FILTER = {"spec": SPEC, "partialUpdates": False}

CONTAINER_VIEW = {
    "container": _mor("Folder", "group-d1"),
    "type": ["VirtualMachine"],
    "recursive": True,
}

RETRIEVE_RESULT = {
    "_typeName": "RetrieveResult",
    "token": "1",
    "objects": [
        {
            "_typeName": "ObjectContent",
            "obj": _mor("VirtualMachine", "vm-42"),
            "propSet": [
                {"_typeName": "DynamicProperty", "name": "name",
                 "val": {"_typeName": "string", "_value": "web-01"}},
                {"_typeName": "DynamicProperty", "name": "parent",
                 "val": _mor("Folder", "group-v3")},
                {"_typeName": "DynamicProperty", "name": "runtime.powerState",
                 "val": {"_typeName": "VirtualMachinePowerState", "_value": "poweredOn"}},
                {"_typeName": "DynamicProperty", "name": "guest.toolsRunningStatus",
                 "val": {"_typeName": "string", "_value": "guestToolsRunning"}},
                {"_typeName": "DynamicProperty", "name": "guest.net",
                 "val": {"_typeName": "ArrayOfGuestNicInfo", "_value": [
                     {"_typeName": "GuestNicInfo", "connected": True, "deviceConfigId": 4000,
                      "ipAddress": ["10.0.0.42"]}]}},
            ],
        }
    ],
}  # fmt: skip

UPDATE_SET = {
    "_typeName": "UpdateSet",
    "version": "2",
    "filterSet": [
        {
            "_typeName": "PropertyFilterUpdate",
            "filter": _mor("PropertyFilter", "session[1]3"),
            "objectSet": [
                {
                    "_typeName": "ObjectUpdate",
                    "kind": "modify",
                    "obj": _mor("VirtualMachine", "vm-42"),
                    "changeSet": [
                        {"_typeName": "PropertyChange", "name": "guest.ipAddress", "op": "assign"},
                        {"_typeName": "PropertyChange", "name": "runtime.powerState",
                         "op": "assign",
                         "val": {"_typeName": "VirtualMachinePowerState", "_value": "poweredOff"}},
                    ],
                },
                {"_typeName": "ObjectUpdate", "kind": "leave",
                 "obj": _mor("VirtualMachine", "vm-44")},
            ],
        }
    ],
}  # fmt: skip

TASK_INFO = {
    "_typeName": "TaskInfo",
    "key": "task-1234",
    "task": _mor("Task", "task-1234"),
    "name": "StartGuestNetwork_Task",
    "descriptionId": "vm.GuestCustomizationManager.startNetwork",
    "entity": _mor("VirtualMachine", "vm-42"),
    "state": "error",
    "cancelled": False,
    "cancelable": False,
    "progress": 40,
    "error": {
        "_typeName": "InvalidGuestLogin",
        "faultMessage": [{"_typeName": "LocalizableMessage", "key": "k", "message": "bad login"}],
    },
    "reason": {"_typeName": "TaskReasonUser", "userName": "VSPHERE.LOCAL\\Administrator"},
    "queueTime": "2026-01-01T10:05:00.000Z",
    "startTime": "2026-01-01T10:05:00.150+01:00",
    "eventChainId": 98765,
}

USER_SESSION = {
    "_typeName": "UserSession",
    "key": "52b1",
    "userName": "VSPHERE.LOCAL\\Administrator",
    "fullName": "Administrator",
    "loginTime": "2026-01-01T10:00:00.123Z",
    "lastActiveTime": "2026-01-01T10:00:00.123Z",
    "locale": "en",
    "messageLocale": "en",
    "extensionSession": False,
    "ipAddress": "10.0.0.5",
    "userAgent": "guestnet/0.1",
    "callCount": 0,
}

FAULT_STRING_BODY = {
    "_typeName": "InvalidState",
    "faultstring": "The operation is not allowed in the current state.",
    "faultMessage": [
        {
            "_typeName": "LocalizableMessage",
            "key": "example.invalidState",
            "arg": [
                {"_typeName": "KeyAnyValue", "key": "vm",
                 "value": {"_typeName": "string", "_value": "web-01"}}
            ],
        }
    ],
}  # fmt: skip

GUEST_INFO = {
    "_typeName": "GuestInfo",
    "toolsStatus": "toolsOk",
    "toolsRunningStatus": "guestToolsRunning",
    "guestState": "running",
    "ipAddress": "10.0.0.42",
}

START_CHECK = "VirtualMachineGuestCustomizationManager.StartGuestNetwork_Task"

# (check, valid body): every mutation below starts from one of these.
BASES: dict[str, tuple[str, Any]] = {
    "login": ("request SessionManager.Login", LOGIN),
    "start": (f"request {START_CHECK}", START),
    "start_result": (f"response {START_CHECK}", _mor("Task", "task-1")),
    "retrieve": ("request PropertyCollector.RetrievePropertiesEx", RETRIEVE),
    "create_filter": ("request PropertyCollector.CreateFilter", CREATE_FILTER),
    "container_view": ("request ViewManager.CreateContainerView", CONTAINER_VIEW),
    "retrieve_result": ("response PropertyCollector.RetrievePropertiesEx", RETRIEVE_RESULT),
    "update_set": ("response PropertyCollector.WaitForUpdatesEx", UPDATE_SET),
    "task_info": ("property Task.info", TASK_INFO),
    "user_session": ("response SessionManager.Login", USER_SESSION),
    "fault": (f"fault {START_CHECK}", FAULT_STRING_BODY),
    "guest": ("property VirtualMachine.guest", GUEST_INFO),
}


@pytest.mark.parametrize("base", sorted(BASES))
def test_valid_bases_pass(base: str) -> None:
    check, body = BASES[base]
    validate_check(check, body)


# --------------------------------------------------------------------------- mutations

Mutator = Callable[[Any], Any]


def _set(path: str, value: Any) -> Mutator:
    """Set the value at a JSON path like ``auth.userName`` or ``objects[0].propSet[1].val``."""

    def mutate(body: Any) -> Any:
        *parents, last = _steps(path)
        target = body
        for step in parents:
            target = target[step]
        target[last] = value
        return body

    return mutate


def _delete(path: str) -> Mutator:
    def mutate(body: Any) -> Any:
        *parents, last = _steps(path)
        target = body
        for step in parents:
            target = target[step]
        del target[last]
        return body

    return mutate


def _rename(path: str, new_name: str) -> Mutator:
    def mutate(body: Any) -> Any:
        *parents, last = _steps(path)
        target = body
        for step in parents:
            target = target[step]
        target[new_name] = target.pop(last)
        return body

    return mutate


def _steps(path: str) -> list[str | int]:
    out: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        out.append(int(index) if index else name)
    return out


_DP = "objects[0].propSet"
_PC = "filterSet[0].objectSet[0].changeSet"

# (id, base, mutation, JSON path the error must name, words the message must contain)
MUTATIONS: list[tuple[str, str, Mutator, str, str]] = [
    ("login-username-lowercase", "login", _rename("userName", "username"),
     "$.username", "did you mean 'userName'"),
    ("guest-auth-userName", "start", _rename("auth.username", "userName"),
     "$.auth.userName", "did you mean 'username'"),
    ("missing-interactiveSession", "start", _delete("auth.interactiveSession"),
     "$.auth", "missing required field 'interactiveSession'"),
    ("abstract-guest-auth", "start",
     _set("auth", {"_typeName": "GuestAuthentication", "interactiveSession": False}),
     "$.auth._typeName", "abstract"),
    ("missing-partialUpdates", "create_filter", _delete("partialUpdates"),
     "$", "missing required parameter 'partialUpdates'"),
    ("missing-retrieve-options", "retrieve", _delete("options"),
     "$", "missing required parameter 'options'"),
    ("request-top-typeName", "retrieve", _set("_typeName", "RetrievePropertiesExRequestType"),
     "$._typeName", "without _typeName"),
    ("request-this-in-body", "login", _set("_this", _mor("SessionManager", "SessionManager")),
     "$._this", "URL path"),
    ("start-result-wrong-mor-type", "start_result", _set("type", "VirtualMachine"),
     "$.type", "not Task"),
    ("start-result-missing-value", "start_result", _delete("value"),
     "$", "missing required field 'value'"),
    ("faultstring-in-task-error", "task_info", _set("error.faultstring", "bad login"),
     "$.error.faultstring", "only at the top"),
    ("localized-method-fault-wrapper", "task_info",
     _set("error", {"_typeName": "LocalizedMethodFault",
                    "fault": {"_typeName": "InvalidGuestLogin"}, "localizedMessage": "x"}),
     "$.error", "LocalizedMethodFault"),
    ("unboxed-any-string", "retrieve_result", _set(f"{_DP}[0].val", "web-01"),
     "$.objects[0].propSet[0].val", "unboxed string"),
    ("unboxed-any-array", "retrieve_result", _set(f"{_DP}[4].val", []),
     "$.objects[0].propSet[4].val", "unboxed array"),
    ("boxed-without-value", "retrieve_result", _delete(f"{_DP}[0].val._value"),
     "$.objects[0].propSet[0].val", "no _value"),
    ("boxed-int-as-string", "fault", _set("faultMessage[0].arg[0].value",
                                          {"_typeName": "int", "_value": "5"}),
     "$.faultMessage[0].arg[0].value._value", "expected int"),
    ("enum-boxed-as-string", "retrieve_result",
     _set(f"{_DP}[2].val", {"_typeName": "string", "_value": "poweredOn"}),
     "$.objects[0].propSet[2].val._typeName", "VirtualMachinePowerState"),
    ("boxed-enum-bad-value", "update_set", _set(f"{_PC}[1].val._value", "on"),
     "$.filterSet[0].objectSet[0].changeSet[1].val._value", "not a value of"),
    ("unknown-property-path", "update_set", _set(f"{_PC}[0].name", "guest.ipaddress"),
     "$.filterSet[0].objectSet[0].changeSet[0].name", "no property 'ipaddress'"),
    ("pathSet-typo", "retrieve", _set("specSet[0].propSet[0].pathSet[1]", "runtime.powerstate"),
     "$.specSet[0].propSet[0].pathSet[1]", "no property 'powerstate'"),
    ("traversal-path-typo", "create_filter",
     _set("spec.objectSet[0].selectSet[0].path", "views"),
     "$.spec.objectSet[0].selectSet[0].path", "no property 'views'"),
    ("null-field", "task_info", _set("progress", None), "$.progress", "null"),
    ("null-param", "login", _set("locale", None), "$.locale", "null"),
    ("wrong-enum", "task_info", _set("state", "done"), "$.state", "not a value of TaskInfoState"),
    ("int-as-string", "task_info", _set("progress", "40"), "$.progress", "expected int"),
    ("int-as-bool", "task_info", _set("progress", True), "$.progress", "expected int"),
    ("int-as-float", "task_info", _set("eventChainId", 1.5), "$.eventChainId", "expected int"),
    ("int-out-of-range", "task_info", _set("progress", 2**31), "$.progress", "out of range"),
    ("long-out-of-range", "user_session", _set("callCount", 2**63), "$.callCount", "long"),
    ("bool-as-string", "task_info", _set("cancelled", "false"), "$.cancelled", "boolean"),
    ("datetime-not-iso", "task_info", _set("queueTime", "yesterday"), "$.queueTime", "ISO-8601"),
    ("datetime-no-zone", "task_info", _set("queueTime", "2026-01-01T10:05:00"),
     "$.queueTime", "ISO-8601"),
    ("datetime-bad-date", "task_info", _set("queueTime", "2026-02-30T10:05:00Z"),
     "$.queueTime", "not a valid date"),
    ("datetime-as-number", "user_session", _set("loginTime", 1767261600), "$.loginTime",
     "expected dateTime"),
    ("unknown-field", "task_info", _set("percent", 40), "$.percent", "unknown field of TaskInfo"),
    ("missing-required", "task_info", _delete("key"), "$", "missing required field 'key'"),
    ("missing-typeName", "task_info", _delete("reason._typeName"), "$.reason", "_typeName missing"),
    ("wrong-typeName", "task_info", _set("reason._typeName", "UserSession"),
     "$.reason._typeName", "not TaskReason or a subtype"),
    ("unknown-typeName", "task_info", _set("reason._typeName", "TaskReasonRobot"),
     "$.reason._typeName", "unknown type"),
    ("mor-instead-of-data", "task_info", _set("reason", _mor("Task", "task-1")),
     "$.reason", "ManagedObjectReference"),
    ("wrong-mor-target", "task_info", _set("task.type", "VirtualMachine"),
     "$.task.type", "not Task"),
    ("entity-mor-subtype-rule", "task_info", _set("entity.type", "PropertyCollector"),
     "$.entity.type", "not ManagedEntity"),
    ("mor-unknown-field", "start", _set("vm.serverGuid", "x"), "$.vm.serverGuid", "unknown field"),
    ("mor-missing-typeName", "start", _delete("vm._typeName"), "$.vm", "_typeName missing"),
    ("scalar-where-array", "container_view", _set("type", "VirtualMachine"),
     "$.type", "expected an array"),
    ("array-where-scalar", "container_view", _set("recursive", [True]),
     "$.recursive", "array given"),
    ("empty-array", "container_view", _set("type", []), "$.type", "empty array"),
    ("typename-unknown", "container_view", _set("type", ["VirtualMachines"]),
     "$.type[0]", "not a type"),
    ("methodname-unknown", "task_info", _set("name", "StartGuestNetwork"),
     "$.name", "not a method"),
    ("fault-msg-pyvmomi-only", "fault", _set("msg", "x"), "$.msg", "unknown field"),
    ("fault-undeclared", "fault", _set("_typeName", "InvalidLogin"),
     "$._typeName", "not declared by"),
    ("fault-not-a-fault", "fault", _set("_typeName", "TaskInfo"),
     "$._typeName", "not MethodFault"),
    ("fault-cause-wrapped", "fault",
     _set("faultCause", {"_typeName": "LocalizedMethodFault",
                         "fault": {"_typeName": "SystemError", "reason": "x"}}),
     "$.faultCause", "LocalizedMethodFault"),
    ("hinted-string-enum", "guest", _set("toolsRunningStatus", "running"),
     "$.toolsRunningStatus", "VirtualMachineToolsRunningStatus"),
    ("hinted-string-in-any-slot", "retrieve_result", _set(f"{_DP}[3].val._value", "running"),
     "$.objects[0].propSet[3].val._value", "VirtualMachineToolsRunningStatus"),
    ("boxed-array-wrong-name", "retrieve_result",
     _set(f"{_DP}[4].val", {"_typeName": "ArrayOfString", "_value": ["eth0"]}),
     "$.objects[0].propSet[4].val._typeName", "ArrayOfGuestNicInfo"),
    ("managed-type-as-box", "fault", _set("faultMessage[0].arg[0].value",
                                          {"_typeName": "VirtualMachine", "_value": "vm-1"}),
     "$.faultMessage[0].arg[0].value._typeName", "managed type"),
    ("dynamic-property-missing-val", "retrieve_result", _delete(f"{_DP}[0].val"),
     "$.objects[0].propSet[0]", "missing required field 'val'"),
]  # fmt: skip


def test_mutation_table_is_large_and_unique() -> None:
    ids = [m[0] for m in MUTATIONS]
    assert len(ids) >= 20
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("base", "mutate", "path", "words"),
    [pytest.param(*m[1:], id=m[0]) for m in MUTATIONS],
)
def test_mutation_fails_naming_the_path(base: str, mutate: Mutator, path: str, words: str) -> None:
    check, valid = BASES[base]
    body = mutate(copy.deepcopy(valid))
    with pytest.raises(RegistryError) as info:
        validate_check(check, body)
    assert info.value.path == path, str(info.value)
    assert words in info.value.message, str(info.value)
    assert str(info.value).startswith(f"{path}: ")


# --------------------------------------------------------------------------- direct API


def test_runtime_faults_allowed_on_any_method() -> None:
    for name in ("NotAuthenticated", "ManagedObjectNotFound", "InvalidArgument",
                 "InvalidRequest", "RequestCanceled"):  # fmt: skip
        body: dict[str, Any] = {"_typeName": name}
        if name == "ManagedObjectNotFound":
            body["obj"] = _mor("VirtualMachine", "vm-9")
        validate_fault(body, method=("VirtualMachineGuestCustomizationManager",
                                     "StartGuestNetwork_Task"))  # fmt: skip


def test_fault_subtype_of_declared_fault_allowed() -> None:
    body = {"_typeName": "InvalidPowerState", "existingState": "poweredOff"}
    validate_fault(body, method=("VirtualMachineGuestCustomizationManager",
                                 "StartGuestNetwork_Task"))  # fmt: skip


def test_faultstring_can_be_forbidden() -> None:
    validate_fault(FAULT_STRING_BODY)
    with pytest.raises(RegistryError, match=r"^\$\.faultstring: "):
        validate_fault(FAULT_STRING_BODY, allow_faultstring=False)
    with pytest.raises(RegistryError, match=r"^\$\.faultstring: expected a string"):
        validate_fault({"_typeName": "SystemError", "reason": "x", "faultstring": 5})


def test_fault_body_must_be_object() -> None:
    with pytest.raises(RegistryError, match=r"^\$: expected a MethodFault object, got string"):
        validate_fault("NotAuthenticated")


def test_void_and_optional_results() -> None:
    validate_response("SessionManager", "Logout", None)
    validate_response("PropertyCollector", "WaitForUpdatesEx", None)  # optional result
    with pytest.raises(RegistryError, match="returns void"):
        validate_response("SessionManager", "Logout", {"_typeName": "UserSession"})
    with pytest.raises(RegistryError, match="must return UserSession"):
        validate_response("SessionManager", "Login", None)
    validate_check("void ContainerView.DestroyView", None)  # inherited from ManagedObjectView
    with pytest.raises(RegistryError, match="is not void"):
        validate_check("void SessionManager.Login", None)


def test_requests_without_parameters() -> None:
    validate_request("SessionManager", "Logout", None)
    validate_request("SessionManager", "Logout", {})
    with pytest.raises(RegistryError, match=r"^\$\.force: unknown parameter"):
        validate_request("SessionManager", "Logout", {"force": True})
    with pytest.raises(RegistryError, match=r"^\$: request body must be a JSON object"):
        not_an_object: Any = ["administrator"]
        validate_request("SessionManager", "Login", not_an_object)


def test_unknown_method_and_type() -> None:
    with pytest.raises(RegistryError, match="no method 'LogIn'"):
        validate_request("SessionManager", "LogIn", LOGIN)
    with pytest.raises(RegistryError, match="not a managed object type"):
        validate_request("TaskInfo", "Login", LOGIN)
    with pytest.raises(RegistryError, match="unknown WSDL type 'Nope'"):
        validate_data("x", "Nope")


def test_property_paths() -> None:
    validate_property("VirtualMachine", "runtime.powerState", "poweredOn")
    validate_property("VirtualMachine", "guest.ipAddress", None)  # optional: 204 is fine
    validate_property("ServiceInstance", "content.about.apiVersion", "8.0.2.0")
    with pytest.raises(RegistryError, match="'poweredUp' is not a value"):
        validate_property("VirtualMachine", "runtime.powerState", "poweredUp")
    with pytest.raises(RegistryError, match="required, got no body"):
        validate_property("Task", "info", None)
    with pytest.raises(RegistryError, match="VirtualMachineRuntimeInfo has no property 'power'"):
        validate_property("VirtualMachine", "runtime.power", "poweredOn")
    with pytest.raises(RegistryError, match="has no property 'x'"):
        validate_property("VirtualMachine", "guest.net.x", "1")  # cannot step into an array
    with pytest.raises(RegistryError, match="'parent' is a reference, which has no property"):
        validate_property("VirtualMachine", "parent.name", "dc")  # nor through a reference
    validate_property("Folder", "childEntity", [])  # a whole value may be an empty array
    validate_response("PropertyCollector", "RetrieveProperties", [])
    validate_property("Folder", "childEntity", [_mor("Datacenter", "dc-1"), _mor("Folder", "f")])
    with pytest.raises(RegistryError, match=r"^\$\[1\]\.type: 'Task' is not ManagedEntity"):
        validate_property("Folder", "childEntity", [_mor("Folder", "f"), _mor("Task", "t")])


def test_validate_data_primitives_and_arrays() -> None:
    validate_data("x", "string")
    validate_data(-(2**63), "long")
    validate_data(127, "byte")
    validate_data(1.5, "double")
    validate_data(True, "boolean")
    validate_data("aGVsbG8=", "base64Binary")
    validate_data(["a", "b"], "ArrayOfString")
    validate_data("poweredOff", "VirtualMachinePowerState")
    validate_data({"_typeName": "ArrayOfInt", "_value": [1, 2]}, "anyType")
    validate_data({"_typeName": "dateTime", "_value": "2026-01-01T00:00:00Z"}, "anyType")
    validate_data({"_typeName": "ArrayOfManagedObjectReference",
                   "_value": [_mor("VirtualMachine", "vm-1")]}, "anyType")  # fmt: skip
    validate_data(_mor("Folder", "group-d1"), "ManagedEntity")
    validate_data(_mor("Folder", "group-d1"), "ManagedObjectReference")
    cases: list[tuple[Any, str, str]] = [
        (128, "byte", "out of range"),
        (1, "double", ""),  # JSON integers are numbers: passes below
        ("1", "double", "expected double"),
        (float("nan"), "double", "not a finite number"),
        (float("inf"), "float", "not a finite number"),
        ({"_typeName": "ArrayOfString", "_value": []}, "anyType", ""),  # boxed [] is fine
        ("%%%", "base64Binary", "not valid base64"),
        (["a", 1], "ArrayOfString", "expected string"),
        ({"_typeName": "ArrayOfInt", "_value": [1, "2"]}, "anyType", "expected int"),
        ({"_typeName": "anyType", "_value": 1}, "anyType", "cannot box"),
        ({"_typeName": "string", "_value": "x", "extra": 1}, "anyType", "unknown field"),
        (_mor("Task", "t"), "ManagedEntity", "not ManagedEntity"),
        (_mor("NoSuchType", "t"), "ManagedObjectReference", "not a managed object type"),
        (
            {"_typeName": "ManagedObjectReference", "type": "Task", "value": ""},
            "ManagedObjectReference",
            "non-empty string",
        ),
        (5, "Task", "expected a ManagedObjectReference"),
        ("x", "void", "void"),
    ]
    for value, wsdl_type, words in cases:
        if not words:
            validate_data(value, wsdl_type)
            continue
        with pytest.raises(RegistryError, match=re.escape(words)):
            validate_data(value, wsdl_type)


def test_custom_path_prefix() -> None:
    with pytest.raises(RegistryError, match=r"^\$\.val\._value: expected int"):
        validate_data({"_typeName": "int", "_value": "5"}, "anyType", path="$.val")


def test_release_gates_newer_fields() -> None:
    body = {**GUEST_INFO, "guestDetailedData": "prettyName='Ubuntu'"}
    validate_property("VirtualMachine", "guest", body, release="8.0.2.0")
    validate_property("VirtualMachine", "guest", body)  # no release: anything the registry knows
    with pytest.raises(
        RegistryError, match=r"^\$\.guestDetailedData: .*needs API release 8\.0\.2\.0"
    ):
        validate_property("VirtualMachine", "guest", body, release="8.0.1.0")
    with pytest.raises(RegistryError, match=r"unknown API release '8\.1'"):
        validate_data("x", "string", release="8.1")


def test_release_gates_newer_types_and_methods() -> None:
    newer = {"_typeName": "FileLockInfoResult"}  # a data type introduced in 8.0.2.0
    validate_data(newer, "anyType", release="8.0.2.0")
    with pytest.raises(
        RegistryError, match=r"^\$\._typeName: 'FileLockInfoResult' needs .*8\.0\.2"
    ):
        validate_data(newer, "anyType", release="8.0.1.0")
    validate_request("VirtualMachine", "RepairVmDiskChains_Task", None, release="9.1.0.0")
    with pytest.raises(RegistryError, match=r"RepairVmDiskChains_Task' needs API release 9\.1"):
        validate_request("VirtualMachine", "RepairVmDiskChains_Task", None, release="9.0.0.0")


def test_registry_facts_listed_by_hand_exist() -> None:
    """_ABSTRACT and _ENUM_HINTED are not registry facts: each entry must still name real types."""
    for name in _ABSTRACT:
        assert _lookup(name) is not None, name
    for (type_name, field), enum_name in _ENUM_HINTED.items():
        info = _fields(_lookup(type_name))[field]
        assert info.type is str and info.declared_in == type_name, (type_name, field)
        assert _lookup(enum_name).values, enum_name


def test_secret_values() -> None:
    assert secret_values("request SessionManager.Login", LOGIN) == {"$.password": "pw"}
    assert secret_values(f"request {START_CHECK}", START) == {"$.auth.password": "guest-secret"}
    assert secret_values("response SessionManager.Login", USER_SESSION) == {}
    with pytest.raises(RegistryError):  # it validates too
        secret_values("request SessionManager.Login", {"password": "pw"})


_BASE = "/sdk/vim25/8.0.2.0"
_START_URL = f"{_BASE}/VirtualMachineGuestCustomizationManager/GuestCustomizationManager/" + (
    "StartGuestNetwork_Task"
)


def test_validate_http_accepts_good_exchanges() -> None:
    validate_http("POST", f"{_BASE}/SessionManager/SessionManager/Login", LOGIN, 200, USER_SESSION)
    validate_http("POST", _START_URL, START, 200, _mor("Task", "task-1"))
    validate_http("POST", _START_URL, START, 500, {"_typeName": "GuestPermissionDenied"})
    validate_http("POST", _START_URL, START, 500, {"_typeName": "NotAuthenticated"})
    validate_http("POST", f"{_BASE}/SessionManager/SessionManager/Logout", None, 204, None)
    pc = f"{_BASE}/PropertyCollector/session%5B1%5D2/WaitForUpdatesEx"
    validate_http("POST", pc, {"version": ""}, 204, None)  # optional result: nothing changed
    validate_http("GET", f"{_BASE}/Task/task-1/info", None, 200, TASK_INFO)
    validate_http("GET", f"{_BASE}/VirtualMachine/vm-1/guest.ipAddress", None, 204, None)
    validate_http("GET", f"{_BASE}/VirtualMachine/vm-1/runtime", None, 500,
                  {"_typeName": "NotAuthenticated", "faultstring": "session expired"})  # fmt: skip


_LOGIN_URL = f"{_BASE}/SessionManager/SessionManager/Login"
_LOGOUT_URL = f"{_BASE}/SessionManager/SessionManager/Logout"

HTTP_FAILURES: list[tuple[str, tuple[Any, ...], str, str]] = [
    ("bad-request", ("POST", _LOGIN_URL, {"username": "u", "password": "p"}, 200, USER_SESSION),
     "$.username", "[POST SessionManager.Login request]"),
    ("bad-response", ("POST", _START_URL, START, 200, _mor("VirtualMachine", "vm-1")),
     "$.type", "[POST VirtualMachineGuestCustomizationManager.StartGuestNetwork_Task response]"),
    ("undeclared-fault", ("POST", _START_URL, START, 500, {"_typeName": "InvalidLogin"}),
     "$._typeName", "not declared by"),
    ("void-answers-200", ("POST", _LOGOUT_URL, None, 200, None), "$", "answers 204, not 200"),
    ("required-result-204", ("POST", _LOGIN_URL, LOGIN, 204, None), "$", "must return a value"),
    ("200-without-body", ("POST", f"{_BASE}/PropertyCollector/pc/WaitForUpdatesEx", {}, 200,
                          None), "$", "200 without a body"),
    ("odd-status", ("POST", _LOGIN_URL, LOGIN, 401, None), "$", "unexpected HTTP status 401"),
    ("get-with-body", ("GET", f"{_BASE}/Task/task-1/info", {}, 200, TASK_INFO),
     "$", "no request body"),
    ("get-required-204", ("GET", f"{_BASE}/Task/task-1/info", None, 204, None),
     "$", "required, got no body"),
    ("get-200-without-body", ("GET", f"{_BASE}/VirtualMachine/vm-1/guest", None, 200, None),
     "$", "200 without a body"),
    ("get-odd-status", ("GET", f"{_BASE}/Task/task-1/info", None, 404, None),
     "$", "unexpected HTTP status 404"),
    ("bad-fault-body", ("GET", f"{_BASE}/Task/task-1/info", None, 500,
                        {"_typeName": "NotAuthenticated", "object": "vm-1"}),
     "$.object", "expected a ManagedObjectReference"),
    ("put", ("PUT", _LOGIN_URL, LOGIN, 200, USER_SESSION), "$", "POST for methods"),
    ("release-gate", ("GET", "/sdk/vim25/8.0.1.0/VirtualMachine/vm-1/guest", None, 200,
                      {**GUEST_INFO, "guestDetailedData": "x"}),
     "$.guestDetailedData", "needs API release 8.0.2.0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "path", "words"), [pytest.param(*h[1:], id=h[0]) for h in HTTP_FAILURES]
)
def test_validate_http_rejects(args: tuple[Any, ...], path: str, words: str) -> None:
    with pytest.raises(RegistryError) as info:
        validate_http(*args)
    assert info.value.path == path, str(info.value)
    assert words in info.value.message, str(info.value)


def test_validate_http_release_gate_can_be_off() -> None:
    body = {**GUEST_INFO, "guestDetailedData": "x"}
    url = "/sdk/vim25/8.0.1.0/VirtualMachine/vm-1/guest"
    validate_http("GET", url, None, 200, body, check_release=False)


def test_validate_http_rejects_other_paths() -> None:
    with pytest.raises(ValueError, match="is not /sdk/vim25/"):
        validate_http("POST", "/api/vcenter/system?action=hello", {}, 200, {})
    with pytest.raises(RegistryError, match=r"unknown API release '7\.9'"):
        validate_http("GET", "/sdk/vim25/7.9/Task/task-1/info", None, 200, TASK_INFO)


def test_validate_check_rejects_bad_labels() -> None:
    with pytest.raises(ValueError, match="unknown kind 'answer'"):
        validate_check("answer SessionManager.Login", {})
    with pytest.raises(ValueError, match=r"expected '<kind> <ManagedType>\.<member>'"):
        validate_check("request Login", {})


def test_error_is_assertion_error() -> None:
    with pytest.raises(AssertionError):
        validate_data(None, "string")


# --------------------------------------------------------------------------- EXAMPLES.md

_CHECK = re.compile(r"^<!-- check: (.+?) -->$")


def _examples(text: str) -> list[tuple[int, str, Any]]:
    """(line, check, body or None) for every check comment; a JSON block right after is its body."""
    lines = text.splitlines()
    out: list[tuple[int, str, Any]] = []
    i = 0
    while i < len(lines):
        m = _CHECK.match(lines[i].strip())
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        body = None
        if j < len(lines) and lines[j].strip() == "```json":
            end = lines.index("```", j + 1)
            body = json.loads("\n".join(lines[j + 1 : end]))
            j = end
        out.append((i + 1, m.group(1), body))
        i = j if j > i else i + 1
    return out


def test_examples_parser() -> None:
    text = "\n".join([
        "<!-- check: void SessionManager.Logout -->",
        "<!-- check: request SessionManager.Login -->",
        "",
        "```json",
        '{"userName": "u", "password": "p"}',
        "```",
        "```json",
        "{}",
        "```",
    ])  # fmt: skip
    assert _examples(text) == [
        (1, "void SessionManager.Logout", None),
        (2, "request SessionManager.Login", {"userName": "u", "password": "p"}),
    ]


def test_every_example_in_shared_vijson_validates() -> None:
    if not EXAMPLES.is_file():
        pytest.skip(f"{EXAMPLES} is absent (the shared folder sits next to the repo in CI)")
    text = EXAMPLES.read_text(encoding="utf-8")
    examples = _examples(text)
    json_blocks = text.count("```json")
    assert sum(body is not None for _, _, body in examples) == json_blocks, (
        "every ```json block of EXAMPLES.md must follow a <!-- check: … --> comment"
    )
    assert len(examples) >= 30
    failures = []
    for line, check, body in examples:
        try:
            validate_check(check, body)
        except AssertionError as e:
            failures.append(f"EXAMPLES.md:{line} [{check}] {e}")
    assert not failures, "\n".join(failures)
