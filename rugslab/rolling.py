"""RollingHistory: tell the entries of a gameHistory apart cheaply, by their JSON text.

Every cooldown `gameStateUpdate` carries the rolling `gameHistory`: the last ~10 finished games,
~25 KB of JSON each. Consecutive histories are the same (most cooldown frames), or the previous
one with the game that just ended in front and the oldest dropped. Game assembly must parse
each distinct entry content once; everything else about a repeated entry is bookkeeping.

`RollingHistory.entries` gives, per entry, its id, its JSON text (`orjson.dumps`), a BLAKE2b
digest of that text (the entry's content identity) and its decoded value, and remembers them
for the next history. A history that arrives as text (`events.HistoryText`) is matched against
the last one without decoding:

    same text as the last history                      no decoding at all
    [new entry, then the last history's first n-1]     only the new entry is decoded
    anything else                                      the whole history is decoded

The match is exact: the text from the history's `[` must be the last history's entries' JSON
byte for byte (after the new entry, which must decode as one JSON value by itself; in a valid
document that pins down where it ends). Entries of the last history carry no decoded value
(`UNDECODED`): the caller decodes one only when it must parse it.

Source: PROTOCOL.md, "gameHistory"; measured on bench/ingest.py's archive (931 history frames:
530 repeat the last history, 391 add one game in front).
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import orjson

from rugslab.events import HistoryText

#: `Entry.value` of an entry known only by its text.
UNDECODED: Any = object()


class Entry(NamedTuple):
    """One gameHistory entry.

    Attributes:
        raw_id: the entry's `id` when it is a string, else None.
        blob: its JSON text (`orjson.dumps`; `repr` for a value JSON cannot hold).
        digest: 16-byte BLAKE2b of `blob`.
        value: the decoded entry, or `UNDECODED` (decode `blob` when needed).
    """

    raw_id: str | None
    blob: bytes
    digest: bytes
    value: Any


def _entry(value: Any, blob: bytes | None = None, known: dict[str, Entry] | None = None) -> Entry:
    if blob is None:
        try:
            blob = orjson.dumps(value)
        except Exception:  # not JSON-serialisable (only from hand-built frames)
            blob = repr(value).encode()
    raw_id = value.get("id") if type(value) is dict else None
    if type(raw_id) is not str:
        raw_id = None
    hit = known.get(raw_id) if known is not None and raw_id is not None else None
    if hit is not None and hit.blob == blob:  # a byte comparison instead of a hash
        return Entry(raw_id, blob, hit.digest, value)
    return Entry(raw_id, blob, hashlib.blake2b(blob, digest_size=16).digest(), value)


class RollingHistory:
    """The last gameHistory taken in, to read the next one cheaply (see the module docstring)."""

    __slots__ = ("_last", "_text")

    def __init__(self) -> None:
        self._last: list[Entry] = []
        self._text: bytes | None = None  # "[" + blobs joined by "," + "]"

    def entries(self, history: Any) -> list[Entry] | None:
        """The entries of `history` (a decoded list or a `HistoryText`), in order.

        Returns None when `history` is not a list (nothing is remembered then).
        """
        if type(history) is HistoryText:
            got = self._from_text(history)
            if got is not None:
                self._remember(got)
                return got
            history = history.decode()
        if type(history) is not list:
            return None
        known = {e.raw_id: e for e in self._last if e.raw_id is not None}
        got = [_entry(v, known=known) for v in history]
        self._remember(got)
        return got

    def _remember(self, got: list[Entry]) -> None:
        self._last = [e._replace(value=UNDECODED) for e in got]
        ids = [e.raw_id for e in got]
        # only entries that are objects with string ids (their blob is JSON, never a repr)
        ok = None not in ids and len(set(ids)) == len(ids)
        self._text = b"[" + b",".join(e.blob for e in got) + b"]" if ok else None

    def _from_text(self, h: HistoryText) -> list[Entry] | None:
        last, text = self._last, self._text
        if text is None:
            return None
        doc, start = h.args_json, h.start
        if h.count == len(last) and doc.startswith(text, start):
            return list(last)
        if h.count < 1 or h.count > len(last) + 1:
            return None
        rest = last[: h.count - 1]
        tail = b"," + b",".join(e.blob for e in rest) + b"]" if rest else b"]"
        end = doc.find(tail, start + 1)
        if end < 0:
            return None
        blob = doc[start + 1 : end]
        try:
            value = orjson.loads(blob)
        except orjson.JSONDecodeError:
            return None
        new = _entry(value, known={e.raw_id: e for e in last if e.raw_id is not None})
        if new.blob != blob:  # not in orjson's own form: its text is not its identity
            return None
        return [new, *rest]
