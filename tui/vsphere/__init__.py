"""VI/JSON client for vCenter 8.0U1+. No Textual import anywhere in this package."""

from tui.vsphere.client import SUPPORTED_RELEASES, Client
from tui.vsphere.errors import (
    BadResponse,
    ConnectError,
    GuestnetError,
    RequestTimeout,
    TLSVerifyError,
    TransportError,
    VimFault,
)
from tui.vsphere.faults import explain, explain_fault
from tui.vsphere.inventory import InventoryPathError
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
from tui.vsphere.tls import SpecError, fetch_thumbprint, normalize_thumbprint
from tui.vsphere.updates import VMWatch

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
