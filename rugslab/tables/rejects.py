"""Rejects: rows for input that could not become a row of its table, with ids that do not
depend on frame order (so duplicated or shuffled frames give the same `rejects` rows).

`rejects` columns (schemas.RejectRow): reject_id, table (the table the value was bound for,
or `frame`), reason (names the field and the value), source, recv_ts (µs, UTC), raw.
"""

from __future__ import annotations

import hashlib
import reprlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from rugslab.config import NO_RECV_TS_US as _NO_TS


def reject_id(*parts: str | bytes) -> str:
    """The `reject_id` of a `rejects` row: 32-hex BLAKE2b-128 of `parts`, equal parts giving
    equal ids. The one recipe for every rejects row (assembler, validation, readers).

    Recipe: each part, then a NUL byte, fed in order to BLAKE2b with a 16-byte digest; a str
    part is encoded UTF-8 with 'surrogatepass' (so lone surrogates, e.g. from a file name that
    is not UTF-8, hash as their 3-byte forms and never raise), a bytes part is taken as is.
    Example: `reject_id("ticks", "", "{}")` hashes `b"ticks\\x00\\x00{}\\x00"`.
    """
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


#: The repr of values nested deeper than Python's recursion limit (e.g. 1,000 levels, which
#: orjson still reads): cut at 200 levels, long containers and strings shortened.
_DEEP_REPR = reprlib.Repr()
_DEEP_REPR.maxlevel, _DEEP_REPR.maxstring, _DEEP_REPR.maxother = 200, 4096, 4096
_DEEP_REPR.maxlist = _DEEP_REPR.maxtuple = _DEEP_REPR.maxdict = 1000


def json_text(value: Any) -> str:
    """`value` as compact JSON text, or its repr when it is not JSON-serialisable (a repr cut
    at 200 levels when it is nested too deep for Python's own)."""
    try:
        return orjson.dumps(value).decode()
    except Exception:  # e.g. ints beyond 64 bits, non-str keys: keep something readable
        try:
            return repr(value)
        except RecursionError:
            return _DEEP_REPR.repr(value)


def storable_text(text: str) -> str:
    """`text` as the lake can store it: unchanged when it is valid UTF-8, else with each lone
    surrogate (a file name that is not UTF-8, decoded with 'surrogateescape') written as its
    escape, `\\udcff`."""
    if text.isascii():  # O(1) in CPython: the common case costs nothing
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def reject_row(
    key: Sequence[str | bytes],
    table: str,
    reason: str,
    raw: str,
    *,
    source: str | None = None,
    recv_ts: int | datetime | None = None,
) -> dict[str, Any]:
    """One `rejects` row: the only place such rows are made.

    Args:
        key: the parts that identify the reject (`reject_id(*key)`), e.g. (frame id, table,
            reason) or (file name, line, column, raw text); equal parts, one row.
        table: the table the value was bound for, or `frame`.
        reason: names the field and the value.
        raw: the rejected input as text.
        source: the file or feed it came from.
        recv_ts: receive time, µs since the epoch (UTC) or an aware datetime.

    Text that is not valid UTF-8 (lone surrogates) is stored escaped (`storable_text`); the id
    is taken over `key` as given.
    """
    return {
        "reject_id": reject_id(*key),
        "table": table,
        "reason": storable_text(reason),
        "source": None if source is None else storable_text(source),
        "recv_ts": recv_ts,
        "raw": storable_text(raw),
    }


class EarliestRejects:
    """Rejects found in content that repeats across frames (gameHistory entries): one row per
    id, holding the earliest sighting (min receive time, then min source), whatever the order."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, row: dict[str, Any]) -> None:
        """Keep `row` unless a row with its reject_id and an earlier receive time is held."""
        old = self.rows.get(row["reject_id"])
        if old is None or _when(row) < _when(old):
            self.rows[row["reject_id"]] = row


def _when(row: dict[str, Any]) -> tuple[int, str]:
    ts = row["recv_ts"]
    return (_NO_TS if ts is None else ts, row["source"] or "")
