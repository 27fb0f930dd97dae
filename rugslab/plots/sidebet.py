"""Charts of the side bet: its EV per unit stake by start tick, from several sources, against
breakeven. Inputs are the frames of `rugslab.analysis.sidebet`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import altair as alt
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.errors import ConfigError


def ev_by_start_tick(frames: Mapping[str, pl.DataFrame], *,
                     band: Literal["pointwise", "simultaneous"] = "pointwise") -> alt.LayerChart:
    """EV per unit stake by start tick for several sources (analytic, empirical, Monte Carlo),
    with interval bands where given, and the breakeven line at 0.

    Args:
        frames: source name → frame with `start_tick`, `ev_per_stake` and optional `ev_lo`,
            `ev_hi` (pointwise) and `ev_band_lo`, `ev_band_hi` (simultaneous)
            (`sidebet.analytic_sidebet_ev`, `empirical_win_rate`, `montecarlo_sidebet_ev`).
        band: which band to draw; the title says which. Pointwise: each start tick's 95%
            interval on its own (overlapping windows: do not read several at once);
            simultaneous: all start ticks of a source together at 95% (sources without one
            show their pointwise band).
    """
    if band not in ("pointwise", "simultaneous"):
        raise ConfigError(f"Invalid band {band!r}: expected 'pointwise' or 'simultaneous'.")
    parts = []
    for name, f in frames.items():
        require_columns(f, ("start_tick", "ev_per_stake"), table=name)
        lo, hi = ("ev_band_lo", "ev_band_hi") if (
            band == "simultaneous" and "ev_band_lo" in f.columns) else ("ev_lo", "ev_hi")
        g = f.select(
            pl.col("start_tick").cast(pl.Int64), pl.col("ev_per_stake").cast(pl.Float64),
            *(pl.col(c).cast(pl.Float64).alias(a) if c in f.columns
              else pl.lit(None, pl.Float64).alias(a) for c, a in ((lo, "ev_lo"), (hi, "ev_hi"))),
        )
        parts.append(g.with_columns(pl.lit(name).alias("source")))
    data = pl.concat(parts)
    base = alt.Chart(data).encode(x=alt.X("start_tick:Q", title="start tick"), color="source:N")
    area = base.transform_filter("isValid(datum.ev_lo)").mark_area(opacity=0.2).encode(
        y="ev_lo:Q", y2="ev_hi:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("ev_per_stake:Q", title="EV per unit stake"),
        tooltip=["source:N", "start_tick:Q", "ev_per_stake:Q", "ev_lo:Q", "ev_hi:Q"])
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="gray").encode(y="y:Q")
    what = ("pointwise 95% (each start tick alone)" if band == "pointwise"
            else "simultaneous 95% (all start ticks together)")
    return (area + line + zero).properties(
        title=f"Side-bet EV by start tick (breakeven at 0); bands: {what}")
