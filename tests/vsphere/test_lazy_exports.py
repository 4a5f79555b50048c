"""``tui.vsphere`` exports its names lazily: cheap value types, every public name still there."""

import subprocess
import sys

import tui.vsphere


def test_every_public_name_resolves() -> None:
    assert set(tui.vsphere.__all__) == set(tui.vsphere._EXPORTS)
    for name in tui.vsphere.__all__:
        assert getattr(tui.vsphere, name) is not None
    assert sorted(dir(tui.vsphere)) == sorted(tui.vsphere.__all__)


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        tui.vsphere.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_value_types_do_not_import_the_http_stack() -> None:
    code = (
        "import sys, tui.vsphere.models, tui.vsphere.errors, tui.vsphere.secret\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'tui.vsphere.client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
