"""``guestnet sim``: serve the vCenter simulator until Ctrl-C / SIGTERM.

The first stdout line is one JSON object (url, ca_file, thumbprint_sha256, username, password);
request logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tui.sim.inventory import InventoryError
from tui.sim.server import SimError, SimServer

PROG = "guestnet sim"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if v < 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return v


def _int_range(lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}: {text!r}")
        return v

    return parse


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
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=_int_range(0, 65535), default=0, help="port (default 0 = a free port)"
    )
    inv = p.add_mutually_exclusive_group()
    inv.add_argument(
        "--inventory", metavar="FILE", help="YAML inventory (default: the shipped example, 42 VMs)"
    )
    inv.add_argument(
        "--vms",
        type=_int_range(0, 1_000_000),
        metavar="N",
        help="generate a realistic inventory of N VMs instead",
    )
    p.add_argument("--seed", type=int, default=1, help="seed for --vms (default 1)")
    p.add_argument(
        "--vc-user",
        default="administrator@vsphere.local",
        help="vCenter user name (default administrator@vsphere.local)",
    )
    p.add_argument("--vc-password", default="VMware1!", help="vCenter password (default VMware1!)")
    p.add_argument(
        "--guest-user",
        default="root",
        help="guest OS account of VMs without their own (default root)",
    )
    p.add_argument(
        "--guest-password", default="guest-secret", help="its password (default guest-secret)"
    )
    p.add_argument(
        "--task-seconds",
        type=_positive_float,
        default=3.0,
        help="duration of a StartGuestNetwork task (default 3)",
    )
    p.add_argument(
        "--max-running-tasks",
        type=_int_range(1, 100_000),
        default=640,
        help="tasks running at once server-wide; more stay queued (default 640)",
    )
    p.add_argument(
        "--session-timeout",
        type=_positive_float,
        default=1800.0,
        help="idle seconds before a session expires (default 1800)",
    )
    p.add_argument(
        "--latency-ms",
        type=_positive_float,
        default=0.0,
        help="delay added to every request (default 0)",
    )
    p.add_argument("--cert-dir", metavar="DIR", help="write the generated CA as DIR/ca.pem")
    p.add_argument(
        "--profile-out",
        metavar="FILE",
        help="write a guestnet profiles YAML (profile 'sim') for this server",
    )
    p.add_argument(
        "--no-hello",
        action="store_true",
        help="act as vCenter 8.0U1: no hello endpoint, only release 8.0.1.0",
    )
    p.add_argument("--no-tls", action="store_true", help="plain HTTP (debugging only)")
    p.add_argument("--quiet", action="store_true", help="no request log on stderr")
    return p


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
    if args.profile_out and args.no_tls:
        sys.stderr.write(f"{PROG}: error: --profile-out needs TLS (drop --no-tls)\n")
        return 2
    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        req_log = logging.getLogger("tui.sim.requests")
        req_log.addHandler(handler)
        req_log.setLevel(logging.INFO)
        req_log.propagate = False
    try:
        server = SimServer(
            args.inventory,
            vms=args.vms,
            seed=args.seed,
            host=args.host,
            port=args.port,
            tls=not args.no_tls,
            cert_dir=args.cert_dir,
            vc_user=args.vc_user,
            vc_password=args.vc_password,
            guest_user=args.guest_user,
            guest_password=args.guest_password,
            task_seconds=args.task_seconds,
            max_running_tasks=args.max_running_tasks,
            session_timeout=args.session_timeout,
            latency_ms=args.latency_ms,
            hello=not args.no_hello,
        )
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
