"""vCenter profiles: ``profiles.yaml`` plus the implicit ``govc-env`` profile built from ``GOVC_*``.

Every validation problem becomes a ``ProfileError`` whose ``str()`` is one line naming the file, the
line, the profile and what is wrong, e.g. ``profiles.yaml:7: profile 'lab': unknown key 'hostname'
(did you mean 'host'?)``. No message ever contains a password value.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shlex
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from tui.config import paths
from tui.config.files import write_atomic
from tui.vsphere.errors import ProfileError  # defined there, imported from here by callers
from tui.vsphere.models import ConnectSpec, TLSSpec
from tui.vsphere.secret import Secret
from tui.vsphere.tls import normalize_thumbprint  # the one thumbprint rule

GOVC_PROFILE = "govc-env"
DEFAULT_PORT = 443
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 256
DEFAULT_COMMAND_TIMEOUT = 30.0
MIN_RELEASE = (8, 0, 1, 0)

PROFILE_KEYS: tuple[str, ...] = (
    "host",
    "port",
    "username",
    "password_env",
    "password_file",
    "password_command",
    "password_command_timeout",
    "password",
    "ca_file",
    "thumbprint",
    "insecure",
    "release",
    "root",
    "guest_username",
    "concurrency",
    "theme",
    "read_only",
)
PASSWORD_KEYS: tuple[str, ...] = ("password_env", "password_file", "password_command", "password")
TOP_LEVEL_KEYS: tuple[str, ...] = ("profiles",)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RELEASE_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)\.(\d+)$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")

PasswordKind = Literal["env", "file", "command", "inline", "govc", "prompt"]


@dataclass(frozen=True, slots=True)
class PasswordSource:
    """Where the vCenter password comes from. ``inline`` holds a Secret, never a plain str."""

    kind: PasswordKind
    env: str | None = None
    file: str | None = None
    command: tuple[str, ...] = ()
    timeout: float = DEFAULT_COMMAND_TIMEOUT
    inline: Secret | None = None

    def describe(self) -> str:
        """A short human description, never the password."""
        if self.kind == "env":
            return f"env {self.env}"
        if self.kind == "file":
            return f"file {self.file}"
        if self.kind == "command":
            return "command " + " ".join(self.command)
        if self.kind == "inline":
            return "inline (private file)"
        if self.kind == "govc":
            return "GOVC_PASSWORD"
        return "prompt"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    host: str
    username: str
    password_source: PasswordSource
    port: int = DEFAULT_PORT
    tls: TLSSpec = dataclasses.field(default_factory=TLSSpec)
    release: str | None = None  # None = negotiate
    root: str | None = None
    guest_username: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    theme: str | None = None
    read_only: bool = False
    source: Path | None = None  # None: built from the environment (govc-env)
    line: int = 0

    @property
    def origin(self) -> str:
        """Where the profile was defined: ``path:line``, ``$GOVC_URL``, or ``built in``."""
        if self.source is None:
            return "$GOVC_URL" if self.name == GOVC_PROFILE else "built in"
        return f"{self.source}:{self.line}"

    @property
    def tls_mode(self) -> str:
        """``insecure`` | ``pinned`` | ``ca-file`` | ``system-ca`` (as ``Client.tls_mode``)."""
        if self.tls.insecure:
            return "insecure"
        if self.tls.thumbprint:
            return "pinned"
        if self.tls.ca_file:
            return "ca-file"
        return "system-ca"

    def connect_spec(self, password: Secret) -> ConnectSpec:
        if not isinstance(password, Secret):
            raise TypeError("connect_spec expects the password as a Secret")
        return ConnectSpec(
            host=self.host,
            port=self.port,
            username=self.username,
            password=password,
            tls=self.tls,
            release=self.release,
        )

    def error(self, message: str) -> ProfileError:
        """A ProfileError located at this profile's definition."""
        where = str(self.source) + f":{self.line}" if self.source is not None else "GOVC_URL"
        return ProfileError(message, where=where, profile=self.name)

    def summary(self) -> dict[str, Any]:
        """JSON-safe description (``guestnet profiles --json``): no secret."""
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password_source": self.password_source.describe(),
            "tls_mode": self.tls_mode,
            "ca_file": self.tls.ca_file,
            "thumbprint": self.tls.thumbprint,
            "release": self.release or "auto",
            "root": self.root,
            "guest_username": self.guest_username,
            "concurrency": self.concurrency,
            "theme": self.theme,
            "read_only": self.read_only,
            "source": str(self.source) if self.source is not None else "$GOVC_URL",
            "line": self.line if self.source is not None else None,
        }


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


# --------------------------------------------------------------------------- file loading


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
        return _key_line(self.node, key, self.default_line)

    def fail(self, message: str, key: str | None = None) -> ProfileError:
        return ProfileError(message, where=f"{self.path}:{self.line_of(key)}", profile=self.name)


