"""``ServiceRefs``: what a connection's ServiceContent names, as one immutable value.

``Client.connect`` reads it once (after the release is negotiated) and hands it to the modules
that call vCenter's managers (inventory, updates, task, tasks), so none of them reaches into the
client for a manager's moid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.vsphere.errors import BadResponse
from tui.vsphere.models import About


@dataclass(frozen=True, slots=True)
class ServiceRefs:
    """The managed objects of a vCenter the client calls, the API release, and ``about``."""

    host: str  # for messages ("vc.example has no guest customization manager")
    release: str  # e.g. "8.0.3.0"
    about: About
    root_folder: str
    property_collector: str
    view_manager: str
    session_manager: str
    guest_customization_manager: str | None  # None: the server cannot start guest networks


def read_service_content(content: dict[str, Any], host: str, release: str) -> ServiceRefs:
    """A decoded ``ServiceContent`` → ServiceRefs; BadResponse when a required part is missing."""

    def ref(name: str, required: bool = True) -> str | None:
        v = content.get(name)
        if isinstance(v, dict) and isinstance(v.get("value"), str):
            return str(v["value"])
        if required:
            raise BadResponse(f"ServiceContent from {host} lacks {name}")
        return None

    root_folder = ref("rootFolder") or ""
    property_collector = ref("propertyCollector") or ""
    a = content.get("about")
    if not isinstance(a, dict):
        raise BadResponse(f"ServiceContent from {host} lacks about")
    return ServiceRefs(
        host=host,
        release=release,
        about=About(
            name=str(a.get("name", "")),
            full_name=str(a.get("fullName", "")),
            version=str(a.get("version", "")),
            build=str(a.get("build", "")),
            api_version=str(a.get("apiVersion", "")),
            instance_uuid=a.get("instanceUuid"),
        ),
        root_folder=root_folder,
        property_collector=property_collector,
        view_manager=ref("viewManager", False) or "ViewManager",
        session_manager=ref("sessionManager", False) or "SessionManager",
        guest_customization_manager=ref("guestCustomizationManager", False),
    )
