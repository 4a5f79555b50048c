"""The command palette's entries for the main screen: every action, each sort order."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import SystemCommand

from tui.ui.screens.main import MainScreen


def main_commands(main: MainScreen, profiles: Callable[[], Any]) -> Iterable[SystemCommand]:
    """The main screen's actions for the command palette (``profiles``: the app's way back to
    the picker)."""
    cmds: list[tuple[str, str, Callable[[], Any]]] = [
        ("Filter VMs", "Focus the filter (/)", main.action_filter),
        ("Clear filter", "Show every VM (escape)", main.action_clear_filter),
        (
            "Mark all matching",
            "Mark every VM matching the filter (ctrl+a)",
            main.action_mark_all,
        ),
        ("Clear marks", "Unmark every VM (u)", main.action_unmark),
        (
            "Mark all VMs with a duplicate address",
            "Every VM sharing an IP or MAC with another VM (filter :dup shows them)",
            main.action_mark_duplicates,
        ),
        ("Start guest network", "On the marked VMs or the cursor row (s)", main.action_start),
        _watch_command(main),
        ("Retry failed", "Retry the failed VMs of the shown batch (r)", main.action_retry),
        ("Cancel tasks", "Cancel the selected task or all queued ones (c)", main.action_cancel),
        (
            "Abort customization",
            "AbortCustomization_Task on a VM (A)",
            main.action_abort,
        ),
        ("Copy fault as JSON", "To the clipboard via OSC 52 (y)", main.action_copy_fault),
        (
            "Save fault to file",
            "Write the shown fault as JSON into the current directory",
            lambda: main.save_fault(Path.cwd()),
        ),
        ("Re-sync inventory", "Full re-read of every VM (ctrl+r)", main.action_resync),
        (
            "Older batch",
            "Previous batch in the task pane ([)",
            main.task_pane.action_older,
        ),
        ("Newer batch", "Next batch in the task pane (])", main.task_pane.action_newer),
        ("Profiles", "Log out and go back to the profile picker (p)", profiles),
        ("Mark / unmark", "Toggle the mark on the cursor row (space)", main.action_mark),
        ("Show VMs", "The VM table (1)", partial(main.action_show_pane, "vms")),
        ("Show tasks", "The task pane (2)", partial(main.action_show_pane, "tasks")),
        ("Show fault", "The fault pane (3)", partial(main.action_show_pane, "fault")),
    ]
    if main.store.sites:
        cmds.append(
            (
                "vCenters: state of each",
                "Each vCenter's state, version, API release and TLS, or why it is out",
                main.show_vcenters,
            )
        )
        cmds.append(
            ("Show / hide the vCenter column", "The VCENTER column (V)", main.action_toggle_vcenter)
        )
    for col in main.sortable_columns():  # the shown columns: no host sort when it is hidden
        for rev in (False, True):
            label = f"Sort by {col} {'descending' if rev else 'ascending'}"
            cmds.append((label, "Sort the VM table", partial(main.sort_by, col, rev)))
    for title, help_text, cb in cmds:
        yield SystemCommand(title, help_text, cb)


def _watch_command(main: MainScreen) -> tuple[str, str, Callable[[], Any]]:
    watch = main.watch_control
    if watch.on and watch.batch is not None:
        patterns = " ".join(watch.batch.watch)
        return (f"Watch: stop watching {patterns}", "Turn the watch off (w)", main.action_watch)
    return (
        "Watch: start matching VMs as they appear",
        "Start the guest network on VMs matching the filter as they appear (w)",
        main.action_watch,
    )
