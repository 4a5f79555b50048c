"""The profile picker: one line per profile, then one per group. Enter on a profile posts
``ProfileChosen`` (the app connects); space marks profiles, and Enter with marks — or on a
group — posts ``ProfilesChosen``: one view over all their vCenters."""

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
    from tui.config.groups import Group
    from tui.config.profiles import Profile

GROUP_PREFIX = "group:"  # the option id of a group's line
MARK = "●"


def profile_line(p: Profile, marked: bool = False) -> str:
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
    mark = f"[b $accent]{MARK}[/] " if marked else ""
    return (
        f"{mark}[b]{escape(p.name)}[/b]  {escape(p.username)}@{escape(p.host)}{port}\n"
        f"  {tls} [dim]· {escape(p.origin)}[/]"
    )


def group_line(g: Group) -> str:
    return (
        f"[b]{escape(g.name)}[/b]  [dim]group:[/] {escape(', '.join(g.profiles))}\n"
        f"  one view over {len(g.profiles)} vCenters [dim]· {escape(g.origin)}[/]"
    )


class PickerScreen(Screen[None]):
    class ProfileChosen(Message):
        """The admin chose ``profile`` (Enter on its line): connect to it."""

        def __init__(self, profile: Profile) -> None:
            super().__init__()
            self.profile = profile

    class ProfilesChosen(Message):
        """Several profiles (marked), or a group: open one view over all their vCenters."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark"),
        Binding("q", "app.quit", "Quit"),
        Binding("question_mark", "app.help", "Help"),
    ]

    def __init__(
        self,
        profiles: Mapping[str, Profile],
        problem: str | None,
        hint: str,
        selected: str | None = None,
        groups: Mapping[str, Group] | None = None,
    ) -> None:
        super().__init__(id="picker")
        self.profiles = profiles  # the app's own mapping: a pinned thumbprint shows up here
        self.groups = groups or {}
        self.marked: list[str] = []  # marked profiles, in the order marked
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
            "Enter connects · space marks several: one view over their vCenters · "
            "profiles come from profiles.yaml and GOVC_URL (govc-env)",
            id="picker-help",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.set_profiles(self.profiles, self.problem, self.hint)
        if self.selected:
            self.select(self.selected)

    def set_profiles(self, profiles: Mapping[str, Profile], problem: str | None, hint: str) -> None:
        self.names = list(profiles)
        self.marked = [n for n in self.marked if n in profiles]
        ol = self.query_one(OptionList)
        keep = ol.highlighted
        ol.clear_options()
        ol.add_options(
            [Option(profile_line(p, name in self.marked), id=name) for name, p in profiles.items()]
        )
        ol.add_options(
            [Option(group_line(g), id=f"{GROUP_PREFIX}{name}") for name, g in self.groups.items()]
        )
        msg = self.query_one("#picker-problem", Static)
        if problem:
            msg.update(f"[b $error]{escape(problem)}[/]")
        elif not profiles:
            msg.update(escape(hint))
        else:
            msg.update("")
        if profiles:
            ol.highlighted = keep if keep is not None and keep < ol.option_count else 0
        ol.focus()

    def set_status(self, text: str) -> None:
        self.query_one("#picker-status", Static).update(escape(text))

    def select(self, name: str) -> None:
        if name in self.names:
            self.query_one(OptionList).highlighted = self.names.index(name)

    def action_mark(self) -> None:
        """Mark or unmark the highlighted profile (a group is not marked: Enter opens it)."""
        ol = self.query_one(OptionList)
        if ol.highlighted is None:
            return
        name = ol.get_option_at_index(ol.highlighted).id
        if name is None or name not in self.profiles:
            return
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
        self.set_profiles(self.profiles, self.problem, self.hint)
        self.set_status(
            f"{len(self.marked)} marked: Enter opens them in one view" if self.marked else ""
        )

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        oid = event.option.id or ""
        if oid.startswith(GROUP_PREFIX):
            self.post_message(self.ProfilesChosen([oid.removeprefix(GROUP_PREFIX)]))
            return
        if self.marked:
            names = [n for n in self.names if n in self.marked]
            self.post_message(self.ProfilesChosen(names))
            return
        profile = self.profiles.get(oid)
        if profile is not None:
            self.post_message(self.ProfileChosen(profile))
