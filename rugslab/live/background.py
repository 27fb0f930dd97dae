"""The live server in a background thread of this process: for notebooks and tests.

    server = serve_in_background(LiveOptions(port=0), frames=simulate_feed(None, 0, 10.0))
    print(server.url)          # any client, in this process or another
    server.stop()

The server runs `serve_live` on its own asyncio loop in a daemon thread, so the caller may
use asyncio (a notebook's running loop, `asyncio.run`) or plain blocking code. `call` and `run`
reach into that loop for a consistent view of the server's state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from rugslab.live.run import LiveOptions, serve_live
from rugslab.live.server import LiveServer
from rugslab.sim.background import LoopThread, start_in_thread
from rugslab.sim.feed import ScheduledFrame


class BackgroundLive(LoopThread[LiveServer]):
    """Handle on a live server running in a background thread (`serve_in_background`).

    `call` and `stop` as `rugslab.sim.background.LoopThread`; `stop` lets the server end as
    `serve_live` does (the collector writes what it holds) and waits for the thread.
    """

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return self.server.url

    def run(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Call `fn()` on the server's loop (e.g. to read its state consistently)."""

        async def wrapped() -> Any:
            return fn()

        return self.call(wrapped(), timeout)

    def status(self) -> dict[str, Any]:
        """`LiveServer.status()`, read on the server's loop."""
        return dict(self.run(self.server.status))

    def publish(self, channel: str, message: dict[str, Any]) -> int:
        """`LiveServer.publish` on the server's loop; returns the clients it went to."""
        return int(self.run(lambda: self.server.publish(channel, message)))

    def __enter__(self) -> BackgroundLive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_background(options: LiveOptions | None = None, *,
                        frames: Iterable[ScheduledFrame] | None = None,
                        start_timeout_s: float = 10.0) -> BackgroundLive:
    """Start `serve_live(options, frames=frames)` (default: a free port of 127.0.0.1) in a
    daemon thread; returns once it listens.

    Raises:
        RugslabError: the server did not start within `start_timeout_s` (with the reason).
        ConfigError: options that cannot run.
    """
    opts = options or LiveOptions(port=0)
    opts.check()

    async def serve(stop: asyncio.Event, started: Callable[[LiveServer], None]) -> None:
        await serve_live(opts, stop=stop, frames=frames, on_start=started, out=None)

    return start_in_thread(serve, BackgroundLive, name="rugslab-live-server",
                           what="live server", start_timeout_s=start_timeout_s)
