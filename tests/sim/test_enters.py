"""VMs entering the inventory (clones, add_vm): filters and views grow without a re-resolve, to
exactly what a fresh resolve gives; and VM identities (MACs, addresses) are shared only where the
inventory says so."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from tests.sim.vi import VI, Watch, folder_walk_spec, make_watch, props, updates, view_spec
from tui.sim.objects import VirtualMachine
from tui.sim.server import SimServer

FOLDER_WALK = folder_walk_spec(
    [
        {"_typeName": "PropertySpec", "type": "Folder", "pathSet": ["childEntity"]},
        {"_typeName": "PropertySpec", "type": "VirtualMachine", "pathSet": ["name"]},
    ]
)


def _as_fresh_resolve(sim: SimServer) -> bool:
    """Every live filter's object set and view's members equal a fresh resolve / walk."""

    def go() -> bool:
        st = sim.state
        for f in st.collectors.filters.values():
            if f.needs_resolve or set(f.objects) != set(st.collectors.resolve(f.spec)):
                return False
        views = [v for s in st.sessions.by_token.values() for v in s.views.values()]
        return bool(views) and all(
            {m.moid for m in v.members()} == {m.moid for m in v._walk()} for v in views
        )

    return sim.call(go)


async def test_an_enter_grows_filters_and_views_as_a_fresh_resolve_would(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(vms=300)
    parent = next(n for n in sim.vm_names() if n.endswith("-golden") and sim.vm(n)["ip"])
    async with VI(sim) as vi:
        await vi.login()
        w = await make_watch(vi, ["name"])
        body = {"spec": FOLDER_WALK, "partialUpdates": False}
        r = await vi.post("PropertyCollector", "propertyCollector", "CreateFilter", body)
        fw = Watch(vi, "propertyCollector", r.body["value"])
        await w.wait()
        await fw.wait()
        structure = sim.call(lambda: sim.state.registry.structure_version)
        moids = [sim.clone_vm(parent) for _ in range(3)]
        moids.append(sim.add_vm("enter-01", "/DC1/vm"))
        assert sim.call(lambda: sim.state.registry.structure_version) == structure
        assert _as_fresh_resolve(sim)  # grown in place, no re-resolve pending
        ups = updates(await w.wait(max_wait=2))
        assert {m for m, (kind, _) in ups.items() if kind == "enter"} == set(moids)
        fups = updates(await fw.wait(max_wait=2))
        assert {m for m, (kind, _) in fups.items() if kind == "enter"} == set(moids)
        folders = {m: p for m, (kind, p) in fups.items() if kind == "modify"}
        assert len(folders) == 2  # the parent's folder and /DC1/vm: their childEntity changed
        children = [ref["value"] for p in folders.values() for ref in p["childEntity"]]
        assert set(moids) <= set(children)
        # after a removal (a re-resolve) and more enters, still what a fresh resolve gives
        sim.remove_vm(moids[0])
        again = sim.clone_vm(parent)
        ups = updates(await w.wait(max_wait=2))
        assert ups[moids[0]] == ("leave", {}) and ups[again][0] == "enter"
        fups = updates(await fw.wait(max_wait=2))  # (a removal re-resolves when next asked)
        assert fups[moids[0]] == ("leave", {}) and fups[again][0] == "enter"
        assert _as_fresh_resolve(sim)
        body = {
            "specSet": [view_spec(await vi.vm_view(), ["name"])],
            "options": {"_typeName": "RetrieveOptions"},
        }
        r = await vi.post("PropertyCollector", "propertyCollector", "RetrievePropertiesEx", body)
        names = {props(o)["name"] for o in r.body["objects"]}
        assert f"{parent}-ic-4" in names and f"{parent}-ic-1" not in names


def _identities(sim: SimServer) -> list[tuple[str, str | None, str, str, str | None, bool]]:
    def go() -> list[tuple[str, str | None, str, str, str | None, bool]]:
        vms: list[VirtualMachine] = list(sim.state.registry.vms_by_name.values())
        return [(v.name, v.ip, v.mac, v.own_mac, v.clone_parent, v.keep_ip) for v in vms]

    return sim.call(go)


def _families_sharing(rows: list[tuple[str, str | None, str, str, str | None, bool]]) -> Any:
    """For each address held by more than one VM: the set of clone families holding it."""
    by_ip: dict[str, set[str]] = defaultdict(set)
    holders = Counter(r[1] for r in rows if r[1] is not None)
    for name, ip, _mac, _own, parent, _keep in rows:
        if ip is not None:
            by_ip[ip].add(parent or name)
    return [fams for ip, fams in by_ip.items() if holders[ip] > 1]


async def test_macs_are_unique_and_only_clone_families_share_addresses(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory(vms=3000)
    rows = _identities(sim)
    assert len({r[3] for r in rows}) == len(rows) == 3000  # every own MAC is unique
    assert all(r[2] == r[3] for r in rows)  # and generated VMs show their own
    assert all(len(fams) == 1 for fams in _families_sharing(rows))
    async with VI(sim) as vi:  # what guest.net reports over the wire agrees
        await vi.login()
        body = {
            "specSet": [view_spec(await vi.vm_view(), ["guest.net"])],
            "options": {"_typeName": "RetrieveOptions", "maxObjects": 1000},
        }
        r = await vi.post("PropertyCollector", "propertyCollector", "RetrievePropertiesEx", body)
        macs = []
        while True:
            macs += [
                n["macAddress"] for o in r.body["objects"] for n in props(o).get("guest.net", [])
            ]
            if "token" not in r.body:
                break
            more = {"token": r.body["token"]}
            r = await vi.post(
                "PropertyCollector", "propertyCollector", "ContinueRetrievePropertiesEx", more
            )
    assert len(macs) > 2000 and len(set(macs)) == len(macs)


def test_the_example_shares_a_mac_only_in_the_twin_family(sim: SimServer) -> None:
    rows = _identities(sim)
    shared = {mac: n for mac, n in Counter(r[2] for r in rows).items() if n > 1}
    twin = sim.vm("twin-golden")["mac"]
    assert shared == {twin: 3}
    assert len({r[3] for r in rows}) == len(rows)
    assert all(len(fams) == 1 for fams in _families_sharing(rows))
