"""Every lake table's pandera model is strict and coerces (`tables.fields.LakeRow`).

The config once sat on a mixin of each table's `Config` class, which pandera ignores (it reads
a `Config`'s own attributes): every table validated with `strict=False`, `coerce=False`.
"""

from __future__ import annotations

import pandera.errors
import polars as pl
import pytest

from rugslab.tables.schemas import TABLES


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_is_strict_and_coerces(name: str) -> None:
    schema = TABLES[name].model.to_schema()
    assert (schema.strict, schema.coerce, schema.name) == (True, True, name)


def test_a_column_the_table_does_not_have_is_refused() -> None:
    ticks = pl.DataFrame(
        {"game_id": ["20251212-64e98179bfe74e78"], "tick": [3], "price_x": [1.25],
         "recv_ts": [1_765_500_000_000_000], "source": ["live"], "is_rug": [False]},
        schema_overrides={"recv_ts": pl.Datetime("us", "UTC")},
    )
    model = TABLES["ticks"].model
    model.validate(ticks.cast(dict(TABLES["ticks"].polars_schema)))  # type: ignore[arg-type]
    with pytest.raises(pandera.errors.SchemaError, match="sneaky"):
        model.validate(ticks.with_columns(pl.lit(1).alias("sneaky")))
