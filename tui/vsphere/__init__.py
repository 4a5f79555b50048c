"""VI/JSON client for vCenter 8.0U1+. No Textual import anywhere in this package."""

from tui.vsphere.errors import (
    BadResponse,
    ConnectError,
    GuestnetError,
    RequestTimeout,
    TLSVerifyError,
    TransportError,
    VimFault,
)
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

__all__ = [
    "VM",
    "About",
    "BadResponse",
    "ConnectError",
    "ConnectSpec",
    "Fault",
    "FaultMessage",
    "GuestCredentials",
    "GuestnetError",
    "Hint",
    "RequestTimeout",
    "Secret",
    "TLSSpec",
    "TLSVerifyError",
    "TaskEvent",
    "Thumbprints",
    "TransportError",
    "VMBatch",
    "VMChange",
    "VimFault",
]
