"""The ``guestnet`` command line: the TUI and the headless commands.

Exit codes: 0 success; 1 some VM failed or was skipped; 2 usage, configuration, connection or login
error; 130 interrupted (Ctrl-C). Heavy modules (httpx, textual, YAML, the client) are imported only
by the command that needs them, so ``guestnet --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:
    from tui.config.profiles import Profile
    from tui.vsphere.models import VM, TaskEvent
    from tui.vsphere.secret import Secret

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

PROG = "guestnet"
POWER_STATES = ("poweredOn", "poweredOff", "suspended")
CANCEL_GRACE_SECONDS = 30.0
PLAN_LINES = 20  # VMs named in the plan before "… and N more"
VM_JSON_KEYS = (
    "name",
    "moid",
    "path",
    "power_state",
    "connection_state",
    "tools_running_status",
    "guest_operations_ready",
    "ip_address",
    "host_name",
    "instance_uuid",
)


class UsageError(Exception):
    """Bad input the user can fix; printed as one line, exit 2."""


# --------------------------------------------------------------------------- small helpers


def _err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _fail(message: str) -> NoReturn:
    raise UsageError(message)


def _have_tty() -> bool:
    """True when a controlling terminal exists to prompt on (stdin may still be a pipe)."""
    if os.environ.get("GUESTNET_NO_TTY"):
        return False
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _tty_prompt() -> Callable[[str], str] | None:
    """A no-echo prompt on the terminal, or None when there is none."""
    if not _have_tty():
        return None

    def ask(text: str) -> str:
        import getpass

        return _interruptible(lambda: getpass.getpass(text))

    return ask


def _interruptible(fn: Callable[[], str]) -> str:
    """Run a blocking terminal read so that Ctrl-C raises KeyboardInterrupt at once, even inside
    an asyncio loop (whose own SIGINT handler would only cancel the main task later)."""
    import signal

    try:
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread
        return fn()
    try:
        return fn()
    finally:
        signal.signal(signal.SIGINT, old)


def _confirm(question: str) -> bool:
    def ask() -> str:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, f"{question} [y/N] ".encode())
            answer = os.read(fd, 1024)  # canonical mode: one line
        finally:
            os.close(fd)
        return answer.decode("utf-8", "replace")

    return _interruptible(ask).strip().lower() in ("y", "yes")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    data = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in data) for i in range(len(headers))]
    lines = []
    for r in data:
        cells = [c.ljust(widths[i]) if i < len(r) - 1 else c for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _dash(value: object) -> str:
    if value is None or value == "":
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    from datetime import UTC

    return str(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))


# --------------------------------------------------------------------------- argument parsing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _config_parent() -> argparse.ArgumentParser:
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="profiles file (default: $GUESTNET_CONFIG or ~/.config/guestnet/profiles.yaml)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    common: Any = _config_parent()
    parser = _Parser(
        prog=PROG,
        description="Restart the guest network (StartGuestNetwork_Task) of vSphere instant clones. "
        "Without a command, opens the terminal UI.",
        epilog="Exit codes: 0 ok, 1 a VM failed or was skipped, 2 usage/config/connection/login "
        "error, 130 interrupted. 'guestnet sim --help' and 'guestnet demo --help' describe the "
        "simulator and the demo. Documentation: docs/cli.md.",
        parents=[common],
    )
    parser.add_argument("--profile", metavar="NAME", help="profile to open in the UI")
    parser.add_argument("-V", "--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "profiles",
        parents=[common],
        help="list profiles; 'profiles check NAME', 'profiles trust NAME'",
        description="List the configured vCenter profiles (never a secret).",
    )
    p.add_argument("--json", action="store_true", help="JSON array instead of a table")
    psub = p.add_subparsers(dest="profiles_command", metavar="ACTION", parser_class=_Parser)
    pc = psub.add_parser(
        "check",
        parents=[common],
        help="connect and show server, release, TLS mode and thumbprint",
        description="Connect with the profile, log in, and print the server product and version, "
        "the negotiated API release, the TLS verification mode and the presented SHA-256 "
        "thumbprint.",
    )
    pc.add_argument("name", metavar="NAME")
    pc.add_argument("--json", action="store_true", help="one JSON object instead of text")
    pt = psub.add_parser(
        "trust",
        parents=[common],
        help="show the presented thumbprint and pin it into the profile",
        description="Fetch the certificate thumbprint the vCenter presents and, after "
        "confirmation, write it as 'thumbprint:' into the profile.",
    )
    pt.add_argument("name", metavar="NAME")
    pt.add_argument("--yes", action="store_true", help="pin without asking")

    lp = sub.add_parser(
        "list",
        parents=[common],
        help="list VMs",
        description="List the VMs under the profile's root (or the whole inventory).",
    )
    lp.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="profile (default: $GUESTNET_PROFILE, the only one, or govc-env)",
    )
    lp.add_argument(
        "--filter",
        metavar="GLOB",
        action="append",
        default=[],
        help="keep VMs whose name or inventory path matches (repeatable)",
    )
    lp.add_argument("--power", choices=POWER_STATES, help="keep VMs in this power state")
    lp.add_argument("--json", action="store_true", help="JSON array instead of a table")

    sp = sub.add_parser(
        "start-network",
        parents=[common],
        help="run StartGuestNetwork_Task on VMs",
        description="Restart the guest network of the selected VMs. The guest password comes "
        "from GUESTNET_GUEST_PASSWORD, else GOVC_GUEST_LOGIN (user:password), else a no-echo "
        "prompt on the terminal; never from a flag.",
        epilog="Exit codes: 0 all succeeded, 1 any failed or skipped, 2 usage/config/connection/"
        "login error, 130 interrupted (cancellable tasks are cancelled).",
    )
    sp.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="profile (default: $GUESTNET_PROFILE, the only one, or govc-env)",
    )
    sel = sp.add_mutually_exclusive_group(required=True)
    sel.add_argument(
        "--vm",
        metavar="GLOB",
        nargs="+",
        action="extend",
        help="VM name or inventory path glob (repeatable)",
    )
    sel.add_argument(
        "--vms-from", metavar="FILE", help="file with one VM name/path/glob per line ('-' = stdin)"
    )
    sp.add_argument("--guest-user", metavar="USER", help="guest OS user (default: from profile)")
    sp.add_argument(
        "--concurrency",
        metavar="N",
        type=int,
        help="StartGuestNetwork_Task calls in flight at once",
    )
    sp.add_argument(
        "--no-preflight",
        action="store_true",
        help="do not skip VMs that are off, without tools or not ready for guest operations",
    )
    sp.add_argument("--json", action="store_true", help="one JSON object per VM per line")
    sp.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    ap = sub.add_parser(
        "audit",
        parents=[common],
        help="show the audit log",
        description="Show the audit log: who started, cancelled or aborted what, when, with what "
        "result.",
    )
    ap.add_argument(
        "--since", metavar="WHEN", help="30m, 2h, 7d, 1w, or a date/time like 2026-11-30T08:00"
    )
    ap.add_argument("--json", action="store_true", help="JSON lines instead of a table")

    sub.add_parser("sim", help="run the vCenter simulator (guestnet sim --help)", add_help=False)
    sub.add_parser("demo", help="the UI against a simulated vCenter (guestnet demo --help)")
    return parser


# --------------------------------------------------------------------------- profiles


def _load(ns: argparse.Namespace) -> dict[str, Profile]:
    from tui.config.profiles import load_profiles

    return load_profiles(getattr(ns, "config", None))


def _no_profiles() -> str:
    from tui.config import paths

    return (
        f"no profiles: create {paths.profiles_file()} (see profiles.example.yaml) or set GOVC_URL"
    )


def _where(profile: Profile) -> str:
    """``host``, or ``host:port`` when the port is not 443."""
    return profile.host if profile.port == 443 else f"{profile.host}:{profile.port}"


def _pick(profiles: dict[str, Profile], name: str | None) -> Profile:
    import difflib

    from tui.config.profiles import GOVC_PROFILE

    chosen = name or os.environ.get("GUESTNET_PROFILE") or None
    if chosen is None:
        if len(profiles) == 1:
            return next(iter(profiles.values()))
        if GOVC_PROFILE in profiles:
            return profiles[GOVC_PROFILE]
        if not profiles:
            _fail(_no_profiles())
        _fail(f"several profiles ({', '.join(sorted(profiles))}): choose one with --profile NAME")
    if chosen not in profiles:
        close = difflib.get_close_matches(chosen, list(profiles), n=1)
        if close:
            _fail(f"unknown profile {chosen!r} (did you mean {close[0]!r}?)")
        known = ", ".join(sorted(profiles)) or "none"
        _fail(f"unknown profile {chosen!r} (known: {known})")
    return profiles[chosen]


def _vc_password(profile: Profile) -> Secret:
    from tui.config.credentials import resolve_password

    return resolve_password(profile, prompt=_tty_prompt())


def cmd_profiles(ns: argparse.Namespace) -> int:
    import json

    profiles = _load(ns)
    if ns.json:
        print(json.dumps([p.summary() for p in profiles.values()], indent=2))
        return EXIT_OK
    if not profiles:
        _err(_no_profiles())
        return EXIT_OK
    rows = []
    for p in profiles.values():
        notes = "read-only" if p.read_only else ""
        source = p.password_source.describe()
        rows.append([p.name, _where(p), p.username, p.tls_mode, source, p.origin, notes])
    print(_table(["NAME", "HOST", "USER", "TLS", "PASSWORD", "SOURCE", "NOTES"], rows))
    return EXIT_OK


async def _connect(profile: Profile, password: Secret) -> Any:
    from tui.vsphere import Client

    return await Client.connect(profile.connect_spec(password))


def _with_client(profile: Profile, password: Secret, work: Callable[[Any], Awaitable[T]]) -> T:
    """Connect, ``await work(client)``, log out (at most 15 s, also after an error or Ctrl-C);
    a client error becomes one line naming the profile."""

    async def session() -> T:
        import asyncio

        client = await _connect(profile, password)
        try:
            return await work(client)
        finally:
            try:
                await asyncio.wait_for(asyncio.shield(client.close()), 15)
            except Exception as exc:
                _err(f"warning: logout failed: {exc}")

    return _run_client(profile, session)


def _run_client(profile: Profile, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(make())``; a client error becomes one line naming the profile."""
    import asyncio

    from tui.config.profiles import ProfileError
    from tui.vsphere.errors import GuestnetError

    try:
        return asyncio.run(make())
    except ProfileError:
        raise
    except GuestnetError as exc:
        _fail(_connection_error(profile, exc))


