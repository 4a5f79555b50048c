"""Client behaviour on edge cases the simulator cannot produce (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.vsphere.conftest import eventually
from tests.vsphere.fakevc import FakeVC, boxed, change, fault, js, mo, update
from tui import __version__
from tui.vsphere import (
    VM,
    BadResponse,
    Client,
    ConnectError,
    ConnectSpec,
    GuestCredentials,
    GuestnetError,
    RequestTimeout,
    Secret,
    SpecError,
    TLSVerifyError,
    VimFault,
    fetch_thumbprint,
)

PASSWORD = "S3cret-Pa55!"


def spec(**kw: Any) -> ConnectSpec:
    base: dict[str, Any] = {
        "host": "vc.example",
        "username": "admin@vsphere.local",
        "password": Secret(PASSWORD),
    }
    base.update(kw)
    return ConnectSpec(**base)


async def connect(vc: FakeVC, **kw) -> Client:
    kw.setdefault("keepalive_interval", None)
    return await Client.connect(spec(), http_transport=vc.transport(), **kw)


async def test_hello_negotiates_and_login_keeps_session_header() -> None:
    vc = FakeVC(releases=("8.0.3.0", "8.0.2.0"), hello="8.0.3.0")
    seen: list[httpx.Request] = []

    def current_time(r: httpx.Request, v: FakeVC) -> httpx.Response:
        seen.append(r)
        return js("2026-01-01T00:00:00Z")

    vc.on("CurrentTime", current_time)
    c = await connect(vc)
    assert c.release == "8.0.3.0"
    assert vc.calls[:3] == ["hello", "content", "Login"]
    assert c.about is not None and c.about.api_version == "8.0.2.0"
    await c.transport.invoke("ServiceInstance", "ServiceInstance", "CurrentTime")
    assert seen[0].headers["vmware-api-session-id"] == "tok-1"
    ua = seen[0].headers["user-agent"]
    system = platform.system().lower()
    assert ua == f"guestnet/{__version__} (python/{platform.python_version()}; {system})"
    hello_body = json.loads(vc.bodies[0][1])
    assert hello_body["api_releases"][0] == "9.0.0.0"
    await c.close()
    assert vc.calls[-1] == "Logout"


async def test_no_hello_probes_newest_first() -> None:
    vc = FakeVC(releases=("8.0.1.0",), hello=None)
    c = await connect(vc)
    assert c.release == "8.0.1.0"
    assert vc.calls[:6] == ["hello", "content", "content", "content", "content", "Login"]
    await c.close()


async def test_no_common_release() -> None:
    vc = FakeVC(hello="")
    with pytest.raises(GuestnetError, match="supports none of the API releases"):
        await connect(vc)
    vc = FakeVC(releases=("7.0.3.0",), hello=None)
    with pytest.raises(GuestnetError, match="offers no VI/JSON API release"):
        await connect(vc)


async def test_pinned_release_skips_hello() -> None:
    vc = FakeVC(releases=("8.0.2.0",))
    c = await Client.connect(
        spec(release="8.0.2.0"), http_transport=vc.transport(), keepalive_interval=None
    )
    assert vc.calls[:2] == ["content", "Login"] and c.release == "8.0.2.0"
    await c.close()
    with pytest.raises(GuestnetError, match=r"does not offer the pinned API release 8\.0\.3\.0"):
        await Client.connect(spec(release="8.0.3.0"), http_transport=vc.transport())


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"release": "8.0"}, "invalid API release '8.0'"),
        ({"port": 0}, "port out of range: 0"),
        ({"host": " "}, "vCenter host is empty"),
        ({"timeout": 0}, "timeout must be positive"),
    ],
)
async def test_bad_spec_is_a_clear_error(kw: dict, msg: str) -> None:
    with pytest.raises(SpecError, match=msg):
        await Client.connect(spec(**kw), http_transport=FakeVC().transport())


async def test_bad_max_objects_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match="max_objects must be at least 1, got 0"):
        await Client.connect(spec(), http_transport=FakeVC().transport(), max_objects=0)


async def test_invalid_login_is_a_fault_without_the_password(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    vc = FakeVC()
    vc.on("Login", lambda r, v: fault("InvalidLogin", faultstring="Cannot complete login"))
    with pytest.raises(VimFault) as ei:
        await connect(vc)
    e = ei.value
    assert e.type_name == "InvalidLogin"
    assert str(e) == (
        "InvalidLogin: Cannot complete login "
        "(POST /sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login)"
    )
    assert "Logout" not in vc.calls
    assert PASSWORD not in repr(e.fault) and PASSWORD not in str(e.__context__)
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)


async def test_fault_body_becomes_vimfault_with_request() -> None:
    vc = FakeVC()
    vc.on(
        "CurrentTime",
        lambda r, v: fault(
            "CustomizationFault",
            faultCause={"_typeName": "SystemError", "reason": "agent unavailable"},
        ),
    )
    c = await connect(vc)
    with pytest.raises(VimFault) as ei:
        await c.transport.invoke("ServiceInstance", "ServiceInstance", "CurrentTime", {"x": 1})
    e = ei.value
    assert e.request == "POST /sdk/vim25/8.0.2.0/ServiceInstance/ServiceInstance/CurrentTime"
    assert e.fault.cause is not None and e.fault.cause.type_name == "SystemError"
    assert "\n" not in str(e) and '"x"' not in str(e)
    await c.close()


@pytest.mark.parametrize(
    ("response", "msg"),
    [
        (
            httpx.Response(
                502, text="<html><h1>Bad Gateway</h1></html>", headers={"content-type": "text/html"}
            ),
            re.escape(
                "HTTP 502 Bad Gateway from POST /sdk/vim25/8.0.2.0/ServiceInstance/"
                "ServiceInstance/CurrentTime is not a vSphere answer (text/html)"
            ),
        ),
        (httpx.Response(500), "HTTP 500 Internal Server Error from POST .* \\(empty body\\)"),
        (js({"error": "x"}, status=500), "HTTP 500 .* \\(application/json\\)"),
        (
            httpx.Response(
                200, text="<html>login portal</html>", headers={"content-type": "text/html"}
            ),
            "HTTP 200 from POST .*CurrentTime is not JSON \\(text/html\\)",
        ),
        (httpx.Response(404, text="nope"), "HTTP 404 Not Found from POST"),
        (
            httpx.Response(
                200,
                stream=httpx.ByteStream(b"not gzip"),  # decoded (and failing) when read
                headers={"content-type": "application/json", "content-encoding": "gzip"},
            ),
            "answer from POST .*CurrentTime cannot be decoded \\(.*decompress",
        ),
    ],
)
async def test_non_vijson_replies_are_bad_response(response: httpx.Response, msg: str) -> None:
    vc = FakeVC()
    vc.on("CurrentTime", lambda r, v: response)
    c = await connect(vc)
    with pytest.raises(BadResponse, match=msg) as ei:
        await c.transport.invoke("ServiceInstance", "ServiceInstance", "CurrentTime")
    assert "\n" not in str(ei.value)
    assert not isinstance(ei.value.__context__, httpx.HTTPError)  # it would hold the request
    await c.close()


async def test_204_and_empty_200_are_none() -> None:
    vc = FakeVC()
    vc.on("A", lambda r, v: httpx.Response(204))
    vc.on("B", lambda r, v: httpx.Response(200, content=b""))
    c = await connect(vc)
    assert await c.transport.invoke("X", "x", "A") is None
    assert await c.transport.invoke("X", "x", "B") is None
    await c.close()


@pytest.mark.parametrize("status", [401, 500])
async def test_not_authenticated_relogs_in_once_and_retries_reads(status: int) -> None:
    vc = FakeVC()
    state = {"n": 0}

    def current_time(r: httpx.Request, v: FakeVC) -> httpx.Response:
        state["n"] += 1
        if state["n"] == 1:
            return httpx.Response(401) if status == 401 else fault("NotAuthenticated")
        return js("2026-01-01T00:00:00Z")

    vc.on("CurrentTime", current_time)
    c = await connect(vc)
    assert await c.transport.invoke("ServiceInstance", "ServiceInstance", "CurrentTime") == (
        "2026-01-01T00:00:00Z"
    )
    assert vc.logins == 2 and state["n"] == 2
    await c.close()


async def test_persistent_not_authenticated_is_raised_after_one_relogin() -> None:
    vc = FakeVC()
    vc.on("CurrentTime", lambda r, v: fault("NotAuthenticated"))
    c = await connect(vc)
    with pytest.raises(VimFault, match="NotAuthenticated"):
        await c.transport.invoke("ServiceInstance", "ServiceInstance", "CurrentTime")
    assert vc.logins == 2
    await c.close()


async def test_concurrent_expiry_logs_in_once() -> None:
    vc = FakeVC()
    vc.on("CurrentTime", lambda r, v: js("t"))
    c = await connect(vc)
    vc.expire_sessions()
    results = await asyncio.gather(
        *[c.transport.invoke("ServiceInstance", "ServiceInstance", "CurrentTime") for _ in range(5)]
    )
    assert results == ["t"] * 5 and vc.logins == 2
    await c.close()


async def test_timeout_and_connect_errors() -> None:
    vc = FakeVC()

    def slow(r: httpx.Request, v: FakeVC) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=r)

    def refused(r: httpx.Request, v: FakeVC) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=r)

    vc.on("Slow", slow)
    vc.on("Refused", refused)
    c = await connect(vc)
    with pytest.raises(
        RequestTimeout,
        match=r"vc.example:443 did not answer within 30 s \(read timeout; POST .*/Slow\)",
    ):
        await c.transport.invoke("X", "x", "Slow", {"password": PASSWORD})
    with pytest.raises(
        ConnectError, match=r"cannot connect to vc\.example:443: \[Errno 111\] Connection refused"
    ) as ei:
        await c.transport.invoke("X", "x", "Refused", {"password": PASSWORD})
    # no httpx exception (which carries the request body) is chained
    assert ei.value.__context__ is None and ei.value.__cause__ is None
    await c.close()


async def test_keepalive_after_idle() -> None:
    vc = FakeVC()
    vc.on("currentSession", lambda r, v: js({"_typeName": "UserSession", "key": "k"}))
    started = time.monotonic()
    c = await connect(vc, keepalive_interval=0.05)
    await eventually(lambda: vc.calls.count("currentSession") >= 2, "two keepalive calls")
    n = vc.calls.count("currentSession")
    # after idling 0.05 s each: never more than one call per interval (+1 for the edges)
    assert 2 <= n <= 2 + (time.monotonic() - started) / 0.05 and vc.logins == 1
    await c.close()
    after = vc.calls.count("currentSession")
    await asyncio.sleep(0.15)
    assert vc.calls.count("currentSession") == after  # stopped by close()


async def test_keepalive_relogs_in_when_the_session_is_gone() -> None:
    vc = FakeVC()
    vc.on("currentSession", lambda r, v: httpx.Response(204))  # unset: not logged in
    c = await connect(vc)
    await c.keepalive()
    assert vc.logins == 2
    await c.close()


async def test_close_is_idempotent_and_calls_after_close_fail() -> None:
    vc = FakeVC()
    c = await connect(vc)
    await c.close()
    await c.close()
    assert vc.calls.count("Logout") == 1
    with pytest.raises(GuestnetError, match="is closed"):
        await c.list_vms()


def _update_set(version: str, objs: list[dict], truncated: bool = False) -> dict:
    us: dict[str, Any] = {
        "_typeName": "UpdateSet",
        "version": version,
        "filterSet": [
            {
                "_typeName": "PropertyFilterUpdate",
                "filter": mo("PropertyFilter", "f1"),
                "objectSet": objs,
            }
        ],
    }
    if truncated:
        us["truncated"] = True
    return us


def _vm_enter(moid: str, name: str, parent: str = "group-v3") -> dict:
    return update(
        "enter",
        mo("VirtualMachine", moid),
        change("name", boxed("string", name)),
        change("parent", mo("Folder", parent)),
        change("runtime.powerState", boxed("VirtualMachinePowerState", "poweredOn")),
    )


def _folder_enter(moid: str, name: str, parent: str, kind: str = "Folder") -> dict:
    return update(
        "enter",
        mo(kind, moid),
        change("name", boxed("string", name)),
        change("parent", mo("Folder", parent)),
    )


async def test_watch_truncated_initial_sync_is_one_resync_batch_and_cleans_up() -> None:
    vc = FakeVC()
    ref = lambda t, v: js({"_typeName": "ManagedObjectReference", "type": t, "value": v})  # noqa: E731
    vc.on("CreateContainerView", lambda r, v: ref("ContainerView", "session[s]view-1"))
    vc.on("CreatePropertyCollector", lambda r, v: ref("PropertyCollector", "session[s]pc-1"))
    vc.on("CreateFilter", lambda r, v: ref("PropertyFilter", "session[s]f-1"))
    answers = [
        _update_set(
            "1",
            [_folder_enter("datacenter-1", "DC", "group-d1", "Datacenter"), _vm_enter("vm-1", "a")],
            truncated=True,
        ),
        _update_set("2", [_folder_enter("group-v3", "vm", "datacenter-1"), _vm_enter("vm-2", "b")]),
        None,
        _update_set(
            "3",
            [
                update(
                    "modify",
                    mo("VirtualMachine", "vm-2"),
                    change("runtime.powerState", boxed("VirtualMachinePowerState", "poweredOff")),
                ),
                update("leave", mo("VirtualMachine", "vm-1")),
            ],
        ),
    ]
    versions: list[str] = []

    def wait(r: httpx.Request, v: FakeVC) -> httpx.Response:
        versions.append(json.loads(r.content)["version"])
        a = answers.pop(0) if answers else None
        return httpx.Response(204) if a is None else js(a)

    vc.on("WaitForUpdatesEx", wait)
    c = await connect(vc)
    w = c.watch_vms()
    first = await w.__anext__()
    assert first.resync and {ch.moid for ch in first.changes} == {"vm-1", "vm-2"}
    paths = {ch.vm.path for ch in first.changes if ch.vm}
    assert paths == {"/DC/vm/a", "/DC/vm/b"}
    second = await w.__anext__()
    assert not second.resync
    kinds = {(ch.kind, ch.moid): ch for ch in second.changes}
    mod = kinds[("modify", "vm-2")]
    assert (
        mod.changed == frozenset({"power_state"}) and mod.vm and mod.vm.power_state == "poweredOff"
    )
    assert ("leave", "vm-1") in kinds
    assert versions[:4] == ["", "1", "2", "2"]  # (the loop may already be polling again)
    await w.aclose()
    tail = vc.calls[-3:]
    assert tail == ["DestroyPropertyFilter", "DestroyPropertyCollector", "DestroyView"]
    await c.close()
    assert vc.calls[-1] == "Logout"


def _task_success(task: str) -> dict:
    return _update_set(
        "1",
        [
            update(
                "enter",
                mo("Task", task),
                change("info.state", boxed("TaskInfoState", "success")),
                change("info.cancelable", boxed("boolean", False)),
            )
        ],
    )


def _run_fake(start_answers: list, recent: list[dict]) -> FakeVC:
    vc = FakeVC()
    ref = lambda t, v: js(mo(t, v))  # noqa: E731
    vc.on("CreatePropertyCollector", lambda r, v: ref("PropertyCollector", "session[s]pc"))
    vc.on("CreateFilter", lambda r, v: ref("PropertyFilter", "session[s]f"))
    filtered: list[str] = []

    def create_filter(r: httpx.Request, v: FakeVC) -> httpx.Response:
        spec = json.loads(r.content)["spec"]
        filtered.extend(o["obj"]["value"] for o in spec["objectSet"])
        return ref("PropertyFilter", "session[s]f")

    vc.on("CreateFilter", create_filter)
    vc.on("WaitForUpdatesEx", lambda r, v: js(_task_success(filtered[-1])))

    def start(r: httpx.Request, v: FakeVC) -> httpx.Response:
        a = start_answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    vc.on("StartGuestNetwork_Task", start)
    vc.on("recentTask", lambda r, v: js([mo("Task", t["key"]) for t in recent]))
    vc.on("info", lambda r, v: js(next(t for t in recent if r.url.path.split("/")[-2] == t["key"])))
    return vc


# the fake's Login answers userName "admin" (and CurrentTime unset: the queued/running rule)
_BY_US = {"_typeName": "TaskReasonUser", "userName": "admin"}


def _vm() -> VM:
    return VM(moid="vm-42", name="web-01", path="/DC/vm/web-01", folder="/DC/vm")


def _creds() -> GuestCredentials:
    return GuestCredentials("root", Secret("guest-Pa55"))


async def test_start_meeting_expired_session_adopts_the_running_task() -> None:
    running = {"_typeName": "TaskInfo", "key": "task-9", "name": "StartGuestNetwork_Task",
               "descriptionId": "vm.startNetwork", "state": "running",
               "reason": _BY_US}  # fmt: skip
    vc = _run_fake([fault("NotAuthenticated")], [running])
    c = await connect(vc)
    run = c.start_guest_network([_vm()], _creds(), coalesce=0)
    events = [e async for e in run]
    assert [e.state for e in events] == ["pending", "started", "succeeded"]
    assert events[-1].task == "task-9"
    assert vc.calls.count("StartGuestNetwork_Task") == 1  # never replayed
    assert vc.logins == 2 and "recentTask" in vc.calls
    await c.close()


async def test_start_meeting_expired_session_calls_again_when_no_task_exists() -> None:
    done = {"_typeName": "TaskInfo", "key": "task-8", "name": "StartGuestNetwork_Task",
            "descriptionId": "x", "state": "success", "reason": _BY_US}  # fmt: skip
    vc = _run_fake([fault("NotAuthenticated"), js(mo("Task", "task-10"))], [done])
    c = await connect(vc)
    events = [e async for e in c.start_guest_network([_vm()], _creds(), coalesce=0)]
    assert events[-1].state == "succeeded" and events[-1].task == "task-10"
    assert vc.calls.count("StartGuestNetwork_Task") == 2
    i = vc.calls.index("recentTask")
    assert vc.calls[i:].count("StartGuestNetwork_Task") == 1  # checked before calling again
    await c.close()


async def test_start_timeout_checks_for_a_task_before_failing() -> None:
    running = {"_typeName": "TaskInfo", "key": "task-7", "name": "StartGuestNetwork_Task",
               "descriptionId": "x", "state": "queued", "reason": _BY_US}  # fmt: skip
    vc = _run_fake([httpx.ReadTimeout("slow")], [running])
    c = await connect(vc)
    events = [e async for e in c.start_guest_network([_vm()], _creds(), coalesce=0)]
    assert events[-1].state == "succeeded" and events[-1].task == "task-7"
    vc2 = _run_fake([httpx.ReadTimeout("slow")], [])
    c2 = await connect(vc2)
    events = [e async for e in c2.start_guest_network([_vm()], _creds(), coalesce=0)]
    assert events[-1].state == "failed" and events[-1].fault is not None
    assert events[-1].fault.type_name == "RequestTimeout"
    assert vc2.calls.count("StartGuestNetwork_Task") == 1
    await c.close()
    await c2.close()


def _server_time(shift: float = 0.0) -> str:
    t = datetime.now(UTC) + timedelta(seconds=shift)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


async def test_start_timeout_with_server_clock_adopts_a_finished_task_or_calls_again() -> None:
    """With ServiceInstance.CurrentTime answered, a timeout is followed by a look; our task
    (TaskReasonUser of the session's user, queued after the call) is adopted even when finished;
    no such task (only an older one, and another user's) means no task was created: look again
    after the backoff, then call again."""
    ours = {"_typeName": "TaskInfo", "key": "task-5", "name": "StartGuestNetwork_Task",
            "descriptionId": "x", "state": "success", "reason": _BY_US,
            "queueTime": _server_time(60)}  # fmt: skip
    vc = _run_fake([httpx.ReadTimeout("slow")], [ours])
    vc.on("CurrentTime", lambda r, v: js(_server_time(60)))  # the server's clock is 60 s ahead
    c = await connect(vc)
    events = [e async for e in c.start_guest_network([_vm()], _creds(), coalesce=0)]
    assert events[-1].state == "succeeded" and events[-1].task == "task-5"
    assert vc.calls.count("StartGuestNetwork_Task") == 1 and vc.calls.count("CurrentTime") == 1
    await c.close()

    older = {**ours, "key": "task-3", "state": "running", "queueTime": _server_time(-5)}
    foreign = {**ours, "key": "task-4", "state": "running",
               "reason": {"_typeName": "TaskReasonUser", "userName": "someone-else"}}  # fmt: skip
    vc2 = _run_fake([httpx.ReadTimeout("slow"), js(mo("Task", "task-6"))], [older, foreign])
    vc2.on("CurrentTime", lambda r, v: js(_server_time()))
    c2 = await connect(vc2)
    run = c2.start_guest_network([_vm()], _creds(), coalesce=0, retry_delays=(0.01,))
    events = [e async for e in run]
    assert events[-1].state == "succeeded" and events[-1].task == "task-6"
    assert vc2.calls.count("StartGuestNetwork_Task") == 2
    first = vc2.calls.index("StartGuestNetwork_Task")
    assert vc2.calls[first:].count("recentTask") == 2  # at once, and again before the new call
    await c2.close()


_OURS_RUNNING = {"_typeName": "TaskInfo", "key": "task-9", "name": "StartGuestNetwork_Task",
                 "descriptionId": "x", "state": "running", "reason": _BY_US}  # fmt: skip


@pytest.mark.parametrize("recent", [[], [_OURS_RUNNING]], ids=["no-task", "our-task"])
async def test_cancel_while_looking_for_the_task_of_a_lost_reply(recent: list[dict]) -> None:
    """A cancel() that arrives while the run reads recentTask after a lost reply is decided by
    the look: no task -> cancelled, no second call; our task -> adopted and CancelTask sent;
    never an event after the final one."""
    vc = _run_fake([fault("NotAuthenticated"), js(mo("Task", "task-10"))], recent)
    vc.on("CancelTask", lambda r, v: httpx.Response(204))
    c = await connect(vc)
    run = c.start_guest_network([_vm()], _creds(), coalesce=0)
    original = c.transport.get_property

    async def cancelling_look(mo_type: str, moid: str, prop: str, **kw: Any) -> Any:
        if prop == "recentTask":
            assert await run.cancel("vm-42")  # the user cancels while the run looks
        return await original(mo_type, moid, prop, **kw)

    c.transport.get_property = cancelling_look  # type: ignore[method-assign]
    events = [e async for e in run]
    await asyncio.sleep(0)  # let the quiet CancelTask go out
    assert [e.final for e in events].index(True) == len(events) - 1
    assert vc.calls.count("StartGuestNetwork_Task") == 1
    if not recent:
        assert events[-1].state == "cancelled" and events[-1].task is None
        assert "CancelTask" not in vc.calls
    else:
        assert events[-1].task == "task-9" and vc.calls.count("CancelTask") == 1
    await c.close()


async def test_task_tracking_survives_more_blips_than_reconnect_delays_when_each_recovers() -> None:
    """The reconnect budget is per outage: a long run that loses its long-poll connection
    several times, recovering each time, keeps tracking its tasks."""
    vc = _run_fake([js(mo("Task", "task-1"))], [])
    answers = 0

    def wait(r: httpx.Request, v: FakeVC) -> httpx.Response:
        nonlocal answers
        answers += 1
        if answers in (1, 3, 5):
            raise httpx.RemoteProtocolError("server disconnected", request=r)
        if answers < 6:
            running = change("info.state", boxed("TaskInfoState", "running"))
            return js(_update_set(str(answers), [update("enter", mo("Task", "task-1"), running)]))
        return js(_task_success("task-1"))

    vc.on("WaitForUpdatesEx", wait)
    c = await connect(vc)
    run = c.start_guest_network([_vm()], _creds(), coalesce=0, reconnect_delays=(0.01,))
    events = [e async for e in run]
    assert events[-1].state == "succeeded" and events[-1].task == "task-1"
    assert vc.calls.count("CreatePropertyCollector") == 4  # the first one, then one per outage
    await c.close()


async def test_start_body_is_name_password_auth_and_secret_stays_masked() -> None:
    vc = _run_fake([js(mo("Task", "task-1"))], [])
    c = await connect(vc)
    creds = _creds()
    run = c.start_guest_network([_vm()], creds, coalesce=0)
    events = [e async for e in run]
    body = next(json.loads(b) for p, b in vc.bodies if p.endswith("/StartGuestNetwork_Task"))
    assert body["auth"] == {
        "_typeName": "NamePasswordAuthentication",
        "interactiveSession": False,
        "username": "root",
        "password": "guest-Pa55",
    }
    assert "guest-Pa55" not in repr(creds) + str(creds.password) + repr(events) + repr(run)
    await c.close()


async def test_run_rejects_bad_arguments() -> None:
    c = await connect(FakeVC())
    with pytest.raises(ValueError, match="concurrency must be at least 1, got 0"):
        c.start_guest_network([_vm()], _creds(), concurrency=0)
    with pytest.raises(TypeError, match="creds must be GuestCredentials"):
        c.start_guest_network([_vm()], ("root", "pw"))  # type: ignore[arg-type]
    await c.close()


async def test_tls_failure_during_a_run_fails_every_vm_with_it() -> None:
    import ssl

    vc = _run_fake([], [])

    def start(r: httpx.Request, v: FakeVC) -> httpx.Response:
        raise httpx.ConnectError("handshake", request=r) from ssl.SSLCertVerificationError(
            1, "certificate verify failed"
        )

    vc.on("StartGuestNetwork_Task", start)
    c = await connect(vc)
    vms = [VM(moid=f"vm-{i}", name=f"n{i}", path=f"/n{i}", folder="") for i in range(3)]
    events = [e async for e in c.start_guest_network(vms, _creds(), coalesce=0)]
    finals = [e for e in events if e.final]
    assert len(finals) == 3
    assert all(
        e.state == "failed" and e.fault and e.fault.type_name == "TLSVerifyError" for e in finals
    )
    assert "is not trusted" in finals[0].fault.message  # type: ignore[union-attr]
    await c.close()


async def test_tracker_gives_up_after_bounded_reconnects() -> None:
    vc = _run_fake([js(mo("Task", "task-1"))], [])

    def wait(r: httpx.Request, v: FakeVC) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=r)

    vc.on("WaitForUpdatesEx", wait)
    status: list[str] = []
    c = await connect(vc)
    run = c.start_guest_network(
        [_vm()], _creds(), coalesce=0, reconnect_delays=(0.01, 0.01), on_status=status.append
    )
    events = [e async for e in run]
    assert events[-1].state == "failed" and events[-1].fault is not None
    assert events[-1].fault.type_name == "ConnectError"
    assert vc.calls.count("WaitForUpdatesEx") == 3  # first try + two bounded retries
    assert sum("connection lost" in s for s in status) == 2
    await c.close()


async def test_dns_failure_is_connect_error() -> None:
    spec_ = spec(host="nonexistent.invalid", timeout=5.0)
    with pytest.raises(ConnectError, match=r"cannot connect to nonexistent\.invalid:443"):
        await Client.connect(spec_, keepalive_interval=None)
    with pytest.raises(ConnectError, match=r"cannot resolve nonexistent\.invalid"):
        await fetch_thumbprint("nonexistent.invalid", 443, timeout=5.0)


async def test_non_tls_server_and_silent_server() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\nplain http here\r\n")
        await writer.drain()
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # says nothing until the client gives up
        writer.close()

    plain = await asyncio.start_server(garbage, "127.0.0.1", 0)
    mute = await asyncio.start_server(silent, "127.0.0.1", 0)
    p1 = plain.sockets[0].getsockname()[1]
    p2 = mute.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TLSVerifyError, match=f"TLS handshake with 127.0.0.1:{p1} failed"):
            await Client.connect(spec(host="127.0.0.1", port=p1), keepalive_interval=None)
        with pytest.raises(RequestTimeout, match=f"127.0.0.1:{p2} did not"):
            await Client.connect(
                spec(host="127.0.0.1", port=p2, timeout=0.3), keepalive_interval=None
            )
        with pytest.raises(RequestTimeout, match=r"did not complete a TLS handshake within 0\.3 s"):
            await fetch_thumbprint("127.0.0.1", p2, timeout=0.3)
    finally:
        plain.close()
        mute.close()


async def test_malformed_answers_are_bad_response(monkeypatch) -> None:
    no_value = js({"_typeName": "ManagedObjectReference", "type": "Task"})
    vc = _run_fake([no_value, no_value], [])
    c = await connect(vc)
    run = c.start_guest_network([_vm()], _creds(), coalesce=0, max_attempts=2, retry_delays=(0.01,))
    events = [e async for e in run]
    assert vc.calls.count("StartGuestNetwork_Task") == 2  # looked for a task, then retried once
    assert events[-1].state == "failed" and events[-1].fault is not None
    assert events[-1].fault.type_name == "BadResponse"
    assert (
        events[-1].fault.message == "StartGuestNetwork_Task did not return a ManagedObjectReference"
    )
    vc.on("CreateContainerView", lambda r, v: js(mo("ContainerView", "session[s]v")))
    bad_page = {"_typeName": "RetrieveResult", "objects": [{}]}
    vc.on("RetrievePropertiesEx", lambda r, v: js(bad_page))
    with pytest.raises(BadResponse, match=r"malformed RetrievePropertiesEx answer from vc\.ex"):
        await c.list_vms()
    assert vc.calls[-1] == "DestroyView"
    await c.close()


async def test_an_unexpected_error_in_a_run_is_not_swallowed(monkeypatch) -> None:
    from tui.vsphere import tasks

    def boom(props: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(tasks, "task_state", boom)
    vc = _run_fake([js(mo("Task", "task-1"))], [])
    c = await connect(vc)
    run = c.start_guest_network([_vm()], _creds(), coalesce=0)
    with pytest.raises(RuntimeError, match="bug"):
        async for _ in run:
            pass
    await c.close()


async def test_async_with_logs_out_after_an_error() -> None:
    vc = FakeVC()
    with pytest.raises(RuntimeError, match="boom"):
        async with await connect(vc) as c:
            assert c.release == "8.0.2.0"
            raise RuntimeError("boom")
    assert vc.calls[-1] == "Logout"


async def test_stopping_mid_listing_releases_the_result_set() -> None:
    vc = FakeVC()
    vc.on("CreateContainerView", lambda r, v: js(mo("ContainerView", "session[s]v")))
    page1 = {"_typeName": "RetrieveResult", "token": "1", "objects": [{}]}
    page2 = {"_typeName": "RetrieveResult", "token": "2", "objects": []}
    vc.on("RetrievePropertiesEx", lambda r, v: js(page1))
    vc.on("ContinueRetrievePropertiesEx", lambda r, v: js(page2))
    c = await connect(vc)
    with pytest.raises(BadResponse, match="malformed"):
        await c.list_vms()
    assert vc.calls[-2:] == ["CancelRetrievePropertiesEx", "DestroyView"]
    cancel = next(json.loads(b) for p, b in vc.bodies if p.endswith("/CancelRetrievePropertiesEx"))
    assert cancel["token"] in ("1", "2")  # whichever result set the server still holds
    await c.close()


async def test_list_vm_listed_before_its_folders_still_gets_its_path() -> None:
    def oc(mo_type: str, moid: str, name: str, parent_type: str, parent: str) -> dict:
        return {
            "_typeName": "ObjectContent",
            "obj": mo(mo_type, moid),
            "propSet": [
                {"_typeName": "DynamicProperty", "name": "name", "val": boxed("string", name)},
                {"_typeName": "DynamicProperty", "name": "parent", "val": mo(parent_type, parent)},
            ],
        }

    page1 = {
        "_typeName": "RetrieveResult",
        "token": "1",
        "objects": [
            oc("Datacenter", "datacenter-1", "DC", "Folder", "group-d1"),
            oc("VirtualMachine", "vm-2", "late", "Folder", "group-v9"),
            oc("Folder", "group-v3", "vm", "Datacenter", "datacenter-1"),
            oc("VirtualMachine", "vm-1", "early", "Folder", "group-v3"),
        ],
    }
    page2 = {
        "_typeName": "RetrieveResult",
        "objects": [oc("Folder", "group-v9", "team", "Folder", "group-v3")],
    }
    vc = FakeVC()
    vc.on("CreateContainerView", lambda r, v: js(mo("ContainerView", "session[s]v")))
    vc.on("RetrievePropertiesEx", lambda r, v: js(page1))
    vc.on("ContinueRetrievePropertiesEx", lambda r, v: js(page2))
    c = await connect(vc)
    vms = await c.list_vms()
    assert [(v.moid, v.path, v.folder) for v in vms] == [
        ("vm-2", "/DC/vm/team/late", "/DC/vm/team"),
        ("vm-1", "/DC/vm/early", "/DC/vm"),
    ]
    await c.close()
