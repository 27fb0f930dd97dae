"""Validation of rows bound for the lake: pandera checks, and `rejects` rows for the failures.

Nothing is dropped silently: a row that cannot be typed (a string tick) or fails its table's
pandera model becomes a `rejects` row naming the table, the failed checks and columns, and the
row itself as JSON (`raw`). `reject_id` is a hash of table and raw text (`content_key`), so the
same bad row ingested twice is stored once.

A failed bound reads as the check and the value, `ticks: price_x <= 1e9 failed: 1.23e29`
(`tick >= 0`, `qty in [-1e12, 1e12]`, ...); other checks as `<column>: <check> (got <value>)`.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from rugslab.errors import SchemaViolation
from rugslab.feed.payloads import short_number
from rugslab.tables.batch import RowBatch
from rugslab.tables.rejects import reject_row
from rugslab.tables.schemas import TABLES

_MAX_VALUE_CHARS = 80
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _as_datetime(ts: Any) -> datetime | None:
    # one type per column: rows from readers carry µs ints, rows from frames datetimes
    if isinstance(ts, datetime):
        return ts
    if isinstance(ts, int) and not isinstance(ts, bool):
        return _EPOCH + timedelta(microseconds=ts)
    return None


def content_key(table: str, locator: str, raw: str) -> tuple[str, ...]:
    """The `reject_id` parts of a reject identified by its content: (table, locator, raw)."""
    return (table, locator, raw)


def content_reject(
    table: str,
    reason: str,
    raw: str,
    *,
    source: str | None = None,
    recv_ts: Any = None,
    locator: str = "",
) -> dict[str, Any]:
    """A `rejects` row (`tables.rejects.reject_row`) identified by its content: `reject_id`
    over `content_key(table, locator, raw)`, whatever the reason.

    `locator` tells apart equal raw texts at different places (e.g. `file name:line`); leave
    it empty for rows whose content is their identity. `recv_ts` (µs since the epoch or a
    datetime) becomes a UTC datetime; anything else, None.
    """
    return reject_row(content_key(table, locator, raw), table, reason, raw, source=source,
                      recv_ts=_as_datetime(recv_ts))


def _row_json(row: dict[str, Any]) -> str:
    return orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _reject_from_row(table: str, row: dict[str, Any], reason: str) -> dict[str, Any]:
    src = row.get("source")
    return content_reject(
        table,
        reason,
        _row_json(row),
        source=src if isinstance(src, str) else None,
        recv_ts=row.get("recv_ts"),
    )


def batch_frame(batch: RowBatch, table: str) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """`batch.frame(table)`, falling back to row-by-row typing when a value has the wrong type.

    Returns:
        (frame of the rows that could be typed, `rejects` rows for those that could not).
    """
    try:
        return batch.frame(table), []
    except (TypeError, pl.exceptions.PolarsError):
        pass
    good: list[pl.DataFrame] = []
    rejects: list[dict[str, Any]] = []
    for row in batch.rows.get(table, []):
        one = RowBatch()
        one.add(table, row)
        try:
            good.append(one.frame(table))
        except (TypeError, pl.exceptions.PolarsError) as e:
            rejects.append(_reject_from_row(table, row, f"{table}: wrong type: {e}"))
    if not good:
        return pl.DataFrame(schema=TABLES[table].polars_schema), rejects
    return pl.concat(good, how="vertical"), rejects


#: pandera's names of the comparison checks (`pa.Field(ge=...)` etc.) → operator
_COMPARISONS = {"greater_than_or_equal_to": ">=", "less_than_or_equal_to": "<=",
                "greater_than": ">", "less_than": "<", "equal_to": "==", "not_equal_to": "!="}
_CHECK_CALL = re.compile(r"^(\w+)\((.*)\)$")


def _number(text: str) -> str:
    """Number text made short (`feed.payloads.short_number`: `1e9` for 1000000000.0); other text
    unchanged."""
    try:
        x = float(text)
    except ValueError:
        return text
    return short_number(x) if math.isfinite(x) else text


def _failed(column: str, check: str, value: str) -> str:
    """`price_x <= 1e9 failed: 1.23e29` for a bound, else `column: check (got value)`."""
    m = _CHECK_CALL.match(check)
    if m is not None:
        name, args = m.groups()
        if name in _COMPARISONS:
            return f"{column} {_COMPARISONS[name]} {_number(args)} failed: {_number(value)}"
        if name == "in_range" and args.count(",") == 1:
            lo, hi = (_number(a.strip()) for a in args.split(","))
            return f"{column} in [{lo}, {hi}] failed: {_number(value)}"
    return f"{column}: {check} (got {value})"


def _describe(cases: pl.DataFrame, table: str) -> str:
    parts = []
    for c in cases.iter_rows(named=True):
        value = str(c["failure_case"])
        if len(value) > _MAX_VALUE_CHARS:
            value = value[:_MAX_VALUE_CHARS] + "…"
        col = c["column"] or c["schema_context"]
        parts.append(_failed(str(col), str(c["check"]), value))
    return f"{table}: " + "; ".join(parts)


def validate_frame(frame: pl.DataFrame, table: str) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Check `frame` against `TABLES[table].model` (lazy: all failures at once).

    Args:
        frame: rows with the table's columns and dtypes (`batch_frame`).
        table: lake table name.

    Returns:
        (rows that pass, in input order; `rejects` rows for the rows that fail, with
        `reason` = "<table>: <column>: <check> (got <value>); ...").

    Raises:
        SchemaViolation: `table` is `rejects` itself and a row fails (rejects are built by
            rugslab, so that is a bug to report, not input to reject).
    """
    if frame.height == 0:
        return frame, []
    model = TABLES[table].model
    try:
        return model.validate(frame, lazy=True), []
    except (SchemaErrors, SchemaError) as e:
        cases = getattr(e, "failure_cases", None)
        if not isinstance(cases, pl.DataFrame) or "index" not in cases.columns:
            cases = pl.DataFrame(
                {"failure_case": [str(e)], "schema_context": ["DataFrameSchema"],
                 "column": [None], "check": [type(e).__name__], "index": [None]},
                schema_overrides={"column": pl.String, "index": pl.Int64},
            )
    if table == "rejects":
        raise SchemaViolation(
            f"rejects rows built by rugslab fail their schema: {_describe(cases, table)}",
            table=table,
            failure_cases=cases,
        )
    # a failure without a row index (e.g. a missing column) condemns every row
    whole = cases.filter(pl.col("index").is_null())
    by_row = cases.filter(pl.col("index").is_not_null())
    by_row = by_row.with_columns(pl.col("index").cast(pl.Int64))
    bad_idx = set(range(frame.height)) if whole.height else set(by_row["index"].to_list())
    groups = {k[0]: g for k, g in by_row.partition_by("index", as_dict=True).items()}
    empty = by_row.clear()
    rejects = []
    for i in sorted(bad_idx):
        mine = pl.concat([whole, groups.get(i, empty)], how="vertical_relaxed")
        rejects.append(_reject_from_row(table, frame.row(i, named=True), _describe(mine, table)))
    keep = pl.Series([i not in bad_idx for i in range(frame.height)])
    return frame.filter(keep), rejects
