"""The client's structure: who may import whom, and which exceptions are user-facing."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import tui
from tui.vsphere.errors import GuestnetError, InternalSignal
from tui.vsphere.transport import SessionRenewed

PACKAGE = Path(__file__).resolve().parents[2] / "tui" / "vsphere"


def _imports(path: Path) -> set[str]:
    """The tui.vsphere modules a file imports (also under TYPE_CHECKING, also function-local)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "tui.vsphere":
                found |= {a.name for a in node.names}
            elif node.module.startswith("tui.vsphere."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("tui.vsphere.")}
    return found


def _graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports (``__init__``, the lazy façade, left out)."""
    return {p.stem: _imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def test_the_scan_sees_imports() -> None:
    g = _graph()
    assert {"inventory", "tasks", "task", "updates", "services"} <= g["client"]
    assert "property" in g["updates"] and "property" in g["task"]


def test_no_module_imports_the_client() -> None:
    g = _graph()
    offenders = sorted(m for m, deps in g.items() if m != "client" and "client" in deps)
    assert offenders == [], f"these modules import tui.vsphere.client: {offenders}"


def test_the_package_has_no_import_cycle() -> None:
    g = _graph()
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        if m in path:
            cycle = " -> ".join([*path[path.index(m) :], m])
            raise AssertionError(f"import cycle: {cycle}")
        if m in done or m not in g:
            return
        for dep in sorted(g[m]):
            visit(dep, [*path, m])
        done.add(m)

    for m in sorted(g):
        visit(m, [])


def _all_subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    todo = [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in out:
                out.add(sub)
                todo.append(sub)
    return out


def _import_every_tui_module() -> None:
    for info in pkgutil.walk_packages(tui.__path__, "tui."):
        if info.name != "tui.__main__":
            importlib.import_module(info.name)


def test_every_user_facing_error_is_defined_in_errors_py() -> None:
    _import_every_tui_module()
    ours = {c for c in _all_subclasses(GuestnetError) if c.__module__.startswith("tui.")}
    assert len(ours) >= 9  # the scan really finds the tree
    elsewhere = sorted(f"{c.__module__}.{c.__qualname__}" for c in ours)
    elsewhere = [n for n in elsewhere if not n.startswith("tui.vsphere.errors.")]
    assert elsewhere == [], f"user-facing errors outside tui/vsphere/errors.py: {elsewhere}"


def test_profile_error_is_still_importable_from_profiles() -> None:
    from tui.config.profiles import ProfileError
    from tui.vsphere import errors

    assert ProfileError is errors.ProfileError and issubclass(ProfileError, GuestnetError)


def test_internal_signals_are_not_user_facing_errors() -> None:
    _import_every_tui_module()
    assert issubclass(SessionRenewed, InternalSignal)
    assert not issubclass(SessionRenewed, GuestnetError)
    signals = _all_subclasses(InternalSignal)
    assert SessionRenewed in signals
    assert [s for s in signals if issubclass(s, GuestnetError)] == []
