"""Writing a small file atomically: a temporary file in the same directory, then ``os.replace``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str, mode: int) -> None:
    """Replace ``path`` with ``text`` (UTF-8) at file mode ``mode``; readers never see half a file
    and a failure leaves the old file and no temporary behind."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def append_line(path: Path, line: str, *, sync: bool = False) -> None:
    """Append one line (UTF-8) to a private file (0600, its directory 0700), creating both.

    One ``write`` of the whole line on an ``O_APPEND`` descriptor, so concurrent writers never
    interleave inside a line. ``sync``: fsync before returning (the line survives a crash).
    """
    append_lines(path, [line], sync=sync)


def append_lines(path: Path, lines: list[str], *, sync: bool = False) -> None:
    """``append_line`` for several lines at once: one write, at most one fsync."""
    data = "".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
