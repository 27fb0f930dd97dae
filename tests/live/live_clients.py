"""Clients for the live server's tests: a python-socketio client that records what it gets, and
a raw Engine.IO websocket client that can stop reading (a slow consumer)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import socketio


class Recorder:
    """A Socket.IO client recording every event (name, data, monotonic receive time)."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any, float]] = []
        self.connect_error: Any = None
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._any)
        self.sio.on("connect_error", self._connect_error)
        self.sio.on("disconnect", self._disconnect)

    async def _any(self, event: str, data: Any = None) -> None:
        self.events.append((event, data, time.monotonic()))

    async def _connect_error(self, data: Any = None) -> None:
        self.connect_error = data

    async def _disconnect(self, *args: Any) -> None:
        self.disconnected.set()

    async def connect(self, url: str, *, auth: Any = None,
                      transports: tuple[str, ...] = ("websocket",)) -> None:
        await self.sio.connect(url, auth=auth, transports=list(transports), wait_timeout=10)

    async def call(self, event: str, data: Any = None) -> Any:
        if data is None:
            return await self.sio.call(event, timeout=10)
        return await self.sio.call(event, data, timeout=10)

    def of(self, event: str) -> list[Any]:
        return [d for e, d, _ in self.events if e == event]

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met in {timeout} s; got "
                                   f"{[e for e, _, _ in self.events][-20:]}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        if self.sio.eio.http is not None:
            await self.sio.eio.http.close()


class RawClient:
    """Engine.IO v4 over a websocket, by hand: connect, send packets, and read only when
    asked (`read_all`), with a small receive buffer so a client that stops reading backs up
    quickly."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self, url: str, auth: dict[str, Any] | None = None,
                      rcvbuf: int = 4096) -> str:
        def small(addr_info: Any) -> socket.socket:
            family, kind, proto, _, _ = addr_info
            s = socket.socket(family, kind, proto)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            return s

        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=small))
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await self.session.ws_connect(ws_url, autoping=False, max_msg_size=0)
        opened = await self.ws.receive_str(timeout=10)
        assert opened.startswith("0{")
        await self.ws.send_str("40" + (orjson.dumps(auth).decode() if auth else ""))
        connected = await self.ws.receive_str(timeout=10)
        return connected

    async def send(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def emit(self, event: str, data: Any, ack_id: int | None = None) -> None:
        prefix = "42" if ack_id is None else f"42{ack_id}"
        await self.send(prefix + orjson.dumps([event, data]).decode())

    async def read_until(self, pred: Callable[[str], bool], timeout: float = 10.0) -> list[str]:
        """Read packets (answering pings) until one satisfies `pred`; returns all read."""
        assert self.ws is not None
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            msg = await self.ws.receive(timeout=max(0.01, deadline - time.monotonic()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                got.append(f"<{msg.type.name}>")
                return got
            if msg.data == "2":
                await self.ws.send_str("3")
            got.append(msg.data)
            if pred(msg.data):
                return got

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
