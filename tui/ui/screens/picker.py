"""The profile picker: one line per profile; Enter posts ``ProfileChosen`` (the app connects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from tui.config.profiles import Profile


def profile_line(p: Profile) -> str:
    port = "" if p.port == 443 else f":{p.port}"
    flags: list[str] = [p.tls_mode]
    if p.read_only:
        flags.append("read-only")
    if p.root:
        flags.append(f"root {p.root}")
    tls = " ".join(flags)
    if p.tls_mode == "insecure":
        tls = f"[b $error]{escape(tls)}[/]"
    else:
        tls = escape(tls)
    return (
        f"[b]{escape(p.name)}[/b]  {escape(p.username)}@{escape(p.host)}{port}\n"
        f"  {tls} [dim]· {escape(p.origin)}[/]"
    )


class PickerScreen(Screen[None]):
    class ProfileChosen(Message):
        """The admin chose ``profile`` (Enter on its line): connect to it."""

        def __init__(self, profile: Profile) -> None:
            super().__init__()
            self.profile = profile

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(
        self,
        profiles: Mapping[str, Profile],
        problem: str | None,
        hint: str,
        selected: str | None = None,
    ) -> None:
        super().__init__(id="picker")
        self.profiles = profiles  # the app's own mapping: a pinned thumbprint shows up here
        self.problem = problem
        self.hint = hint
        self.selected = selected
        self.names: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("[b]guestnet[/b] — choose a vCenter profile", id="picker-title")
        yield Static("", id="picker-problem")
        yield OptionList(id="profiles")
        yield Static("", id="picker-status")
        yield Static(
            "Enter connects · profiles come from profiles.yaml and GOVC_URL (govc-env)",
            id="picker-help",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.set_profiles(self.profiles, self.problem, self.hint)
        if self.selected:
            self.select(self.selected)

    def set_profiles(self, profiles: Mapping[str, Profile], problem: str | None, hint: str) -> None:
        self.names = list(profiles)
        ol = self.query_one(OptionList)
        ol.clear_options()
        ol.add_options([Option(profile_line(p), id=name) for name, p in profiles.items()])
        msg = self.query_one("#picker-problem", Static)
        if problem:
            msg.update(f"[b $error]{escape(problem)}[/]")
        elif not profiles:
            msg.update(escape(hint))
        else:
            msg.update("")
        if profiles:
            ol.highlighted = 0
        ol.focus()

    def set_status(self, text: str) -> None:
        self.query_one("#picker-status", Static).update(escape(text))

    def select(self, name: str) -> None:
        if name in self.names:
            self.query_one(OptionList).highlighted = self.names.index(name)

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        profile = self.profiles.get(event.option.id) if event.option.id is not None else None
        if profile is not None:
            self.post_message(self.ProfileChosen(profile))
