"""Frames: one Socket.IO event as received, independent of the file format that carried it.

Readers (`rugslab.readers`) turn every wrapper format into `Frame`s (or `BadRecord`s for input
they cannot read); the collector builds `Frame`s from the live socket. Everything downstream
(the raw table, game assembly) sees only `Frame`.

Source: PROTOCOL.md, "Connection": broadcast frames are `42["event", arg1, arg2?]`; several
events carry `[{"__trace": true, "traceparent": ...}, payload]`; the payload is the last
non-trace argument.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from rugslab.errors import FrameError

#: Events a listener sees that are markers of the connection, not broadcast by the server.
MARKER_EVENTS = frozenset({"connect", "disconnect", "connect_error"})
#: The event name the collector gives a packet it received but could not decode; its one
#: argument is `{"raw": <packet text>, "error": <decoder message>}`. Kept, never dropped.
UNDECODABLE_EVENT = "rugslab/undecodable"


def iso_utc(ts_us: int | None) -> str | None:
    """`ts_us` (µs since the epoch, UTC, as `Frame.recv_ts_us`) as ISO 8601 text with
    microseconds and a `Z` (`2025-12-13T00:00:00.123456Z`, fixed width); None for None. The
    one format of times in messages (the live server's channels, paper trading's events)."""
    if ts_us is None:
        return None
    return datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: The fields of a `gameStateUpdate` payload that game assembly reads
#: (`rugslab.assembly.assembler`).
#: A reader may hand over only these (`Frame.lazy`), leaving the big ones undecoded
#: (rugRoyale, chat, ...; the leaderboard is read: `assembly.leaderboard`): the assembler
#: gives the same rows from these fields alone (tested in
#: tests/assembly/test_assembler_properties.py).
STATE_FIELDS = frozenset({
    "gameId", "gameHistory", "provablyFair", "gameVersion", "rugged", "active",
    "allowPreRoundBuys", "tickCount", "price", "partialPrices", "prices", "trades",
    "leaderboard",
})
_LAZY: Any = object()  # `Frame._args` of a lazy frame before its args are decoded


class HistoryText:
    """A lazy frame's `gameHistory`, left as JSON text (`Frame.lazy` state fields).

    A cooldown frame's rolling history is ~250 KB of JSON whose entries mostly repeat
    earlier frames' byte for byte: `assembly.history_cache.RollingHistory` matches the text
    (`args_json` from `start` on) against the entries it remembers and decodes only what is
    new.

    Attributes:
        args_json: the frame's argument list as JSON text: `[{"gameHistory":[...], ...}]`,
            one argument, valid JSON (the reader checked it).
        start: byte offset of the history array (its `[`) in `args_json`.
        count: entries in the array.
    """

    __slots__ = ("args_json", "count", "start")

    def __init__(self, args_json: bytes, start: int, count: int) -> None:
        self.args_json = args_json
        self.start = start
        self.count = count

    def decode(self) -> list[Any]:
        """The history array as Python values (as `orjson.loads` gives them)."""
        return orjson.loads(self.args_json)[0]["gameHistory"]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"HistoryText({self.count} entries at byte {self.start})"


class Frame:
    """One received event.

    Attributes:
        event: Socket.IO event name, e.g. `gameStateUpdate`, `standard/newTrade`.
        args: the event's argument list as received (trace argument included when present).
        source: where it came from: a file path, or `collector:<session_id>`.
        recv_ts_us: receive wall clock, µs since the Unix epoch, UTC (None if unknown).
        recv_mono_ns: receive monotonic clock, ns (collector archive only).
        seq: position in the source (1-based line or sequence number).
        session_id: collector session that received it (archive only).
        local_ts_us: the recorder's own stamp as written, µs, read as if UTC (its zone is not
            in the file): set by the readers of local-clock captures, whose `recv_ts_us` is
            this stamp shifted by the zone decision (`rugslab.readers.clock`); None otherwise.
        state_fields: for a frame built by `Frame.lazy`: the `STATE_FIELDS` of its payload
            (an object), decoded; None otherwise.

    Frames compare equal when event, args, source, times, seq and session are equal.
    """

    __slots__ = ("_args", "_args_json", "event", "local_ts_us", "recv_mono_ns", "recv_ts_us",
                 "seq", "session_id", "source", "state_fields")

    def __init__(
        self,
        event: str,
        args: list[Any],
        source: str,
        recv_ts_us: int | None = None,
        recv_mono_ns: int | None = None,
        seq: int | None = None,
        session_id: str | None = None,
        _args_json: bytes | None = None,
        *,
        local_ts_us: int | None = None,
    ) -> None:
        self.event = event
        self._args = args
        self.source = source
        self.recv_ts_us = recv_ts_us
        self.recv_mono_ns = recv_mono_ns
        self.seq = seq
        self.session_id = session_id
        self._args_json = _args_json
        self.local_ts_us = local_ts_us
        self.state_fields: dict[str, Any] | None = None

    @classmethod
    def lazy(
        cls,
        event: str,
        args_json: bytes,
        state_fields: dict[str, Any],
        source: str,
        recv_ts_us: int | None = None,
        recv_mono_ns: int | None = None,
        seq: int | None = None,
        session_id: str | None = None,
    ) -> Frame:
        """A frame whose `args` are decoded from `args_json` only when asked for.

        Args:
            args_json: the argument list as JSON text: valid, UTF-8, a JSON array.
            state_fields: the `STATE_FIELDS` present in its payload (an object), decoded
                exactly as `orjson.loads(args_json)` would decode them.
        """
        f = cls(event, _LAZY, source, recv_ts_us, recv_mono_ns, seq, session_id, args_json)
        f.state_fields = state_fields
        return f

    @property
    def args(self) -> list[Any]:
        """The argument list (a lazy frame decodes it on first use)."""
        a = self._args
        if a is _LAZY:
            a = self._args = orjson.loads(self._args_json)  # type: ignore[arg-type]
        return a

    def _key(self) -> tuple[Any, ...]:
        return (self.event, self.args, self.source, self.recv_ts_us, self.recv_mono_ns,
                self.seq, self.session_id, self.local_ts_us)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return (f"Frame(event={self.event!r}, args={self.args!r}, source={self.source!r}, "
                f"recv_ts_us={self.recv_ts_us!r}, recv_mono_ns={self.recv_mono_ns!r}, "
                f"seq={self.seq!r}, session_id={self.session_id!r}"
                + (f", local_ts_us={self.local_ts_us!r})" if self.local_ts_us is not None else ")"))

    @property
    def payload(self) -> Any:
        """The last argument that is not a `{"__trace": true, ...}` marker (None if none)."""
        return extract_payload(self.args)

    @property
    def args_json(self) -> bytes:
        """The argument list as compact JSON: orjson's encoding, computed once, unless the
        reader gave the text it read (`_args_json`: the archive's `args` as written, which
        for lines of `ArchiveWriter` is that same encoding)."""
        if self._args_json is None:
            self._args_json = orjson.dumps(self.args)
        return self._args_json

    @property
    def recv_dt(self) -> datetime | None:
        """Receive time as an aware UTC datetime."""
        if self.recv_ts_us is None:
            return None
        return datetime.fromtimestamp(self.recv_ts_us / 1e6, tz=UTC)

    @property
    def frame_id(self) -> str:
        """Frame identity: 16-byte BLAKE2b (hex, 32 chars).

        A frame received by a collector (`session_id` and `seq` set: the live collector and
        the raw archive it journals carry the same pair) is identified by `(session_id, seq)`:
        the frame received live and the same frame read back from the journal after a crash
        get the same id, and the arguments need not be re-encoded to hash them. Any other
        frame (captures, browser logs) gets a content id over event, position and
        `args_json`; its position is the stamp its source wrote: `local_ts_us` when the
        reader set it (a local-clock capture), else `recv_ts_us`. So a capture frame keeps
        its id whatever zone its reader decided (`rugslab.readers.clock`): a slice of a
        recording read without enough chat messages to infer the zone, and the whole
        recording read with them, give their common frames the same ids. Where the zone
        decision is UTC (`recv_ts_us == local_ts_us`) the id is the one it had before
        `local_ts_us` existed.

        Either way the same frame read twice (a duplicated line, the same file ingested
        again) gets the same id; two receipts (different times, or different seqs) do not.
        A frame copied into another session (`ArchiveWriter.write_frame` with a new seq) is
        a new receipt.
        """
        sid, seq = self.session_id, self.seq
        if type(sid) is str and type(seq) is int:
            key = b"session\x00%s\x00%d" % (sid.encode(), seq)
            return hashlib.blake2b(key, digest_size=16).hexdigest()
        at = self.local_ts_us if self.local_ts_us is not None else self.recv_ts_us
        return content_frame_id(self.event, at, self.args_json)

    @property
    def game_id(self) -> str | None:
        """The game this frame is about, if it names one (`gameId` in the payload)."""
        p = self.payload
        if isinstance(p, dict):
            gid = p.get("gameId")
            if isinstance(gid, str):
                return gid
        return None


def content_frame_id(event: str, at_us: int | None, args_json: bytes) -> str:
    """The id of a frame without (session_id, seq) (`Frame.frame_id`): 16-byte BLAKE2b (hex)
    of event, position `at_us` (µs as the source stamped it; None: unknown) and the argument
    list as JSON text."""
    h = hashlib.blake2b(digest_size=16)
    h.update(event.encode())
    h.update(b"\x00")
    h.update(str(at_us).encode())
    h.update(b"\x00")
    h.update(args_json)
    return h.hexdigest()


@dataclass(slots=True, frozen=True)
class BadRecord:
    """Input a reader could not turn into a frame or record; it becomes a `rejects` row."""

    source: str
    line_no: int | None
    raw: str
    reason: str
    recv_ts_us: int | None = None


def is_trace(arg: Any) -> bool:
    """True for the OpenTelemetry trace marker `{"__trace": true, "traceparent": ...}`."""
    return isinstance(arg, dict) and arg.get("__trace") is True


def extract_payload(args: list[Any]) -> Any:
    """The last non-trace argument of a Socket.IO argument list, or None."""
    for arg in reversed(args):
        if not is_trace(arg):
            return arg
    return None


def normalize_args(data: Any) -> list[Any]:
    """Wrap a recorded `data` field as an argument list.

    Recorders stored either the payload alone (`{...}`) or the argument list
    (`[trace, payload]`). A list whose first element is a trace marker, or any list of two or
    more arguments of which one is a trace, is an argument list; anything else is one payload.
    """
    if isinstance(data, list) and data and any(is_trace(a) for a in data):
        return data
    return [data]


def parse_socketio_text(text: str) -> tuple[str, list[Any]]:
    """Parse a Socket.IO v4 EVENT packet text `42["event", arg...]` (optionally `42/ns,`).

    Returns:
        (event, args).

    Raises:
        FrameError: not an EVENT packet, or its JSON is malformed; `.reason` says which.
    """
    s = text.strip()
    if not s.startswith("42"):
        raise FrameError(
            f"not a Socket.IO EVENT packet (starts {s[:8]!r}, expected '42')", raw=text
        )
    body = s[2:]
    if body.startswith("/"):
        comma = body.find(",")
        if comma < 0:
            raise FrameError("namespace without a comma in EVENT packet", raw=text)
        body = body[comma + 1 :]
    # an ack id may sit between the type and the array: 42<id>[...]
    i = 0
    while i < len(body) and body[i].isdigit():
        i += 1
    body = body[i:]
    try:
        arr = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise FrameError(f"malformed JSON in EVENT packet: {e}", raw=text) from e
    if not isinstance(arr, list) or not arr or not isinstance(arr[0], str):
        raise FrameError("EVENT packet is not a list starting with the event name", raw=text)
    return arr[0], arr[1:]


def game_date(game_id: str) -> str | None:
    """`YYYY-MM-DD` from a game id `YYYYMMDD-<16 hex>`; None when it does not start so."""
    if len(game_id) >= 9 and game_id[:8].isdigit() and game_id[8] == "-":
        return f"{game_id[0:4]}-{game_id[4:6]}-{game_id[6:8]}"
    return None
