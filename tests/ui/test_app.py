"""UI behaviour on an in-memory client: failure states, passwords, themes, layout, palette.

Failures the simulator cannot produce on demand (a stream dying at a chosen moment, a failing
logout) are scripted here; the happy path and vCenter faults are tested on the simulator
(test_flow.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.ui.fakes import (
    FakeClient,
    Script,
    connector_for,
    fixed_clock,
    make_profile,
    make_vms,
)
from tests.ui.helpers import lasting_notifications, main_screen, palette_offers, wait_for
from tests.ui.screen_text import screen_text
from tui.config.profiles import PasswordSource
from tui.ui.app import GuestnetApp
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.main import MainScreen
from tui.ui.screens.modals import ConfirmModal, PasswordModal, StartModal, WatchModal
from tui.ui.screens.picker import PickerScreen
from tui.vsphere.errors import ConnectError, GuestnetError

GUEST_PW = "guest-secret"


def _app(
    client: FakeClient | None = None, **kw: Any
) -> tuple[GuestnetApp, FakeClient, list[dict[str, Any]]]:
    client = client or FakeClient(make_vms(30), guest_password=GUEST_PW)
    records: list[dict[str, Any]] = []
    profiles = kw.pop("profiles", {"lab": make_profile()})
    app = GuestnetApp(
        profiles=profiles,
        initial_profile=kw.pop("initial_profile", "lab"),
        connector=connector_for(client),
        clock=fixed_clock,
        remember_theme=kw.pop("remember_theme", False),
        audit=lambda **f: records.append(f),
        env=kw.pop("env", {"FAKE_VC_PASSWORD": "vc-pw"}),
        **kw,
    )
    lasting_notifications(app)
    return app, client, records


async def _start(
    pilot: Pilot[Any], main: MainScreen, password: str = GUEST_PW, marks: int = 3
) -> None:
    await pilot.press(*["space"] * marks, "s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, StartModal), what="start modal")
    await pilot.press(*password, "enter")
    await wait_for(pilot, lambda: main.task_pane.latest is not None, what="batch")


def _held_app(**script: Any) -> tuple[GuestnetApp, FakeClient, list[dict[str, Any]]]:
    """Five VMs; clone-000's task runs until it is cancelled or ``script.hold`` lets it go."""
    run = Script(hold={"clone-000"}, **script)
    return _app(FakeClient(make_vms(5), script=run, guest_password=GUEST_PW))


async def _hold_one(pilot: Pilot[Any]) -> MainScreen:
    """The main screen with one batch of clone-000, still open."""
    main = await main_screen(pilot)
    await _start(pilot, main, marks=1)
    await wait_for(pilot, lambda: main.running_tasks() == 1, what="a running task")
    return main


async def test_watch_stream_error_is_a_banner_and_ctrl_r_restarts_it() -> None:
    client = FakeClient(
        make_vms(10), watch_error=ConnectError("connection refused by 10.0.0.1:443")
    )
    app, _, _ = _app(client)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        main = await main_screen(pilot)
        await wait_for(pilot, lambda: "VM updates stopped" in main.status, what="banner")
        assert "connection refused" in screen_text(app)
        assert any(n.title == "VM updates stopped" for n in app._notifications)
        await pilot.press("slash", *"clone-00", "enter")  # still usable
        assert len(main.store.visible) == 10
        client.watch_error = None
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: client.watches == 2, what="a second watch")
        await wait_for(pilot, lambda: main.status == "", what="banner cleared by the resync")
        await pilot.press("q")
    assert app.return_code == 0


async def test_batch_stream_error_fails_open_rows_and_app_keeps_working() -> None:
    script = Script(break_after=1, run_error=GuestnetError("lost the connection to vc.lab.example"))
    app, _, _ = _app(FakeClient(make_vms(10), script=script, guest_password=GUEST_PW))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        main = await main_screen(pilot)
        await _start(pilot, main)
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, what="batch end")
        assert batch.totals()["succeeded"] == 1 and batch.totals()["failed"] == 2
        assert {r.error for r in batch.failed_rows()} == {"lost the connection to vc.lab.example"}
        assert any("Batch 1 failed" in (n.title or "") for n in app._notifications)
        await pilot.press("r")  # retry works with the batch's credentials, no modal
        await wait_for(pilot, lambda: len(main.task_pane.batches) == 2, what="retry batch")
        assert not isinstance(app.screen, StartModal)
        await pilot.press("q")


