"""Altair chart builders for the analysis frames. Each returns a chart; none displays it.

Inputs are the frames of `rugslab.analysis` and `rugslab.strategy` (columns named below). Large
inputs are aggregated in polars before they reach Vega-Lite (histograms are binned here,
ensembles arrive as quantiles at checkpoints, long paths are thinned), so charts stay under
altair's 5,000-row default and notebooks stay small.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import polars as pl

from rugslab.analysis._frames import require_columns
from rugslab.analysis.rugmodel import Calibration
from rugslab.errors import ConfigError
from rugslab.feed.rules import RUG_PROB_PER_TICK

MAX_POINTS = 4000


def _binned(values: np.ndarray, edges: np.ndarray) -> pl.DataFrame:
    counts, _ = np.histogram(values, bins=edges)
    return pl.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts.astype(np.int64)})


def interval_histogram(intervals: pl.DataFrame, *, max_ms: float = 1500.0,
                       bin_ms: float = 10.0) -> alt.LayerChart:
    """Histogram of `interval_ms` (intervals above `max_ms` pooled into the last bin), with
    rules at the 50 ms burst and 250 ms nominal marks.

    Args:
        intervals: `timing.tick_intervals` output.
    """
    require_columns(intervals, ("interval_ms",), table="intervals")
    if bin_ms <= 0 or max_ms <= bin_ms:
        raise ConfigError(f"Invalid bin_ms {bin_ms!r} / max_ms {max_ms!r}: need 0 < bin < max.")
    x = np.clip(intervals["interval_ms"].drop_nulls().to_numpy(), 0.0, max_ms - bin_ms / 2)
    data = _binned(x, np.arange(0.0, max_ms + bin_ms, bin_ms))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("lo:Q", title="interval (ms)"), x2="hi:Q",
        y=alt.Y("count:Q", title="intervals"), y2=alt.datum(0),  # bars from 0 up
        tooltip=["lo:Q", "hi:Q", "count:Q"],
    )
    marks = alt.Chart(pl.DataFrame({"ms": [50.0, 250.0], "mark": ["burst < 50", "nominal 250"]}))
    rules = marks.mark_rule(strokeDash=[4, 3], color="gray").encode(x="ms:Q", tooltip=["mark:N"])
    return (bars + rules).properties(title="Tick intervals (receiver clock)")


def hazard_chart(curve: pl.DataFrame, *, p_null: float = RUG_PROB_PER_TICK) -> alt.LayerChart:
    """Per-tick hazard with its interval band and the constant null as a rule.

    Args:
        curve: `hazard.hazard_curve` output (`tick`, `hazard`, `lo`, `hi`, `at_risk`,
            `pooled`); the pooled last row is drawn as a point.
    """
    require_columns(curve, ("tick", "hazard", "lo", "hi", "at_risk"), table="hazard_curve")
    data = curve.filter(pl.col("at_risk") > 0)
    base = alt.Chart(data).encode(x=alt.X("tick:Q", title="tick"))
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("lo:Q", title="hazard per tick"),
                                               y2="hi:Q")
    line = base.mark_line().encode(y="hazard:Q", tooltip=["tick:Q", "at_risk:Q", "hazard:Q",
                                                         "lo:Q", "hi:Q"])
    null = alt.Chart(pl.DataFrame({"p": [p_null]})).mark_rule(color="red", strokeDash=[4, 3])
    return (band + line + null.encode(y="p:Q")).properties(title="Rug hazard h(t)")


def reliability_diagram(cal: Calibration | Mapping[str, Calibration]) -> alt.LayerChart:
    """Observed rate against mean prediction per bin, with Wilson bars and the diagonal.

    Args:
        cal: one `rugmodel.Calibration` or several by model name.
    """
    cals = {"model": cal} if isinstance(cal, Calibration) else dict(cal)
    data = pl.concat([c.table.with_columns(pl.lit(name).alias("model"))
                      for name, c in cals.items()])
    lim = float(np.nanmax(data.select("hi", "mean_pred").to_numpy())) * 1.05
    base = alt.Chart(data).encode(
        x=alt.X("mean_pred:Q", title="predicted P(rug within 40)",
                scale=alt.Scale(domain=[0, lim])),
        color="model:N",
    )
    pts = base.mark_point(filled=True).encode(
        y=alt.Y("observed:Q", title="observed rate", scale=alt.Scale(domain=[0, lim])),
        tooltip=["model:N", "n:Q", "mean_pred:Q", "observed:Q", "lo:Q", "hi:Q"])
    bars = base.mark_rule().encode(y="lo:Q", y2="hi:Q")
    diag = alt.Chart(pl.DataFrame({"a": [0.0, lim], "b": [0.0, lim]})).mark_line(
        color="gray", strokeDash=[4, 3]).encode(x="a:Q", y="b:Q")
    return (diag + bars + pts).properties(title="Reliability diagram")


def ev_by_start_tick(frames: Mapping[str, pl.DataFrame]) -> alt.LayerChart:
    """EV per unit stake by start tick for several sources (analytic, empirical, Monte Carlo),
    with interval bands where given, and the breakeven line at 0.

    Args:
        frames: source name → frame with `start_tick`, `ev_per_stake` and optional `ev_lo`,
            `ev_hi` (`sidebet.analytic_sidebet_ev`, `empirical_win_rate`,
            `montecarlo_sidebet_ev`).
    """
    parts = []
    for name, f in frames.items():
        require_columns(f, ("start_tick", "ev_per_stake"), table=name)
        g = f.select(
            pl.col("start_tick").cast(pl.Int64), pl.col("ev_per_stake").cast(pl.Float64),
            *(pl.col(c).cast(pl.Float64) if c in f.columns else pl.lit(None, pl.Float64).alias(c)
              for c in ("ev_lo", "ev_hi")),
        )
        parts.append(g.with_columns(pl.lit(name).alias("source")))
    data = pl.concat(parts)
    base = alt.Chart(data).encode(x=alt.X("start_tick:Q", title="start tick"), color="source:N")
    band = base.transform_filter("isValid(datum.ev_lo)").mark_area(opacity=0.2).encode(
        y="ev_lo:Q", y2="ev_hi:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("ev_per_stake:Q", title="EV per unit stake"),
        tooltip=["source:N", "start_tick:Q", "ev_per_stake:Q", "ev_lo:Q", "ev_hi:Q"])
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="gray").encode(y="y:Q")
    return (band + line + zero).properties(title="Side-bet EV by start tick (breakeven at 0)")


def _thin(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    if frame.height <= limit:
        return frame
    step = -(-frame.height // limit)
    idx = pl.int_range(pl.len())
    return frame.filter((idx % step == 0) | (idx == pl.len() - 1))


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
        chart += alt.Chart(_thin(exact.select("game", "p"), MAX_POINTS)).mark_line(
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


def rug_tick_distribution(rug_ticks: pl.Series | np.ndarray, *, bin_ticks: int = 10,
                          max_tick: int = 1000, p: float = RUG_PROB_PER_TICK) -> alt.LayerChart:
    """Histogram of rug ticks (ticks ≥ max_tick pooled in the last bin) against the count the
    constant hazard `p` predicts per bin, n·[(1-p)^(lo-1) - (1-p)^(hi-1)] for ticks lo..hi-1."""
    t = np.asarray(rug_ticks.drop_nulls() if isinstance(rug_ticks, pl.Series) else rug_ticks,
                   dtype=float)
    t = t[~np.isnan(t)]
    if bin_ticks < 1 or max_tick <= bin_ticks:
        raise ConfigError(f"Invalid bin_ticks {bin_ticks!r} / max_tick {max_tick!r}.")
    edges = np.arange(1, max_tick + bin_ticks + 1, bin_ticks, dtype=float)
    data = _binned(np.clip(t, 1, edges[-1] - 1), edges)
    lo, hi = data["lo"].to_numpy(), data["hi"].to_numpy()
    expected = t.size * ((1 - p) ** (lo - 1) - (1 - p) ** (hi - 1))
    expected[-1] = t.size * (1 - p) ** (lo[-1] - 1)  # the pooled tail
    data = data.with_columns(pl.Series("expected", expected))
    bars = alt.Chart(data).mark_bar(opacity=0.7).encode(
        x=alt.X("lo:Q", title="rug tick"), x2="hi:Q", y=alt.Y("count:Q", title="games"),
        y2=alt.datum(0),
        tooltip=["lo:Q", "hi:Q", "count:Q", "expected:Q"])
    line = alt.Chart(data).mark_line(color="red").encode(x="lo:Q", y="expected:Q")
    return (bars + line).properties(title=f"Rug ticks vs constant hazard p = {p}")


def games_per_day(games: pl.DataFrame) -> alt.Chart:
    """Games per UTC day, stacked by origin.

    Args:
        games: one row per game with `date` and `origin` (`rugslab.notebook.Lab.games`).
    """
    require_columns(games, ("date", "origin"), table="games")
    data = games.group_by("date", "origin").len("games").sort("date", "origin")
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("date:O", title="date (UTC)"), y=alt.Y("games:Q", title="games"),
        color="origin:N", tooltip=["date:O", "origin:N", "games:Q"],
    ).properties(title="Games per day by origin")


def autocorrelation_chart(acf: pl.DataFrame) -> alt.LayerChart:
    """Autocorrelation by lag with 95% interval bars and a zero rule.

    Args:
        acf: `timing.interval_autocorrelation` output (`lag`, `acf`, `lo`, `hi`).
    """
    require_columns(acf, ("lag", "acf", "lo", "hi"), table="autocorrelation")
    base = alt.Chart(acf).encode(x=alt.X("lag:O", title="lag (ticks)"))
    bars = base.mark_rule().encode(y=alt.Y("lo:Q", title="autocorrelation"), y2="hi:Q")
    pts = base.mark_point(filled=True).encode(y="acf:Q",
                                               tooltip=["lag:O", "n_pairs:Q", "acf:Q"])
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="gray").encode(y="y:Q")
    return (zero + bars + pts).properties(title="Tick-interval autocorrelation")


def drift_chart(drift: pl.DataFrame, *, x: str = "period_start") -> alt.Chart:
    """Mean and median interval per period (or hour / weekday), one line each.

    Args:
        drift: `timing.interval_drift` or `interval_profile` output; `x` names its key column.
    """
    require_columns(drift, (x, "mean_ms", "median_ms", "n"), table="drift")
    data = drift.select(x, "n", "mean_ms", "median_ms").unpivot(
        index=[x, "n"], variable_name="statistic", value_name="ms")
    kind = "T" if data.schema[x].is_temporal() else "O"
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X(f"{x}:{kind}", title=x), y=alt.Y("ms:Q", title="interval (ms)"),
        color="statistic:N", tooltip=[f"{x}:{kind}", "statistic:N", "ms:Q", "n:Q"],
    ).properties(title=f"Tick interval by {x}")


def survival_chart(curve: pl.DataFrame, *, p: float = RUG_PROB_PER_TICK) -> alt.LayerChart:
    """Kaplan–Meier survival P(no rug by tick t) against the constant hazard's (1-p)^t.

    Args:
        curve: `hazard.hazard_curve` output (`tick`, `survival`; the pooled row is dropped).
    """
    require_columns(curve, ("tick", "survival"), table="hazard_curve")
    data = curve.filter(pl.col("survival").is_not_null()).select(
        "tick", pl.col("survival").alias("observed"),
        ((1.0 - p) ** pl.col("tick").cast(pl.Float64)).alias(f"constant p={p}"),
    ).unpivot(index="tick", variable_name="curve", value_name="survival")
    return alt.Chart(data).mark_line().encode(
        x=alt.X("tick:Q"), y=alt.Y("survival:Q", title="P(no rug by tick)"), color="curve:N",
        tooltip=["curve:N", "tick:Q", "survival:Q"],
    ).properties(title="Survival: observed (Kaplan–Meier) vs constant hazard")


def replay_chart(frame: pl.DataFrame, *, title: str = "Replayed vs recorded price"
                 ) -> alt.LayerChart:
    """A replayed price path (line) with the recorded ticks on top (points).

    Args:
        frame: one row per tick: `tick`, `replayed_x`, `recorded_x` (null where not recorded).
    """
    require_columns(frame, ("tick", "replayed_x", "recorded_x"), table="replay")
    base = alt.Chart(_thin(frame, MAX_POINTS)).encode(x=alt.X("tick:Q"))
    line = base.mark_line(color="steelblue").encode(
        y=alt.Y("replayed_x:Q", title="price (x start)"))
    pts = base.transform_filter("isValid(datum.recorded_x)").mark_point(
        color="orange", size=12).encode(y="recorded_x:Q",
                                        tooltip=["tick:Q", "replayed_x:Q", "recorded_x:Q"])
    return (line + pts).properties(title=title)


def peak_survival(peaks: Mapping[str, np.ndarray | pl.Series], *,
                  levels: np.ndarray | None = None) -> alt.Chart:
    """P(peak ≥ x) on a log x axis for several samples of game peaks (multipliers).

    Args:
        peaks: sample name → peaks; `levels`: the x grid (default 1 .. 1000, log spaced).
    """
    grid = np.geomspace(1.0, 1000.0, 61) if levels is None else np.asarray(levels, float)
    parts = []
    for name, v in peaks.items():
        x = np.sort(np.asarray(v.drop_nulls() if isinstance(v, pl.Series) else v, float))
        if x.size == 0:
            continue
        share = 1.0 - np.searchsorted(x, grid, side="left") / x.size
        parts.append(pl.DataFrame({"peak_x": grid, "share": share, "sample": name,
                                   "n": x.size}).filter(pl.col("share") > 0))  # log axis
    if not parts:
        raise ConfigError("peak_survival needs at least one non-empty sample of peaks.")
    return alt.Chart(pl.concat(parts)).mark_line().encode(
        x=alt.X("peak_x:Q", scale=alt.Scale(type="log"), title="peak (x start)"),
        y=alt.Y("share:Q", scale=alt.Scale(type="log"), title="P(peak ≥ x)"),
        color="sample:N", tooltip=["sample:N", "n:Q", "peak_x:Q", "share:Q"],
    ).properties(title="Peak multiplier: share of games reaching x")
