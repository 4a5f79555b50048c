"""The simulator's state: one object composing the concerns, each in a file named after it.

- ``registry``: the inventory's managed objects (``registry.py``, classes in ``objects.py``)
- ``collectors``: property collectors, filters and the change log (``collector.py``)
- ``sessions``: sessions and their views (``sessions.py``)
- ``guests``: guest accounts, guest login, guest addresses (``guest.py``)
- ``tasks``: running, cancelling and ending tasks (``tasks.py``)
- ``guestops``: tools (re)starting and guest operations becoming ready (``guestops.py``)
- ``clones``: instant clones appearing over time or on request (``clones.py``)

Properties are read through ``properties.py``, faults are built in ``faults.py``, the options are
in ``options.py``. Everything here runs on the server's event loop thread; other threads reach it
through ``SimServer``'s control methods, which hop onto that loop.
"""

from __future__ import annotations

import uuid
from typing import Any

from tui.sim.clock import Clock
from tui.sim.clones import Clones
from tui.sim.collector import Collectors
from tui.sim.faults import not_found
from tui.sim.guest import Guests
from tui.sim.guestops import GuestOps
from tui.sim.inventory import Inventory, VMSpec
from tui.sim.objects import MO, Folder, Singleton, Task, VirtualMachine, isa, type_of
from tui.sim.options import ABOUT_BY_RELEASE, SimOptions
from tui.sim.properties import PROPS_BY_TYPE
from tui.sim.registry import Registry
from tui.sim.sessions import Session, Sessions
from tui.sim.tasks import Tasks
from tui.sim.wire import JSON, mor

# imported from here elsewhere: keep them importable from their old home
__all__ = ["PROPS_BY_TYPE", "SimOptions", "State", "Task", "VirtualMachine"]


def new_stats() -> dict[str, Any]:
    """The counters ``SimServer.stats()`` reports (besides ``live``)."""
    return {
        "logins": 0,
        "logouts": 0,
        "login_failures": 0,
        "not_authenticated": 0,
        "sessions_expired": 0,
        "requests": {},
        "wait_calls": 0,
        "wait_timeouts": 0,
        "tasks_started": 0,
        "replies_lost": 0,  # StartGuestNetwork_Task replies dropped/delayed on request
        "objects_evaluated": 0,  # objects WaitForUpdatesEx read properties of
        "clones": 0,  # instant clones made (clone_rate and clone_vm)
    }


class State:
    def __init__(
        self, inventory: Inventory, options: SimOptions, clock: Clock | None = None
    ) -> None:
        self.options = options
        self.clock = clock or Clock()
        self.stats = new_stats()
        self.closing = False
        self.instance_uuid = str(uuid.uuid5(uuid.NAMESPACE_DNS, "guestnet-sim"))
        self.api_version = max(self.options.supported_releases(), default="8.0.1.0")
        self.service_instance = Singleton("ServiceInstance", "ServiceInstance")
        self.session_manager = Singleton("SessionManager", "SessionManager")
        self.view_manager = Singleton("ViewManager", "ViewManager")
        self.cust_manager = Singleton(
            "VirtualMachineGuestCustomizationManager", "GuestCustomizationManager"
        )
        self.singletons = (
            self.service_instance,
            self.session_manager,
            self.view_manager,
            self.cust_manager,
        )
        self.registry = Registry(self.clock)
        self.collectors = Collectors(self.registry, self.stats)
        self.sessions = Sessions(options, self.registry, self.collectors, self.stats, self.clock)
        self.guests = Guests(options, inventory)
        self.tasks = Tasks(
            options, self.registry, self.guests, self.collectors.touch, self.stats, self.clock
        )
        self.guestops = GuestOps(options, self.clock, self.collectors.touch)
        self.clones = Clones(
            options, self.registry, self.guestops, self.clock, self.add_vm, self.stats
        )
        self.registry.build(inventory)
        for vm in self.registry.vms_by_name.values():
            self.tasks.vm_added(vm)

    # -- inventory changes -------------------------------------------------------------------

    def add_vm(self, folder: str | Folder, spec: VMSpec) -> VirtualMachine:
        """A VM enters (``folder``: an inventory path or the Folder); ValueError/KeyError."""
        vm = self.registry.add_vm(folder, spec)
        self.guests.reserve(vm.ip)
        self.guests.reserve(vm.acquire_ip)
        self.tasks.vm_added(vm)
        return vm

    # -- object lookup -----------------------------------------------------------------------

    def lookup(self, s: Session | None, type_: str, moid: str) -> MO:
        """The object a request names by (type, moId); session-scoped ones only for ``s``."""
        for single in self.singletons:
            if moid == single.moid and type_ == type_of(single):
                return single
        if s is not None:
            if type_ == "ContainerView":
                v = s.views.get(moid)
                if v is not None:
                    return v
            elif type_ == "PropertyCollector":
                return self.collectors.get(s, moid)
            elif type_ == "PropertyFilter":
                return self.collectors.find_filter(s, moid)
        o = self.registry.objects.get(moid)
        if o is not None and isa(type_of(o), {type_}):
            return o
        raise not_found(type_, moid)

    # -- content -----------------------------------------------------------------------------

    def about(self) -> JSON:
        version, build = ABOUT_BY_RELEASE.get(self.api_version, ("9.0.0", "24755230"))
        return {
            "_typeName": "AboutInfo",
            "name": "VMware vCenter Server",
            "fullName": f"VMware vCenter Server {version} build-{build} (guestnet simulator)",
            "vendor": "VMware, Inc.",
            "version": version,
            "build": build,
            "localeVersion": "INTL",
            "localeBuild": "000",
            "osType": "linux-x64",
            "productLineId": "vpx",
            "apiType": "VirtualCenter",
            "apiVersion": self.api_version,
            "instanceUuid": self.instance_uuid,
            "licenseProductName": "VMware VirtualCenter Server",
            "licenseProductVersion": version.split(".")[0] + ".0",
        }

    def content(self) -> JSON:
        return {
            "_typeName": "ServiceContent",
            "rootFolder": self.registry.root.ref(),
            "propertyCollector": mor("PropertyCollector", "propertyCollector"),
            "viewManager": self.view_manager.ref(),
            "about": self.about(),
            "sessionManager": self.session_manager.ref(),
            "guestCustomizationManager": self.cust_manager.ref(),
        }

    # -- server lifecycle and control --------------------------------------------------------

    def shutdown(self) -> None:
        """The server is closing: pending long-polls answer at once."""
        self.closing = True
        for s in self.sessions.by_token.values():
            for c in s.collectors.values():
                c.changed.set()

    def live_counts(self) -> dict[str, int]:
        self.sessions.sweep()
        sessions = self.sessions.by_token.values()
        return {
            "sessions": len(sessions),
            "views": sum(len(s.views) for s in sessions),
            "filters": len(self.collectors.filters),
            "collectors": sum(
                1 for s in sessions for c in s.collectors if c != "propertyCollector"
            ),
            "retrievals": sum(len(s.retrievals) for s in sessions),
            "pending_waits": sum(c.waiting for s in sessions for c in s.collectors.values()),
            "running_tasks": self.tasks.running,
            "queued_tasks": len(self.tasks.queue),
        }
