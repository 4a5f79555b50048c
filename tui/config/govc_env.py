"""The implicit ``govc-env`` profile, built from govc's ``GOVC_*`` variables.

Every problem is one ``ProfileError`` line naming the variable, e.g.
``GOVC_URL: profile 'govc-env': scheme 'http' is not supported: guestnet speaks https only``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tui.config.profile_fields import check_release
from tui.config.profile_model import DEFAULT_PORT, GOVC_PROFILE, PasswordSource, Profile
from tui.vsphere.errors import ProfileError
from tui.vsphere.models import TLSSpec
from tui.vsphere.secret import Secret
from tui.vsphere.tls import normalize_thumbprint


def parse_bool_env(name: str, value: str) -> bool:
    """Go's strconv.ParseBool, as govc uses it for GOVC_INSECURE."""
    v = value.strip()
    if v in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if v in ("", "0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ProfileError(f"expected true/false/1/0, got {value!r}", where=name, profile=GOVC_PROFILE)


def known_hosts_lookup(path: Path, host: str, port: int) -> str | None:
    """The thumbprint for ``host[:port]`` in a govc known_hosts file (``host thumbprint`` lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProfileError(
            f"cannot read {path}: {exc.strerror}",
            where="GOVC_TLS_KNOWN_HOSTS",
            profile=GOVC_PROFILE,
        ) from None
    wanted = {f"{host}:{port}"}
    if port == DEFAULT_PORT:
        wanted.add(host)
    found: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if fields[0] not in wanted:
            continue
        if len(fields) < 2 or normalize_thumbprint(fields[1]) is None:
            raise ProfileError(
                f"entry for {fields[0]} is not 'host thumbprint' with a SHA-1/SHA-256 colon-hex "
                "thumbprint",
                where=f"{path}:{number}",
                profile=GOVC_PROFILE,
            )
        found = normalize_thumbprint(fields[1])
    return found


def profile_from_govc_env(env: Mapping[str, str]) -> Profile | None:
    """The implicit ``govc-env`` profile, or None when ``GOVC_URL`` is not set."""
    url_text = env.get("GOVC_URL", "").strip()
    if not url_text:
        return None

    def fail(message: str, where: str = "GOVC_URL") -> ProfileError:
        return ProfileError(message, where=where, profile=GOVC_PROFILE)

    full = url_text if "://" in url_text else "https://" + url_text
    try:
        parts = urlsplit(full)
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise fail(
            "not a valid URL or host (expected [https://][user[:password]@]host[:port][/sdk])"
        ) from None
    if parts.scheme.lower() != "https":
        raise fail(f"scheme {parts.scheme!r} is not supported: guestnet speaks https only")
    host = parts.hostname or ""
    if not host:
        raise fail("no host name (expected [https://][user[:password]@]host[:port][/sdk])")
    if ":" in host:
        host = f"[{host}]"
    username = env.get("GOVC_USERNAME") or (unquote(parts.username) if parts.username else "")
    if not username:
        raise fail("no user name: set GOVC_USERNAME or use user@host in GOVC_URL")

    if env.get("GOVC_PASSWORD"):
        source = PasswordSource("govc", env="GOVC_PASSWORD")
    elif parts.password:
        source = PasswordSource("inline", inline=Secret(unquote(parts.password)))
    else:
        source = PasswordSource("prompt")

    tls = _govc_tls(env, host, port, fail)
    guest_user: str | None = None
    login = env.get("GOVC_GUEST_LOGIN", "")
    if login:
        guest_user = login.split(":", 1)[0] or None

    release = check_release(
        env.get("GUESTNET_RELEASE") or None, lambda m: fail(m, "GUESTNET_RELEASE")
    )
    return Profile(
        name=GOVC_PROFILE,
        host=host,
        port=port,
        username=username,
        password_source=source,
        tls=tls,
        release=release,
        root=_govc_root(env),
        guest_username=guest_user,
        source=None,
        line=0,
    )


def _govc_tls(
    env: Mapping[str, str], host: str, port: int, fail: Callable[[str, str], ProfileError]
) -> TLSSpec:
    """``GOVC_INSECURE``, ``GOVC_TLS_CA_CERTS`` (one file) and the host's ``GOVC_TLS_KNOWN_HOSTS``
    entry (ignored when insecure)."""
    insecure = parse_bool_env("GOVC_INSECURE", env.get("GOVC_INSECURE", ""))
    ca_file: str | None = None
    ca_text = env.get("GOVC_TLS_CA_CERTS", "").strip()
    if ca_text:
        files = [f for f in ca_text.split(os.pathsep) if f]
        if len(files) > 1:
            raise fail(
                "guestnet takes one CA file; concatenate them (cat a.pem b.pem > bundle.pem)",
                "GOVC_TLS_CA_CERTS",
            )
        ca_file = os.path.expanduser(files[0])
        if not os.path.isfile(ca_file):
            raise fail(f"{ca_file} does not exist or is not a file", "GOVC_TLS_CA_CERTS")
    thumbprint: str | None = None
    kh = env.get("GOVC_TLS_KNOWN_HOSTS", "").strip()
    if kh and not insecure:
        thumbprint = known_hosts_lookup(Path(os.path.expanduser(kh)), host, port)
    return TLSSpec(ca_file=ca_file, thumbprint=thumbprint, insecure=insecure)


def _govc_root(env: Mapping[str, str]) -> str | None:
    """The inventory root from ``GOVC_FOLDER`` (absolute) or ``GOVC_DATACENTER`` [+ folder]."""
    folder = env.get("GOVC_FOLDER", "").strip()
    dc = env.get("GOVC_DATACENTER", "").strip()
    if folder.startswith("/"):
        return folder.rstrip("/") or "/"
    if dc:
        return f"/{dc.strip('/')}/vm" + (f"/{folder.strip('/')}" if folder else "")
    return None
