"""Exceptions raised by the client. ``str(e)`` is always one human-readable line, never a secret."""

from __future__ import annotations

from tui.vsphere.models import Fault


class GuestnetError(Exception):
    """Base of every error guestnet reports to a user."""


class VimFault(GuestnetError):
    """vCenter answered with a fault (HTTP 500 + fault body, or a Task's info.error)."""

    def __init__(self, fault: Fault, request: str | None = None) -> None:
        self.fault = fault
        self.request = request  # "POST /sdk/vim25/8.0.3.0/…/Method" — never the body
        where = f" ({request})" if request else ""
        super().__init__(f"{fault.type_name}: {fault.message}{where}")

    @property
    def type_name(self) -> str:
        return self.fault.type_name


class TransportError(GuestnetError):
    """The request did not produce a vSphere answer."""


class ConnectError(TransportError):
    """Connection refused, DNS failure, unreachable host."""


class TLSVerifyError(TransportError):
    """The server certificate was not trusted. ``presented_sha256`` is what it showed."""

    def __init__(self, message: str, presented_sha256: str | None = None) -> None:
        self.presented_sha256 = presented_sha256
        super().__init__(message)


class RequestTimeout(TransportError):
    """The server did not answer in time."""


class BadResponse(TransportError):
    """A reply that is not VI/JSON: proxy HTML, 502, empty error body, invalid JSON."""
