"""A server on its own asyncio loop in a daemon thread of this process: for notebooks and tests.

    server, handle = start_in_thread(serve, name="rugslab-feed-server", what="feed server")
    handle.call(coro)      # run a coroutine on the server's loop
    handle.stop()          # set the stop event, wait for the thread

`serve(stop, started)` runs the server on the new loop: it calls `started(server)` once the
server listens and returns when `stop` is set. The caller may use asyncio (a notebook's running
loop, `asyncio.run`) or plain blocking code. `rugslab.testing.running_server` runs a
`FeedServer` this way, `rugslab.live.background.serve_in_background` the live server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from rugslab.errors import RugslabError

S = TypeVar("S")
H = TypeVar("H", bound="LoopThread[Any]")

#: `serve(stop, started)`: run the server until `stop` is set; `started(server)` once it listens.
Serve = Callable[[asyncio.Event, Callable[[S], None]], Awaitable[None]]


class LoopThread(Generic[S]):
    """Handle on a server running on its own loop in a daemon thread (`start_in_thread`)."""

    def __init__(self, server: S, loop: asyncio.AbstractEventLoop, stop_event: asyncio.Event,
                 thread: threading.Thread) -> None:
        self.server = server
        self.loop = loop
        self._stop_event = stop_event
        self._thread = thread

    def call(self, coro: Any, timeout: float = 10.0) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Set the server's stop event and wait up to `timeout` s for its thread to end."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop_event.set)
            self._thread.join(timeout)


def start_in_thread(serve: Serve[S], handle: Callable[..., H], *, name: str, what: str,
                    start_timeout_s: float = 10.0) -> H:
    """Run `serve` on a new asyncio loop in a daemon thread named `name`; return once it
    listens, as `handle(server, loop, stop_event, thread)` (`LoopThread` or a subclass).

    When `serve` ends (stopped or failed), the tasks still pending on the loop are cancelled
    and awaited, and the loop is closed.

    Raises:
        RugslabError: `serve` did not report its server within `start_timeout_s`, or failed
            first: "<what> did not start: <the error, or timeout>".
    """
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    def on_start(server: S) -> None:
        box["server"] = server
        started.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        box["stop"] = asyncio.Event()
        try:
            loop.run_until_complete(serve(box["stop"], on_start))
        except BaseException as e:  # reported through box/started
            box.setdefault("error", e)
            started.set()
        finally:
            pending = asyncio.all_tasks(loop)
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not started.wait(start_timeout_s) or "server" not in box:
        raise RugslabError(f"{what} did not start: {box.get('error', 'timeout')}")
    return handle(box["server"], loop, box["stop"], thread)
