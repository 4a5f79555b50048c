"""The simulator's options, defined once: ``SimOptions``.

Each field carries an ``Opt`` in its metadata: the help text, the ``guestnet sim`` flag (None:
a ``SimServer`` keyword only), how the CLI parses it and its bounds. ``guestnet sim``
(``tui/sim/cli.py``) builds its parser from these fields, ``SimServer(**options)`` passes its
keywords here, and the options table of docs/simulator.md is ``options_table()`` (a test keeps
them equal). Invalid values raise ``SimError`` naming the option.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.sim.errors import SimError

if TYPE_CHECKING:
    from tui.sim.inventory import Inventory

RELEASES = ("8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0")
ABOUT_BY_RELEASE = {
    "8.0.1.0": ("8.0.1", "21560480"),
    "8.0.2.0": ("8.0.2", "22385739"),
    "8.0.3.0": ("8.0.3", "24022515"),
    "9.0.0.0": ("9.0.0", "24755230"),
}


@dataclass(frozen=True)
class Opt:
    """How an option is offered: help text, CLI flag, parsing, bounds, documented default."""

    help: str
    flag: str | None = None  # "--no-x" for a bool that the flag turns off; None: no CLI flag
    metavar: str | None = None
    kind: type = str  # what the CLI parses: str, int, float or bool (a switch)
    lo: float | None = None  # bounds, inclusive unless lo_open
    hi: float | None = None
    lo_open: bool = False
    shown: str | None = None  # the default as the docs show it (None: the default itself)
    exclusive: bool = False  # in the CLI's one group of mutually exclusive options
    off: str | None = None  # a switch on by default: what turning it off does (--no-x's help)
    # how the CLI (and SimServer, for a str) reads a value, raising ValueError("why"); None: kind
    parse: Callable[[str], Any] | None = None

    def bound_text(self) -> str:
        """What the bounds require, e.g. "must be between 0 and 86400"."""
        if self.lo is not None and self.hi is not None:
            return f"must be between {_num(self.lo)} and {_num(self.hi)}"
        if self.lo_open and self.lo == 0:
            return "must be positive"
        if self.lo is not None:
            return f"must be {'more than' if self.lo_open else 'at least'} {_num(self.lo)}"
        return "must be a finite number"

    def in_bounds(self, v: float) -> bool:
        if isinstance(v, float) and not math.isfinite(v):  # NaN and infinities never are
            return False
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            return False
        return not (self.hi is not None and v > self.hi)

    @property
    def bounded(self) -> bool:
        return self.kind in (int, float) and (self.lo is not None or self.hi is not None)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


MAX_CLONES_PER_MINUTE = 60_000  # 1,000 a second
_RATE = re.compile(r"\s*(\S+?)\s*/\s*(s|sec|min)\s*", re.IGNORECASE)


def parse_rate(text: str) -> float:
    """A clone rate ``N/min`` or ``N/s`` (``0`` alone: off) as clones per minute."""
    if text.strip() == "0":
        return 0.0
    m = _RATE.fullmatch(text)
    if m is None:
        raise ValueError(f"expected N/min or N/s, got {text!r}")
    try:
        n = float(m.group(1))
    except ValueError:
        raise ValueError(f"not a number of clones: {text!r}") from None
    if not math.isfinite(n) or n < 0:
        raise ValueError(f"must be 0 or more clones, got {text!r}")
    per_minute = n * 60 if m.group(2).lower() != "min" else n
    if per_minute > MAX_CLONES_PER_MINUTE:
        raise ValueError(f"at most {MAX_CLONES_PER_MINUTE}/min (1000/s), got {text!r}")
    return per_minute


def meta(**opt: Any) -> dict[str, Opt]:
    """A ``SimOptions`` field's metadata: ``field(default=..., metadata=meta(help=...))``."""
    return {"opt": Opt(**opt)}


