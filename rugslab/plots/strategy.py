"""Charts of the strategy lab: an ensemble's bankroll and drawdown as fans of quantiles by
games played, the risk of ruin against the exact curve, and a sweep's metric over two
parameters. Inputs are the frames of `rugslab.strategy` (ensembles arrive as quantiles at
checkpoints, not as paths).
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.errors import ConfigError
from rugslab.plots._data import MAX_POINTS, thin


def _named(frames: Mapping[str, pl.DataFrame] | pl.DataFrame, columns: tuple[str, ...],
           table: str) -> pl.DataFrame:
    items = {"ensemble": frames} if isinstance(frames, pl.DataFrame) else dict(frames)
    if not items:
        raise ConfigError(f"{table} needs at least one frame.")
    for name, f in items.items():
        require_columns(f, columns, table=f"{table} {name!r}")
    return pl.concat([f.select(columns).with_columns(pl.lit(name).alias("ensemble"))
                      for name, f in items.items()])


def _bands(data: pl.DataFrame, *, y_title: str, title: str) -> alt.LayerChart:
    base = alt.Chart(data).encode(x=alt.X("game:Q", title="games played"), color="ensemble:N")
    outer = base.mark_area(opacity=0.15).encode(y=alt.Y("p05:Q", title=y_title), y2="p95:Q")
    inner = base.mark_area(opacity=0.3).encode(y="p25:Q", y2="p75:Q")
    median = base.mark_line().encode(
        y="p50:Q", tooltip=["ensemble:N", "game:Q", "p05:Q", "p25:Q", "p50:Q", "p75:Q",
                            "p95:Q"])
    return (outer + inner + median).properties(title=title)


def bankroll_fan(bands: Mapping[str, pl.DataFrame] | pl.DataFrame) -> alt.LayerChart:
    """Fan chart of the bankroll across an ensemble's paths by games played: the 5–95% and
    25–75% bands and the median, one colour per ensemble.

    Args:
        bands: `Ensemble.bankroll_bands()` (`game`, `p05`, `p25`, `p50`, `p75`, `p95`), or
            several by name.
    """
    cols = ("game", "p05", "p25", "p50", "p75", "p95")
    return _bands(_named(bands, cols, "bankroll_fan"), y_title="bankroll (SOL)",
                  title="Bankroll across paths (5–95%, 25–75%, median)")


def drawdown_chart(bands: Mapping[str, pl.DataFrame] | pl.DataFrame) -> alt.LayerChart:
    """The drawdown (fall from the running peak, as a fraction of it) across paths by games
    played: bands and median as `bankroll_fan`.

    Args:
        bands: `Ensemble.drawdown_bands()`, or several by name.
    """
    cols = ("game", "p05", "p25", "p50", "p75", "p95")
    return _bands(_named(bands, cols, "drawdown_chart"), y_title="drawdown (share of peak)",
                  title="Drawdown across paths (5–95%, 25–75%, median)")


def ruin_curve_chart(curves: Mapping[str, pl.DataFrame] | pl.DataFrame, *,
                     exact: pl.DataFrame | None = None) -> alt.LayerChart:
    """P(ruin by game g) with its Wilson band, one colour per ensemble, and the exact curve
    (dashed) where given.

    Args:
        curves: `Ensemble.ruin_curve()` (`game`, `p`, `lo`, `hi`), or several by name.
        exact: `game`, `p` (e.g. from `rugslab.strategy.oracle.fixed_sidebet_ruin`).
    """
    data = _named(curves, ("game", "p", "lo", "hi"), "ruin_curve_chart")
    base = alt.Chart(data).encode(x=alt.X("game:Q", title="games played"), color="ensemble:N")
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("lo:Q", title="P(ruin by game)"),
                                               y2="hi:Q")
    line = base.mark_line().encode(y="p:Q", tooltip=["ensemble:N", "game:Q", "p:Q", "lo:Q",
                                                     "hi:Q"])
    chart = band + line
    if exact is not None:
        require_columns(exact, ("game", "p"), table="exact")
        chart += alt.Chart(thin(exact.select("game", "p"), MAX_POINTS)).mark_line(
            color="black", strokeDash=[4, 3]).encode(x="game:Q", y="p:Q",
                                                      tooltip=["game:Q", "p:Q"])
    return chart.properties(title="Risk of ruin (band: 95% Wilson across paths; dashed: exact)")


def sweep_heatmap(rows: pl.DataFrame, *, x: str, y: str, value: str = "ev_per_bet"
                  ) -> alt.LayerChart:
    """A sweep's metric over two parameters: one cell per grid point, its value written in.

    Args:
        rows: `rugslab.strategy.sweep.sweep` output; `x`, `y` name two parameters, `value`
            a metric column (`ev_per_bet`, `ruin_probability`, `final_bankroll_p50`, ...).
    """
    require_columns(rows, (x, y, value), table="sweep")
    data = rows.select(x, y, value)
    base = alt.Chart(data).encode(x=alt.X(f"{x}:O", title=x), y=alt.Y(f"{y}:O", title=y))
    cells = base.mark_rect().encode(color=alt.Color(f"{value}:Q", title=value),
                                    tooltip=[f"{x}:O", f"{y}:O", f"{value}:Q"])
    text = base.mark_text(fontSize=10).encode(text=alt.Text(f"{value}:Q", format=".3g"))
    return (cells + text).properties(title=f"{value} by {x} and {y}")
