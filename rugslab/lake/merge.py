"""Combining rows of a merge table that share a key (`schemas.Table.merge_rules`).

Rules per column, applied over the rows of one key in write order (older rows first):

    first  the first non-null value
    min    the smallest non-null value
    max    the largest non-null value
    any    logical or of the non-null values (null when all are null)

Each rule is associative, so merging (A then B) then C equals A then (B then C): the lake can
take batches in any grouping. `min`, `max` and `any` are also commutative; `first` is where
write order matters, and only when two sources disagree about a fact.
"""

from __future__ import annotations

import polars as pl

from rugslab.tables.schemas import TABLES, MergeRule


def _agg(column: str, rule: MergeRule) -> pl.Expr:
    c = pl.col(column)
    if rule == "first":
        return c.drop_nulls().first().alias(column)
    if rule == "min":
        return c.min().alias(column)
    if rule == "max":
        return c.max().alias(column)
    if rule == "any":
        return pl.when(c.is_null().all()).then(None).otherwise(c.any()).alias(column)
    raise ValueError(f"unknown merge rule {rule!r} for column {column!r}")


def merge_rows(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """One row per key of `table`, combining the rows of each key by the table's merge rules.

    Args:
        frame: rows with the table's columns, in write order (older first).
        table: a lake table of kind `merge`.

    Returns:
        One row per distinct key, sorted by key, with the table's columns and dtypes.

    Raises:
        ValueError: `table` is not a merge table.
    """
    spec = TABLES[table]
    if spec.kind != "merge":
        raise ValueError(f"table {table!r} is of kind {spec.kind!r}, not 'merge'")
    schema = spec.polars_schema
    key = list(spec.key)
    aggs = [_agg(c, spec.merge_rule(c)) for c in schema if c not in key]
    out = frame.group_by(key, maintain_order=True).agg(aggs)
    return out.select([pl.col(c).cast(schema[c]) for c in schema]).sort(key)
