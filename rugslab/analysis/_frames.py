"""Small input checks shared by the analysis modules."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from rugslab.errors import ConfigError, SchemaViolation


def require_columns(frame: pl.DataFrame, columns: Iterable[str], *, table: str) -> None:
    """Raise `SchemaViolation` naming the missing columns of `frame` (a `table` frame)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaViolation(
            f"Frame '{table}' lacks column(s) {missing}: got {frame.columns}. Pass the lake's "
            f"'{table}' table (rugslab.schemas) or a frame with these columns.",
            table=table,
            failure_cases=missing,
        )


def require_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    """Raise `ConfigError` unless `value` > 0 (or ≥ 0 with `allow_zero`)."""
    ok = value >= 0 if allow_zero else value > 0
    if not ok:
        bound = "≥ 0" if allow_zero else "> 0"
        raise ConfigError(f"Invalid {name} {value!r}: expected a number {bound}.")


def require_probability(name: str, value: float) -> None:
    """Raise `ConfigError` unless 0 < `value` < 1."""
    if not 0.0 < value < 1.0:
        raise ConfigError(f"Invalid {name} {value!r}: expected a probability strictly in (0, 1).")
