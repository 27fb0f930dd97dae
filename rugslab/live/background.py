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
import threading
from collections.abc import Callable, Iterable
from typing import Any

from rugslab.errors import RugslabError
from rugslab.live.run import LiveOptions, serve_live
from rugslab.live.server import LiveServer
from rugslab.sim.feed import ScheduledFrame


class BackgroundLive:
    """Handle on a live server running in a background thread (`serve_in_background`)."""

    def __init__(self, server: LiveServer, loop: asyncio.AbstractEventLoop,
                 stop_event: asyncio.Event, thread: threading.Thread) -> None:
        self.server = server
        self.loop = loop
        self._stop_event = stop_event
        self._thread = thread

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return self.server.url

    def call(self, coro: Any, timeout: float = 10.0) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

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

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (the collector writes what it holds) and wait for the thread."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop_event.set)
            self._thread.join(timeout)

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
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    def on_start(server: LiveServer) -> None:
        box["server"] = server
        started.set()

    async def main() -> None:
        await serve_live(opts, stop=box["stop"], frames=frames, on_start=on_start, out=None)

    def run() -> None:
        asyncio.set_event_loop(loop)
        box["stop"] = asyncio.Event()
        try:
            loop.run_until_complete(main())
        except BaseException as e:  # reported through box/started
            box.setdefault("error", e)
            started.set()
        finally:
            pending = asyncio.all_tasks(loop)
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    thread = threading.Thread(target=run, name="rugslab-live-server", daemon=True)
    thread.start()
    if not started.wait(start_timeout_s) or "server" not in box:
        raise RugslabError(f"live server did not start: {box.get('error', 'timeout')}")
    return BackgroundLive(box["server"], loop, box["stop"], thread)
