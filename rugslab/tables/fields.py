"""What every lake table's pandera model shares: the timestamp type and the strict config.

One home for them, so the table models of several modules (`schemas`, `paper`) agree.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

#: Every `*_ts` column: µs since the epoch, UTC.
UTC_TS = pl.Datetime("us", "UTC")


class LakeRow(pa.DataFrameModel):
    """Base model of every lake table: no extra columns; values coerced to the dtypes.

    The config is set on this model, not on a mixin of the tables' `Config` classes: pandera
    reads a `Config`'s own attributes only, so a `Config(Mixin)` silently kept its defaults
    (`strict=False`, `coerce=False`). A table's `Config` adds its `name`.
    """

    class Config:
        strict = True
        coerce = True


def within(limit: float) -> dict[str, float]:
    """`in_range` arguments of a magnitude bound: [-limit, limit]."""
    return {"min_value": -limit, "max_value": limit}
