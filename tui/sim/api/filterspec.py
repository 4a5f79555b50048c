"""PropertyFilterSpec parsing: a request's spec -> ``FilterSpec`` (types, paths, traversals).

Shared by RetrievePropertiesEx and CreateFilter; every name is checked (unknown types: InvalidType,
unknown paths: InvalidProperty, untraversable paths, dangling SelectionSpec names).
"""

from __future__ import annotations

from typing import Any

from tui.sim import wire
from tui.sim.api.context import lookup_mor
from tui.sim.collector import FilterSpec, ObjSpec, Sel
from tui.sim.faults import SimFault, invalid_property
from tui.sim.objects import KNOWN_TYPES, PLAIN_ENTITY_TYPES, isa
from tui.sim.properties import ALL_PROPS, ENTITY_PROPS, PROPS_BY_TYPE, TRAVERSABLE
from tui.sim.sessions import Session
from tui.sim.state import State
from tui.sim.wire import JSON, WireError


def _paths_for_type(type_: str) -> dict[str, Any]:
    """The property paths a PropertySpec of ``type_`` may name."""
    props = PROPS_BY_TYPE.get(type_)
    if props is not None:
        return props
    return dict.fromkeys(ENTITY_PROPS) if type_ in PLAIN_ENTITY_TYPES else {}


def parse_filter_spec(state: State, s: Session, raw: Any, where: str) -> FilterSpec:
    spec = wire.as_obj(raw, where, ("PropertyFilterSpec",))
    wire.check_fields(spec, {"propSet", "objectSet", "reportMissingObjectsInResults"}, where)
    wire.get_bool(spec, "reportMissingObjectsInResults", where, required=False)
    props: dict[str, tuple[str, ...]] = {}
    prop_list = wire.get_list(spec, "propSet", where)
    for i, item in enumerate(prop_list):
        pw = f"{where}.propSet[{i}]"
        ps = wire.as_obj(item, pw, ("PropertySpec",))
        wire.check_fields(ps, {"type", "all", "pathSet"}, pw)
        t = known_type(wire.get_str(ps, "type", pw), f"{pw}.type")
        known = _paths_for_type(t)
        all_ = wire.get_bool(ps, "all", pw, required=False)
        paths: list[str] = list(props.get(t, ()))
        if all_:
            every = ALL_PROPS.get(t, ENTITY_PROPS if known else ())
            paths += [p for p in every if p not in paths]
        for j, p in enumerate(wire.get_list(ps, "pathSet", pw, required=False)):
            if not isinstance(p, str):
                raise WireError(f"{pw}.pathSet[{j}] must be a string", f"{pw}.pathSet[{j}]")
            if p not in known:
                raise invalid_property(p)
            if p not in paths:
                paths.append(p)
        props[t] = tuple(paths)
    names: dict[str, Sel] = {}
    objects: list[ObjSpec] = []
    for i, item in enumerate(wire.get_list(spec, "objectSet", where)):
        ow = f"{where}.objectSet[{i}]"
        os_ = wire.as_obj(item, ow, ("ObjectSpec",))
        wire.check_fields(os_, {"obj", "skip", "selectSet"}, ow)
        obj = lookup_mor(state, s, wire.req(os_, "obj", ow), f"{ow}.obj")
        skip = bool(wire.get_bool(os_, "skip", ow, required=False))
        sels = _parse_selects(os_, ow, names)
        objects.append(ObjSpec(obj, skip, sels))
    # every SelectionSpec reference must name a TraversalSpec of this filter spec
    for o in objects:
        _check_refs(o.select, names, where)
    return FilterSpec(props, tuple(objects), names)


def _parse_selects(parent: JSON, where: str, names: dict[str, Sel]) -> tuple[Sel, ...]:
    out: list[Sel] = []
    for k, item in enumerate(wire.get_list(parent, "selectSet", where, required=False)):
        sw = f"{where}.selectSet[{k}]"
        sel = wire.as_obj(item, sw, ("TraversalSpec", "SelectionSpec"))
        if sel["_typeName"] == "SelectionSpec":
            wire.check_fields(sel, {"name"}, sw)
            name = wire.get_str(sel, "name", sw)
            out.append(Sel(name, None, None, False, ()))
            continue
        wire.check_fields(sel, {"name", "type", "path", "skip", "selectSet"}, sw)
        name = wire.get_str(sel, "name", sw, required=False)
        t = wire.get_str(sel, "type", sw)
        path = wire.get_str(sel, "path", sw)
        assert path is not None
        t = known_type(t, f"{sw}.type")
        if not any(pp == path and isa(tt, {t}) for tt, pp in TRAVERSABLE):
            raise invalid_property(path)
        skip = bool(wire.get_bool(sel, "skip", sw, required=False))
        ts = Sel(name, t, path, skip, _parse_selects(sel, sw, names))
        if name:
            names[name] = ts
        out.append(ts)
    return tuple(out)


def known_type(t: str | None, where: str) -> str:
    assert t is not None
    if t not in KNOWN_TYPES:
        raise SimFault("InvalidType", f"Unknown managed object type {t!r} in {where}", argument=t)
    return t


def _check_refs(sels: tuple[Sel, ...], names: dict[str, Sel], where: str) -> None:
    for sel in sels:
        if sel.type is None and (sel.name or "") not in names:
            raise SimFault(
                "InvalidArgument",
                f"SelectionSpec refers to unknown TraversalSpec {sel.name!r} in {where}",
                invalidProperty="selectSet",
            )
        _check_refs(sel.select, names, where)


# ----------------------------------------------------------------------------------------------
