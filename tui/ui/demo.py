"""``guestnet demo``: the app on an in-process simulator with a generated inventory.

Nothing to set up: the simulator gets a throw-away CA, the demo profile trusts it, and the
vCenter password is handed over in memory. Quitting logs out and stops the simulator.

``python -m tui.ui.demo --screenshot FILE`` drives the demo headless through a short session
(mark, start, failures) and saves an SVG screenshot (the README's picture).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEMO_VMS = 300
SITES = ("lab", "prod", "dr", "test", "dev")  # --vcenters N: the profiles of the simulated vCenters


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage dump
        raise _ArgError(message)


def _parser() -> _Parser:
    p = _Parser(
        prog="guestnet demo",
        description="The guestnet app on an in-process simulated vCenter with a generated "
        "inventory (every fault represented). Nothing to set up; quitting logs out and stops "
        "the simulator.",
    )
    p.add_argument("--vms", type=int, default=DEMO_VMS, help="VMs to generate (default 300)")
    p.add_argument("--seed", type=int, default=1, help="inventory seed (default 1)")
    p.add_argument(
        "--task-seconds", type=float, default=3.0, help="how long each simulated task runs"
    )
    p.add_argument(
        "--vcenters",
        type=int,
        default=1,
        help=f"simulated vCenters in one view, up to {len(SITES)} (default 1; the second "
        "speaks 8.0U1)",
    )
    p.add_argument("--screenshot", type=Path, help="save an SVG of a scripted session and exit")
    p.add_argument("--size", default="100x30", help="terminal size for --screenshot (WxH)")
    return p


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or int(w) < 40 or int(h) < 12:
        raise _ArgError(f"--size: expected WIDTHxHEIGHT of at least 40x12, got {text!r}")
    return int(w), int(h)


def demo_profile(sim: Any, name: str = "demo") -> Any:
    from tui.config.profiles import PasswordSource, Profile
    from tui.vsphere.models import TLSSpec
    from tui.vsphere.secret import Secret

    return Profile(
        name=name,
        host=sim.host,
        port=sim.port,
        username=sim.username,
        password_source=PasswordSource(kind="inline", inline=Secret(sim.password)),
        tls=TLSSpec(ca_file=sim.ca_file),
        guest_username=sim.guest_user,
        concurrency=16,
    )


def demo_app(sim: Any, *more: Any, **kw: Any) -> Any:
    """The app on ``sim`` (profile ``demo``) or, given ``more`` simulators, on all of them in
    one view (profiles lab, prod, …)."""
    from tui.config import paths
    from tui.ui.app import GuestnetApp

    sims = (sim, *more)
    names = SITES[: len(sims)] if more else ("demo",)
    profiles = {name: demo_profile(s, name) for name, s in zip(names, sims, strict=True)}
    kw.setdefault("themes_dir", paths.themes_dir())
    vms = sum(len(s.vm_names()) for s in sims)
    where = f"{len(sims)} simulated vCenters" if more else "a simulated vCenter"
    return GuestnetApp(
        profiles=profiles,
        initial_profiles=list(names),
        demo=True,
        welcome=(
            f"DEMO: {where} with {vms} VMs. Guest login: {sim.guest_user} / "
            f"{sim.guest_password} (the simulator's). Mark with space, start with s, ? lists "
            "every key."
        ),
        **kw,
    )


async def _screenshot(sim: Any, path: Path, size: tuple[int, int]) -> None:
    from textual.widgets import Input

    from tui.ui.screens.main import MainScreen
    from tui.ui.screens.modals import StartModal

    app = demo_app(sim, remember_theme=False, audit=lambda **_: None)
    async with app.run_test(size=size) as pilot:

        async def until(cond: Any, what: str, within: float = 30.0) -> None:
            loop = asyncio.get_running_loop()
            end = loop.time() + within
            while not cond():
                if loop.time() > end:
                    raise RuntimeError(f"demo screenshot: timed out waiting for {what}")
                await pilot.pause(0.05)

        await until(lambda: isinstance(app.screen, MainScreen) and app.screen.loaded, "the VMs")
        main = app.screen
        assert isinstance(main, MainScreen)
        app.clear_notifications()
        names = (
            sim.ok_vms[:5] + [v[0] for k, v in sorted(sim.fault_vms.items()) if ":" not in k][:3]
        )
        by_name = {vm.name: m for m, vm in main.store.vms.items()}
        for n in names:
            if n in by_name:
                main.store.toggle_mark(by_name[n])
        await pilot.press("s")
        await until(lambda: isinstance(app.screen, StartModal), "the start dialog")
        await pilot.press(*sim.guest_password, "enter")
        await until(lambda: main.task_pane.latest is not None, "the batch")
        batch = main.task_pane.latest
        await until(lambda: batch is not None and batch.finished, "the batch to finish", 60)
        await pilot.pause(0.5)
        app.clear_notifications()
        # show the started VMs: their new IPs are the proof
        first = sim.ok_vms[0]
        stem = first.rsplit("-", 1)[0] if "-" in first else first
        main.query_one("#filter", Input).value = stem
        await pilot.pause()
        failed = [k for k, r in batch.rows.items() if r.state == "failed"] if batch else []
        if failed and batch is not None:
            main.task_table.cursor = list(batch.rows).index(failed[0])
            main.fault_pane.show(batch.rows[failed[0]])
        main.vm_table.focus()
        await pilot.pause(0.3)
        path.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=path.name, path=str(path.parent))
        await pilot.press("q")


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(args_in)
        size = _size(args.size)
        if args.vms < 1 or args.vms > 100_000:
            raise _ArgError(f"--vms: expected 1 to 100000, got {args.vms}")
        if args.task_seconds < 0:
            raise _ArgError(f"--task-seconds: expected 0 or more, got {args.task_seconds}")
        if not 1 <= args.vcenters <= len(SITES):
            raise _ArgError(f"--vcenters: expected 1 to {len(SITES)}, got {args.vcenters}")
    except _ArgError as exc:
        print(f"guestnet demo: {exc}", file=sys.stderr)
        return 2
    from tui.sim.server import SimError, SimServer

    sims: list[Any] = []
    try:
        for i in range(args.vcenters):
            sims.append(
                SimServer(
                    vms=args.vms,
                    seed=args.seed + i,
                    task_seconds=args.task_seconds,
                    hello=i != 1,  # the second vCenter is an 8.0U1 one
                ).start()
            )
    except (SimError, OSError) as exc:
        print(f"guestnet demo: cannot start the simulator: {exc}", file=sys.stderr)
        for sim in sims:
            sim.stop()
        return 1
    try:
        if args.screenshot is not None:
            asyncio.run(_screenshot(sims[0], args.screenshot, size))
            print(f"wrote {args.screenshot}")
            return 0
        result = demo_app(*sims).run()
        return result if isinstance(result, int) else 0
    finally:
        for sim in sims:
            sim.stop()


if __name__ == "__main__":
    raise SystemExit(main())
