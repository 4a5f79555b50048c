"""Helpers for the tests with several simulated vCenters at once: a profiles file naming them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.cli.test_cli_sim import GUEST_PASSWORD, VC_PASSWORD, start_sim
from tui.sim.server import SimServer

__all__ = ["GUEST_PASSWORD", "VC_PASSWORD", "env_for", "profiles_text", "start_sim"]


def profile_block(name: str, sim: SimServer, extra: str = "") -> list[str]:
    return [
        f"  {name}:",
        "    host: 127.0.0.1",
        f"    port: {sim.port}",
        f"    username: {sim.username}",
        f"    password_env: PW_{name.upper()}",
        f"    ca_file: {sim.ca_file}",
        "    guest_username: root",
        *([extra] if extra else []),
    ]


def profiles_text(
    sims: Mapping[str, SimServer],
    groups: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, str] | None = None,
    dead: str | None = None,
) -> str:
    """One profile per simulator (password in ``$PW_<NAME>``), a ``dead`` one on port 1 (nothing
    listens), and ``groups``; ``extra`` adds lines to a profile."""
    lines = ["profiles:"]
    for name, sim in sims.items():
        lines += profile_block(name, sim, (extra or {}).get(name, ""))
    if dead is not None:
        lines += [
            f"  {dead}:",
            "    host: 127.0.0.1",
            "    port: 1",
            "    username: nobody",
            f"    password_env: PW_{dead.upper()}",
            "    guest_username: root",
        ]
    if groups:
        lines.append("groups:")
        lines += [f"  {g}: [{', '.join(members)}]" for g, members in groups.items()]
    return "\n".join(lines) + "\n"


def env_for(*names: str, wrong: str | None = None, **more: Any) -> dict[str, str]:
    """The vCenter password of each profile (``wrong``: a wrong one) and the guest password."""
    env = {f"PW_{n.upper()}": VC_PASSWORD for n in names}
    if wrong is not None:
        env[f"PW_{wrong.upper()}"] = "Wrong-Vc-Pass-3309"
    env["GUESTNET_GUEST_PASSWORD"] = GUEST_PASSWORD
    env.update({k: str(v) for k, v in more.items()})
    return env
