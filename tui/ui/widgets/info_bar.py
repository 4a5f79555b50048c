"""The header line: profile, vCenter host and version, API release, TLS state, marks."""

from __future__ import annotations

from textual.markup import escape
from textual.widgets import Static

from tui.ui.session import VCenter


class InfoBar(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("guestnet", id=id)
        self.profile = ""
        self.client: VCenter | None = None
        self.demo = False
        self.read_only = False
        self.marks = 0
        self.total = 0

    def set_session(self, profile: str, client: VCenter, demo: bool, read_only: bool) -> None:
        self.profile = profile
        self.client = client
        self.demo = demo
        self.read_only = read_only
        self.redraw()

    def set_counts(self, marks: int, total: int) -> None:
        if (marks, total) != (self.marks, self.total):
            self.marks, self.total = marks, total
            self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        wide = self.size.width >= 110
        parts: list[str] = []
        if self.demo:
            parts.append("[reverse b $warning] DEMO [/]")
        if wide:
            parts.append("[b]guestnet[/b]")
        parts.append(f"[b $accent]{escape(self.profile)}[/]")
        c = self.client
        if c is not None:
            port = "" if c.port == 443 else f":{c.port}"
            version = ""
            if c.about is not None:
                version = f" vCenter {c.about.version}" if wide else f" {c.about.version}"
            parts.append(f"{escape(c.host)}{port}{escape(version)}")
            parts.append(f"API {escape(c.release or '?')}")
            if c.tls_mode == "insecure":
                parts.append("[reverse b $error] TLS INSECURE [/]")
            else:
                parts.append(f"TLS {escape(c.tls_mode)}")
        if self.read_only:
            parts.append("[b $warning]read-only[/]")
        parts.append(f"{self.total} VMs")
        parts.append(f"[b]{self.marks} marked[/b]" if self.marks else "0 marked")
        self.update(" │ ".join(parts))
