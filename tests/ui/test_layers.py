"""The UI's dependencies go one way: the app knows its screens, no screen knows the app.

Screens talk upward with messages and get what they need through their constructors, so each
one runs in any Textual App: here a bare host app stands in for GuestnetApp.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App
from textual.screen import Screen
from textual.widgets import Input

from tests.ui.fakes import FakeClient, Script, make_profile, make_vms
from tests.ui.helpers import wait_for
from tui.ui.screens.main import MainScreen
from tui.ui.screens.modals import ConfirmModal, StartModal
from tui.ui.screens.picker import PickerScreen

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "tui" / "ui"
GUEST_PW = "guest-secret"


def imported_modules(source: str, module: str) -> set[str]:
    """Every module an import statement of ``source`` (the text of ``module``) names, anywhere
    in the file: under ``if TYPE_CHECKING:`` and inside functions too; relative ones resolved;
    ``from pkg import name`` counts as ``pkg`` and ``pkg.name``."""
    package = module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_import_scan_sees_every_form_of_import() -> None:
    mod = "tui.ui.screens.example"
    assert "tui.ui.app" in imported_modules("import tui.ui.app", mod)
    assert "tui.ui.app" in imported_modules("from tui.ui import app", mod)
    assert "tui.ui.app" in imported_modules("from tui.ui.app import GuestnetApp", mod)
    assert "tui.ui.app" in imported_modules("from ..app import GuestnetApp", mod)
    assert "tui.ui.app" in imported_modules("from .. import app", mod)
    hidden = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tui.ui.app import X\n"
    assert "tui.ui.app" in imported_modules(hidden, mod)
    late = "def f():\n    from tui.ui.app import GuestnetApp\n    return GuestnetApp\n"
    assert "tui.ui.app" in imported_modules(late, mod)
    assert "tui.ui.app" not in imported_modules("from tui.ui.apparatus import x", mod)


def test_no_screen_or_widget_imports_the_app() -> None:
    """Not even for type checking: a screen that knows GuestnetApp would call up into it."""
    checked = 0
    for folder, banned in (
        ("screens", ("tui.ui.app",)),
        ("widgets", ("tui.ui.app", "tui.ui.screens")),
    ):
        for path in sorted((UI / folder).glob("*.py")):
            name = _module_name(path)
            names = imported_modules(path.read_text(encoding="utf-8"), name)
            bad = sorted(
                m for m in names if m in banned or m.startswith(tuple(b + "." for b in banned))
            )
            assert not bad, f"{name} imports {bad}"
            checked += 1
    assert checked >= 10  # the scan found the files


def test_importing_every_screen_leaves_the_app_unloaded() -> None:
    screens = sorted(_module_name(p) for p in (UI / "screens").glob("*.py"))
    assert "tui.ui.screens.main" in screens and "tui.ui.screens.picker" in screens
    code = (
        "import importlib, sys\n"
        f"for name in {screens!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'tui.ui.app')\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr


class Host(App[None]):
    """A bare app: shows one screen and keeps the messages the screens send up."""

    def __init__(self, first: Screen[Any]) -> None:
        super().__init__()
        self.first = first
        self.received: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.first)

    @on(PickerScreen.ProfileChosen)
    @on(MainScreen.LeaveRequested)
    def _keep(self, message: object) -> None:
        self.received.append(message)


async def test_the_picker_posts_the_chosen_profile() -> None:
    profiles = {"lab": make_profile(), "prod": make_profile(name="prod")}
    app = Host(PickerScreen(profiles, None, "no profiles", selected="prod"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="picker")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.received, what="ProfileChosen")
        (msg,) = app.received
        assert isinstance(msg, PickerScreen.ProfileChosen) and msg.profile is profiles["prod"]


async def test_the_main_screen_asks_to_leave_and_close_stops_its_workers() -> None:
    client = FakeClient(make_vms(5), script=Script(hold={"clone-000"}), guest_password=GUEST_PW)
    records: list[tuple[str, dict[str, Any]]] = []
    main = MainScreen(
        make_profile(guest_username=None),
        client,
        audit=lambda action, **fields: records.append((action, fields)),
        guest_username=lambda: "from-the-host",
    )
    app = Host(main)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: main.is_mounted and main.loaded, what="the inventory")
        await pilot.press("space", "s")
        await wait_for(pilot, lambda: isinstance(app.screen, StartModal), what="start modal")
        assert app.screen.query_one("#username", Input).value == "from-the-host"
        await pilot.press(*GUEST_PW, "enter")
        await wait_for(pilot, lambda: main.running_tasks() == 1, what="a running task")
        assert [a for a, _ in records] == ["start-guest-network"]
        assert records[0][1]["guest_user"] == "from-the-host"
        await pilot.press("q")  # a task is open: the screen asks before it asks to leave
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), what="confirm")
        assert app.received == []
        await pilot.press("y")
        await wait_for(pilot, lambda: app.received, what="LeaveRequested")
        (msg,) = app.received
        assert isinstance(msg, MainScreen.LeaveRequested)
        assert msg.main is main and msg.where == "quit"
        assert any(w.node is main for w in app.workers)  # the watch and the batch
        await main.close()
        assert not [w for w in app.workers if w.node is main]
        (run,) = client.runs
        assert run.closed  # the batch left its run's `async with`
        batch = main.task_pane.latest
        assert batch is not None and batch.finished
        assert {r.error for r in batch.rows.values()} == {"stopped: the app left this session"}
        assert client.closed == 0  # logging out is for whoever connected the client
