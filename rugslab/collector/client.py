"""The listen-only Socket.IO client of the feed, with reconnect-forever and a connection log.

Listen only (PROTOCOL.md, "Connection"): a client that emits events or acknowledgements is
treated as a bot and cut off. `ListenOnlyClient` lets exactly one kind of Socket.IO packet
leave: the namespace CONNECT of the handshake. Engine.IO pongs (transport keep-alive) are sent
by python-engineio below this layer. Everything else (an EVENT, an ACK the server might ask for,
the DISCONNECT packet of a polite close) is dropped and counted in `.blocked_packets`.

`listen()` reconnects forever with capped exponential backoff and full jitter
(`rugslab.backoff`: reset after a healthy connection), whoever closed the connection
(python-socketio's own reconnection gives up after a server-initiated disconnect, so it is
off), and reports every connect, failure and disconnect as a `ConnectionEvent`.

Signals are the application's: python-socketio and python-engineio would otherwise install
their own SIGINT handler (on client creation and on first connect) that cancels every task of
the event loop and stops it, so the collector could not write what it holds. The client is
built with `handle_sigint=False`; `rugslab.collector.run.collect` handles SIGINT and SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import socketio
from socketio import packet

from rugslab.backoff import Backoff, is_healthy_connection
from rugslab.config import DEFAULT_FRONTEND_VERSION
from rugslab.errors import RugslabError
from rugslab.feed.frames import UNDECODABLE_EVENT, Frame


class ListenOnlyViolation(RugslabError):
    """Code tried to emit on the listen-only client."""


class ListenOnlyClient(socketio.AsyncClient):
    """A python-socketio AsyncClient that never emits (see module docstring)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("reconnection", False)
        # no library SIGINT handler (module docstring): the collector's own handler stops it
        kwargs.setdefault("handle_sigint", False)
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.blocked_packets = 0
        self.on_undecodable: Callable[[str, str], None] | None = None

    async def _handle_eio_message(self, data: Any) -> None:
        # a packet the decoder rejects (cut-short JSON, garbage) must not vanish: hand its
        # text to the collector, which journals it and records a reject
        try:
            await super()._handle_eio_message(data)
        except ValueError as e:  # json.JSONDecodeError and "Unknown packet type" included
            if self.on_undecodable is None:
                raise
            text = data if isinstance(data, str) else repr(data)
            self.on_undecodable(text, f"undecodable Socket.IO packet: {e}")

    async def emit(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        raise ListenOnlyViolation("the rugslab collector is listen-only: emit() is not allowed")

    async def send(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        raise ListenOnlyViolation("the rugslab collector is listen-only: send() is not allowed")

    async def call(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        raise ListenOnlyViolation("the rugslab collector is listen-only: call() is not allowed")

    async def _send_packet(self, pkt: packet.Packet) -> None:
        if pkt.packet_type == packet.CONNECT:
            await super()._send_packet(pkt)
        else:
            self.blocked_packets += 1


def feed_url(url: str, frontend_version: str = DEFAULT_FRONTEND_VERSION) -> str:
    """`url` with the mandatory `frontend-version` query parameter added (kept if present)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("frontend-version", frontend_version)
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(slots=True, frozen=True)
class ConnectionEvent:
    """One connect, failed connect or disconnect, for the `connections` table."""

    session_id: str
    connection_no: int
    kind: str  # "connected" | "connect_failed" | "disconnected"
    ts_us: int
    reason: str | None = None
    transport: str | None = None
    duration_s: float | None = None
    backoff_s: float | None = None


_T = TypeVar("_T")
FrameSink = Callable[[Frame], None]
ConnectionSink = Callable[[ConnectionEvent], None]


async def listen(
    url: str,
    on_frame: FrameSink,
    on_connection: ConnectionSink,
    stop: asyncio.Event,
    *,
    session_id: str | None = None,
    backoff: Backoff | None = None,
    connect_timeout_s: float = 10.0,
    client_factory: Callable[[], ListenOnlyClient] = ListenOnlyClient,
) -> None:
    """Listen to the feed at `url` until `stop` is set, reconnecting forever.

    Args:
        url: feed URL; `frontend-version` is added when missing.
        on_frame: called for every received event, in the event loop, before anything else;
            `Frame.recv_ts_us` / `recv_mono_ns` are taken on arrival, `seq` counts frames of
            this session from 1.
        on_connection: called for every connect, failed connect and disconnect.
        stop: set it to end listening, connected, connecting or waiting to reconnect: it
            returns within moments; the client closes without sending a DISCONNECT packet.
        backoff: delays between attempts (default: `Backoff()`, the reconnect constants);
            reset after a healthy connection (`is_healthy_connection`).
        client_factory: builds the client (tests pass instrumented ones).

    Transports: websocket first; if that fails, long-polling in the same attempt.
    """
    sid = session_id or uuid.uuid4().hex
    backoff = backoff or Backoff()
    target = feed_url(url)
    counter = _SeqCounter()
    conn_no = 0

    while not stop.is_set():
        conn_no += 1
        link = _Link(client_factory(), sid, on_frame, counter)
        opened = await _until_stop(stop, link.open(target, connect_timeout_s))
        if opened is None:  # stopped while connecting
            await _abort(link.client)
            break
        transport, error = opened
        if transport is None:
            delay = backoff.next_delay()
            on_connection(
                ConnectionEvent(sid, conn_no, "connect_failed", _now_us(), error, None, None, delay)
            )
            await _sleep_or_stop(stop, delay)
            continue

        t_up = time.monotonic()
        on_connection(ConnectionEvent(sid, conn_no, "connected", _now_us(), None, transport))
        await _until_stop(stop, link.closed.wait())
        held = time.monotonic() - t_up
        closed_by_peer = link.closed.is_set()  # before `_abort`, whose close sets it too
        await _abort(link.client)
        if not closed_by_peer:
            on_connection(
                ConnectionEvent(sid, conn_no, "disconnected", _now_us(), "stopped", transport, held)
            )
            break
        if is_healthy_connection(link.frames, held):
            backoff.reset()
        delay = backoff.next_delay()
        on_connection(
            ConnectionEvent(
                sid, conn_no, "disconnected", _now_us(), link.reason, transport, held, delay
            )
        )
        await _sleep_or_stop(stop, delay)


async def _until_stop(stop: asyncio.Event, aw: Awaitable[_T]) -> _T | None:
    """`aw`'s result, or None when `stop` is set first (then `aw` is cancelled and awaited)."""
    task = asyncio.ensure_future(aw)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    # a connect cut short may end in its own error after the cancel: it is moot now
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None


@dataclass(slots=True)
class _SeqCounter:
    value: int = 0


class _Link:
    """One connection attempt: the client, its handlers and how it ended."""

    def __init__(
        self, client: ListenOnlyClient, sid: str, on_frame: FrameSink, counter: _SeqCounter
    ) -> None:
        self.client = client
        self.closed = asyncio.Event()
        self.reason = "unknown"
        self.frames = 0  # received on this connection (a healthy one resets the backoff)
        self._sid = sid
        self._on_frame = on_frame
        self._counter = counter
        client.on("*", self._on_any)
        client.on("disconnect", self._on_disconnect)
        client.on_undecodable = self._on_undecodable

    async def _on_any(self, event: str, *args: object) -> None:
        self._deliver(event, list(args))

    def _deliver(self, event: str, args: list[Any]) -> None:
        wall_us = time.time_ns() // 1000
        mono_ns = time.monotonic_ns()
        self._counter.value += 1
        self.frames += 1
        self._on_frame(
            Frame(
                event=event,
                args=args,
                source=f"collector:{self._sid}",
                recv_ts_us=wall_us,
                recv_mono_ns=mono_ns,
                seq=self._counter.value,
                session_id=self._sid,
            )
        )

    def _on_undecodable(self, text: str, reason: str) -> None:
        self._deliver(UNDECODABLE_EVENT, [{"raw": text, "error": reason}])

    async def _on_disconnect(self, reason: str = "unknown") -> None:
        self.reason = str(reason)
        self.closed.set()

    async def open(self, target: str, timeout_s: float) -> tuple[str | None, str | None]:
        """Connect by websocket, else by polling. Returns (transport, None) or (None, error)."""
        error = None
        for transport in ("websocket", "polling"):
            try:
                await self.client.connect(target, transports=[transport], wait_timeout=timeout_s)
                return transport, None
            except (TimeoutError, socketio.exceptions.ConnectionError, OSError) as e:
                error = f"{transport}: {e or type(e).__name__}"
                await _abort(self.client)
        return None, error


async def _abort(client: ListenOnlyClient) -> None:
    """Close the transport without a Socket.IO DISCONNECT packet; never raises."""
    # a half-open client may fail to close; it is discarded anyway
    with contextlib.suppress(Exception):
        await client.disconnect()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _now_us() -> int:
    return time.time_ns() // 1000
