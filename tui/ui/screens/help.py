"""The help screen: every binding, grouped."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.ui.keys import KEYS


def help_text() -> str:
    width = max(len(k) for _, rows in KEYS for k, _ in rows)
    lines: list[str] = []
    for section, rows in KEYS:
        lines.append(f"[b $accent]{escape(section)}[/]")
        for key, action in rows:
            lines.append(f"  [b]{escape(key.ljust(width))}[/b]  {escape(action)}")
        lines.append("")
    lines.append("[dim]Escape, q or ? closes this screen.[/]")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="dialog"):
            yield Static("guestnet — keys", classes="dialog-title")
            yield Static(help_text())

    def on_mount(self) -> None:
        self.query_one("#help").focus()

    def action_close(self) -> None:
        self.dismiss(None)
