"""Inventory YAML loader (one-line errors with file:line and key) and the --vms generator."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tui.sim.generate import generate_inventory
from tui.sim.inventory import (
    EXAMPLE_PATH,
    INJECTABLE_FAULTS,
    InventoryError,
    load_inventory,
    parse_inventory,
)


def test_example_inventory_loads_with_every_feature() -> None:
    inv = load_inventory(EXAMPLE_PATH)
    vms = {v.name: (path, v) for path, v in inv.iter_vms()}
    assert 40 <= len(vms) <= 45
    assert vms["web-01"][0] == ["DC1", "vm", "team-a", "prod"]
    assert vms["web-01"][1].clone_parent == "web-golden"
    assert vms["edge-01"][0] == ["DC2", "vm"]
    faults = Counter((v.fault.type, v.fault.mode) for _, v in vms.values() if v.fault)
    assert set(faults) == {(f, m) for f in INJECTABLE_FAULTS for m in ("sync", "task")}
    accounts = vms["creds-denied"][1].guest_accounts
    assert accounts is not None and [a.permitted for a in accounts] == [False, True]
    assert "s3cret" not in repr(accounts)
    assert vms["hang-01"][1].hang and vms["slow-01"][1].task_seconds == 5.0
    assert vms["noncancel-01"][1].cancelable is False
    assert vms["api-golden"][1].tools == "guestToolsNotRunning"
    # one VM of each identity case: a clone with its parent's MAC, and one that keeps it
    assert vms["twin-ic-01"][1].mac == "parent" and not vms["twin-ic-01"][1].keep_ip
    assert vms["twin-ic-02"][1].mac == "parent" and vms["twin-ic-02"][1].keep_ip
    assert vms["web-01"][1].mac is None


def test_mac_values_are_normalised() -> None:
    inv = load_inventory(
        {"datacenters": [{"name": "X", "vms": [{"name": "a", "mac": "00-50-56-AA-BB-0C"}]}]}
    )
    assert inv.iter_vms()[0][1].mac == "00:50:56:aa:bb:0c"


def test_dict_inventory() -> None:
    inv = load_inventory({"datacenters": [{"name": "X", "vms": [{"name": "a"}, {"name": 7}]}]})
    assert [v.name for _, v in inv.iter_vms()] == ["a", "7"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("datacenters: [", "inv.yaml:1: invalid YAML"),
        ("- just a list\n", "inv.yaml: the inventory must be a mapping with 'datacenters'"),
        ("defaults: {}\n", "inv.yaml: missing key 'datacenters'"),
        ("datacenters: []\n", "inv.yaml:1: datacenters: at least one datacenter is needed"),
        (
            "datacenter: []\n",
            "inv.yaml:1: datacenter: unknown key (allowed: datacenters, defaults)",
        ),
        ("datacenters:\n  - vms: []\n", "inv.yaml:2: datacenters[0]: missing key 'name'"),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        power: on\n",
            "inv.yaml:5: datacenters[0].vms[0].power: expected one of poweredOn, poweredOff, "
            "suspended, got boolean True",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        tools: maybe\n",
            "inv.yaml:5: datacenters[0].vms[0].tools: expected one of running, notRunning, "
            "executingScripts, got string 'maybe'",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        ip: 10.0.0.300\n",
            "inv.yaml:5: datacenters[0].vms[0].ip: not an IP address: '10.0.0.300'",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        fault: Boom\n",
            "inv.yaml:5: datacenters[0].vms[0].fault: expected one of TaskInProgress",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n"
            "        fault: {type: InvalidState, mode: later}\n",
            "inv.yaml:5: datacenters[0].vms[0].fault.mode: expected one of sync, task, "
            "got string 'later'",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        task_seconds: -1\n",
            "inv.yaml:5: datacenters[0].vms[0].task_seconds: expected seconds between 0 and 86400",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        colour: red\n",
            "inv.yaml:5: datacenters[0].vms[0].colour: unknown key",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n      - name: a\n",
            "inv.yaml:5: datacenters[0].vms[1].name: duplicate VM name 'a' "
            "(first at datacenters[0].vms[0])",
        ),
        (
            "datacenters:\n  - name: DC\n    folders:\n      - name: f\n        vms:\n"
            "          - name: x\n            guest_accounts:\n              - {username: u}\n",
            "inv.yaml:8: datacenters[0].folders[0].vms[0].guest_accounts[0]: "
            "missing key 'password'",
        ),
        (
            "datacenters:\n  - name: DC\n    folders:\n      - name: a/b\n",
            "inv.yaml:4: datacenters[0].folders[0].name: folder names cannot contain '/'",
        ),
        ("datacenters:\n  - name: DC\n    name: DC2\n", "inv.yaml:3: duplicate key 'name'"),
        (
            "defaults: {auth_mode: maybe}\ndatacenters: [{name: D}]\n",
            "inv.yaml:1: defaults.auth_mode: expected one of sync, task",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        hang: 1\n",
            "inv.yaml:5: datacenters[0].vms[0].hang: expected true or false, got number 1",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        keep_ip: 3\n",
            "inv.yaml:5: datacenters[0].vms[0].keep_ip: expected true or false, got number 3",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        mac: 00:50:56\n",
            "inv.yaml:5: datacenters[0].vms[0].mac: expected a MAC address like "
            "00:50:56:aa:bb:cc or 'parent', got '00:50:56'",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n        mac: parent\n",
            "inv.yaml:5: datacenters[0].vms[0].mac: 'parent' needs the VM's 'parent' key",
        ),
        (
            "datacenters:\n  - name: DC\n    vms:\n      - {name: a, parent: ghost, mac: parent}\n",
            "inv.yaml: datacenters[0].vms[0].mac: 'parent' but its parent 'ghost' is not in the "
            "inventory",
        ),
    ],
)
def test_bad_inventory_gives_one_line_with_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(InventoryError) as err:
        parse_inventory(text, "inv.yaml")
    msg = str(err.value)
    assert msg.startswith(expected), msg
    assert "\n" not in msg


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"nope.yaml: inventory file not found$"):
        load_inventory(tmp_path / "nope.yaml")
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InventoryError, match="not UTF-8"):
        load_inventory(bad)
    with pytest.raises(InventoryError, match="cannot read inventory"):
        load_inventory(tmp_path)


def test_generator_is_realistic_and_deterministic() -> None:
    inv = generate_inventory(2000, seed=7)
    vms = [v for _, v in inv.iter_vms()]
    assert len(vms) == 2000
    assert [v.name for v in vms] == [v.name for _, v in generate_inventory(2000, 7).iter_vms()]
    assert [v.name for v in vms] != [v.name for _, v in generate_inventory(2000, 8).iter_vms()]
    assert len({v.name for v in vms}) == 2000
    clones = [v for v in vms if v.clone_parent]
    parents = {v.name for v in vms if not v.clone_parent}
    assert len(clones) > 1500 and all(v.clone_parent in parents for v in clones)
    assert all(
        v.name.startswith(v.clone_parent.removesuffix("-golden")) for v in clones if v.clone_parent
    )
    off = sum(v.power == "poweredOff" for v in clones) / len(clones)
    notools = sum(v.power == "poweredOn" and v.tools != "guestToolsRunning" for v in clones)
    assert 0.06 < off < 0.14 and 0.02 < notools / len(clones) < 0.08
    faults = Counter((v.fault.type, v.fault.mode) for v in vms if v.fault)
    assert set(faults) == {(f, m) for f in INJECTABLE_FAULTS for m in ("sync", "task")}
    # clones still carry their parent's address: the collision StartGuestNetwork fixes
    on = [v for v in clones if v.ip]
    assert len({v.ip for v in on}) < len(on) / 3
    assert len({v.acquire_ip for v in vms}) == len(vms)
    # a few clones keep their (the parent's) address although their task succeeds
    keep = [v for v in vms if v.keep_ip]
    assert 10 <= len(keep) <= 20
    assert all(v.clone_parent and v.power == "poweredOn" and v.ip and not v.fault for v in keep)
    teams = {path[2] for path, _ in inv.iter_vms()}
    assert len(teams) >= 8


def test_generator_scales_to_50000_across_datacenters() -> None:
    inv = generate_inventory(50_000, seed=1)
    assert inv.vm_count() == 50_000
    assert [dc.name for dc in inv.datacenters] == ["DC1", "DC2", "DC3"]


def test_generator_small_and_invalid() -> None:
    assert generate_inventory(0).vm_count() == 0
    assert generate_inventory(1).vm_count() == 1
    for seed in range(1, 11):
        small = generate_inventory(40, seed=seed)
        faults = {(v.fault.type, v.fault.mode) for _, v in small.iter_vms() if v.fault}
        assert len(faults) == 12, seed
    with pytest.raises(InventoryError, match="--vms must be 0 or more"):
        generate_inventory(-1)


def test_nan_and_infinite_durations_are_refused() -> None:
    for value in (".nan", ".inf", "-1"):
        text = (
            "datacenters:\n  - name: DC\n    vms:\n      - name: a\n"
            f"        task_seconds: {value}\n"
        )
        with pytest.raises(InventoryError, match=r"^inv.yaml:5: .*task_seconds: expected seconds"):
            parse_inventory(text, "inv.yaml")
