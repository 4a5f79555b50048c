"""VI/JSON client for vCenter 8.0U1+. No Textual import anywhere in this package.

Public names are imported lazily (PEP 562), so that ``import tui.vsphere.models`` — used by the
configuration layer and by ``guestnet --help`` paths — does not pull in httpx and the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.vsphere.client import SUPPORTED_RELEASES, Client
    from tui.vsphere.errors import (
        BadResponse,
        ConnectError,
        GuestnetError,
        InventoryPathError,
        RequestTimeout,
        SpecError,
        TLSVerifyError,
        TransportError,
        VimFault,
    )
    from tui.vsphere.faults import explain, explain_fault
    from tui.vsphere.models import (
        VM,
        About,
        ConnectSpec,
        Fault,
        FaultMessage,
        GuestCredentials,
        Hint,
        TaskEvent,
        Thumbprints,
        TLSSpec,
        VMBatch,
        VMChange,
    )
    from tui.vsphere.secret import Secret
    from tui.vsphere.tasks import GuestNetworkRun
    from tui.vsphere.tls import fetch_thumbprint, normalize_thumbprint
    from tui.vsphere.updates import VMWatch

_EXPORTS: dict[str, str] = {
    "About": "tui.vsphere.models",
    "BadResponse": "tui.vsphere.errors",
    "Client": "tui.vsphere.client",
    "ConnectError": "tui.vsphere.errors",
    "ConnectSpec": "tui.vsphere.models",
    "Fault": "tui.vsphere.models",
    "FaultMessage": "tui.vsphere.models",
    "GuestCredentials": "tui.vsphere.models",
    "GuestNetworkRun": "tui.vsphere.tasks",
    "GuestnetError": "tui.vsphere.errors",
    "Hint": "tui.vsphere.models",
    "InventoryPathError": "tui.vsphere.errors",
    "RequestTimeout": "tui.vsphere.errors",
    "SUPPORTED_RELEASES": "tui.vsphere.client",
    "Secret": "tui.vsphere.secret",
    "SpecError": "tui.vsphere.errors",
    "TLSSpec": "tui.vsphere.models",
    "TLSVerifyError": "tui.vsphere.errors",
    "TaskEvent": "tui.vsphere.models",
    "Thumbprints": "tui.vsphere.models",
    "TransportError": "tui.vsphere.errors",
    "VM": "tui.vsphere.models",
    "VMBatch": "tui.vsphere.models",
    "VMChange": "tui.vsphere.models",
    "VMWatch": "tui.vsphere.updates",
    "VimFault": "tui.vsphere.errors",
    "explain": "tui.vsphere.faults",
    "explain_fault": "tui.vsphere.faults",
    "fetch_thumbprint": "tui.vsphere.tls",
    "normalize_thumbprint": "tui.vsphere.tls",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tui.vsphere' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "SUPPORTED_RELEASES",
    "VM",
    "About",
    "BadResponse",
    "Client",
    "ConnectError",
    "ConnectSpec",
    "Fault",
    "FaultMessage",
    "GuestCredentials",
    "GuestNetworkRun",
    "GuestnetError",
    "Hint",
    "InventoryPathError",
    "RequestTimeout",
    "Secret",
    "SpecError",
    "TLSSpec",
    "TLSVerifyError",
    "TaskEvent",
    "Thumbprints",
    "TransportError",
    "VMBatch",
    "VMChange",
    "VMWatch",
    "VimFault",
    "explain",
    "explain_fault",
    "fetch_thumbprint",
    "normalize_thumbprint",
]