def _connection_error(profile: Profile, exc: BaseException) -> str:
    from tui.vsphere.errors import TLSVerifyError

    text = f"profile {profile.name!r}: {exc}"
    if isinstance(exc, TLSVerifyError):
        text += f"; to pin the presented certificate run: {PROG} profiles trust {profile.name}"
    return text


def cmd_profiles_check(ns: argparse.Namespace) -> int:
    import json

    profile = _pick(_load(ns), ns.name)

    async def check(client: Any) -> dict[str, Any]:
        about = client.about
        return {
            "profile": profile.name,
            "host": client.host,
            "port": client.port,
            "product": about.full_name,
            "name": about.name,
            "version": about.version,
            "build": about.build,
            "api_version": about.api_version,
            "release": client.release,
            "tls_mode": client.tls_mode,
            "thumbprint_sha256": client.thumbprint_sha256,
            "username": client.username,
        }

    info = _with_client(profile, _vc_password(profile), check)
    if ns.json:
        print(json.dumps(info, indent=2))
    else:
        rows = [
            ["profile", f"{profile.name} ({profile.origin})"],
            ["server", f"{info['product']}"],
            ["version", f"{info['version']} build {info['build']} (API {info['api_version']})"],
            ["release", f"{info['release']} ({'pinned' if profile.release else 'negotiated'})"],
            ["tls", str(info["tls_mode"])],
            ["sha256", _dash(info["thumbprint_sha256"])],
            ["user", str(info["username"])],
        ]
        print(_table(["", ""], rows).split("\n", 1)[1])
    return EXIT_OK


