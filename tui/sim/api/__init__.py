"""The VI/JSON methods the simulator serves, one module per managed object (or a few related).

``ROUTES`` maps (managed type, HTTP method, method or property name) to (handler, needs a
session); a GET of any other name on a type with a property table reads that property.
"""

from __future__ import annotations

from tui.sim.api import collector, customization, service
from tui.sim.api.context import Handler
from tui.sim.properties import PROPS_BY_TYPE

ROUTES: dict[tuple[str, str, str], tuple[Handler, bool]] = {
    **service.ROUTES,
    **collector.ROUTES,
    **customization.ROUTES,
}
ROUTED_TYPES = frozenset(t for t, _, _ in ROUTES) | frozenset(PROPS_BY_TYPE)
GENERIC_GET_TYPES = frozenset(PROPS_BY_TYPE)
