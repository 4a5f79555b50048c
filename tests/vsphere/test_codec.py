"""The client's codec: faults, boxing, timestamps, paths; the fault catalogue; TLS pins."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import pytest

from tui.vsphere import SpecError, TLSSpec, explain, explain_fault
from tui.vsphere.tls import (
    CertRecorder,
    PinMismatch,
    build_context,
    thumbprint_pin,
    thumbprints_of,
)
from tui.vsphere.wire import decode_fault, method_path, mor, parse_time, unbox


def test_fault_faultstring_wins_and_is_one_line() -> None:
    f = decode_fault(
        {
            "_typeName": "InvalidGuestLogin",
            "faultstring": "Failed to\nauthenticate  in the guest",
            "faultMessage": [{"_typeName": "LocalizableMessage", "key": "k", "message": "other"}],
        }
    )
    assert f.type_name == "InvalidGuestLogin"
    assert f.message == "Failed to authenticate in the guest"
    assert f.messages[0].key == "k" and f.messages[0].message == "other"


def test_fault_message_falls_back_to_fault_messages_then_type_name() -> None:
    f = decode_fault(
        {
            "_typeName": "InvalidState",
            "faultMessage": [
                {
                    "_typeName": "LocalizableMessage",
                    "key": "example.invalidState",
                    "arg": [
                        {
                            "_typeName": "KeyAnyValue",
                            "key": "vm",
                            "value": {"_typeName": "string", "_value": "web-01"},
                        },
                        {
                            "_typeName": "KeyAnyValue",
                            "key": "n",
                            "value": {"_typeName": "int", "_value": 3},
                        },
                    ],
                    "message": "Not allowed now.",
                },
                {"_typeName": "LocalizableMessage", "key": "second", "message": "Try later."},
            ],
        }
    )
    assert f.message == "Not allowed now. Try later."
    assert f.messages[0].args == (("vm", "web-01"), ("n", 3))
    assert decode_fault({"_typeName": "GuestPermissionDenied"}).message == "GuestPermissionDenied"


def test_fault_cause_chain_fields_and_raw() -> None:
    body = {
        "_typeName": "CustomizationFault",
        "faultCause": {
            "_typeName": "SystemError",
            "reason": "agent unavailable",
            "faultCause": {"_typeName": "NotSupported"},
        },
    }
    f = decode_fault(body)
    assert [x.type_name for x in f.chain()] == ["CustomizationFault", "SystemError", "NotSupported"]
    assert f.cause is not None and f.cause.fields == {"reason": "agent unavailable"}
    assert f.raw is body
    tip = decode_fault({"_typeName": "TaskInProgress", "task": mor("Task", "task-1200")}).fields
    assert tip == {"task": "task-1200"}
    j = f.to_json()
    assert j["cause"]["type"] == "SystemError" and j["cause"]["cause"]["type"] == "NotSupported"


def test_fault_garbage_is_still_a_fault() -> None:
    assert decode_fault("nope").type_name == "MethodFault"
    assert decode_fault({"faultMessage": "x"}).type_name == "MethodFault"


def test_unbox_parse_time_and_paths() -> None:
    assert unbox({"_typeName": "int", "_value": 5}) == 5
    assert unbox({"_typeName": "ArrayOfString", "_value": ["a"]}) == ["a"]
    m = mor("Folder", "group-v3")
    assert unbox(m) is m
    assert parse_time("2026-01-01T10:05:00.150Z") == datetime(2026, 1, 1, 10, 5, 0, 150000, UTC)
    assert parse_time("not a time") is None and parse_time(None) is None
    assert (
        method_path("PropertyCollector", "session[52b1]52c0", "WaitForUpdatesEx")
        == "/PropertyCollector/session%5B52b1%5D52c0/WaitForUpdatesEx"
    )


REQUIRED_HINTS = [
    "InvalidGuestLogin",
    "GuestPermissionDenied",
    "InvalidPowerState",
    "InvalidState",
    "TaskInProgress",
    "CustomizationFault",
    "NotAuthenticated",
    "InvalidLogin",
    "NoPermission",
    "ManagedObjectNotFound",
    "RequestCanceled",
]


@pytest.mark.parametrize("name", REQUIRED_HINTS)
def test_catalogue_has_specific_hints(name: str) -> None:
    h = explain(name)
    assert h.title and h.explanation and h.remedy
    assert name not in h.title  # a human title, not the generic fallback


def test_catalogue_facts_admins_need() -> None:
    assert "VirtualMachine.Provisioning.Customize" in explain("NoPermission").remedy
    assert "guest" in explain("GuestPermissionDenied").explanation.lower()
    assert "not a vCenter privilege" in explain("GuestPermissionDenied").explanation
    cf = explain("CustomizationFault")
    assert "/var/log/vmware-gosc/" in cf.remedy and "AbortCustomization_Task" in cf.remedy
    assert "pam.d/vmtoolsd" in explain("InvalidGuestLogin").remedy


def test_catalogue_fallbacks() -> None:
    # an unlisted subtype gets its listed ancestor's hint
    assert explain("GuestComponentsOutOfDate") == explain("GuestOperationsFault")
    generic = explain("SomethingNew")
    assert generic.title == "SomethingNew" and "SomethingNew" in generic.explanation
    f = decode_fault({"_typeName": "VimFault", "faultCause": {"_typeName": "InvalidGuestLogin"}})
    assert explain_fault(f) == explain("InvalidGuestLogin")


def test_build_context_modes(tmp_path) -> None:
    _, mode, _ = build_context(TLSSpec())
    assert mode == "system-ca"
    ctx, mode, rec = build_context(TLSSpec(thumbprint=":".join(["AB"] * 32)))
    assert mode == "pinned" and ctx.verify_mode == ssl.CERT_NONE and rec.pin is not None
    ctx, mode, _ = build_context(TLSSpec(insecure=True))
    assert mode == "insecure" and ctx.verify_mode == ssl.CERT_NONE
    with pytest.raises(SpecError, match=r"CA file not found: /nonexistent\.pem"):
        build_context(TLSSpec(ca_file="/nonexistent.pem"))
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(SpecError, match="is not a readable PEM bundle"):
        build_context(TLSSpec(ca_file=str(bad)))


def test_cert_recorder_pins() -> None:
    der = b"certificate bytes"
    tp = thumbprints_of(der)
    CertRecorder(pin=thumbprint_pin(tp.sha256)).check(der)
    CertRecorder(pin=thumbprint_pin(tp.sha1.lower())).check(der)
    with pytest.raises(PinMismatch) as ei:
        CertRecorder(pin=thumbprint_pin(":".join(["00"] * 32))).check(der)
    assert ei.value.presented == tp
    with pytest.raises(ssl.SSLCertVerificationError):
        CertRecorder().check(None)


def test_fast_vm_builder_equals_the_dataclass() -> None:
    from tui.vsphere.inventory import FolderMap, build_vm, vm_of, vm_record
    from tui.vsphere.models import VM

    folders = FolderMap(root="group-d1")
    folders.set("datacenter-1", "DC", "group-d1", "Datacenter")
    folders.set("group-v3", "vm", "datacenter-1")
    oc = {
        "obj": mor("VirtualMachine", "vm-42"),
        "propSet": [
            {"name": "name", "val": {"_typeName": "string", "_value": "web-01"}},
            {"name": "parent", "val": mor("Folder", "group-v3")},
            {"name": "runtime.powerState", "val": {"_typeName": "x", "_value": "poweredOn"}},
            {"name": "runtime.connectionState", "val": {"_typeName": "x", "_value": "connected"}},
            {"name": "guest.toolsRunningStatus", "val": {"_typeName": "string", "_value": "t"}},
            {"name": "guest.guestOperationsReady", "val": {"_typeName": "boolean", "_value": True}},
            {"name": "guest.ipAddress", "val": {"_typeName": "string", "_value": "10.0.0.42"}},
            {"name": "guest.hostName", "val": {"_typeName": "string", "_value": "web-01.lab"}},
            {"name": "summary.config.instanceUuid", "val": {"_typeName": "string", "_value": "u"}},
            {
                "name": "guest.net",
                "val": {
                    "_typeName": "ArrayOfGuestNicInfo",
                    "_value": [
                        {
                            "_typeName": "GuestNicInfo",
                            "macAddress": "00:50:56:AA:BB:01",
                            "ipAddress": ["10.0.0.42", "fe80::1"],
                        },
                        {"_typeName": "GuestNicInfo", "macAddress": "00:50:56:aa:bb:02"},
                    ],
                },
            },
            {"name": "config.annotation", "val": {"_typeName": "string", "_value": "of golden"}},
            {"name": "unrelated", "val": {"_typeName": "string", "_value": "ignored"}},
        ],
    }
    vm = build_vm("vm-42", vm_record(oc), folders)
    want = VM(
        moid="vm-42",
        name="web-01",
        path="/DC/vm/web-01",
        folder="/DC/vm",
        power_state="poweredOn",
        connection_state="connected",
        tools_running_status="t",
        guest_operations_ready=True,
        ip_address="10.0.0.42",
        host_name="web-01.lab",
        instance_uuid="u",
        ip_addresses=("10.0.0.42", "fe80::1"),
        mac_addresses=("00:50:56:aa:bb:01", "00:50:56:aa:bb:02"),
        annotation="of golden",
    )
    assert vm == want and hash(vm) == hash(want) and repr(vm) == repr(want)
    with pytest.raises(AttributeError):
        vm.name = "x"  # type: ignore[misc]  # still frozen
    bare = build_vm("vm-7", vm_record({"obj": mor("VirtualMachine", "vm-7")}), folders)
    assert bare == VM(moid="vm-7", name="vm-7", path="/vm-7", folder="")
    assert vm_of("vm-42", {"name": "web-01", "parent": "group-v3"}, folders).path == "/DC/vm/web-01"


def test_gc_pause_restores_the_previous_state() -> None:
    import gc

    from tui.vsphere.gcpause import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(RuntimeError), gc_paused():
            raise RuntimeError("x")
        assert not gc.isenabled()  # stays as the caller had it
    finally:
        gc.enable()