def cmd_profiles_trust(ns: argparse.Namespace) -> int:
    from tui.config.profiles import pin_thumbprint
    from tui.vsphere import fetch_thumbprint

    profile = _pick(_load(ns), ns.name)
    prints = _run_client(profile, lambda: fetch_thumbprint(profile.host, profile.port))
    print(f"{_where(profile)} presents a certificate with")
    print(f"  SHA-256 {prints.sha256}")
    print(f"  SHA-1   {prints.sha1}")
    if profile.tls.thumbprint in (prints.sha256, prints.sha1):
        print(f"profile {profile.name!r} already pins this thumbprint")
        return EXIT_OK
    target = (
        str(profile.source)
        if profile.source is not None
        else os.environ.get("GOVC_TLS_KNOWN_HOSTS") or "GOVC_TLS_KNOWN_HOSTS"
    )
    if not ns.yes:
        if not _have_tty():
            _fail(
                "no terminal to confirm on: compare the thumbprint with the vCenter's "
                f"(e.g. govc about.cert -k -thumbprint), then run: {PROG} profiles trust "
                f"{profile.name} --yes"
            )
        if not _confirm(f"Pin this SHA-256 into profile {profile.name!r} ({target})?"):
            _err("not pinned")
            return EXIT_FAILED
    pin_thumbprint(profile, prints.sha256)
    print(f"pinned SHA-256 {prints.sha256} into profile {profile.name!r} ({target})")
    return EXIT_OK


