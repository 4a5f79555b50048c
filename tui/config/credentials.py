"""Turn a profile's password source into a ``Secret``; guest credentials from the environment.

Nothing here logs, prints or puts a password in an exception message or a process argument.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from tui.config.profiles import Profile
from tui.vsphere.secret import Secret

GUEST_PASSWORD_ENV = "GUESTNET_GUEST_PASSWORD"
GOVC_GUEST_LOGIN_ENV = "GOVC_GUEST_LOGIN"


def password_needs_prompt(profile: Profile) -> bool:
    """True when the profile has no password source, so the user must type it."""
    return profile.password_source.kind == "prompt"


def _first_line(data: str) -> str:
    return data.splitlines()[0] if data else ""


def _read_password_file(profile: Profile, file: str, what: str) -> Secret:
    path = Path(file)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise profile.error(f"{what} {file} does not exist") from None
    except IsADirectoryError:
        raise profile.error(f"{what} {file} is a directory") from None
    except PermissionError:
        raise profile.error(f"{what} {file}: permission denied") from None
    except OSError as exc:
        raise profile.error(f"{what} {file}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise profile.error(f"{what} {file} is not UTF-8 text") from None
    value = _first_line(text)
    if not value:
        raise profile.error(f"{what} {file} is empty (the password is its first line)")
    return Secret(value)


def _run_password_command(profile: Profile, argv: tuple[str, ...], timeout: float) -> Secret:
    shown = argv[0]
    try:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None,  # the command's own messages (gpg, pass) go straight to the user
            timeout=timeout,
            check=False,
            shell=False,
        )
    except FileNotFoundError:
        raise profile.error(f"password_command: {shown!r} not found") from None
    except PermissionError:
        raise profile.error(f"password_command: {shown!r} is not executable") from None
    except subprocess.TimeoutExpired:
        raise profile.error(f"password_command {shown!r} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise profile.error(f"password_command {shown!r} failed to start: {exc.strerror}") from None
    if proc.returncode != 0:
        raise profile.error(f"password_command {shown!r} exited with status {proc.returncode}")
    try:
        text = proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise profile.error(f"password_command {shown!r} printed non-UTF-8 output") from None
    value = _first_line(text)
    if not value:
        raise profile.error(f"password_command {shown!r} printed nothing on its first line")
    return Secret(value)


def resolve_password(
    profile: Profile,
    prompt: Callable[[str], str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Secret:
    """The vCenter password of ``profile`` from its source.

    ``prompt(text)`` is called (and must not echo) when the profile has no source; without a
    prompt that is a ``ProfileError`` telling the user how to configure one.
    """
    environ = os.environ if env is None else env
    src = profile.password_source
    if src.kind == "env":
        assert src.env is not None
        value = environ.get(src.env)
        if value is None:
            raise profile.error(f"password_env: the variable {src.env} is not set")
        if not value:
            raise profile.error(f"password_env: the variable {src.env} is empty")
        return Secret(value)
    if src.kind == "file":
        assert src.file is not None
        return _read_password_file(profile, src.file, "password_file")
    if src.kind == "command":
        return _run_password_command(profile, src.command, src.timeout)
    if src.kind == "inline":
        assert src.inline is not None
        return src.inline
    if src.kind == "govc":
        value = environ.get("GOVC_PASSWORD", "")
        if not value:
            raise profile.error("GOVC_PASSWORD is not set any more")
        # govc: a readable file path means "the file's trimmed contents".
        if os.path.isfile(value) and os.access(value, os.R_OK):
            try:
                text = Path(value).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                raise profile.error("GOVC_PASSWORD names a file that cannot be read") from None
            if not text:
                raise profile.error("GOVC_PASSWORD names an empty file")
            return Secret(text)
        return Secret(value)
    # no source: prompt
    if prompt is None:
        raise profile.error(
            "no password source and no terminal to prompt on: set password_env, password_file "
            "or password_command in the profile"
        )
    value = prompt(f"vCenter password for {profile.username}@{profile.host}: ")
    if not value:
        raise profile.error("no password entered")
    return Secret(value)


def guest_login_from_env(env: Mapping[str, str] | None = None) -> tuple[str, Secret | None] | None:
    """Guest credentials from the environment: ``(user, password)``; ``user`` may be ``""``.

    ``GUESTNET_GUEST_PASSWORD`` gives the password; ``GOVC_GUEST_LOGIN`` (``user:password``, split
    at the first colon) gives the user and, if ``GUESTNET_GUEST_PASSWORD`` is not set, the password.
    ``None`` when neither variable is set.
    """
    environ = os.environ if env is None else env
    login = environ.get(GOVC_GUEST_LOGIN_ENV, "")
    direct = environ.get(GUEST_PASSWORD_ENV, "")
    if not login and not direct:
        return None
    user, password = "", None
    if login:
        user, sep, rest = login.partition(":")
        password = Secret(rest) if sep and rest else None
    if direct:
        password = Secret(direct)
    return user, password
