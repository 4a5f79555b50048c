"""``guestnet audit``: the audit log as a table or JSON lines."""

from __future__ import annotations

import argparse
from typing import Any

from tui.commands.base import EXIT_OK, err, fail
from tui.commands.output import dash, table


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "audit",
        parents=[common],
        help="show the audit log",
        description="Show the audit log: who started, cancelled or aborted what, when, with what "
        "result.",
    )
    p.add_argument(
        "--since", metavar="WHEN", help="30m, 2h, 7d, 1w, or a date/time like 2026-11-30T08:00"
    )
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p.set_defaults(handler=run)


def run(ns: argparse.Namespace) -> int:
    import json

    from tui.config.audit import AuditLog, parse_since

    since = None
    if ns.since:
        try:
            since = parse_since(ns.since)
        except ValueError as exc:
            fail(str(exc))
    log = AuditLog()
    try:
        result = log.read(since)
    except OSError as exc:
        fail(f"cannot read the audit log {log.path}: {exc.strerror}")
    if result.skipped:
        err(f"warning: {result.skipped} malformed line(s) in {log.path} skipped")
    if ns.json:
        for entry in result.entries:
            print(json.dumps(entry))
        return EXIT_OK
    if not result.entries:
        err(f"no audit records{' since ' + ns.since if ns.since else ''} ({log.path})")
        return EXIT_OK
    rows = [_row(e) for e in result.entries]
    headers = ["TIME", "OS USER", "PROFILE", "VC USER", "ACTION", "OUTCOME", "VMS", "FAULTS"]
    print(table(headers, rows))
    return EXIT_OK


def _local_time(text: str) -> str:
    from datetime import datetime

    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _row(e: dict[str, Any]) -> list[str]:
    vms = [v.get("name", "?") for v in e.get("vms") or [] if isinstance(v, dict)]
    vm_text = ", ".join(vms[:3]) + (f" (+{len(vms) - 3})" if len(vms) > 3 else "")
    return [
        _local_time(str(e.get("time", "?"))),
        dash(e.get("os_user")),
        dash(e.get("profile")),
        dash(e.get("vc_user")),
        dash(e.get("action")),
        dash(e.get("outcome")),
        dash(vm_text),
        dash(", ".join(str(f) for f in e.get("faults") or [])),
    ]
