"""PropertyCollectors and PropertyFilters: object-set resolution, the change log, updates.

Change tracking: every property change calls ``Collectors.touch(moid)``, which adds the moid to
the ``pending`` set of each filter that covers it and wakes that filter's collector. A
WaitForUpdatesEx therefore looks only at dirty objects, never at the whole inventory. A VM added
extends each filter's object set from the traversals that reach it (``Resolver.extend``: no
re-resolve, whatever the inventory's size); a VM removed (``Registry.structure_changed``) marks
every filter for a re-resolve of its object set; a destroyed view only the filters of its
session that start from it (``Sessions.destroy_view``).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.sim.faults import not_found
from tui.sim.objects import (
    MO,
    SUPERTYPES,
    ContainerView,
    Datacenter,
    Entity,
    Folder,
    Task,
    VirtualMachine,
    isa,
    type_of,
)
from tui.sim.properties import Prop, encode, plan
from tui.sim.registry import Registry
from tui.sim.wire import JSON

if TYPE_CHECKING:
    from tui.sim.sessions import Session

DEFAULT_PAGE = 5000  # RetrievePropertiesEx page size when options.maxObjects is unset

ObjectSet = dict[str, tuple[MO, tuple[str, ...]]]  # moid -> (object, property paths)


@dataclass(eq=False)
class Retrieval:
    """The remaining pages of a RetrievePropertiesEx."""

    objects: list[tuple[MO, tuple[str, ...]]]
    pos: int
    page: int


@dataclass(frozen=True, slots=True)
class ObjSpec:
    obj: MO
    skip: bool
    select: tuple[Sel, ...]


@dataclass(frozen=True, slots=True)
class Sel:
    """A TraversalSpec (type/path set) or a SelectionSpec reference by name (type None)."""

    name: str | None
    type: str | None
    path: str | None
    skip: bool
    select: tuple[Sel, ...]


@dataclass(frozen=True, slots=True)
class FilterSpec:
    props: dict[str, tuple[str, ...]]  # managed type -> paths (from PropertySpec)
    objects: tuple[ObjSpec, ...]
    names: dict[str, Sel]

    def paths_for(self, type_: str) -> tuple[str, ...] | None:
        paths: list[str] = []
        found = False
        for t in SUPERTYPES.get(type_, (type_,)):
            if t in self.props:
                found = True
                for p in self.props[t]:
                    if p not in paths:
                        paths.append(p)
        return tuple(paths) if found else None


class Filter(MO):
    type = "PropertyFilter"

    def __init__(
        self, moid: str, collector: Collector, spec: FilterSpec, raw_spec: JSON, partial: bool
    ) -> None:
        super().__init__(moid)
        self.collector = collector
        self.spec = spec
        self.raw_spec = raw_spec
        self.partial = partial
        self.objects: ObjectSet = {}
        self.known: dict[str, tuple[JSON, tuple[Any, ...]]] = {}  # moid -> (ref, values)
        self.pending: dict[str, None] = {}
        self.needs_resolve = False
        self.trace: Resolver | None = None  # how ``objects`` was reached (None: not yet)


class Collector(MO):
    type = "PropertyCollector"

    def __init__(self, moid: str, session: Session) -> None:
        super().__init__(moid)
        self.session = session
        self.filters: dict[str, Filter] = {}
        self.version = 0
        self.changed = asyncio.Event()
        self.waiting = 0  # WaitForUpdatesEx calls blocked on ``changed``
        self.cancel_gen = 0
        self.destroyed = False


class Collectors:
    """Every session's collectors and filters, and the change log that feeds them."""

    def __init__(self, registry: Registry, stats: dict[str, Any]) -> None:
        self.registry = registry
        self.stats = stats
        self.filters: dict[str, Filter] = {}  # every live filter, any session
        registry.watchers.append(self._structure_changed)
        registry.enter_watchers.append(self._vm_entered)

    # -- the change log ----------------------------------------------------------------------

    def touch(self, moid: str) -> None:
        for f in self.filters.values():
            if moid in f.objects:
                f.pending[moid] = None
                f.collector.changed.set()

    def _structure_changed(self) -> None:
        for f in self.filters.values():
            f.needs_resolve = True
            f.collector.changed.set()

    # -- collectors & filters ----------------------------------------------------------------

    def get(self, s: Session, moid: str) -> Collector:
        """A collector of session ``s`` (the default ``propertyCollector`` is made on first use)."""
        c = s.collectors.get(moid)
        if c is None:
            if moid != "propertyCollector":
                raise not_found("PropertyCollector", moid)
            c = Collector(moid, s)
            s.collectors[moid] = c
        return c

    def create(self, s: Session) -> Collector:
        c = Collector(f"session[{s.key}]{uuid.uuid4()}", s)
        s.collectors[c.moid] = c
        return c

    def destroy(self, c: Collector) -> None:
        for f in list(c.filters.values()):
            self.destroy_filter(f)
        c.destroyed = True
        c.session.collectors.pop(c.moid, None)
        c.changed.set()

    def create_filter(self, c: Collector, spec: FilterSpec, raw: JSON, partial: bool) -> Filter:
        f = Filter(f"session[{c.session.key}]{uuid.uuid4()}", c, spec, raw, partial)
        self._resolve_into(f)
        f.pending = dict.fromkeys(f.objects)
        c.filters[f.moid] = f
        self.filters[f.moid] = f
        c.changed.set()
        return f

    def destroy_filter(self, f: Filter) -> None:
        f.collector.filters.pop(f.moid, None)
        self.filters.pop(f.moid, None)

    def find_filter(self, s: Session, moid: str) -> Filter:
        f = self.filters.get(moid)
        if f is None or f.collector.session is not s:
            raise not_found("PropertyFilter", moid)
        return f

    # -- object set resolution ---------------------------------------------------------------

    def resolve(self, spec: FilterSpec) -> ObjectSet:
        """moid -> (object, property paths) for every object the filter spec selects."""
        return Resolver(self, spec).run().out

    def _resolve_into(self, f: Filter) -> None:
        """Resolve ``f``'s object set and keep how it was reached (``f.trace``)."""
        f.trace = Resolver(self, f.spec).run()
        f.objects = f.trace.out

    def _vm_entered(self, vm: VirtualMachine) -> None:
        """A VM entered: each filter extends its object set from the traversals that reach the
        VM's folder or a view that covers it (no re-resolve); the folder's childEntity changed."""
        for f in self.filters.values():
            if f.needs_resolve or f.trace is None:
                continue
            added = f.trace.extend(vm)
            for moid in added:
                f.pending[moid] = None
            if added:
                f.collector.changed.set()
        if vm.parent is not None:
            self.touch(vm.parent.moid)

    def traverse(self, o: MO, path: str) -> Iterable[MO]:
        if isinstance(o, ContainerView) and path == "view":
            return o.members()
        if isinstance(o, Folder) and path == "childEntity":
            return list(o.children.values())
        if isinstance(o, Datacenter) and path == "vmFolder":
            return (o.vm_folder,)
        if isinstance(o, Datacenter) and path == "hostFolder":
            return (o.host_folder,)
        if isinstance(o, Entity) and path == "parent":
            return (o.parent,) if o.parent is not None else ()
        if isinstance(o, Task) and path == "info.entity":
            return (o.entity,) if o.entity.moid in self.registry.objects else ()
        return ()

    # -- updates -----------------------------------------------------------------------------

    def collect_updates(self, c: Collector, max_updates: int | None) -> tuple[list[JSON], bool]:
        """The PropertyFilterUpdates of ``c``'s pending changes (at most ``max_updates``
        ObjectUpdates) and whether some were left for the next call."""
        filter_sets: list[JSON] = []
        count = 0
        truncated = False
        for f in list(c.filters.values()):
            if f.needs_resolve:
                self._reresolve(f)
            updates: list[JSON] = []
            for moid in list(f.pending):
                if max_updates is not None and count >= max_updates:
                    truncated = True
                    break
                del f.pending[moid]
                self.stats["objects_evaluated"] += 1
                u = _object_update(f, moid)
                if u is not None:
                    updates.append(u)
                    count += 1
            if updates:
                filter_sets.append(
                    {"_typeName": "PropertyFilterUpdate", "filter": f.ref(), "objectSet": updates}
                )
            if truncated:
                break
        return filter_sets, truncated

    def _reresolve(self, f: Filter) -> None:
        """A structural change: objects that entered or left the filter's set become pending."""
        f.needs_resolve = False
        old = f.objects
        self._resolve_into(f)
        for moid in f.objects:
            if moid not in old:
                f.pending[moid] = None
        for moid in old:
            if moid not in f.objects:
                f.pending[moid] = None

    def reset_filters(self, c: Collector) -> None:
        for f in c.filters.values():
            f.known.clear()
            f.needs_resolve = False
            self._resolve_into(f)
            f.pending = dict.fromkeys(f.objects)


