"""The Python client of the live server: channels as async iterators that survive reconnects.

    from rugslab import live
    async for tick in live.subscribe("ticks", url="http://127.0.0.1:8765"):
        print(tick["tick"], tick["price_x"])

    async with contextlib.aclosing(live.stream({"ticks": None, "signals": {"every": 4}},
                                               url=url, duration_s=60)) as messages:
        async for channel, message in messages: ...

Connections use Socket.IO over a websocket (long-polling when a websocket cannot be opened).
When the connection drops (the server restarts, the network fails, or the server dropped this
client as a slow consumer) the client reconnects with the one backoff of rugslab
(`rugslab.backoff`: capped exponential with full jitter, reset after a healthy connection)
and subscribes again to the same channels with the same filters; the iterator goes on.
Messages sent while it was away are lost: `stream(..., include_connects=True)` yields
`("connected", {"connection": n, ...})` after every (re)connect so a caller can redraw the
running game with `request("get_game")`.

Gaps: a heartbeat says how many channel messages the server sent on this connection before
it (`sent`); the client compares with what it received and adds the difference to
`LiveClient.lost` (0 unless messages were lost), and counts heartbeats whose `seq` skipped.
A consumer that falls `queue_size` messages behind loses the newest ones (counted in `lost`
and `overflowed`): memory stays bounded whatever the consumer does.

What cannot be fixed by reconnecting raises `BadRequest` with the server's code: a refused
token (`bad_token`), a channel or filter the server refuses (`unknown_channel`,
`bad_filter`, `too_many_subscriptions`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import socketio

from rugslab.backoff import Backoff, is_healthy_connection
from rugslab.live.limits import BAD_TOKEN, BadRequest
from rugslab.sim.server import DEFAULT_PORT

DEFAULT_LIVE_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
#: Codes after which reconnecting cannot help: they are raised.
FATAL_CODES = frozenset({BAD_TOKEN, "unknown_channel", "bad_filter", "too_many_subscriptions",
                         "bad_request"})

Channels = Mapping[str, dict[str, Any] | None] | Sequence[str] | str


def _channels(channels: Channels) -> dict[str, dict[str, Any] | None]:
    if isinstance(channels, str):
        return {channels: None}
    if isinstance(channels, Mapping):
        return dict(channels)
    return dict.fromkeys(channels)


class LiveClient:
    """One logical subscription to the live server, kept across reconnects (module docstring).

    Args:
        url: the server (`http://host:port`).
        channels: channel → filter (None: none), or channel names.
        token: sent as `auth={"token": ...}` when the server needs one.
        backoff: delays between connection attempts (default: the reconnect constants).
        queue_size: messages held for the consumer; past it, new messages are let go and
            counted (`lost`, `overflowed`) rather than held without bound.
    """

    def __init__(self, url: str = DEFAULT_LIVE_URL, channels: Channels = (), *,
                 token: str | None = None, backoff: Backoff | None = None,
                 queue_size: int = 10_000, connect_timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.channels = _channels(channels)
        self.token = token
        self.backoff = backoff or Backoff()
        self.connect_timeout_s = connect_timeout_s
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(queue_size)
        self.connects = 0
        self.lost = 0
        self.heartbeats_missed = 0
        self.overflowed = 0
        self.last_reason: str | None = None
        self._sio: socketio.AsyncClient | None = None
        self._received = 0
        self._last_seq = 0

    async def request(self, event: str, data: dict[str, Any] | None = None,
                      timeout_s: float = 10.0) -> Any:
        """Send a request (`get_status`, `get_game`, `get_signals`) on the current connection
        and return the answer.

        Raises:
            BadRequest: not connected (`not_connected`).
        """
        sio = self._sio
        if sio is None or not sio.connected:
            raise BadRequest("not_connected", "Not connected to the live server yet: wait for "
                             "a message (or a 'connected' item) first.")
        return await sio.call(event, data or {}, timeout=timeout_s)

    async def run(self, stop: asyncio.Event, *, include_connects: bool = False) -> None:
        """Connect, subscribe and put `(channel, message)` on `.queue` until `stop`,
        reconnecting with backoff.

        Raises:
            BadRequest: a refusal that reconnecting cannot fix (`FATAL_CODES`).
        """
        while not stop.is_set():
            sio, closed, refusal = self._client()
            up = await self._open(sio, refusal, stop)
            if up is None:  # stopped while connecting
                break
            if not up:
                await _sleep_or_stop(stop, self.backoff.next_delay())
                continue
            t_up, received_before = time.monotonic(), self._received
            self._sio, self._last_seq = sio, 0
            self.connects += 1
            try:
                subscribed = [await self._subscribe(sio, ch, flt)
                              for ch, flt in self.channels.items()]
            except socketio.exceptions.SocketIOError:  # dropped while subscribing: again
                subscribed = []
                closed.set()
            if include_connects and not closed.is_set():
                with contextlib.suppress(asyncio.QueueFull):
                    self.queue.put_nowait(("connected", {
                        "connection": self.connects,
                        "subscribed": subscribed[-1] if subscribed else []}))
            await _until(stop, closed)
            self._sio = None
            with contextlib.suppress(Exception):
                await sio.disconnect()
            if stop.is_set():
                break
            if is_healthy_connection(self._received - received_before, time.monotonic() - t_up):
                self.backoff.reset()
            await _sleep_or_stop(stop, self.backoff.next_delay())

    def _client(self) -> tuple[socketio.AsyncClient, asyncio.Event, dict[str, Any]]:
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        closed = asyncio.Event()
        refusal: dict[str, Any] = {}

        async def on_channel(event: str, data: Any = None) -> None:
            if event == "heartbeat":
                self._heartbeat(data)
            elif event == "error":
                if isinstance(data, dict) and data.get("fatal"):
                    self.last_reason = f"{data.get('code')}: {data.get('message')}"
            elif event in self.channels:
                self._received += 1
                try:
                    self.queue.put_nowait((event, data))
                except asyncio.QueueFull:  # the consumer is behind by `queue_size`: counted
                    self.lost += 1
                    self.overflowed += 1

        async def on_connect_error(data: Any = None) -> None:
            refusal["data"] = data

        async def on_disconnect(*args: Any) -> None:
            closed.set()

        sio.on("*", on_channel)
        sio.on("connect_error", on_connect_error)
        sio.on("disconnect", on_disconnect)
        return sio, closed, refusal

    def _heartbeat(self, hb: Any) -> None:
        if not isinstance(hb, dict):
            return
        sent, seq = hb.get("sent"), hb.get("seq")
        if type(sent) is int and sent > self._received:
            self.lost += sent - self._received
            self._received = sent
        if type(seq) is int:
            if self._last_seq and seq > self._last_seq + 1:
                self.heartbeats_missed += seq - self._last_seq - 1
            self._last_seq = seq

    async def _open(self, sio: socketio.AsyncClient, refusal: dict[str, Any],
                    stop: asyncio.Event) -> bool | None:
        auth = {"token": self.token} if self.token is not None else None
        self._received = 0
        for transports in (["websocket"], ["polling"]):
            attempt = asyncio.ensure_future(sio.connect(
                self.url, auth=auth, transports=transports, wait_timeout=self.connect_timeout_s))
            done = await _until(stop, attempt)
            if not done:
                attempt.cancel()
                with contextlib.suppress(BaseException):
                    await attempt
                await _abort(sio)
                return None
            try:
                attempt.result()
                return True
            except (socketio.exceptions.ConnectionError, OSError, TimeoutError) as e:
                self.last_reason = str(e)
                data = refusal.get("data")
                detail = data.get("data") if isinstance(data, dict) else None
                code = detail.get("code") if isinstance(detail, dict) else None
                await _abort(sio)
                if code in FATAL_CODES:
                    raise BadRequest(code, str(data.get("message"))) from e  # type: ignore[union-attr]
                if code is not None:  # refused (e.g. server_full): no other transport helps
                    return False
        return False

    async def _subscribe(self, sio: socketio.AsyncClient, channel: str,
                         flt: dict[str, Any] | None) -> list[str]:
        data: dict[str, Any] = {"channel": channel}
        if flt:
            data["filter"] = flt
        ack = await sio.call("subscribe", data, timeout=self.connect_timeout_s)
        if not (isinstance(ack, dict) and ack.get("ok")):
            code = ack.get("code", "bad_request") if isinstance(ack, dict) else "bad_request"
            message = ack.get("message", str(ack)) if isinstance(ack, dict) else str(ack)
            raise BadRequest(code, message)
        return list(ack["subscribed"])


async def stream(channels: Channels, *, url: str = DEFAULT_LIVE_URL, token: str | None = None,
                 duration_s: float | None = None, include_connects: bool = False,
                 client: LiveClient | None = None,
                 backoff: Backoff | None = None) -> AsyncIterator[tuple[str, Any]]:
    """`(channel, message)` of every subscribed channel, across reconnects (module docstring).

    Args:
        channels: channel → filter, or channel names (or one name).
        duration_s: stop after this long (None: run until the caller stops iterating).
        include_connects: also yield `("connected", {"connection", "subscribed"})` after each
            (re)connect (when the queue has room).
        client: a `LiveClient` to use (its `request`, `lost`, `connects` stay readable);
            default: a new one for `url`, `channels`, `token`, `backoff`.

    Raises:
        BadRequest: a refused token, channel or filter.
    """
    c = client or LiveClient(url, channels, token=token, backoff=backoff)
    stop = asyncio.Event()
    runner = asyncio.ensure_future(c.run(stop, include_connects=include_connects))
    deadline = None if duration_s is None else time.monotonic() + duration_s
    try:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            getter = asyncio.ensure_future(c.queue.get())
            done, _ = await asyncio.wait({getter, runner}, timeout=left,
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            if runner in done:
                runner.result()  # raises what ended it
                return
    finally:
        stop.set()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(runner, 5.0)


async def subscribe(channel: str, *, url: str = DEFAULT_LIVE_URL,
                    filter: dict[str, Any] | None = None,
                    token: str | None = None, duration_s: float | None = None,
                    backoff: Backoff | None = None) -> AsyncIterator[Any]:
    """The messages of one channel, across reconnects: `async for tick in
    subscribe("ticks", url=...)`. See `stream` for the arguments and errors."""
    async for _, message in stream({channel: filter}, url=url, token=token,
                                   duration_s=duration_s, backoff=backoff):
        yield message


async def _until(stop: asyncio.Event, what: asyncio.Event | asyncio.Future[Any]) -> bool:
    """Wait for `what` (an event or a future) or `stop`; True when `what` came first."""
    target = asyncio.ensure_future(what.wait()) if isinstance(what, asyncio.Event) else what
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({target, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if isinstance(what, asyncio.Event):
            target.cancel()
    return bool(what.is_set()) if isinstance(what, asyncio.Event) else what.done()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _abort(sio: socketio.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await sio.disconnect()
    if sio.eio.http is not None:  # a refused handshake leaves its HTTP session open
        with contextlib.suppress(Exception):
            await sio.eio.http.close()
