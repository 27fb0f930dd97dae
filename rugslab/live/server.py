"""The live server: the running game, its signals and its side channels over Socket.IO.

    server = LiveServer(host="127.0.0.1", port=8765)
    url = await server.start()
    ... server.on_frame(frame) for every frame of the feed (`rugslab.live.run` wires it) ...
    server.publish("paper", {...})          # any channel, from the server's event loop
    await server.stop()

A python-socketio `AsyncServer` on aiohttp. The contract (`docs/live-api.md`):

- a client subscribes with `subscribe {"channel", "filter"?}` and leaves with `unsubscribe
  {"channel"}`; the acknowledgement is `{"ok": true, "subscribed": [...]}` or `{"ok": false,
  "code", "message"}`; messages arrive as events named after their channel (`channels`);
- requests answered once: `get_status`, `get_game {"game_id"?}`, `get_signals`;
- every `heartbeat_s` a `heartbeat {"server_time", "seq", "clients", "sent"}`: `seq` counts
  the heartbeats of this connection from 1 (a jump is a gap), `sent` the channel messages sent
  to it before this heartbeat (a client that counted fewer lost some); Engine.IO pings run
  below;
- with a token, a client must send `auth={"token": ...}` (compared in constant time); a
  missing or wrong one is refused at connect with code `bad_token`;
- limits and refusals (`limits`): rate, message size, subscriptions, malformed packets,
  unknown events, clients; a slow consumer is dropped (`delivery`).

The server listens on 127.0.0.1 by default; on any other address it refuses to start without
a token. Browser pages of another origin are refused unless allowed (`cors_origins`, as
`rugslab serve`). `GET /status` gives `status()` as JSON (counts only, no client identities;
with a token it needs `Authorization: Bearer <token>`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import socketio
from aiohttp import hdrs, web

from rugslab import __version__
from rugslab.collector.client import ConnectionEvent
from rugslab.errors import ConfigError
from rugslab.feed.frames import Frame, iso_utc
from rugslab.live.channels import Subscriptions
from rugslab.live.delivery import Client, Outbox, encode
from rugslab.live.limits import BAD_TOKEN, SERVER_FULL, Limits, RateWindow, token_matches
from rugslab.live.requests import Requests
from rugslab.live.signals import HazardFit, SignalEngine
from rugslab.live.tracker import KEEP_GAMES, FeedTracker, verdict_message
from rugslab.sim.server import DEFAULT_PORT, close_connections, cors_allowed_origins, listen

Observer = Callable[[str, dict[str, Any]], None]


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (or `localhost`)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _now_iso() -> str:
    return iso_utc(time.time_ns() // 1000) or ""


class _GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """AsyncServer that lets the live server screen every packet before it is handled."""

    def __init__(self, live: LiveServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.live = live

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        pkt = self.live._screen(eio_sid, data)
        if pkt is None:
            return
        with contextlib.suppress(ValueError):  # garbage before the connect: nobody to tell
            if pkt is True:
                await super()._handle_eio_message(eio_sid, data)
            else:
                await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        # a directly written client gets its acknowledgements in order with its messages
        if not self.live.outbox.send_direct(eio_sid, pkt):
            await super()._send_packet(eio_sid, pkt)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        await super()._handle_eio_disconnect(eio_sid, reason)
        self.live._forget(eio_sid)
        sock = self.eio.sockets.get(eio_sid)
        if sock is not None:  # release a long-poll request still waiting on this socket
            sock.queue.put_nowait(None)


class LiveServer(Requests):
    """The live Socket.IO server (module docstring).

    Args:
        host, port: where to listen (port 0: any free port; see `url` after `start`).
        token: the token clients must send; required when `host` is not loopback.
        limits: rates, sizes, queues and counts (`limits.Limits`).
        heartbeat_s: seconds between heartbeats.
        cors_origins: browser origins allowed besides the server's own (`*`: any).
        keep_games: finished games held for `get_game`.

    Raises:
        ConfigError: a non-loopback `host` without a token; a bad origin or heartbeat.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 token: str | None = None, limits: Limits | None = None,
                 heartbeat_s: float = 5.0, cors_origins: Sequence[str] | None = None,
                 keep_games: int = KEEP_GAMES) -> None:
        if not is_loopback(host) and not token:
            raise ConfigError(
                f"Refusing to listen on --host {host!r} without a token: any machine that can "
                "reach it could connect. Pass --token-file PATH (clients then send "
                "auth={'token': ...}), or keep the default --host 127.0.0.1.")
        if not heartbeat_s > 0:
            raise ConfigError(f"Invalid --heartbeat {heartbeat_s!r}: expected seconds > 0.")
        self.host, self.port, self.token = host, port, token
        self.limits = limits or Limits()
        self.heartbeat_s = heartbeat_s
        self.sio = _GuardedServer(self, async_mode="aiohttp",
                                  cors_allowed_origins=cors_allowed_origins(cors_origins))
        self.app = web.Application(middlewares=[self._note_websocket])
        self.sio.attach(self.app)
        self.app.router.add_get("/status", self._status_handler)
        self.outbox = Outbox(self.sio, self.limits.max_queue, self.limits.max_buffer_bytes)
        self.subs = Subscriptions(self.limits.max_subscriptions)
        self.tracker = FeedTracker(keep_games)
        self.signals = SignalEngine()
        self.last_signals: dict[str, Any] | None = None
        self.source: dict[str, Any] = {"kind": None, "connected": False}
        #: paper runs publishing on `paper` (`rugslab.live.run`): run_id, strategy, params
        self.paper_runs: list[dict[str, Any]] = []
        self.observers: list[Observer] = []
        self.refused: Counter[str] = Counter()
        self.connects = self.frames = self.published = self.errors = 0
        self.last_error: str | None = None
        self.started_mono = time.monotonic()
        self.started_at = _now_iso()
        self._windows: dict[str, RateWindow] = {}
        self._runner: web.AppRunner | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        for event, handler in (("connect", self._on_connect), ("disconnect", self._on_disconnect),
                               ("subscribe", self._subscribe), ("unsubscribe", self._unsubscribe),
                               ("get_status", self._get_status), ("get_game", self._get_game),
                               ("get_signals", self._get_signals), ("*", self._unknown)):
            self.sio.on(event, handler)

    @property
    def url(self) -> str:
        """`http://host:port` (valid after `start`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def clients(self) -> dict[str, Client]:
        """Connected clients by Socket.IO sid."""
        return self.outbox.clients

    # ------------------------------------------------------------------ the feed side
    def on_frame(self, frame: Frame) -> None:
        """Take one frame of the feed: publish its messages and the tick's signals. Never
        raises (the collector calls it for every frame)."""
        self.frames += 1
        try:
            messages, live = self.tracker.feed(frame)
            for channel, message in messages:
                self._emit(channel, message)
                if channel == "games" and message["kind"] == "seed":
                    self.outbox.spawn(self._verdict(message["game_id"]))
            if live is not None:
                mono = live.recv_mono_ns if live.recv_mono_ns is not None else (
                    time.monotonic_ns())
                sig = self.signals.on_tick(game_id=live.game_id, tick=live.tick,
                                           recv_ts_us=live.recv_ts_us, recv_s=mono / 1e9,
                                           price_x=live.price_x)
                self.last_signals = sig
                self._emit("signals", sig)
        except Exception as e:  # a bug here must not stop the collector or the lake
            self.errors += 1
            self.last_error = f"{type(e).__name__}: {e}"

    def on_connection(self, ev: ConnectionEvent) -> None:
        """Note the feed link's state (connected or not) for `get_status`."""
        self.source["connected"] = ev.kind == "connected"
        self.source["last_link_event"] = {"kind": ev.kind, "reason": ev.reason,
                                          "at": iso_utc(ev.ts_us)}

    def set_fit(self, fit: HazardFit | None) -> None:
        """Use `fit` (the lake's hazard) for the signals from the next tick on."""
        self.signals.fit = fit

    def observe(self, observer: Observer) -> None:
        """Call `observer(channel, message)` for every message the feed makes, before any
        filter (in-process consumers such as paper trading). It must not raise or block."""
        self.observers.append(observer)

    def _emit(self, channel: str, message: dict[str, Any]) -> None:
        for ob in self.observers:
            try:
                ob(channel, message)
            except Exception as e:
                self.errors += 1
                self.last_error = f"observer {type(e).__name__}: {e}"
        self.publish(channel, message)

    def publish(self, channel: str, message: dict[str, Any]) -> int:
        """Send `message` on `channel` to every subscriber whose filter passes it; returns how
        many. Call it on the server's event loop (`publish_threadsafe` from other threads).

        Raises:
            BadRequest: `channel` is not a channel (`unknown_channel`).
        """
        pkt = None
        n = 0
        for sid, match in self.subs.members(channel):
            if match is not None and not match(message):
                continue
            if pkt is None:
                pkt = encode(channel, message)
            n += self.outbox.deliver(sid, pkt)
        self.published += 1
        return n

    def publish_threadsafe(self, channel: str, message: dict[str, Any]) -> None:
        """`publish` from another thread (scheduled on the server's loop)."""
        self._loop.call_soon_threadsafe(self.publish, channel, message)

    async def _verdict(self, game_id: str) -> None:
        g = self.tracker.game(game_id)
        if g is None or g.server_seed is None:
            return
        try:
            message = await asyncio.to_thread(verdict_message, g)
        except Exception as e:
            self.errors += 1
            self.last_error = f"verdict {type(e).__name__}: {e}"
            return
        g.verdict = message
        self._emit("games", {**message, "recv_ts": _now_iso()})

    def _forget(self, eio_sid: str) -> None:
        self._windows.pop(eio_sid, None)
        self.outbox.transports.pop(eio_sid, None)

    @web.middleware
    async def _note_websocket(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.query.get("transport") != "websocket":
            return await handler(request)
        # no compression: one frame, built once, goes to every websocket client (`delivery`)
        if hdrs.SEC_WEBSOCKET_EXTENSIONS in request.headers:
            headers = request.headers.copy()
            del headers[hdrs.SEC_WEBSOCKET_EXTENSIONS]
            request = request.clone(headers=headers)
        # an upgrade to websocket names its Engine.IO session: keep its TCP transport, for
        # direct writes and to cut a slow consumer at once
        sid = request.query.get("sid")
        if sid:
            self.outbox.transports[sid] = request.transport
        return await handler(request)

    # ------------------------------------------------------------------ connections
    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if len(self.outbox.clients) >= self.limits.max_clients:
            self.refused[SERVER_FULL] += 1
            raise socketio.exceptions.ConnectionRefusedError(
                f"{SERVER_FULL}: {self.limits.max_clients} clients are connected; try again "
                "later.", {"code": SERVER_FULL})
        if self.token is not None:
            given = auth.get("token") if isinstance(auth, dict) else None
            if not token_matches(given, self.token):
                self.refused[BAD_TOKEN] += 1
                why = "no token was sent" if given is None else "the token does not match"
                raise socketio.exceptions.ConnectionRefusedError(
                    f"{BAD_TOKEN}: {why}; connect with auth={{'token': <the server's token>}} "
                    "(the first line of its --token-file).", {"code": BAD_TOKEN})
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        request = environ.get("aiohttp.request")
        if request is not None and "transport=websocket" in environ.get("QUERY_STRING", ""):
            self.outbox.transports.setdefault(eio_sid, request.transport)
        self.connects += 1
        client = Client(sid, eio_sid, self.connects, time.monotonic(),
                        abort=lambda: self._abort(eio_sid))
        self.outbox.clients[sid] = self.outbox.by_eio[eio_sid] = client

    def _abort(self, eio_sid: str) -> None:
        transport = self.outbox.transports.get(eio_sid)
        if transport is not None:
            transport.abort()
        sock = self.sio.eio.sockets.get(eio_sid)
        if sock is not None and transport is None:  # polling: close the Engine.IO session
            self.outbox.spawn(sock.close(wait=False, abort=True))
            sock.queue.put_nowait(None)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.subs.remove(sid)
        client = self.outbox.clients.pop(sid, None)
        if client is not None:
            self.outbox.by_eio.pop(client.eio_sid, None)

    def status(self, sid: str | None = None) -> dict[str, Any]:
        """The server's state as plain data (the `get_status` answer, and `GET /status`):
        clients and subscribers per channel (counts only), the feed source, the current
        game, the lake model, limits, refusals and drops by code; with `sid`, that client's
        own subscriptions and filters."""
        g = self.tracker.current
        out: dict[str, Any] = {
            "server_time": _now_iso(), "started_at": self.started_at,
            "uptime_s": round(time.monotonic() - self.started_mono, 3), "version": __version__,
            "clients": len(self.outbox.clients), "connects": self.connects,
            "clients_direct": sum(c.direct for c in self.outbox.clients.values()),
            "channels": self.subs.counts(), "source": dict(self.source), "frames": self.frames,
            "published": self.published, "game": g.summary() if g is not None else None,
            "model": self.signals.fit.describe() if self.signals.fit is not None else None,
            "paper": list(self.paper_runs),
            "limits": self.limits.as_dict(), "heartbeat_s": self.heartbeat_s,
            "refused": dict(self.refused), "dropped": dict(self.outbox.dropped),
            "errors": self.errors, "last_error": self.last_error,
        }
        if sid is not None:
            out |= {"subscribed": self.subs.channels(sid), "filters": self.subs.filters(sid)}
        return out

    async def _status_handler(self, request: web.Request) -> web.Response:
        if self.token is not None:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not token_matches(given, self.token):
                return web.json_response({"ok": False, "code": BAD_TOKEN, "message": "send "
                                          "Authorization: Bearer <token>"}, status=401)
        return web.Response(body=orjson.dumps(self.status()), content_type="application/json")

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        """Listen and start the heartbeats; returns the URL."""
        self._loop = asyncio.get_running_loop()
        self._runner, self.port = await listen(self.app, self.host, self.port,
                                               shutdown_timeout_s=2.0)
        self._heartbeat = asyncio.create_task(self._heartbeats())
        return self.url

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            now, n = _now_iso(), len(self.outbox.clients)
            for c in list(self.outbox.clients.values()):
                c.heartbeats += 1
                self.outbox.deliver(c.sid, encode("heartbeat", {
                    "server_time": now, "seq": c.heartbeats, "clients": n, "sent": c.sent}),
                    count=False)

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self.outbox.cancel_tasks()
        for c in list(self.outbox.clients.values()):
            with contextlib.suppress(Exception):
                self._abort(c.eio_sid)
        await close_connections(self.sio)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
