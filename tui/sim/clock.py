"""The simulator's clock: one object for its wall time, its deadlines and its waits.

``Clock`` is real time. ``ManualClock`` moves only when ``advance(seconds)`` is called (from any
thread): a test constructs ``SimServer(clock=ManualClock())`` and advances it instead of
sleeping, e.g. past ``session_timeout``.

What runs on the clock (simulated vCenter time): every timestamp the server reports (task
queue/start/complete times, ``CurrentTime``/``serverClock``, session login and last-active times,
VM boot times), session idle expiry and the expiry sweep, WaitForUpdatesEx ``maxWaitSeconds``,
task progress steps and durations, AbortCustomization's run time and how long a finished task
stays in ``recentTask``.

What stays on real time (the network between a real client and the server, which the client
measures with its own clock): ``latency_ms``, the replies held or dropped by
``lose_start_reply``, a restart's ``down_seconds`` and the server's shutdown grace.

Sleeps and timers must be awaited/created on an event loop (the server's); ``time``,
``monotonic`` and ``ManualClock.advance`` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock:
    """Real time: ``time.time()``, ``time.monotonic()`` and the running loop's timers."""

    def time(self) -> float:
        """Wall-clock seconds since the epoch."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds for deadlines: only differences mean something."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until ``monotonic()`` reaches ``deadline`` (at once if it has)."""
        await self.sleep(deadline - self.monotonic())

    def call_later(self, delay: float, fn: Callable[[], object]) -> Timer:
        """Call ``fn`` on the running loop ``delay`` seconds from now."""
        return asyncio.get_running_loop().call_later(delay, fn)


class _ManualTimer:
    __slots__ = ("cancelled", "fn", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, fn: Callable[[], object]) -> None:
        self.loop = loop
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        """Run ``fn`` on its loop (which may be another thread's, or closed by now)."""
        if not self.cancelled:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._run)

    def _run(self) -> None:
        if not self.cancelled:
            self.fn()


class ManualClock(Clock):
    """Time that stands still until ``advance`` moves it (thread-safe).

    ``advance(seconds)`` moves both the wall and the monotonic time and fires, in deadline
    order, every sleep and timer that came due; they run on their own loop right after (poll
    for their effect from another thread). A chain of sleeps that each aim at an absolute
    deadline (task progress steps) runs through a long ``advance`` at once.
    """

    def __init__(self, start: float | None = None) -> None:
        self._wall0 = time.time() if start is None else start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self._timers: list[tuple[float, int, _ManualTimer]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self._wall0 + self._elapsed

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"a clock moves forward only, got {seconds}")
        with self._lock:
            self._elapsed += seconds
            due = []
            while self._timers and self._timers[0][0] <= self._elapsed:
                due.append(heapq.heappop(self._timers)[2])
        for timer in due:
            timer.fire()

    def waiting(self) -> int:
        """How many sleeps and timers wait for a later time."""
        with self._lock:
            return sum(1 for _, _, t in self._timers if not t.cancelled)

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.monotonic() + seconds)

    async def sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        woke: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not woke.done():
                woke.set_result(None)

        timer = self._at(deadline, loop, wake)
        try:
            await woke
        finally:
            timer.cancel()

    def call_later(self, delay: float, fn: Callable[[], object]) -> Timer:
        return self._at(self.monotonic() + delay, asyncio.get_running_loop(), fn)

    def _at(
        self, deadline: float, loop: asyncio.AbstractEventLoop, fn: Callable[[], object]
    ) -> _ManualTimer:
        timer = _ManualTimer(loop, fn)
        with self._lock:
            if deadline > self._elapsed:
                heapq.heappush(self._timers, (deadline, next(self._seq), timer))
                return timer
        timer.fire()  # already due (also when another thread advanced meanwhile)
        return timer
