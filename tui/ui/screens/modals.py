"""Modals: vCenter password, certificate trust, start (guest credentials), watch patterns,
confirmation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import ClassVar, Literal

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from tui.vsphere.eligibility import preflight_reason
from tui.vsphere.match import GlobError, check_glob
from tui.vsphere.models import VM, GuestCredentials
from tui.vsphere.secret import Secret


class SecretInput(Input):
    """A masked input whose text never leaves it but through ``_take_password``: copy and cut
    are refused (they would send the password in clear to the terminal's clipboard, OSC 52)."""

    def __init__(self, *, placeholder: str, id: str) -> None:
        super().__init__(password=True, placeholder=placeholder, id=id)

    def action_copy(self) -> None:
        raise SkipAction()

    def action_cut(self) -> None:
        raise SkipAction()


def _take_password(field: Input) -> Secret:
    """Move the typed password into a Secret and wipe the widget's copy."""
    secret = Secret(field.value)
    field.value = ""
    return secret


class PasswordModal(ModalScreen[Secret | None]):
    """Masked vCenter password prompt. Enter submits, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, problem: str | None = None) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.problem = problem

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(escape(self.title_text), classes="dialog-title")
            if self.problem:
                yield Static(escape(self.problem), classes="dialog-error")
            yield SecretInput(placeholder="password", id="password")
            yield Static("Enter connects · Escape cancels", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def submit(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(_take_password(event.input))

    def action_cancel(self) -> None:
        self.query_one("#password", Input).value = ""
        self.dismiss(None)


TrustChoice = Literal["once", "pin"]


def split_thumbprint(tp: str) -> str:
    """A SHA-256 colon-hex thumbprint on two lines of 16 bytes, so it never wraps mid-byte."""
    parts = tp.split(":")
    if len(parts) <= 16:
        return tp
    return ":".join(parts[:16]) + ":\n" + ":".join(parts[16:])


class TrustModal(ModalScreen[TrustChoice | None]):
    """An untrusted certificate: show its SHA-256 thumbprint; trust once, pin, or cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "cancel", "Cancel"),
        Binding("t", "choose('once')", "Trust once"),
        Binding("p", "choose('pin')", "Pin into profile"),
    ]

    def __init__(self, host: str, thumbprint: str, reason: str, can_pin: bool = True) -> None:
        super().__init__(classes="modal")
        self.host = host
        self.thumbprint = thumbprint
        self.reason = reason
        self.can_pin = can_pin

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Untrusted certificate from {escape(self.host)}", classes="dialog-title")
            yield Static(escape(self.reason.split(";")[0]), classes="dialog-error")
            yield Static(
                "SHA-256 thumbprint presented by the server:\n"
                f"[b]{escape(split_thumbprint(self.thumbprint))}[/b]\n"
                "Compare it with vCenter's own (govc about.cert -thumbprint) before trusting it."
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Trust once (t)", id="once", variant="warning")
                if self.can_pin:
                    yield Button("Pin into profile (p)", id="pin", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "once":
            self.dismiss("once")
        elif event.button.id == "pin":
            self.dismiss("pin")
        else:
            self.dismiss(None)

    def action_choose(self, choice: str) -> None:
        if choice == "pin" and not self.can_pin:
            return
        self.dismiss("pin" if choice == "pin" else "once")

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class StartRequest:
    creds: GuestCredentials
    include_skipped: bool
    per_vcenter: bool = False  # ask again for each other vCenter of the VMs (several open)


def preflight(vms: list[VM]) -> tuple[list[VM], list[tuple[VM, str]]]:
    """Split into (ready, [(vm, why it would be skipped)])."""
    ready: list[VM] = []
    skipped: list[tuple[VM, str]] = []
    for vm in vms:
        why = preflight_reason(vm)
        if why is None:
            ready.append(vm)
        else:
            skipped.append((vm, why))
    return ready, skipped


class StartModal(ModalScreen[StartRequest | None]):
    """How many VMs, what pre-flight would skip and why, guest username and masked password."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        vms: list[VM],
        username: str,
        title: str = "Start guest network",
        note: str = "",
        check: bool = True,
        headline: str | None = None,
        info: str = "",
        sites: tuple[str, ...] = (),
    ) -> None:
        """``headline`` replaces "TITLE on N VMs" and ``info`` says more under it (the watch
        asks for credentials with no VM list); ``note`` is a problem to show; ``check=False``:
        no pre-flight; ``sites``: the vCenters of the VMs, when several are open (more than
        one: a tick asks a guest password per vCenter)."""
        super().__init__(classes="modal")
        self.sites = sites
        self.vms = vms
        self.username = username
        self.title_text = title
        self.note = note
        self.info = info
        self.check = check
        n = len(vms)
        self.headline = headline or f"{title} on {n} VM{'s' if n != 1 else ''}"
        self.ready, self.skipped = preflight(vms) if check else (list(vms), [])

    def compose(self) -> ComposeResult:
        n = len(self.vms)
        with Vertical(classes="dialog", id="start-dialog"):
            yield Label(escape(self.headline), classes="dialog-title")
            if self.info:
                yield Static(escape(self.info), id="start-info")
            if self.note:
                yield Static(escape(self.note), classes="dialog-error")
            if self.skipped:
                reasons = Counter(why for _, why in self.skipped)
                lines = [
                    f"{len(self.ready)} ready; pre-flight would skip {len(self.skipped)}:",
                    *(f"  {c} × {escape(why)}" for why, c in reasons.most_common(5)),
                ]
                if len(reasons) > 5:
                    lines.append(f"  … and {len(reasons) - 5} other reasons")
                yield Static("\n".join(lines), id="preflight")
                yield Checkbox("Include them anyway", id="include")
            elif self.check:
                yield Static(f"All {n} pass pre-flight.", id="preflight")
            yield Label("Guest username")
            yield Input(value=self.username, placeholder="guest user", id="username")
            yield Label("Guest password")
            yield SecretInput(placeholder="guest password", id="guest-password")
            if len(self.sites) > 1:
                yield Checkbox(
                    f"These for {self.sites[0]}; ask again for {', '.join(self.sites[1:])}",
                    id="per-vcenter",
                )
            yield Static("", id="start-error", classes="dialog-error")
            yield Static(
                "Tab moves · Enter in password starts · Escape cancels", classes="dialog-help"
            )

    def on_mount(self) -> None:
        target = "#guest-password" if self.username else "#username"
        self.query_one(target, Input).focus()

    @on(Input.Submitted, "#username")
    def username_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#guest-password", Input).focus()

    @on(Input.Submitted, "#guest-password")
    def submit(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#start-error", Static)
        username = self.query_one("#username", Input).value.strip()
        if not username:
            error.update("A guest username is required.")
            self.query_one("#username", Input).focus()
            return
        if not event.input.value:
            error.update("A guest password is required.")
            return
        include = bool(self.skipped) and self.query_one("#include", Checkbox).value
        if self.check and not self.ready and not include:
            error.update("Every VM would be skipped: tick “Include them anyway” or cancel.")
            return
        per_vcenter = len(self.sites) > 1 and self.query_one("#per-vcenter", Checkbox).value
        creds = GuestCredentials(username=username, password=_take_password(event.input))
        self.dismiss(StartRequest(creds=creds, include_skipped=include, per_vcenter=per_vcenter))

    def action_cancel(self) -> None:
        self.query_one("#guest-password", Input).value = ""
        self.dismiss(None)


@dataclass(frozen=True)
class WatchRequest:
    patterns: tuple[str, ...]
    settle: float


def parse_watch(patterns: str, settle: str) -> WatchRequest:
    """The watch dialog's fields; ``ValueError`` with one line saying what is wrong."""
    globs = tuple(check_glob(p) for p in patterns.split())
    if not globs:
        raise GlobError("at least one VM pattern is needed, e.g. *-ic-*")
    try:
        seconds = float(settle)
    except ValueError:
        raise ValueError(f"settle: expected seconds, got {settle!r}") from None
    if not 0 <= seconds <= 3600:
        raise ValueError("settle: between 0 and 3600 seconds")
    return WatchRequest(globs, seconds)


class WatchModal(ModalScreen[WatchRequest | None]):
    """The patterns to watch (globs over name or path) and the settle delay."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, patterns: str, settle: float) -> None:
        super().__init__(classes="modal")
        self.patterns = patterns
        self.settle = settle

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="watch-dialog"):
            yield Label("Watch: start matching VMs as they appear", classes="dialog-title")
            yield Static(
                "VM patterns, space-separated: a name glob (web-ic-*) or an inventory path "
                "(/DC/vm/pool/*). Each match is started once it is ready and has stayed "
                "ready for the settle delay."
            )
            yield Label("Patterns")
            yield Input(value=self.patterns, placeholder="*-ic-*", id="watch-patterns")
            yield Label("Settle seconds")
            yield Input(value=f"{self.settle:g}", id="watch-settle")
            yield Static("", id="watch-error", classes="dialog-error")
            yield Static("Tab moves · Enter continues · Escape cancels", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#watch-patterns", Input).focus()

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        event.stop()
        patterns = self.query_one("#watch-patterns", Input).value
        settle = self.query_one("#watch-settle", Input).value.strip()
        try:
            request = parse_watch(patterns, settle)
        except ValueError as exc:
            self.query_one("#watch-error", Static).update(escape(str(exc)))
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """Yes/no. y or Enter confirms; n or Escape declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__(classes="modal")
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(escape(self.question), classes="dialog-title")
            if self.detail:
                yield Static(escape(self.detail))
            yield Static("y / Enter: yes · n / Escape: no", classes="dialog-help")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