async def test_logout_failure_is_a_notification_not_a_crash() -> None:
    client = FakeClient(make_vms(5), close_error=GuestnetError("Logout: session already gone"))
    app, _, _ = _app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await main_screen(pilot)
        await pilot.press("p")  # back to the picker: logs out (and fails)
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        assert client.closed == 1
        assert any("session already gone" in n.message for n in app._notifications)
        await pilot.press("q")
    assert app.return_code == 0


async def test_logout_on_a_dead_link_is_bounded() -> None:
    client = FakeClient(make_vms(5), close_hangs=True)
    app, _, _ = _app(client)
    app.logout_seconds = 0.3
    async with app.run_test(size=(80, 24)) as pilot:
        await main_screen(pilot)
        await pilot.press("p")  # the logout hangs: the app gives up after logout_seconds
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        assert client.closed == 1
        assert any("Logout did not finish" in n.message for n in app._notifications)
        await pilot.press("q")
    assert app.return_code == 0


async def test_logout_is_bounded_when_a_run_cannot_close() -> None:
    """The screen's close (each batch leaves its run) counts against the same bound; the
    client's logout is started all the same."""
    app, client, _ = _held_app(exit_hangs=True)
    app.logout_seconds = 0.3
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        main = await _hold_one(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        assert client.closed == 1 and not client.runs[-1].closed
        assert any("Logout did not finish" in n.message for n in app._notifications)
        assert not [w for w in app.workers if w.node is main]
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_batch_runs_on_while_a_modal_is_shown_over_the_main_screen() -> None:
    app, client, audit = _held_app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await _hold_one(pilot)
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.totals()["running"] == 1, what="running")
        main.vm_table.focus()
        await pilot.press("s")  # a second start dialog over the main screen
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        client.script.hold.clear()
        client.runs[-1]._wake.set()
        await wait_for(pilot, lambda: batch.finished, what="the batch behind the modal")
        assert isinstance(app.screen, StartModal)
        assert batch.totals()["succeeded"] == 1
        await wait_for(
            pilot,
            lambda: any(r["action"] == "guest-network-result" for r in audit),
            what="the result record",
        )
        await pilot.press("escape", "q")
    assert app.return_code == 0


async def test_quit_while_tasks_run_asks_first() -> None:
    app, client, _ = _held_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _hold_one(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        assert "still open" in screen_text(app)
        assert "1 task is still open" in screen_text(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="back")
        assert client.closed == 0
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: client.closed == 1, what="logout")
    assert app.return_code == 0


async def test_passwords_never_appear_on_screen_in_audit_or_notifications() -> None:
    vc_pw = "Vc-Pass-4242"
    prof = make_profile(password_source=PasswordSource(kind="prompt"))
    script = Script(hold={"clone-001"})
    client = FakeClient(make_vms(12), script=script, guest_password=GUEST_PW)
    app, _, audit = _app(client, profiles={"lab": prof}, env={})
    shots: list[str] = []

    def snap() -> None:
        shots.append(screen_text(app))
        shots.append(app.export_screenshot())

    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordModal), what="vc password")
        await pilot.press(*vc_pw)
        snap()
        await pilot.press("enter")
        main = await main_screen(pilot)
        snap()
        assert client.specs[-1].password.reveal() == vc_pw
        await pilot.press("space", "space", "s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        await pilot.press(*"wrong-guest-pw")
        snap()
        await pilot.press("enter")
        await wait_for(pilot, lambda: main.task_pane.latest is not None, what="batch")
        snap()
        await pilot.press("2")
        snap()
        await pilot.press("3")
        snap()
        await pilot.press("question_mark")
        snap()
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        snap()
        await pilot.press("escape")
        client.runs[-1].cancelled.add("vm-101")
        client.runs[-1]._wake.set()
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, what="batch end")
        await pilot.press("r")  # InvalidGuestLogin: asks again
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="retry modal")
        await pilot.press(*GUEST_PW)
        snap()
        await pilot.press("enter")
        await pilot.pause()
        snap()
        notes = [f"{n.title} {n.message}" for n in app._notifications]
        await pilot.press("q")
    assert len(shots) == 20
    for secret in (vc_pw, "wrong-guest-pw", GUEST_PW):
        for shot in shots:
            assert secret not in shot
        assert all(secret not in repr(r) for r in audit)
        assert all(secret not in n for n in notes)
    # the masked fields did show something: the dots
    assert any("•" * len(vc_pw) in s for s in shots)


