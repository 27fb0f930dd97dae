"""The listen-only client: it never emits, and it reconnects whoever closed the connection."""

from __future__ import annotations

import asyncio
import random

import pytest

from rugslab.backoff import Backoff
from rugslab.collector.client import (
    ConnectionEvent,
    ListenOnlyClient,
    ListenOnlyViolation,
    feed_url,
    listen,
)
from rugslab.feed.frames import Frame
from rugslab.sim.faults import Faults
from rugslab.testing import running_server, sim_frames


def test_feed_url_adds_the_mandatory_frontend_version() -> None:
    assert feed_url("https://backend.rugs.fun") == "https://backend.rugs.fun?frontend-version=1.0"
    assert feed_url("http://x:1/?a=b") == "http://x:1/?a=b&frontend-version=1.0"
    assert feed_url("http://x?frontend-version=2.0") == "http://x?frontend-version=2.0"


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(base_s=1.0, cap_s=8.0, jitter=0.0)
    assert [b.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    b.reset()
    assert b.next_delay() == 1.0


def test_backoff_jitter_stays_within_its_band() -> None:
    b = Backoff(base_s=1.0, cap_s=60.0, jitter=0.5, rng=random.Random(3))
    delays = [b.next_delay() for _ in range(8)]
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60]
    assert all(c * 0.5 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == 8


def test_emit_send_and_call_are_refused() -> None:
    client = ListenOnlyClient()

    async def attempt() -> list[str]:
        refused = []
        for name in ("emit", "send", "call"):
            with pytest.raises(ListenOnlyViolation, match="listen-only"):
                await getattr(client, name)("buy", {"amount": 1})
            refused.append(name)
        return refused

    assert asyncio.run(attempt()) == ["emit", "send", "call"]


async def _listen_until(url: str, frames_wanted: int, timeout_s: float = 20.0
                        ) -> tuple[list[Frame], list[ConnectionEvent], list[ListenOnlyClient]]:
    frames: list[Frame] = []
    conns: list[ConnectionEvent] = []
    clients: list[ListenOnlyClient] = []
    stop = asyncio.Event()

    def on_frame(f: Frame) -> None:
        frames.append(f)
        if len(frames) >= frames_wanted:
            stop.set()

    def factory() -> ListenOnlyClient:
        clients.append(ListenOnlyClient())
        return clients[-1]

    task = asyncio.ensure_future(
        listen(url, on_frame, conns.append, stop, backoff=Backoff(0.05, 0.2, 0.0),
               client_factory=factory)
    )
    await asyncio.wait_for(task, timeout_s)
    return frames, conns, clients


def test_the_collector_client_sends_nothing_but_the_handshake() -> None:
    # the server counts every Socket.IO packet a client sends beyond the CONNECT handshake
    # (Engine.IO pings/pongs never reach that layer)
    with running_server(sim_frames(2, seed=5, speed=200), wait_for_clients=1) as srv:
        frames, conns, clients = asyncio.run(_listen_until(srv.url, 300))
        stats = srv.stats()
    assert len(frames) >= 300  # a frame may land between stop and close
    assert [c.kind for c in conns] == ["connected", "disconnected"]
    assert stats["totals"] == {"packets": 0, "events": 0, "acks": 0}
    # the polite DISCONNECT packet of a normal close was held back too
    assert sum(c.blocked_packets for c in clients) == 1


def test_a_deliberately_emitting_client_is_counted_so_the_test_can_fail() -> None:
    import socketio

    with running_server(sim_frames(1, seed=5, speed=200)) as srv:

        async def bot() -> None:
            c = socketio.AsyncClient()
            await c.connect(srv.client_url, transports=["websocket"])
            await c.emit("buy", {"amount": 1})
            await asyncio.sleep(0.2)
            await c.disconnect()

        asyncio.run(bot())
        assert srv.stats()["totals"]["events"] == 1


def test_server_initiated_disconnects_do_not_end_listening() -> None:
    faults = Faults(disconnect_every_s=0.6, seed=1)
    with running_server(sim_frames(3, seed=9, speed=40), faults=faults, wait_for_clients=1) as srv:
        frames, conns, _ = asyncio.run(_listen_until(srv.url, 600, timeout_s=30))
        stats = srv.stats()
    kinds = [c.kind for c in conns]
    assert kinds.count("connected") >= 2, kinds
    reasons = {c.reason for c in conns if c.kind == "disconnected"}
    assert "server disconnect" in reasons
    assert len(frames) >= 600  # a frame may land between stop and close
    assert stats["totals"]["events"] == 0
    # every reconnect after a server disconnect waited a backoff delay that is recorded
    assert all(c.backoff_s is not None for c in conns if c.reason == "server disconnect")
    assert [c.connection_no for c in conns if c.kind == "connected"] == list(
        range(1, kinds.count("connected") + 1)
    )


def test_an_unreachable_feed_is_retried_with_backoff_until_stopped() -> None:
    async def run() -> list[ConnectionEvent]:
        conns: list[ConnectionEvent] = []
        stop = asyncio.Event()

        def on_conn(ev: ConnectionEvent) -> None:
            conns.append(ev)
            if len(conns) >= 3:
                stop.set()

        await asyncio.wait_for(
            listen("http://127.0.0.1:9", lambda f: None, on_conn, stop,
                   backoff=Backoff(0.01, 0.02, 0.0), connect_timeout_s=1.0),
            20,
        )
        return conns

    conns = asyncio.run(run())
    assert [c.kind for c in conns] == ["connect_failed"] * 3
    assert [c.backoff_s for c in conns] == [0.01, 0.02, 0.02]
    assert all("polling" in (c.reason or "") for c in conns)
