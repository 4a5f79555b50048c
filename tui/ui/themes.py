"""Themes as YAML files mapped onto Textual ``Theme``.

Format (every colour is a CSS colour: ``#rrggbb``, ``rgb(…)``, a name, or ``ansi_red`` etc.)::

    name: guestnet-dark        # required, unique
    dark: true                 # optional, default true
    ansi: false                # optional: true = use the terminal's own 16 colours
    primary: "#3b82f6"         # required
    secondary: …               # optional: warning, error, success, accent, foreground,
                               #   background, surface, panel, boost
    variables:                 # optional: extra Textual CSS variables
      footer-key-foreground: "#93c5fd"

Shipped themes live in the ``tui.themes`` package; user themes in ``paths.themes_dir()``
(``~/.config/guestnet/themes/*.yaml``). A broken file is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "guestnet-dark"
COLOR_KEYS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
ALLOWED = frozenset({"name", "dark", "ansi", "variables", *COLOR_KEYS})


class ThemeError(ValueError):
    """One line naming the file and what is wrong."""


def _color(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ThemeError(f"{where}: {key} must be a colour string")
    text = value.strip()
    if text.startswith("ansi_"):
        return text
    try:
        Color.parse(text)
    except ColorParseError:
        raise ThemeError(f"{where}: {key}: {text!r} is not a colour") from None
    return text


def theme_from_mapping(data: Any, where: str) -> Theme:
    if not isinstance(data, dict):
        raise ThemeError(f"{where}: expected a mapping of theme keys")
    unknown = sorted(set(map(str, data)) - ALLOWED)
    if unknown:
        raise ThemeError(f"{where}: unknown key {unknown[0]!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeError(f"{where}: name is required")
    if "primary" not in data:
        raise ThemeError(f"{where}: primary is required")
    colors = {k: _color(where, k, data[k]) for k in COLOR_KEYS if k in data}
    dark = data.get("dark", True)
    ansi = data.get("ansi", False)
    if not isinstance(dark, bool):
        raise ThemeError(f"{where}: dark must be true or false")
    if not isinstance(ansi, bool):
        raise ThemeError(f"{where}: ansi must be true or false")
    variables = data.get("variables", {}) or {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ThemeError(f"{where}: variables must map names to strings")
    return Theme(
        name=name.strip(),
        primary=colors["primary"],
        secondary=colors.get("secondary"),
        warning=colors.get("warning"),
        error=colors.get("error"),
        success=colors.get("success"),
        accent=colors.get("accent"),
        foreground=colors.get("foreground"),
        background=colors.get("background"),
        surface=colors.get("surface"),
        panel=colors.get("panel"),
        boost=colors.get("boost"),
        dark=dark,
        ansi=ansi,
        variables=dict(variables),
    )


def load_theme_text(text: str, where: str) -> Theme:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ThemeError(f"{where}{line}: {problem}") from None
    return theme_from_mapping(data, where)


def shipped_themes() -> list[Theme]:
    out: list[Theme] = []
    for entry in sorted(files("tui.themes").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            out.append(load_theme_text(entry.read_text(encoding="utf-8"), f"themes/{entry.name}"))
    return out


def user_themes(directory: Path) -> tuple[list[Theme], list[str]]:
    """Themes from ``directory/*.yaml`` and one error line per broken file."""
    themes: list[Theme] = []
    errors: list[str] = []
    if not directory.is_dir():
        return themes, errors
    for path in sorted(directory.glob("*.yaml")):
        try:
            themes.append(load_theme_text(path.read_text(encoding="utf-8"), str(path)))
        except ThemeError as exc:
            errors.append(str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"{path}: cannot read ({exc.__class__.__name__})")
    return themes, errors


def theme_names(themes: Iterable[Theme]) -> list[str]:
    return [t.name for t in themes]
