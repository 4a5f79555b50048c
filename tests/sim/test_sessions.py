"""Sessions, release negotiation, ServiceContent: over real HTTPS, every body registry-checked."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.oracle import validate_fault
from tests.sim.poll import until
from tests.sim.vi import VI, mor, ssl_context, view_spec
from tui.sim.clock import ManualClock
from tui.sim.server import SimError, SimServer


async def test_content_needs_no_session_and_names_the_managers(sim_module: SimServer) -> None:
    async with VI(sim_module) as vi:
        r = await vi.get("ServiceInstance", "ServiceInstance", "content")
        assert r.status == 200
        c = r.body
        assert c["rootFolder"] == mor("Folder", "group-d1")
        assert c["propertyCollector"] == mor("PropertyCollector", "propertyCollector")
        assert c["sessionManager"]["value"] == "SessionManager"
        assert c["viewManager"]["value"] == "ViewManager"
        assert c["guestCustomizationManager"]["type"] == "VirtualMachineGuestCustomizationManager"
        assert c["about"]["apiVersion"] == "9.0.0.0"


async def test_login_returns_user_session_and_header(sim: SimServer) -> None:
    async with VI(sim) as vi:
        r = await vi.login()
        assert r.status == 200
        assert len(r.headers["vmware-api-session-id"]) >= 32
        assert r.body["_typeName"] == "UserSession" and r.body["userName"] == sim.username
        cur = await vi.get("SessionManager", "SessionManager", "currentSession")
        assert cur.status == 200 and cur.body["key"] == r.body["key"]
        assert sim.stats()["logins"] == 1


@pytest.mark.parametrize(
    ("user", "password"),
    [("administrator@vsphere.local", "wrong"), ("nobody@vsphere.local", "VMware1!")],
)
async def test_bad_login_is_invalid_login(sim_module: SimServer, user: str, password: str) -> None:
    async with VI(sim_module) as vi:
        r = await vi.login(user, password)
        assert r.status == 500 and r.fault == "InvalidLogin"
        assert "faultstring" in r.body and "vmware-api-session-id" not in r.headers
        assert password not in r.text


async def test_missing_or_unknown_session_is_not_authenticated(sim_module: SimServer) -> None:
    async with VI(sim_module) as vi:
        r = await vi.get("VirtualMachine", "vm-10", "runtime")
        assert r.status == 500 and r.fault == "NotAuthenticated"
        assert r.body["object"] == mor("VirtualMachine", "vm-10")
        assert r.body["faultstring"] == "The session is not authenticated."
        vi.token = "0" * 40
        r = await vi.post(
            "ViewManager",
            "ViewManager",
            "CreateContainerView",
            {"container": mor("Folder", "group-d1"), "recursive": True},
        )
        assert r.fault == "NotAuthenticated"
        # currentSession without a valid session is simply unset (as on vCenter)
        r = await vi.get("SessionManager", "SessionManager", "currentSession")
        assert r.status == 204


async def test_logout_invalidates_and_cleans_up(sim: SimServer) -> None:
    async with VI(sim) as vi:
        await vi.login()
        view = await vi.vm_view()
        col = (
            await vi.post("PropertyCollector", "propertyCollector", "CreatePropertyCollector")
        ).body
        r = await vi.post(
            "PropertyCollector",
            col["value"],
            "CreateFilter",
            {"spec": view_spec(view, ["name"]), "partialUpdates": False},
        )
        assert r.status == 200
        live = sim.stats()["live"]
        assert (live["sessions"], live["views"], live["filters"], live["collectors"]) == (
            1,
            1,
            1,
            1,
        )
        r = await vi.post("SessionManager", "SessionManager", "Logout")
        assert r.status == 204 and r.body is None
        live = sim.stats()["live"]
        assert (live["sessions"], live["views"], live["filters"], live["collectors"]) == (
            0,
            0,
            0,
            0,
        )
        r = await vi.get("ContainerView", view["value"], "view")
        assert r.fault == "NotAuthenticated"
        assert sim.stats()["logouts"] == 1


async def test_idle_session_expires_and_takes_its_objects(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    sim = sim_factory(session_timeout=0.4, clock=clock)
    async with VI(sim) as vi:
        await vi.login()
        await vi.vm_view()
        clock.advance(0.2)
        assert (await vi.get("SessionManager", "SessionManager", "currentSession")).status == 200
        clock.advance(0.25)  # activity above reset the idle clock: still alive
        assert (await vi.get("ServiceInstance", "ServiceInstance", "serverClock")).status == 200
        clock.advance(0.6)
        r = await vi.post(
            "ViewManager",
            "ViewManager",
            "CreateContainerView",
            {"container": mor("Folder", "group-d1"), "recursive": True},
        )
        assert r.fault == "NotAuthenticated"
        stats = sim.stats()
        assert stats["sessions_expired"] == 1 and stats["live"]["views"] == 0


async def test_an_abandoned_session_expires_on_its_own(sim_factory) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    sim = sim_factory(session_timeout=0.3, clock=clock)

    def live() -> int:
        return sim.call(lambda: len(sim.state.sessions.by_token))

    async with VI(sim) as vi:
        await vi.login()
        await vi.vm_view()
        await until(clock.waiting, "the expiry sweep sleeps on the clock")
        clock.advance(1.0)  # no request, no stats(): nothing looks at the session
        await until(lambda: live() == 0, "the sweep ended the idle session")
        assert live() == 0
        assert sim.stats()["sessions_expired"] == 1


async def test_expire_sessions_control_and_views_of_other_sessions(sim: SimServer) -> None:
    async with VI(sim) as a, VI(sim) as b:
        await a.login()
        await b.login()
        view = await a.vm_view()
        # session-scoped objects are invisible to other sessions
        r = await b.get("ContainerView", view["value"], "view")
        assert r.fault == "ManagedObjectNotFound"
        assert sim.expire_sessions() == 2
        assert (await a.get("ContainerView", view["value"], "view")).fault == "NotAuthenticated"
        assert sim.stats()["live"]["sessions"] == 0


async def test_hello_picks_the_newest_common_release(sim_module: SimServer) -> None:
    async with httpx.AsyncClient(base_url=sim_module.url, verify=ssl_context(sim_module)) as c:
        r = await c.post(
            "/api/vcenter/system?action=hello",
            json={"api_releases": ["8.0.2.0", "9.0.0.0", "7.0.3.0"]},
        )
        assert r.status_code == 200 and r.json() == {"api_release": "9.0.0.0"}
        r = await c.post("/api/vcenter/system?action=hello", json={"api_releases": ["7.0.3.0"]})
        assert r.json() == {"api_release": ""}
        r = await c.post("/api/vcenter/system?action=hello", content=b"{nope")
        assert r.status_code == 400 and r.json()["error_type"] == "INVALID_ARGUMENT"
        r = await c.post("/api/vcenter/system?action=other", json={"api_releases": []})
        assert r.status_code == 404


@pytest.mark.parametrize("release", ["8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0"])
async def test_every_release_serves_content(sim_module: SimServer, release: str) -> None:
    async with VI(sim_module, release=release) as vi:
        r = await vi.get("ServiceInstance", "ServiceInstance", "content")
        assert r.status == 200


async def test_unknown_release_is_404(sim_module: SimServer) -> None:
    async with VI(sim_module, release="7.0.3.0") as vi:
        r = await vi.get("ServiceInstance", "ServiceInstance", "content")
        assert r.status == 404


async def test_8_0_u1_server_has_no_hello_and_only_8_0_1_0(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(hello=False)
    async with httpx.AsyncClient(base_url=sim.url, verify=ssl_context(sim)) as c:
        r = await c.post("/api/vcenter/system?action=hello", json={"api_releases": ["8.0.1.0"]})
        assert r.status_code == 404
    for release, status in (("8.0.3.0", 404), ("8.0.2.0", 404), ("8.0.1.0", 200)):
        async with VI(sim, release=release) as vi:
            r = await vi.get("ServiceInstance", "ServiceInstance", "content")
            assert r.status == status, release
            if status == 200:
                assert r.body["about"]["apiVersion"] == "8.0.1.0"
                assert r.body["about"]["version"] == "8.0.1"


async def test_custom_vc_credentials(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(vc_user="ops@corp.local", vc_password="Pa55:word with space")
    async with VI(sim) as vi:
        assert (await vi.login()).status == 200
    async with VI(sim) as vi:
        assert (await vi.login("ops@corp.local", "VMware1!")).fault == "InvalidLogin"


async def test_extra_vc_user_logs_in_and_owns_its_tasks(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(extra_users={"ops@corp.local": "0ps-Pa55"})
    vm = sim.vm("web-01")["moid"]
    async with VI(sim) as vi:
        r = await vi.login("OPS@corp.local", "0ps-Pa55")
        assert r.status == 200 and r.body["userName"] == "ops@corp.local"
        task = (await vi.start(vm)).body["value"]
        info = await vi.task_info(task)
        assert info["reason"] == {"_typeName": "TaskReasonUser", "userName": "ops@corp.local"}
    async with VI(sim) as vi:
        assert (await vi.login("ops@corp.local", sim.password)).fault == "InvalidLogin"
    async with VI(sim) as vi:
        assert (await vi.login(sim.username, "0ps-Pa55")).fault == "InvalidLogin"
    async with VI(sim) as vi:  # the main account is unchanged
        assert (await vi.login()).body["userName"] == sim.username
    with pytest.raises(SimError, match="extra_users"):
        SimServer(extra_users={sim.username.upper(): "x"})


async def test_not_authenticated_body_is_a_registry_fault(sim_module: SimServer) -> None:
    async with httpx.AsyncClient(base_url=sim_module.url, verify=ssl_context(sim_module)) as c:
        r = await c.get("/sdk/vim25/8.0.2.0/Task/task-1/info")
        assert r.status_code == 500
        body = json.loads(r.content)
        validate_fault(body, method=None)
        assert body["_typeName"] == "NotAuthenticated"


async def test_session_repr_hides_its_token(sim: SimServer) -> None:
    async with VI(sim) as vi:
        await vi.login()
        assert vi.token and vi.token not in sim.call(
            lambda: repr(list(sim.state.sessions.by_token.values()))
        )
