"""The ``guestnet`` command line: the parser, and ``main()`` that runs a command or the TUI.

Each headless command is a module of ``tui.commands`` (see its docstring); this module only
assembles their parsers, runs the one chosen, and turns errors into one line and an exit code.
Exit codes: 0 success; 1 some VM failed or was skipped; 2 usage, configuration, connection or
login error; 130 interrupted (Ctrl-C). Heavy modules (httpx, textual, YAML, the client) are
imported only by the command that needs them, so ``guestnet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from tui.commands import audit, delegate, list_vms, profiles, start_network, watch
from tui.commands.base import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    Parser,
    UsageError,
    err,
)
from tui.commands.session import GLOBAL_NAMES, ProfileNames

# The subcommands in the order ``guestnet --help`` lists them; each adds its own parser.
COMMANDS = (profiles, list_vms, start_network, watch, audit, delegate)


def _config_parent() -> argparse.ArgumentParser:
    parent = Parser(add_help=False)
    parent.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="profiles file (default: $GUESTNET_CONFIG or ~/.config/guestnet/profiles.yaml)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    common: Any = _config_parent()
    parser = Parser(
        prog=PROG,
        description="Restart the guest network (StartGuestNetwork_Task) of vSphere instant clones. "
        "Without a command, opens the terminal UI.",
        epilog="Exit codes: 0 ok, 1 a VM failed or was skipped, 2 usage/config/connection/login "
        "error, 130 interrupted. 'guestnet sim --help' and 'guestnet demo --help' describe the "
        "simulator and the demo. Documentation: docs/cli.md.",
        parents=[common],
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        action=ProfileNames,
        into=GLOBAL_NAMES,
        help="profile or group to open in the UI; repeat it to see several vCenters in one view",
    )
    parser.add_argument("-V", "--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(sub, common)
    return parser


def _dispatch(ns: argparse.Namespace) -> int:
    handler = getattr(ns, "handler", None)
    if handler is not None:
        return int(handler(ns))
    if ns.version:
        from tui import __version__

        print(f"{PROG} {__version__}")
        return EXIT_OK
    return delegate.run_ui(getattr(ns, "config", None), list(getattr(ns, GLOBAL_NAMES, None) or []))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in delegate.PASS_THROUGH:
        return delegate.run_pass_through(args[0], args[1:])
    parser = build_parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    config = getattr(ns, "config", None)
    if config is not None:
        from tui.config import paths

        paths.use_profiles_file(config)
    try:
        return _dispatch(ns)
    except UsageError as exc:
        err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        from tui.vsphere.errors import GuestnetError

        if isinstance(exc, GuestnetError):
            err(str(exc))
            return EXIT_ERROR
        if os.environ.get("GUESTNET_DEBUG"):
            raise
        err(f"internal error ({type(exc).__name__}); set GUESTNET_DEBUG=1 for details")
        return EXIT_ERROR