# --------------------------------------------------------------------------- list


def _matches(vm: VM, pattern: str) -> bool:
    from fnmatch import fnmatchcase

    if "/" in pattern:
        return fnmatchcase(vm.path, pattern)
    return fnmatchcase(vm.name, pattern) or fnmatchcase(vm.path, pattern)


def vm_json(vm: VM) -> dict[str, Any]:
    return {key: getattr(vm, key) for key in VM_JSON_KEYS}


def cmd_list(ns: argparse.Namespace) -> int:
    import json

    profile = _pick(_load(ns), ns.profile)

    async def fetch(client: Any) -> list[VM]:
        return list(await client.list_vms(profile.root))

    vms = _with_client(profile, _vc_password(profile), fetch)
    if ns.filter:
        vms = [vm for vm in vms if any(_matches(vm, g) for g in ns.filter)]
    if ns.power:
        vms = [vm for vm in vms if vm.power_state == ns.power]
    vms.sort(key=lambda vm: (vm.path, vm.moid))
    if ns.json:
        print(json.dumps([vm_json(vm) for vm in vms], indent=2))
        return EXIT_OK
    if not vms:
        _err("no VMs match")
        return EXIT_OK
    rows = [
        [
            vm.name,
            _dash(vm.power_state),
            _dash(vm.tools_running_status),
            _dash(vm.guest_operations_ready),
            _dash(vm.ip_address),
            vm.moid,
            vm.path,
        ]
        for vm in vms
    ]
    print(_table(["NAME", "POWER", "TOOLS", "GUEST OPS", "IP", "MOID", "PATH"], rows))
    return EXIT_OK


# --------------------------------------------------------------------------- start-network


def _read_patterns(ns: argparse.Namespace) -> list[str]:
    if ns.vm:
        patterns = [p.strip() for p in ns.vm]
        if not all(patterns):
            _fail("--vm: empty VM name")
        return patterns
    source = ns.vms_from
    try:
        if source == "-":
            text = sys.stdin.read()
            where = "stdin"
        else:
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
            where = source
    except FileNotFoundError:
        _fail(f"--vms-from {source}: no such file")
    except IsADirectoryError:
        _fail(f"--vms-from {source}: is a directory")
    except PermissionError:
        _fail(f"--vms-from {source}: permission denied")
    except UnicodeDecodeError:
        _fail(f"--vms-from {source}: not UTF-8 text")
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):  # VM names may contain '#', so only whole lines
            patterns.append(line)
    if not patterns:
        _fail(f"--vms-from {where}: no VM names in it")
    return patterns


def select_vms(vms: Sequence[VM], patterns: Sequence[str]) -> tuple[list[VM], list[str]]:
    """VMs matching any pattern (inventory order, no duplicates) and the patterns matching none."""
    chosen: dict[str, VM] = {}
    unmatched = []
    for pattern in patterns:
        hits = [vm for vm in vms if _matches(vm, pattern)]
        if not hits:
            unmatched.append(pattern)
        for vm in hits:
            chosen.setdefault(vm.moid, vm)
    ordered = [vm for vm in vms if vm.moid in chosen]
    return ordered, unmatched


SKIP_HINTS = {
    "power": "Power on the VM, then run again.",
    "connection": "Reconnect the VM's host in vCenter, then run again.",
    "tools": "Start VMware Tools in the guest (or wait for it to start), then run again.",
    "guestops": "Wait until guest operations are ready (guest.guestOperationsReady), then retry.",
}


def preflight(vm: VM) -> tuple[str, str] | None:
    """``(reason, hint)`` when ``vm`` cannot take StartGuestNetwork now, else None."""
    if vm.connection_state not in (None, "connected"):
        return f"host connection is {vm.connection_state}", SKIP_HINTS["connection"]
    if vm.power_state != "poweredOn":
        return f"power state is {vm.power_state or 'unknown'}", SKIP_HINTS["power"]
    if vm.tools_running_status != "guestToolsRunning":
        status = vm.tools_running_status or "unknown"
        return f"VMware Tools not running ({status})", SKIP_HINTS["tools"]
    if vm.guest_operations_ready is not True:
        return "guest operations not ready", SKIP_HINTS["guestops"]
    return None


