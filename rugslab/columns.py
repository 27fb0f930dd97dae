"""ColumnRows: the rows of one lake table kept as columns, for the tables filled in bulk.

`RowBatch.rows[table]` is a list of dicts. The assembler's two bulk tables use `ColumnRows`
instead: `raw_events` (one row per frame, ~6 KB of argument JSON each) and `ticks` (several
rows per frame). A `ColumnRows` behaves as a sequence of row dicts (len, truth, iteration,
indexing, `append`, `extend`), so code that reads rows sees no difference; the producer appends
a tuple of values per row (`append_tuple`: no dict per row), and `RowBatch.frame` builds its
polars frame from the columns (`to_series` per column, the same typing as for dict rows).

One column may be a *text* column: its values arrive as UTF-8 `bytes` and are kept as they
are (no copy, no `str`: a frame's arguments are ~6 KB). `frame` turns them into an Arrow
`string_view` column over those very bytes (`utf8_views`), without copying the text: any
copy of a batch's ~150 MB is fresh memory, and touching fresh memory cost more than the copy
itself (per 20k frames: 0.04-0.8 s for `pa.array`, 0.3 s of page faults for a growing
`bytearray`; the views take 0.02 s). Rows read them back as `str`. The bytes must be valid
UTF-8 (the assembler's come from the input line or from orjson, both UTF-8).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa


def to_series(name: str, values: Sequence[Any], dtype: pl.DataType) -> pl.Series:
    """One lake column from Python values, typed as `RowBatch.frame` types every column.

    Timestamps (`pl.Datetime`) may be µs since the epoch (int) or aware datetimes; other
    dtypes take the values as they are.

    Raises:
        TypeError: a value does not fit `dtype` (e.g. a string tick).
    """
    if isinstance(dtype, pl.Datetime):
        s = pl.Series(name, values, strict=False)
        if s.dtype.is_integer():
            return s.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        if s.dtype == pl.Null:
            return s.cast(dtype)
        return s.cast(dtype, strict=False)
    return pl.Series(name, values, dtype=dtype, strict=True)


def utf8_views(blobs: Sequence[bytes]) -> pa.Array:
    """An Arrow `string_view` array whose values are `blobs`, without copying them.

    Each value longer than 12 bytes stays in its `bytes` object (one Arrow data buffer per
    value, holding a reference); shorter ones are inlined in the 16-byte view, as the Arrow
    format lays them out (length, then the bytes; or length, 4-byte prefix, buffer index,
    offset). The bytes must be valid UTF-8: they are not checked here.

    Source: Arrow columnar format, "Variable-size Binary View Layout".
    """
    n = len(blobs)
    views = np.zeros((n, 4), dtype=np.int32)  # length, prefix, buffer index, offset (0)
    raw = views.view(np.uint8).reshape(n, 16)
    data: list[pa.Buffer] = []
    for i, b in enumerate(blobs):
        k = len(b)
        views[i, 0] = k
        if k <= 12:
            raw[i, 4 : 4 + k] = memoryview(b)
        else:
            raw[i, 4:8] = memoryview(b)[:4]
            views[i, 2] = len(data)
            data.append(pa.py_buffer(b))
    return pa.Array.from_buffers(pa.string_view(), n, [None, pa.py_buffer(views), *data])


class ColumnRows:
    """Rows of one table as value tuples in column order (the text column kept in a buffer).

    Args:
        columns: the column names, in the order `append_values` takes them.
        text: the name of the text column (values given as UTF-8 bytes), if any.

    Attributes:
        append_tuple: for a table without a text column, append one row given as a tuple of
            values in `columns` order (the fastest way in: a bound `list.append`).
    """

    __slots__ = ("_blobs", "_other", "_text", "_text_at", "_text_list", "_tuples",
                 "append_tuple", "columns")

    def __init__(self, columns: Sequence[str], *, text: str | None = None) -> None:
        if text is not None and text not in columns:
            raise ValueError(f"text column {text!r} is not one of the columns {list(columns)}")
        self.columns = tuple(columns)
        self._text = text
        self._text_at = self.columns.index(text) if text is not None else -1
        self._other = tuple(c for c in self.columns if c != text)
        self._tuples: list[tuple[Any, ...]] = []  # values of the other columns, per row
        self._blobs: list[bytes] = []  # the text values, as UTF-8 bytes
        # the text column falls back to a plain list once a value is not bytes/str (e.g. None)
        self._text_list: list[Any] | None = None
        self.append_tuple = self._tuples.append if text is None else self._append_with_text

    def __len__(self) -> int:
        return len(self._tuples)

    def append_values(self, *values: Any) -> None:
        """Append one row given as values in `columns` order (the text value as bytes)."""
        self.append_tuple(values)

    def _append_with_text(self, values: tuple[Any, ...]) -> None:
        i = self._text_at
        self._add_text(values[i])
        self._tuples.append(values[:i] + values[i + 1 :])

    def append(self, row: dict[str, Any]) -> None:
        """Append one row given as a dict (missing columns are null)."""
        self.append_tuple(tuple(row.get(c) for c in self.columns))

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append many rows (dicts, or another `ColumnRows` with the same columns)."""
        if (
            isinstance(rows, ColumnRows)
            and rows.columns == self.columns
            and rows._text == self._text
            and rows._text_list is None
            and self._text_list is None
        ):
            self._tuples.extend(rows._tuples)
            self._blobs.extend(rows._blobs)
            return
        for r in rows:
            self.append(r)

    def _add_text(self, v: Any) -> None:
        if self._text_list is None:
            if type(v) is bytes:
                self._blobs.append(v)
                return
            if type(v) is str:
                self._blobs.append(v.encode())
                return
            self._text_list = self._texts()
        self._text_list.append(v)

    def _texts(self) -> list[Any]:
        if self._text_list is not None:
            return self._text_list
        return [b.decode() for b in self._blobs]

    def _text_of(self, i: int) -> Any:
        if self._text_list is not None:
            return self._text_list[i]
        return self._blobs[i].decode()

    def __getitem__(self, i: int) -> dict[str, Any]:
        n = len(self)
        if not isinstance(i, int):
            raise TypeError(f"ColumnRows index must be an int, got {type(i).__name__}")
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"row {i} out of range for {n} rows")
        row = dict(zip(self._other, self._tuples[i], strict=True))
        if self._text is not None:
            row[self._text] = self._text_of(i)
        return {c: row[c] for c in self.columns}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"ColumnRows({len(self)} rows, columns={list(self.columns)})"

    def column(self, name: str) -> list[Any]:
        """The values of one column as a list (text decoded to `str`)."""
        if name == self._text:
            return list(self._texts())
        j = self._other.index(name)
        return [t[j] for t in self._tuples]

    def frame(self, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        """The rows as a polars frame with `schema`'s columns and dtypes, in schema order.

        A schema column this object does not hold is all-null, as for dict rows.

        Raises:
            TypeError: a value does not fit its column's dtype.
        """
        n = len(self)
        by_column = zip(*self._tuples, strict=True) if n else ([] for _ in self._other)
        cols = dict(zip(self._other, map(list, by_column), strict=True))
        out: dict[str, pl.Series] = {}
        for c, dtype in schema.items():
            if c == self._text and self._text_list is None:
                out[c] = pl.Series(c, utf8_views(self._blobs)).cast(dtype)
            elif c == self._text:
                out[c] = to_series(c, self._text_list or [], dtype)
            else:
                out[c] = to_series(c, cols.get(c) or [None] * n, dtype)
        return pl.DataFrame(out)
