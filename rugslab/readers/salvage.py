"""Salvage: split a torn line of a JSON-lines recording into whole records and fragments.

The legacy recorder (see `rugslab.readers.legacy`) sometimes lost the end of a record and
wrote the next one on the same line, e.g.

    {"type": "tick", ..., "trade_count": 0{"{"type": "tick", ..., "trade_count": 0}
    {"type": "tick", ..., "cooldown_timer": 0, {"type": "tick", "t{"type": "tick", ...}
    51031-306aa881343648d9", "tick": 497, ...}          (a line holding only a tail)
    }                                                    (a stray brace)

`split_records` finds every record start (`{"type":`), decodes from there, and keeps the
object when it decodes whole; the text it cannot account for (cut-short records, stray `{`,
tails) comes back as fragments with their character offsets, to be rejected and counted.
A record is never repaired: a cut-short record may have lost digits of its last value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

#: Where a legacy record starts: `{"type":` (whitespace tolerated).
RECORD_START = re.compile(r'\{\s*"type"\s*:')
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Piece:
    """One part of a line: a whole record (`obj` set) or a fragment (`obj` None)."""

    offset: int
    text: str
    obj: dict[str, Any] | None = None

    @property
    def is_record(self) -> bool:
        """True for a whole JSON object, False for a fragment."""
        return self.obj is not None


def split_records(line: str) -> list[Piece]:
    """Whole records and fragments of one line, in line order.

    Args:
        line: one line of a JSON-lines file (trailing newline allowed).

    Returns:
        Pieces in order. A line that is one JSON object is one record piece. Blank text
        between pieces is dropped; any other text not inside a whole record is a fragment.
        A record's `text` is its exact JSON text; a fragment's is stripped of whitespace.
    """
    s = line.rstrip("\r\n")
    try:
        obj = orjson.loads(s)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(obj, dict):
            return [Piece(0, s, obj)]
    starts = [m.start() for m in RECORD_START.finditer(s)]
    pieces: list[Piece] = []

    def fragment(a: int, b: int) -> None:
        text = s[a:b]
        if text.strip():
            lead = len(text) - len(text.lstrip())
            pieces.append(Piece(a + lead, text.strip()))

    pos = 0  # everything before pos is accounted for
    for i, start in enumerate(starts):
        if start < pos:  # a start inside a record decoded whole (e.g. in a string)
            continue
        fragment(pos, start)
        nxt = next((t for t in starts[i + 1 :] if t > start), len(s))
        try:
            obj, end = _DECODER.raw_decode(s, start)
        except (json.JSONDecodeError, RecursionError):  # nested too deep: a fragment too
            fragment(start, nxt)
            pos = nxt
            continue
        pieces.append(Piece(start, s[start:end], obj))
        pos = end
    fragment(pos, len(s))
    return pieces
