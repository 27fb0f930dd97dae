"""Rejects: rows for input that could not become a row of its table, with ids that do not
depend on frame order (so duplicated or shuffled frames give the same `rejects` rows).

`rejects` columns (schemas.RejectRow): reject_id, table (the table the value was bound for,
or `frame`), reason (names the field and the value), source, recv_ts (µs, UTC), raw.
"""

from __future__ import annotations

import hashlib
import reprlib
from typing import Any

import orjson

from rugslab.config import NO_RECV_TS_US as _NO_TS


def reject_id(*parts: str | bytes) -> str:
    """32-hex BLAKE2b of the parts (NUL-separated): equal inputs give equal ids."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode("utf-8", "backslashreplace"))
        h.update(b"\x00")
    return h.hexdigest()


#: The repr of values nested deeper than Python's recursion limit (e.g. 1,000 levels, which
#: orjson still reads): cut at 200 levels, long containers and strings shortened.
_DEEP_REPR = reprlib.Repr()
_DEEP_REPR.maxlevel, _DEEP_REPR.maxstring, _DEEP_REPR.maxother = 200, 4096, 4096
_DEEP_REPR.maxlist = _DEEP_REPR.maxtuple = _DEEP_REPR.maxdict = 1000


def raw_text(value: Any) -> str:
    """`value` as compact JSON text, or its repr when it is not JSON-serialisable (a repr cut
    at 200 levels when it is nested too deep for Python's own)."""
    try:
        return orjson.dumps(value).decode()
    except Exception:  # e.g. ints beyond 64 bits, non-str keys: keep something readable
        try:
            return repr(value)
        except RecursionError:
            return _DEEP_REPR.repr(value)


def reject_row(
    rid: str, table: str, reason: str, source: str | None, recv_ts_us: int | None, raw: str
) -> dict[str, Any]:
    """One `rejects` row."""
    return {
        "reject_id": rid,
        "table": table,
        "reason": reason,
        "source": source,
        "recv_ts": recv_ts_us,
        "raw": raw,
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
