"""Profile groups: validation (one line each, naming file, line and group) and resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.config.groups import Group, resolve_targets, unknown_name
from tui.config.profiles import ProfileError, load_profile_set, load_profiles

PROFILES = (
    "profiles:\n"
    "  lab: {host: vc.lab, username: u}\n"
    "  prod: {host: vc.prod, username: u}\n"
    "  staging: {host: vc.staging, username: u}\n"
)

# (name, the groups section, expected message after "<path>:")
CASES: list[tuple[str, str, str]] = [
    (
        "unknown-profile",
        "groups:\n  sites: [lab, labb]\n",
        "6: group 'sites': unknown profile 'labb' (did you mean 'lab'?)",
    ),
    (
        "unknown-profile-no-match",
        "groups:\n  sites:\n    - lab\n    - zzz\n",
        "8: group 'sites': unknown profile 'zzz' (known: lab, prod, staging)",
    ),
    (
        "empty-list",
        "groups:\n  sites: []\n",
        "6: group 'sites': is empty: list at least one profile, like 'sites: [lab, prod]'",
    ),
    (
        "empty-value",
        "groups:\n  sites:\n",
        "6: group 'sites': is empty: list at least one profile, like 'sites: [lab, prod]'",
    ),
    (
        "collides-with-profile",
        "groups:\n  prod: [lab]\n",
        "6: group 'prod': the name is taken by the profile on line 3; rename one",
    ),
    (
        "duplicate-member",
        "groups:\n  sites:\n    - lab\n    - prod\n    - lab\n",
        "9: group 'sites': profile 'lab' is listed twice (items 1 and 3)",
    ),
    (
        "not-a-list",
        "groups:\n  sites: lab\n",
        "6: group 'sites': expected a list of profile names, got a string ('lab'); write "
        "'sites: [lab]'",
    ),
    (
        "mapping-value",
        "groups:\n  sites: {lab: true}\n",
        "6: group 'sites': expected a list of profile names, got a mapping",
    ),
    (
        "member-not-a-string",
        "groups:\n  sites: [lab, 3]\n",
        "6: group 'sites': item 2 must be a profile name, got an integer (3)",
    ),
    (
        "member-is-a-group",
        "groups:\n  sites: [lab, prod]\n  all: [sites, staging]\n",
        "7: group 'all': 'sites' is a group: a group lists profiles only",
    ),
    (
        "section-not-a-mapping",
        "groups: [lab, prod]\n",
        "5: 'groups' must be a mapping of group names to lists of profiles, like "
        "'sites: [lab, prod]', got a list",
    ),
    (
        "bad-name",
        "groups:\n  'two words': [lab]\n",
        "6: invalid group name 'two words': use letters, digits, '.', '_' and '-'",
    ),
    (
        "reserved-name",
        "groups:\n  govc-env: [lab]\n",
        "6: group 'govc-env': the name 'govc-env' is reserved for the profile built from GOVC_URL",
    ),
    (
        "defined-twice",
        "groups:\n  sites: [lab]\n  sites: [prod]\n",
        "7: group 'sites': defined twice (group names must be unique)",
    ),
    (
        "yaml-syntax",
        "groups:\n  sites: [lab, prod\n",
        "7: group 'sites': invalid YAML: expected ',' or ']', but got '<stream end>'",
    ),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("groups", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_groups(tmp_path: Path, groups: str, expected: str) -> None:
    path = write(tmp_path, PROFILES + groups)
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    message = str(info.value)
    assert message == f"{path}:{expected}"
    assert "\n" not in message


def test_groups_load_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, PROFILES + "groups:\n  sites: [prod, lab]\n  labs:\n    - staging\n    - lab\n"
    )
    found = load_profile_set(path, env={})
    assert list(found.profiles) == ["lab", "prod", "staging"]
    sites, labs = found.groups["sites"], found.groups["labs"]
    assert (sites.profiles, sites.line, sites.origin) == (("prod", "lab"), 6, f"{path}:6")
    assert (labs.profiles, labs.item_lines) == (("staging", "lab"), (8, 9))
    assert labs.summary() == {
        "name": "labs",
        "profiles": ["staging", "lab"],
        "source": str(path),
        "line": 7,
    }
    assert load_profiles(path, env={}) == found.profiles  # the groups-free view is unchanged


def test_resolve_targets_keeps_order_and_drops_repeats(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILES + "groups:\n  sites: [prod, lab]\n  one: [staging]\n")
    found = load_profile_set(path, env={})
    names = [p.name for p in found.resolve(["staging", "sites", "lab", "one", "prod"])]
    assert names == ["staging", "prod", "lab"]
    assert [p.name for p in found.resolve(["sites"])] == ["prod", "lab"]
    assert found.resolve([]) == []
    with pytest.raises(ProfileError) as info:
        found.resolve(["site"])
    assert str(info.value) == "unknown profile or group 'site' (did you mean 'sites'?)"
    with pytest.raises(ProfileError) as info:
        found.resolve(["zzz"])
    assert (
        str(info.value)
        == "unknown profile or group 'zzz' (known: lab, prod, staging; groups: one, sites)"
    )


def test_group_with_govc_env_needs_govc_url(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILES + "groups:\n  mixed:\n    - lab\n    - govc-env\n")
    found = load_profile_set(path, env={})  # valid: govc-env may exist at run time
    with pytest.raises(ProfileError) as info:
        found.resolve(["mixed"])
    assert str(info.value) == (
        f"{path}:8: group 'mixed': profile 'govc-env' does not exist (GOVC_URL is not set)"
    )
    found = load_profile_set(path, env={"GOVC_URL": "u@vc.govc"})
    assert [p.name for p in found.resolve(["mixed"])] == ["lab", "govc-env"]


def test_unknown_name_without_groups_reads_as_before() -> None:
    assert str(unknown_name("labb", ["lab", "prod"])) == (
        "unknown profile 'labb' (did you mean 'lab'?)"
    )
    assert str(unknown_name("x", [])) == "unknown profile 'x' (known: none)"


def test_resolve_targets_with_plain_mappings() -> None:
    """The function the UI calls: profiles and groups by name, no file needed."""
    from tui.config.profiles import PasswordSource, Profile

    def prof(name: str) -> Profile:
        return Profile(
            name=name, host=f"vc.{name}", username="u", password_source=PasswordSource("prompt")
        )

    profiles = {n: prof(n) for n in ("a", "b", "c")}
    groups = {"ab": Group("ab", ("a", "b")), "cb": Group("cb", ("c", "b"))}
    assert [p.name for p in resolve_targets(profiles, groups, ["cb", "ab"])] == ["c", "b", "a"]
    with pytest.raises(ProfileError) as info:
        resolve_targets(profiles, {"bad": Group("bad", ("a", "zz"))}, ["bad"])
    assert str(info.value) == "group 'bad': profile 'zz' does not exist (it is not defined)"


def test_at_least_ten_group_cases() -> None:
    assert len(CASES) >= 10


def test_example_file_shows_groups() -> None:
    example = Path(__file__).resolve().parents[2] / "profiles.example.yaml"
    found = load_profile_set(example, env={})
    assert set(found.groups) == {"sites", "labs"}
    assert [p.name for p in found.resolve(["sites", "labs"])] == ["lab", "prod", "staging"]
