"""Socket.IO servers that speak like backend.rugs.fun: replay of captures and simulated feed.

    FeedServer(frames, faults=...)   python-socketio AsyncServer on aiohttp; broadcasts a stream
                                     of `ScheduledFrame`s to every connected client
    serve_replay(files, ...)         replay captures (any format `read_frames` reads)
    serve_sim(...)                   the simulated feed of `rugslab.sim.feed`

Like the real server it requires the query `frontend-version=1.0` (a connection without it is
refused) and it broadcasts `42["event", *args]` (`emit(event, *args)`). It never expects
anything from a client, and it COUNTS every packet each client sends beyond the Socket.IO
CONNECT (Engine.IO pings/pongs never reach this layer): `GET /stats` on the same port returns
them as JSON, and `FeedServer.stats()` in process. A listen-only client has
`packets == 0` while connected; a client closing politely may send one DISCONNECT packet,
counted under `by_type.disconnect` (so "never emits" means `events == acks == 0`). Clients are
listed by connection number ("1", "2", ... in connection order) with their counts only: never
their addresses, query strings or session ids (a session id would let a reader of /stats act
as that client).

Cross-origin requests (a browser page of another origin: its `Origin` header differs from
`http://<Host>`) are refused by default; `cors_origins` lists the origins to allow (`"*"`: any).
Clients that send no `Origin` header (Python clients, the collector) are not concerned.

Fault injection: per-frame faults come from `rugslab.sim.faults.apply_faults`; with
`disconnect_every_s` the server disconnects every client every S wall seconds, either with a
Socket.IO DISCONNECT packet (`disconnect_kind="socketio"`) or by dropping the Engine.IO
connection without a goodbye (`"transport"`, as on a reboot). The feed goes on meanwhile:
frames sent while a client is away are lost to it, as on the real feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
import socketio
from aiohttp import web

from rugslab.config import DEFAULT_FRONTEND_VERSION
from rugslab.errors import ConfigError
from rugslab.readers import detect_format
from rugslab.sim.faults import Faults, FaultStats, apply_faults
from rugslab.sim.feed import ScheduledFrame, simulate_feed
from rugslab.sim.replay import ReplayStats, read_files, replay_schedule

DEFAULT_PORT = 8765
_PACKET_TYPES = {"0": "connect", "1": "disconnect", "2": "event", "3": "ack",
                 "4": "connect_error", "5": "binary_event", "6": "binary_ack"}
#: What a browser sends as `Origin`: scheme://host[:port], nothing after.
_ORIGIN = re.compile(r"^https?://[^/?#\s]+$")


def cors_allowed_origins(origins: Sequence[str] | None) -> list[str] | None:
    """The python-socketio `cors_allowed_origins` for `origins` (each `scheme://host[:port]`,
    or `*` for any origin): None (same origin only) when there are none.

    (python-engineio: None = same origin; `[]` would turn the Origin check off altogether.)

    Raises:
        ConfigError: an origin is not of that form; the message names it and the fix.
    """
    if not origins:
        return None
    for o in origins:
        if o != "*" and not _ORIGIN.match(o):
            raise ConfigError(
                f"Invalid --cors-origin {o!r}: expected an origin as a browser sends it, "
                "scheme://host[:port] with no path (e.g. http://localhost:3000), or '*' to "
                "allow any origin."
            )
    return list(origins)


async def listen(app: web.Application, host: str, port: int, *,
                 shutdown_timeout_s: float = 60.0) -> tuple[web.AppRunner, int]:
    """Serve `app` on `host`:`port` (0: a free port; an address with ":" is IPv6).

    Returns:
        The started runner (`await runner.cleanup()` stops it; it waits up to
        `shutdown_timeout_s` for open requests) and the port bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=shutdown_timeout_s)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner, sock.getsockname()[1]


async def close_connections(sio: socketio.AsyncServer) -> None:
    """Disconnect every Engine.IO connection of `sio` (1 s at most), then shut `sio` down."""
    closing = [asyncio.create_task(sio.eio.disconnect(eio_sid))
               for eio_sid in list(sio.eio.sockets)]
    if closing:
        # a polling client that stopped polling never fetches its CLOSE packet, and
        # engine.io waits for it: give them all 1 s, then stop regardless
        _, late = await asyncio.wait(closing, timeout=1.0)
        for t in late:
            t.cancel()
        for t in closing:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await t
    with contextlib.suppress(Exception):
        await sio.shutdown()  # ends engine.io's service task


