"""RowBatch: rows bound for the lake, gathered per table, with the counters of what happened.

Game assembly (`rugslab.assembly.assembler`) and the legacy importer (`rugslab.readers.legacy`)
fill a `RowBatch`; the lake writer (`rugslab.lake.writer`) validates and writes its frames.
Counters feed the ingest summary (`frames`, `legacy.torn_lines`, `rejects`, ...): everything
repaired or rejected is counted, nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from rugslab.tables.columns import ColumnRows, FrameRows, to_series
from rugslab.tables.schemas import TABLES


@dataclass(slots=True)
class RowBatch:
    """Rows per lake table (dicts keyed by column name) and named counters.

    A table's rows are a list of dicts, or a `columns.ColumnRows` (a sequence of dicts kept
    as columns) for the tables filled in bulk (`raw_events`, `ticks`), or a
    `columns.FrameRows` (a polars frame: `rugslab.sim.lake`).
    """

    rows: dict[str, list[dict[str, Any]] | ColumnRows | FrameRows] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Append one row for `table` (a key of `schemas.TABLES`); missing columns are null.

        Raises:
            KeyError: `table` is not a lake table.
        """
        if table not in TABLES:
            raise KeyError(f"unknown lake table {table!r}; expected one of {sorted(TABLES)}")
        self.rows.setdefault(table, []).append(row)

    def extend(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Append many rows for `table`."""
        for r in rows:
            self.add(table, r)

    def count(self, name: str, n: int = 1) -> None:
        """Add `n` to counter `name`."""
        self.counters[name] += n

    def merge(self, other: RowBatch) -> None:
        """Move all rows and counters of `other` into this batch (a table this batch lacks
        takes `other`'s rows object as it is: `ColumnRows` stay columns)."""
        for t, rs in other.rows.items():
            mine = self.rows.get(t)
            if not mine:
                self.rows[t] = rs
            else:
                mine.extend(rs)
        self.counters.update(other.counters)

    def __len__(self) -> int:
        return sum(len(v) for v in self.rows.values())

    def frame(self, table: str) -> pl.DataFrame:
        """The rows of `table` as a polars frame with the table's columns and dtypes.

        Values are not checked against the pandera model here (the writer does that); a column
        absent from every row is all-null. Dtypes come from `schemas.TABLES[table].polars_schema`;
        timestamps may be given as aware datetimes or as µs since the epoch (int).

        Raises:
            TypeError: a value does not fit its column's dtype (e.g. a string tick). The writer
                then converts row by row and sends the rows that fail to `rejects`.
        """
        schema = TABLES[table].polars_schema
        rows = self.rows.get(table, [])
        if not rows:
            return pl.DataFrame(schema=schema)
        if isinstance(rows, (ColumnRows, FrameRows)):
            return rows.frame(schema)
        return pl.DataFrame({c: to_series(c, [r.get(c) for r in rows], dtype)
                             for c, dtype in schema.items()})

    def frames(self) -> dict[str, pl.DataFrame]:
        """`frame(t)` for every table that has rows."""
        return {t: self.frame(t) for t, rs in self.rows.items() if rs}