async def test_save_fault_to_file_and_copy(tmp_path: Path) -> None:
    from tests.ui.fakes import guest_login_fault

    script = Script(fail={"clone-000": guest_login_fault()})
    app, _, _ = _app(FakeClient(make_vms(5), script=script, guest_password=GUEST_PW))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        main = await main_screen(pilot)
        await pilot.press("y")  # nothing shown yet
        assert any("No fault shown" in n.message for n in app._notifications)
        await _start(pilot, main, marks=1)
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, what="batch end")
        assert main.fault_pane.row is not None
        saved = main.save_fault(tmp_path)
        assert saved is not None
        doc = json.loads(saved.read_text(encoding="utf-8"))
        assert doc["fault"]["type"] == "InvalidGuestLogin"
        assert doc["hint"]["remedy"] and doc["vm"]["name"] == "clone-000"
        assert doc["fault"]["cause"]["type"] == "SystemError"
        assert doc["fault"]["faultMessage"][0]["args"] == {"user": "root"}
        assert main.save_fault(tmp_path / "missing-dir") is None
        await pilot.pause()
        assert any("Cannot write" in n.message for n in app._notifications)
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("y")
        assert json.loads(copied[0])["fault"]["type"] == "InvalidGuestLogin"
        titles = [c.title for c in app.get_system_commands(main)]
        assert "Save fault to file" in titles and "Sort by ip descending" in titles
        await pilot.press("q")


async def test_nothing_to_retry_or_cancel_says_so() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await main_screen(pilot)
        await pilot.press("r", "c")
        msgs = [n.message for n in app._notifications]
        assert "No batch to retry yet." in msgs and "No running batch to cancel." in msgs
        await pilot.press("q")


async def test_abort_without_known_credentials_asks_for_them() -> None:
    app, client, audit = _app()
    async with app.run_test(size=(100, 30)) as pilot:
        await main_screen(pilot)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="credentials")
        assert "pre-flight" not in screen_text(app)
        await pilot.press(*GUEST_PW, "enter")
        await wait_for(pilot, lambda: client.aborted == ["vm-100"], what="abort call")
        await wait_for(pilot, lambda: any(r["action"] == "abort-customization" for r in audit))
        await pilot.press("q")


async def test_sort_keys_and_palette_sort() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = await main_screen(pilot)
        await pilot.press("greater_than_sign")
        assert main.store.sort_column == "power"
        await pilot.press("less_than_sign", "less_than_sign")
        assert main.store.sort_column == "host"  # wraps to the last column when wide
        main.sort_by("ip", True)
        ips = [main.store.vms[m].ip_address for m in main.store.visible]
        assert ips[0] is not None and "IP▼" in screen_text(app)
        await pilot.press("q")


async def test_layout_narrow_tabs_and_wide_panes() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        assert main.narrow and not main.task_pane.display and "1 VMs" in screen_text(app)
        await pilot.press("2")
        assert main.task_pane.display and not main.query_one("#vm-pane").display
        await pilot.press("tab")
        assert main.active == "fault" and main.fault_pane.display
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert not main.narrow
        assert all(w.display for w in (main.task_pane, main.fault_pane, main.query_one("#vm-pane")))
        await pilot.press("q")


