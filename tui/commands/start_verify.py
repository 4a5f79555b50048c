"""``start-network``'s proof: the live VM stream behind the verdicts.

While the run's tasks go on, one ``watch_vms`` stream (a view filter and its WaitForUpdatesEx
long-poll: no polling per VM) feeds a ``Verifier``; each succeeded VM's row waits for its
verdict (``tui.vsphere.verify``) before it is printed. Imported only when a run starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tui.vsphere.verify import Verifier


class LiveVerifier:
    """``start()`` opens the stream and waits for its first snapshot; ``close()`` ends it."""

    def __init__(self, client: Any, root: str | None, timeout: float) -> None:
        self.client = client
        self.root = root
        self.verifier = Verifier(timeout=timeout)
        self._ready: asyncio.Future[None] | None = None
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._ready = asyncio.get_running_loop().create_future()
        self._pump = asyncio.create_task(self._follow())
        await self._ready

    async def _follow(self) -> None:
        assert self._ready is not None
        try:
            async for batch in self.client.watch_vms(self.root):
                self.verifier.feed(batch)
                if not self._ready.done():
                    self._ready.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the verdicts say why they could not be reached
            self.verifier.stop(str(exc))
            if not self._ready.done():
                self._ready.set_result(None)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump
