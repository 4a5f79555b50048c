"""Commands handed over whole to another module: ``guestnet sim``, ``guestnet demo`` and the UI."""

from __future__ import annotations

import argparse
from typing import Any

# Their argv goes to their own parser untouched (``guestnet sim --help`` is the simulator's help).
PASS_THROUGH = ("sim", "demo")


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """List them in ``guestnet --help``; ``main`` runs them before parsing."""
    sub.add_parser("sim", help="run the vCenter simulator (guestnet sim --help)", add_help=False)
    sub.add_parser("demo", help="the UI against a simulated vCenter (guestnet demo --help)")


def run_pass_through(command: str, rest: list[str]) -> int:
    if command == "sim":
        from tui.sim.cli import main as sim_main

        return int(sim_main(rest) or 0)
    from tui.ui.demo import main as demo_main

    return int(demo_main(rest) or 0)


def run_ui(config: str | None, profiles: list[str]) -> int:
    """The UI; several ``--profile`` (or a group) open one view over their vCenters."""
    from pathlib import Path

    from tui.ui.app import run

    return int(run(config=Path(config) if config else None, profiles=profiles) or 0)
