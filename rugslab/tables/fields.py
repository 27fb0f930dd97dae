"""What every lake table's pandera model shares: the timestamp type and the strict config.

One home for them, so the table models of several modules (`schemas`, `paper`) agree.
"""

from __future__ import annotations

import polars as pl

#: Every `*_ts` column: µs since the epoch, UTC.
UTC_TS = pl.Datetime("us", "UTC")


class Strict:
    """Model config of every lake table: no extra columns; values coerced to the dtypes."""

    strict = True
    coerce = True


def within(limit: float) -> dict[str, float]:
    """`in_range` arguments of a magnitude bound: [-limit, limit]."""
    return {"min_value": -limit, "max_value": limit}
