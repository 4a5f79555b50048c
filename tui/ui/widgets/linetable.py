"""A virtual table on Textual's Line API: only the visible lines are ever rendered.

Rows are not widgets and not stored here: a subclass answers ``row_count()``, ``row_key(i)`` and
``row_cells(i)``. That keeps a 50,000-row table as cheap as a 50-row one; filtering or sorting is
a new list of keys in the subclass plus one ``refresh()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int  # fixed cell width; for the flex column, its minimum
    flex: bool = False  # shares the width that is left, by weight
    weight: int = 1
    middle: bool = False  # cut in the middle (keeps a name's distinguishing suffix)


Cell = tuple[str, str | None]  # text, component class suffix ("good", "bad", "warn", "dim", "mark")


def fit(text: str, width: int, middle: bool = False) -> str:
    """Pad or cut ``text`` to exactly ``width`` cells, marking a cut with an ellipsis."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    if middle and width >= 5 and text.isascii():
        tail = (width - 1) // 2
        return text[: width - 1 - tail] + "…" + text[len(text) - tail :]
    return set_cell_size(text, width - 1) + "…"


def layout_columns(columns: list[Column], width: int) -> list[int]:
    """Cell widths for ``columns`` in ``width`` cells (one space between columns)."""
    gaps = max(0, len(columns) - 1)
    fixed = sum(c.width for c in columns if not c.flex)
    total_weight = sum(c.weight for c in columns if c.flex) or 1
    left = max(0, width - fixed - gaps)
    widths: list[int] = []
    given = 0
    last_flex = max((i for i, c in enumerate(columns) if c.flex), default=-1)
    for i, c in enumerate(columns):
        if not c.flex:
            widths.append(c.width)
            continue
        share = left - given if i == last_flex else left * c.weight // total_weight
        given += share
        widths.append(max(c.width, share))
    return widths


class LineTable(ScrollView, can_focus=True):
    """Header line plus virtual rows; cursor by row index, kept in view."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "linetable--header",
        "linetable--cursor",
        "linetable--cursor-blur",
        "linetable--good",
        "linetable--bad",
        "linetable--warn",
        "linetable--dim",
        "linetable--mark",
        "linetable--accent",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class CursorMoved(Message):
        def __init__(self, table: LineTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._widths: list[int] = []
        self._columns: list[Column] = []
        self._last_key: str | None = None
        self._part_cache: dict[str, Style] = {}

    # -- for subclasses -----------------------------------------------------------------------
    def columns_for(self, width: int) -> list[Column]:
        raise NotImplementedError

    def row_count(self) -> int:
        raise NotImplementedError

    def row_key(self, index: int) -> str:
        raise NotImplementedError

    def row_cells(self, index: int) -> list[Cell]:
        raise NotImplementedError

    # -- public -------------------------------------------------------------------------------
    @property
    def content_width(self) -> int:
        """Cells a row may use: the width left of the vertical scrollbar when one is shown
        (``size`` includes the scrollbar's column, which would hide a row's last cell)."""
        return self.scrollable_content_region.width

    @property
    def cursor_key(self) -> str | None:
        n = self.row_count()
        if n == 0:
            return None
        return self.row_key(min(self.cursor, n - 1))

    def rows_changed(self) -> None:
        """The set or order of rows changed: resize the scroll area and redraw."""
        n = self.row_count()
        self.virtual_size = Size(self.content_width, n + 1)
        if self.cursor >= n:
            self.cursor = max(0, n - 1)
        else:
            self._announce()
        self.refresh()

    def column_width(self, key: str) -> int | None:
        """The laid-out width of column ``key`` while rows render (``row_cells`` may pick a
        shorter wording instead of being cut), or None before the first layout."""
        for column, width in zip(self._columns, self._widths, strict=False):
            if column.key == key:
                return width
        return None

    def refresh_row(self, index: int) -> None:
        """Redraw one row if it is on screen."""
        top = round(self.scroll_offset.y)
        if top <= index < top + self.size.height - 1:
            self.refresh_line(index + 1)

    def move_cursor_to(self, index: int) -> None:
        n = self.row_count()
        self.cursor = max(0, min(index, n - 1)) if n else 0

    # -- cursor -------------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        n = self.row_count()
        return max(0, min(value, n - 1)) if n else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh_row(old)
        self.refresh_row(new)
        self._announce()

    def _announce(self) -> None:
        key = self.cursor_key
        if key != self._last_key:
            self._last_key = key
            self.post_message(self.CursorMoved(self, key))

    def _page(self) -> int:
        return max(1, self.size.height - 2)

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = round(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        self.cursor -= self._page()

    def action_page_down(self) -> None:
        self.cursor += self._page()

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = self.row_count() - 1

    # -- rendering ----------------------------------------------------------------------------
    def on_resize(self) -> None:
        self.virtual_size = Size(self.content_width, self.row_count() + 1)
        self._columns = []
        self._scroll_cursor_into_view()

    def on_click(self, event: Click) -> None:
        """The mouse is optional, but a click on a row selects it."""
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:
            self.cursor = round(self.scroll_offset.y) + offset.y - 1

    def notify_style_update(self) -> None:
        self._part_cache.clear()
        super().notify_style_update()

    def _part(self, name: str) -> Style:
        """The Rich style of a component class, its translucent colours composited over this
        widget's background (Rich styles have no alpha: ``$primary 25%`` would otherwise be
        drawn as solid ``$primary``)."""
        style = self._part_cache.get(name)
        if style is None:
            styles = self.get_component_styles(name)
            base = self.background_colors[1]
            color = bgcolor = None
            if styles.has_rule("background") and styles.background.a > 0:
                bgcolor = (base + styles.background).rich_color
            if styles.has_rule("color") and styles.color.a > 0:
                under = base + styles.background if bgcolor is not None else base
                color = (under + styles.color).rich_color
            style = Style(color=color, bgcolor=bgcolor) + styles.text_style
            self._part_cache[name] = style
        return style

    def on_focus(self) -> None:
        self.refresh_row(self.cursor)

    def on_blur(self) -> None:
        self.refresh_row(self.cursor)

    def _layout(self, width: int) -> tuple[list[Column], list[int]]:
        if not self._columns or sum(self._widths) + len(self._widths) - 1 != width:
            self._columns = self.columns_for(width)
            self._widths = layout_columns(self._columns, width)
        return self._columns, self._widths

    def render_line(self, y: int) -> Strip:
        width = self.content_width
        base = self.rich_style
        columns, widths = self._layout(width)
        if y == 0:
            style = base + self._part("linetable--header")
            text = " ".join(fit(c.label, w) for c, w in zip(columns, widths, strict=True))
            return Strip([Segment(text, style)]).adjust_cell_length(width, style)
        index = round(self.scroll_offset.y) + y - 1
        if index >= self.row_count():
            return Strip.blank(width, base)
        on_cursor = index == self.cursor
        row_style = base
        if on_cursor:
            name = "linetable--cursor" if self.has_focus else "linetable--cursor-blur"
            row_style = base + self._part(name)
        segments: list[Segment] = []
        cells = self.row_cells(index)
        last = len(widths) - 1
        for i, ((text, cls), w, col) in enumerate(zip(cells, widths, columns, strict=False)):
            style = row_style
            if cls is not None:
                part = self._part(f"linetable--{cls}")
                style = row_style + part if not on_cursor else row_style + Style(bold=part.bold)
            segments.append(Segment(fit(text, w, col.middle), style))
            if i != last:
                segments.append(Segment(" ", row_style))
        return Strip(segments).adjust_cell_length(width, row_style)