class _CountingServer(socketio.AsyncServer):  # type: ignore[misc]
    """AsyncServer that reports every Socket.IO packet a client sends before handling it."""

    def __init__(self, on_packet: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_packet = on_packet

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if isinstance(data, bytes | bytearray):
            kind = "binary_attachment"
        else:
            kind = _PACKET_TYPES.get(str(data)[:1], "unknown")
        self._on_packet(eio_sid, kind)
        try:
            await super()._handle_eio_message(eio_sid, data)
        except ValueError:  # garbage from a client: counted above, never fatal
            self._on_packet(eio_sid, "invalid")


class FeedServer:
    """Broadcast a schedule of frames over Socket.IO, with faults and per-client packet counts.

    Args:
        frames: frames in send order (`at_s` non-decreasing, seconds after the feed starts).
        faults: per-frame faults and disconnects (None: none).
        host, port: where to listen (port 0: a free port, see `url` after `start`).
        wait_for_clients: start the feed only once this many clients are connected
            (0: at once), so tests see the feed from its first frame.
        frontend_version: the `frontend-version` query value clients must send.
        cors_origins: origins (`scheme://host[:port]`) allowed besides the server's own; `*`
            allows any. None or empty: same origin only (a cross-origin handshake gets 400).
        on_sent: called with each frame right after it was handed to the sockets (tests use
            it as the ground truth of what a client could have received, and when).
    """

    def __init__(self, frames: Iterable[ScheduledFrame], *, faults: Faults | None = None,
                 host: str = "127.0.0.1", port: int = DEFAULT_PORT, wait_for_clients: int = 0,
                 frontend_version: str = DEFAULT_FRONTEND_VERSION,
                 cors_origins: Sequence[str] | None = None,
                 on_sent: Callable[[ScheduledFrame], None] | None = None) -> None:
        self.on_sent = on_sent
        self.faults = faults or Faults()
        self.fault_stats = FaultStats()
        self._frames = (apply_faults(frames, self.faults, self.fault_stats)
                        if self.faults.any_frame_faults else frames)
        self.host, self.port = host, port
        self.wait_for_clients = wait_for_clients
        self.frontend_version = frontend_version
        self.sio = _CountingServer(self._count, async_mode="aiohttp",
                                   cors_allowed_origins=cors_allowed_origins(cors_origins))
        self.app = web.Application()
        self.sio.attach(self.app)
        self.app.router.add_get("/stats", self._stats_handler)
        self.clients: dict[str, dict[str, Any]] = {}  # eio sid → counts, in connection order
        self.connected: dict[str, str] = {}  # socket.io sid → eio sid
        self.frames_sent = 0
        self.raw_sent = 0  # wire-level garbage packets among frames_sent
        self.connects = self.rejected = self.disconnects = self.server_disconnects = 0
        self.feed_started = asyncio.Event()
        self.feed_done = asyncio.Event()
        self._clients_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)

    @property
    def url(self) -> str:
        """`http://host:port` (valid after `start`)."""
        return f"http://{self.host}:{self.port}"

    # --- counting and connections --------------------------------------------------------
    def _client(self, eio_sid: str) -> dict[str, Any]:
        c = self.clients.get(eio_sid)
        if c is None:
            c = self.clients[eio_sid] = {"connected": False, "packets": 0, "events": 0,
                                         "acks": 0, "by_type": {}}
        return c

    def _count(self, eio_sid: str, kind: str) -> None:
        c = self._client(eio_sid)
        c["by_type"][kind] = c["by_type"].get(kind, 0) + 1
        if kind in ("connect", "invalid"):
            return  # the handshake is not counted; "invalid" re-reports a counted packet
        c["packets"] += 1
        if kind in ("event", "binary_event"):
            c["events"] += 1
        elif kind in ("ack", "binary_ack"):
            c["acks"] += 1

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        c = self._client(eio_sid)
        if query.get("frontend-version") != [self.frontend_version]:
            self.rejected += 1
            raise socketio.exceptions.ConnectionRefusedError(
                f"query frontend-version={self.frontend_version} is required")
        self.connects += 1
        c["connected"] = True
        self.connected[sid] = eio_sid
        if len(self.connected) >= self.wait_for_clients:
            self._clients_event.set()

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        eio_sid = self.connected.pop(sid, None)
        if eio_sid is not None:
            self.disconnects += 1
            self.clients[eio_sid]["connected"] = False

    def stats(self) -> dict[str, Any]:
        """Counters as plain JSON-able data (also served at `GET /stats`).

        `clients` maps each client's connection number ("1", "2", ...) to its counts
        (`connected`, `packets`, `events`, `acks`, `by_type`); no address or session id.
        """
        totals = {k: sum(c[k] for c in self.clients.values())
                  for k in ("packets", "events", "acks")}
        return {"url": self.url, "frames_sent": self.frames_sent, "raw_sent": self.raw_sent,
                "feed_started": self.feed_started.is_set(), "feed_done": self.feed_done.is_set(),
                "connected": len(self.connected), "connects": self.connects,
                "rejected": self.rejected, "disconnects": self.disconnects,
                "server_disconnects": self.server_disconnects, "totals": totals,
                "clients": {str(n): {**v, "by_type": dict(v["by_type"])}
                            for n, v in enumerate(self.clients.values(), start=1)},
                "faults": self.fault_stats.as_dict()}

    async def _stats_handler(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(self.stats()), content_type="application/json")

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> str:
        """Listen, start the feed and disconnect tasks; return the URL."""
        self._runner, self.port = await listen(self.app, self.host, self.port)
        self._tasks.append(asyncio.create_task(self._play()))
        if self.faults.disconnect_every_s:
            self._tasks.append(asyncio.create_task(self._disconnect_loop()))
        return self.url

    async def stop(self) -> None:
        """Stop the feed, close every connection, stop listening."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        await close_connections(self.sio)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_done(self, linger_s: float = 0.5) -> None:
        """Wait until the feed has been sent, then `linger_s` more for sockets to drain."""
        await self.feed_done.wait()
        await asyncio.sleep(linger_s)

    async def _play(self) -> None:
        if self.wait_for_clients > 0:
            await self._clients_event.wait()
        self.feed_started.set()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for f in self._frames:
            delay = t0 + f.at_s - loop.time()
            await asyncio.sleep(max(0.0, delay))  # 0: still lets the clients' I/O run
            await self._send(f)
            self.frames_sent += 1
            if self.on_sent is not None:
                self.on_sent(f)
        self.feed_done.set()

    async def _send(self, f: ScheduledFrame) -> None:
        if f.raw is None:
            await self.sio.emit(f.event, tuple(f.args))
            return
        self.raw_sent += 1
        for eio_sid in set(self.connected.values()):
            with contextlib.suppress(Exception):  # a socket closing under us
                await self.sio.eio.send(eio_sid, f.raw)

    async def _disconnect_loop(self) -> None:
        every = float(self.faults.disconnect_every_s or 0)
        while True:
            await asyncio.sleep(every)
            await self.disconnect_all()

    async def disconnect_all(self) -> int:
        """Disconnect every connected client now (`faults.disconnect_kind`); returns how many."""
        n = 0
        for sid, eio_sid in list(self.connected.items()):
            with contextlib.suppress(Exception):
                if self.faults.disconnect_kind == "transport":
                    sock = self.sio.eio._get_socket(eio_sid)
                    # no CLOSE packet: the writer ends and drops the connection
                    await sock.close(wait=False, abort=True)
                    await sock.queue.put(None)
                else:
                    await self.sio.disconnect(sid)
                n += 1
        self.server_disconnects += n
        return n


async def serve(server: FeedServer, *, announce: Any = None, linger_s: float = 0.5) -> None:
    """Run `server` until its feed has been sent (plus `linger_s`), then stop it."""
    url = await server.start()
    if announce is not None:
        announce(url)
    try:
        await server.wait_done(linger_s)
    finally:
        await server.stop()


async def serve_replay(files: Sequence[Path | str], *, host: str = "127.0.0.1",
                       port: int = DEFAULT_PORT, speed: float = 1.0,
                       faults: Faults | None = None, loop: bool = False,
                       wait_for_clients: int = 0, announce: Any = None,
                       cors_origins: Sequence[str] | None = None) -> ReplayStats:
    """Replay capture files as a live feed; returns what was read (markers, bad records).

    Args:
        files: captures in any format `rugslab.readers.read_frames` reads, played in order.
        speed: captured timing ÷ speed.
        loop: start over at the end, forever (until cancelled).
        announce: called with the URL once listening (e.g. `print`).
        cors_origins: cross-origin clients to allow (`FeedServer`); default same origin only.

    Raises:
        InputFormatError: a file cannot be read (before the server starts).
        ConfigError: bad speed, fault settings or origin.
    """
    for p in files:  # fail before listening, not in the middle of the feed
        detect_format(p)
    stats = ReplayStats()
    list(replay_schedule([], speed))  # validates speed before listening
    cors_allowed_origins(cors_origins)  # and the origins

    def frames() -> Iterable[ScheduledFrame]:
        offset = 0.0
        while True:
            last = 0.0
            for f in replay_schedule(read_files(files), speed, stats):
                last = f.at_s
                yield ScheduledFrame(f.at_s + offset, f.event, f.args, f.raw)
            if not loop:
                return
            offset += last + 1.0 / speed

    server = FeedServer(frames(), faults=faults, host=host, port=port,
                        wait_for_clients=wait_for_clients, cors_origins=cors_origins)
    await serve(server, announce=announce)
    return stats


async def serve_sim(*, host: str = "127.0.0.1", port: int = DEFAULT_PORT, speed: float = 1.0,
                    games: int | None = None, seed: int = 0, players: int = 20,
                    faults: Faults | None = None, wait_for_clients: int = 0,
                    announce: Any = None, cors_origins: Sequence[str] | None = None) -> None:
    """Serve the simulated feed of `games` games (None: endless) generated from `seed`;
    `cors_origins`: cross-origin clients to allow (`FeedServer`), default same origin only.

    Raises:
        ConfigError: bad speed, games, players, fault settings or origin.
    """
    feed = simulate_feed(games, seed, speed, players)
    server = FeedServer(feed, faults=faults, host=host, port=port,
                        wait_for_clients=wait_for_clients, cors_origins=cors_origins)
    await serve(server, announce=announce)
