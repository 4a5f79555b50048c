"""ViewManager: ContainerViews and the PropertyFilterSpec that traverses one.

A ContainerView is session-scoped: it dies with the session that created it, so it is created
with that session's generation (``scope``) and its users re-create it after SessionRenewed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from tui.vsphere.errors import GuestnetError
from tui.vsphere.transport import Transport
from tui.vsphere.wire import mor, ref_value

log = logging.getLogger("tui.vsphere")


def view_spec(view_moid: str, prop_sets: Iterable[tuple[str, Iterable[str]]]) -> dict[str, Any]:
    """PropertyFilterSpec over a ContainerView's ``view`` for the given (type, paths)."""
    return {
        "_typeName": "PropertyFilterSpec",
        "propSet": [
            {"_typeName": "PropertySpec", "type": t, "pathSet": list(paths)}
            for t, paths in prop_sets
        ],
        "objectSet": [
            {
                "_typeName": "ObjectSpec",
                "obj": mor("ContainerView", view_moid),
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


async def create_view(
    t: Transport,
    view_manager: str,
    container: str,
    types: Iterable[str],
    container_type: str,
    scope: int,
) -> str:
    """CreateContainerView (recursive) over ``container``; returns the view's moid."""
    ref = await t.invoke(
        "ViewManager",
        view_manager,
        "CreateContainerView",
        {"container": mor(container_type, container), "type": list(types), "recursive": True},
        auth="raise",
        scope=scope,
    )
    return ref_value(ref, "CreateContainerView")


async def destroy_view(t: Transport, view_moid: str) -> None:
    await t.invoke("ContainerView", view_moid, "DestroyView", auth="none", timeout_s=10.0)


async def destroy_view_quietly(t: Transport, view_moid: str) -> None:
    """DestroyView, best effort (the view dies with the session anyway)."""
    try:
        await destroy_view(t, view_moid)
    except GuestnetError as e:
        log.debug("DestroyView %s failed: %s", view_moid, e)
