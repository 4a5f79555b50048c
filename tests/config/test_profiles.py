"""Valid profiles, the govc-env profile, pinning, and paths."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tui.config import paths
from tui.config.profiles import (
    GOVC_PROFILE,
    Profile,
    ProfileError,
    load_profiles,
    normalize_thumbprint,
    pin_thumbprint,
)
from tui.vsphere.models import ConnectSpec, TLSSpec
from tui.vsphere.secret import Secret

SHA256 = ":".join(f"{i:02x}" for i in range(32))
SHA1 = ":".join(f"{i:02X}" for i in range(20))
REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, mode: int = 0o644) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_full_profile(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    path = write(
        tmp_path,
        "# comment\nprofiles:\n  lab:\n    host: vc.lab\n    port: 8443\n    username: admin\n"
        "    password_command: [pass, show, vc]\n    password_command_timeout: 5\n"
        "    ca_file: ca.pem\n    release: '8.0.2.0'\n    root: /DC/vm/clones/\n"
        "    guest_username: root\n    concurrency: 3\n    theme: red\n    read_only: true\n",
    )
    lab = load_profiles(path, env={})["lab"]
    assert lab.host == "vc.lab" and lab.port == 8443 and lab.username == "admin"
    assert lab.password_source.kind == "command"
    assert lab.password_source.command == ("pass", "show", "vc")
    assert lab.password_source.timeout == 5
    assert lab.tls == TLSSpec(ca_file=str(ca), thumbprint=None, insecure=False)
    assert lab.tls_mode == "ca-file"
    assert lab.release == "8.0.2.0"
    assert lab.root == "/DC/vm/clones"
    assert (lab.guest_username, lab.concurrency) == ("root", 3)
    assert (lab.theme, lab.read_only) == ("red", True)
    assert lab.source == path and lab.line == 3
    assert lab.origin == f"{path}:3"
    spec = lab.connect_spec(Secret("pw"))
    assert spec == ConnectSpec(
        host="vc.lab",
        port=8443,
        username="admin",
        password=Secret("pw"),
        tls=lab.tls,
        release="8.0.2.0",
    )
    with pytest.raises(TypeError):
        lab.connect_spec("pw")  # type: ignore[arg-type]


def test_defaults_and_modes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "profiles:\n"
        "  a: {host: a, username: u}\n"
        f"  b: {{host: b, username: u, thumbprint: '{SHA256}'}}\n"
        f"  c: {{host: c, username: u, thumbprint: '{SHA1.lower()}'}}\n"
        "  d: {host: d, username: u, insecure: true, release: auto}\n",
    )
    ps = load_profiles(path, env={})
    assert list(ps) == ["a", "b", "c", "d"]
    a = ps["a"]
    assert (a.port, a.concurrency, a.release, a.read_only, a.root) == (443, 8, None, False, None)
    assert a.password_source.kind == "prompt"
    assert [p.tls_mode for p in ps.values()] == ["system-ca", "pinned", "pinned", "insecure"]
    assert ps["b"].tls.thumbprint == SHA256.upper()
    assert ps["c"].tls.thumbprint == SHA1
    assert ps["d"].release is None


def test_empty_file_and_missing_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_profiles(write(tmp_path, ""), env={}) == {}
    assert load_profiles(write(tmp_path, "profiles:\n"), env={}) == {}
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("GUESTNET_CONFIG", raising=False)
    paths.use_profiles_file(None)
    assert load_profiles(env={}) == {}  # default location may be absent


def test_paths_follow_xdg_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "st"))
    monkeypatch.delenv("GUESTNET_CONFIG", raising=False)
    paths.use_profiles_file(None)
    assert paths.config_dir() == tmp_path / "cfg" / "guestnet"
    assert paths.profiles_file() == tmp_path / "cfg" / "guestnet" / "profiles.yaml"
    assert paths.themes_dir() == tmp_path / "cfg" / "guestnet" / "themes"
    assert paths.audit_file().parent == paths.log_dir()
    assert paths.log_dir().is_relative_to(tmp_path / "st")
    assert paths.state_file().is_relative_to(tmp_path / "st")
    monkeypatch.setenv("GUESTNET_CONFIG", str(tmp_path / "env.yaml"))
    assert paths.profiles_file() == tmp_path / "env.yaml"
    paths.use_profiles_file(tmp_path / "flag.yaml")
    try:
        assert paths.profiles_file() == tmp_path / "flag.yaml"
    finally:
        paths.use_profiles_file(None)
    # an explicitly named file must exist
    with pytest.raises(ProfileError, match="no such file"):
        load_profiles(env={})


def test_example_file_loads_and_documents_every_key() -> None:
    from tui.config.profiles import PROFILE_KEYS

    example = REPO / "profiles.example.yaml"
    ps = load_profiles(example, env={})
    assert set(ps) == {"lab", "staging", "prod"}
    assert ps["staging"].guest_username == "root"  # from the x-common anchor
    text = example.read_text()
    for key in PROFILE_KEYS:
        assert f"{key}:" in text, key


# --------------------------------------------------------------------------- govc-env


def test_govc_env_profile(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(f"other.example {SHA1}\nvc.govc {SHA256}\n")
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    env = {
        "GOVC_URL": "https://user%40corp:Url-Pass-9@vc.govc/sdk",
        "GOVC_TLS_KNOWN_HOSTS": str(kh),
        "GOVC_TLS_CA_CERTS": str(ca),
        "GOVC_DATACENTER": "DC1",
        "GOVC_FOLDER": "clones",
        "GOVC_GUEST_LOGIN": "root:guest:pw",
    }
    p = load_profiles(None, env=env)[GOVC_PROFILE]
    assert (p.host, p.port, p.username) == ("vc.govc", 443, "user@corp")
    assert p.password_source.kind == "inline"
    assert p.password_source.inline == Secret("Url-Pass-9")
    assert p.tls == TLSSpec(ca_file=str(ca), thumbprint=SHA256.upper(), insecure=False)
    assert p.root == "/DC1/vm/clones"
    assert p.guest_username == "root"
    assert p.source is None and p.origin == "$GOVC_URL"
    assert "Url-Pass-9" not in repr(p) and "Url-Pass-9" not in str(p.summary())


def test_govc_env_overrides_and_ports(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text(f"vc.govc {SHA1}\nvc.govc:8443 {SHA256}\n")
    env = {
        "GOVC_URL": "vc.govc:8443",
        "GOVC_USERNAME": "admin",
        "GOVC_PASSWORD": "x",
        "GOVC_TLS_KNOWN_HOSTS": str(kh),
        "GOVC_FOLDER": "/DC/vm/x/",
    }
    p = load_profiles(None, env=env)[GOVC_PROFILE]
    assert (p.host, p.port, p.username) == ("vc.govc", 8443, "admin")
    assert p.password_source.kind == "govc"
    assert p.tls.thumbprint == SHA256.upper()
    assert p.root == "/DC/vm/x"
    env["GOVC_INSECURE"] = "1"
    p = load_profiles(None, env=env)[GOVC_PROFILE]
    assert p.tls == TLSSpec(insecure=True) and p.tls_mode == "insecure"
    del env["GOVC_PASSWORD"]
    assert load_profiles(None, env=env)[GOVC_PROFILE].password_source.kind == "prompt"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"GOVC_URL": "vc.govc"},
            "GOVC_URL: profile 'govc-env': no user name: set GOVC_USERNAME "
            "or use user@host in GOVC_URL",
        ),
        (
            {"GOVC_URL": "http://u@vc"},
            "GOVC_URL: profile 'govc-env': scheme 'http' is not "
            "supported: guestnet speaks https only",
        ),
        (
            {"GOVC_URL": "u@vc:99999"},
            "GOVC_URL: profile 'govc-env': not a valid URL or host "
            "(expected [https://][user[:password]@]host[:port][/sdk])",
        ),
        (
            {"GOVC_URL": "u@vc", "GOVC_INSECURE": "yes"},
            "GOVC_INSECURE: profile 'govc-env': expected true/false/1/0, got 'yes'",
        ),
        (
            {"GOVC_URL": "u@vc", "GOVC_TLS_CA_CERTS": "/nonexistent.pem"},
            "GOVC_TLS_CA_CERTS: "
            "profile 'govc-env': /nonexistent.pem does not exist or is not a file",
        ),
        (
            {"GOVC_URL": "u@vc", "GOVC_TLS_CA_CERTS": "/a.pem:/b.pem"},
            "GOVC_TLS_CA_CERTS: "
            "profile 'govc-env': guestnet takes one CA file; concatenate them "
            "(cat a.pem b.pem > bundle.pem)",
        ),
    ],
)
def test_govc_env_errors(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ProfileError) as info:
        load_profiles(None, env=env)
    assert str(info.value) == expected


def test_govc_url_password_never_in_errors() -> None:
    with pytest.raises(ProfileError) as info:
        load_profiles(None, env={"GOVC_URL": "http://u:Hidden-Gnu-3@vc"})
    assert "Hidden-Gnu-3" not in str(info.value)


def test_known_hosts_bad_entry(tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    kh.write_text("# comment\n\nvc.govc nonsense\n")
    with pytest.raises(ProfileError) as info:
        load_profiles(None, env={"GOVC_URL": "u@vc.govc", "GOVC_TLS_KNOWN_HOSTS": str(kh)})
    assert str(info.value) == (
        f"{kh}:3: profile 'govc-env': entry for vc.govc is not 'host thumbprint' with a "
        "SHA-1/SHA-256 colon-hex thumbprint"
    )


def test_missing_known_hosts_file_is_fine(tmp_path: Path) -> None:
    env = {"GOVC_URL": "u@vc", "GOVC_TLS_KNOWN_HOSTS": str(tmp_path / "none")}
    assert load_profiles(None, env=env)[GOVC_PROFILE].tls.thumbprint is None


def test_normalize_thumbprint() -> None:
    assert normalize_thumbprint(SHA256) == SHA256.upper()
    assert normalize_thumbprint(" " + SHA1 + " ") == SHA1
    for bad in ("", "AB", SHA1[:-3], SHA256.replace(":", ""), SHA256[:-2] + "ZZ"):
        assert normalize_thumbprint(bad) is None


# --------------------------------------------------------------------------- pinning


def test_pin_thumbprint_keeps_comments_and_order(tmp_path: Path) -> None:
    text = (
        "# my vCenters\n"
        "profiles:\n"
        "  lab:   # the lab one\n"
        "    host: vc.lab\n"
        "    port: 443\n"
        "    username: admin   # service account\n"
        "    insecure: true\n"
        "  prod:\n"
        "    host: vc.prod\n"
        "    username: admin\n"
        f"    thumbprint: '{SHA1}'\n"
    )
    path = write(tmp_path, text, mode=0o640)
    ps = load_profiles(path, env={})
    new = pin_thumbprint(ps["lab"], SHA256)
    assert new.tls == TLSSpec(thumbprint=SHA256.upper())
    out = path.read_text()
    assert out == (
        "# my vCenters\n"
        "profiles:\n"
        "  lab:   # the lab one\n"
        "    host: vc.lab\n"
        "    port: 443\n"
        f"    thumbprint: {SHA256.upper()}\n"
        "    username: admin   # service account\n"
        "  prod:\n"
        "    host: vc.prod\n"
        "    username: admin\n"
        f"    thumbprint: '{SHA1}'\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    reloaded = load_profiles(path, env={})
    assert reloaded["lab"].tls.thumbprint == SHA256.upper()
    # replacing an existing pin keeps its place
    pin_thumbprint(reloaded["prod"], SHA256)
    assert load_profiles(path, env={})["prod"].tls.thumbprint == SHA256.upper()
    assert path.read_text().splitlines()[-1].startswith("    thumbprint: ")


def test_pin_thumbprint_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "profiles:\n  lab: {host: vc, username: u}\n")
    lab = load_profiles(path, env={})["lab"]
    with pytest.raises(ProfileError, match="not a SHA-256/SHA-1 colon-hex thumbprint"):
        pin_thumbprint(lab, "nope")
    path.write_text("profiles:\n  other: {host: vc, username: u}\n")
    with pytest.raises(ProfileError) as info:
        pin_thumbprint(lab, SHA256)
    assert str(info.value) == (
        f"{path}:2: profile 'lab': the profile is no longer in the file; reload and try again"
    )
    path.write_text("profiles:\n  lab:\n")  # emptied since it was loaded
    with pytest.raises(ProfileError, match="the profile is no longer in the file"):
        pin_thumbprint(lab, SHA256)


def test_pin_govc_env_writes_known_hosts(tmp_path: Path) -> None:
    kh = tmp_path / "kh" / "known_hosts"
    env = {"GOVC_URL": "u@vc.govc:8443", "GOVC_TLS_KNOWN_HOSTS": str(kh)}
    p = load_profiles(None, env=env)[GOVC_PROFILE]
    pinned = pin_thumbprint(p, SHA1, env=env)
    assert pinned.tls.thumbprint == SHA1
    assert kh.read_text() == f"vc.govc:8443 {SHA1}\n"
    pin_thumbprint(p, SHA256, env=env)
    assert kh.read_text() == f"vc.govc:8443 {SHA256.upper()}\n"
    assert load_profiles(None, env=env)[GOVC_PROFILE].tls.thumbprint == SHA256.upper()
    with pytest.raises(ProfileError) as info:
        pin_thumbprint(p, SHA256, env={"GOVC_URL": "u@vc.govc:8443"})
    assert str(info.value) == (
        "GOVC_URL: profile 'govc-env': nothing to write the thumbprint to: set "
        "GOVC_TLS_KNOWN_HOSTS to a file (as govc does) and run this again"
    )


def test_profile_is_frozen(tmp_path: Path) -> None:
    p = load_profiles(write(tmp_path, "profiles:\n  a: {host: a, username: u}\n"), env={})["a"]
    assert isinstance(p, Profile)
    with pytest.raises(AttributeError):
        p.host = "b"  # type: ignore[misc]


def test_shared_settings_with_anchors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x-common: &common\n  username: admin\n  password_env: PW\n  concurrency: 4\n"
        "profiles:\n  a:\n    <<: *common\n    host: vc-a\n"
        "  b:\n    <<: *common\n    host: vc-b\n    concurrency: 2\n",
    )
    ps = load_profiles(path, env={})
    assert (ps["a"].username, ps["a"].concurrency, ps["a"].line) == ("admin", 4, 6)
    assert (ps["b"].host, ps["b"].concurrency, ps["b"].password_source.env) == ("vc-b", 2, "PW")
    path.write_text("settings:\n  a: 1\nprofiles: {}\n")
    with pytest.raises(ProfileError) as info:
        load_profiles(path, env={})
    assert str(info.value) == (
        f"{path}:1: unknown top-level key 'settings' (expected 'profiles', or 'x-…' for shared "
        "anchors)"
    )


def test_pin_thumbprint_overrides_an_inherited_insecure(tmp_path: Path) -> None:
    """'insecure: true' shared through an anchor (<<: *common) cannot be deleted from the
    profile: pinning overrides it, so the file still loads, pinned."""
    path = write(
        tmp_path,
        "x-common: &common\n  username: admin\n  insecure: true\n"
        "profiles:\n  lab:\n    <<: *common\n    host: vc.lab\n"
        "  other:\n    <<: *common\n    host: vc.other\n",
    )
    pinned = pin_thumbprint(load_profiles(path, env={})["lab"], SHA256)
    assert pinned.tls == TLSSpec(thumbprint=SHA256.upper())
    reloaded = load_profiles(path, env={})
    assert reloaded["lab"].tls == pinned.tls
    assert reloaded["other"].tls == TLSSpec(insecure=True)  # the anchor itself is untouched


def test_pin_thumbprint_into_a_file_that_became_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "profiles:\n  lab: {host: vc, username: u}\n")
    lab = load_profiles(path, env={})["lab"]
    path.write_text("profiles:\n  lab: {host: vc, username: u\n")
    with pytest.raises(ProfileError, match=f"^{path}:\\d+: .*invalid YAML"):
        pin_thumbprint(lab, SHA256)


def test_a_profile_built_in_code_is_not_labelled_govc() -> None:
    from tui.config.profiles import PasswordSource, Profile
    from tui.vsphere.secret import Secret

    demo = Profile(
        name="demo",
        host="127.0.0.1",
        username="u",
        password_source=PasswordSource(kind="inline", inline=Secret("x")),
    )
    assert demo.origin == "built in"
