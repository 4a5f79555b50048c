"""Waiting for another thread's state without fixed sleeps: poll until a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(condition: Callable[[], T | Awaitable[T]], what: str, within: float = 10.0) -> T:
    """Poll ``condition`` (a function or a coroutine function) until it returns something true
    and return that; fail naming ``what`` and the last value after ``within`` seconds."""
    end = time.monotonic() + within
    while True:
        got = condition()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"not within {within:g} s: {what} (last: {got!r})")
        await asyncio.sleep(0.02)
