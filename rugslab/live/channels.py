"""Channels of the live server, their filters, and who is subscribed to what.

A client subscribes to a channel with an optional filter, an object of conditions that must
all hold for a message to be sent to it (`docs/live-api.md` lists them per channel):

    equality   `{"game_id": "20251212-…"}` or a list of accepted values `{"kind": ["rug", "seed"]}`
    every      `{"every": 4}`: only ticks (or signals) whose tick is a multiple of 4
    minimum    `{"min_amount_sol": 0.1}`: trades (`amount_sol`) or bets (`bet_amount_sol`) at
               least this large (a message without an amount does not pass)
    flag       `{"live": true}` (ticks received live only), `{"practice": false}`

One subscription per channel and client: subscribing again replaces the filter. A filter is
checked when given (unknown key, wrong type, too long a list: `BadRequest` naming the key, the
value and what is accepted), then compiled to one function per subscription.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView
from typing import Any

from rugslab.live.limits import (
    BAD_FILTER,
    BAD_REQUEST,
    TOO_MANY_SUBSCRIPTIONS,
    UNKNOWN_CHANNEL,
    BadRequest,
    show,
)

#: Channels in the order acknowledgements list them.
CHANNELS = ("ticks", "games", "trades", "sidebets", "signals", "paper")
#: Longest list of accepted values in one filter condition, longest string value.
MAX_FILTER_VALUES = 100
MAX_FILTER_TEXT = 200

_EQ, _EVERY, _MIN, _FLAG = "equal", "every", "min", "flag"
#: channel → filter key → (kind, message field it tests)
FILTERS: dict[str, dict[str, tuple[str, str]]] = {
    "ticks": {"game_id": (_EQ, "game_id"), "every": (_EVERY, "tick"), "live": (_FLAG, "live")},
    "games": {"game_id": (_EQ, "game_id"), "kind": (_EQ, "kind")},
    "trades": {"game_id": (_EQ, "game_id"), "player_id": (_EQ, "player_id"),
               "trade_type": (_EQ, "trade_type"), "min_amount_sol": (_MIN, "amount_sol")},
    "sidebets": {"game_id": (_EQ, "game_id"), "player_id": (_EQ, "player_id"),
                 "kind": (_EQ, "kind"), "source": (_EQ, "source"),
                 "practice": (_FLAG, "practice"), "min_amount_sol": (_MIN, "bet_amount_sol")},
    "signals": {"game_id": (_EQ, "game_id"), "every": (_EVERY, "tick")},
    "paper": {"game_id": (_EQ, "game_id"), "strategy": (_EQ, "strategy"),
              "kind": (_EQ, "kind")},
}

Match = Callable[[dict[str, Any]], bool]


def check_channel(channel: Any) -> str:
    """`channel` when it names a channel.

    Raises:
        BadRequest: `unknown_channel` naming the value and the channels.
    """
    if type(channel) is str and channel in FILTERS:
        return channel
    raise BadRequest(UNKNOWN_CHANNEL, f"Unknown channel {show(channel)}: expected one of "
                     f"{', '.join(CHANNELS)}.")


def compile_filter(channel: str, flt: Any) -> Match | None:
    """A function telling whether a message of `channel` passes `flt` (None: no filter).

    Raises:
        BadRequest: `bad_filter` (unknown key, wrong value type) or `bad_request` (not an
            object), naming the key, the value and what is accepted.
    """
    if flt is None or flt == {}:
        return None
    if type(flt) is not dict:
        raise BadRequest(BAD_REQUEST, f"Invalid filter {show(flt)}: expected an object "
                         "of conditions, e.g. {\"game_id\": \"...\"}.")
    allowed = FILTERS[channel]
    tests: list[Match] = []
    for key, value in flt.items():
        if key not in allowed:
            raise BadRequest(BAD_FILTER, f"Invalid filter key {show(key)} for channel "
                             f"{channel!r}: expected one of {', '.join(allowed)}.")
        kind, field = allowed[key]
        tests.append(_condition(channel, key, kind, field, value))
    if len(tests) == 1:
        return tests[0]
    return lambda m: all(t(m) for t in tests)


def _condition(channel: str, key: str, kind: str, field: str, value: Any) -> Match:
    where = f"filter {key!r} of channel {channel!r}"
    if kind == _EVERY:
        if type(value) is not int or not 1 <= value <= 10_000:
            raise BadRequest(BAD_FILTER, f"Invalid {where}: {show(value)}; expected a "
                             "whole number 1..10000.")
        return lambda m: type(m.get(field)) is int and m[field] % value == 0
    if kind == _MIN:
        if type(value) not in (int, float) or value != value:
            raise BadRequest(BAD_FILTER, f"Invalid {where}: {show(value)}; expected a "
                             "number.")
        return lambda m: type(m.get(field)) in (int, float) and m[field] >= value
    if kind == _FLAG:
        if type(value) is not bool:
            raise BadRequest(BAD_FILTER, f"Invalid {where}: {show(value)}; expected true "
                             "or false.")
        return lambda m: m.get(field) is value
    values = value if type(value) is list else [value]
    if not 1 <= len(values) <= MAX_FILTER_VALUES or not all(
            type(v) is str and len(v) <= MAX_FILTER_TEXT for v in values):
        raise BadRequest(BAD_FILTER, f"Invalid {where}: {show(value)}; expected a string "
                         f"or a list of 1..{MAX_FILTER_VALUES} strings (each at most "
                         f"{MAX_FILTER_TEXT} characters).")
    if len(values) == 1:
        one = values[0]
        return lambda m: m.get(field) == one
    accepted = frozenset(values)
    return lambda m: m.get(field) in accepted


class Subscriptions:
    """Who is subscribed to which channel, with which filter (one subscription per channel
    and client; at most `max_per_client` channels per client)."""

    def __init__(self, max_per_client: int = len(CHANNELS)) -> None:
        self.max_per_client = max_per_client
        self._members: dict[str, dict[str, Match | None]] = {c: {} for c in FILTERS}
        self._filters: dict[str, dict[str, Any]] = {}  # sid → channel → filter as given

    def subscribe(self, sid: str, channel: Any, flt: Any = None) -> list[str]:
        """Subscribe `sid` (replacing its filter on that channel); returns its channels.

        Raises:
            BadRequest: unknown channel, bad filter, or `too_many_subscriptions`.
        """
        channel = check_channel(channel)
        match = compile_filter(channel, flt)
        mine = self._filters.setdefault(sid, {})
        if channel not in mine and len(mine) >= self.max_per_client:
            raise BadRequest(TOO_MANY_SUBSCRIPTIONS, f"Too many subscriptions: {len(mine)} held "
                             f"({', '.join(self.channels(sid))}), at most "
                             f"{self.max_per_client} per client; unsubscribe one first.")
        mine[channel] = flt if flt else None
        self._members[channel][sid] = match
        return self.channels(sid)

    def unsubscribe(self, sid: str, channel: Any) -> list[str]:
        """Leave `channel` (no error when not subscribed); returns the channels left.

        Raises:
            BadRequest: unknown channel.
        """
        channel = check_channel(channel)
        self._members[channel].pop(sid, None)
        self._filters.get(sid, {}).pop(channel, None)
        return self.channels(sid)

    def remove(self, sid: str) -> None:
        """Forget every subscription of `sid` (it disconnected)."""
        for channel in self._filters.pop(sid, {}):
            self._members[channel].pop(sid, None)

    def channels(self, sid: str) -> list[str]:
        """The channels `sid` is subscribed to, in `CHANNELS` order."""
        mine = self._filters.get(sid, {})
        return [c for c in CHANNELS if c in mine]

    def filters(self, sid: str) -> dict[str, Any]:
        """Channel → the filter `sid` gave (None: none)."""
        return dict(self._filters.get(sid, {}))

    def members(self, channel: str) -> ItemsView[str, Match | None]:
        """(sid, filter function or None) of every subscriber of `channel`: a live view, not
        a copy (`publish` walks it once per message). Walk it without awaiting: a
        subscription changes only in the server's event handlers, which run on the same loop
        between awaits, so nothing changes it during a synchronous walk (delivering a
        message never unsubscribes: a dropped client is removed later, by its disconnect)."""
        return self._members[channel].items()

    def counts(self) -> dict[str, int]:
        """Subscribers per channel."""
        return {c: len(self._members[c]) for c in CHANNELS}
