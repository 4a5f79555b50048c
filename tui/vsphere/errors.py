"""Every error guestnet shows a user, and the base of the client's internal signals.

``GuestnetError`` and its subclasses are *user-facing*: ``str(e)`` is always one human-readable
line, never a secret, and the CLI and the UI catch ``GuestnetError`` to show it. Each of them is
defined here (a test checks that no other module defines one), so the whole tree reads in one place:

- ``VimFault``: vCenter answered with a fault;
- ``TransportError`` (``ConnectError``, ``TLSVerifyError``, ``RequestTimeout``, ``BadResponse``):
  the request produced no vSphere answer;
- ``SpecError``: a connection setting is invalid; ``InventoryPathError``: a bad inventory path;
- ``ProfileError``: a problem in ``profiles.yaml`` or the ``govc-env`` profile (raised by
  ``tui.config.profiles``, which re-exports it).

``InternalSignal`` is *not* a ``GuestnetError``: its subclasses (``transport.SessionRenewed``) tell
one layer of the client what happened below it and are handled inside the client. One that escaped
would be a bug, and must not be shown to a user as if it were an error message.
"""

from __future__ import annotations

from tui.vsphere.models import Fault


class GuestnetError(Exception):
    """Base of every error guestnet reports to a user."""


class InternalSignal(Exception):
    """Base of the client's internal signals: handled inside the client, never shown to a user."""


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


class SpecError(GuestnetError):
    """A connection setting is invalid (bad thumbprint, missing CA file, bad release)."""


class InventoryPathError(GuestnetError):
    """An inventory path that is malformed or names no folder/datacenter."""


class ProfileError(GuestnetError):
    """A profile problem. ``str()`` is ``WHERE: profile 'NAME': WHAT`` on one line.

    ``where`` is ``path:line`` for the profiles file, or the name of an environment variable for the
    ``govc-env`` profile.
    """

    def __init__(self, message: str, *, where: str | None = None, profile: str | None = None):
        self.where = where
        self.profile = profile
        self.message = message
        parts = []
        if where:
            parts.append(where)
        if profile:
            parts.append(f"profile {profile!r}")
        parts.append(message)
        super().__init__(": ".join(parts).replace("\n", " "))


class FleetError(GuestnetError):
    """A request a view over several vCenters cannot route (tui/ui/fleet.py): an unknown
    vCenter, one that is not connected, an open run (the watch follows one vCenter)."""