@dataclass
class SimOptions:
    # -- where and what it serves ------------------------------------------------------------
    host: str = field(
        default="127.0.0.1", metadata=meta(flag="--host", help="address to listen on")
    )
    port: int = field(
        default=0,
        metadata=meta(flag="--port", kind=int, lo=0, hi=65535, help="port; 0 picks a free one"),
    )
    inventory: str | Path | dict[str, Any] | Inventory | None = field(
        default=None,
        metadata=meta(
            flag="--inventory",
            metavar="FILE",
            exclusive=True,
            shown="the example",
            help="YAML inventory (the shipped example has 45 VMs; format below); in-process also "
            "an already parsed mapping",
        ),
    )
    vms: int | None = field(
        default=None,
        metadata=meta(
            flag="--vms",
            metavar="N",
            kind=int,
            lo=0,
            hi=1_000_000,
            exclusive=True,
            help="generate a realistic inventory of N VMs instead",
        ),
    )
    seed: int = field(default=1, metadata=meta(flag="--seed", kind=int, help="seed for --vms"))
    tls: bool = field(
        default=True,
        metadata=meta(
            flag="--no-tls",
            kind=bool,
            help="HTTPS with a generated CA",
            off="plain HTTP, for debugging only (no --profile-out)",
        ),
    )
    cert_dir: str | Path | None = field(
        default=None,
        metadata=meta(
            flag="--cert-dir",
            metavar="DIR",
            shown="temp dir",
            help="write the generated CA as DIR/ca.pem (kept after exit)",
        ),
    )
    # -- vCenter behaviour -------------------------------------------------------------------
    vc_user: str = field(
        default="administrator@vsphere.local",
        metadata=meta(flag="--vc-user", help="vCenter user name"),
    )
    vc_password: str = field(
        default="VMware1!", repr=False, metadata=meta(flag="--vc-password", help="its password")
    )
    extra_users: dict[str, str] = field(
        default_factory=dict,
        repr=False,
        metadata=meta(
            help="more vCenter accounts {name: password}, e.g. a second user whose tasks are not "
            "the client's; names match case-insensitively and differ from vc_user and each other"
        ),
    )
    guest_user: str = field(
        default="root",
        metadata=meta(
            flag="--guest-user", help="guest OS account of VMs that list none of their own"
        ),
    )
    guest_password: str = field(
        default="guest-secret",
        repr=False,
        metadata=meta(flag="--guest-password", help="its password"),
    )
    task_seconds: float = field(
        default=3.0,
        metadata=meta(
            flag="--task-seconds",
            kind=float,
            lo=0,
            hi=86400,
            help="duration of a StartGuestNetwork task",
        ),
    )
    max_running_tasks: int = field(
        default=640,
        metadata=meta(
            flag="--max-running-tasks",
            kind=int,
            lo=1,
            hi=100_000,
            help="tasks running at once server-wide; the rest stay queued (vCenter's ~640 limit)",
        ),
    )
    session_timeout: float = field(
        default=1800.0,
        metadata=meta(
            flag="--session-timeout",
            kind=float,
            lo=0,
            lo_open=True,
            help="idle seconds before a session expires",
        ),
    )
    latency_ms: float = field(
        default=0.0,
        metadata=meta(
            flag="--latency-ms",
            kind=float,
            lo=0,
            hi=600_000,
            help="delay added to every request",
        ),
    )
    recent_task_seconds: float = field(
        default=600.0,
        metadata=meta(
            flag="--recent-task-seconds",
            kind=float,
            lo=0,
            hi=86400,
            help="how long a finished task stays in its VM's recentTask",
        ),
    )
    guest_ops_lag: float = field(
        default=2.0,
        metadata=meta(
            flag="--guest-ops-lag",
            kind=float,
            lo=0,
            hi=3600,
            help="seconds from a VM's tools (re)starting to guest.guestOperationsReady",
        ),
    )
    guest_ops_strict: bool = field(
        default=False,
        metadata=meta(
            flag="--guest-ops-strict",
            kind=bool,
            help="StartGuestNetwork fails with InvalidState while guest operations are not ready",
        ),
    )
    # -- instant clones appearing over time (clones.py) --------------------------------------
    clone_rate: float = field(
        default=0.0,
        metadata=meta(
            flag="--clone-rate",
            metavar="N/min",
            kind=float,
            parse=parse_rate,
            lo=0,
            hi=MAX_CLONES_PER_MINUTE,
            shown="0 (off)",
            help="instant clones appearing over time: N per minute (N/min) or per second (N/s); "
            "in-process also a number per minute",
        ),
    )
    clone_parent: str | None = field(
        default=None,
        metadata=meta(
            flag="--clone-parent",
            metavar="GLOB",
            shown="golden VMs",
            help="name or glob of the VMs the clones come from, in turn (default: the powered-on "
            "parents with an address, else every powered-on VM with one)",
        ),
    )
    clone_folder: str | None = field(
        default=None,
        metadata=meta(
            flag="--clone-folder",
            metavar="PATH",
            shown="the parent's",
            help="inventory folder the clones go to, e.g. /DC1/vm/pool",
        ),
    )
    clone_limit: int = field(
        default=0,
        metadata=meta(
            flag="--clone-limit",
            metavar="N",
            kind=int,
            lo=0,
            hi=10_000_000,
            help="stop after N clones; 0: no limit",
        ),
    )
    clone_tools_seconds: float = field(
        default=1.0,
        metadata=meta(
            flag="--clone-tools-seconds",
            kind=float,
            lo=0,
            hi=3600,
            help="seconds from a clone appearing to its VMware Tools running",
        ),
    )
    hello: bool = field(
        default=True,
        metadata=meta(
            flag="--no-hello",
            kind=bool,
            help="the hello endpoint and all four releases",
            off="behave as vCenter 8.0U1: no hello endpoint, only release 8.0.1.0",
        ),
    )
    releases: tuple[str, ...] | None = field(
        default=None,
        metadata=meta(
            shown="all four",
            help="restrict the served releases (without hello: only 8.0.1.0)",
        ),
    )
    record: bool = field(
        default=False,
        metadata=meta(
            kind=bool, help="keep every exchange for SimServer.exchanges() (passwords masked)"
        ),
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            opt = option_of(f)
            value = getattr(self, f.name)
            if opt.parse is not None and isinstance(value, str):
                try:
                    value = opt.parse(value)
                except ValueError as exc:
                    raise SimError(f"{f.name}: {exc}") from None
                setattr(self, f.name, value)
            if opt.bounded and value is not None and not opt.in_bounds(value):
                raise SimError(f"{f.name} {opt.bound_text()}, got {value}")
        if self.inventory is not None and self.vms is not None:
            raise SimError("give either an inventory or --vms, not both")
        self.extra_users = dict(self.extra_users or {})
        names = [self.vc_user.casefold(), *(n.casefold() for n in self.extra_users)]
        if any(not n for n in self.extra_users) or len(set(names)) != len(names):
            raise SimError("extra_users: names must be non-empty, unlike vc_user and each other")
        if self.releases is not None:
            self.releases = tuple(self.releases)

    def supported_releases(self) -> tuple[str, ...]:
        if self.releases is not None:
            return self.releases
        return RELEASES if self.hello else ("8.0.1.0",)


def option_of(f: Field[Any]) -> Opt:
    opt_ = f.metadata["opt"]
    assert isinstance(opt_, Opt)
    return opt_


def default_of(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    assert f.default_factory is not MISSING
    return f.default_factory()


def default_text(meta: Opt, default: Any) -> str | None:
    """A default as help and docs show it (None: no default worth showing)."""
    if meta.shown is not None:
        return meta.shown
    if meta.kind is bool and meta.off is not None:
        return "on"
    if default is None:
        return None
    return _num(default) if isinstance(default, float) else str(default)


def describe(meta: Opt) -> str:
    """The option's meaning in the docs table: a switch says what turning it off does."""
    if meta.off is None:
        return meta.help
    return f"{meta.help}; off: {meta.off}"


def markdown_table(extra: tuple[tuple[str, Opt], ...] = ()) -> str:
    """The markdown table of every option (plus ``extra`` CLI-only ones, by dest name)."""
    rows = ["| option | `SimServer` keyword | default | meaning |", "|---|---|---|---|"]
    for f in fields(SimOptions):
        meta_ = option_of(f)
        rows.append(_row(meta_, f"`{f.name}`", default_text(meta_, default_of(f))))
    for _name, meta_ in extra:
        rows.append(_row(meta_, "–", None))
    return "\n".join(rows) + "\n"


def _row(meta_: Opt, keyword: str, default: str | None) -> str:
    flag = "–"
    if meta_.flag is not None:
        flag = f"`{meta_.flag}{' ' + meta_.metavar if meta_.metavar else ''}`"
    shown = "–" if default is None else default if meta_.shown else f"`{default}`"
    return f"| {flag} | {keyword} | {shown} | {describe(meta_)} |"
