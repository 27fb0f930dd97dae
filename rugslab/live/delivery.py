"""Getting messages to clients without any client holding up another.

A message is encoded once (Socket.IO EVENT text in one Engine.IO packet, `encode`) and handed
to each recipient without waiting (`Outbox.deliver`), one of two ways:

- a websocket client (once its Engine.IO queue is empty, so nothing queued is overtaken): the
  websocket frame, built once for all recipients (server frames are not masked, and the server
  never negotiates compression), is written straight onto the client's TCP transport, with
  the other frames of the same event-loop iteration in one system call (`flush`). The
  transport buffers what the socket does not take: that buffer is the client's bounded queue,
  `max_buffer_bytes`. Engine.IO's writer task (a wake-up, a timer and an aiohttp frame per
  packet and client) costs several times the CPU per message at hundreds of clients;
- any other client (long-polling, or a websocket mid-upgrade): put on its Engine.IO send queue,
  which its writer task drains; bounded at `max_queue` packets.

A client past its bound (it reads slower than the feed, or not at all) is dropped as a
`slow_consumer`: its backlog is let go, it gets an `error` event saying why (seen only if it
reads again), and its TCP connection is cut. Nothing awaits a client's socket on the path of a
message, so a stalled client costs the others nothing but the memory it filled. Heartbeats, `error`
events and python-socketio's acknowledgements take the same path as the channel messages
(their order holds); Engine.IO sends its pings through the queue.

(The queue is python-engineio's per-socket `asyncio.Queue`; reaching into it is the one way
to bound it, as `rugslab.sim.server.FeedServer.disconnect_all` does to drop a transport.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
import socketio
from engineio import packet as eio_packet

from rugslab.live.limits import SLOW_CONSUMER

#: A direct client's frames wait this long to go out in one write with the frames that follow
#: (those of the same tick, and of every frame taken meanwhile when the server is busy).
FLUSH_AFTER_S = 0.002


def ws_frame(pkt: eio_packet.Packet) -> bytes:
    """The unmasked, uncompressed websocket text frame of `pkt` (RFC 6455 §5.2), built once
    per packet and kept on it."""
    frame: bytes | None = getattr(pkt, "rugslab_ws_frame", None)
    if frame is None:
        data = pkt.encode().encode("utf-8")
        n = len(data)
        if n < 126:
            head = bytes((0x81, n))
        elif n < 65536:
            head = bytes((0x81, 126)) + n.to_bytes(2, "big")
        else:
            head = bytes((0x81, 127)) + n.to_bytes(8, "big")
        frame = head + data
        pkt.rugslab_ws_frame = frame
    return frame


def encode(event: str, message: Any) -> eio_packet.Packet:
    """One Socket.IO EVENT `[event, message]` on the default namespace, as an Engine.IO
    MESSAGE packet ready for any number of sockets (its text is cached after the first)."""
    text = "2" + orjson.dumps([event, message], option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return eio_packet.Packet(eio_packet.MESSAGE, data=text)


@dataclass(slots=True)
class Client:
    """One connected client.

    Attributes:
        number: connection number (1, 2, ... in connection order); shown instead of ids.
        sent: channel messages put on its queue (heartbeats, acks and errors not counted).
        heartbeats: heartbeats sent (the `seq` of the last one).
        dropped: the code it was dropped with, None while it is served.
        abort: cuts its TCP connection at once (websocket transports), when known.
        direct: its messages are written straight onto its websocket's transport.
    """

    sid: str
    eio_sid: str
    number: int
    connected_mono: float
    sent: int = 0
    heartbeats: int = 0
    dropped: str | None = None
    abort: Callable[[], None] | None = None
    direct: bool = False


class Outbox:
    """Clients and their send queues (module docstring)."""

    def __init__(self, sio: socketio.AsyncServer, max_queue: int,
                 max_buffer_bytes: int) -> None:
        self.sio = sio
        self.max_queue = max_queue
        self.max_buffer_bytes = max_buffer_bytes
        self.clients: dict[str, Client] = {}  # Socket.IO sid → client
        self.by_eio: dict[str, Client] = {}  # Engine.IO sid → client
        self.transports: dict[str, Any] = {}  # Engine.IO sid → its websocket's TCP transport
        self.dropped: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[Any]] = set()
        # frames for direct clients, written in one system call per client at the end of the
        # event loop's current iteration (a tick's `ticks` and `signals` go out together)
        self._pending: dict[str, tuple[Any, list[bytes]]] = {}
        self._pending_bytes: dict[str, int] = {}

    def _socket(self, client: Client) -> Any:
        sock = self.sio.eio.sockets.get(client.eio_sid)
        return None if sock is None or sock.closed else sock

    def deliver(self, sid: str, pkt: eio_packet.Packet, *, count: bool = True) -> bool:
        """Hand `pkt` to client `sid` without waiting; False when it is gone, dropped, or
        dropped now as a slow consumer."""
        client = self.clients.get(sid)
        if client is None or client.dropped is not None or not self._write(client, pkt):
            return False
        if count:
            client.sent += 1
        return True

    def _write(self, client: Client, pkt: eio_packet.Packet) -> bool:
        sock = self._socket(client)
        if sock is None:
            return False
        transport = self.transports.get(client.eio_sid)
        if (not client.direct and transport is not None and sock.upgraded
                and sock.queue.empty() and transport.get_write_buffer_size() == 0):
            client.direct = True  # the writer task is idle: nothing queued can be overtaken
        if client.direct:
            if transport is None or transport.is_closing():
                return False
            backlog = transport.get_write_buffer_size() + self._pending_bytes.get(client.sid, 0)
            if backlog >= self.max_buffer_bytes:
                self._slow(client, f"{backlog:,} bytes")
                return False
            self._later(client, transport, ws_frame(pkt))
            return True
        if sock.queue.qsize() >= self.max_queue:
            self._slow(client, f"{self.max_queue} messages")
            return False
        sock.queue.put_nowait(pkt)
        return True

    def send_direct(self, eio_sid: str, sio_pkt: Any) -> bool:
        """Send a Socket.IO packet (an acknowledgement, a disconnect) the direct way when its
        client is written to directly, so it keeps its place among the messages; False when
        the caller must queue it."""
        client = self.by_eio.get(eio_sid)
        transport = self.transports.get(eio_sid)
        if client is None or not client.direct or transport is None or transport.is_closing():
            return False
        text = sio_pkt.encode()
        if not isinstance(text, str):  # binary packets: not sent by this server
            return False
        self._later(client, transport, ws_frame(eio_packet.Packet(eio_packet.MESSAGE, text)))
        return True

    def _later(self, client: Client, transport: Any, frame: bytes) -> None:
        held = self._pending.get(client.sid)
        if held is None:
            if not self._pending:
                asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self.flush)
            held = self._pending[client.sid] = (transport, [])
        held[1].append(frame)
        self._pending_bytes[client.sid] = self._pending_bytes.get(client.sid, 0) + len(frame)

    def flush(self) -> None:
        """Write every direct client's held frames (one write each, in order)."""
        pending, self._pending, self._pending_bytes = self._pending, {}, {}
        for transport, frames in pending.values():
            if not transport.is_closing():
                transport.write(frames[0] if len(frames) == 1 else b"".join(frames))

    def _slow(self, client: Client, backlog: str) -> None:
        self.drop(client, SLOW_CONSUMER,
                  f"Dropped as a slow consumer: {backlog} were waiting to be sent to this "
                  "client. Read faster, subscribe to fewer channels, or use a filter (e.g. "
                  "{\"every\": 4}).", hard=True)

    def error(self, sid: str, code: str, message: str, *, fatal: bool = False) -> None:
        """Send an `error` event `{code, message, fatal}` to `sid` (best effort)."""
        client = self.clients.get(sid)
        if client is not None:
            self._put(client, encode("error", {"code": code, "message": message,
                                               "fatal": fatal}))

    def ack(self, sid: str, ack_id: int, reply: Any) -> None:
        """Acknowledge the client's message `ack_id` with `reply` (best effort)."""
        client = self.clients.get(sid)
        if client is not None:
            text = f"3{ack_id}" + orjson.dumps([reply]).decode()
            self._put(client, eio_packet.Packet(eio_packet.MESSAGE, data=text))

    def _put(self, client: Client, pkt: eio_packet.Packet) -> None:
        """`pkt` to `client` past its bound (a goodbye, an answer): never drops it."""
        transport = self.transports.get(client.eio_sid)
        if client.direct and transport is not None and not transport.is_closing():
            self._later(client, transport, ws_frame(pkt))
            return
        sock = self._socket(client)
        if sock is not None:
            sock.queue.put_nowait(pkt)

    def drop(self, client: Client, code: str, message: str, *, hard: bool) -> None:
        """Stop serving `client`: tell it why (an `error` event with `fatal: true`), then
        disconnect it; `hard` also lets its backlog go and cuts its TCP connection now (a
        client that does not read would never see the goodbye)."""
        if client.dropped is not None:
            return
        client.dropped = code
        self.dropped[code] += 1
        sock = self._socket(client)
        if hard:
            self._pending.pop(client.sid, None)
            self._pending_bytes.pop(client.sid, None)
        if hard and sock is not None:
            with contextlib.suppress(asyncio.QueueEmpty, ValueError):
                while True:
                    sock.queue.get_nowait()
                    sock.queue.task_done()
        self._put(client, encode("error", {"code": code, "message": message, "fatal": True}))
        self.spawn(self._close(client, hard))

    async def _close(self, client: Client, hard: bool) -> None:
        if hard and client.abort is not None:
            with contextlib.suppress(Exception):
                client.abort()
        with contextlib.suppress(Exception):
            await self.sio.disconnect(client.sid)
        if hard:
            return
        await asyncio.sleep(1.0)  # a polite client closes on DISCONNECT; others are cut
        if client.abort is not None and self.sio.eio.sockets.get(client.eio_sid) is not None:
            with contextlib.suppress(Exception):
                client.abort()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` in the background, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_tasks(self) -> None:
        """Cancel and await the background tasks (at stop)."""
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
