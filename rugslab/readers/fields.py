"""State fields: the few fields of a gameStateUpdate payload that game assembly reads, taken
from the JSON text without decoding the rest (a ~6 KB frame is mostly its leaderboard).

The archive reader (`rugslab.readers.archive`) hands `state_fields(args_json)` to
`feed.frames.Frame.lazy`; anything this module cannot vouch for returns None, and the caller
decodes the text the ordinary way (orjson). Source: PROTOCOL.md, "gameStateUpdate".
"""

from __future__ import annotations

from typing import Any

import simdjson

from rugslab.feed.frames import STATE_FIELDS, HistoryText

_PARSER = simdjson.Parser()
_HISTORY_FIRST = b'[{"gameHistory":['  # the history array opens the only argument
_OBJECT, _ARRAY = simdjson.Object, simdjson.Array


def state_fields(args_json: bytes) -> dict[str, Any] | None:
    """The `feed.frames.STATE_FIELDS` of the payload of an argument list given as JSON text.

    The text is validated whole (simdjson), but only those fields become Python objects,
    with the values `orjson.loads` gives them; a `gameHistory` that opens the one argument
    (`[{"gameHistory":[`, the server's order) stays text, as an `feed.frames.HistoryText`.
    Returns None, for the caller to decode the text the ordinary way, when the text is not a
    JSON array whose payload (last non-trace argument) is an object with distinct keys (the
    trace markers after it too), when a `gameHistory` sits anywhere else, or when simdjson
    refuses the text (e.g. an integer beyond 64 bits, which orjson reads as a float).
    """
    try:
        doc = _PARSER.parse(args_json)
    except (ValueError, RuntimeError):  # invalid JSON, number out of range, ...
        return None
    p = v = None
    try:
        if type(doc) is not _ARRAY:
            return None
        i = len(doc) - 1
        while True:  # the payload: the last argument that is not a {"__trace": true} marker
            if i < 0:
                return None
            p = doc[i]
            if type(p) is not _OBJECT:
                return None
            keys = set(p.keys())
            # duplicate keys (len counts every field): orjson keeps the last, simdjson finds
            # the first, so orjson decides
            if len(keys) != len(p):
                return None
            if "__trace" not in keys or p["__trace"] is not True:
                break
            i -= 1
        out = {}
        for k in STATE_FIELDS.intersection(keys):
            v = p[k]
            t = type(v)
            if k == "gameHistory":
                if t is not _ARRAY or len(doc) != 1 or not args_json.startswith(_HISTORY_FIRST):
                    return None
                v = HistoryText(args_json, len(_HISTORY_FIRST) - 1, len(v))
            elif t is _OBJECT:
                v = v.as_dict()
            elif t is _ARRAY:
                v = v.as_list()
            out[k] = v
        return out
    finally:
        # the parser is reused for the next line only once no proxy into it is left
        doc = p = v = None
