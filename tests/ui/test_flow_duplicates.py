"""Duplicate addresses in the VM table, against the simulator over real HTTPS: the DUP column,
the line naming the sharers, the ``:dup`` filter, sorting, the palette's mark-all, and flags that
follow the live update stream.

The example inventory's instant clones wake up with their parent's address: web-golden and
web-01…06 share 10.0.10.5, api-01…03 share 10.0.20.5, and the identity folder's twin-ic-01/02
share twin-golden's address (twin-ic-01 its MAC too).
"""

from __future__ import annotations

from typing import Any

from tests.ui.helpers import main_screen, make_app, palette_offers, wait_for
from tests.ui.screen_text import screen_text
from tui.sim.server import SimServer

WEB = {"web-golden", *(f"web-0{i}" for i in range(1, 7))}
API = {"api-01", "api-02", "api-03"}
TWIN = {"twin-golden", "twin-ic-01", "twin-ic-02"}


def _names(main: Any, moids: Any) -> set[str]:
    return {main.store.vms[m].name for m in moids}


def _line(app: Any, name: str) -> str:
    return next((ln for ln in screen_text(app).splitlines() if f" {name} " in ln), "")


async def test_duplicates_flagged_filtered_sorted_and_marked(sim: SimServer) -> None:
    app, _ = make_app(sim, initial_profile="sim")
    async with app.run_test(size=(80, 24)) as pilot:
        main = await main_screen(pilot)
        index = main.store.addresses
        detail = main.query_one("#vm-detail")
        await wait_for(pilot, lambda: index.dup and detail.display, what="the address index")
        await pilot.pause()
        assert _names(main, index.dup) == WEB | API | TWIN
        text = screen_text(app)
        assert "DUP" in text.splitlines()[3]  # the table's header
        assert " dup " in _line(app, "api-01") and " dup " not in _line(app, "api-04")
        # the line under the table: whom the cursor VM (api-01) shares its address with …
        assert "api-01 shares 10.0.20.5 with api-02, api-03" in text
        await pilot.press("down", "down", "down")  # … or, on api-04, how many VMs do
        assert "13 VMs share an address with another VM · filter :dup lists them" in (
            screen_text(app)
        )
        # the cursor on a clone: the line names whom it shares its address with, parent first
        await pilot.press("slash", *"web-03", "enter")
        text = screen_text(app)
        assert "web-03 shares 10.0.10.5 with web-golden, web-01, web-02 and 3 more" in text
        # :dup alone, then with text
        await pilot.press("slash", "ctrl+u", *":dup")
        assert _names(main, main.store.visible) == WEB | API | TWIN
        assert f"{len(WEB | API | TWIN)} of {main.store.total}" in screen_text(app)
        await pilot.press(*" api")
        assert _names(main, main.store.visible) == API
        await pilot.press("escape")
        # sort by the DUP column: the duplicates first
        main.sort_by("dup", False)
        await pilot.pause()
        first = _names(main, main.store.visible[:13])
        assert first == WEB | API | TWIN and "DUP▲" in screen_text(app)
        # the palette marks them all
        await pilot.press("ctrl+p")
        await pilot.pause()
        title = "Mark all VMs with a duplicate address"
        await pilot.press(*"duplicate address")
        await wait_for(pilot, lambda: palette_offers(app, title), what="the palette entry")
        await pilot.press("enter")
        await wait_for(pilot, lambda: main.store.marks, what="marks")
        assert _names(main, main.store.marks) == WEB | API | TWIN
        # the flags follow the live stream: db-01 takes a clone's address, web-01 a new one
        sim.set_ip("db-01", "10.0.20.5")
        sim.set_ip("web-01", "10.0.10.99")
        await wait_for(
            pilot,
            lambda: _names(main, index.dup) == (WEB - {"web-01"}) | API | TWIN | {"db-01"},
            what="db-01 flagged and web-01 cleared",
        )
        assert " dup " in _line(app, "db-01") and " dup " not in _line(app, "web-01")
        await pilot.press("q")
