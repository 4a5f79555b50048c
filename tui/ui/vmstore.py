"""The VM table's data: every VM by moid, the filtered and sorted view, and the marks.

Pure Python (no Textual) so that it can be measured and tested on its own. Filtering builds a
list of moids, never widgets; marks are a set of moids and so survive filtering and sorting.
``addresses`` (tui/ui/addresses.py) knows which VMs share an address: the DUP column, the
``:dup`` filter token and the dup sort read its ``dup`` set.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tui.ui.addresses import AddressIndex
from tui.ui.fleet import site_of
from tui.vsphere.gcpause import gc_paused
from tui.vsphere.models import VM, VMBatch

GLOB_CHARS = frozenset("*?[")
SHOWN_KEPT = 64  # filter texts whose rows are kept (``VMStore._shown``)
DUP_TOKEN = ":dup"  # in the filter: only VMs that share an address with another VM
_DUP_RX = re.compile(r"(?<!\S):dup(?!\S)", re.IGNORECASE)

# Sortable columns: key -> function giving a sort key for a VM ("dup" is the store's: below).
SORT_KEYS: dict[str, Callable[[VM], tuple[object, ...]]] = {
    "name": lambda vm: (vm.name.lower(), vm.moid),
    "power": lambda vm: (vm.power_state or "~", vm.name.lower(), vm.moid),
    "tools": lambda vm: (vm.tools_running_status or "~", vm.name.lower(), vm.moid),
    "ip": lambda vm: (_ip_key(vm.ip_address), vm.name.lower(), vm.moid),
    "path": lambda vm: (vm.path.lower(), vm.moid),
    "host": lambda vm: ((vm.host_name or "~").lower(), vm.name.lower(), vm.moid),
    "vcenter": lambda vm: (site_of(vm.moid), vm.name.lower(), vm.moid),
}
# in the table's order; "vcenter" only while several vCenters are open (``VMStore.sites``)
SORT_COLUMNS: tuple[str, ...] = ("name", "power", "tools", "ip", "dup", "path", "vcenter", "host")
# Columns whose value may be unset: unset rows sort last in both directions.
SORT_MISSING: dict[str, Callable[[VM], bool]] = {
    "power": lambda vm: vm.power_state is None,
    "tools": lambda vm: vm.tools_running_status is None,
    "ip": lambda vm: not vm.ip_address,
    "host": lambda vm: not vm.host_name,
}
SORT_FIELDS: dict[str, frozenset[str]] = {
    "name": frozenset({"name"}),
    "power": frozenset({"power_state"}),
    "tools": frozenset({"tools_running_status"}),
    "ip": frozenset({"ip_address"}),
    "dup": frozenset({"name"}),  # and the duplicate flag: ApplyResult.dups
    "path": frozenset({"path"}),
    "host": frozenset({"host_name"}),
    "vcenter": frozenset(),  # a VM never moves to another vCenter
}


def split_dup(text: str) -> tuple[bool, str]:
    """``(":dup" was in text, the rest)``: ``":dup web-*"`` → ``(True, "web-*")``."""
    rest, n = _DUP_RX.subn("", text)
    return bool(n), rest.strip() if n else text


def _ip_key(ip: str | None) -> tuple[int, ...]:
    if not ip:
        return (1 << 20,)
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return tuple(int(p) for p in parts)
    return (1 << 19, *(ord(c) for c in ip))


def compile_filter(text: str) -> Callable[[str], bool] | None:
    """Return a predicate over the lowered "name\\npath" haystack, or None for no filter.

    Text with ``*``, ``?`` or ``[`` is a glob matched against the whole name or the whole path;
    anything else is a case-insensitive substring of either.
    """
    text = text.strip().lower()
    if not text:
        return None
    if GLOB_CHARS & set(text):
        rx = re.compile(fnmatch.translate(text), re.DOTALL)
        return lambda hay: any(rx.match(part) is not None for part in hay.split("\n", 1))
    return lambda hay: text in hay


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What a batch changed, so the widget can redraw as little as possible."""

    structural: bool  # rows entered/left, or order changed: redraw all
    modified: frozenset[str] = frozenset()  # moids whose row changed in place
    dups: frozenset[str] = frozenset()  # moids whose duplicate-address flag changed
    reindex: bool = False  # a re-sync: run ``addresses.rebuild()``


@dataclass
class VMStore:
    vms: dict[str, VM] = field(default_factory=dict)
    marks: set[str] = field(default_factory=set)
    filter_text: str = ""
    sort_column: str = "name"
    sort_reverse: bool = False
    _hay: dict[str, str] = field(default_factory=dict)
    _sorted: list[str] = field(default_factory=list)
    visible: list[str] = field(default_factory=list)
    _pos: dict[str, int] | None = None
    _pred: Callable[[str], bool] | None = None
    _needle: str | None = None
    addresses: AddressIndex = field(default_factory=AddressIndex)
    dup_only: bool = False  # the filter holds ":dup"
    # substring filter -> the rows it showed, since the rows last changed (order, membership):
    # typing on narrows the longest earlier list, backspace finds its list again, instead of a
    # scan of every VM per keystroke (not kept for ":dup", whose rows follow the flags)
    _shown: dict[str, list[str]] = field(default_factory=dict)
    sites: tuple[str, ...] = ()  # the vCenters of a fleet (qualified moids); () for one vCenter
    show_site: bool = True  # the VCENTER column (only with ``sites``)

    # -- data ---------------------------------------------------------------------------------
    def load(self, vms: Iterable[VM]) -> None:
        with gc_paused():
            self.vms = {vm.moid: vm for vm in vms}
            self._hay = {m: _haystack(vm) for m, vm in self.vms.items()}
            self.marks &= self.vms.keys()
            self._resort()

    def apply(self, batch: VMBatch) -> ApplyResult:
        dups = self.addresses.apply(batch)
        if batch.resync:
            self.load(c.vm for c in batch.changes if c.vm is not None and c.kind != "leave")
            return ApplyResult(structural=True, reindex=True)
        structural = bool(dups) and (self.dup_only or self.sort_column == "dup")
        modified: set[str] = set(dups)
        sort_fields = SORT_FIELDS[self.sort_column]
        for change in batch.changes:
            if change.kind == "leave" or change.vm is None:
                if self.vms.pop(change.moid, None) is not None:
                    self._hay.pop(change.moid, None)
                    self.marks.discard(change.moid)
                    structural = True
                continue
            old = self.vms.get(change.moid)
            self.vms[change.moid] = change.vm
            if old is None:
                self._hay[change.moid] = _haystack(change.vm)
                structural = True
                continue
            if old.name != change.vm.name or old.path != change.vm.path:
                self._hay[change.moid] = _haystack(change.vm)
                structural = True
            changed = change.changed or _diff(old, change.vm)
            if changed & sort_fields:
                structural = True
            modified.add(change.moid)
        modified &= self.vms.keys()
        if structural:
            self._resort()
        return ApplyResult(structural, frozenset(modified), frozenset(dups))

    def reindexed(self, dups: set[str]) -> bool:
        """``addresses.rebuild()`` changed these flags; True when the rows changed order or
        membership (sorted by dup, or filtered by ``:dup``)."""
        if dups and (self.dup_only or self.sort_column == "dup"):
            self._resort()
            return True
        return False

    # -- view ---------------------------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.dup_only, text = split_dup(text)
        self._pred = compile_filter(text)
        needle = text.strip().lower()
        self._needle = needle if needle and not (GLOB_CHARS & set(needle)) else None
        n = self._needle
        if n is not None and not self.dup_only:
            if (seen := self._shown.get(n)) is not None:  # back to an earlier text (backspace)
                self._show(seen)
                return
            shorter = [k for k in self._shown if k in n]
            if shorter:  # typing on: the rows holding the longer text are among those shown
                hay = self._hay
                self._show([m for m in self._shown[max(shorter, key=len)] if n in hay[m]])
                return
        self._refilter()

    def set_sort(self, column: str, reverse: bool = False) -> None:
        if column not in SORT_COLUMNS:
            raise ValueError(f"unknown sort column {column!r}")
        self.sort_column = column
        self.sort_reverse = reverse
        self._resort()

    def _resort(self) -> None:
        key = SORT_KEYS.get(self.sort_column) or self._dup_key()
        vms = self.vms
        order = sorted(vms, key=lambda m: key(vms[m]), reverse=self.sort_reverse)
        missing = SORT_MISSING.get(self.sort_column)
        if missing is not None and self.sort_reverse:
            order = [m for m in order if not missing(vms[m])] + [
                m for m in order if missing(vms[m])
            ]
        self._sorted = order
        self._shown.clear()
        self._refilter()

    def _dup_key(self) -> Callable[[VM], tuple[object, ...]]:
        dup = self.addresses.dup
        return lambda vm: (vm.moid not in dup, vm.name.lower(), vm.moid)

    def _refilter(self) -> None:
        pred = self._pred
        hay = self._hay
        rows = self._sorted
        if self.dup_only:
            dup = self.addresses.dup
            rows = [m for m in rows if m in dup]
        if pred is None:
            self._show(list(rows))
        elif (needle := self._needle) is not None:  # the common case, without a call per VM
            self._show([m for m in rows if needle in hay[m]])
        else:
            self._show([m for m in rows if pred(hay[m])])

    def _show(self, visible: list[str]) -> None:
        self.visible = visible
        self._pos = None  # built when first asked
        if self._needle is not None and not self.dup_only and len(self._shown) < SHOWN_KEPT:
            self._shown[self._needle] = visible

    def position(self, moid: str) -> int | None:
        if self._pos is None:
            self._pos = {m: i for i, m in enumerate(self.visible)}
        return self._pos.get(moid)

    @property
    def total(self) -> int:
        return len(self.vms)

    @property
    def filtered(self) -> bool:
        return self._pred is not None or self.dup_only

    def has_duplicate(self, moid: str) -> bool:
        return moid in self.addresses.dup

    # -- marks --------------------------------------------------------------------------------
    def toggle_mark(self, moid: str) -> bool:
        if moid in self.marks:
            self.marks.discard(moid)
            return False
        if moid in self.vms:
            self.marks.add(moid)
            return True
        return False

    def mark_visible(self) -> int:
        before = len(self.marks)
        self.marks.update(self.visible)
        return len(self.marks) - before

    def mark_duplicates(self) -> int:
        """Mark every VM that shares an address with another VM (filtered out or not)."""
        before = len(self.marks)
        self.marks.update(self.addresses.dup & self.vms.keys())
        return len(self.marks) - before

    def clear_marks(self) -> None:
        self.marks.clear()

    def marked_vms(self) -> list[VM]:
        """Marked VMs in the current sort order (including ones hidden by the filter)."""
        return [self.vms[m] for m in self._sorted if m in self.marks]


def _haystack(vm: VM) -> str:
    """What the filter searches: name and path, and ``@site`` of a fleet's VM (so ``@prod``
    keeps one vCenter's VMs)."""
    site = site_of(vm.moid)
    if site:
        return f"{vm.name}\n{vm.path}\n@{site}".lower()
    return f"{vm.name}\n{vm.path}".lower()


_FIELDS = (
    "name",
    "path",
    "folder",
    "power_state",
    "connection_state",
    "tools_running_status",
    "guest_operations_ready",
    "ip_address",
    "host_name",
    "instance_uuid",
)


def _diff(a: VM, b: VM) -> frozenset[str]:
    return frozenset(f for f in _FIELDS if getattr(a, f) != getattr(b, f))