async def test_profile_theme_applies_and_reverts_and_choice_is_remembered(tmp_path: Path) -> None:
    from tui.config.state import load_state

    prof = make_profile(name="prod", theme="guestnet-prod")
    app, _, _ = _app(profiles={"prod": prof}, initial_profile="prod", remember_theme=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await main_screen(pilot)
        assert app.theme == "guestnet-prod"
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        assert app.theme == "guestnet-dark"
        app.theme = "guestnet-light"
        await pilot.pause()
        await pilot.press("q")
    assert load_state()["theme"] == "guestnet-light"
    app2, _, _ = _app(remember_theme=True)
    async with app2.run_test(size=(80, 24)) as pilot:
        await main_screen(pilot)
        assert app2.theme == "guestnet-light"
        await pilot.press("q")


async def test_broken_user_theme_is_one_notification(tmp_path: Path) -> None:
    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "broken.yaml").write_text("name: broken\nprimary: [\n")
    (tmp_path / "themes" / "mine.yaml").write_text("name: mine\nprimary: '#aa5500'\n")
    app, _, _ = _app(themes_dir=tmp_path / "themes")
    # every notify() call is recorded: Textual drops a shown notification after its timeout,
    # which a loaded machine can pass before the main screen is up
    said: list[tuple[str | None, str]] = []
    shown = app.notify

    def notify(message: str, *args: Any, **kw: Any) -> None:
        said.append((kw.get("title"), str(message)))
        shown(message, *args, **kw)

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await main_screen(pilot)
        warn = [m for title, m in said if title == "Some theme files were skipped"]
        assert len(warn) == 1 and "broken.yaml" in warn[0]
        assert "mine" in app.available_themes
        await pilot.press("q")


async def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app, _, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        assert app.no_color
        await pilot.press("space")
        assert "●" in screen_text(app)  # marks are a glyph, not only a colour
        assert main.store.marks
        await pilot.press("q")


async def test_picker_without_profiles_explains_and_bad_profile_name_is_reported() -> None:
    app, _, _ = _app(profiles={}, initial_profile="nope")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        assert "No profiles yet" in screen_text(app)
        assert any("No profile named 'nope'" in n.message for n in app._notifications)
        await pilot.press("q")
    app2 = GuestnetApp(
        profiles={},
        profiles_problem="/x/profiles.yaml:3: profile 'a': bad host",
        remember_theme=False,
    )
    async with app2.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "/x/profiles.yaml:3: profile 'a': bad host" in screen_text(app2)
        await pilot.press("q")


async def test_password_source_error_is_a_notification() -> None:
    app, client, _ = _app(env={})  # FAKE_VC_PASSWORD is not set
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(
            pilot,
            lambda: any("FAKE_VC_PASSWORD is not set" in n.message for n in app._notifications),
            what="the error",
        )
        assert isinstance(app.screen, PickerScreen) and not client.specs
        await pilot.press("q")


