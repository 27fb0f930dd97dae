"""ColumnRows: the rows of one lake table kept as columns, for the tables filled in bulk.

`RowBatch.rows[table]` is a list of dicts. The assembler's two bulk tables use `ColumnRows`
instead: `raw_events` (one row per frame, ~6 KB of argument JSON each) and `ticks` (several
rows per frame; the legacy importer's ticks too, `assembly.ticks.tick_appender`). A
`ColumnRows` behaves as a sequence of row dicts (len, truth, iteration, indexing, `append`,
`extend`), so code that reads rows sees no difference; the producer appends a tuple of values
per row (`append_tuple`; for a table with a text column `append_text_row`, or
`append_values`: no dict per row), and `RowBatch.frame` builds its polars frame from the
columns (`to_series` per column, the same typing as for dict rows).

One column may be a *text* column: its values arrive as UTF-8 `bytes` (a frame's arguments,
~6 KB) and are copied back to back into a `texts.TextBuffer`, which becomes the Arrow string
column without another copy; given a `texts.TextArena`, successive batches reuse one buffer.
Rows read them back as `str`. The bytes must be valid UTF-8 (the assembler's come from the
input line or from orjson, both UTF-8).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import polars as pl

from rugslab.tables.texts import TextArena, TextBuffer


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


class ColumnRows:
    """Rows of one table as value tuples in column order (the text column kept in a buffer).

    Args:
        columns: the column names, in the order `append_values` takes them.
        text: the name of the text column (values given as UTF-8 bytes), if any.
        arena: where the text column borrows its buffer (reused from batch to batch); a
            buffer of its own when None.

    Attributes:
        append_tuple: for a table without a text column, append one row given as a tuple of
            values in `columns` order (the fastest way in: a bound `list.append`); with a
            text column it raises TypeError (use `append_text_row` or `append_values`).
    """

    __slots__ = (
        "_other",
        "_text",
        "_text_at",
        "_text_buf",
        "_text_list",
        "_tuples",
        "append_tuple",
        "columns",
    )

    def __init__(
        self, columns: Sequence[str], *, text: str | None = None, arena: TextArena | None = None
    ) -> None:
        if text is not None and text not in columns:
            raise ValueError(f"text column {text!r} is not one of the columns {list(columns)}")
        self.columns = tuple(columns)
        self._text = text
        self._text_at = self.columns.index(text) if text is not None else -1
        self._other = tuple(c for c in self.columns if c != text)
        self._tuples: list[tuple[Any, ...]] = []  # values of the other columns, per row
        self._text_buf = TextBuffer(arena)  # the text values, back to back
        # the text column falls back to a plain list once a value is not bytes/str (e.g. None)
        self._text_list: list[Any] | None = None
        # text tables append through `append_values` (a bound method of self stored on self
        # would be a reference cycle, keeping the batch's texts alive until a GC pass)
        self.append_tuple = self._tuples.append if text is None else self._no_tuples

    def __len__(self) -> int:
        return len(self._tuples)

    @property
    def text_memory(self) -> bytearray | None:
        """The buffer of the text column's values (`TextBuffer.memory`)."""
        return self._text_buf.memory

    @property
    def text_bytes(self) -> int:
        """Bytes of the text column's values (0 without a text column; a `str` value held
        after the fallback to a list counts its characters)."""
        if self._text_list is not None:  # rare: a value was neither bytes nor str
            return sum(len(t) for t in self._text_list if type(t) in (bytes, str))
        return self._text_buf.nbytes

    def append_values(self, *values: Any) -> None:
        """Append one row given as values in `columns` order (the text value as bytes)."""
        if self._text_at < 0:
            self._tuples.append(values)
        else:
            self._append_with_text(values)

    @staticmethod
    def _no_tuples(values: tuple[Any, ...]) -> None:
        raise TypeError("ColumnRows with a text column: append with append_values or append")

    def _append_with_text(self, values: tuple[Any, ...]) -> None:
        i = self._text_at
        self.append_text_row(values[i], values[:i] + values[i + 1 :])

    def append_text_row(self, text: Any, others: tuple[Any, ...]) -> None:
        """Append one row of a table with a text column: `text` (UTF-8 bytes) and the
        other columns' values in `columns` order (the fastest way in for such a table)."""
        if self._text_list is None and type(text) is bytes:
            self._text_buf.append(text)
        else:
            self._add_text(text)
        self._tuples.append(others)

    def append(self, row: dict[str, Any]) -> None:
        """Append one row given as a dict (missing columns are null)."""
        self.append_values(*(row.get(c) for c in self.columns))

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
            self._text_buf.extend(rows._text_buf)
            return
        for r in rows:
            self.append(r)

    def _add_text(self, v: Any) -> None:
        if self._text_list is None:
            if type(v) is bytes:
                self._text_buf.append(v)
                return
            if type(v) is str:
                self._text_buf.append(v.encode())
                return
            self._text_list = self._texts()
        self._text_list.append(v)

    def _texts(self) -> list[Any]:
        if self._text_list is not None:
            return self._text_list
        return self._text_buf.texts()

    def _text_of(self, i: int) -> Any:
        if self._text_list is not None:
            return self._text_list[i]
        return self._text_buf.text(i)

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
                out[c] = pl.Series(c, self._text_buf.arrow()).cast(dtype)
            elif c == self._text:
                out[c] = to_series(c, self._text_list or [], dtype)
            else:
                out[c] = to_series(c, cols.get(c) or [None] * n, dtype)
        return pl.DataFrame(out)


class FrameRows:
    """Rows of one table already held as a polars frame, for producers that make whole columns
    at once (`rugslab.sim.lake`: a day of simulated games). Behaves as a sequence of row
    dicts like `ColumnRows`; `frame` casts every column to the table's dtype (strict: a value
    that does not fit raises, and the writer then types row by row, as for dict rows).
    """

    __slots__ = ("data",)

    def __init__(self, data: pl.DataFrame) -> None:
        self.data = data

    def __len__(self) -> int:
        return self.data.height

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.data.iter_rows(named=True))

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.data.row(i, named=True)

    def __repr__(self) -> str:
        return f"FrameRows({len(self)} rows, columns={self.data.columns})"

    def append(self, row: dict[str, Any]) -> None:
        """Append one row given as a dict (columns the frame lacks are dropped: none are
        expected; missing columns are null)."""
        self.extend([row])

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append many rows (dicts, or another `FrameRows`)."""
        more = rows.data if isinstance(rows, FrameRows) else pl.DataFrame(list(rows))
        self.data = pl.concat([self.data, more], how="diagonal_relaxed")

    def frame(self, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        """The rows with `schema`'s columns and dtypes, in schema order (absent: all null).

        Raises:
            polars.exceptions.PolarsError: a value does not fit its column's dtype.
        """
        return self.data.select([
            pl.col(c).cast(dtype, strict=True) if c in self.data.columns
            else pl.lit(None, dtype).alias(c)
            for c, dtype in schema.items()
        ])

