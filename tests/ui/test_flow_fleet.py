"""Several vCenters in one view (issue 9), each a simulator over real HTTPS on 127.0.0.1: one
table over all of them, one batch across them, and a vCenter that is dead, refuses the login,
comes up late or restarts mid-batch degrading to a banner line while the others keep working."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import tui.ui.app as appmod
from tests.ui.helpers import VC_ENV, main_screen, make_app, sim_profile, wait_for
from tests.ui.screen_text import screen_text
from tui.config.profiles import PasswordSource, Profile
from tui.sim.server import SimServer
from tui.ui.screens.modals import PasswordModal, StartModal
from tui.ui.screens.picker import PickerScreen
from tui.ui.tasks import Batch

WRONG_ENV = "GUESTNET_TEST_WRONG_PASSWORD"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(appmod, "SITE_RETRY", (0.3,))


def _dead(name: str = "dead") -> Profile:
    return Profile(
        name=name,
        host="127.0.0.1",
        port=1,  # nothing listens
        username="nobody",
        password_source=PasswordSource(kind="env", env=VC_ENV),
    )


async def _all_loaded(pilot: Any, *sims: SimServer) -> Any:
    """The main screen once the VMs of every simulator are in its table."""
    main = await main_screen(pilot)
    total = sum(len(sim.vm_names()) for sim in sims)
    await wait_for(pilot, lambda: main.store.total == total, what="every inventory")
    return main


def _names(main: Any, site: str) -> set[str]:
    return {vm.name for m, vm in main.store.vms.items() if m.endswith(f"@{site}")}


async def _start(pilot: Any, main: Any, sim: SimServer, keys: tuple[str, ...]) -> Batch:
    """Filter with ``keys``, mark what matches, start with the guest password: the batch."""
    app = pilot.app
    await pilot.press("slash", *keys, "enter", "ctrl+a", "s")
    await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
    await pilot.press(*sim.guest_password, "enter")
    await wait_for(pilot, lambda: main.task_pane.latest is not None, what="batch")
    batch = main.task_pane.latest
    assert batch is not None
    return batch


def _by_site(records: list[dict[str, Any]], action: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in records:
        if r["action"] == action:
            out.setdefault(r["profile"], []).extend(r["vms"])
    return out


async def test_two_vcenters_one_table_one_batch(sim_factory: Callable[..., SimServer]) -> None:
    lab, prod = sim_factory(), sim_factory(hello=False)  # prod: 8.0U1, release 8.0.1.0
    profiles = {"lab": sim_profile(lab, "lab"), "prod": sim_profile(prod, "prod")}
    app, audit = make_app(lab, profiles, initial_profiles=["lab", "prod"])
    async with app.run_test(size=(80, 24)) as pilot:
        main = await _all_loaded(pilot, lab, prod)
        assert _names(main, "lab") == set(lab.vm_names())
        assert _names(main, "prod") == set(prod.vm_names())
        text = screen_text(app)
        assert "VCENTER" in text and "lab+prod" in text
        releases = {s.name: s.client.release for s in main.client.sites.values()}
        assert releases["prod"] == "8.0.1.0" and releases["lab"] != "8.0.1.0"  # each its own
        assert main.client.release == "/".join(sorted(releases.values()))
        # the filter spans both; @prod keeps one vCenter
        await pilot.press("slash", *"@prod", "enter")
        assert {m.rpartition("@")[2] for m in main.store.visible} == {"prod"}
        await pilot.press("escape")
        # one batch on web-01 and web-02 of both vCenters
        batch = await _start(pilot, main, lab, tuple("web-0[12]"))
        await wait_for(pilot, lambda: batch.finished, within=30, what="the batch")
        assert batch.totals()["succeeded"] == 4, batch.totals()
        assert {r.vm.moid.rpartition("@")[2] for r in batch.rows.values()} == {"lab", "prod"}
        await pilot.press("2")
        tasks = screen_text(app)
        assert all(f"web-0{i}@{site}" in tasks for i in (1, 2) for site in ("lab", "prod"))
        # the new addresses arrive on each vCenter's own stream
        for site, sim in (("lab", lab), ("prod", prod)):
            moid = next(m for m, vm in main.store.vms.items() if vm.name == "web-01" and site in m)
            await wait_for(
                pilot,
                lambda m=moid, s=sim: main.store.vms[m].ip_address == s.vm("web-01")["ip"],
                what=f"web-01's new address on {site}",
            )
        # V hides the column, and shows it again
        await pilot.press("1")
        assert "VCENTER" in screen_text(app)
        await pilot.press("V")
        assert "VCENTER" not in screen_text(app)
        await pilot.press("V")
        assert "VCENTER" in screen_text(app)
        logouts = (lab.stats()["logouts"], prod.stats()["logouts"])
        await pilot.press("q")
    assert (lab.stats()["logouts"], prod.stats()["logouts"]) == (logouts[0] + 1, logouts[1] + 1)
    # every record names the vCenter of each VM, with that vCenter's own moids
    started = _by_site(audit, "start-guest-network")
    assert sorted(n for n, _m in started["lab"]) == ["web-01", "web-02"]
    assert sorted(n for n, _m in started["prod"]) == ["web-01", "web-02"]
    assert all("@" not in m for vms in started.values() for _n, m in vms)
    hosts = {r["profile"]: r["host"] for r in audit if r["action"] == "connect"}
    assert hosts == {"lab": lab.host, "prod": prod.host}
    assert set(_by_site(audit, "guest-network-result")) == {"lab", "prod"}


async def test_a_dead_and_a_refusing_vcenter_are_banner_lines(
    sim_factory: Callable[..., SimServer],
) -> None:
    """dead: nothing listens (tried again and again); bad: a wrong password from the environment
    (never tried again on its own: it could lock the account). lab works throughout."""
    lab, bad = sim_factory(), sim_factory()
    profiles = {
        "lab": sim_profile(lab, "lab"),
        "dead": _dead(),
        "bad": sim_profile(bad, "bad", password_source=PasswordSource(kind="env", env=WRONG_ENV)),
    }
    env = {VC_ENV: lab.password, WRONG_ENV: "not-the-password"}
    app, _audit = make_app(lab, profiles, env=env, initial_profiles=["lab", "dead", "bad"])
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        fleet = main.client
        await wait_for(
            pilot,
            lambda: fleet.sites["bad"].state == "refused" and fleet.sites["dead"].state == "down",
            within=20,
            what="dead down, bad refused",
        )
        assert _names(main, "lab") == set(lab.vm_names()) and main.store.total == len(
            lab.vm_names()
        )
        banner = main.status
        assert "dead: " in banner and "retrying in 0.3 s" in banner
        assert "bad: " in banner and "ctrl+r tries again" in banner and "lab:" not in banner
        failures = bad.stats()["login_failures"]
        assert failures == 1 and bad.stats()["logins"] == 0
        # the dead one keeps trying on its own; the refused one waits
        attempts = main.workers
        assert any(w.name == "connect dead" and not w.is_finished for w in attempts)
        assert not any(w.name == "connect bad" and not w.is_finished for w in attempts)
        # a batch over lab goes on
        batch = await _start(pilot, main, lab, tuple("web-01"))
        await wait_for(pilot, lambda: batch.finished, within=30, what="lab's batch")
        assert batch.totals()["succeeded"] == 1
        assert "dead: " in main.status
        assert bad.stats()["login_failures"] == failures  # not tried again on its own
        await pilot.press("q")


async def test_a_vcenter_that_comes_up_late_joins_the_table(
    sim_factory: Callable[..., SimServer],
) -> None:
    lab, late = sim_factory(), sim_factory()
    late_down = threading.Event()

    def down() -> None:
        late_down.set()
        late.restart(down_seconds=2)

    profiles = {"lab": sim_profile(lab, "lab"), "late": sim_profile(late, "late")}
    app, _audit = make_app(lab, profiles, initial_profiles=["lab", "late"])
    restart = threading.Thread(target=down)
    restart.start()
    late_down.wait(5)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            main = await main_screen(pilot)
            await wait_for(
                pilot,
                lambda: (
                    main.client.sites["late"].state == "up"
                    and _names(main, "late") == set(late.vm_names())
                ),
                within=30,
                what="the late vCenter's VMs",
            )
            assert _names(main, "lab") == set(lab.vm_names())
            await wait_for(pilot, lambda: not main.status, what="the banner to clear")
            await pilot.press("q")
    finally:
        restart.join(30)


async def test_a_vcenter_restarting_mid_batch(sim_factory: Callable[..., SimServer]) -> None:
    """b restarts (down 1 s, every session lost) while its tasks run: its run logs in again and
    every VM of the batch still ends in a final state; a is not disturbed."""
    a, b = sim_factory(task_seconds=2), sim_factory(task_seconds=2)
    profiles = {"a": sim_profile(a, "a"), "b": sim_profile(b, "b")}
    app, _audit = make_app(a, profiles, initial_profiles=["a", "b"])
    async with app.run_test(size=(80, 24)) as pilot:
        main = await _all_loaded(pilot, a, b)
        batch = await _start(pilot, main, a, tuple("web-0[123]"))
        await wait_for(
            pilot,
            lambda: any(r.state == "running" and "@b" in m for m, r in batch.rows.items()),
            within=20,
            what="b's tasks running",
        )
        restart = threading.Thread(target=b.restart, kwargs={"down_seconds": 1})
        restart.start()
        await wait_for(pilot, lambda: batch.finished, within=90, what="the batch")
        restart.join(30)
        states = {m: r.state for m, r in batch.rows.items()}
        assert len(states) == 6 and all(r.final for r in batch.rows.values()), states
        assert all(states[m] == "succeeded" for m in states if m.endswith("@a")), states
        await pilot.press("q")


async def test_a_wrong_typed_password_asks_again_and_ctrl_r_retries(
    sim_factory: Callable[..., SimServer],
) -> None:
    """prod's password is typed: a wrong one asks again (the dialog names the vCenter); escape
    leaves prod out, lab works; ctrl+r asks once more and prod joins."""
    lab, prod = sim_factory(), sim_factory(hello=False)
    typed = sim_profile(prod, "prod", password_source=PasswordSource(kind="prompt"))
    profiles = {"lab": sim_profile(lab, "lab"), "prod": typed}
    app, _audit = make_app(lab, profiles, initial_profiles=["lab", "prod"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordModal), what="prompt")
        assert f"@{prod.host}" in screen_text(app)
        await pilot.press(*"wrong-password", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PasswordModal) and "Login failed" in screen_text(app),
            within=15,
            what="the prompt again, saying the login failed",
        )
        await pilot.press("escape")
        main = await main_screen(pilot)
        await wait_for(pilot, lambda: main.client.sites["prod"].state == "refused", what="out")
        assert "prod: login cancelled — ctrl+r tries again" in main.status
        assert _names(main, "lab") == set(lab.vm_names()) and not _names(main, "prod")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordModal), what="prompt again")
        await pilot.press(*prod.password, "enter")
        await wait_for(
            pilot, lambda: _names(main, "prod") == set(prod.vm_names()), within=20, what="prod"
        )
        await pilot.press("q")


async def test_a_read_only_profile_stays_read_only_in_a_group(
    sim_factory: Callable[..., SimServer],
) -> None:
    lab, prod = sim_factory(), sim_factory()
    profiles = {"lab": sim_profile(lab, "lab"), "prod": sim_profile(prod, "prod", read_only=True)}
    app, audit = make_app(lab, profiles, initial_profiles=["lab", "prod"])
    async with app.run_test(size=(80, 24)) as pilot:
        main = await _all_loaded(pilot, lab, prod)
        assert "read-only" not in screen_text(app).splitlines()[0]  # lab is writable
        batch = await _start(pilot, main, lab, tuple("web-01"))
        await wait_for(pilot, lambda: batch.finished, within=30, what="the batch")
        rows = {m.rpartition("@")[2]: r for m, r in batch.rows.items()}
        assert rows["lab"].state == "succeeded"
        assert rows["prod"].state == "skipped"
        assert rows["prod"].skip_reason == "profile prod is read-only"
        assert prod.stats()["tasks_started"] == 0 and lab.stats()["tasks_started"] == 1
        # only prod's VMs marked: nothing to start, one line says why
        await pilot.press("u", "slash", *"@prod", "enter", "ctrl+a", "s")
        await pilot.pause()
        assert not isinstance(app.screen, StartModal)
        assert any("profile prod is read-only" in n.message for n in app._notifications)
        await pilot.press("q")
    started = _by_site(audit, "start-guest-network")
    assert list(started) == ["lab", "prod"] and started["prod"] == []
    prod_record = next(
        r for r in audit if r["action"] == "start-guest-network" and r["profile"] == "prod"
    )
    assert [s["reason"] for s in prod_record["skipped"]] == ["profile prod is read-only"]


async def test_the_picker_opens_marked_profiles_and_groups(
    sim_factory: Callable[..., SimServer],
) -> None:
    from tui.config.groups import Group

    lab, prod = sim_factory(), sim_factory()
    profiles = {"lab": sim_profile(lab, "lab"), "prod": sim_profile(prod, "prod")}
    app, _audit = make_app(lab, profiles, groups={"sites": Group("sites", ("lab", "prod"))})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        assert "group: lab, prod" in screen_text(app)
        await pilot.press("space", "down", "space", "enter")  # mark lab and prod
        main = await _all_loaded(pilot, lab, prod)
        assert main.client.label == "lab+prod"
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        await pilot.press("end", "enter")  # the group's line
        main = await _all_loaded(pilot, lab, prod)
        assert main.client.label == "sites"
        await pilot.press("q")


async def test_a_guest_account_per_vcenter(sim_factory: Callable[..., SimServer]) -> None:
    """lab and prod have different guest accounts: the tick in the start dialog asks again for
    prod, and each vCenter's VMs start with their own; the audit names each vCenter's user."""
    lab = sim_factory()
    prod = sim_factory(guest_user="ops", guest_password="Prod-Guest-Pass-77")
    profiles = {"lab": sim_profile(lab, "lab"), "prod": sim_profile(prod, "prod")}
    app, audit = make_app(lab, profiles, initial_profiles=["lab", "prod"])
    async with app.run_test(size=(80, 24)) as pilot:
        main = await _all_loaded(pilot, lab, prod)
        await pilot.press("slash", *"web-01", "enter", "ctrl+a", "s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        assert "ask again for prod" in screen_text(app)
        await pilot.press(*lab.guest_password, "tab", "space", "shift+tab", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, StartModal) and "on prod" in screen_text(app),
            what="the dialog for prod",
        )
        await pilot.press(
            "shift+tab", "end", "ctrl+u", *"ops", "tab", *prod.guest_password, "enter"
        )
        await wait_for(pilot, lambda: main.task_pane.latest is not None, what="batch")
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, within=30, what="the batch")
        assert batch.totals()["succeeded"] == 2, {m: r.state for m, r in batch.rows.items()}
        shown = screen_text(app)
        assert lab.guest_password not in shown and prod.guest_password not in shown
        await pilot.press("q")
    users = {r["profile"]: r["guest_user"] for r in audit if r["action"] == "start-guest-network"}
    assert users == {"lab": lab.guest_user, "prod": "ops"}
    assert all(prod.guest_password not in repr(r) for r in audit)


async def test_the_demo_over_two_simulated_vcenters(sim_factory: Callable[..., SimServer]) -> None:
    from tui.ui.demo import demo_app

    lab, prod = sim_factory(), sim_factory(hello=False)
    app = demo_app(lab, prod, remember_theme=False, audit=lambda **_: None, themes_dir=None)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await _all_loaded(pilot, lab, prod)
        assert set(main.client.sites) == {"lab", "prod"}
        first = screen_text(app).splitlines()[0]
        assert "DEMO" in first and "lab+prod" in first
        await pilot.press("q")


def test_demo_rejects_a_bad_vcenter_count(capsys: pytest.CaptureFixture[str]) -> None:
    from tui.ui.demo import main

    assert main(["--vcenters", "9"]) == 2
    assert capsys.readouterr().err.strip() == "guestnet demo: --vcenters: expected 1 to 5, got 9"


async def test_ctrl_r_restarts_a_stopped_stream_without_logging_in_again() -> None:
    """prod's stream stops (its rows stay, a banner line says why); ctrl+r starts it again on
    the same session — no second login — and lab is untouched throughout."""
    from tests.ui.fakes import FakeClient, make_profile, make_vms
    from tui.ui.app import GuestnetApp
    from tui.vsphere.errors import ConnectError

    lab = FakeClient(make_vms(5))
    prod = FakeClient(make_vms(4), watch_error=ConnectError("connection reset"))
    prod.host = "vc.prod.example"
    clients = {"vc.lab.example": lab, "vc.prod.example": prod}
    logins: list[str] = []

    async def connect(spec: Any) -> FakeClient:
        logins.append(spec.host)
        return clients[spec.host]

    app = GuestnetApp(
        profiles={"lab": make_profile("lab"), "prod": make_profile("prod", host="vc.prod.example")},
        initial_profiles=["lab", "prod"],
        connector=connect,
        remember_theme=False,
        audit=lambda **_: None,
        env={"FAKE_VC_PASSWORD": "vc-password"},
    )
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        await wait_for(pilot, lambda: main.client.sites["prod"].state == "down", what="prod out")
        assert main.store.total == 9  # prod's rows stay
        assert "prod: updates stopped: connection reset — ctrl+r re-syncs" in main.status
        prod.watch_error = None
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: main.client.sites["prod"].state == "up", what="prod up")
        await wait_for(pilot, lambda: prod.watches == 2 and not main.status, what="re-sync")
        assert main.store.total == 9 and sorted(logins) == ["vc.lab.example", "vc.prod.example"]
        await pilot.press("q")


async def test_the_palette_lists_each_vcenters_state(sim_factory: Callable[..., SimServer]) -> None:
    from tests.ui.helpers import lasting_notifications, palette_offers

    lab, old = sim_factory(), sim_factory(hello=False)
    profiles = {
        "lab": sim_profile(lab, "lab"),
        "old": sim_profile(old, "old", read_only=True),
        "dead": _dead(),
    }
    app, _audit = make_app(lab, profiles, initial_profiles=["lab", "old", "dead"])
    lasting_notifications(app)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _all_loaded(pilot, lab, old)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"vCenters: state")
        await wait_for(pilot, lambda: palette_offers(app, "vCenters: state of each"), what="it")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: any(n.title == "vCenters" for n in app._notifications), what="list"
        )
        text = next(n.message for n in app._notifications if n.title == "vCenters")
        lines = text.splitlines()
        assert lines[0].startswith("lab: up · vCenter ") and "TLS ca-file" in lines[0]
        assert lines[1].startswith("old: up · vCenter ") and "API 8.0.1.0" in lines[1]
        assert lines[1].endswith("read-only")
        # tried again every 0.3 s here: caught down (why, when next) or trying again
        assert lines[2].startswith(("dead: down — ", "dead: connecting — ")), lines[2]
        await pilot.press("q")
