"""Creating one VM's StartGuestNetwork task for a run: the call, its retries, lost replies.

TaskInProgress is retried after ``retry_delays`` up to ``max_attempts``. After any answer that
leaves open whether a task was created (expired session, timeout, lost connection, proxy error)
the call is never replayed blindly: the VM's recent tasks are checked first, and the task the
call created is adopted (tui/vsphere/lostreply.py); only when there is none is it called again.

The guest password exists only in ``GuestCredentials.password`` (a Secret) and in the request
body built right before each call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tui.vsphere.errors import (
    GuestnetError,
    RequestTimeout,
    TLSVerifyError,
    TransportError,
    VimFault,
)
from tui.vsphere.lostreply import ServerClock, find_start_task, measure_server_clock
from tui.vsphere.models import VM, Fault, GuestCredentials, TaskEvent, TaskState
from tui.vsphere.task import error_fault
from tui.vsphere.transport import SESSION_KEEPS_EXPIRING, SessionRenewed, Transport
from tui.vsphere.wire import mor, ref_value

log = logging.getLogger("tui.vsphere")

GCM_TYPE = "VirtualMachineGuestCustomizationManager"
START_METHOD = "StartGuestNetwork_Task"


def guest_auth(creds: GuestCredentials) -> dict[str, Any]:
    """NamePasswordAuthentication: ``username`` in lower case; never an interactive session."""
    return {
        "_typeName": "NamePasswordAuthentication",
        "interactiveSession": False,
        "username": creds.username,
        "password": creds.password.reveal(),
    }


@dataclass(slots=True)
class VMState:
    """One VM of a run."""

    vm: VM
    attempt: int = 1
    task: str | None = None
    final: bool = False
    in_flight: bool = False
    sent_at: float | None = None  # time.monotonic() when the latest start call was sent
    cancel_requested: bool = False
    last: tuple[Any, ...] | None = None
    events: list[TaskEvent] = field(default_factory=list)


class Report(Protocol):
    """How the run hears of a VM's progress (``pending`` + fault) or its end."""

    def __call__(self, st: VMState, state: TaskState, *, fault: Fault | None = None) -> None: ...


