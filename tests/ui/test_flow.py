"""The whole TUI flow against the simulator over real HTTPS (127.0.0.1, generated CA)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.helpers import (
    VC_ENV,
    fault_text,
    lasting_notifications,
    main_screen,
    make_app,
    sim_profile,
    wait_for,
)
from tests.ui.screen_text import screen_text
from tui.sim.server import SimServer
from tui.ui.screens.modals import ConfirmModal, PasswordModal, StartModal, TrustModal
from tui.ui.screens.picker import PickerScreen
from tui.vsphere import explain
from tui.vsphere.models import TLSSpec


def _moids(main: Any, names: list[str]) -> list[str]:
    by_name = {vm.name: m for m, vm in main.store.vms.items()}
    return [by_name[n] for n in names]


async def test_pick_filter_mark_start_ips_appear_quit_logs_out(sim: SimServer) -> None:
    app, audit = make_app(sim)
    shots: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        await pilot.press("enter")  # the only profile
        main = await main_screen(pilot)
        assert main.store.total == len(sim.vm_names())
        # filter narrows as you type; Enter lands on the first match
        await pilot.press("slash", *"web-0")
        assert {main.store.vms[m].name for m in main.store.visible} == {
            f"web-0{i}" for i in range(1, 7)
        }
        assert "6 of" in screen_text(app)
        await pilot.press("enter")
        assert main.vm_table.has_focus and main.vm_table.cursor == 0
        await pilot.press("space", "space", "space")
        marked = {main.store.vms[m].name for m in main.store.marks}
        assert marked == {"web-01", "web-02", "web-03"}
        await pilot.press("escape")  # clears the filter; marks survive
        assert not main.store.filtered and main.store.total == len(main.store.visible)
        assert len(main.store.marks) == 3
        before = {
            n: main.store.vms[m].ip_address
            for n, m in zip(marked, _moids(main, sorted(marked)), strict=True)
        }
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        modal = app.screen
        assert isinstance(modal, StartModal)
        assert modal.query_one("#username").value == sim.guest_user  # type: ignore[attr-defined]
        assert app.focused is not None and app.focused.id == "guest-password"
        await pilot.press(*sim.guest_password)
        shots.append(screen_text(app))
        shots.append(app.export_screenshot())
        await pilot.press("enter")
        await wait_for(pilot, lambda: main.task_pane.latest is not None, what="batch")
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, within=20, what="batch to finish")
        assert batch.totals()["succeeded"] == 3, batch.totals()
        shots.append(screen_text(app))
        # the IPs arrive through the watch stream, not a refresh
        expected = {n: sim.vm(n)["ip"] for n in ("web-01", "web-02", "web-03")}
        await wait_for(
            pilot,
            lambda: all(
                main.store.vms[m].ip_address == expected[n]
                for n, m in zip(
                    ("web-01", "web-02", "web-03"),
                    _moids(main, ["web-01", "web-02", "web-03"]),
                    strict=True,
                )
            ),
            what="new IPs in the table",
        )
        assert expected["web-01"] != before.get("web-01")
        await pilot.press("1", "slash", *"web-0", "enter")
        text = screen_text(app)
        assert expected["web-01"] in text
        shots.append(text)
        shots.append(app.export_screenshot())
        logouts = sim.stats()["logouts"]
        await pilot.press("q")
    assert app.return_code == 0
    assert sim.stats()["logouts"] == logouts + 1
    for shot in shots:
        assert sim.guest_password not in shot
        assert sim.password not in shot
    actions = [r["action"] for r in audit]
    assert actions[:2] == ["connect", "start-guest-network"]
    assert "guest-network-result" in actions
    assert all(sim.guest_password not in repr(r) for r in audit)


def _task_line(app: Any, vm_name: str) -> str:
    return next((ln for ln in screen_text(app).splitlines() if vm_name in ln), "")


async def test_task_pane_shows_each_verdict_live(sim: SimServer) -> None:
    """A succeeded row's RESULT is its verdict: the address at launch (the VM as the batch
    launched) against what the watch stream delivers; verified when the VM left it and holds
    the new one alone, NOT verified when it kept (or shares) it. A verdict redraws its row only;
    the fault pane and the audit log have it in full."""
    app, audit = make_app(sim, initial_profile="sim")
    app.verify_timeout = 2.0  # web-03 keeps its address: NOT verified at this deadline
    names = ["web-01", "web-02", "web-03"]
    assert set(names) <= set(sim.ok_vms)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        m1, m2, m3 = _moids(main, names)
        assert {main.store.vms[m].ip_address for m in (m1, m2, m3)} == {"10.0.10.5"}  # parent's
        for m in (m1, m2, m3):
            main.store.toggle_mark(m)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        # while the dialog is open web-02 gets another address: "before" is the one at launch
        sim.set_ip("web-02", "10.0.10.77")
        sim.set_vm("web-03", acquire_ip="10.0.10.5")  # DHCP hands out the same lease again
        await wait_for(
            pilot, lambda: main.store.vms[m2].ip_address == "10.0.10.77", what="web-02's IP"
        )
        await pilot.press(*sim.guest_password, "enter")
        await wait_for(pilot, lambda: main.task_pane.latest is not None, what="batch")
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, within=20, what="batch to finish")
        assert batch.totals()["succeeded"] == 3, batch.totals()
        assert main.active == "tasks"  # 80×24: the task pane alone
        new1, new2 = sim.vm("web-01")["ip"], sim.vm("web-02")["ip"]
        assert (new1, new2) == ("10.0.10.11", "10.0.10.12")
        await wait_for(
            pilot,
            lambda: (
                "10.0.10.5 → 10.0.10.11 ✓" in _task_line(app, "web-01")
                and "10.0.10.77 → 10.0.10.12 ✓" in _task_line(app, "web-02")
            ),
            what="the verified rows",
        )
        rows = batch.rows
        assert rows[m3].verdict is None and rows[m3].verifying  # waits for its deadline
        # web-03's verdict: only its line is redrawn
        table = main.task_table
        regions: list[tuple[Any, ...]] = []
        refresh = table.refresh

        def spy(*args: Any, **kw: Any) -> Any:
            regions.append(args)
            return refresh(*args, **kw)

        table.refresh = spy  # type: ignore[method-assign]
        await wait_for(pilot, lambda: rows[m3].verdict is not None, within=10, what="web-03")
        await pilot.pause()
        verdict = rows[m3].verdict
        assert verdict is not None and verdict.verified is False
        assert verdict.reason == (
            "kept its launch address 10.0.10.5; still shares it with "
            "web-golden, web-04, web-05 and 1 more"  # the parent first (config.annotation)
        )
        line = _task_line(app, "web-03")
        assert "✗ kept 10.0.10.5 (launch address)" in line, line
        y = list(rows).index(m3) + 1  # under the header; the table is not scrolled
        assert regions and all(r and r[0].y == y and r[0].height == 1 for r in regions), regions
        assert batch.verdicts() == {
            "verified": 2,
            "NOT verified": 1,
            "unverified": 0,
            "verifying": 0,
        }
        assert "2 verified · 1 NOT verified" in screen_text(app)  # the totals line
        # the fault pane has the verdict in full
        main.task_table.focus()
        main.task_table.cursor = y - 1
        await pilot.press("3")
        text = fault_text(main)
        assert "NOT verified" in text and verdict.reason in text
        assert "At launch: IP 10.0.10.5" in text and "After:     IP 10.0.10.5" in text
        await wait_for(
            pilot,
            lambda: any(r["action"] == "verify-guest-network" for r in audit),
            what="the verify audit record",
        )
        await pilot.press("q")
    rec = next(r for r in audit if r["action"] == "verify-guest-network")
    assert rec["outcome"] == "2 verified, 1 NOT verified"
    assert {v["name"]: (v["verified"], v["ip_before"], v["ip_after"]) for v in rec["verdicts"]} == {
        "web-01": (True, "10.0.10.5", "10.0.10.11"),
        "web-02": (True, "10.0.10.77", "10.0.10.12"),
        "web-03": (False, "10.0.10.5", "10.0.10.5"),
    }
    assert all(v["verify_reason"] and v["mac_before"] for v in rec["verdicts"])


async def test_each_fault_shown_with_its_hint(sim: SimServer) -> None:
    app, _ = make_app(sim, initial_profile="sim")
    fault_names = sorted(n for key, names in sim.fault_vms.items() if ":" not in key for n in names)
    async with app.run_test(size=(160, 48)) as pilot:
        main = await main_screen(pilot)
        for m in _moids(main, fault_names):
            main.store.toggle_mark(m)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        modal = app.screen
        assert isinstance(modal, StartModal) and modal.skipped  # powered-off ones
        assert "pre-flight would skip" in screen_text(app)
        # include them anyway: back to the checkbox, tick it, forward to the password
        await pilot.press("shift+tab", "shift+tab", "space", "tab", "tab")
        await pilot.press(*sim.guest_password, "enter")
        await wait_for(pilot, lambda: main.task_pane.latest is not None, what="batch")
        batch = main.task_pane.latest
        assert batch is not None
        assert batch.totals()["skipped"] == 0
        await wait_for(pilot, lambda: batch.finished, within=30, what="batch to finish")
        await pilot.press("2")
        seen: dict[str, str] = {}
        for _ in range(len(batch.rows)):
            row = main.task_table.selected_row()
            assert row is not None
            text = fault_text(main)
            if row.state == "failed":
                assert row.fault_type is not None
                hint = explain(row.fault_type)
                assert row.fault_type in text and hint.title in text and hint.remedy in text
                assert row.vm.moid in text
                seen[row.vm.name] = row.fault_type
            await pilot.press("down")
        expected = {n: key for key, names in sim.fault_vms.items() if ":" not in key for n in names}
        for name, ftype in expected.items():
            assert name in seen, f"{name} did not fail"
            # InvalidPowerState is a subtype of InvalidState; the sim reports the injected type
            assert seen[name] == ftype, (name, seen[name], ftype)
        # y copies the shown fault as JSON (OSC 52)
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("y")
        assert copied and '"type"' in copied[0]
        await pilot.press("q")


async def test_retry_after_invalid_guest_login(sim: SimServer) -> None:
    app, audit = make_app(sim, initial_profile="sim")
    names = sim.ok_vms[:2]
    shots: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        for m in _moids(main, names):
            main.store.toggle_mark(m)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        await pilot.press(*"wrong-password", "enter")
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, within=20, what="first batch")
        assert batch.totals()["failed"] == 2
        assert {r.fault_type for r in batch.failed_rows()} == {"InvalidGuestLogin"}
        await pilot.press("3")
        text = screen_text(app)
        assert "InvalidGuestLogin" in text and explain("InvalidGuestLogin").title[:20] in text
        await pilot.press("r")  # re-asks the credentials
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="retry modal")
        assert "InvalidGuestLogin" in screen_text(app)
        await pilot.press(*sim.guest_password)
        shots.append(screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: main.task_pane.latest is not batch, what="retry batch")
        retry = main.task_pane.latest
        assert retry is not None
        await wait_for(pilot, lambda: retry.finished, within=20, what="retry batch")
        assert retry.totals()["succeeded"] == 2
        shots.append(screen_text(app))
        await pilot.press("q")
    for s in shots:
        assert sim.guest_password not in s and "wrong-password" not in s
    assert "retry-guest-network" in [r["action"] for r in audit]


async def test_cancel_selected_and_queued_then_abort(sim_factory: Any) -> None:
    sim = sim_factory(task_seconds=30, max_running_tasks=1)  # one runs, the others queue
    prof = sim_profile(sim)
    app, audit = make_app(sim, {"sim": prof}, initial_profile="sim")
    names = sim.ok_vms[:3]
    async with app.run_test(size=(160, 48)) as pilot:
        main = await main_screen(pilot)
        for m in _moids(main, names):
            main.store.toggle_mark(m)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        await pilot.press(*sim.guest_password, "enter")
        batch = main.task_pane.latest
        assert batch is not None
        rows = list(batch.rows.values())
        await wait_for(
            pilot,
            lambda: (
                [r.event.state if r.event else None for r in rows].count("queued") == 2
                and any(r.state == "running" for r in rows)
            ),
            what="one running, two queued in vCenter",
        )
        main.vm_table.focus()  # not on a task row: c means "all queued", after confirmation
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: sum(r.state == "cancelled" for r in rows) == 2,
            within=15,
            what="queued cancelled",
        )
        running = next(r for r in rows if r.state != "cancelled")
        assert running.state == "running"
        await pilot.press("2")  # the task pane; cancel the selected running task
        main.task_table.cursor = rows.index(running)
        await pilot.press("c")
        await wait_for(pilot, lambda: batch.finished, within=15, what="batch end")
        states = [r.state for r in batch.rows.values()]
        assert states.count("cancelled") == 3, states
        # abort customization on the cursor VM, after confirmation
        pos = main.store.position(_moids(main, [names[0]])[0])
        assert pos is not None
        main.vm_table.cursor = pos
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="abort confirm")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(r["action"] == "abort-customization" for r in audit),
            within=15,
            what="abort",
        )
        rec = next(r for r in audit if r["action"] == "abort-customization")
        assert rec["outcome"] in ("succeeded", "failed")
        await pilot.press("q")
        # tasks are done, so no confirmation: the app quits
    assert app.return_code == 0


async def test_read_only_profile_refuses_start(sim: SimServer) -> None:
    app, _ = make_app(
        sim, {"ro": sim_profile(sim, name="ro", read_only=True)}, initial_profile="ro"
    )
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        main = await main_screen(pilot)
        await pilot.press("s")
        await wait_for(
            pilot,
            lambda: any("read-only" in n.message for n in app._notifications),
            what="the refusal",
        )
        assert not isinstance(app.screen, StartModal)
        assert main.task_pane.latest is None
        assert any("read-only" in n.message for n in app._notifications)
        assert "read-only" in screen_text(app)
        await pilot.press("q")


async def test_wrong_vcenter_password_asks_again(sim: SimServer) -> None:
    prof = sim_profile(sim, name="ask", password_source=_prompt_source())
    app, _ = make_app(sim, {"ask": prof}, initial_profile="ask", env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordModal), what="password")
        await pilot.press(*"not-the-password", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, PasswordModal) and app.screen.problem is not None,
            what="the password modal again, with the problem",
        )
        text = screen_text(app)
        assert "Login failed" in text and "not-the-password" not in text
        await pilot.press(*sim.password)
        assert sim.password not in screen_text(app)
        await pilot.press("enter")
        main = await main_screen(pilot)
        assert main.client.username == sim.username
        await pilot.press("q")


def _prompt_source() -> Any:
    from tui.config.profiles import PasswordSource

    return PasswordSource(kind="prompt")


async def test_untrusted_certificate_trust_once(sim: SimServer) -> None:
    prof = sim_profile(sim, tls=TLSSpec())  # system CAs: the sim's CA is unknown
    app, _ = make_app(sim, {"sim": prof}, initial_profile="sim")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustModal), what="trust modal")
        text = screen_text(app)
        halves = sim.thumbprint_sha256[:47], sim.thumbprint_sha256[48:]
        assert halves[0] in text and halves[1] in text
        await pilot.press("t")
        main = await main_screen(pilot)
        assert main.client.tls_mode == "pinned"
        await pilot.press("q")


async def test_untrusted_certificate_cancel_stays_in_picker(sim: SimServer) -> None:
    prof = sim_profile(sim, tls=TLSSpec())
    app, _ = make_app(sim, {"sim": prof}, initial_profile="sim")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustModal), what="trust modal")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        assert app.session is None
        await pilot.press("q")


async def test_pin_thumbprint_into_profile_file(sim: SimServer, tmp_path: Any) -> None:
    from tui.config.profiles import load_profiles

    path = tmp_path / "profiles.yaml"
    path.write_text(
        "profiles:\n"
        "  lab:\n"
        f"    host: {sim.host}\n"
        f"    port: {sim.port}\n"
        f"    username: {sim.username}\n"
        "    password_env: GUESTNET_TEST_VC_PASSWORD\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    profiles = load_profiles(path, {})
    app, _ = make_app(sim, profiles, initial_profile="lab")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustModal), what="trust modal")
        await pilot.press("p")
        await main_screen(pilot)
        await pilot.press("q")
    assert sim.thumbprint_sha256 in path.read_text(encoding="utf-8")


async def test_pin_for_govc_env_goes_to_the_apps_known_hosts(sim: SimServer, tmp_path: Any) -> None:
    known = tmp_path / "known_hosts"
    prof = sim_profile(sim, tls=TLSSpec())  # no source file: a govc-env profile
    env = {VC_ENV: sim.password, "GOVC_TLS_KNOWN_HOSTS": str(known)}
    app, _ = make_app(sim, {"sim": prof}, initial_profile="sim", env=env)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustModal), what="trust modal")
        await pilot.press("p")
        await main_screen(pilot)
        await pilot.press("q")
    assert sim.thumbprint_sha256 in known.read_text(encoding="utf-8")


async def test_unreachable_host_is_a_notification(sim: SimServer) -> None:
    prof = sim_profile(sim, port=1)  # nothing listens there
    app, _ = make_app(sim, {"sim": prof}, initial_profile="sim")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(
            pilot,
            lambda: any("Connect to" in (n.title or "") for n in app._notifications),
            what="connect error",
        )
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_back_to_picker_logs_out_and_session_expiry_recovers(sim: SimServer) -> None:
    app, _ = make_app(sim, initial_profile="sim")
    async with app.run_test(size=(100, 30)) as pilot:
        main = await main_screen(pilot)
        sim.expire_sessions()
        m = _moids(main, ["db-01"])[0]
        sim.set_ip("db-01", "10.9.9.9")
        await wait_for(
            pilot,
            lambda: main.store.vms[m].ip_address == "10.9.9.9",
            within=20,
            what="update after session expiry",
        )
        logouts = sim.stats()["logouts"]
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        assert sim.stats()["logouts"] == logouts + 1
        await pilot.press("enter")  # and back in: a fresh session and stream
        again = await main_screen(pilot)
        assert again is not main and again.store.total == main.store.total
        await pilot.press("q")
    assert sim.stats()["logouts"] == logouts + 2


@pytest.mark.parametrize("size", [(80, 24)])
async def test_filter_glob_and_ctrl_a(sim: SimServer, size: tuple[int, int]) -> None:
    app, _ = make_app(sim, initial_profile="sim")
    async with app.run_test(size=size) as pilot:
        main = await main_screen(pilot)
        await pilot.press("slash", *"*/faults/task/*", "enter")
        names = {main.store.vms[m].name for m in main.store.visible}
        assert names and all(n.startswith("task-") for n in names)
        await pilot.press("ctrl+a")
        assert len(main.store.marks) == len(names)
        await pilot.press("escape")
        assert len(main.store.visible) == main.store.total
        await pilot.press("u")
        assert not main.store.marks
        await pilot.press("q")


def test_demo_screenshot_session_runs_end_to_end(tmp_path: Any) -> None:
    """``guestnet demo`` wiring: in-process simulator, DEMO header, scripted session, SVG."""
    from tui.ui.demo import main

    out = tmp_path / "shot.svg"
    assert main(["--vms", "60", "--task-seconds", "0.2", "--screenshot", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "DEMO" in svg and "succeeded" in svg


async def test_demo_app_header_and_logout(sim: SimServer) -> None:
    from tui.ui.demo import demo_app

    app = demo_app(sim, remember_theme=False, audit=lambda **_: None, themes_dir=None)
    lasting_notifications(app)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await main_screen(pilot)
        text = screen_text(app)
        assert "DEMO" in text.splitlines()[0]
        assert any("Guest login" in n.message for n in app._notifications)
        logouts = sim.stats()["logouts"]
        await pilot.press("q")
    assert sim.stats()["logouts"] == logouts + 1


async def test_server_restart_is_a_banner_then_the_table_resyncs(sim: SimServer) -> None:
    import asyncio

    app, _ = make_app(sim, initial_profile="sim")
    statuses: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        main = await main_screen(pilot)
        original = main._on_status

        def spy(text: str) -> None:
            statuses.append(text)
            original(text)

        main._on_status = spy  # type: ignore[method-assign]
        resyncs: list[bool] = []
        apply = main.apply_vm_batch

        def count(batch: Any) -> None:
            resyncs.append(batch.resync)
            apply(batch)

        main.apply_vm_batch = count  # type: ignore[method-assign]
        main.start_watch()  # a fresh watch that reports to the spy
        await wait_for(pilot, lambda: any(resyncs), what="the fresh watch's first read")
        await asyncio.to_thread(sim.restart, 1.0)
        m = _moids(main, ["db-02"])[0]
        sim.set_ip("db-02", "10.7.7.7")
        await wait_for(
            pilot,
            lambda: main.store.vms[m].ip_address == "10.7.7.7",
            within=30,
            what="the table after the restart",
        )
        assert statuses, "the client reported nothing while the server was down"
        assert main.status == ""  # the banner is gone after the re-sync
        await pilot.press("q")
    assert app.return_code == 0
