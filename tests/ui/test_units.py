"""The UI's pure parts: VM store (filter, marks, sort, live changes), batches, themes, keys, audit
sink."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.ui.fakes import T0, guest_login_fault, make_vms
from tui.ui.audit import SessionAudit
from tui.ui.keys import keys_markdown
from tui.ui.tasks import Batch, TaskRow, fmt_seconds, fmt_time, verdict_text
from tui.ui.themes import ThemeError, load_theme_text, shipped_themes, user_themes
from tui.ui.vmstore import VMStore, compile_filter
from tui.ui.widgets.linetable import Column, fit, layout_columns
from tui.vsphere.eligibility import preflight_reason
from tui.vsphere.models import GuestCredentials, TaskEvent, VMBatch, VMChange
from tui.vsphere.secret import Secret
from tui.vsphere.verify import Verdict

ROOT = Path(__file__).resolve().parents[2]


def _store(n: int = 30) -> VMStore:
    s = VMStore()
    s.load(make_vms(n))
    return s


def test_substring_filter_over_name_and_path_case_insensitive() -> None:
    s = _store()
    s.set_filter("CLONE-01")
    assert [s.vms[m].name for m in s.visible] == [f"clone-01{i}" for i in range(10)]
    s.set_filter("team-b")  # only in the path
    assert s.visible and all(s.vms[m].folder == "/DC/vm/team-b" for m in s.visible)
    s.set_filter("  ")
    assert not s.filtered and len(s.visible) == 30


def test_glob_filter_matches_whole_name_or_path() -> None:
    s = _store()
    s.set_filter("clone-00?")
    assert len(s.visible) == 10
    s.set_filter("*/team-a/*")
    assert s.visible and all(s.vms[m].folder == "/DC/vm/team-a" for m in s.visible)
    s.set_filter("clone-0[12]5")
    assert sorted(s.vms[m].name for m in s.visible) == ["clone-015", "clone-025"]
    assert compile_filter("x[") is not None  # an unclosed bracket is a literal, not an error
    s.set_filter("x[")
    assert s.visible == []


def test_marks_survive_filtering_and_sorting_and_leave_with_the_vm() -> None:
    s = _store()
    s.set_filter("clone-00")
    assert s.mark_visible() == 10
    s.set_filter("")
    assert len(s.marks) == 10
    s.set_sort("ip", reverse=True)
    assert len(s.marks) == 10 and [vm.name for vm in s.marked_vms()] != []
    first = next(iter(sorted(s.marks)))
    s.apply(VMBatch((VMChange("leave", first, None),)))
    assert first not in s.marks and first not in s.vms
    assert s.toggle_mark("vm-999") is False  # unknown VM: no mark
    s.clear_marks()
    assert not s.marks


def test_modify_is_in_place_unless_it_changes_the_sort_key() -> None:
    s = _store(5)
    vm = s.vms["vm-101"]
    r = s.apply(
        VMBatch(
            (
                VMChange(
                    "modify", vm.moid, replace(vm, ip_address="1.2.3.4"), frozenset({"ip_address"})
                ),
            )
        )
    )
    assert not r.structural and r.modified == {"vm-101"}
    assert s.vms["vm-101"].ip_address == "1.2.3.4"
    s.set_sort("ip")
    vm = s.vms["vm-102"]
    r = s.apply(
        VMBatch(
            (
                VMChange(
                    "modify", vm.moid, replace(vm, ip_address="0.0.0.1"), frozenset({"ip_address"})
                ),
            )
        )
    )
    assert r.structural and s.visible[0] == "vm-102"
    r = s.apply(VMBatch((VMChange("enter", "vm-900", replace(vm, moid="vm-900", name="new")),)))
    assert r.structural and "vm-900" in s.visible


def test_resync_replaces_everything_and_keeps_marks_of_survivors() -> None:
    s = _store(5)
    s.toggle_mark("vm-100")
    s.toggle_mark("vm-104")
    keep = [vm for vm in make_vms(5) if vm.moid != "vm-104"]
    r = s.apply(VMBatch(tuple(VMChange("enter", vm.moid, vm) for vm in keep), resync=True))
    assert r.structural and s.total == 4 and s.marks == {"vm-100"}


def test_sort_rejects_unknown_columns() -> None:
    with pytest.raises(ValueError, match="unknown sort column 'nope'"):
        _store().set_sort("nope")


def test_preflight_reasons() -> None:
    vms = {vm.name: vm for vm in make_vms(14)}
    assert preflight_reason(vms["clone-000"]) is None
    assert preflight_reason(vms["clone-005"]) == "not poweredOn (poweredOff)"
    assert preflight_reason(vms["clone-007"]) == "tools not running (guestToolsNotRunning)"
    assert preflight_reason(replace(vms["clone-000"], guest_operations_ready=False)) == (
        "guest operations not ready"
    )
    assert "host connection disconnected" == preflight_reason(
        replace(vms["clone-000"], connection_state="disconnected")
    )


def test_batch_states_totals_and_credential_faults() -> None:
    vms = make_vms(4)
    creds = GuestCredentials("root", Secret("pw"))
    b = Batch.create(1, creds, vms[:3], [(vms[3], "not poweredOn (poweredOff)")])
    assert b.totals()["queued"] == 3 and b.totals()["skipped"] == 1 and b.running
    b.apply(
        TaskEvent(
            vms[0].moid,
            vms[0].name,
            "running",
            task="task-1",
            queue_time=T0,
            start_time=T0 + timedelta(seconds=2),
        )
    )
    b.apply(TaskEvent(vms[1].moid, vms[1].name, "failed", fault=guest_login_fault()))
    b.apply(TaskEvent(vms[2].moid, vms[2].name, "succeeded"))
    assert b.apply(TaskEvent("vm-nope", "x", "succeeded")) is None
    t = b.totals()
    assert (t["running"], t["failed"], t["succeeded"], t["skipped"]) == (1, 1, 1, 1)
    assert b.summary() == "1 running, 1 succeeded, 1 failed, 1 skipped"
    assert b.summary(" · ") == "1 running · 1 succeeded · 1 failed · 1 skipped"
    assert b.needs_new_credentials()
    row = b.rows[vms[0].moid]
    now = T0 + timedelta(seconds=10)
    assert row.queued_for(now) == 2.0 and row.elapsed(now) == 8.0
    assert b.rows[vms[1].moid].result().startswith("InvalidGuestLogin: ")
    assert b.rows[vms[3].moid].result() == "skipped: not poweredOn (poweredOff)"
    b.fail_unfinished("stream broke")
    assert b.rows[vms[0].moid].state == "failed" and b.rows[vms[0].moid].result() == "stream broke"
    b.wipe_credentials()
    assert b.creds is None


VERIFIED = Verdict(True, "10.64.0.10 → 10.64.0.89", "10.64.0.10", "10.64.0.89")
KEPT = Verdict(
    False,
    "kept its launch address 10.64.0.10; still shares it with web-golden",
    "10.64.0.10",
    "10.64.0.10",
)
NO_IP = Verdict(None, "no address after 60 s", "10.64.0.10")


def test_succeeded_result_shows_the_verdict() -> None:
    vm = replace(make_vms(2)[1], ip_address="10.64.0.10")
    row = TaskRow(vm=vm, state="succeeded", event=TaskEvent(vm.moid, vm.name, "succeeded"))
    assert row.result() == "network started"  # not verified (yet)
    row.verifying = True
    assert row.result() == "network started; verifying…"
    row.verdict, row.verifying = VERIFIED, False
    assert row.result() == "10.64.0.10 → 10.64.0.89 ✓"
    row.verdict = KEPT
    assert row.result() == (
        "NOT verified: kept its launch address 10.64.0.10; still shares it with web-golden"
    )
    row.verdict = NO_IP
    assert row.result() == "unverified: no address after 60 s"
    # other states show what they are about
    failed = TaskRow(
        vm=vm,
        state="failed",
        event=TaskEvent(vm.moid, vm.name, "failed", fault=guest_login_fault()),
    )
    assert failed.result().startswith("InvalidGuestLogin: ")
    skipped = TaskRow(vm=vm, state="skipped", skip_reason="not poweredOn (poweredOff)")
    assert skipped.result().startswith("skipped: ")


def test_verdict_wording_fits_a_narrow_column() -> None:
    assert verdict_text(VERIFIED, 25) == "10.64.0.10 → 10.64.0.89 ✓"
    assert verdict_text(VERIFIED, 24) == "→ 10.64.0.89 ✓"  # the new address stays
    assert verdict_text(KEPT).startswith("NOT verified: kept its launch address 10.64.0.10")
    assert verdict_text(KEPT, 70) == (
        "✗ kept its launch address 10.64.0.10; still shares it with web-golden"
    )
    assert verdict_text(KEPT, 40) == "✗ kept 10.64.0.10 (launch address)"
    assert verdict_text(KEPT, 20) == "✗ kept 10.64.0.10"
    shared = Verdict(False, "still shares 10.64.0.11 with web-02", "10.64.0.10", "10.64.0.11")
    assert verdict_text(shared, 20) == "✗ still shares 10.64.0.11 with web-02"  # cut by the table
    assert verdict_text(NO_IP, 33) == "unverified: no address after 60 s"
    assert verdict_text(NO_IP, 32) == "? no address after 60 s"
    assert verdict_text(NO_IP, 5) == "? no address after 60 s"  # cut by the table


def test_time_formatting() -> None:
    assert fmt_seconds(None) == "" and fmt_seconds(2.25) == "2.2s" and fmt_seconds(42) == "42s"
    assert fmt_seconds(125) == "2m05s" and fmt_seconds(7322) == "2h02m"
    assert fmt_time(None) == "-" and fmt_time(T0) == "09:30:00Z"
    row = TaskRow(vm=make_vms(1)[0])
    assert row.queued_for(T0) is None and row.elapsed(T0) is None and row.result() == ""


def test_fit_and_column_layout() -> None:
    assert fit("abc", 5) == "abc  " and fit("abcdef", 4) == "abc…" and fit("x", 0) == ""
    assert fit("payments-prod-db-0001-ic-003", 15, middle=True) == "payment…-ic-003"
    cols = [
        Column("a", "A", 4),
        Column("b", "B", 5, flex=True, weight=3),
        Column("c", "C", 5, flex=True, weight=1),
    ]
    widths = layout_columns(cols, 40)
    assert widths[0] == 4 and sum(widths) + 2 == 40 and widths[1] > widths[2]
    assert layout_columns(cols, 5)[1:] == [5, 5]  # never below the minimum


def test_shipped_themes_load_and_include_dark_light_ansi() -> None:
    themes = {t.name: t for t in shipped_themes()}
    assert {"guestnet-dark", "guestnet-light", "guestnet-ansi"} <= set(themes)
    assert themes["guestnet-dark"].dark and not themes["guestnet-light"].dark
    assert themes["guestnet-ansi"].ansi


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nprimary: '#zzz'\n", "x.yaml: primary: '#zzz' is not a colour"),
        ("primary: '#fff'\n", "x.yaml: name is required"),
        ("name: x\n", "x.yaml: primary is required"),
        ("name: x\nprimary: red\ncolour: blue\n", "x.yaml: unknown key 'colour'"),
        ("name: x\nprimary: red\ndark: maybe\n", "x.yaml: dark must be true or false"),
        ("- a\n", "x.yaml: expected a mapping of theme keys"),
        ("name: x\nprimary: red\nvariables: [1]\n", "x.yaml: variables must map names to strings"),
        ("name: [\n", "x.yaml:2: "),
    ],
)
def test_broken_theme_is_one_line_naming_the_file(text: str, message: str) -> None:
    with pytest.raises(ThemeError) as err:
        load_theme_text(text, "x.yaml")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_user_themes_collect_errors_per_file(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("name: mine\nprimary: '#123456'\ndark: false\n")
    (tmp_path / "bad.yaml").write_text("name: bad\nprimary: nope-colour\n")
    (tmp_path / "notes.txt").write_text("ignored")
    themes, errors = user_themes(tmp_path)
    assert [t.name for t in themes] == ["mine"]
    assert len(errors) == 1 and "bad.yaml" in errors[0]
    assert user_themes(tmp_path / "missing") == ([], [])


def test_docs_keys_md_is_generated_from_the_key_table() -> None:
    doc = ROOT / "docs" / "keys.md"
    assert doc.read_text(encoding="utf-8") == keys_markdown(), (
        "regenerate: .venv/bin/python -m tui.ui.keys > docs/keys.md"
    )


def test_unset_values_sort_last_in_both_directions() -> None:
    s = _store(12)  # every fourth VM has no IP
    for reverse in (False, True):
        s.set_sort("ip", reverse)
        ips = [s.vms[m].ip_address for m in s.visible]
        n = sum(ip is None for ip in ips)
        assert n and all(ip is None for ip in ips[-n:]) and None not in ips[:-n]
    s.set_sort("ip", False)
    assert s.vms[s.visible[0]].ip_address == "10.0.0.2"


def test_session_audit_names_its_session_and_a_failed_write_is_a_warning() -> None:
    written: list[dict[str, object]] = []
    warnings: list[str] = []
    audit = SessionAudit(
        "lab", "vc.example.test", "admin", warn=warnings.append, write=lambda **f: written.append(f)
    )
    audit("abort-customization", vms=[("web-01", "vm-1")], outcome="succeeded")
    assert written == [
        {
            "action": "abort-customization",
            "profile": "lab",
            "host": "vc.example.test",
            "vc_user": "admin",
            "vms": [("web-01", "vm-1")],
            "outcome": "succeeded",
        }
    ]
    assert warnings == []

    def full(**_: object) -> None:
        raise OSError(28, "No space left on device")

    SessionAudit("lab", "vc", "admin", warn=warnings.append, write=full)("connect")
    assert warnings == ["Audit log not written: [Errno 28] No space left on device"]


def test_watch_patterns_come_from_the_filter_or_the_dialog() -> None:
    from tui.ui.screens.modals import WatchRequest, parse_watch
    from tui.ui.screens.watch_control import patterns_from_filter

    assert patterns_from_filter("*-ic-*") == ("*-ic-*",)
    assert patterns_from_filter(" web-0 ") == ("*web-0*",)  # a substring, as the filter means it
    assert patterns_from_filter("/DC1/vm/pool/*") == ("/DC1/vm/pool/*",)
    assert patterns_from_filter("team-a/web") == ("*team-a/web*",)  # a path substring
    for text in ("", "  ", ":dup", ":dup web-*", "web-[", "team-a/web-*"):
        assert patterns_from_filter(text) is None, text
    assert parse_watch(" *-ic-*  /DC/vm/x/* ", "2.5") == WatchRequest(("*-ic-*", "/DC/vm/x/*"), 2.5)
    for patterns, settle, problem in (
        ("web-[", "1", "without a closing"),
        ("   ", "1", "at least one VM pattern"),
        ("a*", "soon", "settle: expected seconds, got 'soon'"),
        ("a*", "-1", "between 0 and 3600"),
    ):
        with pytest.raises(ValueError, match=problem):
            parse_watch(patterns, settle)


def test_typing_and_backspace_in_the_filter_show_what_a_full_scan_shows() -> None:
    """The store narrows earlier results while typing and finds them again on backspace; VMs
    entering, leaving and renamed in between are never missed (checked against a full scan)."""
    import random

    rnd = random.Random(4)
    store = VMStore()
    vms = make_vms(300)
    store.load(vms)
    next_id = 1000
    texts = ["", "c", "cl", "clo", "clone-0", "clone-01", "clone-0", "c", "team-a", "1", "12"]
    for step in range(400):
        roll = rnd.random()
        if roll < 0.6:
            store.set_filter(rnd.choice(texts))
        elif roll < 0.75:
            vm = replace(vms[0], moid=f"vm-{next_id}", name=f"clone-{rnd.randint(0, 999):03d}")
            next_id += 1
            store.apply(VMBatch((VMChange("enter", vm.moid, vm),)))
        elif roll < 0.9 and store.vms:
            moid = rnd.choice(sorted(store.vms))
            store.apply(VMBatch((VMChange("leave", moid, None),)))
        elif store.vms:
            moid = rnd.choice(sorted(store.vms))
            renamed = replace(store.vms[moid], name=f"clone-{rnd.randint(0, 999):03d}")
            store.apply(VMBatch((VMChange("modify", moid, renamed, frozenset({"name"})),)))
        needle = store.filter_text.strip().lower()
        expected = [
            m
            for m in sorted(store.vms, key=lambda m: (store.vms[m].name.lower(), m))
            if needle in f"{store.vms[m].name}\n{store.vms[m].path}".lower()
        ]
        assert store.visible == expected, (step, store.filter_text)
