"""``guestnet sim``: serve the vCenter simulator until Ctrl-C / SIGTERM.

The first stdout line is one JSON object (url, ca_file, thumbprint_sha256, username, password);
request logs (and a line per clone appearing, with ``--clone-rate``) go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import Field, fields
from pathlib import Path
from typing import Any

from tui.sim.inventory import InventoryError
from tui.sim.options import (
    Opt,
    SimOptions,
    default_of,
    default_text,
    markdown_table,
    option_of,
)
from tui.sim.server import SimError, SimServer

PROG = "guestnet sim"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


# options of `guestnet sim` itself, not of the simulator (listed in the docs table too)
CLI_ONLY: tuple[tuple[str, Opt], ...] = (
    (
        "profile_out",
        Opt(
            flag="--profile-out",
            metavar="FILE",
            help="write a guestnet profiles YAML with a profile 'sim' pointing at this server and "
            "its CA (mode 600: it holds the simulator's demo password)",
        ),
    ),
    ("quiet", Opt(flag="--quiet", kind=bool, help="no request log on stderr")),
)


def _value_parser(meta: Opt) -> Callable[[str], Any]:
    """argparse ``type`` of a number option: parsed, then held to the option's bounds."""
    what = "an integer" if meta.kind is int else "a number"

    def parse(text: str) -> Any:
        if meta.parse is not None:
            try:
                v = meta.parse(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
        else:
            try:
                v = meta.kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if meta.bounded and not meta.in_bounds(v):
            raise argparse.ArgumentTypeError(f"{meta.bound_text()}: {text!r}")
        return v

    return parse


def _add_option(p: Any, dest: str, meta: Opt, default: Any) -> None:
    assert meta.flag is not None
    if meta.kind is bool:
        if meta.off is not None:  # --no-x turns it off
            p.add_argument(meta.flag, dest=dest, action="store_false", help=meta.off)
        else:
            p.add_argument(meta.flag, dest=dest, action="store_true", help=meta.help)
        return
    shown = default_text(meta, default)
    help_ = meta.help if shown is None else f"{meta.help} (default {shown})"
    kwargs: dict[str, Any] = {"dest": dest, "default": default, "help": help_}
    if meta.metavar:
        kwargs["metavar"] = meta.metavar
    if meta.kind in (int, float):
        kwargs["type"] = _value_parser(meta)
    p.add_argument(meta.flag, **kwargs)


def cli_fields() -> list[Field[Any]]:
    """The ``SimOptions`` fields that ``guestnet sim`` has a flag for."""
    return [f for f in fields(SimOptions) if option_of(f).flag is not None]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description=(
            "Serve an embedded vCenter simulator speaking VI/JSON over HTTPS (a generated CA). "
            "The first stdout line is a JSON object with url, ca_file, thumbprint_sha256, "
            "username and password; request logs go to stderr. Ctrl-C or SIGTERM stops it. "
            "See docs/simulator.md."
        ),
    )
    exclusive = p.add_mutually_exclusive_group()
    for f in cli_fields():
        meta = option_of(f)
        _add_option(exclusive if meta.exclusive else p, f.name, meta, default_of(f))
    for dest, meta in CLI_ONLY:
        _add_option(p, dest, meta, None)
    return p


def options_table() -> str:
    """The options table of docs/simulator.md: every simulator option and the CLI's own."""
    return markdown_table(CLI_ONLY)


def profile_yaml(server: SimServer) -> str:
    def q(s: str) -> str:
        return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar

    return (
        "# Written by `guestnet sim --profile-out`; valid while that simulator runs.\n"
        "profiles:\n"
        "  sim:\n"
        f"    host: {q(server.host)}\n"
        f"    port: {server.port}\n"
        f"    username: {q(server.username)}\n"
        "    # the simulator's own demo password (this file is private: mode 600)\n"
        f"    password: {q(server.password)}\n"
        f"    ca_file: {q(server.ca_file)}\n"
        f"    guest_username: {q(server.guest_user)}\n"
    )


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.profile_out and not args.tls:
        sys.stderr.write(f"{PROG}: error: --profile-out needs TLS (drop --no-tls)\n")
        return 2
    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        for name in ("tui.sim.requests", "tui.sim.events"):  # requests; clones appearing
            log = logging.getLogger(name)
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.propagate = False
    try:
        server = SimServer(**{f.name: getattr(args, f.name) for f in cli_fields()})
    except (InventoryError, SimError) as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.start()
        except SimError as exc:
            sys.stderr.write(f"{PROG}: error: {exc}\n")
            return 1
        try:
            if args.profile_out:
                try:
                    _write_private(Path(args.profile_out), profile_yaml(server))
                except OSError as exc:
                    sys.stderr.write(
                        f"{PROG}: error: cannot write {args.profile_out}: {exc.strerror or exc}\n"
                    )
                    return 1
            sys.stdout.write(json.dumps(server.info()) + "\n")
            sys.stdout.flush()
            n = len(server.vm_names())
            sys.stderr.write(f"{PROG}: serving {n} VMs on {server.url} (Ctrl-C to stop)\n")
            sys.stderr.flush()
            while not stop.wait(0.25):
                if not server.running:
                    sys.stderr.write(f"{PROG}: error: the server stopped unexpectedly\n")
                    return 1
        finally:
            server.stop()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    sys.stderr.write(f"{PROG}: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
