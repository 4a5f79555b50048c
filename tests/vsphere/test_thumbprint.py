"""The one thumbprint rule (tui/vsphere/tls.py), used by the client's pins and by profiles."""

from __future__ import annotations

import pytest

from tui.vsphere import SpecError, TLSSpec, normalize_thumbprint
from tui.vsphere.tls import build_context, thumbprint_pin

SHA256 = ":".join(f"{i:02x}" for i in range(0xA0, 0xC0))  # lower case, 32 bytes
SHA1 = ":".join(f"{i:02X}" for i in range(0xE0, 0xF4))  # upper case, 20 bytes: E0:E1:…:F3


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (SHA256, SHA256.upper()),
        (SHA256.upper(), SHA256.upper()),
        (SHA1, SHA1),
        (SHA1.lower(), SHA1),
        ("e0:E1:" + SHA1[6:].lower(), SHA1),  # mixed case
        (SHA1[:-2] + "f3", SHA1),
        (SHA256[:-2] + "bF", SHA256[:-2].upper() + "BF"),  # mixed case within a pair
        (f" \t{SHA256}\n", SHA256.upper()),  # surrounding whitespace is ignored
    ],
)
def test_accepted_forms_become_upper_colon_hex(given: str, expected: str) -> None:
    assert normalize_thumbprint(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "   ",
        SHA256.replace(":", ""),  # hex without colons (govc writes colons)
        SHA1.replace(":", ""),
        SHA1.replace(":", "-"),  # other separators
        SHA1.replace(":", " "),
        SHA1[:3] + " " + SHA1[3:],  # whitespace inside
        SHA1[:-3],  # 19 bytes
        SHA1 + ":AB",  # 21 bytes
        ":".join(["AB"] * 31),
        ":".join(["AB"] * 33),
        SHA1 + ":",  # trailing colon
        ":" + SHA1,
        "A:" + SHA1[3:] + ":B",  # one-digit pairs (still 20 parts)
        "ABC:" + SHA1[3:],  # a three-digit pair
        SHA1[:-2] + "ZZ",  # not hex
        SHA1[:-2] + "ＡＢ",  # full-width letters are not hex digits
        SHA1[:-2] + "٠١",  # nor are other scripts' digits
        "0x" + SHA1,
    ],
)
def test_everything_else_is_rejected(given: str) -> None:
    assert normalize_thumbprint(given) is None
    with pytest.raises(SpecError, match="invalid thumbprint"):
        thumbprint_pin(given)


def test_pin_names_the_algorithm_by_length() -> None:
    assert thumbprint_pin(SHA256) == ("sha256", SHA256.upper())
    assert thumbprint_pin(f" {SHA1.lower()} ") == ("sha1", SHA1)


def test_invalid_pin_message_is_one_short_line() -> None:
    with pytest.raises(SpecError) as ei:
        thumbprint_pin("AB" * 100)
    msg = str(ei.value)
    assert "\n" not in msg and "..." in msg and len(msg) < 250
    assert "SHA-256 (32 bytes) or SHA-1 (20 bytes)" in msg and "colon hex" in msg


def test_a_tls_spec_pin_follows_the_rule() -> None:
    _, mode, rec = build_context(TLSSpec(thumbprint=SHA1.lower()))
    assert mode == "pinned" and rec.pin == ("sha1", SHA1)
    with pytest.raises(SpecError, match="invalid thumbprint"):
        build_context(TLSSpec(thumbprint=SHA1.replace(":", "")))


def test_profiles_use_the_same_function() -> None:
    from tui.config import profiles

    assert profiles.normalize_thumbprint is normalize_thumbprint
