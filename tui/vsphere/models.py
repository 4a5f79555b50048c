"""Plain typed values the client hands to its callers (CLI, TUI). No wire details here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tui.vsphere.secret import Secret


@dataclass(frozen=True, slots=True)
class TLSSpec:
    """How to trust the vCenter certificate."""

    ca_file: str | None = None
    thumbprint: str | None = None  # SHA-256 or SHA-1, colon hex, any case
    insecure: bool = False


@dataclass(frozen=True, slots=True)
class ConnectSpec:
    host: str
    username: str
    password: Secret
    port: int = 443
    tls: TLSSpec = field(default_factory=TLSSpec)
    release: str | None = None  # None = negotiate
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class About:
    name: str
    full_name: str
    version: str
    build: str
    api_version: str
    instance_uuid: str | None = None


@dataclass(frozen=True, slots=True)
class GuestCredentials:
    """Guest OS account for NamePasswordAuthentication. The password stays a Secret."""

    username: str
    password: Secret

    def __post_init__(self) -> None:
        if not isinstance(self.password, Secret):
            raise TypeError("GuestCredentials.password must be a Secret")


@dataclass(frozen=True, slots=True)
class VM:
    moid: str
    name: str
    path: str  # inventory path of the VM, e.g. /DC/vm/team-a/web-01
    folder: str  # inventory path of its parent folder, e.g. /DC/vm/team-a
    power_state: str | None = None
    connection_state: str | None = None
    tools_running_status: str | None = None
    guest_operations_ready: bool | None = None
    ip_address: str | None = None
    host_name: str | None = None
    instance_uuid: str | None = None
    # From guest.net (what VMware Tools reports, NIC by NIC): every guest address, primary first,
    # and every NIC's MAC. Empty while tools are not running.
    ip_addresses: tuple[str, ...] = ()
    mac_addresses: tuple[str, ...] = ()
    annotation: str | None = None  # config.annotation (pipelines often note the parent VM there)


VMChangeKind = Literal["enter", "modify", "leave"]


@dataclass(frozen=True, slots=True)
class VMChange:
    kind: VMChangeKind
    moid: str
    vm: VM | None  # the VM after the change; None for "leave"
    changed: frozenset[str] = frozenset()  # VM field names that changed


@dataclass(frozen=True, slots=True)
class VMBatch:
    changes: tuple[VMChange, ...]
    resync: bool = False  # True: a full snapshot; anything not in it is gone


@dataclass(frozen=True, slots=True)
class FaultMessage:
    key: str
    message: str | None = None
    args: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Fault:
    """A decoded vSphere MethodFault (from a 500 body or TaskInfo.error)."""

    type_name: str
    message: str
    messages: tuple[FaultMessage, ...] = ()
    cause: Fault | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    def chain(self) -> list[Fault]:
        out: list[Fault] = []
        f: Fault | None = self
        while f is not None:
            out.append(f)
            f = f.cause
        return out

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type_name, "message": self.message}
        if self.messages:
            d["faultMessage"] = [
                {"key": m.key, "message": m.message, "args": {k: v for k, v in m.args}}
                for m in self.messages
            ]
        if self.fields:
            d["fields"] = dict(self.fields)
        if self.cause is not None:
            d["cause"] = self.cause.to_json()
        return d


TaskState = Literal["pending", "started", "queued", "running", "succeeded", "failed", "cancelled"]
FINAL_TASK_STATES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class TaskEvent:
    vm_moid: str
    vm_name: str
    state: TaskState
    task: str | None = None
    progress: int | None = None
    fault: Fault | None = None
    queue_time: datetime | None = None
    start_time: datetime | None = None
    complete_time: datetime | None = None
    cancelable: bool = False
    attempt: int = 1

    @property
    def final(self) -> bool:
        return self.state in FINAL_TASK_STATES


@dataclass(frozen=True, slots=True)
class Hint:
    title: str
    explanation: str
    remedy: str


@dataclass(frozen=True, slots=True)
class Thumbprints:
    sha256: str
    sha1: str