async def test_help_lists_every_binding_of_the_main_screen() -> None:
    from tui.ui.keys import KEYS

    app, _, _ = _app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = await main_screen(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        documented = " ".join(k for _, rows in KEYS for k, _ in rows)
        for binding in main.BINDINGS:
            key = binding.key if hasattr(binding, "key") else binding[0]  # type: ignore[index]
            shown = {
                "slash": "/",
                "space": "space",
                "less_than_sign": "<",
                "greater_than_sign": ">",
                "question_mark": "?",
            }.get(key, key)
            assert shown in documented, f"{key} is not in the help"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("q")


def test_demo_rejects_bad_arguments_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from tui.ui.demo import main

    assert main(["--size", "10x5"]) == 2
    assert main(["--vms", "0"]) == 2
    assert main(["--bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("guestnet demo: ") for line in err)
    assert "--size" in err[0] and "--vms" in err[1] and "--bogus" in err[2]


async def test_older_batches_on_request() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = await main_screen(pilot)
        await _start(pilot, main, marks=1)
        await wait_for(pilot, lambda: main.task_pane.batches[0].finished, what="batch 1")
        main.vm_table.focus()
        await _start(pilot, main, marks=2)
        await wait_for(pilot, lambda: len(main.task_pane.batches) == 2, what="batch 2")
        assert main.task_pane.shown is main.task_pane.batches[1]  # the latest by default
        await pilot.press("2", "left_square_bracket")
        assert main.task_pane.shown is main.task_pane.batches[0]
        assert "Batch 1/2" in screen_text(app)
        await pilot.press("left_square_bracket")  # nothing older: stays
        assert main.task_pane.shown is main.task_pane.batches[0]
        await pilot.press("right_square_bracket")
        assert main.task_pane.shown is main.task_pane.batches[1]
        # the first batch's password was dropped when the second one started
        assert main.task_pane.batches[0].creds is None
        await pilot.press("q")


def test_run_loads_profiles_and_reports_a_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tui.ui.app as appmod

    seen: list[GuestnetApp] = []

    def fake_run(self: GuestnetApp, *a: Any, **k: Any) -> int:
        seen.append(self)
        return 0

    monkeypatch.setattr(appmod.GuestnetApp, "run", fake_run)
    bad = tmp_path / "profiles.yaml"
    bad.write_text("profiles:\n  lab: [\n", encoding="utf-8")
    assert appmod.run(bad, ["lab"]) == 0
    assert seen[-1].profiles == {} and seen[-1].initial_profile == "lab"
    assert seen[-1].profiles_problem is not None and str(bad) in seen[-1].profiles_problem
    good = tmp_path / "good.yaml"
    good.write_text(
        "profiles:\n  lab:\n    host: vc.example.test\n    username: admin\n    password_env: X\n"
        "  prod:\n    host: vc2.example.test\n    username: admin\n    password_env: X\n"
        "groups:\n  sites: [lab, prod]\n",
        encoding="utf-8",
    )
    assert appmod.run(good, []) == 0
    assert list(seen[-1].profiles) == ["lab", "prod"] and seen[-1].profiles_problem is None
    assert list(seen[-1].groups) == ["sites"] and seen[-1].initial_profiles == []
    assert appmod.run(good, ["lab", "prod"]) == 0
    assert seen[-1].initial_profiles == ["lab", "prod"] and seen[-1].initial_profile is None


async def test_a_click_selects_a_row() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = await main_screen(pilot)
        await pilot.click("#vm-table", offset=(5, 4))  # header is line 0: row index 3
        assert main.vm_table.cursor == 3
        await pilot.press("q")


async def test_insecure_tls_is_loud_in_the_header() -> None:
    app, _, _ = _app(FakeClient(make_vms(3), tls_mode="insecure"))
    async with app.run_test(size=(120, 30)) as pilot:
        await main_screen(pilot)
        assert "TLS INSECURE" in screen_text(app).splitlines()[0]
        await pilot.press("q")


async def test_start_modal_focus_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    prof = make_profile(guest_username=None)
    app, _, _ = _app(profiles={"lab": prof})
    async with app.run_test(size=(100, 30)) as pilot:
        main = await main_screen(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="modal")
        assert app.focused is not None and app.focused.id == "username"  # nothing prefilled
        await pilot.press("tab", "enter")  # empty username, empty password
        assert "A guest username is required." in screen_text(app)
        await pilot.press(*"root", "enter")  # Enter in username moves to the password
        assert app.focused is not None and app.focused.id == "guest-password"
        await pilot.press("enter")
        assert "A guest password is required." in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="cancelled")
        assert main.task_pane.latest is None
        monkeypatch.setenv("GOVC_GUEST_LOGIN", "admin:from-env")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="modal")
        modal = app.screen
        assert modal.query_one("#username", Input).value == "admin"
        assert app.focused is not None and app.focused.id == "guest-password"
        assert modal.query_one("#guest-password", Input).value == ""  # never prefilled
        await pilot.press("escape")
        await pilot.press("q")


async def test_every_vm_skipped_needs_include_anyway() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await main_screen(pilot)
        main.vm_table.cursor = main.store.position("vm-105") or 0  # clone-005 is powered off
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="modal")
        await pilot.press(*GUEST_PW, "enter")
        assert "Every VM would be skipped" in screen_text(app)
        await pilot.press("escape", "q")


async def test_an_unexpected_worker_error_is_a_notification() -> None:
    class Broken(FakeClient):
        async def abort_customization(self, vm_moid: str, creds: Any = None) -> Any:
            raise RuntimeError("bug in a lower layer")

    app, _, _ = _app(Broken(make_vms(3)))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        main = await main_screen(pilot)
        await _start(pilot, main, marks=1)
        main.vm_table.focus()
        await pilot.press("home", "A")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any("bug in a lower layer" in n.message for n in app._notifications),
            what="the error as a notification",
        )
        assert app.is_running and isinstance(app.screen, MainScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_palette_saves_the_fault_to_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ui.fakes import guest_login_fault

    monkeypatch.chdir(tmp_path)
    script = Script(fail={"clone-000": guest_login_fault()})
    app, _, _ = _app(FakeClient(make_vms(5), script=script, guest_password=GUEST_PW))
    async with app.run_test(size=(120, 36)) as pilot:
        main = await main_screen(pilot)
        await _start(pilot, main, marks=1)
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, what="batch end")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Save fault to file")
        await wait_for(pilot, lambda: palette_offers(app, "Save fault to file"), what="match")
        await pilot.press("enter")
        await wait_for(pilot, lambda: _saved_faults(tmp_path), what="file")
        await pilot.press("q")
    (saved,) = _saved_faults(tmp_path)
    assert saved.name.startswith("guestnet-fault-clone-000-")
    assert json.loads(saved.read_text(encoding="utf-8"))["fault"]["type"] == "InvalidGuestLogin"


