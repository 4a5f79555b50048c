"""The profile model: ``Profile`` (one vCenter), ``PasswordSource`` and the settings' defaults.

Loading and validation are in ``profile_file``/``profile_fields``; ``tui.config.profiles`` is the
public entry point that re-exports these names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tui.vsphere.errors import ProfileError
from tui.vsphere.models import ConnectSpec, TLSSpec
from tui.vsphere.secret import Secret

GOVC_PROFILE = "govc-env"
DEFAULT_PORT = 443
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 256
DEFAULT_COMMAND_TIMEOUT = 30.0
MIN_RELEASE = (8, 0, 1, 0)

PROFILE_KEYS: tuple[str, ...] = (
    "host",
    "port",
    "username",
    "password_env",
    "password_file",
    "password_command",
    "password_command_timeout",
    "password",
    "ca_file",
    "thumbprint",
    "insecure",
    "release",
    "root",
    "guest_username",
    "concurrency",
    "theme",
    "read_only",
)
PASSWORD_KEYS: tuple[str, ...] = ("password_env", "password_file", "password_command", "password")

PasswordKind = Literal["env", "file", "command", "inline", "govc", "prompt"]


@dataclass(frozen=True, slots=True)
class PasswordSource:
    """Where the vCenter password comes from. ``inline`` holds a Secret, never a plain str."""

    kind: PasswordKind
    env: str | None = None
    file: str | None = None
    command: tuple[str, ...] = ()
    timeout: float = DEFAULT_COMMAND_TIMEOUT
    inline: Secret | None = None

    def describe(self) -> str:
        """A short human description, never the password."""
        if self.kind == "env":
            return f"env {self.env}"
        if self.kind == "file":
            return f"file {self.file}"
        if self.kind == "command":
            return "command " + " ".join(self.command)
        if self.kind == "inline":
            return "inline (private file)"
        if self.kind == "govc":
            return "GOVC_PASSWORD"
        return "prompt"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    host: str
    username: str
    password_source: PasswordSource
    port: int = DEFAULT_PORT
    tls: TLSSpec = dataclasses.field(default_factory=TLSSpec)
    release: str | None = None  # None = negotiate
    root: str | None = None
    guest_username: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    theme: str | None = None
    read_only: bool = False
    source: Path | None = None  # None: built from the environment (govc-env)
    line: int = 0

    @property
    def origin(self) -> str:
        """Where the profile was defined: ``path:line``, ``$GOVC_URL``, or ``built in``."""
        if self.source is None:
            return "$GOVC_URL" if self.name == GOVC_PROFILE else "built in"
        return f"{self.source}:{self.line}"

    @property
    def tls_mode(self) -> str:
        """``insecure`` | ``pinned`` | ``ca-file`` | ``system-ca`` (as ``Client.tls_mode``)."""
        if self.tls.insecure:
            return "insecure"
        if self.tls.thumbprint:
            return "pinned"
        if self.tls.ca_file:
            return "ca-file"
        return "system-ca"

    def connect_spec(self, password: Secret) -> ConnectSpec:
        if not isinstance(password, Secret):
            raise TypeError("connect_spec expects the password as a Secret")
        return ConnectSpec(
            host=self.host,
            port=self.port,
            username=self.username,
            password=password,
            tls=self.tls,
            release=self.release,
        )

    def error(self, message: str) -> ProfileError:
        """A ProfileError located at this profile's definition."""
        where = str(self.source) + f":{self.line}" if self.source is not None else "GOVC_URL"
        return ProfileError(message, where=where, profile=self.name)

    def summary(self) -> dict[str, Any]:
        """JSON-safe description (``guestnet profiles --json``): no secret."""
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password_source": self.password_source.describe(),
            "tls_mode": self.tls_mode,
            "ca_file": self.tls.ca_file,
            "thumbprint": self.tls.thumbprint,
            "release": self.release or "auto",
            "root": self.root,
            "guest_username": self.guest_username,
            "concurrency": self.concurrency,
            "theme": self.theme,
            "read_only": self.read_only,
            "source": str(self.source) if self.source is not None else "$GOVC_URL",
            "line": self.line if self.source is not None else None,
        }