def _guess_profile_at(text: str, line: int) -> str | None:
    """For a YAML error at ``line`` (1-based): the profile whose block contains it, if any."""
    lines = text.splitlines()
    indent: int | None = None
    in_profiles = False
    current: str | None = None
    for number, raw in enumerate(lines, start=1):
        if number > line:
            break
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lead = len(raw) - len(raw.lstrip())
        if lead == 0:
            in_profiles = stripped.startswith("profiles:")
            current = None
            continue
        if not in_profiles:
            continue
        if indent is None:
            indent = lead
        if lead == indent:
            m = re.match(r"^([A-Za-z0-9_.-]+)\s*:", stripped)
            current = m.group(1) if m else None
    return current


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError("no such file", where=str(path)) from None
    except IsADirectoryError:
        raise ProfileError("is a directory, expected a YAML file", where=str(path)) from None
    except PermissionError:
        raise ProfileError("permission denied", where=str(path)) from None
    except OSError as exc:
        raise ProfileError(f"cannot read: {exc.strerror}", where=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProfileError("not UTF-8 text", where=f"{path}:{line}") from None


def _parse_yaml(path: Path, text: str, yaml: Any = None) -> Any:
    """The round-trip YAML document (loaded by ``yaml``, default a plain round-trip loader);
    every syntax problem is one ProfileError line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    if yaml is None:
        yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 1
        m = re.search(r'found duplicate key "([^"]*)"', exc.problem or "")
        key = m.group(1) if m else "?"
        prof = _guess_profile_at(text, line)
        if prof == key:
            message = "defined twice (profile names must be unique)"
        else:
            message = f"duplicate key {key!r}"
        raise ProfileError(message, where=f"{path}:{line}", profile=prof) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = (exc.problem or exc.context or "syntax error").strip().replace("\n", " ")
        raise ProfileError(
            f"invalid YAML: {problem}",
            where=f"{path}:{line}",
            profile=_guess_profile_at(text, line),
        ) from None
    except YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        raise ProfileError(f"invalid YAML: {first}", where=f"{path}:1") from None


def _check_keys(ctx: _Ctx, node: Mapping[str, Any]) -> None:
    for key in node:
        if not isinstance(key, str):
            raise ctx.fail(f"keys must be strings, got {_type_name(key)} {key!r}")
        if key not in PROFILE_KEYS:
            close = difflib.get_close_matches(key, PROFILE_KEYS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ctx.fail(f"unknown key {key!r}{hint}", key)


def _get_str(ctx: _Ctx, node: Mapping[str, Any], key: str, *, secret: bool = False) -> str | None:
    if key not in node:
        return None
    value = node[key]
    if not isinstance(value, str):
        got = _type_name(value) if secret else f"{_type_name(value)} ({value!r})"
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
        raise ctx.fail(f"{key!r} must be true or false, got {_type_name(value)} ({value!r})", key)
    return bool(value)


def _get_int(ctx: _Ctx, node: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    if key not in node:
        return None
    value = node[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.fail(
            f"{key!r} must be an integer from {low} to {high}, got {_type_name(value)} ({value!r})",
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


def _check_release(text: str | None, fail: Any) -> str | None:
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


def _profile_from_node(path: Path, name: str, node: Any, line: int, file_mode: int) -> Profile:
    """One validated profile; the checks run in the order of the settings below, so the first
    problem in a profile is the one reported."""
    ctx = _Ctx(path, name, node, line)
    if not isinstance(node, Mapping):
        raise ctx.fail(f"expected a mapping of settings, got {_type_name(node)}")
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
            f"'password_command' must be a non-empty list of strings, got {_type_name(cmd)}",
            "password_command",
        )
    for i, arg in enumerate(cmd):
        if not isinstance(arg, str) or (i == 0 and not str(arg).strip()):
            raise ctx.fail(
                f"'password_command' item {i + 1} must be a string, got {_type_name(arg)}",
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
            f"got {_type_name(release_raw)} ({release_raw!r})",
            "release",
        )
    return _check_release(_get_str(ctx, node, "release"), lambda m: ctx.fail(m, "release"))


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


def _key_line(mapping: Any, key: Any, default: int = 1) -> int:
    """1-based line of ``key`` in a ruamel round-trip mapping (``default`` if unknown)."""
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return default


def load_file(path: Path) -> dict[str, Profile]:
    """Validate and load one profiles file (which must exist)."""
    text = _read_text(path)
    try:
        file_mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        file_mode = 0o644
    data = _parse_yaml(path, text)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ProfileError(
            f"expected a mapping with a 'profiles' key at the top, got {_type_name(data)}",
            where=f"{path}:1",
        )
    for key in data:
        if isinstance(key, str) and key.startswith("x-"):
            continue  # extension keys hold YAML anchors shared by profiles (<<: *common)
        if key not in TOP_LEVEL_KEYS:
            line = _key_line(data, key)
            close = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1, cutoff=0.6)
            hint = (
                f" (did you mean {close[0]!r}?)"
                if close
                else " (expected 'profiles', or 'x-…' for shared anchors)"
            )
            raise ProfileError(f"unknown top-level key {key!r}{hint}", where=f"{path}:{line}")
    node = data.get("profiles")
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        line = _key_line(data, "profiles")
        raise ProfileError(
            f"'profiles' must be a mapping of profile names to settings, got {_type_name(node)}",
            where=f"{path}:{line}",
        )
    out: dict[str, Profile] = {}
    for name, body in node.items():
        line = _key_line(node, name)
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ProfileError(
                f"invalid profile name {name!r}: use letters, digits, '.', '_' and '-'",
                where=f"{path}:{line}",
            )
        if name == GOVC_PROFILE:
            raise ProfileError(
                f"the name {GOVC_PROFILE!r} is reserved for the profile built from GOVC_URL",
                where=f"{path}:{line}",
                profile=name,
            )
        out[name] = _profile_from_node(path, name, body, line, file_mode)
    return out


# --------------------------------------------------------------------------- govc environment


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

    release = _check_release(
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


# --------------------------------------------------------------------------- public API


def _default_location(path: Path) -> bool:
    try:
        return path == paths.config_dir() / paths.PROFILES_FILE_NAME
    except Exception:
        return False


def load_profiles(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Profile]:
    """All profiles: those of the profiles file, plus ``govc-env`` when ``GOVC_URL`` is set.

    A missing file is fine at the default location (no profiles); an explicitly named file
    (``--config``, ``GUESTNET_CONFIG`` or ``path``) must exist.
    """
    environ = os.environ if env is None else env
    file = Path(path).expanduser() if path is not None else paths.profiles_file()
    explicit = path is not None or not _default_location(file)
    out: dict[str, Profile] = {}
    if file.exists() or explicit:
        out.update(load_file(file))
    govc = profile_from_govc_env(environ)
    if govc is not None:
        out[govc.name] = govc
    return out


def _yaml_rt() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


def _write_atomic(path: Path, text: str) -> None:
    """Rewrite ``path`` keeping its file mode (0600 for a new file)."""
    write_atomic(path, text, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o600)


def _pin_known_hosts(profile: Profile, thumbprint: str, env: Mapping[str, str]) -> Profile:
    kh = env.get("GOVC_TLS_KNOWN_HOSTS", "").strip()
    if not kh:
        raise profile.error(
            "nothing to write the thumbprint to: set GOVC_TLS_KNOWN_HOSTS to a file "
            "(as govc does) and run this again"
        )
    path = Path(os.path.expanduser(kh))
    entry = profile.host if profile.port == DEFAULT_PORT else f"{profile.host}:{profile.port}"
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    except OSError as exc:
        raise profile.error(f"cannot read {path}: {exc.strerror}") from None
    kept = [ln for ln in lines if not (ln.split() and ln.split()[0] == entry)]
    kept.append(f"{entry} {thumbprint}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, "\n".join(kept) + "\n")
    except OSError as exc:
        raise profile.error(f"cannot write {path}: {exc.strerror}") from None
    tls = TLSSpec(ca_file=profile.tls.ca_file, thumbprint=thumbprint)
    return dataclasses.replace(profile, tls=tls)


def pin_thumbprint(profile: Profile, sha256: str, env: Mapping[str, str] | None = None) -> Profile:
    """Write ``thumbprint: SHA256`` into the profile's file (comments and order kept) and drop
    ``insecure`` (set it false when it is shared through an anchor). For ``govc-env`` the entry
    goes to ``$GOVC_TLS_KNOWN_HOSTS``. Returns the updated profile."""
    thumbprint = normalize_thumbprint(sha256)
    if thumbprint is None:
        raise profile.error(f"not a SHA-256/SHA-1 colon-hex thumbprint: {sha256!r}")
    if profile.source is None:
        return _pin_known_hosts(profile, thumbprint, os.environ if env is None else env)
    from ruamel.yaml.comments import CommentedMap

    path = profile.source
    text = _read_text(path)
    yaml = _yaml_rt()
    data = _parse_yaml(path, text, yaml)
    try:
        node = data["profiles"][profile.name]
    except (KeyError, TypeError):
        node = None
    if not isinstance(node, CommentedMap):
        raise profile.error("the profile is no longer in the file; reload and try again")
    if "thumbprint" in node:
        node["thumbprint"] = thumbprint
    else:
        keys = list(node.keys())
        anchor = "port" if "port" in keys else "host"
        pos = keys.index(anchor) + 1 if anchor in keys else len(keys)
        node.insert(pos, "thumbprint", thumbprint)
    if any(key == "insecure" for key, _ in node.non_merged_items()):
        del node["insecure"]
    if node.get("insecure"):  # still true through a merge key (<<: *common): override it
        node["insecure"] = False
    import io

    buf = io.StringIO()
    yaml.dump(data, buf)
    try:
        _write_atomic(path, buf.getvalue())
    except OSError as exc:
        raise profile.error(f"cannot write {path}: {exc.strerror}") from None
    return dataclasses.replace(
        profile, tls=TLSSpec(ca_file=profile.tls.ca_file, thumbprint=thumbprint, insecure=False)
    )