def _saved_faults(directory: Path) -> list[Path]:
    return sorted(directory.glob("guestnet-fault-*.json"))


async def test_escape_in_the_filter_clears_it_and_returns_to_the_table() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        await pilot.press("slash", *"clone-01")
        assert len(main.store.visible) == 10 and "10 of 30" in screen_text(app)
        await pilot.press("escape")
        assert not main.store.filtered and len(main.store.visible) == 30
        assert main.vm_table.has_focus
        assert main.query_one("#filter", Input).value == ""
        await pilot.press("q")


async def test_actions_land_in_the_real_audit_log_without_secrets() -> None:
    from tui.config.audit import AuditLog

    client = FakeClient(make_vms(5), guest_password=GUEST_PW)
    app = GuestnetApp(
        profiles={"lab": make_profile()},
        initial_profile="lab",
        connector=connector_for(client),
        remember_theme=False,
        env={"FAKE_VC_PASSWORD": "vc-pw"},
    )
    async with app.run_test(size=(100, 30)) as pilot:
        main = await main_screen(pilot)
        await _start(pilot, main, marks=2)
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.finished, what="batch end")
        await wait_for(pilot, lambda: not batch.verdicts()["verifying"], what="the verdicts")
        await pilot.press("q")
    entries = AuditLog().read().entries
    actions = [e["action"] for e in entries]
    assert actions == [
        "connect",
        "start-guest-network",
        "guest-network-result",
        "verify-guest-network",
    ]
    start = entries[1]
    assert start["profile"] == "lab" and start["guest_user"] == "root"
    assert [v["name"] for v in start["vms"]] == ["clone-000", "clone-001"]
    assert entries[2]["outcome"] == "2 succeeded"
    verify = entries[3]
    assert verify["outcome"] == "2 verified"
    verdicts = [
        (v["name"], v["verified"], v["ip_before"], v["ip_after"]) for v in verify["verdicts"]
    ]
    assert verdicts == [
        ("clone-000", True, None, "192.168.50.10"),  # no address at launch, a new one after
        ("clone-001", True, "10.0.0.2", "192.168.50.11"),
    ]
    assert all(v["verify_reason"] for v in verify["verdicts"])
    text = AuditLog().path.read_text(encoding="utf-8")
    assert GUEST_PW not in text and "vc-pw" not in text


async def test_typeahead_after_slash_lands_in_the_filter() -> None:
    """A terminal can deliver "/web" in one read: the keys after "/" must reach the filter."""
    from textual import events

    app, _, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        driver = app._driver
        assert driver is not None
        for key, char in [("slash", "/"), ("c", "c"), ("l", "l"), ("o", "o"), ("n", "n")]:
            driver.send_message(events.Key(key, char))  # all queued before any is handled
        filt = main.query_one("#filter", Input)
        await wait_for(pilot, lambda: filt.value == "clon", within=5, what="the typed filter")
        assert filt.value == "clon"
        await pilot.press("escape", "q")


async def test_a_row_keeps_its_last_cell_whole_beside_the_scrollbar() -> None:
    vms = [
        replace(vm, folder=f"/DC/vm/a-rather-long-folder-name-{i}-END")
        for i, vm in enumerate(make_vms(40))
    ]
    app, _, _ = _app(FakeClient(vms))
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        await pilot.pause()
        table = main.vm_table
        assert table.content_width == table.size.width - 1  # the scrollbar is shown
        rows = [line for line in screen_text(app).splitlines() if "clone-0" in line]
        assert rows and all("-END" in line for line in rows)
        await pilot.press("q")


