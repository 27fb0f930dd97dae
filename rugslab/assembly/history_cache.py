"""RollingHistory: tell the entries of a gameHistory apart cheaply, by their JSON text.

Every cooldown `gameStateUpdate` carries the rolling `gameHistory`: the last ~10 finished games,
~25 KB of JSON each. Consecutive histories are the same (most cooldown frames), or the previous
one with the game that just ended in front and the oldest dropped. Game assembly must parse
each distinct entry content once; everything else about a repeated entry is bookkeeping.

`RollingHistory.entries` gives, per entry, its id, its JSON text (`orjson.dumps`), a BLAKE2b
digest of that text (the entry's content identity) and its decoded value, and remembers the
last `keep` entries by id. A history that arrives as text (`feed.frames.HistoryText`) is read
without decoding it whole, walking the array from its `[`:

    an entry remembered            its text must follow, byte for byte: no decoding
    an entry not remembered,       decoded alone: it ends where the next remembered entry
    then a remembered one          starts, and must decode as one value in orjson's own form
    anything else                  (two new entries in a row, a new last entry, text not in
                                   orjson's form) the whole history is decoded

Each step is exact: an element of the array starts at the walk's position, and a complete JSON
value that the text there starts with (a remembered entry's text, or a new entry that decoded
alone) is that element, whole. The walk must end at the array's `]` after `count` entries.
Remembered entries carry no decoded value (`UNDECODED`): the caller decodes one only when it
must parse it.

Source: PROTOCOL.md, "gameHistory"; measured on bench/ingest.py's archive (931 history frames:
266 repeat the last history, 399 add one game in front, 265 go back to a history seen ~400
frames before, where the archive goes from one capture to the next).
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import orjson

from rugslab.feed.frames import HistoryText

#: `Entry.value` of an entry known only by its text.
UNDECODED: Any = object()
#: Entries `RollingHistory` remembers by default: five histories' worth.
DEFAULT_KEEP = 50
_ID_KEY = b'{"id":"'  # how an entry written by orjson starts
_NEXT = b',{"id":"'  # ... and how the next one does
_COMMA, _CLOSE = ord(","), ord("]")


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


def _entry(value: Any, known: dict[str, Entry] | None = None) -> Entry:
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
    """The entries of recent gameHistories, to read the next one cheaply (module docstring).

    Args:
        keep: how many entries (by id) to remember: a few histories' worth.
    """

    __slots__ = ("_known", "keep")

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        self.keep = keep
        # id -> entry without its value, least recently seen first
        self._known: dict[str, Entry] = {}

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
        got = [_entry(v, known=self._known) for v in history]
        self._remember(got)
        return got

    def _remember(self, got: list[Entry]) -> None:
        known = self._known
        for e in got:
            # only objects written by orjson with a plain string id are found by their text
            if e.raw_id is not None and e.blob.startswith(_ID_KEY):
                known.pop(e.raw_id, None)
                known[e.raw_id] = e._replace(value=UNDECODED) if e.value is not UNDECODED else e
        while len(known) > self.keep:
            del known[next(iter(known))]

    def _known_at(self, doc: bytes, p: int) -> Entry | None:
        """The remembered entry whose text starts at `doc[p]`, if any."""
        if not doc.startswith(_ID_KEY, p):
            return None
        q = doc.find(b'"', p + len(_ID_KEY))
        # the id's text (an id with escapes is not found, and is then decoded as new)
        e = self._known.get(doc[p + len(_ID_KEY) : q].decode("utf-8", "replace"))
        return e if e is not None and doc.startswith(e.blob, p) else None

    def _new_at(self, doc: bytes, p: int) -> tuple[Entry, int] | None:
        """An entry not remembered, starting at `doc[p]` and followed by a remembered one:
        (entry, where it ends). Its end is found as the start of the next remembered entry,
        and its text must then decode alone, in orjson's own form."""
        c = doc.find(_NEXT, p)
        while c >= 0 and self._known_at(doc, c + 1) is None:
            c = doc.find(_NEXT, c + 1)
        if c < 0:
            return None
        blob = doc[p:c]
        try:
            value = orjson.loads(blob)
        except orjson.JSONDecodeError:
            return None
        e = _entry(value)  # not remembered with this text (`_known_at` failed here)
        return (e, c) if e.blob == blob else None

    def _from_text(self, h: HistoryText) -> list[Entry] | None:
        """The entries of `h` from its text: remembered ones matched byte for byte, a new one
        decoded alone when a remembered one follows it; None when that is not enough."""
        doc, p, out = h.args_json, h.start + 1, []
        for i in range(h.count):
            if i:
                if doc[p] != _COMMA:
                    return None
                p += 1
            e = self._known_at(doc, p)
            if e is not None:
                p += len(e.blob)
            else:
                found = self._new_at(doc, p)
                if found is None:
                    return None
                e, p = found
            out.append(e)
        return out if doc[p] == _CLOSE else None
