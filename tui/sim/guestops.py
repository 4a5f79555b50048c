"""VMware Tools (re)starting in a guest, and its guest operations becoming ready after a lag.

``guest.guestOperationsReady`` is true only ``guest_ops_lag`` seconds after the tools of a VM
started running (powered on, tools set running, a fresh instant clone's tools coming up); VMs
of the inventory start out settled (ready when their tools run). With ``guest_ops_strict``,
StartGuestNetwork on a VM whose guest operations are not ready yet fails (``faults.precheck``).
Every change is reported through the change log (``touch``) like any property change. All
timers run on the simulator's clock and on the server loop.
"""

from __future__ import annotations

from collections.abc import Callable

from tui.sim.clock import Clock, Timer
from tui.sim.objects import VirtualMachine
from tui.sim.options import SimOptions


class GuestOps:
    def __init__(self, options: SimOptions, clock: Clock, touch: Callable[[str], None]) -> None:
        self.options = options
        self.clock = clock
        self.touch = touch

    def tools_changed(self, vm: VirtualMachine, was_running: bool, at: float | None = None) -> None:
        """Call after a change that may have started or stopped the tools (power, tools);
        ``at``: the monotonic time the tools started (default now)."""
        if vm.tools_running == was_running:
            return  # (a fresh clone's tools may still be due to start)
        self._cancel(vm)
        if not vm.tools_running:
            vm.ops_ready = False
        else:
            lag = self.options.guest_ops_lag
            if lag <= 0:
                vm.ops_ready = True
                return
            vm.ops_ready = False
            start = self.clock.monotonic() if at is None else at
            vm.ops_timer = self._at(start + lag, lambda: self._ready(vm))

    def start_tools_at(self, vm: VirtualMachine, deadline: float) -> None:
        """The tools of a powered-on VM come up at monotonic ``deadline`` (a fresh clone's)."""
        self._cancel(vm)
        vm.ops_ready = False
        vm.ops_timer = self._at(deadline, lambda: self._tools_up(vm, deadline))

    def _tools_up(self, vm: VirtualMachine, at: float) -> None:
        vm.ops_timer = None
        if vm.power != "poweredOn" or vm.tools != "guestToolsNotRunning":
            return  # changed meanwhile (set_vm): that change rules
        vm.tools = "guestToolsRunning"
        self.tools_changed(vm, False, at)
        self.touch(vm.moid)

    def _ready(self, vm: VirtualMachine) -> None:
        vm.ops_timer = None
        if vm.tools_running:
            vm.ops_ready = True
            self.touch(vm.moid)

    def _at(self, deadline: float, fn: Callable[[], None]) -> Timer:
        return self.clock.call_later(max(0.0, deadline - self.clock.monotonic()), fn)

    @staticmethod
    def _cancel(vm: VirtualMachine) -> None:
        if vm.ops_timer is not None:
            vm.ops_timer.cancel()
            vm.ops_timer = None
