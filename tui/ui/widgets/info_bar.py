"""The header line: profile, vCenter host and version, API release, TLS state, watch, marks."""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from textual.markup import escape
from textual.widgets import Static

from tui.ui.session import VCenter
from tui.ui.widgets.linetable import fit

SEP = " │ "
# Parts left out, in this order, while the line is wider than the terminal (the VM count is
# also in the filter row; what is loud — DEMO, insecure TLS, read-only, WATCH — and the marks
# stay).
DROP_ORDER = ("api", "tls", "version", "vms")
WATCH_WIDTH = 24  # the watched patterns beyond this are cut


class Part(NamedTuple):
    key: str
    markup: str
    plain: str
    joiner: str  # put before it: " │ ", or " " for the version after the host


class InfoBar(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("guestnet", id=id)
        self.profile = ""
        self.client: VCenter | None = None
        self.demo = False
        self.read_only = False
        self.marks = 0
        self.total = 0
        self.watching: tuple[str, ...] = ()

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

    def set_watch(self, patterns: tuple[str, ...]) -> None:
        """``WATCH <patterns>`` while a watcher runs (empty: none)."""
        if patterns != self.watching:
            self.watching = patterns
            self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def parts(self, wide: bool) -> list[Part]:
        """Every part, left to right."""
        parts: list[Part] = []

        def add(key: str, plain: str, markup: str | None = None, joiner: str = SEP) -> None:
            parts.append(Part(key, escape(plain) if markup is None else markup, plain, joiner))

        if self.demo:
            add("demo", " DEMO ", "[reverse b $warning] DEMO [/]")
        if wide:
            add("app", "guestnet", "[b]guestnet[/b]")
        add("profile", self.profile, f"[b $accent]{escape(self.profile)}[/]")
        c = self.client
        if c is not None:
            port = "" if c.port == 443 else f":{c.port}"
            add("host", f"{c.host}{port}")
            if c.about is not None:
                version = f"vCenter {c.about.version}" if wide else c.about.version
                add("version", version, joiner=" ")
            add("api", f"API {c.release or '?'}")
            if c.tls_mode == "insecure":
                add("insecure", " TLS INSECURE ", "[reverse b $error] TLS INSECURE [/]")
            else:
                add("tls", f"TLS {c.tls_mode}")
        if self.read_only:
            add("read-only", "read-only", "[b $warning]read-only[/]")
        if self.watching:
            text = f"WATCH {fit(' '.join(self.watching), WATCH_WIDTH).rstrip()}"
            add("watch", f" {text} ", f"[reverse b $accent] {escape(text)} [/]")
        add("vms", f"{self.total} VMs")
        marked = f"{self.marks} marked"
        add("marks", marked, f"[b]{marked}[/b]" if self.marks else None)
        return parts

    def redraw(self) -> None:
        width = self.size.width
        parts = self.parts(wide=width >= 110)
        for key in DROP_ORDER:
            if cell_len(_join(parts, plain=True)) <= width:
                break
            parts = [p for p in parts if p.key != key]
        over = cell_len(_join(parts, plain=True)) - width
        if over > 0:  # still too wide: cut the host name in the middle
            parts = [
                p._replace(markup=escape(short), plain=short)
                if p.key == "host" and (short := fit(p.plain, max(8, len(p.plain) - over), True))
                else p
                for p in parts
            ]
        self.update(_join(parts, plain=False))


def _join(parts: list[Part], *, plain: bool) -> str:
    return "".join(
        (p.joiner if i else "") + (p.plain if plain else p.markup) for i, p in enumerate(parts)
    )