class Register(Protocol):
    """How the run takes over the VM's task (to track it, and cancel it if asked)."""

    def __call__(self, st: VMState, task: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one StartGuestNetwork_Task call came back with (all unset: the VM is decided)."""

    task: str | None = None
    renewed: bool = False  # the session expired (and was renewed) during the call
    lost: TransportError | None = None  # no answer: a task may or may not exist
    retry_in: float | None = None  # TaskInProgress: call again after this delay


class StartCalls:
    """Creates the start tasks of one run's VMs (``start(st)``, from the run's workers)."""

    def __init__(
        self,
        t: Transport,
        gcm: str,
        creds: GuestCredentials,
        *,
        max_attempts: int,
        retry_delays: Sequence[float],
        emit: Report,
        finish: Report,
        register: Register,
    ) -> None:
        self.t = t
        self.gcm = gcm
        self.creds = creds
        self.max_attempts = max(1, max_attempts)
        self.retry_delays = tuple(retry_delays) or (1.0,)
        self.emit = emit
        self.finish = finish
        self.register = register
        self.server_clock: ServerClock | None = None  # None: unknown
        self.active = 0
        self.peak = 0  # observed peak of concurrent StartGuestNetwork_Task calls

    async def measure_server_clock(self) -> None:
        """Once per run, before dispatch (see lostreply.measure_server_clock)."""
        self.server_clock = await measure_server_clock(self.t)

    async def start(self, st: VMState) -> None:
        """Create the VM's task: bounded retries for TaskInProgress and lost connections."""
        relogins = 0
        check_first = False
        lost: GuestnetError | None = None
        while not st.final:
            if check_first:
                try:
                    if await self._adopt_task(st, lost):
                        return
                    check_first = False
                except TLSVerifyError:
                    raise
                except GuestnetError as e:  # still unreachable: wait and look again
                    if not await self._backoff(st, e):
                        return
                    continue
            answer = await self._call(st)
            lost = answer.lost
            if answer.task is not None:
                self.register(st, answer.task)
                return
            if answer.renewed:
                # Never replay blindly: the session was renewed, look for a task first.
                relogins += 1
                if relogins > 2:
                    self.finish(st, "failed", fault=SESSION_KEEPS_EXPIRING)
                    return
                check_first = True
            elif lost is not None:
                if not await self._after_lost_reply(st, lost):
                    return
                check_first = True  # no task of ours yet: look again, only then call again
            elif answer.retry_in is not None:
                await asyncio.sleep(answer.retry_in)
                st.attempt += 1
            else:
                return

    async def _call(self, st: VMState) -> _Answer:
        """One StartGuestNetwork_Task call; a fault that decides the VM finishes it here."""
        st.in_flight = True
        self.active += 1
        self.peak = max(self.peak, self.active)
        st.sent_at = time.monotonic()
        try:
            body = {"vm": mor("VirtualMachine", st.vm.moid), "auth": guest_auth(self.creds)}
            ref = await self.t.invoke(GCM_TYPE, self.gcm, START_METHOD, body, auth="raise")
            return _Answer(task=ref_value(ref, START_METHOD))
        except SessionRenewed:
            return _Answer(renewed=True)
        except VimFault as e:
            if st.cancel_requested:
                self.finish(st, "cancelled", fault=e.fault)
            elif e.type_name == "TaskInProgress" and st.attempt < self.max_attempts:
                self.emit(st, "pending", fault=e.fault)
                return _Answer(retry_in=self._delay(st))
            else:
                self.finish(st, "failed", fault=e.fault)
            return _Answer()
        except TLSVerifyError:
            raise  # fatal for the whole run
        except TransportError as e:  # timeout, lost connection, proxy error page
            return _Answer(lost=e)
        finally:
            st.in_flight = False
            self.active -= 1

    async def _after_lost_reply(self, st: VMState, lost: TransportError) -> bool:
        """After a timeout or lost connection: False when the VM is settled or out of attempts."""
        if isinstance(lost, RequestTimeout) or st.cancel_requested:
            # one look for a task at once (it may exist although no reply came)
            try:
                if await self._adopt_task(st, lost):
                    return False
            except TLSVerifyError:
                raise
            except GuestnetError as e:
                log.info("could not check %s for a task: %s", st.vm.name, e)
            if st.cancel_requested or not self._can_identify_task:
                # without the server's time a finished task of ours cannot be told from none:
                # report the timeout rather than risk a second task
                state: TaskState = "cancelled" if st.cancel_requested else "failed"
                self.finish(st, state, fault=error_fault(lost))
                return False
        return await self._backoff(st, lost)

    def _delay(self, st: VMState) -> float:
        return self.retry_delays[min(st.attempt - 1, len(self.retry_delays) - 1)]

    async def _backoff(self, st: VMState, e: GuestnetError) -> bool:
        """Wait before another attempt after a transport error; False (VM failed) when out."""
        if st.attempt >= self.max_attempts:
            self.finish(st, "failed", fault=error_fault(e))
            return False
        self.emit(st, "pending", fault=error_fault(e))
        await asyncio.sleep(self._delay(st))
        st.attempt += 1
        return not st.final

    @property
    def _can_identify_task(self) -> bool:
        """Whether a lost reply's task can be recognised in any state (user name + server time)."""
        return self.server_clock is not None and self.t.session_user is not None

    def _not_before(self, st: VMState) -> datetime | None:
        """The earliest ``queueTime`` (server time) of a task created by the VM's latest call."""
        if self.server_clock is None or st.sent_at is None:
            return None
        return self.server_clock.not_before(st.sent_at)

    async def _adopt_task(self, st: VMState, lost: GuestnetError | None) -> bool:
        """After a lost reply: adopt the start task our call created on the VM, if any.

        True when the VM is settled: its task adopted, or (a cancel having come in) no task and
        the VM cancelled. The look counts as in flight, so a ``cancel()`` meanwhile is decided
        by what it finds instead of ending the VM under a task about to be adopted.
        """
        st.in_flight = True
        try:
            task = await find_start_task(
                self.t, st.vm.moid, user=self.t.session_user, not_before=self._not_before(st)
            )
        finally:
            st.in_flight = False
        if task is not None:
            self.register(st, task)  # cancels it when a cancel came in
            return True
        if st.cancel_requested:
            self.finish(st, "cancelled", fault=error_fault(lost) if lost else None)
            return True
        return False
