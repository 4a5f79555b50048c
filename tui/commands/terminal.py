"""Prompts on the controlling terminal (/dev/tty), so they work while stdin/stdout are pipes."""

from __future__ import annotations

import os
from collections.abc import Callable


def have_tty() -> bool:
    """True when a controlling terminal exists to prompt on (stdin may still be a pipe)."""
    if os.environ.get("GUESTNET_NO_TTY"):
        return False
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def tty_prompt() -> Callable[[str], str] | None:
    """A no-echo prompt on the terminal, or None when there is none."""
    if not have_tty():
        return None

    def ask(text: str) -> str:
        import getpass

        return interruptible(lambda: getpass.getpass(text))

    return ask


def interruptible(fn: Callable[[], str]) -> str:
    """Run a blocking terminal read so that Ctrl-C raises KeyboardInterrupt at once, even inside
    an asyncio loop (whose own SIGINT handler would only cancel the main task later)."""
    import signal

    try:
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread
        return fn()
    try:
        return fn()
    finally:
        signal.signal(signal.SIGINT, old)


def confirm(question: str) -> bool:
    """Ask ``question [y/N]`` on the terminal; True for y/yes."""

    def ask() -> str:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, f"{question} [y/N] ".encode())
            answer = os.read(fd, 1024)  # canonical mode: one line
        finally:
            os.close(fd)
        return answer.decode("utf-8", "replace")

    return interruptible(ask).strip().lower() in ("y", "yes")