async def test_a_typed_password_cannot_be_copied_or_cut_to_the_clipboard() -> None:
    vc_pw = "Vc-Pass-4242"
    prof = make_profile(password_source=PasswordSource(kind="prompt"))
    app, client, _ = _app(profiles={"lab": prof}, env={})
    sent: list[str] = []
    app.copy_to_clipboard = sent.append  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PasswordModal), what="vc password")
        await pilot.press(*vc_pw, "shift+home", "ctrl+c", "ctrl+x")
        assert app.screen.query_one("#password", Input).value == vc_pw  # not cut either
        await pilot.press("enter")
        main = await main_screen(pilot)
        assert client.specs[-1].password.reveal() == vc_pw
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        await pilot.press(*GUEST_PW, "shift+home", "ctrl+c", "ctrl+x", "ctrl+shift+a", "ctrl+c")
        assert app.screen.query_one("#guest-password", Input).value == GUEST_PW
        await pilot.press("escape")
        assert main.task_pane.latest is None
        await pilot.press("q")
    assert sent == []


@pytest.mark.parametrize("tls_mode", ["pinned", "insecure"])
async def test_the_header_keeps_marks_and_warnings_at_80_columns(tls_mode: str) -> None:
    client = FakeClient(make_vms(30), tls_mode=tls_mode)
    client.host = "vcsa-01.datacenter-east.corp.example.com"
    app, _, _ = _app(client, demo=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await main_screen(pilot)
        await pilot.press("space", "space")
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
        assert "DEMO" in header and "lab" in header
        # the host is whole, or cut in the middle when even the short header is too wide
        assert client.host in header or ("vcsa-01.data" in header and "example.com" in header)
        assert header.rstrip().endswith("2 marked")
        assert ("TLS INSECURE" in header) == (tls_mode == "insecure")
        await pilot.resize_terminal(160, 24)
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
        assert "vCenter 8.0.3" in header and "API 8.0.3.0" in header and "30 VMs" in header
        await pilot.press("q")


async def test_palette_offers_a_host_sort_only_when_the_host_column_shows() -> None:
    from tui.ui.palette import main_commands

    app, _, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        titles = [c.title for c in main_commands(main, app.action_profiles)]
        assert "Sort by ip descending" in titles and "Sort by host ascending" not in titles
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        titles = [c.title for c in main_commands(main, app.action_profiles)]
        assert "Sort by host ascending" in titles
        await pilot.press("q")


async def test_cancel_with_nothing_queued_says_so_instead_of_asking() -> None:
    app, _, _ = _held_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        main = await _hold_one(pilot)
        batch = main.task_pane.latest
        assert batch is not None
        await wait_for(pilot, lambda: batch.totals()["running"] == 1, what="running")
        main.vm_table.focus()  # not on a task row: c means "all queued"
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert any("Nothing queued in batch 1" in n.message for n in app._notifications)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        await pilot.press("y")


async def test_watch_dialog_checks_what_is_typed_and_read_only_refuses() -> None:
    app, _, _ = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        await pilot.press("w")  # an empty filter: the patterns are asked
        await wait_for(pilot, lambda: isinstance(app.screen, WatchModal), what="watch dialog")
        await pilot.press(*"web-[", "enter")
        assert "'[' without a closing ']'" in screen_text(app)
        await pilot.press("ctrl+u", *"clone-01*", "tab", "ctrl+u", "x", "enter")
        assert "settle: expected seconds, got 'x'" in screen_text(app)
        await pilot.press("ctrl+u", "0", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="credentials")
        assert "clone-01* matches 10 VMs now" in screen_text(app)
        await pilot.press("escape")  # no credentials: no watch
        await wait_for(pilot, lambda: app.screen is main, what="the main screen")
        assert not main.watch_control.on and main.task_pane.latest is None
        assert "WATCH" not in screen_text(app).splitlines()[0]
        await pilot.press("q")


async def test_read_only_profile_refuses_the_watch() -> None:
    app, _, _ = _app(profiles={"lab": make_profile(read_only=True)})
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        main = await main_screen(pilot)
        await pilot.press("slash", *"clone-*", "enter", "w")
        await wait_for(
            pilot,
            lambda: any("watching is disabled" in n.message for n in app._notifications),
            what="the refusal",
        )
        assert app.screen is main and not main.watch_control.on
        await pilot.press("q")
