"""Which task did a StartGuestNetwork_Task call create whose reply was lost?

StartGuestNetwork_Task is never replayed blindly: when its reply is lost (expired session,
timeout, dropped connection, proxy error), the run reads the VM's ``recentTask`` and adopts the
task its call created, whatever its state: a StartGuestNetwork task with reason TaskReasonUser of
this session's user and a ``queueTime`` not earlier than the moment the call was sent (server
time, from the clock offset measured once per run with ``ServiceInstance.CurrentTime``, minus a
margin). A server that cannot tell its time gets the older rule: adopt a queued/running start
task (and never call again after a timeout).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tui.vsphere.errors import GuestnetError, VimFault
from tui.vsphere.transport import Transport
from tui.vsphere.wire import parse_time

log = logging.getLogger("tui.vsphere")

# a task of ours may show a queueTime this much before the moment we sent the call (server time)
QUEUE_TIME_MARGIN = 1.0


@dataclass(frozen=True, slots=True)
class ServerClock:
    """The server's time at one local ``time.monotonic()`` instant, within ``uncertainty`` s."""

    server_now: datetime
    mono: float
    uncertainty: float

    def not_before(self, sent_at: float) -> datetime:
        """The earliest ``queueTime`` (server time) of a task created by a call sent at
        ``sent_at`` (local monotonic time)."""
        offset = sent_at - self.mono - self.uncertainty - QUEUE_TIME_MARGIN
        return self.server_now + timedelta(seconds=offset)


async def measure_server_clock(t: Transport) -> ServerClock | None:
    """One ``ServiceInstance.CurrentTime`` call: the server's time at a local monotonic instant.

    Any failure (or an unset answer) leaves the clock unknown (None); lost replies then fall back
    to adopting a queued/running start task.
    """
    before = time.monotonic()
    try:
        now = parse_time(await t.invoke("ServiceInstance", "ServiceInstance", "CurrentTime"))
    except GuestnetError as e:
        log.info("ServiceInstance.CurrentTime failed (%s); lost replies use the older rule", e)
        return None
    after = time.monotonic()
    if now is None or now.tzinfo is None:
        log.info("ServiceInstance.CurrentTime gave no usable time; lost replies use the older rule")
        return None
    return ServerClock(now, (before + after) / 2, (after - before) / 2)


def is_our_start_task(
    info: Mapping[str, Any], user: str | None, not_before: datetime | None
) -> bool:
    """Whether a TaskInfo is the StartGuestNetwork task that a call of ``user`` created.

    With the session's user name and the call's server time: reason TaskReasonUser of that user
    and ``queueTime >= not_before``, in any state (it may have finished already). Without the
    time: a queued or running start task (of that user, when the user name is known).
    """
    name = f"{info.get('name', '')} {info.get('descriptionId', '')}"
    if "StartGuestNetwork" not in name and "startNetwork" not in name:
        return False
    if user is not None:
        reason = info.get("reason")
        if not isinstance(reason, dict) or reason.get("_typeName") != "TaskReasonUser":
            return False
        if str(reason.get("userName", "")).casefold() != user.casefold():
            return False
        if not_before is not None:
            queued = parse_time(info.get("queueTime"))
            return queued is not None and queued.tzinfo is not None and queued >= not_before
    return info.get("state") in ("queued", "running")


async def find_start_task(
    t: Transport,
    vm_moid: str,
    *,
    user: str | None = None,
    not_before: datetime | None = None,
) -> str | None:
    """The VM's start task created by our call (see ``is_our_start_task``), from ``recentTask``.

    A server that cannot answer (``recentTask`` not readable) yields None: no task is known.
    """
    try:
        recent = await t.get_property("VirtualMachine", vm_moid, "recentTask")
    except VimFault as e:
        log.info("cannot read recentTask of %s (%s); assuming no task was created", vm_moid, e)
        return None
    if isinstance(recent, dict):
        recent = recent.get("_value", [])
    for ref in recent or ():
        if not isinstance(ref, dict) or "value" not in ref:
            continue
        try:
            info = await t.get_property("Task", str(ref["value"]), "info")
        except VimFault:
            continue  # the task is gone
        if isinstance(info, dict) and is_our_start_task(info, user, not_before):
            return str(ref["value"])
    return None