class Resolver:
    """The object set of a filter spec: what the ObjectSpecs and TraversalSpecs reach.

    It remembers the traversals that may reach a VM added later (``Folder.childEntity`` per
    folder, ``ContainerView.view`` per view) and the traversal steps already taken, so that
    ``extend(vm)`` adds exactly what a fresh resolve would add, looking only at the new VM.
    """

    __slots__ = ("at_folder", "cache", "collectors", "out", "spec", "views", "visited")

    def __init__(self, collectors: Collectors, spec: FilterSpec) -> None:
        self.collectors = collectors
        self.spec = spec
        self.out: ObjectSet = {}
        self.cache: dict[str, tuple[str, ...] | None] = {}
        self.visited: set[tuple[str, int]] = set()
        self.at_folder: dict[str, list[Sel]] = {}  # folder moid -> childEntity traversals
        self.views: list[tuple[ContainerView, Sel]] = []  # view traversals

    def run(self) -> Resolver:
        for os_ in self.spec.objects:
            if not os_.skip:
                self._emit(os_.obj)
            self._follow(os_.obj, os_.select)
        return self

    def extend(self, vm: VirtualMachine) -> list[str]:
        """``vm`` entered the inventory: add what it makes reachable; the moids added."""
        before = len(self.out)
        parent = vm.parent
        for ts in tuple(self.at_folder.get(parent.moid, ())) if parent is not None else ():
            self._step(vm, ts)
        for view, ts in tuple(self.views):
            if view.covers(vm):
                self._step(vm, ts)
        if len(self.out) == before:
            return []
        return list(itertools.islice(reversed(self.out), len(self.out) - before))

    def _emit(self, o: MO) -> None:
        if o.moid in self.out:
            return
        t = type_of(o)
        if t not in self.cache:
            self.cache[t] = self.spec.paths_for(t)
        paths = self.cache[t]
        if paths is not None:
            self.out[o.moid] = (o, paths)

    def _step(self, nxt: MO, ts: Sel) -> None:
        if not ts.skip:
            self._emit(nxt)
        if ts.select:
            self._follow(nxt, ts.select)

    def _follow(self, o: MO, sels: tuple[Sel, ...]) -> None:
        for sel in sels:
            ts = sel if sel.type is not None else self.spec.names.get(sel.name or "")
            if ts is None or ts.type is None or ts.path is None:
                continue
            if not isa(type_of(o), {ts.type}):
                continue
            key = (o.moid, id(ts))
            if key in self.visited:
                continue
            self.visited.add(key)
            if ts.path == "childEntity":
                self.at_folder.setdefault(o.moid, []).append(ts)
            elif ts.path == "view" and isinstance(o, ContainerView):
                self.views.append((o, ts))
            for nxt in self.collectors.traverse(o, ts.path):
                self._step(nxt, ts)


