"""property.py on its own: values, the reconnect rule, a collector life, the loop's contract."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.vsphere.fakevc import FakeVC, boxed, change, fault, js, mo, update
from tui.vsphere import Client, ConnectSpec, GuestnetError, Secret, VimFault
from tui.vsphere.property import (
    Collector,
    Reconnect,
    UpdateLoop,
    apply_changes,
    object_updates,
    property_value,
    props_of,
)


async def connect(vc: FakeVC) -> Client:
    spec = ConnectSpec(host="vc.example", username="admin", password=Secret("pw"))
    return await Client.connect(spec, http_transport=vc.transport(), keepalive_interval=None)


def test_property_values_are_plain() -> None:
    assert property_value(boxed("int", 5)) == 5
    assert property_value(mo("Folder", "group-v3")) == "group-v3"
    nic = {"_typeName": "GuestNicInfo", "macAddress": "00:50:56:01:02:03"}
    assert property_value(nic) is nic  # data objects stay decoded JSON
    assert property_value(boxed("ArrayOfGuestNicInfo", [nic])) == [nic]
    assert property_value("web-01") == "web-01"
    oc = {"propSet": [{"name": "name", "val": "a"}, {"name": "parent", "val": mo("Folder", "f")}]}
    assert props_of(oc) == {"name": "a", "parent": "f"}


def test_apply_changes_reports_only_real_changes() -> None:
    props: dict[str, Any] = {"name": "a", "guest.ipAddress": "10.0.0.1"}
    changed = apply_changes(
        props,
        [
            change("name", "a"),  # same value: no change
            change("runtime.powerState", boxed("VirtualMachinePowerState", "poweredOn")),
            change("guest.ipAddress"),  # assign without val: unset
            {"op": "assign"},  # no name: ignored
        ],
    )
    assert changed == {"runtime.powerState", "guest.ipAddress"}
    assert props == {"name": "a", "runtime.powerState": "poweredOn"}
    assert apply_changes(props, [change("gone", op="remove")]) == set()


def test_object_updates_flatten_every_filter() -> None:
    us = {
        "filterSet": [
            {"objectSet": [update("enter", mo("Task", "task-1"), change("info.state", "queued"))]},
            {"objectSet": [update("leave", mo("VirtualMachine", "vm-1")), {"obj": {}}]},
        ]
    }
    got = [(u.kind, u.mo_type, u.moid, len(u.changes)) for u in object_updates(us)]
    assert got == [("enter", "Task", "task-1", 1), ("leave", "VirtualMachine", "vm-1", 0)]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (Reconnect((1.0, 2.0)), [1.0, 2.0, 2.0, 2.0]),
        (Reconnect((1.0, 2.0), give_up=True), [1.0, 2.0, None, None]),
        (Reconnect(()), [1.0, 1.0, 1.0, 1.0]),
        (Reconnect((), give_up=True), [None, None, None, None]),
    ],
)
def test_reconnect_rule(rule: Reconnect, expected: list[float | None]) -> None:
    assert [rule.delay(n) for n in range(4)] == expected


class _OneAnswer:
    """A handler with a view, one filter and one long-poll; then it stops."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.setups = 0

    async def setup(self, pc: Collector) -> None:
        self.setups += 1
        pc.own("ContainerView", "session[s]view-1", "DestroyView")
        await pc.add_filter({"_typeName": "PropertyFilterSpec", "propSet": [], "objectSet": []})

    async def next_wait(self, pc: Collector) -> int | None:
        return None if self.seen else 7

    async def on_updates(self, update_set: dict[str, Any]) -> None:
        self.seen.append(update_set)


def _collector_fake() -> FakeVC:
    vc = FakeVC()
    vc.on("CreatePropertyCollector", lambda r, v: js(mo("PropertyCollector", "session[s]pc-1")))
    vc.on("CreateFilter", lambda r, v: js(mo("PropertyFilter", "session[s]f-1")))
    return vc


async def test_a_stopped_loop_destroys_filter_collector_and_owned_objects_in_order() -> None:
    vc = _collector_fake()
    waits: list[dict[str, Any]] = []

    def wait(r: httpx.Request, v: FakeVC) -> httpx.Response:
        waits.append(json.loads(r.content))
        return js({"_typeName": "UpdateSet", "version": "1"})

    vc.on("WaitForUpdatesEx", wait)
    c = await connect(vc)
    handler = _OneAnswer()
    loop = UpdateLoop(
        c.transport, c.property_collector, handler, reconnect=Reconnect(()), status=lambda msg: None
    )
    await loop.run()
    assert handler.setups == 1 and handler.seen == [{"_typeName": "UpdateSet", "version": "1"}]
    assert waits == [{"version": "", "options": {"_typeName": "WaitOptions", "maxWaitSeconds": 7}}]
    assert loop.answers == 1
    assert vc.calls[-3:] == ["DestroyPropertyFilter", "DestroyPropertyCollector", "DestroyView"]
    assert "CancelWaitForUpdates" not in vc.calls  # no long-poll was interrupted
    await c.close()


async def test_an_expired_session_starts_a_new_life_without_destroying_the_old_one() -> None:
    vc = _collector_fake()
    answers = iter([fault("NotAuthenticated"), js({"_typeName": "UpdateSet", "version": "9"})])
    vc.on("WaitForUpdatesEx", lambda r, v: next(answers))
    status: list[str] = []
    c = await connect(vc)
    handler = _OneAnswer()
    loop = UpdateLoop(
        c.transport,
        c.property_collector,
        handler,
        reconnect=Reconnect(()),
        status=status.append,
        after_renewal="re-creating it",
    )
    await loop.run()
    assert handler.setups == 2 and vc.logins == 2
    assert status == ["session expired; logged in again, re-creating it"]
    # the first life's objects died with their session: only the second life is destroyed
    assert vc.calls.count("DestroyPropertyFilter") == 1 and vc.calls.count("DestroyView") == 1
    await c.close()


async def test_a_fatal_fault_ends_the_loop_and_still_cleans_up() -> None:
    vc = _collector_fake()
    vc.on("WaitForUpdatesEx", lambda r, v: fault("InvalidArgument", faultstring="bad version"))
    c = await connect(vc)
    loop = UpdateLoop(
        c.transport,
        c.property_collector,
        _OneAnswer(),
        reconnect=Reconnect(()),
        status=lambda msg: None,
    )
    with pytest.raises(VimFault, match="InvalidArgument"):
        await loop.run()
    assert vc.calls[-3:] == ["DestroyPropertyFilter", "DestroyPropertyCollector", "DestroyView"]
    await c.close()


async def test_a_listing_that_keeps_meeting_an_expired_session_is_a_user_facing_error() -> None:
    vc = FakeVC()
    vc.on("CreateContainerView", lambda r, v: fault("NotAuthenticated"))
    c = await connect(vc)
    with pytest.raises(GuestnetError) as ei:  # what the CLI and the UI catch
        await c.list_vms()
    assert isinstance(ei.value, VimFault) and ei.value.type_name == "NotAuthenticated"
    assert "the session keeps expiring" in str(ei.value)
    assert vc.calls.count("CreateContainerView") == 2 and vc.logins == 3
    await c.close()
