"""What clients send the live server: screening of every packet, and the answers to requests.

`Requests` is mixed into `rugslab.live.server.LiveServer`. Every packet of a connected client
is screened before python-socketio handles it (`_screen`): binary and oversized messages,
packets that are not Socket.IO, and messages over the rate are refused here with an `error`
event (and a negative acknowledgement when one was asked for), so a handler only ever sees a
well-formed event. The handlers answer `subscribe`, `unsubscribe`, `get_status`, `get_game`
and `get_signals`; any other event is `unknown_event`. Codes and limits: `rugslab.live.limits`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import socketio
from socketio import packet

from rugslab.live.channels import Subscriptions
from rugslab.live.delivery import Client, Outbox
from rugslab.live.limits import (
    BAD_REQUEST,
    MALFORMED,
    MESSAGE_TOO_LARGE,
    NOT_FOUND,
    RATE_LIMITED,
    UNKNOWN_EVENT,
    BadRequest,
    Limits,
    RateWindow,
    show,
)
from rugslab.live.tracker import FeedTracker


class Requests:
    """Screening and request handlers of the live server (module docstring)."""

    sio: socketio.AsyncServer
    outbox: Outbox
    subs: Subscriptions
    tracker: FeedTracker
    limits: Limits
    refused: Counter[str]
    last_signals: dict[str, Any] | None
    _windows: dict[str, RateWindow]

    def status(self, sid: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ screening
    def _screen(self, eio_sid: str, data: Any) -> Any:
        """What to do with one packet from a client: None (refused here), True (hand it to
        python-socketio as it is) or the decoded EVENT packet to dispatch."""
        sid = self.sio.manager.sid_from_eio_sid(eio_sid, "/")
        client = self.outbox.clients.get(sid) if sid is not None else None
        if client is None:
            return True  # the handshake, or a client being dropped: python-socketio's
        if client.dropped is not None:
            return None
        if not isinstance(data, str):
            self._refuse(client, MALFORMED, "Binary messages are not accepted: send JSON.")
            return None
        if len(data) > self.limits.max_message_bytes:
            self._refuse(client, MESSAGE_TOO_LARGE, f"Message of {len(data)} characters not "
                         f"read: at most {self.limits.max_message_bytes} are accepted.")
            return None
        try:
            pkt = self.sio.packet_class(encoded_packet=data)
        except Exception as e:
            self._refuse(client, MALFORMED, f"Not a Socket.IO packet ({e}): expected e.g. "
                         "42[\"subscribe\",{\"channel\":\"ticks\"}].")
            return None
        window = self._windows.setdefault(eio_sid, RateWindow(self.limits.rate_per_s))
        if not window.allow():
            if window.refused >= self.limits.kick_after:
                self.outbox.drop(client, RATE_LIMITED, f"Dropped after {window.refused} messages "
                                 f"over the rate of {self.limits.rate_per_s} a second.",
                                 hard=False)
                return None
            reply = BadRequest(RATE_LIMITED, f"More than {self.limits.rate_per_s} messages in "
                               f"one second: this one was not handled ({window.refused} so "
                               f"far; the connection is closed at {self.limits.kick_after}).")
            self._nack(client, pkt, reply, say=window.should_say())
            return None
        if pkt.packet_type in (packet.BINARY_EVENT, packet.BINARY_ACK):
            self._refuse(client, MALFORMED, "Binary events are not accepted: send JSON.")
            return None
        if pkt.packet_type != packet.EVENT:
            return True
        if not (type(pkt.data) is list and pkt.data and type(pkt.data[0]) is str):
            self._nack(client, pkt, BadRequest(MALFORMED, "An event must be a list whose first "
                       "element is the event name, e.g. [\"get_status\"]."))
            return None
        return pkt

    def _refuse(self, client: Client, code: str, message: str) -> None:
        self.refused[code] += 1
        self.outbox.error(client.sid, code, message)

    def _nack(self, client: Client, pkt: Any, err: BadRequest, say: bool = True) -> None:
        self.refused[err.code] += 1
        if say:
            self.outbox.error(client.sid, err.code, err.message)
        if pkt.id is not None:
            self.outbox.ack(client.sid, pkt.id, err.reply())

    # ------------------------------------------------------------------ requests
    def _answer(self, sid: str, event: str, args: tuple[Any, ...],
                work: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        try:
            if len(args) > 1 or (args and args[0] is not None and type(args[0]) is not dict):
                raise BadRequest(BAD_REQUEST, f"Invalid argument of {event!r}: expected one "
                                 "object (see docs/live-api.md).")
            return work(args[0] if args and args[0] is not None else {})
        except BadRequest as e:
            self.refused[e.code] += 1
            self.outbox.error(sid, e.code, e.message)
            return e.reply()

    async def _subscribe(self, sid: str, *args: Any) -> dict[str, Any]:
        def work(d: dict[str, Any]) -> dict[str, Any]:
            return {"ok": True, "subscribed": self.subs.subscribe(sid, d.get("channel"),
                                                                  d.get("filter"))}
        return self._answer(sid, "subscribe", args, work)

    async def _unsubscribe(self, sid: str, *args: Any) -> dict[str, Any]:
        def work(d: dict[str, Any]) -> dict[str, Any]:
            return {"ok": True, "subscribed": self.subs.unsubscribe(sid, d.get("channel"))}
        return self._answer(sid, "unsubscribe", args, work)

    async def _get_status(self, sid: str, *args: Any) -> dict[str, Any]:
        return self._answer(sid, "get_status", args, lambda d: {"ok": True, **self.status(sid)})

    async def _get_signals(self, sid: str, *args: Any) -> dict[str, Any]:
        return self._answer(sid, "get_signals", args,
                            lambda d: {"ok": True, "signals": self.last_signals})

    async def _get_game(self, sid: str, *args: Any) -> dict[str, Any]:
        def work(d: dict[str, Any]) -> dict[str, Any]:
            gid = d.get("game_id")
            if gid is not None and type(gid) is not str:
                raise BadRequest(BAD_REQUEST, f"Invalid game_id {show(gid)}: expected a "
                                 "game id string, or none for the current game.")
            g = self.tracker.game(gid)
            if g is None:
                held = ", ".join(self.tracker.games) or "none yet"
                raise BadRequest(NOT_FOUND, f"No game {gid!r} held: the server keeps the "
                                 f"current game and the last {self.tracker.keep_games} "
                                 f"(held: {held}).")
            return {"ok": True, "game": {**g.summary(), "verdict": g.verdict},
                    "ticks": g.ticks()}
        return self._answer(sid, "get_game", args, work)

    async def _unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        err = BadRequest(UNKNOWN_EVENT, f"Unknown event {show(event)}: expected subscribe, "
                         "unsubscribe, get_status, get_game or get_signals.")
        self.refused[err.code] += 1
        self.outbox.error(sid, err.code, err.message)
        return err.reply()