def _object_update(f: Filter, moid: str) -> JSON | None:
    """The ObjectUpdate of one pending object of ``f`` (None: nothing changed)."""
    entry = f.objects.get(moid)
    if entry is None:
        gone = f.known.pop(moid, None)
        if gone is None:
            return None
        return {"_typeName": "ObjectUpdate", "kind": "leave", "obj": gone[0]}
    o, paths = entry
    pl = plan(type_of(o), paths)
    vals = tuple(prop.get(o) for _, prop in pl)
    prev = f.known.get(moid)
    if prev is None:
        changes = _enter_changes(pl, vals)
        kind = "enter"
    else:
        changes = _modify_changes(pl, vals, prev[1])
        kind = "modify"
    ref = prev[0] if prev is not None else o.ref()
    f.known[moid] = (ref, vals)
    if kind == "modify" and not changes:
        return None
    u: JSON = {"_typeName": "ObjectUpdate", "kind": kind, "obj": ref}
    if changes:
        u["changeSet"] = changes
    return u


def _enter_changes(pl: tuple[tuple[str, Prop], ...], vals: tuple[Any, ...]) -> list[JSON]:
    return [
        {"_typeName": "PropertyChange", "name": p, "op": "assign", "val": encode(prop, raw)}
        for (p, prop), raw in zip(pl, vals, strict=True)
        if raw is not None
    ]


def _modify_changes(
    pl: tuple[tuple[str, Prop], ...], vals: tuple[Any, ...], old: tuple[Any, ...]
) -> list[JSON]:
    changes: list[JSON] = []
    for (p, prop), raw, was in zip(pl, vals, old, strict=True):
        if raw != was:
            ch: JSON = {"_typeName": "PropertyChange", "name": p, "op": "assign"}
            if raw is not None:
                ch["val"] = encode(prop, raw)
            changes.append(ch)
    return changes