def _row(vm: VM, state: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "vm": vm.name,
        "moid": vm.moid,
        "task": None,
        "state": state,
        "progress": None,
        "fault_type": None,
        "fault_message": None,
        "hint": None,
        "started": None,
        "completed": None,
    }
    row.update(fields)
    return row


def _event_row(vm: VM, ev: TaskEvent | None, interrupted: bool) -> dict[str, Any]:
    if ev is None or not ev.final:
        message = (
            "interrupted before the task finished"
            if interrupted
            else "the run ended without a final task state"
        )
        return _row(
            vm,
            "cancelled" if interrupted else "failed",
            task=ev.task if ev else None,
            progress=ev.progress if ev else None,
            fault_message=message,
            started=_iso(ev.start_time) if ev else None,
        )
    fault_type = fault_message = hint = None
    if ev.fault is not None:
        from tui.vsphere.faults import explain_fault

        fault_type = ev.fault.type_name
        fault_message = ev.fault.message
        hint = explain_fault(ev.fault).remedy
    return _row(
        vm,
        ev.state,
        task=ev.task,
        progress=ev.progress,
        fault_type=fault_type,
        fault_message=fault_message,
        hint=hint,
        started=_iso(ev.start_time),
        completed=_iso(ev.complete_time),
    )


class _Progress:
    """Progress on stderr: a live summary line on a terminal, plain lines otherwise."""

    def __init__(self, total: int, stream: Any) -> None:
        self.total = total
        self.stream = stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())
        self.states: dict[str, str] = {}
        self._live_shown = False

    def _clear(self) -> None:
        if self._live_shown:
            self.stream.write("\r\x1b[K")
            self._live_shown = False

    def event(self, ev: TaskEvent) -> None:
        previous = self.states.get(ev.vm_moid)
        self.states[ev.vm_moid] = ev.state
        if ev.state != previous:
            if ev.final or not self.live:
                self._clear()
                detail = f" {ev.task}" if ev.task and not ev.final else ""
                if ev.fault is not None:
                    detail = f" {ev.fault.type_name}: {ev.fault.message}"
                done = sum(
                    1 for s in self.states.values() if s in ("succeeded", "failed", "cancelled")
                )
                self.stream.write(f"[{done}/{self.total}] {ev.vm_name}: {ev.state}{detail}\n")
        self._draw()

    def note(self, text: str) -> None:
        self._clear()
        self.stream.write(text + "\n")
        self._draw()

    def _draw(self) -> None:
        if not self.live:
            self.stream.flush()
            return
        counts: dict[str, int] = {}
        for s in self.states.values():
            counts[s] = counts.get(s, 0) + 1
        done = sum(counts.get(s, 0) for s in ("succeeded", "failed", "cancelled"))
        parts = [f"{done}/{self.total} done"]
        for s in ("running", "queued", "started", "pending"):
            if counts.get(s):
                parts.append(f"{counts[s]} {s}")
        self.stream.write("\r\x1b[K" + ", ".join(parts))
        self.stream.flush()
        self._live_shown = True

    def close(self) -> None:
        self._clear()
        self.stream.flush()


def _guest_credentials_source(
    ns: argparse.Namespace, profile: Profile
) -> tuple[str, Secret | None]:
    """``(guest user, password or None = prompt later)``; fails early when nothing can work."""
    from tui.config.credentials import guest_login_from_env

    env_login = guest_login_from_env()
    env_user, env_password = env_login if env_login else ("", None)
    from_govc = bool(env_password) and not os.environ.get("GUESTNET_GUEST_PASSWORD")
    user = ns.guest_user or (env_user if from_govc else "") or profile.guest_username or env_user
    if not user:
        _fail(
            "no guest user: pass --guest-user USER, set guest_username in the profile, "
            "or set GOVC_GUEST_LOGIN=user:password"
        )
    if env_password is None and not _have_tty():
        _fail(
            "no guest password: set GUESTNET_GUEST_PASSWORD (or GOVC_GUEST_LOGIN=user:password), "
            "or run on a terminal to be prompted"
        )
    return user, env_password


def _audit(*, required: bool = True, **record: Any) -> None:
    """Append to the audit log. Before acting, a failure stops everything (``required``); after
    the action it is only a warning, so the results still reach the user."""
    from tui.config.audit import AuditLog

    log = AuditLog()
    try:
        log.record(**record)
    except OSError as exc:
        message = f"cannot write the audit log {log.path}: {exc.strerror}"
        if required:
            _fail(message)
        _err(f"warning: {message}")


