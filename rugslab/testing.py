"""Test helpers that users want too: a feed server, or the live server on a replay, on a free
loopback port, in the background.

    with running_server(simulate_feed(3, seed=1, speed=50), wait_for_clients=1) as srv:
        collect(srv.url)              # any Socket.IO client; query frontend-version=1.0
        assert srv.stats()["totals"]["events"] == 0

    with running_live_server(sim_frames(3, seed=1, speed=20)) as live:
        async for tick in rugslab.live.subscribe("ticks", url=live.url): ...

The server runs its own asyncio loop in a daemon thread, so the caller may use asyncio (e.g.
`asyncio.run(client())`) or plain blocking code. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rugslab.live.background import BackgroundLive, serve_in_background
from rugslab.live.run import LiveOptions
from rugslab.sim.background import LoopThread, start_in_thread
from rugslab.sim.faults import Faults
from rugslab.sim.feed import ScheduledFrame, simulate_feed
from rugslab.sim.replay import read_files, replay_schedule
from rugslab.sim.server import FeedServer


def require_shared(shared: Path, *, needed_for: str = "the tests read the real data") -> Path:
    """`shared` (the `../shared` folder beside a clone) if it holds captures and recordings.

    Otherwise skips the calling test with the reason, or fails it when `CI=true` (in CI a
    missing `../shared` is an error, not a skip).
    """
    import os

    import pytest

    if (shared / "captures").is_dir() and (shared / "recordings").is_dir():
        return shared
    msg = (
        f"../shared not found at {shared}: {needed_for} from its captures and recordings, "
        "which must sit beside the repository (see README)."
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip(msg)


#: query string every client of these servers must send (as on backend.rugs.fun)
CLIENT_QUERY = "frontend-version=1.0"


class RunningServer(LoopThread[FeedServer]):
    """Handle on a `FeedServer` running in a background thread (`running_server`); `call`
    and `stop` as `rugslab.sim.background.LoopThread`."""

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return self.server.url

    @property
    def client_url(self) -> str:
        """The URL with the mandatory `frontend-version=1.0` query."""
        return f"{self.server.url}?{CLIENT_QUERY}"

    def stats(self) -> dict[str, Any]:
        """`FeedServer.stats()`, read on the server's loop (a consistent snapshot)."""

        async def snap() -> dict[str, Any]:
            return self.server.stats()

        return dict(self.call(snap()))

    def wait_done(self, timeout: float = 30.0) -> bool:
        """Block until the whole feed has been sent; False on timeout."""

        async def wait() -> None:
            await self.server.feed_done.wait()

        try:
            self.call(wait(), timeout)
        except TimeoutError:
            return False
        return True

    def disconnect_all(self) -> int:
        """Disconnect every client now (the server's `disconnect_kind`)."""
        return int(self.call(self.server.disconnect_all()))


@contextmanager
def running_server(frames: Iterable[ScheduledFrame], *, faults: Faults | None = None,
                   wait_for_clients: int = 0, host: str = "127.0.0.1",
                   start_timeout_s: float = 10.0,
                   on_sent: Callable[[ScheduledFrame], None] | None = None,
                   ) -> Iterator[RunningServer]:
    """Serve `frames` on a free port of `host` in a background thread; stop on exit.

    Args:
        frames: the schedule (e.g. `simulate_feed(...)` or `replay_frames(...)`).
        faults: per-frame faults and disconnects.
        wait_for_clients: hold the feed until this many clients are connected.
        on_sent: called (on the server's thread) with each frame right after it was sent.

    Raises:
        RugslabError: the server did not start within `start_timeout_s`.
    """

    async def serve(stop: asyncio.Event, started: Callable[[FeedServer], None]) -> None:
        server = FeedServer(frames, faults=faults, host=host, port=0,
                            wait_for_clients=wait_for_clients, on_sent=on_sent)
        await server.start()
        started(server)
        try:
            await stop.wait()
        finally:
            await server.stop()

    handle = start_in_thread(serve, RunningServer, name="rugslab-feed-server",
                             what="feed server", start_timeout_s=start_timeout_s)
    try:
        yield handle
    finally:
        handle.stop(10.0)


def sim_frames(games: int, seed: int = 0, speed: float = 100.0,
               players: int = 20) -> Iterator[ScheduledFrame]:
    """The simulated feed (`simulate_feed`) with a fast default speed for tests."""
    return simulate_feed(games, seed, speed, players)


def replay_frames(files: Sequence[Path | str], speed: float = 100.0) -> Iterator[ScheduledFrame]:
    """The replay schedule of capture files with a fast default speed for tests."""
    return replay_schedule(read_files(files), speed)


#: The handle `running_live_server` yields (`rugslab.live.background.BackgroundLive`).
RunningLive = BackgroundLive


@contextmanager
def running_live_server(frames: Iterable[ScheduledFrame] | None = None, *,
                        options: LiveOptions | None = None, start_timeout_s: float = 10.0,
                        ) -> Iterator[BackgroundLive]:
    """Run `serve_live(options, frames=frames)` on 127.0.0.1 (a free port unless `options`
    say otherwise) in a background thread; stop it on exit.

    Raises:
        RugslabError: the server did not start within `start_timeout_s`.
    """
    with serve_in_background(options, frames=frames, start_timeout_s=start_timeout_s) as live:
        yield live
