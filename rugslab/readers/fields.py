"""State fields: the few fields of a gameStateUpdate payload that game assembly reads, taken
from the JSON text without decoding the rest (a ~6 KB frame is mostly its leaderboard).

The archive reader (`rugslab.readers.archive`) hands `state_fields(args_json)` to
`events.Frame.lazy`; anything this module cannot vouch for returns None, and the caller
decodes the text the ordinary way (orjson). Source: PROTOCOL.md, "gameStateUpdate".
"""

from __future__ import annotations

from typing import Any

import simdjson

from rugslab.events import STATE_FIELDS, HistoryText

_PARSER = simdjson.Parser()
_HISTORY_FIRST = b'[{"gameHistory":['  # the history array opens the only argument
_OBJECT, _ARRAY = simdjson.Object, simdjson.Array


def _decoded(v: Any) -> Any:
    t = type(v)
    if t is _OBJECT:
        return v.as_dict()
    if t is _ARRAY:
        return v.as_list()
    return v


def state_fields(args_json: bytes) -> dict[str, Any] | None:
    """The `events.STATE_FIELDS` of the payload of an argument list given as JSON text.

    The text is validated whole (simdjson), but only those fields become Python objects,
    with the values `orjson.loads` gives them; a `gameHistory` that opens the one argument
    (`[{"gameHistory":[`, the server's order) stays text, as an `events.HistoryText`.
    Returns None, for the caller to decode the text the ordinary way, when the text is not a
    JSON array whose payload (last non-trace argument) is an object with distinct keys, when
    a `gameHistory` sits anywhere else, or when simdjson refuses the text (e.g. an integer
    beyond 64 bits, which orjson reads as a float).
    """
    try:
        doc = _PARSER.parse(args_json)
    except (ValueError, RuntimeError):  # invalid JSON, number out of range, ...
        return None
    p = keys = None
    try:
        if type(doc) is not _ARRAY:
            return None
        for i in range(len(doc) - 1, -1, -1):
            p = doc[i]
            if type(p) is not _OBJECT:
                return None
            keys = list(p.keys())
            if "__trace" not in keys or p["__trace"] is not True:
                break
        else:
            return None
        if len(set(keys)) != len(keys):  # duplicate keys: orjson's rule (last wins) decides
            return None
        wanted = STATE_FIELDS.intersection(keys)
        if "gameHistory" not in wanted:
            return {k: _decoded(p[k]) for k in wanted}
        gh = p["gameHistory"]
        if len(doc) != 1 or type(gh) is not _ARRAY or not args_json.startswith(_HISTORY_FIRST):
            return None
        out = {k: _decoded(p[k]) for k in wanted if k != "gameHistory"}
        out["gameHistory"] = HistoryText(args_json, len(_HISTORY_FIRST) - 1, len(gh))
        return out
    finally:
        # the parser is reused for the next line only once no proxy into it is left
        doc = p = gh = None
