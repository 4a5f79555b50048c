"""Every key binding of the TUI, in one table: the help screen and docs/keys.md come from it."""

from __future__ import annotations

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Anywhere",
        (
            ("?", "help: this list"),
            ("ctrl+p", "command palette: every action, sorting, themes, save fault to file"),
            ("tab / shift+tab", "next / previous pane or field"),
            ("1 / 2 / 3", "show the VM / task / fault pane (narrow terminals show one at a time)"),
            ("p", "back to the profile picker (logs out)"),
            ("q", "quit: asks first while tasks run; stops streams and logs out"),
        ),
    ),
    (
        "VM table",
        (
            (
                "/",
                "filter: substring or glob (* ? [ ]) over name and path (and @vcenter when "
                "several are open); narrows as you type",
            ),
            (
                ":dup (in filter)",
                "only VMs sharing an IP or MAC with another VM (DUP column); add text to narrow",
            ),
            ("enter (in filter)", "back to the table, cursor on the first match"),
            ("escape", "clear the filter (in the filter or in the table)"),
            ("space", "mark / unmark the cursor row and move down"),
            ("ctrl+a", "mark every row that matches the filter"),
            ("u", "clear all marks"),
            ("< / >", "sort by the column left / right of the current one"),
            (
                "ctrl+r",
                "full re-sync of the inventory (several vCenters: those not up log in again)",
            ),
            ("V", "show / hide the VCENTER column (several vCenters open)"),
            ("s", "start the guest network on the marked VMs (or the cursor row)"),
            (
                "w",
                "watch: start matching VMs as they appear (the filter's glob, else asks); "
                "again: off",
            ),
            ("A", "abort guest customization on the cursor VM (asks first)"),
            ("↑ ↓ pgup pgdn home end", "move the cursor"),
        ),
    ),
    (
        "Tasks and faults",
        (
            (
                "r",
                "retry the failed VMs of the shown batch (re-asks credentials after a login fault)",
            ),
            ("c", "cancel the selected task, or all queued ones (asks first)"),
            ("[ / ]", "show the older / newer batch"),
            ("y", "copy the shown fault as JSON (OSC 52, works over SSH)"),
        ),
    ),
    (
        "Start dialog",
        (
            ("tab", "next field"),
            ("enter (in password)", "start"),
            ("escape", "cancel"),
        ),
    ),
    (
        "Profile picker",
        (
            ("up/down", "choose a profile or a group"),
            ("space", "mark a profile: enter opens the marked ones in one view"),
            ("enter", "connect (a group, or the marked profiles: one view over their vCenters)"),
            ("q", "quit"),
        ),
    ),
)


def keys_markdown() -> str:
    """The key table as Markdown (docs/keys.md)."""
    out = ["# guestnet keys", ""]
    for section, rows in KEYS:
        out += [f"## {section}", "", "| key | action |", "|---|---|"]
        out += [f"| `{k}` | {a} |" for k, a in rows]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(keys_markdown(), end="")