def cmd_start_network(ns: argparse.Namespace) -> int:

    profile = _pick(_load(ns), ns.profile)
    if profile.read_only:
        _audit(
            action="start-network",
            profile=profile.name,
            host=profile.host,
            vc_user=profile.username,
            outcome="refused",
            reason="read_only profile",
        )
        _fail(f"profile {profile.name!r} is read_only: start-network refused")
    concurrency = ns.concurrency if ns.concurrency is not None else profile.concurrency
    if not 1 <= concurrency <= 256:
        _fail(f"--concurrency must be from 1 to 256, got {concurrency}")
    patterns = _read_patterns(ns)
    guest_user, guest_password = _guest_credentials_source(ns, profile)
    password = _vc_password(profile)
    runner = _StartNetwork(ns, profile, patterns, guest_user, guest_password, concurrency)
    return _with_client(profile, password, runner.run)


class _StartNetwork:
    def __init__(
        self,
        ns: argparse.Namespace,
        profile: Profile,
        patterns: list[str],
        guest_user: str,
        guest_password: Secret | None,
        concurrency: int,
    ) -> None:
        self.ns = ns
        self.profile = profile
        self.patterns = patterns
        self.guest_user = guest_user
        self.guest_password = guest_password
        self.concurrency = concurrency
        self.interrupts = 0
        self.events: dict[str, TaskEvent] = {}
        self.printed: set[str] = set()
        self.rows: list[dict[str, Any]] = []
        self.order: dict[str, int] = {}

    def _emit(self, row: dict[str, Any]) -> None:
        import json

        self.rows.append(row)
        if self.ns.json:
            print(json.dumps(row), flush=True)

    async def run(self, client: Any) -> int:
        import asyncio
        import signal

        from tui.vsphere.models import GuestCredentials

        profile = self.profile
        vms = list(await client.list_vms(profile.root))
        selected, unmatched = select_vms(vms, self.patterns)
        self.order = {vm.moid: i for i, vm in enumerate(selected)}
        if unmatched:
            under = profile.root or "the inventory"
            shown = ", ".join(repr(p) for p in unmatched)
            _fail(f"no VM matches {shown} under {under}")
        runnable: list[VM] = []
        skipped: list[tuple[VM, str, str]] = []
        for vm in selected:
            problem = None if self.ns.no_preflight else preflight(vm)
            if problem is None:
                runnable.append(vm)
            else:
                skipped.append((vm, *problem))

        err = sys.stderr
        err.write(
            f"{len(runnable)} VM(s) to start on {client.host} as {client.username}, guest user "
            f"{self.guest_user}, concurrency {self.concurrency}"
            + (f"; {len(skipped)} skipped" if skipped else "")
            + "\n"
        )
        for vm in runnable[:PLAN_LINES]:
            err.write(f"  start  {vm.name}  ({vm.path})\n")
        if len(runnable) > PLAN_LINES:
            err.write(f"  start  … and {len(runnable) - PLAN_LINES} more\n")
        for vm, reason, _hint in skipped[:PLAN_LINES]:
            err.write(f"  skip   {vm.name}  ({reason})\n")
        if len(skipped) > PLAN_LINES:
            err.write(f"  skip   … and {len(skipped) - PLAN_LINES} more (see the results)\n")
        err.flush()

        if runnable:
            if self.guest_password is None:
                prompt = _tty_prompt()
                if prompt is None:
                    _fail("no guest password and no terminal to prompt on")
                typed = prompt(f"Guest password for {self.guest_user}: ")
                if not typed:
                    _fail("no guest password entered")
                from tui.vsphere.secret import Secret

                self.guest_password = Secret(typed)
            if not self.ns.yes and _have_tty():
                if not _confirm(f"Start the guest network on {len(runnable)} VM(s)?"):
                    _err("nothing started")
                    return EXIT_FAILED

        for vm, reason, hint in skipped:
            self._emit(_row(vm, "skipped", fault_message=reason, hint=hint))

        if not runnable:
            _audit(
                required=False,
                action="start-network",
                profile=profile.name,
                host=client.host,
                vc_user=client.username,
                vms=[],
                outcome="nothing-to-do",
                skipped=[{"name": vm.name, "moid": vm.moid, "reason": r} for vm, r, _ in skipped],
            )
            return self._finish(interrupted=False)

        _audit(
            action="start-network",
            profile=profile.name,
            host=client.host,
            vc_user=client.username,
            vms=[(vm.name, vm.moid) for vm in runnable],
            outcome="started",
            guest_user=self.guest_user,
            concurrency=self.concurrency,
            skipped=[{"name": vm.name, "moid": vm.moid, "reason": r} for vm, r, _ in skipped],
        )
        assert self.guest_password is not None
        creds = GuestCredentials(username=self.guest_user, password=self.guest_password)
        run = client.start_guest_network(runnable, creds, concurrency=self.concurrency)
        by_moid = {vm.moid: vm for vm in runnable}
        progress = _Progress(len(runnable), sys.stderr)
        loop = asyncio.get_running_loop()
        consumer: asyncio.Task[None]
        cancelled_tasks: list[str] = []
        cancel_targets: list[str] = []  # VMs not final when Ctrl-C came
        background: list[asyncio.Task[None]] = []
        error: BaseException | None = None

        async def consume() -> None:
            async for ev in run:
                self.events[ev.vm_moid] = ev
                progress.event(ev)
                vm = by_moid.get(ev.vm_moid)
                if ev.final and vm is not None and ev.vm_moid not in self.printed:
                    self.printed.add(ev.vm_moid)
                    self._emit(_event_row(vm, ev, False))
                if all(moid in self.printed for moid in by_moid):
                    break  # every VM is final; the client tears the run down on close

        async def cancel_all() -> None:
            progress.note(
                "interrupted: cancelling queued and cancellable tasks (Ctrl-C again to stop)"
            )
            cancel_targets.extend(m for m in by_moid if m not in self.printed)
            try:
                await run.cancel_queued()
            except Exception as exc:  # the run still reports what it can
                progress.note(f"cancelling queued VMs failed: {exc}")
            for moid, ev in list(self.events.items()):
                if ev.final or not ev.task:
                    continue
                try:
                    if await run.cancel(moid):
                        cancelled_tasks.append(ev.task)
                except Exception as exc:
                    progress.note(f"{ev.vm_name}: {exc}")
            loop.call_later(CANCEL_GRACE_SECONDS, consumer.cancel)

        def on_sigint() -> None:
            self.interrupts += 1
            if self.interrupts == 1:
                background.append(loop.create_task(cancel_all()))
            else:
                consumer.cancel()

        consumer = asyncio.ensure_future(consume())
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            await consumer
        except asyncio.CancelledError:
            if not self.interrupts:
                raise
        except Exception as exc:
            error = exc
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            progress.close()

        interrupted = self.interrupts > 0
        for vm in runnable:
            if vm.moid not in self.printed:
                self.printed.add(vm.moid)
                row = _event_row(vm, self.events.get(vm.moid), interrupted)
                if error is not None and row["state"] == "failed":
                    row["fault_type"] = type(error).__name__
                    row["fault_message"] = f"lost track of the task: {error}"
                self._emit(row)

        states = [r["state"] for r in self.rows]
        outcome = (
            "interrupted"
            if interrupted
            else "error"
            if error is not None
            else "succeeded"
            if all(s == "succeeded" for s in states)
            else "failed"
        )
        if interrupted:
            _audit(
                required=False,
                action="cancel",
                profile=profile.name,
                host=client.host,
                vc_user=client.username,
                vms=[(by_moid[m].name, m) for m in cancel_targets],
                tasks=cancelled_tasks,
                outcome="requested",
                reason="Ctrl-C",
            )
        _audit(
            required=False,
            action="start-network",
            profile=profile.name,
            host=client.host,
            vc_user=client.username,
            vms=[(r["vm"], r["moid"]) for r in self.rows],
            tasks=[r["task"] for r in self.rows if r["task"]],
            outcome=outcome,
            faults=sorted({r["fault_type"] for r in self.rows if r["fault_type"]}),
            results={s: states.count(s) for s in sorted(set(states))},
        )
        if error is not None:
            self._finish(interrupted)
            from tui.vsphere.errors import GuestnetError

            if not isinstance(error, GuestnetError):
                raise error  # a bug: main() reports it as an internal error
            _fail(f"profile {profile.name!r}: {error}")
        return self._finish(interrupted)

    def _finish(self, interrupted: bool) -> int:
        states = [r["state"] for r in self.rows]
        if not self.ns.json:
            table = _table(
                ["VM", "STATE", "TASK", "RESULT"],
                [
                    [
                        r["vm"],
                        r["state"],
                        _dash(r["task"]),
                        f"{r['fault_type']}: {r['fault_message']}"
                        if r["fault_type"]
                        else _dash(r["fault_message"]),
                    ]
                    for r in sorted(self.rows, key=lambda r: self.order.get(r["moid"], 0))
                ],
            )
            print(table)
            counts = {s: states.count(s) for s in ("succeeded", "failed", "skipped", "cancelled")}
            print(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing run")
            hints: dict[str, str] = {}
            for r in self.rows:
                key = r["fault_type"] or r["fault_message"]
                if r["hint"] and key not in hints:
                    hints[key] = r["hint"]
            for key, hint in hints.items():
                print(f"hint ({key}): {hint}")
            sys.stdout.flush()
        if interrupted:
            return EXIT_INTERRUPTED
        if states and all(s == "succeeded" for s in states):
            return EXIT_OK
        return EXIT_FAILED


# --------------------------------------------------------------------------- audit


def cmd_audit(ns: argparse.Namespace) -> int:
    import json
    from datetime import datetime

    from tui.config.audit import AuditLog, parse_since

    since = None
    if ns.since:
        try:
            since = parse_since(ns.since)
        except ValueError as exc:
            _fail(str(exc))
    log = AuditLog()
    try:
        result = log.read(since)
    except OSError as exc:
        _fail(f"cannot read the audit log {log.path}: {exc.strerror}")
    if result.skipped:
        _err(f"warning: {result.skipped} malformed line(s) in {log.path} skipped")
    if ns.json:
        for entry in result.entries:
            print(json.dumps(entry))
        return EXIT_OK
    if not result.entries:
        _err(f"no audit records{' since ' + ns.since if ns.since else ''} ({log.path})")
        return EXIT_OK
    rows = []
    for e in result.entries:
        when = str(e.get("time", "?"))
        try:
            when = (
                datetime.fromisoformat(when.replace("Z", "+00:00"))
                .astimezone()
                .strftime("%Y-%m-%d %H:%M:%S")
            )
        except ValueError:
            pass
        vms = [v.get("name", "?") for v in e.get("vms") or [] if isinstance(v, dict)]
        vm_text = ", ".join(vms[:3]) + (f" (+{len(vms) - 3})" if len(vms) > 3 else "")
        rows.append(
            [
                when,
                _dash(e.get("os_user")),
                _dash(e.get("profile")),
                _dash(e.get("vc_user")),
                _dash(e.get("action")),
                _dash(e.get("outcome")),
                _dash(vm_text),
                _dash(", ".join(str(f) for f in e.get("faults") or [])),
            ]
        )
    print(
        _table(
            ["TIME", "OS USER", "PROFILE", "VC USER", "ACTION", "OUTCOME", "VMS", "FAULTS"], rows
        )
    )
    return EXIT_OK


# --------------------------------------------------------------------------- delegation


def _run_sim(rest: list[str]) -> int:
    from tui.sim.cli import main as sim_main

    return int(sim_main(rest) or 0)


def _run_demo(rest: list[str]) -> int:
    from tui.ui.demo import main as demo_main

    return int(demo_main(rest) or 0)


def _run_ui(config: str | None, profile: str | None) -> int:
    from pathlib import Path

    from tui.ui.app import run

    return int(run(config=Path(config) if config else None, profile=profile) or 0)


# --------------------------------------------------------------------------- main


def _dispatch(ns: argparse.Namespace) -> int:
    command = ns.command
    if command == "profiles":
        if ns.profiles_command == "check":
            return cmd_profiles_check(ns)
        if ns.profiles_command == "trust":
            return cmd_profiles_trust(ns)
        return cmd_profiles(ns)
    if command == "list":
        return cmd_list(ns)
    if command == "start-network":
        return cmd_start_network(ns)
    if command == "audit":
        return cmd_audit(ns)
    if ns.version:
        from tui import __version__

        print(f"{PROG} {__version__}")
        return EXIT_OK
    return _run_ui(getattr(ns, "config", None), ns.profile)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("sim", "demo"):
        return _run_sim(args[1:]) if args[0] == "sim" else _run_demo(args[1:])
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
        _err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        from tui.vsphere.errors import GuestnetError

        if isinstance(exc, GuestnetError):
            _err(str(exc))
            return EXIT_ERROR
        if os.environ.get("GUESTNET_DEBUG"):
            raise
        _err(f"internal error ({type(exc).__name__}); set GUESTNET_DEBUG=1 for details")
        return EXIT_ERROR
