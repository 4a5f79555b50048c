"""Validating one profile's settings: ``profile_from_node`` turns a YAML mapping into a ``Profile``.

The checks run in the order of the settings, so the first problem in a profile is the one
reported, as one ``ProfileError`` line ``FILE:LINE: profile 'NAME': what``. No message ever
contains a password value.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tui.config.profile_model import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONCURRENCY,
    DEFAULT_PORT,
    MAX_CONCURRENCY,
    MIN_RELEASE,
    PASSWORD_KEYS,
    PROFILE_KEYS,
    PasswordSource,
    Profile,
)
from tui.config.yaml_doc import key_line, type_name
from tui.vsphere.errors import ProfileError
from tui.vsphere.models import TLSSpec
from tui.vsphere.secret import Secret
from tui.vsphere.tls import normalize_thumbprint  # the one thumbprint rule

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # profile and group names
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RELEASE_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.(\d+)$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")


class _Ctx:
    """Location helper while validating one profile."""

    def __init__(self, path: Path, name: str | None, node: Any, default_line: int) -> None:
        self.path = path
        self.name = name
        self.node = node
        self.default_line = default_line

    def line_of(self, key: str | None = None) -> int:
        if key is None:
            return self.default_line
        return key_line(self.node, key, self.default_line)

    def fail(self, message: str, key: str | None = None) -> ProfileError:
        return ProfileError(message, where=f"{self.path}:{self.line_of(key)}", profile=self.name)


def _check_keys(ctx: _Ctx, node: Mapping[str, Any]) -> None:
    for key in node:
        if not isinstance(key, str):
            raise ctx.fail(f"keys must be strings, got {type_name(key)} {key!r}")
        if key not in PROFILE_KEYS:
            close = difflib.get_close_matches(key, PROFILE_KEYS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ctx.fail(f"unknown key {key!r}{hint}", key)


def _get_str(ctx: _Ctx, node: Mapping[str, Any], key: str, *, secret: bool = False) -> str | None:
    if key not in node:
        return None
    value = node[key]
    if not isinstance(value, str):
        got = type_name(value) if secret else f"{type_name(value)} ({value!r})"
        raise ctx.fail(f"{key!r} must be a string, got {got}", key)
    text = str(value)
    if not text.strip():
        raise ctx.fail(f"{key!r} is empty", key)
    return text


def _get_bool(ctx: _Ctx, node: Mapping[str, Any], key: str) -> bool | None:
    if key not in node:
        return None
    value = node[key]
    if not isinstance(value, bool):
        raise ctx.fail(f"{key!r} must be true or false, got {type_name(value)} ({value!r})", key)
    return bool(value)


def _get_int(ctx: _Ctx, node: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    if key not in node:
        return None
    value = node[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.fail(
            f"{key!r} must be an integer from {low} to {high}, got {type_name(value)} ({value!r})",
            key,
        )
    if not low <= int(value) <= high:
        raise ctx.fail(f"{key!r} must be from {low} to {high}, got {int(value)}", key)
    return int(value)


def _resolve_path(base: Path, text: str) -> str:
    p = Path(os.path.expanduser(text))
    if not p.is_absolute():
        p = base.parent / p
    return str(p)


def check_release(text: str | None, fail: Any) -> str | None:
    if text is None or text.strip().lower() == "auto":
        return None
    m = _RELEASE_RE.match(text.strip())
    if not m:
        raise fail(f"'release' must be 'auto' or four numbers like '8.0.2.0', got {text!r}")
    if tuple(int(g) for g in m.groups()) < MIN_RELEASE:
        raise fail(f"'release' {text} is older than 8.0.1.0 (VI/JSON needs vCenter 8.0U1 or later)")
    return text.strip()


def _check_host(text: str, fail: Any) -> str:
    host = text.strip()
    if "://" in host or "/" in host:
        raise fail(
            f"'host' must be a host name or address, not a URL ({host!r}); use 'port' for the port"
        )
    if "@" in host:
        raise fail(f"'host' must not contain a user name ({host!r}); use 'username'")
    if not _HOST_RE.match(host):
        raise fail(f"'host' is not a valid host name or address: {host!r}")
    return host


def profile_from_node(path: Path, name: str, node: Any, line: int, file_mode: int) -> Profile:
    """One validated profile; the checks run in the order of the settings below, so the first
    problem in a profile is the one reported."""
    ctx = _Ctx(path, name, node, line)
    if not isinstance(node, Mapping):
        raise ctx.fail(f"expected a mapping of settings, got {type_name(node)}")
    _check_keys(ctx, node)
    host, port, username = _endpoint(ctx, node)
    source = _password_source(ctx, node, file_mode)
    tls = _tls_spec(ctx, node)
    release = _release(ctx, node)
    root = _root(ctx, node)
    guest_username = _get_str(ctx, node, "guest_username")
    concurrency = _get_int(ctx, node, "concurrency", 1, MAX_CONCURRENCY) or DEFAULT_CONCURRENCY
    theme = _get_str(ctx, node, "theme")
    read_only = _get_bool(ctx, node, "read_only") or False
    return Profile(
        name=name,
        host=host,
        port=port,
        username=username,
        password_source=source,
        tls=tls,
        release=release,
        root=root,
        guest_username=guest_username.strip() if guest_username else None,
        concurrency=concurrency,
        theme=theme.strip() if theme else None,
        read_only=read_only,
        source=path,
        line=line,
    )


def _endpoint(ctx: _Ctx, node: Mapping[str, Any]) -> tuple[str, int, str]:
    """``(host, port, username)``: host and username are required."""
    host_text = _get_str(ctx, node, "host")
    if host_text is None:
        raise ctx.fail("missing 'host'")
    host = _check_host(host_text, lambda m: ctx.fail(m, "host"))
    port = _get_int(ctx, node, "port", 1, 65535) or DEFAULT_PORT
    username = _get_str(ctx, node, "username")
    if username is None:
        raise ctx.fail("missing 'username'")
    return host, port, username.strip()


def _password_source(ctx: _Ctx, node: Mapping[str, Any], file_mode: int) -> PasswordSource:
    """At most one of ``PASSWORD_KEYS``; none means a prompt."""
    present = [k for k in PASSWORD_KEYS if k in node]
    if len(present) > 1:
        a, b = present[0], present[1]
        raise ctx.fail(
            f"two password sources, {a!r} (line {ctx.line_of(a)}) and {b!r} "
            f"(line {ctx.line_of(b)}): keep one",
            b,
        )
    timeout_value = _get_int(ctx, node, "password_command_timeout", 1, 3600)
    if timeout_value is not None and "password_command" not in node:
        raise ctx.fail(
            "'password_command_timeout' without 'password_command'", "password_command_timeout"
        )
    if "password_env" in node:
        var = _get_str(ctx, node, "password_env")
        assert var is not None
        if not _ENV_RE.match(var):
            raise ctx.fail(
                f"'password_env' must name an environment variable (letters, digits, _), "
                f"got {var!r}",
                "password_env",
            )
        return PasswordSource("env", env=var)
    if "password_file" in node:
        file_text = _get_str(ctx, node, "password_file")
        assert file_text is not None
        return PasswordSource("file", file=_resolve_path(ctx.path, file_text))
    if "password_command" in node:
        return _password_command(ctx, node["password_command"], timeout_value)
    if "password" in node:
        return _inline_password(ctx, node, file_mode)
    return PasswordSource("prompt")


def _password_command(ctx: _Ctx, cmd: Any, timeout: int | None) -> PasswordSource:
    """``password_command``: a non-empty list of strings, run without a shell."""
    if isinstance(cmd, str):
        raise ctx.fail(
            "'password_command' must be a list of arguments such as [pass, show, vcenter/lab]; "
            "it is run without a shell",
            "password_command",
        )
    if not isinstance(cmd, list) or not cmd:
        raise ctx.fail(
            f"'password_command' must be a non-empty list of strings, got {type_name(cmd)}",
            "password_command",
        )
    for i, arg in enumerate(cmd):
        if not isinstance(arg, str) or (i == 0 and not str(arg).strip()):
            raise ctx.fail(
                f"'password_command' item {i + 1} must be a string, got {type_name(arg)}",
                "password_command",
            )
    return PasswordSource(
        "command",
        command=tuple(str(a) for a in cmd),
        timeout=float(timeout or DEFAULT_COMMAND_TIMEOUT),
    )


def _inline_password(ctx: _Ctx, node: Mapping[str, Any], file_mode: int) -> PasswordSource:
    """``password: TEXT``, only from a file no one else can read (or write); the refusal says
    how to fix it."""
    secret_text = _get_str(ctx, node, "password", secret=True)
    assert secret_text is not None
    if file_mode & 0o077:
        raise ctx.fail(
            f"plaintext 'password' refused: the file is readable by others "
            f"(mode {file_mode & 0o777:04o}); run 'chmod 600 {_shell_word(ctx.path)}' or "
            "use password_env, password_file or password_command",
            "password",
        )
    return PasswordSource("inline", inline=Secret(secret_text))


def _shell_word(path: Path) -> str:
    """``path`` as one shell word: as is when safe, else in double quotes (the message already
    uses single quotes around the command)."""
    text = str(path)
    if shlex.quote(text) == text:
        return text
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


def _tls_spec(ctx: _Ctx, node: Mapping[str, Any]) -> TLSSpec:
    """``ca_file`` (must exist), ``thumbprint`` (SHA-256/SHA-1 colon hex) and ``insecure``,
    which contradicts either."""
    ca_text = _get_str(ctx, node, "ca_file")
    ca_file = _resolve_path(ctx.path, ca_text) if ca_text is not None else None
    if ca_file is not None and not os.path.isfile(ca_file):
        raise ctx.fail(f"'ca_file' {ca_file} does not exist or is not a file", "ca_file")
    thumb_text = _get_str(ctx, node, "thumbprint")
    thumbprint = None
    if thumb_text is not None:
        thumbprint = normalize_thumbprint(thumb_text)
        if thumbprint is None:
            raise ctx.fail(
                f"'thumbprint' must be a SHA-256 (32 bytes) or SHA-1 (20 bytes) fingerprint in "
                f"colon hex like 'AB:CD:…', got {thumb_text!r}",
                "thumbprint",
            )
    insecure = _get_bool(ctx, node, "insecure") or False
    if insecure and (thumbprint or ca_file):
        other = "thumbprint" if thumbprint else "ca_file"
        raise ctx.fail(
            f"'insecure: true' contradicts {other!r}: remove one (insecure skips all verification)",
            "insecure",
        )
    return TLSSpec(ca_file=ca_file, thumbprint=thumbprint, insecure=insecure)


def _release(ctx: _Ctx, node: Mapping[str, Any]) -> str | None:
    """``release``: a quoted ``'8.0.2.0'`` (at least 8.0.1.0) or ``auto`` (None)."""
    release_raw = node.get("release")
    if release_raw is not None and not isinstance(release_raw, str):
        raise ctx.fail(
            f"'release' must be a quoted string like '8.0.2.0' or 'auto', "
            f"got {type_name(release_raw)} ({release_raw!r})",
            "release",
        )
    return check_release(_get_str(ctx, node, "release"), lambda m: ctx.fail(m, "release"))


def _root(ctx: _Ctx, node: Mapping[str, Any]) -> str | None:
    """``root``: an inventory path starting with ``/``, without a trailing ``/``."""
    root = _get_str(ctx, node, "root")
    if root is None:
        return None
    root = root.strip()
    if not root.startswith("/"):
        raise ctx.fail(
            f"'root' must be an inventory path starting with '/', like '/DC/vm/clones', "
            f"got {root!r}",
            "root",
        )
    return root.rstrip("/") if len(root) > 1 else root
