"""Small input checks shared by the analysis modules."""

from __future__ import annotations

from rugslab.errors import ConfigError
from rugslab.tables.schemas import require_columns as require_columns  # re-export: lives in schemas


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
